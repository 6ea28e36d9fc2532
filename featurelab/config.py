"""Configuration: schema validation with defaults, and the checks a schema cannot make.

``validate_config(config)`` fills every missing key with its schema default, then
reports *all* problems at once as a :class:`ConfigError` whose message names each
offending key and what is allowed there. The Snakefile calls it before the DAG is
built, so a bad config stops the run before any job starts. It only validates: what
the workflow derives from a config (names, counts, seeds) is :mod:`featurelab.plan`'s.
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Iterator

import jsonschema
import yaml

from . import plan as P
from .architecture import stages
from .contamination.setting import NumericalSetting

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schemas" / "config.schema.yaml"


class ConfigError(ValueError):
    """The configuration is invalid; the message lists every problem found."""


def load_schema(path: str | Path | None = None) -> dict[str, Any]:
    with open(path or SCHEMA_PATH) as fh:
        return yaml.safe_load(fh)


def _with_defaults(cls: type) -> type:
    validate_properties = cls.VALIDATORS["properties"]

    def set_defaults(validator: Any, properties: dict, instance: Any, schema: dict) -> Iterator:
        if isinstance(instance, dict):
            for name, sub in properties.items():
                if "default" in sub and name not in instance:
                    instance[name] = copy.deepcopy(sub["default"])
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(cls, {"properties": set_defaults})


_Validator = _with_defaults(jsonschema.Draft202012Validator)


def _key(path: Any) -> str:
    return ".".join(str(p) for p in path) or "<top level>"


def _describe(error: jsonschema.ValidationError) -> str:
    if error.validator == "enum":
        return f"{error.instance!r} is not allowed; allowed: {', '.join(map(repr, error.validator_value))}"
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        return f"{error.message}; allowed keys: {', '.join(allowed)}"
    if error.validator == "required":
        return f"missing key: {error.message}"
    return error.message


_SCALARS = {"true": True, "false": False, "null": None, "~": None}


def _coerce(value: Any, schema: dict[str, Any]) -> Any:
    """Turn strings into the scalars the schema asks for, recursively.

    ``snakemake --config gde='{enabled: true}'`` parses nested values with YAML's base
    loader, which keeps every scalar a string; this restores ``True``, ``3``, ``0.5``
    and ``None`` where the schema expects them. Anything else is left for validation.
    """
    if isinstance(value, dict):
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for k, v in value.items():
            sub = props.get(k, extra if isinstance(extra, dict) else None)
            if sub is not None:
                value[k] = _coerce(v, sub)
        return value
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [_coerce(v, schema["items"]) for v in value]
    if not isinstance(value, str):
        return value
    types = schema.get("type", [])
    types = [types] if isinstance(types, str) else types
    if "string" in types or ("enum" in schema and value in schema["enum"]):
        return value
    low = value.strip().lower()
    if low in _SCALARS and (("boolean" in types and low in ("true", "false")) or ("null" in types and _SCALARS[low] is None)):
        return _SCALARS[low]
    for kind, cast in (("integer", int), ("number", float)):
        if kind in types:
            try:
                return cast(value)
            except ValueError:
                pass
    return value


def validate_config(config: dict[str, Any], schema: dict[str, Any] | None = None) -> dict[str, Any]:
    """Fill defaults into ``config`` in place, validate it, and return it.

    Raises :class:`ConfigError` listing every problem (key and what is allowed).
    """
    schema = schema or load_schema()
    _coerce(config, schema)
    errors = sorted(_Validator(schema).iter_errors(config), key=lambda e: list(map(str, e.absolute_path)))
    problems = [f"  - {_key(e.absolute_path)}: {_describe(e)}" for e in errors]
    if not problems and config.get("smoke"):
        # the smoke overlay (featurelab.plan.smoke): the same DAG at a tiny size, checked as
        # any config is
        shrunk = P.smoke_config(config)
        config.clear()
        config.update(shrunk)
        errors = sorted(_Validator(schema).iter_errors(config), key=lambda e: list(map(str, e.absolute_path)))
        problems = [f"  - {_key(e.absolute_path)}: {_describe(e)} (after the smoke overlay)" for e in errors]
    if not problems:
        problems = [f"  - {p}" for p in _semantic_problems(config)]
    if problems:
        raise ConfigError("invalid configuration:\n" + "\n".join(problems))
    return config


def _semantic_problems(config: dict[str, Any]) -> list[str]:
    """Cross-key checks the JSON schema cannot express."""
    from .data.synthetic import WorldConfig

    out: list[str] = list(P.name_problems(config))
    data = config["data"]
    try:
        WorldConfig.from_dict(data["synthetic"]).validate()
    except ValueError as exc:
        out.append(f"data.synthetic: {exc}")
    if data.get("checksums"):
        from .data.sources import load_checksums
        try:
            load_checksums(data["checksums"])
        except (OSError, ValueError) as exc:
            out.append(f"data.checksums: {exc}")
    out += _simclr_problems(config)
    for name, ens in config["ensembles"].items():
        key = f"ensembles.{name}"
        ds = ens["dataset"]
        out += _recipe_problems(config, f"{key}.recipe", ens["recipe"])
        out += _subset_problems(config, f"{key}.subset", ens["subset"], ds)
        if ds == "folder" and not data.get("folder"):
            out.append(f"{key}.dataset: 'folder' needs data.folder (the root holding train/ and test/)")
        out += _vgg_problems(config, f"{key}.arch", [ens["arch"]], ds)
        missing = [layer for layer in config["extract"]["layers"]
                   if layer.startswith("block") and int(layer[5:]) > stages(ens["arch"])]
        if missing:
            out.append(f"{key}.arch: {ens['arch']} has {stages(ens['arch'])} stages, extract.layers asks for "
                       f"{', '.join(missing)}")
    ext = _external_problems(config)
    out += ext
    out += _interaction_problems(config)
    out += _gde_problems(config)
    out += _width_problems(config)
    if not ext and (config["gde"].get("external") or config["width"].get("external")):
        sets = P.external_sets(config)
        out += P.gde_external_problems(config, sets) + P.width_external_problems(config, sets)
    out += _toy_problems(config)
    out += _contamination_problems(config)
    out += _diversity_problems(config)
    out += P.control_problems(config)
    out += [f"ensembles.{n}: the name prefix ctl_ belongs to the controls' ensembles" for n in config["ensembles"]
            if n.startswith("ctl_")]
    return out


def _image_size(config: dict[str, Any], dataset: str) -> int | None:
    world = P.world_of(config, dataset)
    if world is not None:
        return world["image_size"]
    if dataset == "fashion_mnist":
        return config["data"].get("pad_to") or 28
    return config["data"]["image_size"] if dataset == "folder" else 32


def _vgg_problems(config: dict[str, Any], key: str, archs: list[str], dataset: str) -> list[str]:
    size = _image_size(config, dataset)
    if "vgg16" not in archs or size is None or size >= 32:
        return []
    fix = "set data.pad_to: 32" if dataset == "fashion_mnist" else "use images of at least 32 px or resnet18"
    return [f"{key}: vgg16 halves the image five times and needs 32x32 inputs; {dataset} has {size}x{size} ({fix})"]


def _simclr_problems(config: dict[str, Any]) -> list[str]:
    """Recipes with a ``simclr`` section (the contrastive framework): what the schema cannot say
    (featurelab.training.recipe.SimCLR checks the same when the job starts)."""
    out = []
    for name, r in config["recipes"].items():
        s = r.get("simclr")
        if s is None:
            continue
        key = f"recipes.{name}.simclr"
        clash = [k for k in ("augment", "mixup", "checkpoint_epochs") if r.get(k)]
        if clash:
            out.append(f"{key}: the linear head trains on the frozen encoder's features of the unaugmented images; "
                       f"remove {', '.join(clash)} from recipes.{name}")
        if s["crop_scale"][0] > s["crop_scale"][1]:
            out.append(f"{key}.crop_scale: low {s['crop_scale'][0]} is above high {s['crop_scale'][1]}")
        if s["warmup_epochs"] >= s["epochs"]:
            out.append(f"{key}.warmup_epochs: {s['warmup_epochs']} must be below epochs ({s['epochs']})")
    return out


def _recipe_problems(config: dict[str, Any], key: str, recipe: str) -> list[str]:
    if recipe in config["recipes"]:
        return []
    return [f"{key}: {recipe!r} is not a recipe; defined: {', '.join(sorted(config['recipes']))}"]


def _subset_problems(config: dict[str, Any], key: str, subset: int | None, dataset: str) -> list[str]:
    size = P.train_size(config, dataset)
    if subset is None or size is None or subset <= size:
        return []
    return [f"{key}: {subset} exceeds the {size} training images of {dataset}"]


def _gde_problems(config: dict[str, Any]) -> list[str]:
    gde = config["gde"]
    if not gde["enabled"]:
        return []
    out = _recipe_problems(config, "gde.recipe", gde["recipe"])
    if gde["blue_groups"] and gde["dataset"] == "fashion_mnist":
        out.append("gde.blue_groups: fashion_mnist is a grayscale dataset; the blue-intensity study needs RGB "
                   "images (set gde.blue_groups: 0)")
    if gde["fractions"] and gde["dataset"] == "folder":
        out.append("gde.fractions: the size of the 'folder' dataset is not known before it is prepared; "
                   "set gde.fractions: [] or list ensembles with explicit subsets")
    if gde.get("world"):
        if gde["dataset"] != "synthetic":
            out.append(f"gde.world: overrides the synthetic world, but gde.dataset is {gde['dataset']!r}")
        else:
            from .data.synthetic import WorldConfig
            try:
                WorldConfig.from_dict(P.gde_world(config)).validate()
            except (ValueError, TypeError) as exc:
                out.append(f"gde.world: {exc}")
                return out
    ds = P.gde_base_dataset(config)
    n_classes = P.num_classes(config, ds)
    for i, k in enumerate(gde["superclasses"]):
        if n_classes is not None and k > n_classes:
            out.append(f"gde.superclasses.{i}: {k} superclasses exceed the {n_classes} classes of {gde['dataset']}")
    out += _subset_problems(config, "gde.subset", gde.get("subset"), ds)
    if "penultimate" not in config["extract"]["layers"] or "test" not in config["extract"]["splits"]:
        out.append("gde: needs penultimate test activations (extract.layers and extract.splits)")
    return out


def _width_problems(config: dict[str, Any]) -> list[str]:
    w = config["width"]
    if not w["enabled"]:
        return []
    out = _recipe_problems(config, "width.recipe", w["recipe"])
    for i, a in enumerate(w["alphas"]):
        k = round(1 / a)
        if abs(a * k - 1) > 1e-9:
            out.append(f"width.alphas.{i}: {a} is not 1/k for an integer k (use 0.5, 0.25, 0.125, ...)")
    if len(P.width_denominators(config)) < 2:
        out.append("width.alphas: needs at least one α below 1 to compare with the base")
    world = P.world_of(config, w["dataset"])
    if w["validation"] is None and not (world and world.get("n_val")):
        out.append(f"width.validation: null takes the dataset's own validation split, which {w['dataset']!r} does not "
                   "have (a synthetic world with data.synthetic.n_val > 0 has one); give a number of training images "
                   "to hold out instead")
    size = P.train_size(config, w["dataset"])
    if size is not None and w["validation"] is not None and w["validation"] >= size:
        out.append(f"width.validation: {w['validation']} held-out images leave nothing of the {size} "
                   f"training images of {w['dataset']}")
    out += _vgg_problems(config, "width.archs", w["archs"], w["dataset"])
    return out


def _toy_problems(config: dict[str, Any]) -> list[str]:
    toy = config["toy"]
    out = []
    pairs = [(c["width"], c["count"]) for c in toy["conditions"]]
    if len(set(pairs)) < len(pairs):
        out.append("toy.conditions: a condition is listed twice")
    totals = sorted({w * n for w, n in pairs})
    if len(totals) > 1:
        out.append(f"toy.conditions: width x count must be the same for every condition (the paper compares "
                   f"concatenations of equal total width); got totals {totals}")
    return out


def _contamination_problems(config: dict[str, Any]) -> list[str]:
    c = config["contamination"]
    if not c["enabled"]:
        return []
    out = []
    if c["ensemble"] not in config["ensembles"]:
        out.append(f"contamination.ensemble: {c['ensemble']!r} is not an ensemble of the config; defined: "
                   f"{', '.join(sorted(config['ensembles'])) or 'none'}")
    ens = config["ensembles"].get(c["ensemble"])
    for part in ("padding", "headline"):
        n = c[part]["members"]
        if ens is not None and c[part]["enabled"] and n > ens["members"]:
            out.append(f"contamination.{part}.members: {n} members of {c['ensemble']!r} asked for, the ensemble has "
                       f"{ens['members']} (ensembles.{c['ensemble']}.members); ask for at most {ens['members']}")
    head = c["headline"]
    if head["enabled"] and head.get("teacher_recipe"):
        out += _recipe_problems(config, "contamination.headline.teacher_recipe", head["teacher_recipe"])
    pad = c["padding"]
    if pad["enabled"] and pad.get("control_recipe"):
        out += _recipe_problems(config, "contamination.padding.control_recipe", pad["control_recipe"])
    if pad["enabled"]:
        out += _recipe_problems(config, "contamination.padding.recipe", pad["recipe"])
        recipe = config["recipes"].get(pad["recipe"], {})
        if recipe and (recipe.get("augment") != "crop_flip" or not recipe.get("pad") or not recipe.get("pad_color")):
            out.append(f"contamination.padding.recipe: {pad['recipe']!r} must pad with a colour (augment: crop_flip, "
                       "pad > 0, pad_color: [r, g, b]; Zhang et al. 2024, App. F.4: pad 8, pad_color [150, 50, 50])")
        elif recipe and len(recipe["pad_color"]) != 3:
            out.append(f"contamination.padding.recipe: pad_color must have 3 values, got {recipe['pad_color']}")
    if c["headline"]["enabled"] and c["ensemble"] in config["ensembles"] \
            and config["ensembles"][c["ensemble"]]["dataset"] != "synthetic":
        out.append(f"contamination.headline: the teacher-student experiment needs a synthetic world (its shifted "
                   f"backgrounds); the ensemble {c['ensemble']!r} trains on "
                   f"{config['ensembles'][c['ensemble']]['dataset']!r}: set contamination.headline.enabled: false")
    try:  # what the schema cannot check (core + background <= d), by the class the job builds
        NumericalSetting.from_dict(c["numerical"]["setting"], strict=True)
    except (TypeError, ValueError) as err:
        out.append(f"contamination.numerical.setting: {err}")
    if "spheres" in c["numerical"]["runs"] and "identity" in c["numerical"]["runs"]["spheres"]["activations"]:
        out.append("contamination.numerical.runs.spheres: the identity cannot separate two spheres; use relu, "
                   "gelu, sigmoid or tanh")
    return out


def _diversity_problems(config: dict[str, Any]) -> list[str]:
    """The diversity study's pool: the base ensemble, the worlds of its Dataset category (same
    classes), every candidate's ensemble, architecture, recipe and dataset."""
    from .architecture import ARCHITECTURES
    from .data.synthetic import WorldConfig

    d = config["diversity"]
    if not d["enabled"]:
        used = sorted({e["recipe"] for e in config["ensembles"].values()
                       if config["recipes"].get(e["recipe"], {}).get("stop_at_heldout_acc") is not None})
        return [f"recipes.{r}: stop_at_heldout_acc needs the diversity study's held-out split (diversity.enabled); "
                f"ensembles with this recipe: "
                f"{', '.join(n for n, e in config['ensembles'].items() if e['recipe'] == r)} (remove them too)"
                for r in used]
    ensembles = config["ensembles"]
    if d["ensemble"] not in ensembles:
        return [f"diversity.ensemble: {d['ensemble']!r} is not an ensemble of the config; defined: "
                f"{', '.join(sorted(ensembles)) or 'none'}"]
    out = []
    base = ensembles[d["ensemble"]]
    if base["members"] < 2:
        out.append(f"diversity.ensemble: {d['ensemble']!r} has {base['members']} member; the base and at least one "
                   "Reinit model need 2")
    if d["window"][0] > d["window"][1]:
        out.append(f"diversity.window: low {d['window'][0]} is above high {d['window'][1]}")
    world = P.world_of(config, base["dataset"])
    for name, over in d["worlds"].items():
        key = f"diversity.worlds.{name}"
        if world is None:
            out.append(f"{key}: worlds need a synthetic base dataset; {d['ensemble']!r} trains on {base['dataset']!r}")
            continue
        changed = [k for k in P.WORLD_FIXED if k in over and over[k] != world.get(k)]
        if changed:
            out.append(f"{key}: {', '.join(changed)} would change the classes or the input; the Dataset category "
                       "learns the same classes from data collected differently")
        if not 1 <= int(over.get("draw", 0)) != P.EVAL_DRAW:
            out.append(f"{key}.draw: give another sample of the world, draw ≥ 1 (not {P.EVAL_DRAW}, the study's "
                       "held-out and test draw)")
        try:
            WorldConfig.from_dict(P.diversity_world(config, name)).validate()
        except (ValueError, TypeError) as exc:
            out.append(f"{key}: {exc}")
    known = set(ensembles) | {n for n, study in P.generated_names(config).items() if study != "diversity"}
    built = _built_ensembles(config)
    # the stopping rule every pool model shares (Gontijo-Lopes, Dauphin, Cubuk, ICLR 2022: every
    # model of the comparison matched in accuracy alike): the base recipe's held-out stopping
    rule = _stopping(config, base["recipe"])
    if rule[0] is None:
        out.append(f"diversity.ensemble: the recipe {base['recipe']!r} of {d['ensemble']!r} has no "
                   "stop_at_heldout_acc; every pool model, the base and Reinit included, stops at the same held-out "
                   "target (set recipes." + base["recipe"] + ".stop_at_heldout_acc inside diversity.window)")
    elif not d["window"][0] <= rule[0] <= d["window"][1]:
        out.append(f"diversity.window: {d['window']} does not contain the pool's held-out target "
                   f"{rule[0]} (recipes.{base['recipe']}.stop_at_heldout_acc)")

    def same_rule(key: str, recipe: str, what: str) -> None:
        if rule[0] is not None and recipe in config["recipes"] and _stopping(config, recipe) != rule:
            t, k = _stopping(config, recipe)
            out.append(f"{key}: {what} recipe {recipe!r} stops at held-out accuracy {t} checked {k}x per epoch, "
                       f"the base at {rule[0]} checked {rule[1]}x (recipes.{base['recipe']}); every pool model must "
                       "be selected alike: give it the same stop_at_heldout_acc and heldout_checks, or leave it out")

    external = P.external_sets(config) if config.get("external") else {}
    for category, specs in d["categories"].items():
        for i, spec in enumerate(specs):
            key = f"diversity.categories.{category}.{i}"
            if spec.get("external"):
                out += _diversity_external_problems(config, key, spec, external, base["dataset"])
                continue
            if spec.get("ensemble"):
                extra = sorted(set(spec) - {"ensemble", "members"})
                if spec["ensemble"] not in known:
                    out.append(f"{key}.ensemble: {spec['ensemble']!r} is no ensemble of this config; known: "
                               f"{', '.join(sorted(known))}")
                elif spec["ensemble"] in built:
                    have = built[spec["ensemble"]]
                    if spec.get("members") is not None and int(spec["members"]) > have.members:
                        out.append(f"{key}.members: {spec['members']} models asked of {spec['ensemble']!r}, which "
                                   f"has {have.members}")
                    for r in sorted({m.recipe for m in have.models}):
                        same_rule(f"{key}.ensemble", r, f"the reused ensemble {spec['ensemble']!r} was trained with")
                if extra:
                    out.append(f"{key}: a reused ensemble takes only `members`, not {', '.join(extra)}")
                continue
            same_rule(f"{key}.recipe", spec.get("recipe") or base["recipe"], "its")
            if spec.get("arch") and spec["arch"] not in ARCHITECTURES:
                out.append(f"{key}.arch: {spec['arch']!r}; allowed: {', '.join(ARCHITECTURES)}")
            if spec.get("recipe"):
                out += _recipe_problems(config, f"{key}.recipe", spec["recipe"])
            ds = spec.get("dataset")
            if ds and ds not in d["worlds"] and ds not in P.BASE_DATASETS:
                out.append(f"{key}.dataset: {ds!r} is neither a world of diversity.worlds "
                           f"({', '.join(d['worlds']) or 'none'}) nor a dataset ({', '.join(P.BASE_DATASETS)})")
            ds_name = P.world_dataset(base["dataset"], ds) if ds in d["worlds"] else (ds or base["dataset"])
            out += _vgg_problems(config, f"{key}.arch", [spec.get("arch") or base["arch"]], ds_name)
    start = d["greedy"]["start"]
    if start is not None:
        name, member = start.get("ensemble"), start.get("member", 0)
        if set(start) - {"ensemble", "member"} or name not in known:
            out.append(f"diversity.greedy.start: give {{ensemble: <name>, member: <i>}} of a known ensemble "
                       f"({', '.join(sorted(known))}), not {start}")
        elif name in built and not 0 <= int(member) < built[name].members:
            out.append(f"diversity.greedy.start.member: {member} is not a member of {name!r} "
                       f"({built[name].members} members)")
        elif name in built:
            m = built[name].models[int(member)]
            if config["recipes"].get(m.recipe, {}).get("stop_at_heldout_acc") is not None:
                out.append(f"diversity.greedy.start: {name!r} member {member} stops at a held-out accuracy (recipe "
                           f"{m.recipe!r}); greedy ensembling starts from a fully trained model above the window "
                           "(Fig 5), outside the pool")
            elif m.recipe == base["recipe"] and name == d["ensemble"]:
                out.append(f"diversity.greedy.start: {name!r} is the pool's base ensemble; start from a model "
                           "outside the pool")
    elif d["enabled"]:
        out.append("diversity.greedy.start: name the fully trained model greedy ensembling starts from, "
                   "{ensemble: <name>, member: <i>} (Fig 5 starts from high-accuracy models outside the pool)")
    return out


