"""Rule extract_member: one model's activations, per layer and split, to Parquet
(results/zoo/<model>/activations/<layer>/<split>.parquet)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402

with logged(snakemake.log[0]):
    from featurelab.data.prepared import load_split
    from featurelab.extract import extract_member

    outputs: dict[str, dict[str, str]] = {}  # split -> layer -> path, read off the declared outputs
    for path in snakemake.output:
        outputs.setdefault(Path(path).stem, {})[Path(path).parent.name] = path
    for split, paths in outputs.items():
        extract_member(snakemake.input.model, load_split(snakemake.input[split]), split, paths,
                       device=snakemake.params.device, batch_size=snakemake.params.batch_size,
                       meta={"model": snakemake.wildcards.model}, log=log)
