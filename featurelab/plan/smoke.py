"""The smoke overlay: a preset's whole DAG at a tiny size (config key ``smoke``).

``snakemake --configfile presets/paper000.yaml --config smoke=true`` runs every rule the
preset runs, on every dataset kind, architecture and study it names, but with few images,
few members, one or two epochs, few iterations and narrow networks: a run in minutes on a
CPU that shows the preset's pipeline works end to end before a GPU is rented for it. It
says nothing about the findings.

:func:`smoke_config` does the shrinking, on a config whose defaults are filled (the schema
validation of :func:`featurelab.config.validate_config` calls it when ``smoke`` is true,
before the cross-key checks): the planner then derives every name, count and seed from the
smaller config, so the DAG has the same rules and fewer jobs. Every change is a cap (a
value already below it stays), so shrinking a shrunk config changes nothing. What changes:

* images: the synthetic worlds' training, validation and test images (``data.synthetic``,
  ``gde.world``, the diversity and control worlds) at most :data:`TRAIN_IMAGES`,
  :data:`VAL_IMAGES` and :data:`TEST_IMAGES`; a subset or held-out count above
  :data:`TRAIN_IMAGES` scaled by ``TRAIN_IMAGES / n`` of its dataset's ``n`` training images
  (a public dataset's full size: its 45,000 of 50,000 becomes 270), so the real dataset may
  be a small copy of :data:`TRAIN_IMAGES` training images (``featurelab.data.fakes``);
* networks: every width multiplied by one factor that brings the widest to at most
  :data:`MAX_WIDTH` (``train.pack.max_width`` too, so the same models train packed);
* training: ``max_epochs``, ``lr_step_epochs``, SimCLR's epochs at most :data:`EPOCHS`,
  checkpoint and interaction epochs clipped to them (``[0..29]`` becomes ``[0, 1]``),
  batches at most :data:`BATCH`, PGD at one step, ``reference_size`` at most
  :data:`TRAIN_IMAGES`;
* members: every ensemble, GDE condition and control part at most 2 (the interaction
  tensor, the diversity study's base and Reinit, GDE's agreement need pairs), a diversity
  candidate 1, the width study one repetition of its largest α (α = 1/2: N_p = 4 members),
  GDE's smallest and largest superclass count and training fraction and at most 2 blue groups;
* iterations and samples: the toy setting, the numerical setting, the theory study's
  simulation, the bootstrap, greedy steps, probes and the activation maximisation.
"""
from __future__ import annotations

import copy
import math
from typing import Any

from .names import TRAIN_SIZES

#: At most this many training images per world or dataset (subsets scale with it).
TRAIN_IMAGES = 300
#: At most this many validation images of a synthetic world.
VAL_IMAGES = 60
#: At most this many test images of a synthetic world (the toy's and numerical setting's too).
TEST_IMAGES = 200
#: The widest network's width factor.
MAX_WIDTH = 0.125
#: Epochs of every recipe (and SimCLR pre-training).
EPOCHS = 1
#: Minibatch size cap.
BATCH = 100
#: Members of an ensemble, a GDE condition or a control part (pairs: 2).
MEMBERS = 2
#: Iterations or steps of the toy and numerical settings.
STEPS = 60
#: Smallest subset a scaled subset keeps.
MIN_SUBSET = 20

_WORLD_CAPS = {"n_train": TRAIN_IMAGES, "n_val": VAL_IMAGES, "n_test": TEST_IMAGES}


def _cap(value: Any, cap: int | float) -> Any:
    return value if value is None else min(value, cap)


def _world(world: dict[str, Any]) -> None:
    for key, cap in _WORLD_CAPS.items():
        if world.get(key) is not None:
            world[key] = min(int(world[key]), cap)


def _scaled(count: int | None, full: int | None) -> int | None:
    """A subset (or held-out count) of a dataset of ``full`` training images, at smoke size:
    unchanged up to :data:`TRAIN_IMAGES`, else ``count · TRAIN_IMAGES / full`` (at least
    :data:`MIN_SUBSET`), which never exceeds :data:`TRAIN_IMAGES` (so a second shrink keeps it)."""
    if count is None or count <= TRAIN_IMAGES:
        return count
    full = max(int(full or TRAIN_IMAGES), count)
    return max(MIN_SUBSET, math.ceil(count * TRAIN_IMAGES / full))


