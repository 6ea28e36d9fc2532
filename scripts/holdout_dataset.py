"""Rule holdout_dataset: hold a stratified validation split out of a dataset's training set
(Duzgun, Jelassi, Li (2024): FSE is reported on points the networks never trained on)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402, I001

from featurelab.data.prepared import holdout_indices, load_split, save_split

with logged(snakemake.log[0]):
    n_val = int(snakemake.wildcards.n)
    train = load_split(snakemake.input.train)
    if n_val >= len(train):
        raise ValueError(f"a validation split of {n_val} images leaves nothing of the {len(train)} training images")
    keep, val = holdout_indices(train.labels, n_val, seed=0)
    save_split(snakemake.output.train, train.images[keep], train.labels[keep], train.classes)
    save_split(snakemake.output.val, train.images[val], train.labels[val], train.classes)
    test = load_split(snakemake.input.test)
    save_split(snakemake.output.test, test.images, test.labels, test.classes)
    log(f"train {len(keep)}, validation {len(val)} (stratified, seed 0), test {len(test)}")
