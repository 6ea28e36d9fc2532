"""Rule extract_epochs: one member's activations from each per-epoch checkpoint (Fig 2a)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402

with logged(snakemake.log[0]):
    from featurelab.data.prepared import load_split
    from featurelab.extract import extract_member

    p = snakemake.params
    split = load_split(snakemake.input.split)
    out = Path(snakemake.output[0])
    for e in p.epochs:
        ckpt = Path(snakemake.input.checkpoints) / f"epoch{e:03d}.pt"
        if not ckpt.exists():
            raise FileNotFoundError(f"{ckpt} is missing: add epoch {e} to the recipe's checkpoint_epochs")
        extract_member(snakemake.input.model, split, p.split,
                       {p.layer: out / f"epoch{e:03d}" / p.layer / f"{p.split}.parquet"},
                       state_dict_path=ckpt, epoch=e, device=p.device, batch_size=p.batch_size,
                       meta={"ensemble": snakemake.wildcards.ensemble,
                             "member": int(snakemake.wildcards.member)}, log=log)
