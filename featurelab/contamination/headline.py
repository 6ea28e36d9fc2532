"""The headline experiment of Zhang et al., "Feature Contamination: Neural Networks Learn
Uncorrelated Features and Fail to Generalize" (ICML 2024, Sec. 2, Fig 1, Tables 1-4), scaled
to the synthetic world: linear probes on the representations of teacher, distilled student
and plain member, fit on ID training images, evaluated ID and on the background-shifted
split. The verdicts are in :mod:`.findings`."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from .findings import KINDS


def headline_table(features: Any, seeds: Sequence[int], probe_c: float = 1.0) -> pd.DataFrame:
    """Linear-probe accuracy of every seed's teacher, student and plain member on the test split
    (ID) and its background-shifted copy (OOD); the probes are fit on each representation of
    the ID training split (:func:`featurelab.width.measures.linear_probe`: standardised
    features, multinomial logistic regression). ``features`` maps ``s<seed>/<kind>/<split>``
    and ``labels/<split>`` to arrays (the contamination_headline rule's file)."""
    from ..width.measures import linear_probe

    rows = []
    for seed in seeds:
        for kind in KINDS:
            key = f"s{seed}/{kind}"
            for split in ("test", "shifted"):
                acc = linear_probe(features[f"{key}/train"], features["labels/train"], features[f"{key}/{split}"],
                                   features[f"labels/{split}"], C=probe_c)
                rows.append({"seed": int(seed), "model": kind, "split": split, "accuracy": acc})
    return pd.DataFrame(rows)
