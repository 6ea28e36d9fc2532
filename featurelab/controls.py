"""Controls: each paper's mechanism planted in the ground-truth world, and the finding decided
with it (the positive control) and without it (the negative control).

A control has two *arms*, ``on`` (the mechanism planted) and ``off`` (the same recipe, the
mechanism absent). Each arm is a set of *parts*: ensembles of zoo models, each trained on a
synthetic world (``data.synthetic`` with a named world's keys over it, or a world derived from
one: a superclass merge, a blue group), trained and extracted by the workflow's own rules, so
that a model two controls (or a control and a study) ask for is trained once.

The control's *decision* is a study's own science, in ``featurelab.<study>.controls``: a
function ``decide(arms, settings, *, level, resamples, seed) -> dict`` that reads the parts'
files, computes the finding in each arm with the study's own code and returns
:func:`control_result`. This module holds the shared shapes and the registry only.

A control *passes* when the finding holds with the mechanism on and does not hold with it off
(fails or stays undecided): the analysis can see the effect where it is, and does not
report it where it is not.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

#: The arms of a control: the mechanism planted, and absent.
ARMS = ("on", "off")

#: Every control the workflow knows: name -> (study, "module:function" of its decision).
REGISTRY: dict[str, tuple[str, str]] = {}


def register(name: str, study: str, target: str) -> None:
    REGISTRY[name] = (study, target)


register("o4", "interaction", "featurelab.interaction.controls:decide_o4")
register("theory", "theory", "featurelab.theory.controls:decide_estimator")
register("gde", "gde", "featurelab.gde.controls:decide_gde")
register("width", "width", "featurelab.width.controls:decide_width")
register("padding", "contamination", "featurelab.contamination.controls:decide_padding")
register("diversity", "diversity", "featurelab.diversity.controls:decide_diversity")


def decision(name: str) -> Callable[..., dict[str, Any]]:
    """The decision function of control ``name`` (imported on demand)."""
    if name not in REGISTRY:
        raise KeyError(f"unknown control {name!r}; known: {', '.join(sorted(REGISTRY)) or 'none'}")
    module, func = REGISTRY[name][1].split(":")
    return getattr(importlib.import_module(module), func)


@dataclass
class Part:
    """One ensemble of a control arm, as the decision reads it.

    ``models``: zoo ids, member order. ``activations[i]``: model i's Parquet file
    (:mod:`featurelab.activations`) of layer ``layer`` on its world's test split (a
    train-only mechanism keeps that split identical to the base world's).
    ``weights[i]``: model i's ``model.pt`` (for decisions that evaluate a network on new
    images). ``features[i]``: ``{"trained/train": path, "trained/val": ..., "init/test": ...}``
    (the width study's penultimate features) when the part asks for them, else empty.
    ``test_truth``: the ground truth Parquet of the test split (one row per image, see
    :func:`featurelab.data.synthetic.generate_split`). ``world``: the world's config dict.
    ``info``: the part's settings from the config (recipe, arch, width, seed, …)."""

    name: str
    dataset: str
    models: list[str]
    activations: list[Path] = field(default_factory=list)
    weights: list[Path] = field(default_factory=list)
    features: list[dict[str, Path]] = field(default_factory=list)
    test_truth: Path | None = None
    world: dict[str, Any] | None = None
    info: dict[str, Any] = field(default_factory=dict)


#: ``{"on": {part name: Part}, "off": {...}}``
Arms = Mapping[str, Mapping[str, Part]]


def control_result(name: str, study: str, finding: str, mechanism: str, source: str,
                   on: Mapping[str, Any], off: Mapping[str, Any], *, sizes: Mapping[str, Any],
                   seeds: Mapping[str, Any], design: str = "", extra: Mapping[str, Any] | None = None
                   ) -> dict[str, Any]:
    """The JSON of one control. ``on``/``off`` are :func:`featurelab.verdicts.verdict` dicts
    of the same finding in each arm. ``passes``: holds with the mechanism on and not with it off
    (fails, undecided or no verdict); ``None`` when the on-arm has no verdict."""
    on_v, off_v = on.get("holds"), off.get("holds")
    passes = None if on.get("verdict") == "no verdict" else bool(on_v is True and off_v is not True)
    return {"control": name, "study": study, "finding": finding, "mechanism": mechanism,
            "source": source, "design": design, "on": dict(on), "off": dict(off),
            "expected": {"on": "holds", "off": "fails or undecided"}, "passes": passes,
            "sizes": dict(sizes), "seeds": dict(seeds), **dict(extra or {})}
