"""Rule diversity_figures: the figures of the diversity study (Gontijo-Lopes, Dauphin, Cubuk, "No One
Representation to Rule Them All: Overlapping Features of Training Methods", ICLR 2022), Figs 1-6 and the
bridge to representation similarity, from the tables of rule diversity_analysis
(featurelab.diversity.figures)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402, I001

import pandas as pd

from featurelab.diversity import figures as F
from featurelab.figures import save

TABLES = ("pool", "pairs", "categories", "angles", "subgroups", "greedy", "overlap", "compression", "transfer",
          "similarity")

with logged(snakemake.log[0]):
    inp, out = snakemake.input, snakemake.output
    tables = {t: pd.read_csv(inp[t]) for t in TABLES}
    log("tables: " + ", ".join(f"{t} {len(df)} rows" for t, df in tables.items()))
    for name, fig in F.all_figures(tables).items():
        save(fig, F.figure_table(name, tables), out[name], out[f"{name}_csv"])
        log(f"{name}: {out[name]}")
