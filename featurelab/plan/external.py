"""External models: networks trained elsewhere, and activations computed elsewhere, named in
the config's ``external`` section beside the trained ensembles.

Each entry is a named set of models on one dataset, given by one of three routes:

* ``checkpoints``: state-dict files (a list of paths or globs) of one architecture, featurelab's
  own (``resnet18``, ...) or a torchvision model (``torchvision:resnet18``);
* ``torchscript``: TorchScript files, layers named by module path (``modules``);
* ``activations``: one file per model, layer and split (Parquet as the workflow writes it, or
  ``.npy``/``.npz`` with a ``labels`` file, and ``logits`` where a study reads predictions).

Model ``i`` of set ``<name>`` is ``<name>-m<i>`` (no zoo id ends so); its activations are
written, checked against the dataset, to ``results/external/<name>/m<i>/activations/<layer>/
<split>.parquet`` in the zoo's layout, which every study reads like a zoo member's. This
module imports neither PyTorch nor pandas: the files are resolved and counted here, their
contents checked by :mod:`featurelab.external` (from :mod:`featurelab.config`, before any job).
"""
from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field
from typing import Any

from ..architecture import ARCHITECTURES, LAYERS, stages

ROUTES = ("checkpoints", "torchscript", "activations")
#: Splits an activation file may hold: the prepared dataset's, and the diversity study's
#: held-out and test points (``resources/prepared/<dataset>/diversity_{val,test}.npz``).
EXTERNAL_SPLITS = ("train", "val", "test", "diversity_val", "diversity_test")
#: torchvision architectures whose stages are known: ``block<i>`` is ``layer<i>``.
TORCHVISION_STAGES = {"resnet18": 4, "resnet34": 4, "resnet50": 4, "resnet101": 4, "resnet152": 4}


def member_id(name: str, i: int) -> str:
    return f"{name}-m{int(i)}"


@dataclass(frozen=True)
class ExternalSet:
    """One ``external`` entry: ``route``, ``dataset``, the files of its models (``files``: one
    checkpoint or TorchScript file per model; for activations, ``{layer: {split: [files]}}``),
    the layers and splits it provides."""

    name: str
    route: str
    dataset: str
    members: int
    layers: tuple[str, ...]
    splits: tuple[str, ...]
    files: Any = field(compare=False)
    spec: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def models(self) -> list[str]:
        return [member_id(self.name, i) for i in range(self.members)]

    def activation_file(self, i: int, layer: str, split: str) -> str:
        return f"results/external/{self.name}/m{int(i)}/activations/{layer}/{split}.parquet"

    def has(self, layer: str, split: str) -> bool:
        if self.route == "activations":
            return split in self.files.get(layer, {})
        return layer in self.layers and split in self.splits

    @property
    def has_logits(self) -> bool:
        """Whether its files give each model's logits (checkpoints and TorchScript always do;
        Parquet files carry them; ``.npy``/``.npz`` activations need ``logits``)."""
        if self.route != "activations":
            return True
        return all(f.endswith(".parquet") for sp in self.files.values() for fs in sp.values() for f in fs) \
            or bool(self.spec.get("logits"))


def resolve(files: str | list[str]) -> tuple[list[str], list[str]]:
    """``(paths, missing)``: each entry a path or a glob (sorted matches); a path that does not
    exist and a glob that matches nothing are ``missing``."""
    out, missing = [], []
    for f in [files] if isinstance(files, str) else list(files):
        f = os.path.expanduser(str(f))
        if any(c in f for c in "*?["):
            hits = sorted(glob.glob(f))
            out += hits
            if not hits:
                missing.append(f"{f} (a glob that matches no file)")
        else:
            out.append(f)
            if not os.path.isfile(f):
                missing.append(f)
    return out, missing


def arch_layers(spec: dict[str, Any]) -> set[str]:
    """The layers a checkpoint or TorchScript set can give: penultimate, and ``block<i>`` of
    a featurelab architecture's stages, of a torchvision ResNet (``layer<i>``) or of
    ``modules``."""
    arch = spec.get("arch") or ""
    have = {"penultimate", *(spec.get("modules") or {})}
    if arch in ARCHITECTURES:
        have |= {f"block{i}" for i in range(1, stages(arch) + 1)}
    elif arch.startswith("torchvision:"):
        have |= {f"block{i}" for i in range(1, TORCHVISION_STAGES.get(arch.split(":", 1)[1], 0) + 1)}
    return have


