"""Rule contamination_report: the figures of the contamination study (Zhang et al., ICML 2024)
and its summary, every finding a number with its spread and a verdict
(featurelab.contamination.findings)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402, I001

import numpy as np
import pandas as pd

from featurelab.contamination import figures as F
from featurelab.contamination import findings, headline
from featurelab.figures import save
from featurelab.controls import with_controls
from featurelab.files import read_json, write_json

with logged(snakemake.log[0]):
    inp, out, p = snakemake.input, snakemake.output, snakemake.params
    level = p.level
    cont = snakemake.config["contamination"]
    curves, neurons = pd.read_parquet(inp.curves), pd.read_parquet(inp.neurons)
    numerical = read_json(inp.setting)
    summary = {
        "paper": ("Zhang, Zhao, Chen, Jiang, Chen, \"Feature Contamination: Neural Networks Learn Uncorrelated "
                  "Features and Fail to Generalize\", ICML 2024"),
        "numerical": findings.numerical_findings(
            curves, numerical["linear_decay_factor"], numerical["iterations"],
            thresholds=p.thresholds,
            level=level),
        "risk_note": ("The paper's \"risk\" is the hinge risk (classification); the spheres' risks are logistic "
                      "risks (the released script's loss), the regression's the squared Euclidean distance to "
                      "y·z_core (our reading of App. F.1), reported beside the zero predictor's. The 0-1 error "
                      "is reported beside the hinge risk, because a network can have a large OOD hinge risk "
                      "(margins shrunk below 1) and still a small OOD 0-1 error (signs mostly right)."),
    }
    save(*F.fig3(curves), out.fig3, out.fig3_csv)
    save(*F.fig7(neurons), out.fig7, out.fig7_csv)
    save(*F.fig8(curves), out.fig8, out.fig8_csv)
    if "fig9" in out.keys():
        save(*F.fig9(curves), out.fig9, out.fig9_csv)
    if "fig10" in out.keys():
        save(*F.fig10(curves), out.fig10, out.fig10_csv)
    if "channels" in inp.keys():
        channels = pd.read_parquet(inp.channels)
        summary["deep"] = findings.deep_findings(channels, pd.read_csv(inp.accuracy),
                                                 cont["deep"]["thresholds"], level)
        save(*F.fig4(channels), out.fig4, out.fig4_csv)
        save(*F.fig5(channels), out.fig5, out.fig5_csv)
        save(*F.fig15(channels), out.fig15, out.fig15_csv)
    if "features" in inp.keys():
        features = np.load(inp.features)
        seeds = sorted({int(k.split("/")[0][1:]) for k in features.files if k.startswith("s")})
        head = cont["headline"]
        table = headline.headline_table(features, seeds, head["probe_c"])
        summary["headline"] = findings.headline_findings(table, pd.read_csv(inp.heads), head["thresholds"], level,
                                                         head["line_scale"])
        summary["headline"]["student_seeds"] = p.student_seeds
        save(*F.fig1(table, head["line_scale"]), out.fig1, out.fig1_csv)
    if "padding" in inp.keys():
        measures = pd.read_parquet(inp.padding)
        summary["padding"] = findings.padding_findings(measures, p.padding["thresholds"], level)
        summary["padding"]["recipe"] = {"pad": p.recipe["pad"], "pad_color": p.recipe["pad_color"],
                                        "pad_mode": p.recipe.get("pad_mode", "crop"),
                                        "adversarial": bool(p.recipe.get("adv_steps")),
                                        "other_colour": p.padding["other_colour"], "grey": p.padding["grey"]}
        save(*F.fig13(measures), out.fig13, out.fig13_csv)
        f = np.load(inp.filters)
        save(*F.fig13_filters(f["images"], f["kind"], f["channel"], f["gap"]), out.fig13_filters,
             out.fig13_filters_csv)
    write_json(out.summary, with_controls(summary, inp.controls))
    log(f"summary: {out.summary}")
