"""The plan: everything the workflow derives from a validated config, in one place.

The rule files, the rule scripts and :mod:`featurelab.config` ask this module for every
name and count they need; none of them builds an ensemble name, a derived dataset's name,
a member count or a seed by hand. It imports neither PyTorch nor pandas, so Snakemake
parses the workflow quickly.

**The model zoo.** A trained member is identified by what determines its weights: the
dataset (and split) it trains on, the architecture and width, the training recipe, the
training subset size and the seed (:class:`Model`, whose :attr:`Model.id` names its folder
``results/zoo/<id>/``). An ensemble is a named list of zoo models; two ensembles, or two
studies, that ask for the same model get one training and one extraction. The planner
counts what that saves (:attr:`Plan.trainings_saved`).

**Generated ensembles.** Besides the user's ``ensembles``, the studies generate their own:

* GDE (Jiang, Baek, Kolter, ICLR 2024, §6): ``gde_super<k>`` per superclass count,
  ``gde_blue<g>`` per blue-intensity group, ``gde_frac<f>`` per training fraction of Fig 5b
  (f in thousandths) unless the fraction equals the K̃ = classes condition's training set,
  which then serves as that point;
* width (Duzgun, Jelassi, Li, 2024): ``w_<arch>_a<k>`` per architecture and α = 1/k.

A user ensemble may not take a generated name, nor the name of a results folder
(:data:`RESERVED`): the config is refused before any job (:meth:`Plan.name_problems`).

**Derived datasets.** ``synthetic_gde`` (the GDE study's own world), ``<base>__super<k>``
(labels merged into k superclasses), ``<base>__blue<g>`` (blue-intensity group g) and
``<base>__holdout<n>`` (n training images held out as a validation split).
"""
from __future__ import annotations

import copy
import math
import re
from dataclasses import dataclass, field
from typing import Any, Iterable

from .architecture import ARCHITECTURES, LAYERS

#: Every study of the workflow; each writes under ``results/<study>/``.
STUDIES = ("interaction", "theory", "gde", "width", "toy")
#: Folders of ``results/`` that are not studies.
FOLDERS = ("zoo", "ensembles", "logs", "benchmarks")
#: Names no user ensemble may take (the folders of ``results/``).
RESERVED = frozenset(STUDIES + FOLDERS)
#: Base datasets: generated, downloaded or the user's own.
BASE_DATASETS = ("synthetic", "cifar10", "svhn", "fashion_mnist", "folder")
#: Training-split sizes of the public datasets.
TRAIN_SIZES = {"cifar10": 50_000, "svhn": 73_257, "fashion_mnist": 60_000}
#: Which model weights a width-study member is read with: trained, and at its initialisation.
WIDTH_SPLITS = ("train", "val", "test")
#: Interaction variant names that a sensitivity setting may not take.
RESERVED_VARIANTS = ("main", *LAYERS[1:])


# ------------------------------------------------------------------------- names

def superclass_condition(k: int) -> str:
    """``super{k}``: the GDE condition of K̃ = k superclasses."""
    return f"super{int(k)}"


def blue_condition(group: int) -> str:
    """``blue{group+1}``: the GDE condition of blue group index ``group`` (0 = G_1, least blue)."""
    return f"blue{int(group) + 1}"


#: Derived datasets' names as patterns, the rules' wildcards named: labels merged into k
#: superclasses, blue-intensity group g (1-based, G1 = least blue), n training images held
#: out as a validation split.
SUPERCLASS_DATASET = "{base}__super{k}"
BLUE_DATASET = "{base}__blue{group}"
HOLDOUT_DATASET = "{base}__holdout{n}"


def superclass_dataset(base: str, k: int) -> str:
    return SUPERCLASS_DATASET.format(base=base, k=int(k))


def blue_dataset(base: str, group: int) -> str:
    """The dataset of blue group G_``group`` (1-based, as in the paper)."""
    return BLUE_DATASET.format(base=base, group=int(group))


def holdout_dataset(base: str, n: int) -> str:
    return HOLDOUT_DATASET.format(base=base, n=int(n))


