"""Representation distillation of one student: a network of the teacher's architecture trained by
mean squared error to reproduce the teacher's penultimate representation, as in Zhang et al.,
"Feature Contamination: Neural Networks Learn Uncorrelated Features and Fail to Generalize"
(ICML 2024), Sec. 2 and App. E (there CLIP teachers, AdamW; here the workflow's recipe).

The loss of a batch is mean over its images and features of (φ_s(x) − φ_t(x))², φ the
penultimate representation (the input of the final linear layer); the teacher's
representation of every training image is computed once, before training, in eval mode. The
student's own linear layer is not trained (its logits mean nothing): what it has learned is
read by a linear probe on its representation. The recipe gives the optimiser (SGD with
momentum and weight decay), the batch size, the learning-rate schedule and ``max_epochs``;
a distilled student trains ``max_epochs`` (there is no training accuracy to stop at). The
epoch line, resumable state, seeding and saved payload are those of every member
(:mod:`.bookkeeping`, :mod:`.inputs`), so the student loads with
:func:`featurelab.training.load_member`.
"""
from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from ..data.prepared import Split
from ..models import count_parameters
from .bookkeeping import (
    atomic_save,
    cpu_state,
    epoch_line,
    epoch_record,
    member_metrics,
    member_payload,
    resume_state,
    save_state,
)
from .inputs import batch_order, data_fingerprint, to_input, usable_points
from .recipe import Recipe, run_setup, sgd
from .solo import initial_model, load_member


@torch.no_grad()
def penultimate(model: torch.nn.Module, x: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
    """The penultimate representation of every row of the normalised NCHW tensor ``x``."""
    model.eval()
    return torch.cat([model.features(x[i:i + batch_size], ("penultimate",))["penultimate"].float()
                      for i in range(0, x.shape[0], batch_size)])


def distill_member(train: Split, teacher_path: str | os.PathLike, *, seed: int, recipe: Recipe,
                   out_path: str | os.PathLike, state_path: str | os.PathLike, device: str = "auto",
                   threads: int | None = None, meta: dict[str, Any] | None = None,
                   log: Callable[[str], None] = print) -> dict[str, Any]:
    """Train a student of the teacher's architecture and width from ``seed`` on every image of
    ``train`` (normalised with the teacher's channel statistics) and write it to
    ``out_path``; returns its metrics (``final_loss``: the last epoch's mean squared error)."""
    out_path, state_path = Path(out_path), Path(state_path)
    recipe = dataclasses.replace(recipe, stop_at_train_acc=None, augment=None)
    teacher, tp = load_member(teacher_path, "cpu")
    if tp["num_classes"] != train.num_classes or tp["in_channels"] != train.images.shape[-1]:
        raise ValueError(f"{teacher_path}: the teacher has {tp['num_classes']} classes and {tp['in_channels']} "
                         f"channels, the training split {train.num_classes} and {train.images.shape[-1]}")
    arch, width = tp["arch"], tp["width"]
    dev, _, recipe, fingerprint = run_setup(
        device, threads, {"amp": "fp32", "channels_last": False, "compile": False}, recipe, len(train),
        {"arch": arch, "width": width, "seed": seed, "teacher": str(tp["metrics"].get("seed")),
         "teacher_meta": tp.get("meta", {}), "data": data_fingerprint(train), "objective": "distill"}, log)
    mean, std = tp["mean"], tp["std"]
    x = to_input(train.images, mean, std, dev)
    target = penultimate(teacher.to(dev), x)
    del teacher
    n = x.shape[0]
    model = initial_model(arch, train.num_classes, width, train.images.shape[-1], seed).to(dev)
    opt = sgd(model.parameters(), recipe, dev)
    state = resume_state(state_path, fingerprint, model, opt, dev, log)
    history: list[dict[str, float]] = state["history"] if state else []
    epoch = state["epoch"] if state else 0
    log(f"distilling {arch} width {width} seed {seed} from the teacher's {target.shape[1]} penultimate features on "
        f"{n} images ({count_parameters(model):,} parameters) on {dev}, threads {torch.get_num_threads()}; "
        f"target variance {target.var().item():.4g}")
    bs, n_used = recipe.batch_size, usable_points(n, recipe.batch_size)
    while epoch < recipe.max_epochs:
        lr = recipe.lr_at(epoch)
        for g in opt.param_groups:
            g["lr"] = lr
        model.train()
        perm = batch_order(seed, epoch, n).to(dev)
        t0 = time.perf_counter()
        loss_sum = torch.zeros((), device=dev)
        for i in range(0, n_used, bs):
            idx = perm[i:i + bs]
            out = model.features(x[idx], ("penultimate",))["penultimate"]
            loss = torch.nn.functional.mse_loss(out.float(), target[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += loss.detach() * idx.shape[0]
        epoch += 1
        # the record's accuracy field holds nothing here: a student has no training accuracy
        rec = epoch_record(epoch, lr, loss_sum.item() / n_used, float("nan"), time.perf_counter() - t0, n_used)
        history.append(rec)
        save_state(state_path, fingerprint, epoch, model, opt, history=history)
        log(epoch_line(rec, recipe.max_epochs, note="  (loss: mean squared error to the teacher)"))

    fit = penultimate(model, x)
    r2 = 1.0 - float(((fit - target) ** 2).sum() / ((target - target.mean(0)) ** 2).sum())
    metrics = member_metrics(arch=arch, width=width, seed=seed, n=n, parameters=count_parameters(model),
                             history=history, epochs=epoch, recipe=recipe, device=dev, objective="distill",
                             train_r2=r2)
    log(f"the student reproduces the teacher's training representation with R² {r2:.4f}")
    atomic_save(member_payload(cpu_state(model.state_dict()), train=train, mean=mean, std=std,
                               subset=np.arange(n), metrics=metrics, meta=meta), out_path)
    state_path.unlink(missing_ok=True)
    return metrics