def external_sets(config: dict[str, Any], strict: bool = False) -> dict[str, ExternalSet]:
    """The config's external sets; files resolved (globs expanded). ``strict`` raises on a
    problem :func:`external_problems` would name (a set that cannot be built otherwise is left out)."""
    out = {}
    layers = list(config["extract"]["layers"])
    splits = sorted(set(config["extract"]["splits"]) | {config["interaction"]["split"]})
    for name, spec in (config.get("external") or {}).items():
        routes = [r for r in ROUTES if spec.get(r)]
        if len(routes) != 1:
            if strict:
                raise ValueError(f"external.{name}: give one of {', '.join(ROUTES)}")
            continue
        route = routes[0]
        if route == "activations":
            files = {layer: {split: resolve(fs)[0] for split, fs in by_split.items()}
                     for layer, by_split in spec["activations"].items()}
            counts = {len(fs) for sp in files.values() for fs in sp.values()}
            n = counts.pop() if len(counts) == 1 else 0
            out[name] = ExternalSet(name, route, spec["dataset"], n, tuple(files),
                                    tuple(sorted({s for sp in files.values() for s in sp})), files, spec)
        else:
            files = resolve(spec[route])[0]
            have = arch_layers(spec)
            extra = study_splits(config, name)
            out[name] = ExternalSet(name, route, spec["dataset"], len(files),
                                    tuple(layer for layer in layers if layer in have) or ("penultimate",),
                                    tuple(splits) + extra, tuple(files), spec)
    return out


def _in_diversity(config: dict[str, Any], name: str) -> bool:
    d = config.get("diversity") or {}
    return bool(d.get("enabled")) and any(spec.get("external") == name for specs in (d.get("categories") or {}).values()
                                          for spec in specs or [])


def study_splits(config: dict[str, Any], name: str) -> tuple[str, ...]:
    """The splits a network of set ``name`` is run over beyond ``extract.splits``, for the
    studies that name it: the diversity study's held-out and test points, the test split of
    ``gde.external``, the train, val and test splits of ``width.external``."""
    out: list[str] = []
    if _in_diversity(config, name):
        out += ["diversity_val", "diversity_test"]
    if name in gde_external(config):
        out.append("test")
    if name in width_external(config).values():
        out += ["train", "val", "test"]
    splits = set(config["extract"]["splits"]) | {config["interaction"]["split"]}
    return tuple(s for s in dict.fromkeys(out) if s not in splits)


# ---------------------------------------------------------------- studies on external sets
#: The GDE study's interventions: each retrains every member on changed data (Jiang, Baek,
#: Kolter, ICLR 2024, §6, App. F.8-F.9, Fig 5b), which a set trained elsewhere cannot give.
GDE_INTERVENTIONS = {
    "superclasses": "the superclass intervention (App. F.8) retrains every member on labels merged into superclasses",
    "blue_groups": "the blue-intensity intervention (App. F.9) retrains every member on one blue group's images",
    "fractions": "Fig 5b retrains every member on a fraction of the training set",
}
#: Settings an item of ``gde.external`` may give (the rest are refused by name).
GDE_EXTERNAL_KEYS = {"set": None, "tolerance": 0.05}
WIDTH_EXTERNAL_SPLITS = ("train", "val", "test")


