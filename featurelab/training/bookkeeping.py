"""What solo and packed training keep alike: the epoch record and its log line, the stopping
rule, per-epoch checkpoints, the resumable state and the saved payload.

A member's run leaves the same files whether it trained alone (:mod:`.solo`) or in a pack
(:mod:`.packed`): ``model.pt`` (:func:`member_payload`: weights, normalisation, subset,
metrics), its metrics (:func:`member_metrics`: one :func:`epoch_record` per epoch) and the
checkpoints its recipe asks for. The resumable state (weights, optimiser, history,
checkpoints so far) is saved atomically after every epoch at ``state_path``, which is not a
Snakemake output: a killed job, rerun, resumes from its last finished epoch and ends with
exactly the weights of an uninterrupted run.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from ..data.prepared import Split
from .recipe import Recipe


def atomic_save(obj: Any, path: Path) -> None:
    """``torch.save`` to a temporary name, then rename: a reader never sees half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def epoch_record(epoch: int, lr: float, loss: float, train_acc: float, seconds: float, n_used: int) -> dict[str, float]:
    """One epoch of one member's history (1-based ``epoch``)."""
    return {"epoch": epoch, "lr": lr, "loss": loss, "train_acc": train_acc, "seconds": seconds,
            "images_per_s": n_used / seconds}


def epoch_line(rec: dict[str, float], max_epochs: int, note: str = "") -> str:
    """The log line of one epoch: what a person follows in ``tail -f`` of a training log."""
    e = rec["epoch"]
    e = f"{e:3d}" if float(e).is_integer() else f"{e:.2f}"  # a fraction: stopped within the epoch
    return (f"epoch {e}/{max_epochs}  loss {rec['loss']:.4f}  train_acc {rec['train_acc']:.4f}  "
            + (f"heldout_acc {rec['heldout_acc']:.4f}  " if "heldout_acc" in rec else "")
            + f"lr {rec['lr']:.4g}  {rec['images_per_s']:.0f} img/s  {rec['seconds']:.1f}s{note}")


def should_stop(rec: dict[str, float], recipe: Recipe) -> bool:
    """The recipe's stopping rule: the epoch's training accuracy reached ``stop_at_train_acc``,
    or its held-out accuracy (``heldout_acc``, when measured) reached ``stop_at_heldout_acc``."""
    if recipe.stop_at_heldout_acc is not None and rec.get("heldout_acc", -1.0) >= recipe.stop_at_heldout_acc - 1e-12:
        return True
    return recipe.stop_at_train_acc is not None and rec["train_acc"] >= recipe.stop_at_train_acc - 1e-12


class Checkpoints:
    """The per-epoch weights a recipe asks for (``checkpoint_epochs``; epoch 0 = the
    initialisation), kept beside the resumable state until the run ends, then published to
    the member's checkpoint folder; an epoch past the member's stopping point gets its final
    weights. ``member`` names a pack member's subfolder."""

    def __init__(self, state_path: Path, epochs: tuple[int, ...]) -> None:
        self.tmp = Path(state_path).with_name(Path(state_path).name + ".checkpoints")
        self.epochs = set(epochs)

    def _path(self, epoch: int, member: int | None) -> Path:
        return (self.tmp if member is None else self.tmp / f"member{member}") / f"epoch{epoch:03d}.pt"

    def keep(self, epoch: int, state_dict: Callable[[], dict[str, torch.Tensor]], member: int | None = None) -> None:
        """Save the weights after ``epoch`` if the recipe asks for them (``state_dict`` is
        called only then)."""
        if epoch in self.epochs:
            atomic_save(state_dict(), self._path(epoch, member))

    def publish(self, dest: str | os.PathLike | None, final_state: dict[str, torch.Tensor],
                member: int | None = None) -> None:
        if dest is None:
            return
        dest = Path(dest)
        dest.mkdir(parents=True, exist_ok=True)
        for e in sorted(self.epochs):
            src = self._path(e, member)
            if src.exists():
                shutil.copyfile(src, dest / f"epoch{e:03d}.pt")
            else:  # past the member's stopping point: its final weights
                atomic_save(final_state, dest / f"epoch{e:03d}.pt")

    def discard(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


def resume_state(state_path: Path, fingerprint: str, module: torch.nn.Module, opt: torch.optim.Optimizer,
                 dev: torch.device, log: Callable[[str], None]) -> dict[str, Any] | None:
    """Restore ``module`` and ``opt`` from the resumable state at ``state_path`` and return
    that state, when it was written for this ``fingerprint``. A state written for another
    configuration is ignored and its kept checkpoints removed; returns None then, and when
    there is no state."""
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


def save_state(state_path: Path, fingerprint: str, epoch: int, module: torch.nn.Module, opt: torch.optim.Optimizer,
               **extra: Any) -> None:
    """The resumable state after ``epoch``: weights, optimiser and whatever the loop needs."""
    atomic_save({"fingerprint": fingerprint, "epoch": epoch, "model": module.state_dict(),
                 "optimizer": opt.state_dict(), **extra}, state_path)


def member_metrics(*, arch: str, width: float, seed: int, n: int, parameters: int, history: list[dict[str, float]],
                   epochs: int, recipe: Recipe, device: torch.device, **extra: Any) -> dict[str, Any]:
    """A member's metrics: identity, epochs and why it stopped, final accuracy and loss, time."""
    done = bool(history) and should_stop(history[-1], recipe)
    heldout = done and recipe.stop_at_heldout_acc is not None \
        and history[-1].get("heldout_acc", -1.0) >= recipe.stop_at_heldout_acc - 1e-12
    return {"arch": arch, "width": width, "seed": int(seed), "subset_size": int(n), "parameters": parameters,
            "epochs": epochs, "stop_reason": ("heldout_acc" if heldout else "train_acc") if done else "max_epochs",
            "final_train_acc": history[-1]["train_acc"] if history else float("nan"),
            "final_loss": history[-1]["loss"] if history else float("nan"),
            "train_seconds": sum(h["seconds"] for h in history), "device": str(device), **extra,
            "history": history}


def member_payload(state_dict: dict[str, torch.Tensor], *, train: Split, mean: list[float], std: list[float],
                   subset: np.ndarray, metrics: dict[str, Any], meta: dict[str, Any] | None) -> dict[str, Any]:
    """What ``model.pt`` holds (:func:`featurelab.training.load_member` reads it back)."""
    return {"state_dict": state_dict, "arch": metrics["arch"], "width": metrics["width"],
            "num_classes": train.num_classes, "in_channels": train.images.shape[-1],
            "image_size": train.images.shape[1], "classes": list(train.classes),
            "mean": mean, "std": std, "seed": metrics["seed"], "subset": subset.astype(np.int32),
            "metrics": {k: v for k, v in metrics.items() if k != "history"}, "meta": dict(meta or {})}


def cpu_state(module_state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Contiguous CPU copies of a state dict (what is saved)."""
    return {k: v.detach().cpu().contiguous() for k, v in module_state.items()}
