# Helpers and input functions of every rule file; no rules here.

import sys
from pathlib import Path

sys.path.insert(0, workflow.basedir)  # the featurelab package, without installing it

from snakemake.exceptions import WorkflowError

from featurelab.config import ConfigError, validate_config

try:
    validate_config(config)
except ConfigError as exc:
    raise WorkflowError(str(exc)) from None


ENSEMBLES = config["ensembles"]
LAYERS = config["extract"]["layers"]
SPLITS = config["extract"]["splits"]
DOWNLOADS = {
    "cifar10": ["resources/downloads/cifar10/cifar-10-python.tar.gz"],
    "svhn": [
        "resources/downloads/svhn/train_32x32.mat",
        "resources/downloads/svhn/test_32x32.mat",
    ],
    "fashion_mnist": [
        "resources/downloads/fashion_mnist/train-images-idx3-ubyte.gz",
        "resources/downloads/fashion_mnist/train-labels-idx1-ubyte.gz",
        "resources/downloads/fashion_mnist/t10k-images-idx3-ubyte.gz",
        "resources/downloads/fashion_mnist/t10k-labels-idx1-ubyte.gz",
    ],
}


wildcard_constraints:
    ensemble="[A-Za-z][A-Za-z0-9_]*",
    member=r"\d+",
    split="train|test",
    layer="|".join(["penultimate", "block1", "block2", "block3", "block4"]),


def ensemble_of(wildcards):
    return ENSEMBLES[wildcards.ensemble]


def members(name):
    return range(ENSEMBLES[name]["members"])


def raw_files(wildcards):
    return DOWNLOADS[wildcards.dataset]


def folder_images(wildcards):
    root = config["data"]["folder"]
    if not root:
        raise WorkflowError("dataset 'folder' needs data.folder in the config")
    exts = ("png", "jpg", "jpeg", "bmp", "webp")
    files = sorted(
        str(p) for p in Path(root).glob("*/*/*") if p.suffix.lower().lstrip(".") in exts
    )
    if not files:
        raise WorkflowError(
            f"data.folder {root!r} holds no images under train/<class>/ or test/<class>/"
        )
    return files


def prepared_train(wildcards):
    return f"resources/prepared/{ensemble_of(wildcards)['dataset']}/train.npz"


def prepared_test(wildcards):
    return f"resources/prepared/{ensemble_of(wildcards)['dataset']}/test.npz"


def prepared_extract_splits(wildcards):
    dataset = ensemble_of(wildcards)["dataset"]
    return {split: f"resources/prepared/{dataset}/{split}.npz" for split in SPLITS}


def train_params(wildcards):
    ens = ensemble_of(wildcards)
    return {
        "ensemble": wildcards.ensemble,
        "member": int(wildcards.member),
        "dataset": ens["dataset"],
        "arch": ens["arch"],
        "width": ens["width"],
        "subset": ens["subset"],
        "seed": ens["seed"] + int(wildcards.member),
        "recipe": config["recipes"][ens["recipe"]],
        "device": config["device"],
    }


def member_models(wildcards):
    return expand(
        "results/{ensemble}/models/member{member}.json",
        ensemble=wildcards.ensemble,
        member=members(wildcards.ensemble),
    )


def all_targets():
    targets = []
    for name in ENSEMBLES:
        targets += expand(
            "results/{ensemble}/activations/member{member}/{layer}/{split}.parquet",
            ensemble=name,
            member=members(name),
            layer=LAYERS,
            split=SPLITS,
        )
        targets.append(f"results/{name}/training_summary.csv")
        targets.append(f"results/{name}/training_curves.png")
    return targets
