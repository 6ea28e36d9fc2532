"""The ensembles the config asks for: the user's, and those the GDE, width and contamination
studies generate (Jiang, Baek, Kolter, ICLR 2024, §6; Duzgun, Jelassi, Li, arXiv 2407.00968,
2024; Zhang et al., ICML 2024, App. F.4), the toy setting's conditions and the contamination
study's numerical runs, and the check that a user ensemble takes no generated name.
"""
from __future__ import annotations

from typing import Any

from .names import (
    DIVERSITY_CATEGORIES,
    CONTROL_ENSEMBLE,
    PADDED_ENSEMBLE,
    RESERVED,
    TEACHER_ENSEMBLE,
    bgmix_dataset,
    blue_condition,
    blue_dataset,
    diversity_ensemble,
    fraction_size,
    gde_base_dataset,
    holdout_dataset,
    in_channels,
    num_classes,
    superclass_condition,
    superclass_dataset,
    train_size,
    width_ensemble,
    world_dataset,
)
from .zoo import Ensemble, Model


def _models(dataset: str, arch: str, width: float, recipe: str, subset: int | None, seed: int,
            members: int) -> tuple[Model, ...]:
    return tuple(Model(dataset, arch, float(width), recipe, subset, int(seed) + i) for i in range(int(members)))


def _user_ensembles(config: dict[str, Any]) -> dict[str, Ensemble]:
    out = {}
    for name, e in config["ensembles"].items():
        out[name] = Ensemble(name, "user", _models(e["dataset"], e["arch"], e.get("width", 1.0), e["recipe"],
                                                   _subset(config, e["dataset"], e.get("subset")),
                                                   e.get("seed", 0), e["members"]))
    return out


def _subset(config: dict[str, Any], dataset: str, subset: int | None) -> int | None:
    """A subset as large as the whole training split is the whole split (one model, not two)."""
    return None if subset is not None and subset == train_size(config, dataset) else subset


def gde_ensembles(config: dict[str, Any]) -> dict[str, Ensemble]:
    """The GDE study's ensembles: one per superclass count, blue group and training fraction."""
    gde = config["gde"]
    if not gde["enabled"]:
        return {}
    ds = gde_base_dataset(config)
    n_classes, n_train = num_classes(config, ds), train_size(config, ds)

    def ens(name: str, dataset: str, subset: int | None, **info: Any) -> Ensemble:
        return Ensemble(name, "gde", _models(dataset, gde["arch"], gde["width"], gde["recipe"], subset, gde["seed"],
                                             gde["members"]), info)

    out: dict[str, Ensemble] = {}
    for k in gde["superclasses"]:
        dataset = ds if k == n_classes else superclass_dataset(ds, k)
        out[f"gde_super{k}"] = ens(f"gde_super{k}", dataset, _subset(config, ds, gde.get("subset")),
                                   condition=superclass_condition(k))
    for g in range(1, gde["blue_groups"] + 1):
        out[f"gde_blue{g}"] = ens(f"gde_blue{g}", blue_dataset(ds, g), None, condition=blue_condition(g - 1))
    full = f"gde_super{n_classes}"
    for f in gde["fractions"]:
        size = fraction_size(n_train, f) if n_train is not None else None
        # the original labels on as many images as a superclass member: that ensemble already is it
        if full in out and size is not None and size == (out[full].first.subset or n_train):
            out[full].info["fraction"] = f
            continue
        name = f"gde_frac{round(f * 1000):04d}"
        out[name] = ens(name, ds, _subset(config, ds, size), fraction=f)
    return out


def width_denominators(config: dict[str, Any]) -> list[int]:
    """The width study's α as denominators k (α = 1/k), sorted, 1 (the base) first."""
    return sorted({1, *(round(1 / a) for a in config["width"]["alphas"])})


def width_ensembles(config: dict[str, Any]) -> dict[str, Ensemble]:
    """The width study's ensembles (Duzgun, Jelassi, Li, 2024): per architecture and α = 1/k,
    ``w_<arch>_a<k>`` trained on the base dataset minus its validation split.

    The base (k = 1) has ``repeats + 1`` members (repeat r compares member r with member
    r + 1); every low width has ``repeats · N_p(α)`` members, repeat r owning members
    ``r·N_p .. (r+1)·N_p − 1`` (its N_f concatenation is the first N_f of them)."""
    from ..width.counts import n_f, n_p

    w = config["width"]
    if not w["enabled"]:
        return {}
    ds = w["dataset"]
    classes = num_classes(config, ds) or 10
    out = {}
    for i, arch in enumerate(w["archs"]):
        for j, k in enumerate(width_denominators(config)):
            np_k = n_p(f"1/{k}", arch, classes, in_channels(ds), w["base_width"])
            count = w["repeats"] + 1 if k == 1 else w["repeats"] * np_k
            name = width_ensemble(arch, k)
            dataset = ds if w["validation"] is None else holdout_dataset(ds, w["validation"])
            out[name] = Ensemble(name, "width", _models(dataset, arch,
                                                        w["base_width"] / k, w["recipe"], None,
                                                        w["seed"] + 10_000 * (i * 100 + j), count),
                                 {"arch": arch, "alpha_den": k, "n_p": 1 if k == 1 else np_k,
                                  "n_f": 1 if k == 1 else n_f(f"1/{k}")})
    return out


