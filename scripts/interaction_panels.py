"""Rule interaction_panels: Figs 2b, 2c, 3a-c and the O.1-O.4 numbers of one tensor."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402

with logged(snakemake.log[0]):
    import json

    from featurelab.figures import save
    from featurelab.files import write_json
    from featurelab.interaction import Tensor
    from featurelab.interaction import figures as F
    from featurelab.interaction.findings import observations, panel_quantities

    t = Tensor(Path(snakemake.input.tensor).parent)
    o, q = snakemake.output, panel_quantities(t, snakemake.params.shared_error)
    save(*F.fig2b_frequency(q["freq"]), o.fig2b, o.fig2b_csv)
    save(*F.fig2c_density_by_confidence(t.triplets, q["conf"], t.T, snakemake.params.high_confidence),
           o.fig2c, o.fig2c_csv)
    save(*F.fig3a_confidence_vs_nfeat(q["conf"], q["nfeat"]), o.fig3a, o.fig3a_csv)
    save(*F.fig3b_frequency_vs_models(q["freq"], q["n_models"]), o.fig3b, o.fig3b_csv)
    save(*F.fig3c_shared_features_vs_error(q["shared_feat"], q["shared_err"]), o.fig3c, o.fig3c_csv)
    obs = observations(**q)
    write_json(o.observations, obs)
    log(json.dumps(obs, indent=1, default=str))