def _full_size(config: dict[str, Any], dataset: str) -> int | None:
    """Training images of a base dataset before shrinking (derived names: their base's)."""
    base = dataset.split("__")[0]
    if base == "synthetic":
        return config["data"]["synthetic"].get("n_train")
    if base == "synthetic_gde":
        return (config.get("gde") or {}).get("world", {}).get("n_train") or config["data"]["synthetic"].get("n_train")
    return TRAIN_SIZES.get(base)


def _epochs(epochs: list[int]) -> list[int]:
    return sorted({min(int(e), EPOCHS) for e in epochs})


def _recipe(r: dict[str, Any]) -> None:
    r["max_epochs"] = min(r["max_epochs"], EPOCHS)
    r["lr_step_epochs"] = min(r["lr_step_epochs"], EPOCHS)
    r["batch_size"] = min(r["batch_size"], BATCH)
    r["checkpoint_epochs"] = _epochs(r.get("checkpoint_epochs") or [])
    r["reference_size"] = _cap(r.get("reference_size"), TRAIN_IMAGES)
    r["heldout_checks"] = min(r.get("heldout_checks", 1), 2)
    if r.get("adv_steps"):
        r["adv_steps"] = 1
        r["adv_warmup_epochs"] = 1
    s = r.get("simclr")
    if s:
        s["epochs"] = min(s.get("epochs", 100), EPOCHS)
        s["warmup_epochs"] = 0
        s["batch_size"] = min(s.get("batch_size", 512), 64)


def _width_factor(config: dict[str, Any]) -> float:
    """The one factor every width is multiplied by: the widest network (MLPs aside, whose
    width counts hidden units) at most :data:`MAX_WIDTH`."""
    widths = [e["width"] for e in config["ensembles"].values() if e["arch"] != "mlp"]
    if config["gde"].get("enabled"):
        widths.append(config["gde"]["width"])
    if config["width"].get("enabled"):
        widths.append(config["width"]["base_width"])
    d = config["diversity"]
    if d.get("enabled"):
        base = config["ensembles"].get(d["ensemble"], {})
        for specs in d["categories"].values():
            for s in specs:
                if (s.get("arch") or base.get("arch")) != "mlp" and s.get("width"):
                    widths.append(s["width"])
    c = config.get("controls") or {}
    if c.get("enabled"):
        widths.append(c.get("width", MAX_WIDTH))
        for name in ("o4", "theory", "gde", "width_only", "padding", "diversity"):
            for arm in (c.get(name) or {}).get("arms", {}).values():
                widths += [p["width"] for p in arm.values() if p.get("width")]
    widest = max(widths, default=MAX_WIDTH)
    return min(1.0, MAX_WIDTH / widest)


def _keep_packing(original: dict[str, Any], config: dict[str, Any]) -> None:
    """When the preset trains some models packed but the smoke plan would pack none (the width
    study's packed α of 1/8 and below are not among its smoke α), ``train.pack.max_width``
    rises to the narrowest packable smoke model, so that the packed rules stay in the DAG."""
    from . import Plan

    try:
        if not Plan(original).packs:
            return
        plan = Plan(config)
    except (KeyError, ValueError, TypeError, ZeroDivisionError):
        return  # the config's own problems are reported by the checks that follow
    if not plan.packs:
        widths = [m.width for m in plan.models.values() if plan.packable(m)]
        if widths:
            config["train"]["pack"]["max_width"] = min(widths)


