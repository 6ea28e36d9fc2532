"""Rule bgmix_dataset: a synthetic world's training split with every image's background drawn from
the ID or the shifted colour range with probability 1/2 (the contamination study's teachers,
Zhang et al., ICML 2024, Fig 1 scaled), beside the world's own test split."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402, I001

from featurelab.data.prepared import save_split
from featurelab.data.synthetic import WorldConfig, class_names, generate_split

with logged(snakemake.log[0]):
    cfg = WorldConfig.from_dict(snakemake.params.world)
    images, labels, truth = generate_split(cfg, "train", background="mixed")
    save_split(snakemake.output.train, images, labels, class_names(cfg))
    truth.to_parquet(snakemake.output.train_truth, index=False)
    images, labels, _ = generate_split(cfg, "test")
    save_split(snakemake.output.test, images, labels, class_names(cfg))
    log(f"train: {len(truth)} images, {truth['shifted_background'].mean():.3f} with a shifted background; "
        f"test: the world's own {len(labels)}")
