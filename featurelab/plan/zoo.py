"""The model zoo: a trained member identified by what determines its weights (:class:`Model`),
ensembles as named lists of models (:class:`Ensemble`), and which models train together in
one job (:func:`pack_plan`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable


def _width_str(width: float) -> str:
    return format(float(width), ".10g")


#: The form of a model id (see :attr:`Model.id`), as a regular expression.
MODEL_ID = r"[A-Za-z][A-Za-z0-9_]*-[a-z0-9]+-w[0-9.e-]+-[A-Za-z][A-Za-z0-9_]*(-n\d+)?-s\d+"


@dataclass(frozen=True)
class Model:
    """One trained member of the zoo: what determines its weights."""

    dataset: str
    arch: str
    width: float
    recipe: str
    subset: int | None
    seed: int

    @property
    def group(self) -> str:
        """Everything but the seed: members of one group can train packed together."""
        n = f"-n{self.subset}" if self.subset is not None else ""
        return f"{self.dataset}-{self.arch}-w{_width_str(self.width)}-{self.recipe}{n}"

    @property
    def id(self) -> str:
        """``<dataset>-<arch>-w<width>-<recipe>[-n<subset>]-s<seed>``, e.g.
        ``synthetic-resnet18-w0.125-synthetic_small-s3``: the folder ``results/zoo/<id>/``."""
        return f"{self.group}-s{self.seed}"


@dataclass(frozen=True)
class Ensemble:
    """A named list of zoo models: member i is ``models[i]``. ``study`` is ``"user"`` for the
    config's own ensembles, else the study that generated it; ``info`` holds the study's
    facts about it (a GDE condition or fraction, a width study's architecture and α)."""

    name: str
    study: str
    models: tuple[Model, ...]
    info: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def members(self) -> int:
        return len(self.models)

    @property
    def first(self) -> Model:
        return self.models[0]

    @property
    def dataset(self) -> str:
        return self.first.dataset


def pack_plan(models: Iterable[Model], pack: dict[str, Any], prefix: str = "p") -> dict[str, list[str]]:
    """Which models train together: ``{pack id: [model ids]}``.

    With ``pack['enabled']``, the models of every group (:attr:`Model.group`: all but the
    seed) whose width is at most ``pack['max_width']`` are cut, in seed order, into packs of
    at most ``pack['members_per_job']`` (251 models at 16 per job: 15 packs of 16 and one of
    11), named ``<group>-<prefix><i>`` (``p``; the diversity study's own models: ``d``, so that
    they never change a pack another study trains). Every other model trains alone."""
    if not pack.get("enabled"):
        return {}
    per_job, max_width = int(pack.get("members_per_job", 16)), float(pack.get("max_width", 0.125))
    if per_job < 2:
        return {}
    groups: dict[str, list[Model]] = {}
    for m in models:
        if m.width <= max_width + 1e-12:
            groups.setdefault(m.group, []).append(m)
    out = {}
    for g, ms in groups.items():
        ms = sorted(ms, key=lambda m: m.seed)
        for i, s in enumerate(range(0, len(ms), per_job)):
            out[f"{g}-{prefix}{i}"] = [m.id for m in ms[s:s + per_job]]
    return out