def smoke_config(config: dict[str, Any]) -> dict[str, Any]:
    """The smoke-size copy of a validated ``config`` (defaults filled; the input is left as
    it is): the same studies, datasets, architectures and rules, at the sizes the module
    docstring lists."""
    original, config = config, copy.deepcopy(config)
    full = {ds: _full_size(config, ds) for ds in ("synthetic", "synthetic_gde", *TRAIN_SIZES)}
    f = _width_factor(config)

    _world(config["data"]["synthetic"])
    for r in config["recipes"].values():
        _recipe(r)
    for e in config["ensembles"].values():
        e["members"] = min(e["members"], MEMBERS)
        e["width"] = e["width"] * f
        e["subset"] = _scaled(e.get("subset"), full.get(e["dataset"].split("__")[0]))
    config["train"]["pack"]["max_width"] = config["train"]["pack"]["max_width"] * f
    config["extract"]["batch_size"] = min(config["extract"]["batch_size"], 200)

    inter = config["interaction"]
    inter["epochs"] = {n: _epochs(e) for n, e in inter["epochs"].items()}
    if isinstance(inter.get("k"), int):
        inter["k"] = min(inter["k"], 8)
    for v in inter["sensitivity"].values():
        if isinstance(v.get("k"), int):
            v["k"] = min(v["k"], 8)

    g = config["gde"]
    g["members"] = min(g["members"], MEMBERS)
    g["width"] = g["width"] * f
    _world(g.setdefault("world", {}))
    g["subset"] = _scaled(g.get("subset"), full["synthetic_gde"] if g["dataset"] == "synthetic"
                          else full.get(g["dataset"]))
    sc = sorted(g["superclasses"])
    g["superclasses"] = sorted({sc[0], sc[-1]}) if sc else sc
    g["blue_groups"] = min(g["blue_groups"], 2)
    fr = sorted(g["fractions"])
    g["fractions"] = sorted({fr[0], fr[-1]}) if fr else fr

    w = config["width"]
    w["base_width"] = w["base_width"] * f
    w["repeats"] = 1
    if w["alphas"]:
        w["alphas"] = [max(w["alphas"], key=float)]
    w["validation"] = _scaled(w.get("validation"), full.get(w["dataset"]))
    w["probe_max_iter"] = min(w["probe_max_iter"], 100)

    config["theory"]["simulate_pairs"] = min(config["theory"]["simulate_pairs"], 100)

    t = config["toy"]
    t["seeds"] = t["seeds"][:1]
    t["n_train"] = min(t["n_train"], 500)
    t["n_test"] = min(t["n_test"], TEST_IMAGES)
    t["steps"] = min(t["steps"], STEPS)
    t["record_every"] = min(t["record_every"], 10)
    for cond in t["conditions"]:
        cond["steps"] = _cap(cond.get("steps"), STEPS)

    c = config["contamination"]
    num = c["numerical"]
    num["seeds"] = num["seeds"][:1]
    num["iterations"] = min(num["iterations"], STEPS)
    num["record_every"] = min(num["record_every"], 10)
    for run in num["runs"].values():
        run["iterations"] = _cap(run.get("iterations"), STEPS)
    s = num["setting"]
    for key, cap in (("n_train", TEST_IMAGES), ("batch_size", TEST_IMAGES), ("n_test", TEST_IMAGES)):
        s[key] = min(s.get(key, cap), cap)
    c["headline"]["members"] = min(c["headline"]["members"], MEMBERS)
    c["headline"]["student_epochs"] = _cap(c["headline"].get("student_epochs"), EPOCHS)
    c["padding"]["members"] = min(c["padding"]["members"], MEMBERS)
    c["padding"]["visualize"] = min(c["padding"]["visualize"], 2)
    c["padding"]["visualize_steps"] = min(c["padding"]["visualize_steps"], 5)

    d = config["diversity"]
    d["heldout"] = min(d["heldout"], 100)
    d["test"] = min(d["test"], 100)
    d["bootstrap"] = min(d["bootstrap"], 20)
    d["overlap"]["draws"] = 1
    d["greedy"]["steps"] = min(d["greedy"]["steps"], 2)
    dims = d["compression"]["dims"]
    d["compression"]["dims"] = [x for x in dims if x <= 8] or dims[:1]
    d["interaction_k"] = min(d["interaction_k"], 4)
    for world in d["worlds"].values():
        _world(world)
    for specs in d["categories"].values():
        for spec in specs:
            spec["members"] = 1 if not spec.get("ensemble") else _cap(spec.get("members"), MEMBERS)
            if spec.get("width") and not spec.get("ensemble"):
                spec["width"] = spec["width"] * f
            if spec.get("subset"):
                ds = spec.get("dataset") or config["ensembles"].get(d["ensemble"], {}).get("dataset", "synthetic")
                spec["subset"] = _scaled(spec["subset"], full.get(ds.split("__")[0], full["synthetic"]))

    _keep_packing(original, config)

    ctl = config.get("controls") or {}
    if ctl:
        ctl["width"] = ctl.get("width", MAX_WIDTH) * f
        for world in (ctl.get("worlds") or {}).values():
            _world(world)
        for name in ("o4", "theory", "gde", "width_only", "padding", "diversity"):
            one = ctl.get(name) or {}
            for arm in (one.get("arms") or {}).values():
                for part in arm.values():
                    part["members"] = min(part["members"], MEMBERS)
                    if part.get("width"):
                        part["width"] = part["width"] * f
            if "permutations" in (one.get("settings") or {}):
                one["settings"]["permutations"] = min(one["settings"]["permutations"], 99)
    return config
