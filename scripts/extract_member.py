"""Rule extract_member: one member's activations, per layer and split, to Parquet."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402

with logged(snakemake.log[0]):
    from featurelab.data.prepared import load_split
    from featurelab.extract import extract_member

    outputs = set(snakemake.output)
    pattern = "results/{ensemble}/activations/member{member}/{layer}/{split}.parquet"
    for split in snakemake.params.splits:
        paths = {layer: pattern.format(layer=layer, split=split, **snakemake.wildcards)
                 for layer in snakemake.params.layers}
        assert set(paths.values()) <= outputs, (paths, outputs)
        extract_member(snakemake.input.model, load_split(snakemake.input[split]), split, paths,
                       device=snakemake.params.device, batch_size=snakemake.params.batch_size,
                       meta={"ensemble": snakemake.wildcards.ensemble,
                             "member": int(snakemake.wildcards.member)}, log=log)
