"""Rule interaction_panels: Figs 2b, 2c, 3a-c and the O.1-O.4 numbers of one tensor."""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402

with logged(snakemake.log[0]):
    from featurelab import interaction as I
    from featurelab import interaction_figures as F
    from featurelab.interaction_study import Tensor

    t = Tensor(Path(snakemake.input.tensor).parent)
    o = snakemake.output
    conf = I.confidence(t.predictions, t.labels)
    nfeat = I.features_per_point(t.triplets, t.N)
    freq = I.feature_frequency(t.triplets, t.T)
    n_models = I.models_per_feature(t.triplets, t.T)
    shared_feat = I.shared_features(t.clusters, t.T)
    shared_err = I.shared_error(t.predictions, t.labels, mode=snakemake.params.shared_error)
    F.save(*F.fig2b_frequency(freq), o.fig2b, o.fig2b_csv)
    F.save(*F.fig2c_density_by_confidence(t.triplets, conf, t.T, snakemake.params.high_confidence),
           o.fig2c, o.fig2c_csv)
    F.save(*F.fig3a_confidence_vs_nfeat(conf, nfeat), o.fig3a, o.fig3a_csv)
    F.save(*F.fig3b_frequency_vs_models(freq, n_models), o.fig3b, o.fig3b_csv)
    F.save(*F.fig3c_shared_features_vs_error(shared_feat, shared_err), o.fig3c, o.fig3c_csv)
    obs = F.observations(conf, nfeat, freq, n_models, shared_feat, shared_err)
    Path(o.observations).write_text(json.dumps(obs, indent=2))
    log(json.dumps(obs, indent=1))