def width_ensemble(arch: str, k: int) -> str:
    """``w_<arch>_a<k>``: the width study's ensemble of ``arch`` at α = 1/k."""
    return f"w_{arch}_a{int(k)}"


def fraction_size(n_train: int, fraction: float) -> int:
    """Training points for a data fraction (Fig 5b): round half up of n·fraction, ≥ 1, ≤ n."""
    n_train, fraction = int(n_train), float(fraction)
    if n_train < 1:
        raise ValueError(f"n_train must be ≥ 1, got {n_train}")
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction must lie in (0, 1], got {fraction}")
    # 1e-9 guards 0.35·100 = 35.00000000000001-style errors both ways
    return int(min(n_train, max(1, math.floor(n_train * fraction + 0.5 + 1e-9))))


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


# ------------------------------------------------------------------------- datasets

def gde_world(config: dict[str, Any]) -> dict[str, Any]:
    """The GDE study's own synthetic world: ``data.synthetic`` with ``gde.world`` over it
    (``blue_tie`` merged key by key)."""
    base = copy.deepcopy(config["data"]["synthetic"])
    over = copy.deepcopy(config["gde"].get("world") or {})
    if "blue_tie" in over:
        base["blue_tie"] = {**(base.get("blue_tie") or {}), **(over.pop("blue_tie") or {})}
    return {**base, **over}


def gde_base_dataset(config: dict[str, Any]) -> str:
    """The base dataset of the GDE conditions: ``synthetic_gde`` when the study has its own
    synthetic world (``gde.world``), else ``gde.dataset``."""
    gde = config["gde"]
    return "synthetic_gde" if gde["dataset"] == "synthetic" and gde.get("world") else gde["dataset"]


def world_of(config: dict[str, Any], dataset: str) -> dict[str, Any] | None:
    """The synthetic world behind a base dataset (None for the public and user datasets)."""
    if dataset == "synthetic":
        return config["data"]["synthetic"]
    if dataset == "synthetic_gde":
        return gde_world(config)
    return None


def num_classes(config: dict[str, Any], dataset: str) -> int | None:
    """Classes of a base dataset; None for 'folder' (known only once prepared)."""
    world = world_of(config, dataset)
    return world["num_classes"] if world is not None else (None if dataset == "folder" else 10)


def train_size(config: dict[str, Any], dataset: str) -> int | None:
    """Training images of a base dataset; None for 'folder' (known only once prepared)."""
    world = world_of(config, dataset)
    return world["n_train"] if world is not None else TRAIN_SIZES.get(dataset)


def in_channels(dataset: str) -> int:
    return 1 if dataset.split("__")[0] == "fashion_mnist" else 3


# ------------------------------------------------------------------------- the studies' ensembles

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
    from .width.counts import n_f, n_p

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
    return names


# ------------------------------------------------------------------------- the plan

