"""Rule diversity_analysis: every measure of the diversity study (Gontijo-Lopes, Dauphin, Cubuk,
ICLR 2022) on the pool's logits and penultimate features: the tables under results/diversity/
and summary.json, every finding a number with its interval and a verdict
(featurelab.diversity.study)."""
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402, I001

import pandas as pd

from featurelab.activations import read_activations
from featurelab.diversity.study import analyse
from featurelab.controls import with_controls
from featurelab.files import read_json, write_json

with logged(snakemake.log[0]):
    t0 = time.perf_counter()
    inp, out, p = snakemake.input, snakemake.output, snakemake.params
    outputs, metrics = {}, {}
    for entry in p.pool:
        m = entry["model"]
        outputs[m] = {}
        for s in ("val", "test"):
            # an external model's activations on the study's points (results/external/), else the study's own
            path = inp[f"{m}__{s}"] if entry.get("external") else \
                Path(inp[entry["ensemble"]]) / m / "penultimate" / f"{s}.parquet"
            a = read_activations(path, ("label", "logits", "activation"))
            outputs[m][s] = {"labels": a.label, "logits": a.logits, "features": a.activation}
        metrics[m] = p.external_metrics[m] if entry.get("external") else read_json(inp[f"{m}__metrics"])
    truth = pd.read_parquet(inp.test_truth) if "test_truth" in inp.keys() else None
    truth_val = pd.read_parquet(inp.val_truth) if "val_truth" in inp.keys() else None
    tables, findings = analyse(p.pool, outputs, metrics, p.settings, truth=truth, truth_val=truth_val,
                               greedy_start=p.greedy_start, rule=p.rule, level=p.level, log=log)
    for name, df in tables.items():
        df.to_csv(out[name], index=False)
    write_json(out.summary, with_controls({
        "paper": ("Gontijo-Lopes, Dauphin, Cubuk, \"No One Representation to Rule Them All: Overlapping Features "
                  "of Training Methods\", ICLR 2022"),
        "settings": {**{k: p.settings[k] for k in ("ensemble", "base", "window", "heldout", "test", "bootstrap", "seed",
                                                  "thresholds", "transfer")},
                     "rule_of_selection": p.rule["text"], "level": p.level},
        **findings,
        "seconds": round(time.perf_counter() - t0, 1),
    }, inp.controls))
    log(f"diversity analysis of {len(p.pool)} models in {time.perf_counter() - t0:.1f} s")
