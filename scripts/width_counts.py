"""Rule width_counts: N_f and N_p per architecture and α from the real parameter counts
(Duzgun, Jelassi, Li, 2024, §2.4), beside the members the planner trains."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402, I001

import pandas as pd

from featurelab.width.counts import member_counts
from featurelab.width.tables import to_markdown

with logged(snakemake.log[0]):
    c = snakemake.params.counts
    tables = []
    for arch in c["archs"]:
        t = member_counts(arch, c["alphas"], num_classes=c["num_classes"], in_channels=c["in_channels"],
                          base_width=c["base_width"])
        t.insert(0, "arch", arch)
        t["members_trained"] = c["members"][arch]
        tables.append(t)
        log(f"{arch}:\n{t.to_string(index=False)}")
    table = pd.concat(tables, ignore_index=True)
    table.to_csv(snakemake.output.table, index=False)
    Path(snakemake.output.markdown).write_text(to_markdown(table, digits=3))
