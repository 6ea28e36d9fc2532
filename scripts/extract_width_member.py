"""Rule extract_width_member: one width-study model's penultimate features on train,
validation and test, trained and at its random initialisation, to Parquet
(results/zoo/<model>/features/<state>/<split>.parquet)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402, I001

from featurelab.data.prepared import load_split
from featurelab.extract import extract_features

with logged(snakemake.log[0]):
    p, inp = snakemake.params, snakemake.input
    splits = {s: load_split(inp[s]) for s in p.splits}
    extract_features(inp.model, splits, p.states, Path(snakemake.output[0]).parents[1], device=p.device,
                     batch_size=p.batch_size, meta={"model": snakemake.wildcards.model}, log=log)
