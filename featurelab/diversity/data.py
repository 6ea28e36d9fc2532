"""The diversity study's held-out and test points (Gontijo-Lopes, Dauphin, Cubuk, ICLR 2022).

Every pool model is compared on the same points, which no model trained on:

* a synthetic base world: a fresh sample of the world (``draw`` = :data:`featurelab.plan.EVAL_DRAW`:
  the same classes, other random streams), ``heldout`` validation points and ``test`` test
  points, with their ground truth (dominant or rare, blue level) for the subgroups of Fig 4;
* a public or the user's dataset: its test split, cut at random (stratified by class) into
  ``heldout`` held-out points and the rest.

The held-out points serve calibration (one temperature per model), held-out stopping,
greedy selection and the probes' fit; the test points every reported number.
"""
from __future__ import annotations

from typing import Any, Callable

from ..data.prepared import holdout_indices, load_split, save_split


def write_eval_splits(outputs: dict[str, str], *, world: dict[str, Any] | None, source: str | None, heldout: int,
                      seed: int, log: Callable[[str], None] = print) -> None:
    """Write ``outputs['val']`` and ``outputs['test']`` (and ``*_truth`` on a synthetic world)."""
    if world is not None:
        from ..data.synthetic import WorldConfig, class_names, generate_split

        cfg = WorldConfig.from_dict(world)
        for split in ("val", "test"):
            images, labels, truth = generate_split(cfg, split)
            save_split(outputs[split], images, labels, class_names(cfg))
            truth.to_parquet(outputs[f"{split}_truth"], index=False)
            log(f"{split}: {len(labels)} fresh points of the world (draw {cfg.draw}), "
                f"{truth['dominant'].mean():.3f} dominant")
        return
    if source is None:
        raise ValueError("a non-synthetic base dataset needs its test split as the source of the held-out points")
    test = load_split(source)
    rest, held = holdout_indices(test.labels, int(heldout), seed)
    for name, idx in (("val", held), ("test", rest)):
        save_split(outputs[name], test.images[idx], test.labels[idx], test.classes)
        log(f"{name}: {len(idx)} points of {source}")