class Plan:
    """Everything the workflow derives from a validated ``config``.

    ``ensembles`` (user first, then the GDE and width studies'), ``models`` (the zoo: each
    distinct model once, by id), ``packs`` (which models train together in one job),
    ``layers``/``splits`` (what is extracted), and one section per study."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.user = _user_ensembles(config)
        self.gde = gde_ensembles(config)
        self.width = width_ensembles(config)
        self.ensembles: dict[str, Ensemble] = {**self.user, **self.gde, **self.width}
        self.models: dict[str, Model] = {}
        for ens in self.ensembles.values():
            for m in ens.models:
                self.models.setdefault(m.id, m)
        self.layers: list[str] = list(config["extract"]["layers"])
        self.splits: list[str] = list(config["extract"]["splits"])
        self.packs: dict[str, list[str]] = pack_plan(self.models.values(), config["train"]["pack"])
        self.pack_of: dict[str, str] = {m: p for p, ms in self.packs.items() for m in ms}
        self.toy = toy_conditions(config)

    # ---- the zoo
    @property
    def trainings_asked(self) -> int:
        """Members summed over every ensemble (what one job per ensemble member would train)."""
        return sum(e.members for e in self.ensembles.values())

    @property
    def trainings_saved(self) -> int:
        """Trainings the zoo saves: members asked for twice are trained once."""
        return self.trainings_asked - len(self.models)

    def train_params(self, model_id: str) -> dict[str, Any]:
        """What the training job of one model needs: the model's identity, its recipe and the device."""
        m = self.models[model_id]
        return {"model": m.id, "dataset": m.dataset, "arch": m.arch, "width": m.width, "subset": m.subset,
                "seed": m.seed, "recipe_name": m.recipe, "recipe": self.config["recipes"][m.recipe],
                "device": self.config["device"]}

    def packed_groups(self) -> list[str]:
        """The model groups (:attr:`Model.group`) that train in packs."""
        return sorted({self.models[ms[0]].group for ms in self.packs.values()})

    # ---- ensembles and their files
    def ensemble_models(self, name: str) -> list[str]:
        return [m.id for m in self.ensembles[name].models]

    def activation_files(self, name: str, layer: str, split: str) -> list[str]:
        return [f"results/zoo/{m}/activations/{layer}/{split}.parquet" for m in self.ensemble_models(name)]

    def feature_files(self, name: str, state: str) -> list[str]:
        """The width study's features of every member of ``name``, member-major, splits in
        :data:`WIDTH_SPLITS` order."""
        return [f"results/zoo/{m}/features/{state}/{s}.parquet" for m in self.ensemble_models(name)
                for s in WIDTH_SPLITS]

    def metrics_files(self, name: str) -> list[str]:
        return [f"results/zoo/{m}/metrics.json" for m in self.ensemble_models(name)]

    def ensembles_of_model(self, model_id: str) -> list[str]:
        return [n for n, e in self.ensembles.items() if any(m.id == model_id for m in e.models)]

    def feature_models(self) -> list[str]:
        """Models whose penultimate features the width study reads."""
        return list(dict.fromkeys(m.id for e in self.width.values() for m in e.models))

    def activation_models(self) -> list[str]:
        """Models whose activations (extract.layers × extract.splits) are written: the members
        of every ensemble but the width study's (which reads features instead)."""
        return list(dict.fromkeys(m.id for e in self.ensembles.values() if e.study != "width" for m in e.models))

    # ---- the interaction study
    @property
    def interaction(self) -> dict[str, Any]:
        return self.config["interaction"]

    def interaction_ensembles(self) -> list[str]:
        return list(self.interaction["ensembles"])

    def epoch_variants(self, name: str) -> list[str]:
        return [f"epoch{e:03d}" for e in sorted(self.interaction["epochs"].get(name, []))]

    def panel_variants(self) -> list[str]:
        """Variants with the full set of O.1-O.4 panels: main, sensitivity settings, depths."""
        return ["main", *self.interaction["sensitivity"], *self.interaction["depths"]]

    def variant_settings(self, variant: str) -> dict[str, Any]:
        keys = ("layer", "split", "k", "center", "gamma_corr", "corr_percentile", "data_percentile",
                "gamma_data_pool")
        settings = {k: self.interaction[k] for k in keys}
        if variant in self.interaction["sensitivity"]:
            settings.update(self.interaction["sensitivity"][variant])
        elif variant in self.interaction["depths"]:
            settings["layer"] = variant
        elif re.fullmatch(r"epoch\d+", variant):
            settings["epoch"] = int(variant[len("epoch"):])
        elif variant != "main":
            raise ValueError(f"unknown interaction variant {variant!r}")
        return settings

    def model_epochs(self, model_id: str) -> list[int]:
        """The checkpoint epochs of a model whose activations Fig 2a reads: those of every
        interaction ensemble the model belongs to."""
        epochs = self.interaction["epochs"]
        return sorted({e for name in self.ensembles_of_model(model_id) for e in epochs.get(name, [])})

    def has_truth(self, name: str) -> bool:
        """Whether ensemble ``name`` trains on a synthetic world, whose ground truth is known."""
        return self.ensembles[name].dataset in ("synthetic", "synthetic_gde")

    def variant_files(self, name: str, variant: str) -> list[str]:
        """The members' activation files (or, for an epoch variant, their epoch folders)."""
        if variant.startswith("epoch"):
            return [f"results/zoo/{m}/epochs" for m in self.ensemble_models(name)]
        layer = variant if variant in self.interaction["depths"] else self.interaction["layer"]
        return self.activation_files(name, layer, self.interaction["split"])

    # ---- the GDE study
    def gde_conditions(self) -> dict[str, str]:
        """``{ensemble: condition}`` of the superclass and blue-group ensembles, in order."""
        return {n: e.info["condition"] for n, e in self.gde.items() if "condition" in e.info}

    def gde_fractions(self) -> dict[str, float]:
        """``{ensemble: fraction}`` of the ensembles behind Fig 5b."""
        return {n: e.info["fraction"] for n, e in self.gde.items() if "fraction" in e.info}

    def gde_superclass_counts(self) -> list[int]:
        """The superclass counts K̃ that need a relabelled dataset (all but K̃ = classes)."""
        n = num_classes(self.config, gde_base_dataset(self.config))
        return [k for k in self.config["gde"]["superclasses"] if k != n] if self.gde else []

    def gde_derived_datasets(self) -> list[str]:
        """The superclass and blue-group datasets the GDE study trains on."""
        base = gde_base_dataset(self.config)
        return ([superclass_dataset(base, k) for k in self.gde_superclass_counts()]
                + [blue_dataset(base, g) for g in range(1, self.config["gde"]["blue_groups"] + 1)]) if self.gde else []

    def gde_blue_datasets(self) -> list[str]:
        return [e.dataset for e in self.gde.values() if e.info.get("condition", "").startswith("blue")]

    # ---- the width study
    def width_denominators(self) -> list[int]:
        return width_denominators(self.config)

    def width_states(self) -> list[str]:
        return ["trained", "init"] if self.config["width"]["random_init"] else ["trained"]

    def width_counts(self) -> dict[str, Any]:
        """What the N_f/N_p table needs: architectures, α as fractions, the base width, the
        dataset's classes and channels, and the members trained per architecture and α."""
        w = self.config["width"]
        if not self.width:
            return {}
        dens = self.width_denominators()
        return {"archs": list(w["archs"]), "alphas": [f"1/{k}" for k in dens], "base_width": w["base_width"],
                "num_classes": num_classes(self.config, w["dataset"]) or 10, "in_channels": in_channels(w["dataset"]),
                "members": {a: [self.width[width_ensemble(a, k)].members for k in dens] for a in w["archs"]}}

    def width_measure_settings(self) -> dict[str, Any]:
        """The settings of every width measurement (ridge selection, probes, shuffling, seed)."""
        keys = ("repeats", "select", "loo_subsample", "probe_c", "probe_max_iter", "shuffled_fit_fraction", "seed")
        return {k: self.config["width"][k] for k in keys}

    def width_pair(self, arch: str, k: int) -> dict[str, Ensemble]:
        """The base ensemble and the α = 1/k ensemble of ``arch``."""
        return {"base": self.width[width_ensemble(arch, 1)], "narrow": self.width[width_ensemble(arch, k)]}

    # ---- checks
    def name_problems(self) -> list[str]:
        """User ensembles that would collide with a generated one or a results folder."""
        return name_problems(self.config)


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


def pack_plan(models: Iterable[Model], pack: dict[str, Any]) -> dict[str, list[str]]:
    """Which models train together: ``{pack id: [model ids]}``.

    With ``pack['enabled']``, the models of every group (:attr:`Model.group`: all but the
    seed) whose width is at most ``pack['max_width']`` are cut, in seed order, into packs of
    at most ``pack['members_per_job']`` (251 models at 16 per job: 15 packs of 16 and one of
    11), named ``<group>-p<i>``. Every other model trains alone."""
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
            out[f"{g}-p{i}"] = [m.id for m in ms[s:s + per_job]]
    return out


__all__ = ["ARCHITECTURES", "LAYERS", "STUDIES", "RESERVED", "Model", "Ensemble", "Plan", "fraction_size",
           "superclass_condition", "blue_condition", "width_ensemble", "gde_world", "gde_base_dataset",
           "num_classes", "train_size", "generated_names", "name_problems", "pack_plan", "toy_conditions"]
