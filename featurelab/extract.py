"""Run a trained member over a split and write its activations."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

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
                              payload["seed"]).to(dev).eval()
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
