"""Rules synthetic_world and synthetic_gde_world: generate a synthetic feature world with its
ground truth (featurelab.data.synthetic)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402, I001

from featurelab.data.prepared import save_split
from featurelab.data.synthetic import WorldConfig, class_names, generate_split
from featurelab.files import write_json

with logged(snakemake.log[0]):
    cfg = WorldConfig.from_dict(snakemake.params.world)
    for split in ("train", "test", "val")[:3 if cfg.n_val else 2]:
        images, labels, truth = generate_split(cfg, split)
        save_split(snakemake.output[split], images, labels, class_names(cfg))
        truth.to_parquet(snakemake.output[f"{split}_truth"], index=False)
        log(f"{split}: {len(labels)} images, {truth['dominant'].mean():.3f} dominant")
    write_json(snakemake.output.world, cfg.to_dict())
