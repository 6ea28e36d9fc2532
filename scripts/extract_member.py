"""Rule extract_member: one model's activations, per layer and split, to Parquet
(results/zoo/<model>/activations/<layer>/<split>.parquet), and those of the checkpoint
epochs Fig 2a reads (results/zoo/<model>/epochs/epoch<e>/<layer>/<split>.parquet)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402, I001

from featurelab.data.prepared import load_split
from featurelab.extract import extract_activations, extract_epochs

with logged(snakemake.log[0]):
    p, inp, out = snakemake.params, snakemake.input, snakemake.output
    kw = dict(device=p.device, batch_size=p.batch_size, meta={"model": snakemake.wildcards.model}, log=log)
    splits = {s: load_split(inp[s]) for s in inp.keys() if s not in ("model", "checkpoints")}
    extract_activations(inp.model, {s: splits[s] for s in p.splits}, p.layers, Path(out.activations[0]).parents[1],
                        **kw)
    extract_epochs(inp.model, inp.checkpoints, splits[p.epoch_split], p.epoch_split, p.epoch_layer, p.epochs,
                   out.epochs, **kw)