def _diversity_external_problems(config: dict[str, Any], key: str, spec: dict[str, Any], external: dict[str, Any],
                                 base_dataset: str) -> list[str]:
    """A diversity candidate from an external set: the set exists, runs on the base's dataset
    and gives its models' penultimate activations and logits on the study's held-out and test
    points (a network always does; activation files need them as splits diversity_val and
    diversity_test)."""
    name = spec["external"]
    extra = sorted(set(spec) - {"external", "members"})
    if extra:
        return [f"{key}: an external candidate takes only `members`, not {', '.join(extra)}"]
    if name not in (config.get("external") or {}):
        return [f"{key}.external: {name!r} is not a set of `external` ({', '.join(sorted(external)) or 'none'})"]
    if name not in external:
        return []  # its own problem is reported under external.<name>
    s, out = external[name], []
    if s.dataset != base_dataset:
        out.append(f"{key}.external: {name!r} runs on {s.dataset!r}; the pool is compared on the base's dataset "
                   f"{base_dataset!r}")
    for split in ("diversity_val", "diversity_test"):
        if not s.has("penultimate", split):
            out.append(f"{key}.external: the diversity study reads each model's penultimate activations and logits "
                       f"on its held-out and test points; {name!r} lacks external.{name}.activations.penultimate."
                       f"{split} (activations of resources/prepared/{base_dataset}/{split}.npz)")
    if not s.has_logits:
        out.append(f"{key}.external: the diversity study reads each model's logits; {name!r} gives none "
                   f"(external.{name}.logits)")
    if spec.get("members") is not None and int(spec["members"]) > s.members:
        out.append(f"{key}.members: {spec['members']} models asked of {name!r}, which has {s.members}")
    return out


