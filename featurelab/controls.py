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
register("width_only", "width", "featurelab.width.controls:decide_width")
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


def parts_from_files(info: Mapping[str, Any], files: Mapping[str, Any]) -> dict[str, dict[str, Part]]:
    """The arms of a control from the rule's inputs (``<arm>__<part>__<kind>``, see
    :meth:`featurelab.plan.Plan.control_inputs`) and its info (:meth:`Plan.control_info`)."""
    from .files import read_json

    def paths(v: Any) -> list[Path]:
        return [Path(v)] if isinstance(v, (str, Path)) else [Path(x) for x in v]

    out: dict[str, dict[str, Part]] = {}
    states = list(info.get("states") or [])
    for arm in ARMS:
        out[arm] = {}
        for name, p in info["parts"].get(arm, {}).items():
            key = f"{arm}__{name}"
            n = len(p["models"])
            features: list[dict[str, Path]] = []
            if f"{key}__features" in files:
                fs = paths(files[f"{key}__features"])  # state-major, then member-major, splits in order
                splits = ("train", "val", "test")
                features = [{f"{st}/{sp}": fs[(si * n + i) * len(splits) + j]
                             for si, st in enumerate(states) for j, sp in enumerate(splits)} for i in range(n)]
            world = read_json(files[f"{key}__world"]) if f"{key}__world" in files else None
            out[arm][name] = Part(
                name=name, dataset=p["dataset"], models=list(p["models"]),
                activations=paths(files[f"{key}__activations"]) if f"{key}__activations" in files else [],
                weights=paths(files[f"{key}__weights"]) if f"{key}__weights" in files else [],
                features=features,
                test_truth=Path(files[f"{key}__truth"]) if f"{key}__truth" in files else None,
                world=world, info=dict(p.get("info") or {}))
    return out


def with_controls(summary: dict[str, Any], files: Any) -> dict[str, Any]:
    """``summary`` with its study's control results under ``controls`` (``{name: result}``),
    when the config enabled any (``files``: their JSON files); unchanged otherwise."""
    from .files import read_json

    files = [files] if isinstance(files, (str, Path)) else list(files or [])
    if files:
        summary["controls"] = {r["control"]: r for r in map(read_json, files)}
    return summary


def controls_summary(results: list[Mapping[str, Any]]) -> dict[str, Any]:
    """``{"controls": {name: result}, "passed": k, "decided": n}``: the controls' summary,
    whose ``on``/``off`` verdicts the Findings table lists."""
    decided = [r for r in results if r.get("passes") is not None]
    return {"controls": {r["control"]: dict(r) for r in results},
            "passed": sum(bool(r["passes"]) for r in decided), "decided": len(decided), "total": len(results)}


def controls_table(results: list[Mapping[str, Any]], markdown: bool = False) -> Any:
    """One row per control: study, finding, mechanism, the verdict with the mechanism on and
    off (estimate and interval), passes; as a DataFrame, or Markdown with ``markdown``."""
    import pandas as pd

    def cell(v: Mapping[str, Any]) -> str:
        est, lo, hi = v.get("estimate"), v.get("lo"), v.get("hi")
        num = "" if est is None else f"{est:.4g}" + ("" if lo is None or hi is None else f" [{lo:.4g}, {hi:.4g}]")
        return f"{v.get('verdict')} ({num})" if num else str(v.get("verdict"))

    rows = [{"control": r["control"], "study": r["study"], "finding": r["finding"], "mechanism": r["mechanism"],
             "on": cell(r["on"]), "off": cell(r["off"]),
             "passes": {True: "yes", False: "no", None: "no verdict"}[r.get("passes")]} for r in results]
    table = pd.DataFrame(rows, columns=["control", "study", "finding", "mechanism", "on", "off", "passes"])
    if not markdown:
        return table
    lines = ["| control | study | finding | mechanism | on (planted) | off (absent) | passes |",
             "|---|---|---|---|---|---|---|"]
    lines += [f"| {r.control} | {r.study} | {r.finding} | {r.mechanism} | {r.on} | {r.off} | **{r.passes}** |"
              for r in table.itertuples(index=False)]
    decided = table[table["passes"] != "no verdict"]
    lines += ["", f"{int((decided['passes'] == 'yes').sum())} of {len(decided)} decided controls pass "
              f"({len(table)} in all)"]
    return "\n".join(lines) + "\n"
