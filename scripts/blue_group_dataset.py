"""Rule blue_group_dataset: the points of one blue-intensity group G_i (App. F.9, SPEC 6).

The thresholds come from the empirical CDF of b(x) over the whole training split and
are applied unchanged to the test split.
"""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402

with logged(snakemake.log[0]):
    from featurelab.data.prepared import load_split, save_split
    from featurelab.gde import blue_group_split, blue_intensity, blue_thresholds

    group = int(snakemake.wildcards.group) - 1  # G1 is group 0, the least blue
    n_groups = snakemake.params.n_groups
    if not 0 <= group < n_groups:
        raise ValueError(f"blue group {group + 1} does not exist; gde.blue_groups is {n_groups}")
    train = load_split(snakemake.input.train)
    thresholds = blue_thresholds(train.images, n_groups)
    info = {"group": group + 1, "n_groups": n_groups, "thresholds": thresholds.tolist()}
    if "truth" in snakemake.input.keys():  # a synthetic world: how large a rare pool the group draws from
        import pandas as pd

        from featurelab.gde import blue_groups
        truth = pd.read_parquet(snakemake.input.truth, columns=["dominant", "rare_pool"])
        rare = (blue_groups(train.images, thresholds) == group) & ~truth["dominant"].to_numpy(dtype=bool)
        info["rare_pool_mean"] = float(truth["rare_pool"].to_numpy()[rare].mean()) if rare.any() else float("nan")
        log(f"G{group + 1}: its rare training images draw from {info['rare_pool_mean']:.1f} rare motifs per class")
    for name, split in (("train", train), ("test", load_split(snakemake.input.test))):
        sub = blue_group_split(split, thresholds, group)
        save_split(snakemake.output[name], sub.images, sub.labels, sub.classes)
        log(f"{name}: G{group + 1} holds {len(sub)} of {len(split)} images, "
            f"mean b(x) {blue_intensity(sub.images).mean():.4f}")
    Path(snakemake.output.thresholds).write_text(json.dumps(info, indent=2))
