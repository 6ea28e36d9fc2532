"""Rule synthetic_world: generate the feature world (SPEC 2.2) with its ground truth."""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402

with logged(snakemake.log[0]):
    from featurelab.data.prepared import save_split
    from featurelab.data.synthetic import WorldConfig, class_names, generate_split

    cfg = WorldConfig.from_dict(snakemake.params.world)
    for split in ("train", "test"):
        images, labels, truth = generate_split(cfg, split)
        save_split(snakemake.output[split], images, labels, class_names(cfg))
        truth.to_parquet(snakemake.output[f"{split}_truth"], index=False)
        log(f"{split}: {len(labels)} images, {truth['dominant'].mean():.3f} dominant")
    Path(snakemake.output.world).write_text(json.dumps(cfg.to_dict(), indent=2))
