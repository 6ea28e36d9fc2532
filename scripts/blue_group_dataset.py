"""Rule blue_group_dataset: the points of one blue-intensity group G_i (Jiang, Baek, Kolter,
ICLR 2024, App. F.9), with the thresholds from the empirical CDF of b(x) over the whole
training split, applied unchanged to the test split."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402

with logged(snakemake.log[0]):
    from featurelab.data.prepared import load_split, save_split
    from featurelab.files import write_json
    from featurelab.gde.datasets import blue_group_info, blue_group_split, blue_intensity

    train = load_split(snakemake.input.train)
    truth = None
    if "truth" in snakemake.input.keys():  # a synthetic world: how large a rare pool the group draws from
        import pandas as pd

        truth = pd.read_parquet(snakemake.input.truth, columns=["dominant", "rare_pool"])
    info = blue_group_info(train, snakemake.params.n_groups, int(snakemake.wildcards.group), truth)
    group = info["group"] - 1
    if "rare_pool_mean" in info:
        log(f"G{group + 1}: its rare training images draw from {info['rare_pool_mean']:.1f} rare motifs per class")
    for name, split in (("train", train), ("test", load_split(snakemake.input.test))):
        sub = blue_group_split(split, info["thresholds"], group)
        save_split(snakemake.output[name], sub.images, sub.labels, sub.classes)
        log(f"{name}: G{group + 1} holds {len(sub)} of {len(split)} images, "
            f"mean b(x) {blue_intensity(sub.images).mean():.4f}")
    write_json(snakemake.output.thresholds, info)
