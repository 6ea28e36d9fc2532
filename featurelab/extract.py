"""Run a trained member over a split and write its activations to Parquet
(:mod:`featurelab.activations`): the layers and splits a config asks for, the checkpoint
epochs of Fig 2a, and the width study's features trained and at initialisation."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch

from .activations import write_activations
from .architecture import LAYERS
from .data.prepared import Split
from .training.inputs import to_input
from .training.recipe import select_device
from .training.solo import initial_model, load_member


@torch.no_grad()
def compute_activations(model: torch.nn.Module, payload: dict[str, Any], split: Split,
                        layers: tuple[str, ...], device: torch.device,
                        batch_size: int = 500) -> dict[str, np.ndarray]:
    """Forward ``split`` through ``model``; returns ``logits`` and each layer, float32."""
    bad = [layer for layer in layers if layer not in LAYERS]
    if bad:
        raise ValueError(f"unknown layer(s) {bad}; allowed: {', '.join(LAYERS)}")
    model.eval()
    chunks: dict[str, list[np.ndarray]] = {k: [] for k in (*layers, "logits")}
    for i in range(0, len(split), batch_size):
        x = to_input(split.images[i:i + batch_size], payload["mean"], payload["std"], device)
        out = model.features(x, tuple(layers))
        for k in chunks:
            chunks[k].append(out[k].float().cpu().numpy())
    return {k: np.concatenate(v) if v else np.zeros((0, 0), np.float32) for k, v in chunks.items()}


def extract_member(model_path: str | os.PathLike, split: Split, split_name: str,
                   outputs: dict[str, str | os.PathLike], *, state_dict_path: str | os.PathLike | None = None,
                   epoch: int | None = None, init: bool = False, device: str = "auto", batch_size: int = 500,
                   meta: dict[str, Any] | None = None, log: Callable[[str], None] = print) -> None:
    """Write one Parquet file per layer (``outputs``: layer → path) for one member.

    ``state_dict_path`` swaps in the weights of a per-epoch checkpoint (Fig 2a); ``init``
    the member's weights at its random initialisation (:func:`featurelab.training.initial_model`,
    epoch 0; the width study's baseline).
    """
    dev = select_device(device)
    model, payload = load_member(model_path, dev)
    if split.num_classes != payload["num_classes"]:
        raise ValueError(f"{model_path} has {payload['num_classes']} classes, the {split_name} split "
                         f"has {split.num_classes}")
    if state_dict_path is not None and init:
        raise ValueError("give state_dict_path or init, not both")
    if state_dict_path is not None:
        model.load_state_dict(torch.load(state_dict_path, map_location=dev, weights_only=True))
    if init:
        model = initial_model(payload["arch"], payload["num_classes"], payload["width"], payload["in_channels"],
                              payload["seed"], payload.get("image_size")).to(dev).eval()
        epoch = 0
    layers = tuple(outputs)
    acts = compute_activations(model, payload, split, layers, dev, batch_size)
    pred = acts["logits"].argmax(1)
    acc = float((pred == split.labels).mean()) if len(split) else float("nan")
    log(f"{split_name}: {len(split)} points, accuracy {acc:.4f}")
    base = {**payload.get("meta", {}), **(meta or {}), "arch": payload["arch"], "width": payload["width"],
            "seed": payload["seed"], "subset_size": int(len(payload["subset"])), "split": split_name,
            "epoch": epoch if epoch is not None else payload["metrics"]["epochs"],
            "accuracy": acc}
    for layer, path in outputs.items():
        write_activations(path, index=np.arange(len(split)), label=split.labels, prediction=pred,
                          logits=acts["logits"], activation=acts[layer],
                          metadata={**base, "layer": layer})
        log(f"wrote {Path(path)} ({acts[layer].shape[1]} dims)")


def extract_activations(model_path: str | os.PathLike, splits: Mapping[str, Split], layers: Sequence[str],
                        out_dir: str | os.PathLike, **kw: Any) -> None:
    """``out_dir/<layer>/<split>.parquet`` for every layer and split (the trained weights)."""
    out = Path(out_dir)
    for name, split in splits.items():
        extract_member(model_path, split, name, {layer: out / layer / f"{name}.parquet" for layer in layers}, **kw)


def extract_epochs(model_path: str | os.PathLike, checkpoints: str | os.PathLike, split: Split, split_name: str,
                   layer: str, epochs: Sequence[int], out_dir: str | os.PathLike, **kw: Any) -> None:
    """``out_dir/epoch<e>/<layer>/<split>.parquet`` with the weights of each checkpoint epoch
    (Jiang, Baek, Kolter, ICLR 2024, Fig 2a); ``out_dir`` is created even without epochs."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for e in epochs:
        ckpt = Path(checkpoints) / f"epoch{e:03d}.pt"
        if not ckpt.exists():
            raise FileNotFoundError(f"{ckpt} is missing: add epoch {e} to the recipe's checkpoint_epochs")
        extract_member(model_path, split, split_name, {layer: out / f"epoch{e:03d}" / layer / f"{split_name}.parquet"},
                       state_dict_path=ckpt, epoch=e, **kw)


def extract_features(model_path: str | os.PathLike, splits: Mapping[str, Split], states: Sequence[str],
                     out_dir: str | os.PathLike, *, meta: dict[str, Any] | None = None, **kw: Any) -> None:
    """``out_dir/<state>/<split>.parquet``: the penultimate features of every split with the
    trained weights (``trained``) and at the random initialisation (``init``; Duzgun, Jelassi,
    Li, arXiv 2407.00968, 2024, App. A.3), as the width study reads them."""
    out = Path(out_dir)
    for name, split in splits.items():
        for state in states:
            extract_member(model_path, split, name, {"penultimate": out / state / f"{name}.parquet"},
                           init=state == "init", meta={**(meta or {}), "state": state}, **kw)
