"""Training of one ensemble member (SPEC 3), in one readable loop.

Recipe of paper 000 (from Jiang et al. 2022): SGD with momentum 0.9, lr 0.1,
weight decay 1e-4, batch 100, no augmentation, lr ÷10 every 50 epochs, stop at 100%
training accuracy or ``max_epochs``. Every number is a :class:`Recipe` field.

Speed comes from doing little per step (airbench style): the member's whole
training subset is normalised once and kept on the device as one tensor; a batch is
an index into it. No DataLoader, no per-batch host work.

The fast path on a GPU (:class:`FastPath`, the config's ``train`` section): bfloat16
autocast (``amp``), channels-last tensors (``channels_last``), cuDNN autotuning and,
optionally, ``torch.compile`` (``compile``). ``auto`` turns the first two on on CUDA and
off on the CPU, where the loop stays exactly the plain float32 one.

Reproducibility: the member's training subset, its initialisation and its batch
order all derive from its ``seed``, so the same seed gives the same weights bit for
bit on CPU (with the same thread count). The state after each epoch (weights,
optimiser, history, per-epoch checkpoints so far) is saved atomically to
``state_path``, which is *not* a Snakemake output: a killed job, rerun, resumes from
its last finished epoch and ends with exactly the weights of an uninterrupted run.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F

from .data.prepared import Split
from .models import build_model, count_parameters


@dataclass(frozen=True)
class Recipe:
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 1e-4
    batch_size: int = 100
    lr_step_epochs: int = 50
    lr_step_factor: float = 0.1
    max_epochs: int = 200
    stop_at_train_acc: float | None = 1.0
    checkpoint_epochs: tuple[int, ...] = ()
    reference_size: int | None = None

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Recipe":
        d = dict(d)
        unknown = set(d) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown training-recipe keys: {sorted(unknown)}")
        if "checkpoint_epochs" in d:
            d["checkpoint_epochs"] = tuple(int(e) for e in d["checkpoint_epochs"] or ())
        return cls(**d)

    def for_size(self, n: int) -> "Recipe":
        """The recipe a member trained on ``n`` images follows. With ``reference_size``
        set, ``max_epochs`` and ``lr_step_epochs`` are scaled by ``reference_size / n``
        (rounded up; at least 1), so that a member trained on a small split (a blue group, a
        training fraction) takes as many SGD steps as one trained on ``reference_size``
        images; checkpoint epochs are kept as written. Without it, the recipe itself."""
        if self.reference_size is None:
            return self
        if n < 1:
            raise ValueError(f"cannot scale a recipe to {n} training images")
        scale = self.reference_size / n
        return replace(self, max_epochs=max(1, math.ceil(self.max_epochs * scale - 1e-9)),
                       lr_step_epochs=max(1, math.ceil(self.lr_step_epochs * scale - 1e-9)),
                       reference_size=None)

    def lr_at(self, epoch: int) -> float:
        """Learning rate of (0-based) ``epoch``: step decay."""
        return self.lr * self.lr_step_factor ** (epoch // self.lr_step_epochs)


@dataclass(frozen=True)
class FastPath:
    """How the training step runs (not what it computes): ``amp`` = ``auto`` (bfloat16
    autocast on CUDA, float32 on CPU), ``bf16`` or ``fp32`` (``off``); ``channels_last`` =
    ``None``/``auto`` (on CUDA only), ``True`` or ``False``; ``compile``: wrap the model in
    ``torch.compile``. The config's ``train`` section holds them."""

    amp: str = "auto"
    channels_last: str | bool | None = None
    compile: bool | str = False

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> "FastPath":
        d = {k: v for k, v in (d or {}).items() if k in cls.__dataclass_fields__}
        return cls(**d)

    def resolve(self, dev: torch.device) -> dict[str, Any]:
        """The settings on ``dev``: ``amp_dtype`` (None = float32), ``channels_last``, ``compile``."""
        if self.amp not in ("auto", "bf16", "fp32", "off", False):
            raise ValueError(f"amp must be auto, bf16 or fp32, not {self.amp!r}")
        amp = self.amp == "bf16" or (self.amp == "auto" and dev.type == "cuda")
        cl = self.channels_last
        cl = dev.type == "cuda" if cl in (None, "auto") else cl in (True, "on", "true")
        return {"amp_dtype": torch.bfloat16 if amp else None, "channels_last": bool(cl),
                "compile": _compile_mode(self.compile)}


COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")


def _compile_mode(value: bool | str | None) -> str | None:
    """``False``/``None`` → no compilation; ``True`` → ``"default"``; else a torch.compile mode
    (``reduce-overhead`` replays the step through CUDA graphs: the one that removes the
    per-kernel launch cost of small batches)."""
    if value in (False, None, "off", "false"):
        return None
    mode = "default" if value in (True, "on", "true") else value
    if mode not in COMPILE_MODES:
        raise ValueError(f"compile must be false, true or one of {', '.join(COMPILE_MODES)}; got {value!r}")
    return mode


def compiled(fn: Callable, mode: str | None) -> Callable:
    """``torch.compile(fn, mode=mode)`` (a module or a function), or ``fn`` itself when
    ``mode`` is None."""
    return fn if mode is None else torch.compile(fn, mode=mode)


def fused_sgd(dev: torch.device) -> dict[str, bool]:
    """SGD's fused CUDA kernel (one launch for every parameter) on CUDA; the same update
    rule as the for-loop implementation the CPU keeps."""
    return {"fused": True} if dev.type == "cuda" else {}


def sgd(params, recipe: Recipe, dev: torch.device) -> torch.optim.SGD:
    """The recipe's SGD (momentum, weight decay; the learning rate is set per epoch)."""
    return torch.optim.SGD(params, lr=recipe.lr, momentum=recipe.momentum, weight_decay=recipe.weight_decay,
                           **fused_sgd(dev))


def scaled_recipe(recipe: Recipe, n: int, log: Callable[[str], None] = print) -> Recipe:
    """:meth:`Recipe.for_size`, saying so in the log when it changes the recipe."""
    scaled = recipe.for_size(n)
    if recipe.reference_size is not None:
        log(f"{n} training images against reference_size {recipe.reference_size}: "
            f"max_epochs {recipe.max_epochs} -> {scaled.max_epochs}, "
            f"lr_step_epochs {recipe.lr_step_epochs} -> {scaled.lr_step_epochs}")
    return scaled


def resume_state(state_path: Path, fingerprint: str, module: torch.nn.Module, opt: torch.optim.Optimizer,
                 dev: torch.device, log: Callable[[str], None]) -> dict[str, Any] | None:
    """Restore ``module`` and ``opt`` from the resumable state at ``state_path`` and return
    that state, when it was written for this ``fingerprint``. A state written for another
    configuration is ignored and its kept checkpoints (``<state>.checkpoints``) removed;
    returns None then, and when there is no state."""
    if not state_path.exists():
        return None
    state = torch.load(state_path, map_location=dev, weights_only=False)
    if state.get("fingerprint") != fingerprint:
        log(f"ignoring {state_path}: it was written for another configuration")
        shutil.rmtree(state_path.with_name(state_path.name + ".checkpoints"), ignore_errors=True)
        return None
    module.load_state_dict(state["model"])
    opt.load_state_dict(state["optimizer"])
    log(f"resuming from {state_path} after epoch {state['epoch']}")
    return state


def setup_device(device: str, threads: int | None,
                 fast: "FastPath | dict[str, Any] | None") -> tuple[torch.device, dict[str, Any]]:
    """The training device and its resolved :class:`FastPath` options; sets the thread count,
    deterministic algorithms on the CPU and cuDNN autotuning on CUDA (every training job)."""
    dev = select_device(device)
    if threads:
        torch.set_num_threads(int(threads))
    if dev.type == "cpu":
        torch.use_deterministic_algorithms(True, warn_only=True)
    else:
        torch.backends.cudnn.benchmark = True
    return dev, (fast if isinstance(fast, FastPath) else FastPath.from_dict(fast)).resolve(dev)