def gde_external(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``gde.external`` by set name: ``{name: {"tolerance": t}}`` (an item is a set's name or
    ``{set, tolerance}``)."""
    out = {}
    for item in (config.get("gde") or {}).get("external") or []:
        spec = {"set": item} if isinstance(item, str) else dict(item)
        if spec.get("set"):
            out[str(spec["set"])] = {"tolerance": float(spec.get("tolerance", GDE_EXTERNAL_KEYS["tolerance"]))}
    return out


def width_external(config: dict[str, Any]) -> dict[str, str]:
    """``width.external``: ``{"base": <set>, "narrow": <set>}`` (empty when not given)."""
    w = (config.get("width") or {}).get("external") or {}
    return {role: w[role] for role in ("base", "narrow") if w.get(role)}


def gde_external_problems(config: dict[str, Any], sets: dict[str, ExternalSet]) -> list[str]:
    """``gde.external``: each item names an external set of at least two models with logits on
    the test split; an intervention asked for on it is refused, naming what it needs."""
    out = []
    for i, item in enumerate((config.get("gde") or {}).get("external") or []):
        key = f"gde.external.{i}"
        spec = {"set": item} if isinstance(item, str) else dict(item)
        name = spec.get("set")
        for k in spec:
            if k in GDE_INTERVENTIONS:
                out.append(f"{key}.{k}: {GDE_INTERVENTIONS[k]}; the external set {name!r} gives trained models, "
                           f"not the training that made them (the missing piece: a recipe the workflow can run on "
                           f"the changed data). The base-condition measure runs on it; for the interventions set "
                           f"gde.enabled, whose ensembles the workflow trains")
            elif k not in GDE_EXTERNAL_KEYS:
                out.append(f"{key}.{k}: not a setting of an external GDE set (set, tolerance)")
        if not name:
            out.append(f"{key}: name the external set (a name, or {{set: <name>}})")
            continue
        if name not in (config.get("external") or {}):
            have = ", ".join(sorted(config.get("external") or {})) or "none"
            out.append(f"{key}: {name!r} is not a set of `external` ({have}); the GDE study's own conditions are "
                       "trained when gde.enabled")
            continue
        if name not in sets:
            continue  # its own problem is reported under external.<name>
        s = sets[name]
        if s.members < 2:
            out.append(f"{key}: the external set {name!r} has {s.members} model; agreement needs at least 2")
        if not s.has_logits:
            out.append(f"{key}: the GDE measure reads each model's predictions and logits on the test split; the "
                       f"external set {name!r} gives no logits: add external.{name}.logits.test")
        if s.route == "activations" and not any("test" in by_split for by_split in s.files.values()):
            out.append(f"{key}: the GDE measure reads the test split; the external set {name!r} gives no test "
                       f"activations (external.{name}.activations.<layer>.test)")
    return out


def width_external_problems(config: dict[str, Any], sets: dict[str, ExternalSet]) -> list[str]:
    """``width.external``: a wide (``base``) and a narrow set, each of at least two models on one
    dataset with a validation split, with penultimate activations on train, val and test."""
    from .names import world_of

    w = (config.get("width") or {}).get("external")
    if not w:
        return []
    out = []
    names = width_external(config)
    for role in ("base", "narrow"):
        key = f"width.external.{role}"
        name = names.get(role)
        if not name:
            out.append(f"{key}: name the {'wide' if role == 'base' else 'narrow'} external set")
            continue
        if name not in (config.get("external") or {}):
            have = ", ".join(sorted(config.get("external") or {})) or "none"
            out.append(f"{key}: {name!r} is not a set of `external` ({have})")
            continue
        if name not in sets:
            continue
        s = sets[name]
        if s.members < 2:
            need = "M_1 and M_1', another seed" if role == "base" else "two disjoint concatenations"
            out.append(f"{key}: the external set {name!r} has {s.members} model; the width study needs at least 2 "
                       f"({need})")
        for split in WIDTH_EXTERNAL_SPLITS:
            if not s.has("penultimate", split):
                where = (f"external.{name}.activations.penultimate.{split}" if s.route == "activations"
                         else f"the {split} split")
                out.append(f"{key}: the width study reads penultimate activations on train (fit), val and test; the "
                           f"external set {name!r} lacks {where}")
        world = world_of(config, s.dataset)
        if not (world and world.get("n_val")):
            out.append(f"{key}: the width study evaluates on a validation split held out of training; the dataset "
                       f"{s.dataset!r} of {name!r} has none (a synthetic world with n_val > 0 has one)")
    if len(names) == 2 and all(n in sets for n in names.values()):
        a, b = (sets[names[r]] for r in ("base", "narrow"))
        if a.dataset != b.dataset:
            out.append(f"width.external: the base set {a.name!r} runs on {a.dataset!r}, the narrow set {b.name!r} on "
                       f"{b.dataset!r}; the study compares features on the same points")
        if a.name == b.name:
            out.append("width.external: base and narrow name the same set")
    return out


def split_size(config: dict[str, Any], dataset: str, split: str) -> int | None:
    """Points of a split when the config alone says (a synthetic world, a public dataset)."""
    from .names import world_of

    world = world_of(config, dataset)
    if world is not None:
        return {"train": world["n_train"], "test": world["n_test"], "val": world.get("n_val") or None}.get(split)
    if split.startswith("diversity_"):
        return None
    return {("cifar10", "test"): 10_000, ("cifar10", "train"): 50_000, ("svhn", "test"): 26_032,
            ("svhn", "train"): 73_257, ("fashion_mnist", "test"): 10_000,
            ("fashion_mnist", "train"): 60_000}.get((dataset, split))


def external_problems(config: dict[str, Any], taken: dict[str, str]) -> list[str]:
    """Names, routes, files and counts of the ``external`` section (no file opened but
    headers): a name the config's ensembles, a study or a results folder already take
    (``taken``: ``{name: what}``), a route not given once, a missing file, activation lists of
    unequal length or rows against the split's size."""
    from ..external_files import row_count

    out = []
    for name, spec in (config.get("external") or {}).items():
        key = f"external.{name}"
        if name in taken:
            out.append(f"{key}: the name is taken by {taken[name]}; an external model set needs its own name")
        routes = [r for r in ROUTES if spec.get(r)]
        if len(routes) != 1:
            out.append(f"{key}: give exactly one of {', '.join(ROUTES)} (got {', '.join(routes) or 'none'})")
            continue
        route = routes[0]
        ds = spec["dataset"]
        if ds == "folder" and not config["data"].get("folder"):
            out.append(f"{key}.dataset: 'folder' needs data.folder (the root holding train/ and test/)")
        if route == "checkpoints":
            arch = spec.get("arch")
            if not arch:
                out.append(f"{key}.arch: state-dict checkpoints need their architecture (one of "
                           f"{', '.join(ARCHITECTURES)}, or torchvision:<name>)")
            elif arch not in ARCHITECTURES and not arch.startswith("torchvision:"):
                out.append(f"{key}.arch: {arch!r}; allowed: {', '.join(ARCHITECTURES)}, or torchvision:<name>")
        elif spec.get("arch"):
            out.append(f"{key}.arch: only state-dict checkpoints take an architecture ({route} do not)")
        if route != "activations":
            files, missing = resolve(spec[route])
            out += [f"{key}.{route}: {m} does not exist" for m in missing]
            if not files and not missing:
                out.append(f"{key}.{route}: no file given")
            bad = [layer for layer in spec.get("modules") or {} if layer not in LAYERS]
            if bad:
                out.append(f"{key}.modules: {', '.join(bad)} are not layer names ({', '.join(LAYERS)})")
            continue
        for extra in ("modules", "width", "num_classes", "normalize"):
            if spec.get(extra):
                out.append(f"{key}.{extra}: activation files take no {extra} (a network's setting)")
        counts: dict[str, int] = {}
        needs_labels: set[str] = set()
        for layer, by_split in spec["activations"].items():
            for split, fs in by_split.items():
                files, missing = resolve(fs)
                where = f"{key}.activations.{layer}.{split}"
                out += [f"{where}: {m} does not exist" for m in missing]
                counts[where] = len(files)
                size = split_size(config, ds, split)
                for f in files:
                    if missing or not os.path.isfile(f):
                        continue
                    if not f.endswith((".parquet", ".npy", ".npz")):
                        out.append(f"{where}: {f}: give Parquet (as the workflow writes it), .npy or .npz")
                        continue
                    if not f.endswith(".parquet"):
                        needs_labels.add(split)
                    try:
                        rows = row_count(f)
                    except ValueError as exc:
                        out.append(f"{where}: {exc}")
                        continue
                    if size is not None and rows != size:
                        out.append(f"{where}: {f} has {rows} rows, the {split} split of {ds!r} has {size} points")
        if len(set(counts.values())) > 1:
            out.append(f"{key}.activations: every layer and split needs one file per model; got "
                       + ", ".join(f"{n} for {w.split('.', 3)[-1]}" for w, n in counts.items()))
        labels = spec.get("labels") or {}
        for split in sorted(needs_labels - set(labels)):
            out.append(f"{key}.labels.{split}: .npy/.npz activations of the {split} split need a labels file "
                       "(one label per row, in the order of the rows)")
        for split, f in labels.items():
            files, missing = resolve(f)
            out += [f"{key}.labels.{split}: {m} does not exist" for m in missing]
            size = split_size(config, ds, split)
            if files and not missing and size is not None:
                try:
                    rows = row_count(files[0])
                except ValueError as exc:
                    out.append(f"{key}.labels.{split}: {exc}")
                    continue
                if rows != size:
                    out.append(f"{key}.labels.{split}: {files[0]} has {rows} rows, the {split} split of {ds!r} "
                               f"has {size} points")
        for split, fs in (spec.get("logits") or {}).items():
            files, missing = resolve(fs)
            out += [f"{key}.logits.{split}: {m} does not exist" for m in missing]
            n = next(iter(counts.values()), len(files))
            if files and len(files) != n:
                out.append(f"{key}.logits.{split}: {len(files)} files for {n} models")
    return out
