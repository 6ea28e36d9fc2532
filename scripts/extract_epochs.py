"""Rule extract_epochs: one model's activations from each per-epoch checkpoint (Fig 2a of the
interaction study), to results/zoo/<model>/epochs/epoch<e>/<layer>/<split>.parquet."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402

with logged(snakemake.log[0]):
    from featurelab.data.prepared import load_split
    from featurelab.extract import extract_member

    p = snakemake.params
    (split_name, split_path), = [(k, v) for k, v in snakemake.input.items() if k not in ("model", "checkpoints")]
    split = load_split(split_path)
    out = Path(snakemake.output[0])
    out.mkdir(parents=True, exist_ok=True)
    for e in p.epochs:
        ckpt = Path(snakemake.input.checkpoints) / f"epoch{e:03d}.pt"
        if not ckpt.exists():
            raise FileNotFoundError(f"{ckpt} is missing: add epoch {e} to the recipe's checkpoint_epochs")
        extract_member(snakemake.input.model, split, split_name,
                       {p.layer: out / f"epoch{e:03d}" / p.layer / f"{split_name}.parquet"},
                       state_dict_path=ckpt, epoch=e, device=p.device, batch_size=p.batch_size,
                       meta={"model": snakemake.wildcards.model}, log=log)
