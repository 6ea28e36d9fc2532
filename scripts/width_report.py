"""Rule width_report: the figures, tables and findings of the width study (Duzgun, Jelassi,
Li, arXiv 2407.00968, 2024): per architecture Figs 1-4 and 7-8, Tables 2 and 4-5 from the
measurements of every α and state; over them Table 3 (residual FP beside the random-init
baselines), the N_f/N_p table and the study's summary."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402, I001

import json

import pandas as pd

from featurelab.figures import save
from featurelab.controls import with_controls
from featurelab.files import read_json, write_json
from featurelab.width import figures as W
from featurelab.width import tables as T
from featurelab.width.counts import counts_table

with logged(snakemake.log[0]):
    inp, out, p = snakemake.input, snakemake.output, snakemake.params
    counts = counts_table(p.counts)
    counts.to_csv(out.counts, index=False)
    Path(out.counts_md).write_text(T.to_markdown(counts, digits=3))
    log(f"N_f and N_p:\n{counts.to_string(index=False)}")
    aggs, findings = {}, {}
    for arch in p.archs:
        mine = counts[counts.arch == arch]
        measurements = pd.read_csv(inp[f"{arch}__measurements"])
        agg = aggs[arch] = T.aggregate(measurements)
        agg.to_csv(out[f"{arch}__aggregate"], index=False)
        figures = {"fig1": ("trained", False), "fig2": ("trained", True)}
        if p.init:
            figures.update(fig7=("init", False), fig8=("init", True))
        for fig, (state, reverse) in figures.items():
            save(*W.fig_fsg(agg, mine, state=state, reverse=reverse, arch=arch), out[f"{arch}__{fig}"],
                 out[f"{arch}__{fig}_csv"])
        save(*W.fig_fp(agg, mine, arch=arch), out[f"{arch}__fig3"], out[f"{arch}__fig3_csv"])
        save(*W.fig_residuals(agg, mine, arch=arch), out[f"{arch}__fig4"], out[f"{arch}__fig4_csv"])
        tables = {"shuffled_regression": T.table_shuffled(agg, mine),
                  "accuracy": T.table_accuracy(T.member_accuracies([read_json(f) for f in inp[f"{arch}__metrics"]]))}
        for name, table in tables.items():
            table.to_csv(out[f"{arch}__{name}"], index=False)
            Path(out[f"{arch}__{name}_md"]).write_text(T.to_markdown(table))
            log(f"{name} ({arch}):\n{T.to_markdown(table)}")
        findings[arch] = T.findings(agg, mine, measurements, p.level)
        write_json(out[f"{arch}__findings"], findings[arch])
        log(json.dumps(read_json(out[f"{arch}__findings"]), indent=2))
    table3 = T.table_residual_fp(aggs, {a: counts[counts.arch == a] for a in p.archs})
    table3.to_csv(out.table3, index=False)
    Path(out.table3_md).write_text(T.to_markdown(table3))
    log(f"Table 3:\n{T.to_markdown(table3)}")
    write_json(out.summary, with_controls({"settings": p.settings, "member_counts": counts.to_dict("records"),
                                           "findings": {a: read_json(out[f"{a}__findings"]) for a in p.archs},
                                           "table3": table3.to_dict("records")}, inp.controls))
