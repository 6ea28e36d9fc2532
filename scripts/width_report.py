"""Rule width_report: Figs 1-4 and 7-8, Tables 2 and 4-5 and the findings of one
architecture of the width study (Duzgun, Jelassi, Li, 2024), from the measurements of
every α and state."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402, I001

import json

import pandas as pd

from featurelab.figures import save
from featurelab.files import read_json, write_json
from featurelab.width import figures as W
from featurelab.width import tables as T
from featurelab.width.counts import counts_table

with logged(snakemake.log[0]):
    arch, out = snakemake.wildcards.arch, snakemake.output
    m = pd.read_csv(snakemake.input.measurements)
    counts = counts_table(snakemake.params.counts)
    counts = counts[counts.arch == arch]
    agg = T.aggregate(m)
    agg.to_csv(out.aggregate, index=False)
    for name, (state, reverse) in {"fig1": ("trained", False), "fig2": ("trained", True),
                                   "fig7": ("init", False), "fig8": ("init", True)}.items():
        if name in out.keys():
            save(*W.fig_fsg(agg, counts, state=state, reverse=reverse, arch=arch), out[name], out[f"{name}_csv"])
    save(*W.fig_fp(agg, counts, arch=arch), out.fig3, out.fig3_csv)
    save(*W.fig_residuals(agg, counts, arch=arch), out.fig4, out.fig4_csv)

    shuffled = T.table_shuffled(agg, counts)
    shuffled.to_csv(out.shuffled, index=False)
    Path(out.shuffled_md).write_text(T.to_markdown(shuffled))
    log(f"Tables 4-5 ({arch}):\n{T.to_markdown(shuffled)}")
    acc = T.table_accuracy(T.member_accuracies([read_json(f) for f in snakemake.input.metrics]))
    acc.to_csv(out.accuracy, index=False)
    Path(out.accuracy_md).write_text(T.to_markdown(acc))
    log(f"Table 2 ({arch}):\n{T.to_markdown(acc)}")
    found = T.findings(agg, counts)
    write_json(out.findings, found)
    log(json.dumps(found, indent=2, default=str))
