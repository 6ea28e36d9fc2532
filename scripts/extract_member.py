"""Rule extract_member: one model's activations, per layer and split, to Parquet
(results/zoo/<model>/activations/<layer>/<split>.parquet), and those of the checkpoint
epochs Fig 2a reads (results/zoo/<model>/epochs/epoch<e>/<layer>/<split>.parquet)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402, I001

from featurelab.data.prepared import load_split
from featurelab.extract import extract_member

with logged(snakemake.log[0]):
    p, model = snakemake.params, snakemake.wildcards.model
    outputs: dict[str, dict[str, str]] = {}  # split -> layer -> path, read off the declared outputs
    for path in snakemake.output.activations:
        outputs.setdefault(Path(path).stem, {})[Path(path).parent.name] = path
    splits = {split: load_split(snakemake.input[split]) for split in outputs}
    for split, paths in outputs.items():
        extract_member(snakemake.input.model, splits[split], split, paths, device=p.device, batch_size=p.batch_size,
                       meta={"model": model}, log=log)
    epochs = Path(snakemake.output.epochs)
    epochs.mkdir(parents=True, exist_ok=True)
    for e in p.epochs:
        ckpt = Path(snakemake.input.checkpoints) / f"epoch{e:03d}.pt"
        if not ckpt.exists():
            raise FileNotFoundError(f"{ckpt} is missing: add epoch {e} to the recipe's checkpoint_epochs")
        extract_member(snakemake.input.model, splits[p.epoch_split], p.epoch_split,
                       {p.epoch_layer: epochs / f"epoch{e:03d}" / p.epoch_layer / f"{p.epoch_split}.parquet"},
                       state_dict_path=ckpt, epoch=e, device=p.device, batch_size=p.batch_size,
                       meta={"model": model}, log=log)
