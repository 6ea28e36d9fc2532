"""Rule width_summary: Table 3 (residual FP beside the random-init baselines) over every
architecture, and the width study's summary (settings, counts, findings)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402, I001

import pandas as pd

from featurelab.files import read_json, write_json
from featurelab.width import tables as T
from featurelab.width.counts import counts_table

with logged(snakemake.log[0]):
    archs = snakemake.params.archs
    counts = counts_table(snakemake.params.counts)
    counts.to_csv(snakemake.output.counts, index=False)
    Path(snakemake.output.counts_md).write_text(T.to_markdown(counts, digits=3))
    log(f"N_f and N_p:\n{counts.to_string(index=False)}")
    aggs = {a: pd.read_csv(f) for a, f in zip(archs, snakemake.input.aggregates)}
    table3 = T.table_residual_fp(aggs, {a: counts[counts.arch == a] for a in archs})
    table3.to_csv(snakemake.output.table3, index=False)
    Path(snakemake.output.table3_md).write_text(T.to_markdown(table3))
    log(f"Table 3:\n{T.to_markdown(table3)}")
    write_json(snakemake.output.summary, {
        "settings": snakemake.params.settings,
        "member_counts": counts.to_dict("records"),
        "findings": {a: read_json(f) for a, f in zip(archs, snakemake.input.findings)},
        "table3": table3.to_dict("records"),
    })