def _stopping(config: dict[str, Any], recipe: str) -> tuple[float | None, int]:
    """A recipe's held-out stopping rule: (stop_at_heldout_acc, heldout_checks)."""
    r = config["recipes"].get(recipe, {})
    return r.get("stop_at_heldout_acc"), int(r.get("heldout_checks", 1))


def _built_ensembles(config: dict[str, Any]) -> dict[str, Any]:
    """The user's and the GDE, width and contamination studies' ensembles (their models), as
    far as the config lets them be built; {} when another problem stops that (reported apart)."""
    from .plan.studies import (_user_ensembles, contamination_ensembles, gde_ensembles,
                               width_ensembles)
    try:
        user = _user_ensembles(config)
        return {**user, **gde_ensembles(config), **width_ensembles(config), **contamination_ensembles(config, user)}
    except (KeyError, ValueError, TypeError, ZeroDivisionError):
        return {}


def _external_problems(config: dict[str, Any]) -> list[str]:
    """The ``external`` section: names, routes, files and counts (:func:`featurelab.plan.
    external_problems`), then the contents of every checkpoint and TorchScript file
    (:func:`featurelab.external.file_problems`) and the labels of activation files against a
    dataset already prepared (else the import job checks them before any study reads them)."""
    if not config.get("external"):
        return []
    taken = {n: f"the ensemble ensembles.{n}" for n in config["ensembles"]}
    taken.update({n: f"an ensemble the {study} study generates" for n, study in P.generated_names(config).items()})
    taken.update({n: f"the results folder results/{n}/" for n in P.RESERVED})
    for name, e in _built_ensembles(config).items():
        taken.update({m.id: f"a member of the ensemble {name}" for m in e.models})
    out = P.external_problems(config, taken)
    ext = config["external"]
    # the studies that train their own variants of an ensemble cannot take a set trained elsewhere
    for key, name, why in (
            ("contamination.ensemble", (config.get("contamination") or {}).get("ensemble"),
             "the contamination study retrains its members (padded, teachers), and its deep measures (activation "
             "rates and selectivity per stage, Sec. 5, App. F.2-F.3) read each stage's spatial post-ReLU outputs of "
             "the network and of its own random initialisation on the test and background-shifted splits; an "
             "external set gives neither the training nor the initialisation (activation files not even the "
             "stages' spatial outputs), so it cannot stand for the contamination ensemble"),
            ("diversity.ensemble", (config.get("diversity") or {}).get("ensemble"),
             "the diversity study's base recipe is retrained at its held-out target; add the set as a candidate, "
             "{external: <name>}"),
            ("diversity.greedy.start.ensemble", ((config.get("diversity") or {}).get("greedy") or {}).get("start")
             and config["diversity"]["greedy"]["start"].get("ensemble"), "greedy ensembling starts from a zoo model")):
        study = key.split(".")[0]
        if name in ext and (config.get(study) or {}).get("enabled"):
            out.append(f"{key}: {name!r} is an external set; {why}")
    if out:
        return out
    from .external import file_problems, import_problems

    sets = P.external_sets(config)
    return file_problems(sets, config) + import_problems(sets)


