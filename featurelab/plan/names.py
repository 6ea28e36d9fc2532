"""Names and sizes the planner derives: the results folders, generated ensembles' and derived
datasets' names, training-fraction sizes, and what a config says about its datasets (classes,
training images, channels, the synthetic worlds).
"""
from __future__ import annotations

import copy
import math
from typing import Any

from ..architecture import LAYERS

#: Every study of the workflow; each writes under ``results/<study>/``.
STUDIES = ("interaction", "theory", "gde", "width", "toy", "contamination", "diversity")

#: Folders of ``results/`` that are not studies.
FOLDERS = ("zoo", "ensembles", "external", "logs", "benchmarks")

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


#: The contamination study's ensembles: networks trained on colour-padded images, and the
#: teachers trained on backgrounds of both colour ranges.
PADDED_ENSEMBLE = "cont_padded"
#: The padded networks' controls when ``contamination.padding.control_recipe`` retrains them
#: (e.g. adversarially, as the padded ones, before the visualisation of App. F.4).
CONTROL_ENSEMBLE = "cont_control"
TEACHER_ENSEMBLE = "cont_teacher"
#: A synthetic world whose training images take their backgrounds from the ID or the shifted
#: colour range with probability 1/2 each (the contamination study's teachers).
BGMIX_DATASET = "{base}__bgmix"


def bgmix_dataset(base: str) -> str:
    return BGMIX_DATASET.format(base=base)


#: The diversity study (Gontijo-Lopes, Dauphin, Cubuk, ICLR 2022): its categories in order of
#: growing divergence from the base model, its ensembles ``div_<category>`` (``div_base``: the
#: base alone), the synthetic worlds of its Dataset category (``<base>__world<name>``: the
#: same classes, another sample with other parameters) and the draw of its fresh held-out
#: and test splits of a synthetic world (``resources/prepared/<base>/diversity_{val,test}.npz``).
DIVERSITY_CATEGORIES = ("reinit", "hyper", "arch", "framework", "dataset")
WORLD_DATASET = "{base}__world{name}"
EVAL_DRAW = 1000
#: The keys of a Dataset-category world that would change the classes or the input shape.
WORLD_FIXED = ("num_classes", "image_size", "motif_size", "t_d", "t_r", "seed")


def diversity_ensemble(category: str) -> str:
    """``div_<category>``: the diversity study's candidates of one category (``div_base``: the base)."""
    return f"div_{category}"


def world_dataset(base: str, name: str) -> str:
    return WORLD_DATASET.format(base=base, name=name)


def diversity_world(config: dict[str, Any], name: str) -> dict[str, Any]:
    """A Dataset-category world: the diversity base's world with ``diversity.worlds[name]``
    over it, without a validation split (held-out stopping uses the study's own held-out split)."""
    base = world_of(config, diversity_base_dataset(config))
    return {**copy.deepcopy(base), **copy.deepcopy(config["diversity"]["worlds"][name]), "n_val": 0}


def diversity_base_dataset(config: dict[str, Any]) -> str:
    return config["ensembles"][config["diversity"]["ensemble"]]["dataset"]


def diversity_eval_world(config: dict[str, Any]) -> dict[str, Any] | None:
    """The sample of the base world the diversity study's held-out and test splits come from
    (another draw: no model trains on it), or None when the base dataset is not synthetic."""
    d = config["diversity"]
    if not d["enabled"]:
        return None
    base = world_of(config, diversity_base_dataset(config))
    if base is None:
        return None
    return {**copy.deepcopy(base), "draw": EVAL_DRAW, "n_val": int(d["heldout"]), "n_test": int(d["test"])}


def fraction_size(n_train: int, fraction: float) -> int:
    """Training points for a data fraction (Fig 5b): round half up of n·fraction, ≥ 1, ≤ n."""
    n_train, fraction = int(n_train), float(fraction)
    if n_train < 1:
        raise ValueError(f"n_train must be ≥ 1, got {n_train}")
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction must lie in (0, 1], got {fraction}")
    # 1e-9 guards 0.35·100 = 35.00000000000001-style errors both ways
    return int(min(n_train, max(1, math.floor(n_train * fraction + 0.5 + 1e-9))))


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
    """The synthetic world behind a base dataset or a Dataset-category world of the diversity
    study (None for the public and user datasets)."""
    if dataset == "synthetic":
        return config["data"]["synthetic"]
    if dataset == "synthetic_gde":
        return gde_world(config)
    ctl_base, ctl_sep, ctl_name = dataset.partition("__ctl")
    if ctl_sep and ctl_base == "synthetic" and "__" not in ctl_name \
            and ctl_name in ((config.get("controls") or {}).get("worlds") or {}):
        from .controls import control_world

        return control_world(config, ctl_name)
    base, sep, name = dataset.partition("__world")
    worlds = (config.get("diversity") or {}).get("worlds") or {}
    if sep and base in ("synthetic", "synthetic_gde") and name in worlds:
        return diversity_world(config, name)
    return None


def num_classes(config: dict[str, Any], dataset: str) -> int | None:
    """Classes of a base dataset; None for 'folder' (known only once prepared)."""
    world = world_of(config, dataset)
    return world["num_classes"] if world is not None else (None if dataset == "folder" else 10)


def train_size(config: dict[str, Any], dataset: str) -> int | None:
    """Training images of a base dataset; None for 'folder' (known only once prepared). In a
    smoke run (``smoke: true``) a public dataset counts as at most
    :data:`featurelab.plan.smoke.TRAIN_IMAGES` images, what its smoke subsets and the GDE
    study's training fractions are drawn from (the real-format fakes hold that many)."""
    world = world_of(config, dataset)
    if world is not None:
        return world["n_train"]
    size = TRAIN_SIZES.get(dataset)
    if size is not None and config.get("smoke"):
        from .smoke import TRAIN_IMAGES

        return min(size, TRAIN_IMAGES)
    return size


def in_channels(dataset: str) -> int:
    return 1 if dataset.split("__")[0] == "fashion_mnist" else 3