def toy_conditions(config: dict[str, Any]) -> dict[str, dict[str, int]]:
    """The toy setting's conditions by name, ``w{width}x{count}`` (e.g. ``w600x1``): width,
    count and steps (a condition's own, else toy.steps)."""
    toy = config["toy"]
    return {f"w{c['width']}x{c['count']}": {"width": c["width"], "count": c["count"],
                                           "steps": c.get("steps") or toy["steps"]}
            for c in toy["conditions"]}


def contamination_ensembles(config: dict[str, Any], user: dict[str, Ensemble]) -> dict[str, Ensemble]:
    """The contamination study's networks (Zhang et al., ICML 2024), each a variant of the first
    members of ``contamination.ensemble`` (same architecture, width, subset and seeds; the
    counts are checked against the ensemble before any job, :mod:`featurelab.config`):

    * ``cont_padded`` (App. F.4): trained with ``padding.recipe`` (colour-padded images); the
      controls are the ensemble's members themselves (no extra training), or with
      ``padding.control_recipe`` those members retrained with it (``cont_control``);
    * ``cont_teacher`` (Fig 1, scaled): trained with ``headline.teacher_recipe`` (null: the
      ensemble's recipe) on the ensemble's synthetic world with every training image's
      background from the ID or the shifted colour range (``<base>__bgmix``).
    """
    c = config["contamination"]
    if not c["enabled"]:
        return {}
    base = user[c["ensemble"]]
    out = {}
    pad = c["padding"]
    if pad["enabled"]:
        first = base.models[:int(pad["members"])]
        models = tuple(Model(m.dataset, m.arch, m.width, pad["recipe"], m.subset, m.seed) for m in first)
        controls = first
        if pad.get("control_recipe"):
            controls = tuple(Model(m.dataset, m.arch, m.width, pad["control_recipe"], m.subset, m.seed) for m in first)
            out[CONTROL_ENSEMBLE] = Ensemble(CONTROL_ENSEMBLE, "contamination", controls, {"control": c["ensemble"]})
        out[PADDED_ENSEMBLE] = Ensemble(PADDED_ENSEMBLE, "contamination", models,
                                        {"control": c["ensemble"], "control_models": [m.id for m in controls]})
    head = c["headline"]
    if head["enabled"] and base.dataset in ("synthetic", "synthetic_gde"):
        first = base.models[:int(head["members"])]
        models = tuple(Model(bgmix_dataset(m.dataset), m.arch, m.width, head.get("teacher_recipe") or m.recipe,
                             m.subset, m.seed) for m in first)
        out[TEACHER_ENSEMBLE] = Ensemble(TEACHER_ENSEMBLE, "contamination", models,
                                         {"control": c["ensemble"], "control_models": [m.id for m in first],
                                          "student_seeds": [int(head["student_seed"]) + i for i in range(len(first))]})
    return out