def _interaction_problems(config: dict[str, Any]) -> list[str]:
    inter, ensembles = config["interaction"], config["ensembles"]
    layers, splits = config["extract"]["layers"], config["extract"]["splits"]
    external = P.external_sets(config) if config.get("external") else {}
    out = []
    for i, name in enumerate(inter["ensembles"]):
        if name in external:
            s = external[name]
            if s.members < 2:
                out.append(f"interaction.ensembles.{i}: the external set {name!r} has {s.members} model; the "
                           "interaction tensor needs at least 2")
            for key, layer in [("layer", inter["layer"])] + [(f"depths.{j}", d) for j, d in enumerate(inter["depths"])]:
                if not s.has(layer, inter["split"]):
                    out.append(f"interaction.ensembles.{i}: the interaction study reads the {layer} activations "
                               f"(interaction.{key}) of the {inter['split']} split; the external set {name!r} does not "
                               f"give them (external.{name}" + (f".activations.{layer}.{inter['split']}"
                                                                if s.route == "activations" else ".modules") + ")")
            if not s.has_logits:
                out.append(f"interaction.ensembles.{i}: the interaction study reads each model's predictions (its "
                           f"errors, Figs 1-3; k auto its logits, App. E.2); the external set {name!r} gives no "
                           f"logits: add external.{name}.logits")
            if name in inter["epochs"]:
                out.append(f"interaction.epochs.{name}: the external set {name!r} has no checkpoints over training")
        elif name not in ensembles:
            out.append(f"interaction.ensembles.{i}: {name!r} is not an ensemble; defined: "
                       f"{', '.join(sorted(ensembles))}"
                       + (f"; external: {', '.join(sorted(external))}" if external else ""))
        elif ensembles[name]["members"] < 2:
            out.append(f"interaction.ensembles.{i}: {name!r} has {ensembles[name]['members']} member; "
                       "the interaction tensor needs at least 2")
    for key, layer in [("layer", inter["layer"])] + [(f"depths.{i}", d) for i, d in enumerate(inter["depths"])]:
        if layer not in layers:
            out.append(f"interaction.{key}: {layer!r} is not extracted; add it to extract.layers ({layers})")
    if inter["split"] not in splits:
        out.append(f"interaction.split: {inter['split']!r} is not extracted; add it to extract.splits ({splits})")
    for name in inter["sensitivity"]:
        if name in P.RESERVED_VARIANTS or name.startswith("epoch"):
            out.append(f"interaction.sensitivity.{name}: the name is reserved (main, blockN, epochN)")
    for name, epochs in inter["epochs"].items():
        if name in external:
            continue
        if name not in inter["ensembles"]:
            if epochs:  # an empty list is how an overlay switches a preset's Fig 2a epochs off
                out.append(f"interaction.epochs.{name}: {name!r} is not in interaction.ensembles")
            continue
        have = set(config["recipes"].get(ensembles[name]["recipe"], {}).get("checkpoint_epochs", []))
        missing = sorted(set(epochs) - have)
        if missing:
            out.append(f"interaction.epochs.{name}: epochs {missing} are not in the checkpoint_epochs of recipe "
                       f"{ensembles[name]['recipe']!r}")
    return out


def load_config(path: str | Path) -> dict[str, Any]:
    """Read a YAML config file and validate it (defaults filled)."""
    with open(path) as fh:
        return validate_config(yaml.safe_load(fh) or {})