def run_fingerprint(ident: dict[str, Any], opts: dict[str, Any]) -> str:
    """Hash of what a training run computes, which a resume state must match; the fast-path
    settings count only when on, so the plain path keeps its old fingerprint."""
    if opts["amp_dtype"] is not None or opts["channels_last"]:
        ident = {**ident, "fast": {"amp": str(opts["amp_dtype"]), "channels_last": opts["channels_last"]}}
    return hashlib.sha1(json.dumps(ident, sort_keys=True).encode()).hexdigest()


def autocast(dev: torch.device, amp_dtype: torch.dtype | None):
    """bfloat16 autocast on ``dev`` when ``amp_dtype`` is set, else a no-op context."""
    return torch.autocast(device_type=dev.type, dtype=amp_dtype, enabled=amp_dtype is not None)


def select_device(preference: str = "auto") -> torch.device:
    """``auto``: CUDA when present, else CPU. ``cuda``/``cpu`` force one."""
    if preference == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if preference.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' was asked for but torch sees no CUDA device")
    return torch.device(preference)


def member_subset(n_total: int, size: int | None, seed: int) -> np.ndarray:
    """Sorted indices of the member's training subset, drawn without replacement."""
    if size is None or size == n_total:
        return np.arange(n_total)
    if not 0 < size <= n_total:
        raise ValueError(f"subset size {size} must lie in [1, {n_total}] (the training split's size)")
    rng = np.random.default_rng([seed, 7])
    return np.sort(rng.choice(n_total, size=size, replace=False))


def channel_stats(images: np.ndarray) -> tuple[list[float], list[float]]:
    """Per-channel mean and std of uint8 NHWC images, on the [0,1] scale."""
    x = images.reshape(-1, images.shape[-1]).astype(np.float64) / 255.0
    std = x.std(axis=0)
    return x.mean(axis=0).tolist(), np.where(std > 0, std, 1.0).tolist()


