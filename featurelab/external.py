"""External models and activations (the config's ``external`` section, planned by
:mod:`featurelab.plan.external`): load a state-dict checkpoint or a TorchScript file, give it
the zoo's ``features(x, layers)``, extract its activations in the zoo's Parquet layout
(:func:`extract_external`), import activation files computed elsewhere after checking them
against the dataset point by point (:func:`import_activations`), and the checks the config
runs on the files before any job (:func:`checkpoint_problem`, :func:`torchscript_problem`).

PyTorch is imported only by the functions that need it.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

# ---------------------------------------------------------------- activation files


from .external_files import _npz_member, load_array, row_count  # noqa: F401  (re-exported)


def import_activations(files: Mapping[str, str], labels_file: str | None, logits_file: str | None,
                       split_labels: np.ndarray, outputs: Mapping[str, str | os.PathLike], *,
                       meta: dict[str, Any], log: Callable[[str], None] = print) -> None:
    """Write one model's activations of one split (``files``: layer → its file) in the zoo's
    Parquet layout (``outputs``: layer → path), after checking every file against the
    prepared split's labels: as many rows as points, the points in split order (``.npy``/
    ``.npz``: row i is point i, labelled by ``labels_file``; Parquet: its ``index`` column) and
    every label the dataset's; the first mismatch is named. Predictions are the logits' argmax
    (``-1`` where no logits are given)."""
    from .activations import read_activations, write_activations

    n = len(split_labels)
    out = {}
    for layer, f in files.items():
        if str(f).endswith(".parquet"):
            a = read_activations(f)
            order = np.argsort(a.index, kind="stable")
            index, label, act = a.index[order], a.label[order], a.activation[order]
            logits = a.logits[order] if logits_file is None else None
        else:
            act = load_array(f, "activation")
            index = np.arange(len(act))
            if labels_file is None:
                raise ValueError(f"{f}: .npy/.npz activations need a labels file")
            label = np.asarray(load_array(labels_file, "labels")).astype(np.int64).reshape(-1)
            if len(label) != len(act):
                raise ValueError(f"{labels_file} has {len(label)} labels, {f} {len(act)} rows")
            logits = None
        if act.ndim != 2:
            raise ValueError(f"{f}: activations must be 2-D (points × dims), got shape {act.shape}")
        if len(act) != n:
            raise ValueError(f"{f} has {len(act)} rows, the split has {n} points")
        if not np.array_equal(index, np.arange(n)):
            first = int(np.flatnonzero(index != np.arange(n))[0])
            raise ValueError(f"{f}: row {first} is point {index[first]}, not point {first}: every point of the "
                             "split once, by its index")
        bad = np.flatnonzero(label != split_labels)
        if bad.size:
            i = int(bad[0])
            src = f if str(f).endswith(".parquet") else labels_file
            raise ValueError(f"{src}: point {i} is labelled {int(label[i])}, the dataset labels it "
                             f"{int(split_labels[i])} ({bad.size} of {n} points disagree): the points must be the "
                             "dataset's, in its order")
        if logits_file is not None:
            logits = np.asarray(load_array(logits_file, "logits"), dtype=np.float32)
            if logits.ndim != 2 or len(logits) != n:
                raise ValueError(f"{logits_file}: logits must be (points × classes) with {n} rows, got {logits.shape}")
        out[layer] = (act, logits)
    for layer, (act, logits) in out.items():
        pred = logits.argmax(1) if logits is not None else np.full(n, -1, np.int64)
        # no logits: one NaN column (Parquet's fixed-size lists have at least one entry), predictions -1
        lg = logits if logits is not None else np.full((n, 1), np.nan, np.float32)
        acc = float((pred == split_labels).mean()) if logits is not None else None
        write_activations(outputs[layer], index=np.arange(n), label=split_labels, prediction=pred, logits=lg,
                          activation=np.asarray(act, dtype=np.float32),
                          metadata={**meta, "layer": layer, "accuracy": acc, "source": str(files[layer])})
        log(f"wrote {outputs[layer]} ({act.shape[1]} dims) from {files[layer]}")


# ---------------------------------------------------------------- networks


def _state_dict(obj: Any) -> dict[str, Any] | None:
    """The state dict in a loaded checkpoint: the object itself, or its ``state_dict``/``model`` entry."""
    import torch

    for cand in (obj, *(obj.get(k) for k in ("state_dict", "model") if isinstance(obj, dict))):
        if isinstance(cand, dict) and cand and all(isinstance(v, torch.Tensor) for v in cand.values()):
            return {k[len("module."):] if k.startswith("module.") else k: v for k, v in cand.items()}
    return None


def load_state_dict(path: str | os.PathLike) -> dict[str, Any]:
    """A state dict read with ``torch.load(weights_only=True)``; a file that needs full
    unpickling is refused with the reason (arbitrary code would run on loading it)."""
    import pickle

    import torch

    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        reason = str(exc).strip().splitlines()
        why = next((line.strip() for line in reason if "Unsupported global" in line), "").split(" Please use")[0]
        raise ValueError(f"{path} needs full unpickling (torch.load(weights_only=False)), which runs whatever code "
                         f"the file names; it is refused. {why} Save model.state_dict() instead "
                         "(torch.save(model.state_dict(), path))") from None
    except (RuntimeError, OSError, EOFError) as exc:
        raise ValueError(f"{path} is not a PyTorch checkpoint ({str(exc).splitlines()[0]})") from None
    sd = _state_dict(obj)
    if sd is None:
        raise ValueError(f"{path} holds no state dict (a mapping of parameter names to tensors, or one under "
                         "'state_dict' or 'model')")
    return sd


def build_network(spec: Mapping[str, Any], num_classes: int, in_channels: int, image_size: int | None) -> Any:
    """The network of a checkpoint set: featurelab's ``arch`` at ``width``, or
    ``torchvision:<name>`` with ``num_classes``."""
    arch = spec["arch"]
    if arch.startswith("torchvision:"):
        import torchvision

        name = arch.split(":", 1)[1]
        try:
            return torchvision.models.get_model(name, weights=None, num_classes=num_classes)
        except ValueError as exc:
            raise ValueError(f"torchvision has no model {name!r} ({exc})") from None
    from .models import build_model

    return build_model(arch, num_classes, float(spec.get("width") or 1.0), in_channels, image_size)


def fit_problem(model: Any, sd: Mapping[str, Any], path: str, arch: str) -> str | None:
    """Why ``sd`` does not fit ``model``: the first keys missing, unexpected, or of another shape."""
    own = model.state_dict()
    missing = [k for k in own if k not in sd]
    extra = [k for k in sd if k not in own]
    shape = [f"{k} {tuple(sd[k].shape)} against {tuple(own[k].shape)}" for k in own
             if k in sd and tuple(sd[k].shape) != tuple(own[k].shape)]
    if not (missing or extra or shape):
        return None
    parts = []
    if missing:
        parts.append(f"missing {', '.join(missing[:3])}{' ...' if len(missing) > 3 else ''} ({len(missing)})")
    if extra:
        parts.append(f"unexpected {', '.join(extra[:3])}{' ...' if len(extra) > 3 else ''} ({len(extra)})")
    if shape:
        parts.append(f"other shapes: {'; '.join(shape[:3])}")
    return f"{path}: its keys do not fit {arch}: " + "; ".join(parts)


def _classes_in(sd: Mapping[str, Any]) -> int | None:
    """The classes of a state dict: the rows of its last 2-D weight (the final linear layer)."""
    last = [v for k, v in sd.items() if k.endswith("weight") and v.ndim == 2]
    return int(last[-1].shape[0]) if last else None


def checkpoint_problem(path: str, spec: Mapping[str, Any], num_classes: int | None, in_channels: int,
                       image_size: int | None) -> str | None:
    """Why a state-dict file cannot be used (None when it can): it needs full unpickling, or
    its keys do not fit the architecture."""
    try:
        sd = load_state_dict(path)
        model = build_network(spec, int(spec.get("num_classes") or num_classes or _classes_in(sd) or 10),
                              in_channels, image_size)
    except ValueError as exc:
        return str(exc)
    return fit_problem(model, sd, path, spec["arch"])


def load_checkpoint_network(path: str, spec: Mapping[str, Any], num_classes: int, in_channels: int,
                            image_size: int | None) -> Any:
    sd = load_state_dict(path)
    model = build_network(spec, num_classes, in_channels, image_size)
    problem = fit_problem(model, sd, path, spec["arch"])
    if problem:
        raise ValueError(problem)
    model.load_state_dict(sd)
    return model


class HookedFeatures:
    """``features(x, layers)`` of any ``nn.Module``: ``penultimate``, the input of its last
    ``nn.Linear``, and ``block<i>`` the output of the module at ``modules[block<i>]``
    (globally average-pooled when it has spatial dimensions), from forward hooks."""

    def __init__(self, model: Any, modules: Mapping[str, str]) -> None:
        import torch

        self.model = model
        named = dict(model.named_modules())
        linears = [n for n, m in named.items() if isinstance(m, torch.nn.Linear)]
        if not linears:
            raise ValueError("the network has no nn.Linear: its penultimate layer is undefined")
        self.paths = {"penultimate": linears[-1], **modules}
        bad = {k: p for k, p in self.paths.items() if p not in named}
        if bad:
            raise ValueError(f"no module {', '.join(f'{p!r} ({k})' for k, p in bad.items())}; the network has "
                             f"{', '.join(list(named)[1:12])} ...")
        self.named = named

    def eval(self) -> "HookedFeatures":
        self.model.eval()
        return self

    def to(self, device: Any) -> "HookedFeatures":
        self.model.to(device)
        return self

    def features(self, x: Any, layers: tuple[str, ...]) -> dict[str, Any]:
        got: dict[str, Any] = {}
        hooks = []
        for layer in layers:
            if layer not in self.paths:
                raise ValueError(f"layer {layer!r} is not named: give its module path in `modules`")
            mod = self.named[self.paths[layer]]
            if layer == "penultimate":
                hooks.append(mod.register_forward_pre_hook(lambda m, inp, k=layer: got.__setitem__(k, inp[0])))
            else:
                hooks.append(mod.register_forward_hook(lambda m, inp, out, k=layer: got.__setitem__(k, out)))
        try:
            logits = self.model(x)
        finally:
            for h in hooks:
                h.remove()
        out = {k: _pool(v) for k, v in got.items()}
        out["logits"] = logits
        return out


def _pool(v: Any) -> Any:
    """A stage output as a vector per point: global average over the spatial dimensions."""
    return v.mean(dim=tuple(range(2, v.ndim))) if v.ndim > 2 else v.flatten(1)


class ScriptFeatures:
    """``features(x, layers)`` of a TorchScript module (which takes no hooks): its forward
    graph is extended to return, beside the logits, the input of its last linear layer
    (``penultimate``) and the output of each module of ``modules`` that the forward calls,
    pooled like a stage."""

    def __init__(self, module: Any, modules: Mapping[str, str]) -> None:
        import torch

        self._torch = torch
        self.module = module
        self.modules = dict(modules)
        self.graph = self._forward_graph(module)
        self.linears = [n for n, m in module.named_modules() if getattr(m, "original_name", None) == "Linear"]
        calls, self.sources = self._sources(self.graph)
        for layer, path in self.modules.items():
            if path not in calls:
                raise ValueError(f"module {path!r} ({layer}) is not called by the TorchScript forward; modules it "
                                 f"calls: {', '.join(calls) or 'none'}")
        self._fns: dict[tuple[str, ...], Any] = {}

    def _sources(self, graph: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        """The module calls of ``graph`` by path, and the value of every layer it can give."""
        calls = self._calls(graph)
        sources: dict[str, Any] = {}
        pen = next((p for p in reversed(self.linears) if p in calls), None)
        if pen is not None:
            sources["penultimate"] = calls[pen].inputsAt(1)
        else:
            ops = [n for n in graph.nodes() if n.kind() in ("aten::linear", "aten::addmm")]
            if ops:
                sources["penultimate"] = ops[-1].inputsAt(0 if ops[-1].kind() == "aten::linear" else 1)
        for layer, path in self.modules.items():
            if path in calls:
                sources[layer] = calls[path].output()
        return calls, sources

    @staticmethod
    def _forward_graph(module: Any) -> Any:
        """The graph of ``forward``, following a forward that only calls another method of
        the module (torchvision's ``_forward_impl``)."""
        graph = module.forward.graph
        for _ in range(3):
            selfv = next(iter(graph.inputs()))
            own = [n for n in graph.nodes()
                   if n.kind() == "prim::CallMethod" and n.inputsAt(0).unique() == selfv.unique()]
            if len(own) != 1:
                break
            graph = module._c._get_method(own[0].s("name")).graph
        return graph

    @staticmethod
    def _calls(graph: Any) -> dict[str, Any]:
        selfv = next(iter(graph.inputs()))

        def path(v: Any) -> str | None:
            parts = []
            while v.node().kind() == "prim::GetAttr":
                parts.append(v.node().s("name"))
                v = v.node().inputsAt(0)
            return ".".join(reversed(parts)) if v.unique() == selfv.unique() and parts else None

        out = {}
        for n in graph.nodes():
            if n.kind() == "prim::CallMethod" and n.s("name") == "forward":
                p = path(n.inputsAt(0))
                if p is not None:
                    out[p] = n
        return out

    def eval(self) -> "ScriptFeatures":
        self.module.eval()
        return self

    def to(self, device: Any) -> "ScriptFeatures":
        self.module.to(device)
        return self

    def _function(self, layers: tuple[str, ...]) -> Any:
        """A function of (module, x) returning the logits and ``layers``: a copy of the forward
        graph whose return is extended."""
        if layers not in self._fns:
            torch = self._torch
            g = self.graph.copy()
            sources = self._sources(g)[1]
            ret = g.return_node()
            orig = ret.inputsAt(0)
            want = [orig, *(sources[k] for k in layers)]
            tup = g.create("prim::TupleConstruct", want, 1)
            tup.insertBefore(ret)
            tup.output().setType(torch._C.TupleType([v.type() for v in want]))
            ret.replaceInputWith(orig, tup.output())
            self._fns[layers] = torch._C._create_function_from_graph("features", g)
        return self._fns[layers]

    def features(self, x: Any, layers: tuple[str, ...]) -> dict[str, Any]:
        missing = [layer for layer in layers if layer not in self.sources]
        if missing:
            raise ValueError(f"layer(s) {missing} are not named: give their module paths in `modules`")
        out = self._function(tuple(layers))(self.module._c, x)
        res = {k: _pool(v) for k, v in zip(layers, out[1:])}
        res["logits"] = out[0]
        return res


def load_torchscript(path: str, modules: Mapping[str, str], device: Any = "cpu") -> ScriptFeatures:
    import torch

    try:
        module = torch.jit.load(path, map_location=device)
    except (RuntimeError, ValueError) as exc:
        raise ValueError(f"{path} is not a TorchScript file ({str(exc).splitlines()[0]})") from None
    return ScriptFeatures(module, modules)


def torchscript_problem(path: str, modules: Mapping[str, str]) -> str | None:
    """Why a TorchScript file cannot be used (None when it can)."""
    try:
        net = load_torchscript(path, modules)
    except ValueError as exc:
        return f"{path}: {exc}" if not str(exc).startswith(path) else str(exc)
    if "penultimate" not in net.sources:
        return f"{path}: the forward calls no linear layer, so its penultimate layer is undefined"
    return None


def network(spec: Mapping[str, Any], path: str, num_classes: int, in_channels: int, image_size: int | None,
            device: Any) -> Any:
    """An external network with ``features(x, layers)``, on ``device``, in eval mode."""
    if spec.get("torchscript"):
        return load_torchscript(path, spec.get("modules") or {}, device).eval()
    model = load_checkpoint_network(path, spec, num_classes, in_channels, image_size)
    if spec["arch"].startswith("torchvision:"):
        name = spec["arch"].split(":", 1)[1]
        stages = {f"block{i}": f"layer{i}" for i in range(1, 5)} if name.startswith("resnet") else {}
        return HookedFeatures(model, {**stages, **(spec.get("modules") or {})}).to(device).eval()
    if spec.get("modules"):
        return HookedFeatures(model, {**spec["modules"]}).to(device).eval()
    return model.to(device).eval()


def extract_external(spec: Mapping[str, Any], path: str, splits: Mapping[str, Any], layers: Sequence[str],
                     outputs: Mapping[tuple[str, str], str | os.PathLike], *, train: Any | None = None,
                     device: str = "auto", batch_size: int = 500, meta: dict[str, Any] | None = None,
                     log: Callable[[str], None] = print) -> None:
    """Run one external network over each split (``splits``: name → Split) and write each
    layer (``outputs[(layer, split)]``) in the zoo's Parquet layout, as :func:`featurelab.extract.
    extract_member` does for a zoo member: the same device selection, batches and columns.
    Inputs are normalised with ``spec['normalize']`` ({mean, std} on the [0, 1] scale), or with
    the channel statistics of the dataset's training split ``train`` as the zoo's networks are."""
    import torch

    from .activations import write_activations
    from .extract import compute_activations
    from .plan.names import in_channels as channels_of
    from .training.inputs import channel_stats
    from .training.recipe import select_device

    dev = select_device(device)
    first = next(iter(splits.values()))
    num_classes = int(spec.get("num_classes") or first.num_classes)
    if num_classes != first.num_classes:
        raise ValueError(f"{path}: {num_classes} classes, the dataset has {first.num_classes}")
    norm = spec.get("normalize")
    if norm:
        mean, std = list(norm["mean"]), list(norm["std"])
    elif train is not None:
        mean, std = channel_stats(train.images)
    else:
        raise ValueError("give normalize: {mean, std} or the training split")
    model = network(spec, path, num_classes, channels_of(spec["dataset"]), first.images.shape[1], dev)
    torch.set_grad_enabled(False)
    for split_name, split in splits.items():
        acts = compute_activations(model, {"mean": mean, "std": std}, split, tuple(layers), dev, batch_size)
        pred = acts["logits"].argmax(1)
        acc = float((pred == split.labels).mean()) if len(split) else float("nan")
        log(f"{path} on {split_name}: {len(split)} points, accuracy {acc:.4f}")
        for layer in layers:
            write_activations(outputs[(layer, split_name)], index=np.arange(len(split)), label=split.labels,
                              prediction=pred, logits=acts["logits"], activation=acts[layer],
                              metadata={**(meta or {}), "split": split_name, "layer": layer, "accuracy": acc,
                                        "source": str(path), "arch": spec.get("arch") or "torchscript"})
        log(f"wrote {len(layers)} layer(s) of {split_name}")


def file_problems(sets: Mapping[str, Any], config: Mapping[str, Any]) -> list[str]:
    """Open every checkpoint and TorchScript file of the external sets (PyTorch is imported
    only when there is one): a file that needs full unpickling, keys that do not fit the
    architecture, a TorchScript file without the modules named."""
    from .plan.names import in_channels, num_classes, world_of

    out = []
    for s in sets.values():
        if s.route == "activations":
            continue
        world = world_of(config, s.dataset)
        size = world["image_size"] if world else (config["data"].get("image_size") or 32)
        for f in s.files:
            if not os.path.isfile(f):
                continue
            if s.route == "checkpoints":
                p = checkpoint_problem(f, s.spec, num_classes(config, s.dataset), in_channels(s.dataset), size)
            else:
                p = torchscript_problem(f, s.spec.get("modules") or {})
            if p:
                out.append(f"external.{s.name}.{s.route}: {p}")
    return out


def prepared_labels(dataset: str, split: str) -> np.ndarray | None:
    """The labels of a prepared split when it exists already (``resources/prepared/...``)."""
    p = Path("resources/prepared") / dataset / f"{split}.npz"
    if not p.is_file():
        return None
    with np.load(p, allow_pickle=False) as z:
        return np.asarray(z["labels"]).astype(np.int64)


def _labels_of(path: str, labels_file: str | None) -> tuple[np.ndarray, np.ndarray, str] | None:
    """``(index, labels, source)`` of an activation file, from its own columns (Parquet) or its
    labels file (``.npy``/``.npz``: row i is point i)."""
    if path.endswith(".parquet"):
        import pyarrow.parquet as pq

        t = pq.read_table(path, columns=["index", "label"])
        return t.column("index").to_numpy(), t.column("label").to_numpy(), path
    if labels_file is None or not os.path.isfile(labels_file):
        return None
    y = np.asarray(load_array(labels_file, "labels")).astype(np.int64).reshape(-1)
    return np.arange(len(y)), y, labels_file


def import_problems(sets: Mapping[str, Any]) -> list[str]:
    """Activation files against a dataset already prepared (``resources/prepared/<dataset>/
    <split>.npz`` in the working directory): the rows and, point by point, the labels; the first
    mismatch is named. A split not yet prepared is checked by the import job, before any study."""
    out = []
    for s in sets.values():
        if s.route != "activations":
            continue
        for layer, by_split in s.files.items():
            for split, files in by_split.items():
                y = prepared_labels(s.dataset, split)
                if y is None:
                    continue
                for f in files:
                    got = _labels_of(f, (s.spec.get("labels") or {}).get(split))
                    if got is None:
                        continue
                    index, labels, src = got
                    order = np.argsort(index, kind="stable")
                    index, labels = index[order], labels[order]
                    where = f"external.{s.name}.activations.{layer}.{split}"
                    if len(labels) != len(y):
                        out.append(f"{where}: {src} has {len(labels)} rows, the prepared {split} split of "
                                   f"{s.dataset!r} has {len(y)} points")
                    elif not np.array_equal(index, np.arange(len(y))):
                        out.append(f"{where}: {src} does not hold every point of the {split} split once by index")
                    elif not np.array_equal(labels, y):
                        i = int(np.flatnonzero(labels != y)[0])
                        out.append(f"{where}: {src}: point {i} is labelled {int(labels[i])}, the dataset labels it "
                                   f"{int(y[i])} ({int((labels != y).sum())} of {len(y)} disagree)")
    return list(dict.fromkeys(out))
