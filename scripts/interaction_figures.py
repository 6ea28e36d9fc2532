"""Rule interaction_figures: for one ensemble, Figs 2b, 2c, 3a-c and the O.1-O.4 numbers of
every variant, Figs 1, 8, 9, 10, 11 of the main tensor, and the ensemble's summary (Jiang,
Baek, Kolter, ICLR 2024, §4, App. F)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402, I001

import json

from featurelab.data.prepared import load_split
from featurelab.figures import save
from featurelab.controls import with_controls
from featurelab.files import read_json, write_json
from featurelab.interaction import Tensor, incidence_matrix
from featurelab.interaction import figures as F
from featurelab.interaction import images as I
from featurelab.interaction.findings import ensemble_summary, observations, panel_quantities

with logged(snakemake.log[0]):
    inp, o, p = snakemake.input, snakemake.output, snakemake.params
    variants = {}
    for v in p.variants:
        t = Tensor(Path(inp[f"{v}__tensor"]).parent)
        q = panel_quantities(t, p.shared_error)
        save(*F.fig2b_frequency(q["freq"]), o[f"{v}__fig2b"], o[f"{v}__fig2b_csv"])
        save(*F.fig2c_density_by_confidence(t.triplets, q["conf"], t.T, p.high_confidence),
             o[f"{v}__fig2c"], o[f"{v}__fig2c_csv"])
        save(*F.fig3a_confidence_vs_nfeat(q["conf"], q["nfeat"]), o[f"{v}__fig3a"], o[f"{v}__fig3a_csv"])
        save(*F.fig3b_frequency_vs_models(q["freq"], q["n_models"]), o[f"{v}__fig3b"], o[f"{v}__fig3b_csv"])
        save(*F.fig3c_shared_features_vs_error(q["shared_feat"], q["shared_err"]), o[f"{v}__fig3c"],
             o[f"{v}__fig3c_csv"])
        obs = observations(**q, level=p.verdicts["level"], resamples=p.verdicts["resamples"],
                           long_tail_ratio=p.thresholds["long_tail_ratio"], alpha=p.thresholds["alpha"])
        write_json(o[f"{v}__observations"], obs)
        variants[v] = (t.info, read_json(o[f"{v}__observations"]))
        log(f"{v}: T={t.T}, " + json.dumps({k: d["verdict"] for k, d in obs["verdicts"].items()}))

    t = Tensor(Path(inp["main__tensor"]).parent)
    split = load_split(inp.split)
    t.check_split(split.labels, inp.split)
    names = list(split.classes)
    q = panel_quantities(t, p.shared_error)
    save(*I.fig1_extremes(q["nfeat"], t.labels, split.images, names, per_class=p.per_class),
         o["main__fig1"], o["main__fig1_csv"])
    save(*F.fig8_correlation_blocks(t.abs_corr), o["main__fig8"], o["main__fig8_csv"])
    save(*I.fig9_neighbours(incidence_matrix(t.triplets, t.N, t.T), split.images, t.labels,
                            I.fig9_queries(q["nfeat"], t.labels, len(names)), class_names=names),
         o["main__fig9"], o["main__fig9_csv"])
    save(*I.fig10_single_feature_images(t.triplets, q["freq"], split.images, t.labels, class_names=names),
         o["main__fig10"], o["main__fig10_csv"])
    save(*I.fig11_top_feature_counts(t.triplets, t.labels, names), o["main__fig11"], o["main__fig11_csv"])

    truth = read_json(inp.truth) if "truth" in inp.keys() else None
    summary = ensemble_summary(snakemake.wildcards.ensemble, variants, truth)
    write_json(o.summary, with_controls(summary, inp.controls))
    log(json.dumps({k: summary[k] for k in ("M", "N", "K", "T", "gamma_corr")}, default=str))