def to_input(images: np.ndarray | torch.Tensor, mean: list[float], std: list[float],
             device: torch.device, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """uint8 NHWC → normalised float NCHW on ``device``."""
    x = torch.as_tensor(images).to(device)
    x = x.permute(0, 3, 1, 2).to(dtype).div_(255.0)
    m = torch.tensor(mean, device=device, dtype=dtype).view(1, -1, 1, 1)
    s = torch.tensor(std, device=device, dtype=dtype).view(1, -1, 1, 1)
    return ((x - m) / s).contiguous()


def data_fingerprint(split: Split) -> str:
    h = hashlib.sha1()
    h.update(str(split.images.shape).encode())
    h.update(np.ascontiguousarray(split.labels).tobytes())
    h.update(np.ascontiguousarray(split.images[:: max(1, len(split) // 64)]).tobytes())
    return h.hexdigest()


def _atomic_save(obj: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


@torch.no_grad()
def evaluate(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 1000,
             amp_dtype: torch.dtype | None = None) -> float:
    model.eval()
    correct = 0
    for i in range(0, x.shape[0], batch_size):
        with autocast(x.device, amp_dtype):
            out = model(x[i:i + batch_size])
        correct += (out.argmax(1) == y[i:i + batch_size]).sum().item()
    return correct / max(1, x.shape[0])


def train_member(
    train: Split,
    *,
    arch: str,
    width: float,
    seed: int,
    recipe: Recipe,
    subset_size: int | None = None,
    test: Split | None = None,
    out_path: str | os.PathLike,
    state_path: str | os.PathLike,
    checkpoint_dir: str | os.PathLike | None = None,
    device: str = "auto",
    threads: int | None = None,
    meta: dict[str, Any] | None = None,
    log: Callable[[str], None] = print,
    stop_after_epochs: int | None = None,
    fast: FastPath | dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Train one member and write its weights (``out_path``); returns its metrics.

    ``state_path`` holds the resumable state (kept outside Snakemake's outputs and
    removed on success). ``checkpoint_dir`` receives ``epoch{e:03d}.pt`` for each
    ``e`` in ``recipe.checkpoint_epochs`` (epoch 0 = the initialisation; an epoch past
    the stopping point gets the final weights). ``stop_after_epochs`` simulates a
    killed job (tests): training stops after that many epochs in this call, leaving
    the state behind, and returns ``{"interrupted": True}``. ``fast``: the
    :class:`FastPath` options (default: ``auto``, i.e. bf16 and channels-last on CUDA only).
    """
    out_path, state_path = Path(out_path), Path(state_path)
    dev, opts = setup_device(device, threads, fast)
    fmt = torch.channels_last if opts["channels_last"] else torch.contiguous_format

    subset = member_subset(len(train), subset_size, seed)
    mean, std = channel_stats(train.images)
    x = to_input(train.images[subset], mean, std, dev).contiguous(memory_format=fmt)
    y = torch.as_tensor(train.labels[subset], device=dev)
    n = x.shape[0]
    in_channels = train.images.shape[-1]
    recipe = scaled_recipe(recipe, n, log)
    fingerprint = run_fingerprint({"arch": arch, "width": width, "seed": seed, "recipe": asdict(recipe),
                                   "subset_size": subset_size, "data": data_fingerprint(train)}, opts)

    model = initial_model(arch, train.num_classes, width, in_channels, seed).to(dev, memory_format=fmt)

    def forward_loss(xb: torch.Tensor, yb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        with autocast(dev, opts["amp_dtype"]):
            out = model(xb)
        return F.cross_entropy(out.float(), yb), out

    step = compiled(forward_loss, opts["compile"])  # the loss inside the compiled (graph-replayed) part
    opt = sgd(model.parameters(), recipe, dev)
    ckpt_tmp = state_path.with_name(state_path.name + ".checkpoints")
    state = resume_state(state_path, fingerprint, model, opt, dev, log)
    history: list[dict[str, float]] = state["history"] if state else []
    start_epoch = state["epoch"] if state else 0
    want_ckpt = set(recipe.checkpoint_epochs)
    if 0 in want_ckpt and start_epoch == 0:
        _atomic_save(model.state_dict(), ckpt_tmp / "epoch000.pt")

    log(f"training {arch} width {width} seed {seed} on {n} images "
        f"({count_parameters(model):,} parameters) on {dev}, threads {torch.get_num_threads()}"
        + (f", {_describe_fast(opts)}" if dev.type != "cpu" or opts["amp_dtype"] or opts["compile"] else ""))
    done = bool(history) and _should_stop(history[-1], recipe)
    epochs_this_call = 0
    epoch = start_epoch
    while not done and epoch < recipe.max_epochs:
        lr = recipe.lr_at(epoch)
        for g in opt.param_groups:
            g["lr"] = lr
        model.train()
        gen = torch.Generator().manual_seed(seed * 100_003 + epoch)
        perm = torch.randperm(n, generator=gen).to(dev)
        bs = recipe.batch_size
        n_used = n if n % bs != 1 else n - 1  # a batch of one breaks batch norm
        t0 = time.perf_counter()
        loss_sum = torch.zeros((), device=dev)
        correct = torch.zeros((), device=dev, dtype=torch.long)
        for i in range(0, n_used, bs):
            idx = perm[i:i + bs]
            xb, yb = x[idx], y[idx]
            loss, out = step(xb, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += loss.detach() * yb.shape[0]
            correct += (out.detach().argmax(1) == yb).sum()
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        dt = time.perf_counter() - t0
        epoch += 1
        rec = {"epoch": epoch, "lr": lr, "loss": loss_sum.item() / n_used,
               "train_acc": correct.item() / n_used, "seconds": dt, "images_per_s": n_used / dt}
        history.append(rec)
        if epoch in want_ckpt:
            _atomic_save(model.state_dict(), ckpt_tmp / f"epoch{epoch:03d}.pt")
        done = _should_stop(rec, recipe)
        _atomic_save({"fingerprint": fingerprint, "epoch": epoch, "model": model.state_dict(),
                      "optimizer": opt.state_dict(), "history": history}, state_path)
        # logged once saved: an epoch in the log survives a kill
        log(f"epoch {epoch:3d}/{recipe.max_epochs}  loss {rec['loss']:.4f}  "
            f"train_acc {rec['train_acc']:.4f}  lr {lr:.4g}  {rec['images_per_s']:.0f} img/s  {dt:.1f}s")
        epochs_this_call += 1
        if stop_after_epochs is not None and epochs_this_call >= stop_after_epochs and not done \
                and epoch < recipe.max_epochs:
            log(f"stopping after {epochs_this_call} epochs as asked (state kept in {state_path})")
            return {"interrupted": True, "epoch": epoch}

    stop_reason = "train_acc" if done else "max_epochs"
    metrics: dict[str, Any] = {
        "arch": arch, "width": width, "seed": seed, "subset_size": int(n),
        "parameters": count_parameters(model), "epochs": epoch, "stop_reason": stop_reason,
        "final_train_acc": history[-1]["train_acc"] if history else float("nan"),
        "final_loss": history[-1]["loss"] if history else float("nan"),
        "train_seconds": sum(h["seconds"] for h in history),
        "device": str(dev), "history": history,
    }
    if test is not None:
        xt = to_input(test.images, mean, std, dev).contiguous(memory_format=fmt)
        yt = torch.as_tensor(test.labels, device=dev)
        metrics["test_acc"] = evaluate(model, xt, yt, amp_dtype=opts["amp_dtype"])
        log(f"test accuracy {metrics['test_acc']:.4f}")
    # checkpoints past the stopping point are the final weights
    final_state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    if checkpoint_dir is not None:
        cdir = Path(checkpoint_dir)
        cdir.mkdir(parents=True, exist_ok=True)
        for e in sorted(want_ckpt):
            src = ckpt_tmp / f"epoch{e:03d}.pt"
            dst = cdir / f"epoch{e:03d}.pt"
            if src.exists():
                shutil.copyfile(src, dst)
            else:
                _atomic_save(final_state, dst)
    payload = {
        "state_dict": final_state, "arch": arch, "width": width,
        "num_classes": train.num_classes, "in_channels": in_channels, "classes": list(train.classes),
        "mean": mean, "std": std, "seed": seed, "subset": subset.astype(np.int32),
        "metrics": {k: v for k, v in metrics.items() if k != "history"}, "meta": meta or {},
    }
    _atomic_save(payload, out_path)
    state_path.unlink(missing_ok=True)
    shutil.rmtree(ckpt_tmp, ignore_errors=True)
    return metrics


def _describe_fast(opts: dict[str, Any]) -> str:
    return (f"autocast {'bf16' if opts['amp_dtype'] is not None else 'off'}, "
            f"channels_last {'on' if opts['channels_last'] else 'off'}, "
            f"compile {opts['compile'] or 'off'}")


def _should_stop(rec: dict[str, float], recipe: Recipe) -> bool:
    return recipe.stop_at_train_acc is not None and rec["train_acc"] >= recipe.stop_at_train_acc - 1e-12


def initial_model(arch: str, num_classes: int, width: float, in_channels: int, seed: int) -> torch.nn.Module:
    """The member's weights before training: the model built right after seeding torch with
    ``seed`` (what :func:`train_member` starts from; the width study's random-init baseline)."""
    torch.manual_seed(seed)
    return build_model(arch, num_classes, width, in_channels)


def load_member(path: str | os.PathLike, device: str | torch.device = "cpu") -> tuple[torch.nn.Module, dict[str, Any]]:
    """Rebuild a trained member from :func:`train_member`'s output file."""
    payload = torch.load(Path(path), map_location=device, weights_only=False)
    model = build_model(payload["arch"], payload["num_classes"], payload["width"], payload["in_channels"])
    model.load_state_dict(payload["state_dict"])
    return model.to(device).eval(), payload
