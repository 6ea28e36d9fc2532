"""The numbers Jiang, Baek, Kolter (ICLR 2024) report for the gde study, as data.

Sources (the paper's text):

* **Table 1** (§6, p. 9): mean accuracy and agreement of CIFAR-10 ResNet18 ensembles
  (6 seeds) for K̃ = 2, 3, 5, 10 superclasses (App. F.8) and blue-intensity groups
  G1..G5 (App. F.9; G1 = the least blue fifth), plus the printed "Difference".
* **Table 2** (App. F, p. 24): the same means with "± standard deviation"
  (accuracy ± .01-.03, agreement ± .05-.15) and the same "Diff" row.
  The paper does not say over what the std is taken.
* **Fig 5b** (App. B): test accuracy vs training-set fraction (5%..100% in steps of 5%,
  CIFAR-10, ResNet18). The text carries only the axes (fraction 0-1, accuracy ≈ 0.3-0.8);
  no values are printed, so none are stored here (see :data:`FIG5B`).

The printed difference is kept as printed: for K̃ = 5 it is 0.04 although 0.83 − 0.78 =
0.05 (the paper subtracted unrounded means); the column ``difference_from_means`` gives
agreement − accuracy of the rounded means for comparison.

Condition names match :mod:`featurelab.gde`: ``super2``, ``super3``, ``super5``,
``super10``, ``blue1``..``blue5``.
"""
from __future__ import annotations

import pandas as pd

__all__ = ["GDE_TABLE", "FIG5B", "STUDIES", "paper_table"]

#: (condition, paper label, accuracy, accuracy std, agreement, agreement std, printed diff).
#: Means: Table 1 (= Table 2's means); stds: Table 2; diff: the "Difference"/"Diff" row of both.
GDE_TABLE: tuple[tuple[str, str, float, float, float, float, float], ...] = (
    # App. F.8, merging classes; K̃ = 10 is plain CIFAR-10
    ("super2", "K̃=2", 0.80, 0.01, 0.85, 0.06, 0.05),
    ("super3", "K̃=3", 0.84, 0.01, 0.88, 0.05, 0.04),
    ("super5", "K̃=5", 0.78, 0.01, 0.83, 0.08, 0.04),
    ("super10", "K̃=10", 0.81, 0.02, 0.85, 0.07, 0.05),
    # App. F.9, partition by blue intensity; G_i = (i−1)·20th to i·20th percentile
    ("blue1", "G1", 0.62, 0.02, 0.70, 0.13, 0.08),
    ("blue2", "G2", 0.60, 0.01, 0.67, 0.15, 0.07),
    ("blue3", "G3", 0.59, 0.03, 0.69, 0.15, 0.10),
    ("blue4", "G4", 0.66, 0.02, 0.71, 0.13, 0.05),
    ("blue5", "G5", 0.70, 0.03, 0.75, 0.11, 0.05),
)

#: Fig 5b as described in App. B: no values printed, only the design and axis ranges.
FIG5B: dict[str, object] = {
    "fractions": tuple(round(0.05 * i, 2) for i in range(1, 21)),
    "dataset": "cifar10",
    "arch": "resnet18",
    "accuracy_axis": (0.3, 0.8),  # y-axis range of the plot, not data
    "values": None,
}

STUDIES: tuple[str, ...] = ("superclass", "blue", "gde")


def paper_table(study: str = "gde") -> pd.DataFrame:
    """The paper's Tables 1-2 rows for ``study``.

    ``study``: ``"superclass"`` (super2..super10), ``"blue"`` (blue1..blue5) or ``"gde"``
    (both; also accepted: ``"table1"``, ``"table2"``, ``"all"``). Columns: condition, label,
    accuracy, accuracy_std, agreement, agreement_std, difference (as printed),
    difference_from_means, source.
    """
    key = str(study).lower()
    if key in ("table1", "table2", "all"):
        key = "gde"
    if key not in STUDIES:
        raise ValueError(f"unknown study {study!r}; expected one of {STUDIES} "
                         "(Fig 5b has no printed values in the paper)")
    df = pd.DataFrame(list(GDE_TABLE), columns=["condition", "label", "accuracy", "accuracy_std",
                                                "agreement", "agreement_std", "difference"])
    df["difference_from_means"] = (df["agreement"] - df["accuracy"]).round(2)
    df["source"] = "Jiang, Baek, Kolter (2024) Table 1 (means, diff), Table 2 (std)"
    if key == "superclass":
        df = df[df["condition"].str.startswith("super")]
    elif key == "blue":
        df = df[df["condition"].str.startswith("blue")]
    return df.reset_index(drop=True)
