"""The controls' worlds and ensembles (featurelab.controls): each control's two arms, the
mechanism planted (config ``positive``, the decision's ``on``) and absent (``negative``,
``off``), as ensembles of the model zoo.

A part trains on ``base`` (``data.synthetic`` itself, dataset ``synthetic``: the default's
models are reused) or on a named world of ``controls.worlds`` (dataset
``synthetic__ctl<name>``), optionally derived (``<dataset>__super<k>``, ``<dataset>__blue<g>``).
Its ensemble is ``ctl_<control>_<on|off>_<part>``.
"""
from __future__ import annotations

import copy
from typing import Any

from .zoo import Ensemble, Model

#: The controls the config may name, in the order they are reported.
CONTROLS = ("o4", "theory", "gde", "width_only", "padding", "diversity")
#: The config's arm keys and the decision's arm names.
ARM_KEYS = {"positive": "on", "negative": "off"}
CONTROL_WORLD = "{base}__ctl{name}"


def control_world_dataset(name: str) -> str:
    return "synthetic" if name == "base" else CONTROL_WORLD.format(base="synthetic", name=name)


def merge_world(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``over`` over ``base``, nested mappings (``blue_tie``, a mechanism) merged key by key."""
    out = copy.deepcopy(base)
    for k, v in (over or {}).items():
        out[k] = {**(out.get(k) or {}), **copy.deepcopy(v)} if isinstance(v, dict) and isinstance(out.get(k), dict) \
            else copy.deepcopy(v)
    return out


def control_world(config: dict[str, Any], name: str) -> dict[str, Any]:
    """The synthetic world ``controls.worlds[name]`` over ``data.synthetic``."""
    return merge_world(config["data"]["synthetic"], config["controls"]["worlds"][name])


def enabled_controls(config: dict[str, Any]) -> list[str]:
    c = config.get("controls") or {}
    if not c.get("enabled"):
        return []
    return [n for n in CONTROLS if (c.get(n) or {}).get("enabled")]


def part_dataset(part: dict[str, Any]) -> str:
    ds = control_world_dataset(part.get("world") or "base")
    return f"{ds}__{part['derived']}" if part.get("derived") else ds


def control_ensemble(control: str, arm: str, part: str) -> str:
    return f"ctl_{control}_{arm}_{part}"


def control_ensembles(config: dict[str, Any]) -> dict[str, Ensemble]:
    """Every enabled control's parts as ensembles ``ctl_<control>_<on|off>_<part>``."""
    c = config.get("controls") or {}
    out: dict[str, Ensemble] = {}
    for name in enabled_controls(config):
        for key, arm in ARM_KEYS.items():
            for part, p in (c[name]["arms"].get(key) or {}).items():
                arch, width = p.get("arch") or c["arch"], p.get("width") or c["width"]
                recipe, seed = p.get("recipe") or c["recipe"], int(p.get("seed", 0))
                dataset = part_dataset(p)
                models = tuple(Model(dataset, arch, float(width), recipe, None, seed + i)
                               for i in range(int(p["members"])))
                ens = control_ensemble(name, arm, part)
                out[ens] = Ensemble(ens, "controls", models,
                                    {"control": name, "arm": arm, "part": part, "world": p.get("world") or "base",
                                     "derived": p.get("derived"), "recipe": recipe, "arch": arch, "width": float(width),
                                     "seed": seed, "members": int(p["members"])})
    return out


def control_datasets(config: dict[str, Any]) -> list[str]:
    """The control worlds the enabled controls train on (not ``synthetic`` itself)."""
    names = {(p.get("world") or "base") for n in enabled_controls(config)
             for arm in config["controls"][n]["arms"].values() for p in (arm or {}).values()}
    return sorted(control_world_dataset(w) for w in names if w != "base")


def control_problems(config: dict[str, Any]) -> list[str]:
    """Worlds a part names that ``controls.worlds`` lacks, empty arms, a layer not extracted,
    features without a validation split."""
    from ..data.synthetic import WorldConfig

    c = config.get("controls") or {}
    out = []
    for name, over in (c.get("worlds") or {}).items():
        try:
            WorldConfig.from_dict(control_world(config, name)).validate()
        except (TypeError, ValueError) as exc:
            out.append(f"controls.worlds.{name}: {exc}")
    for name in enabled_controls(config):
        ctl = c[name]
        for key in ARM_KEYS:
            arm = ctl["arms"].get(key) or {}
            if not arm:
                out.append(f"controls.{name}.arms.{key}: no part (a control needs both arms)")
            for part, p in arm.items():
                w = p.get("world") or "base"
                if w != "base" and w not in (c.get("worlds") or {}):
                    out.append(f"controls.{name}.arms.{key}.{part}.world: {w!r} is not a world of controls.worlds "
                               f"({', '.join(sorted(c.get('worlds') or {})) or 'none'}) nor 'base'")
                elif ctl["features"]:
                    world = config["data"]["synthetic"] if w == "base" else control_world(config, w)
                    if not world.get("n_val"):
                        out.append(f"controls.{name}.arms.{key}.{part}: the decision reads features on a "
                                   f"validation split, and world {w!r} has n_val 0")
                recipe = p.get("recipe") or c["recipe"]
                if recipe not in config["recipes"]:
                    out.append(f"controls.{name}.arms.{key}.{part}.recipe: {recipe!r} is not in recipes")
        if ctl["layer"] not in config["extract"]["layers"]:
            out.append(f"controls.{name}.layer: {ctl['layer']!r} is not extracted (extract.layers: "
                       f"{', '.join(config['extract']['layers'])})")
    return out