def diversity_ensembles(config: dict[str, Any], ensembles: dict[str, Ensemble]) -> dict[str, Ensemble]:
    """The diversity study's pool (Gontijo-Lopes, Dauphin, Cubuk, ICLR 2022, §2): ``div_base``
    (the last member of ``diversity.ensemble``; the analysis may swap it for a Reinit member
    of the same ensemble, ``diversity.base``), then one ensemble ``div_<category>`` per
    category in order of growing divergence (:data:`DIVERSITY_CATEGORIES`):

    * ``reinit``: the other members of ``diversity.ensemble`` (the base recipe, other seeds),
      and the candidates of ``diversity.categories.reinit``;
    * every category: each candidate of
      ``diversity.categories.<category>``, either the first ``members`` models of an existing
      ensemble (``{ensemble: name}``: the zoo trains nothing again) or new models that take
      the base's dataset, architecture, width and recipe except where the candidate says
      otherwise (``dataset`` may name a world of ``diversity.worlds``); candidate ``c``'s
      member ``i`` has seed ``diversity.seed + 100·c + i``.

    Every pool model stops at the same held-out target, checked as often (the base recipe's
    ``stop_at_heldout_acc`` and ``heldout_checks``; :mod:`featurelab.config` refuses a
    candidate, reused or new, whose recipe stops otherwise): one rule of selection for every
    category. ``info`` of a category's ensemble holds each model's candidate (``source``: the
    ensemble reused or ``new``); ``div_start``, the fully trained model greedy ensembling starts
    from (``diversity.greedy.start``), outside the pool."""
    d = config.get("diversity") or {}
    if not d.get("enabled"):
        return {}
    src = ensembles[d["ensemble"]]
    base = src.models[-1]
    out = {diversity_ensemble("base"): Ensemble(diversity_ensemble("base"), "diversity", (base,),
                                                {"sources": [d["ensemble"]]})}
    c = 0
    for category in DIVERSITY_CATEGORIES:
        models: list[Model] = []
        sources: list[str] = []
        if category == "reinit":
            models, sources = list(src.models[:-1]), [d["ensemble"]] * (src.members - 1)
        for spec in d["categories"].get(category) or []:
            if spec.get("external"):
                continue  # models trained elsewhere: in the pool (Plan.diversity_pool), in no ensemble
            if spec.get("ensemble"):
                reused = ensembles[spec["ensemble"]].models
                n = len(reused) if spec.get("members") is None else int(spec["members"])
                if n > len(reused):  # the config check refuses this before any job
                    raise ValueError(f"diversity.categories.{category}: {n} models asked of {spec['ensemble']!r}, "
                                     f"which has {len(reused)}")
                models += reused[:n]
                sources += [spec["ensemble"]] * n
            else:
                ds = spec.get("dataset") or base.dataset
                if ds in (d.get("worlds") or {}):
                    ds = world_dataset(base.dataset, ds)
                n = int(spec.get("members") or 1)
                models += _models(ds, spec.get("arch") or base.arch, spec.get("width") or base.width,
                                  spec.get("recipe") or base.recipe,
                                  _subset(config, ds, spec.get("subset", base.subset)),
                                  int(d["seed"]) + 100 * c, n)
                sources += ["new"] * n
            c += 1
        name = diversity_ensemble(category)
        if models:  # a category without candidates (e.g. Framework awaiting its recipe) has no ensemble
            out[name] = Ensemble(name, "diversity", tuple(models), {"sources": sources})
    start = (d.get("greedy") or {}).get("start")
    if start:
        m = ensembles[start["ensemble"]].models[int(start.get("member", 0))]
        if not any(m in e.models for e in out.values()):
            name = diversity_ensemble("start")
            out[name] = Ensemble(name, "diversity", (m,), {"sources": [start["ensemble"]]})
    return out


def contamination_runs(config: dict[str, Any]) -> list[dict[str, Any]]:
    """The numerical runs of the contamination study (Zhang et al., ICML 2024, Secs. 3-4,
    App. F.1): one ``{task, activation, variant, seed}`` per combination the config lists,
    in config order, each named ``<task>_<activation>_<variant>_s<seed>``, with its task's
    ``iterations``."""
    c = config["contamination"]
    if not c["enabled"]:
        return []
    num = c["numerical"]
    out = []
    for task, spec in num["runs"].items():
        for activation in spec["activations"]:
            for variant in spec.get("variants", ["code"]):
                for seed in num["seeds"]:
                    out.append({"name": f"{task}_{activation}_{variant}_s{seed}", "task": task,
                                "activation": activation, "variant": variant, "seed": int(seed),
                                "iterations": int(spec.get("iterations") or num["iterations"])})
    return out


def generated_names(config: dict[str, Any]) -> dict[str, str]:
    """Every ensemble name a study generates from ``config``, with the study: ``{name: study}``.
    Names only (no counts), so a config can be checked before its studies are planned."""
    names: dict[str, str] = {}
    gde = config["gde"]
    if gde["enabled"]:
        names.update({f"gde_super{k}": "gde" for k in gde["superclasses"]})
        names.update({f"gde_blue{g}": "gde" for g in range(1, gde["blue_groups"] + 1)})
        names.update({f"gde_frac{round(f * 1000):04d}": "gde" for f in gde["fractions"]})
    if config["width"]["enabled"]:
        names.update({width_ensemble(a, k): "width" for a in config["width"]["archs"]
                      for k in width_denominators(config)})
    c = config.get("contamination") or {}
    if c.get("enabled") and c.get("padding", {}).get("enabled"):
        names[PADDED_ENSEMBLE] = "contamination"
        if c["padding"].get("control_recipe"):
            names[CONTROL_ENSEMBLE] = "contamination"
    if c.get("enabled") and c.get("headline", {}).get("enabled"):
        names[TEACHER_ENSEMBLE] = "contamination"
    d = config.get("diversity") or {}
    if d.get("enabled"):
        names.update({diversity_ensemble(k): "diversity" for k in ("base", *DIVERSITY_CATEGORIES, "start")})
    return names


def name_problems(config: dict[str, Any]) -> list[str]:
    """Every user ensemble whose name a study generates, or that is a folder of ``results/``,
    each with the reason; empty when the names are free."""
    out = []
    generated = generated_names(config)
    for name in config["ensembles"]:
        if name in generated:
            out.append(f"ensembles.{name}: the {generated[name]} study generates an ensemble of this name from "
                       f"the config; rename yours (generated: {', '.join(sorted(generated))})")
        elif name in RESERVED:
            out.append(f"ensembles.{name}: {name!r} is a folder of results/ ({', '.join(sorted(RESERVED))}); "
                       "rename the ensemble")
    return out
