"""Training of one member, in one readable loop.

The recipe (:class:`featurelab.training.Recipe`) says what is computed; the data sits on the
device as one normalised tensor and a batch is an index into it (:mod:`.inputs`); the
bookkeeping every run shares (epoch lines, stopping, checkpoints, the resumable state, the
payload) is :mod:`.bookkeeping`. The fast path on a GPU (:class:`~featurelab.training.FastPath`,
the config's ``train`` section): bfloat16 autocast, channels-last tensors, cuDNN autotuning
and, optionally, ``torch.compile``; ``auto`` leaves the CPU on the plain float32 loop.

Reproducibility: the member's training subset, its initialisation, its batch order and its
augmentation all derive from its ``seed``, so the same seed gives the same weights bit for
bit on the CPU (with the same thread count).
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F

from ..data.prepared import Split
from ..models import build_model, count_parameters
from .adversarial import adversarial_batch
from .augment import Augmenter
from .bookkeeping import (
    Checkpoints,
    atomic_save,
    cpu_state,
    epoch_line,
    epoch_record,
    member_metrics,
    member_payload,
    resume_state,
    save_state,
    should_stop,
)
from .inputs import batch_order, channel_stats, data_fingerprint, member_subset, to_input, usable_points
from .recipe import FastPath, Recipe, autocast, compiled, describe_fast, run_setup, sgd


def initial_model(arch: str, num_classes: int, width: float, in_channels: int, seed: int,
                  image_size: int | None = None) -> torch.nn.Module:
    """The member's weights before training: the model built right after seeding torch with
    ``seed`` (what :func:`train_member` starts from; the width study's random-init baseline)."""
    torch.manual_seed(seed)
    return build_model(arch, num_classes, width, in_channels, image_size)


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
    heldout: Split | None = None,
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
    ``e`` in ``recipe.checkpoint_epochs``. ``stop_after_epochs`` simulates a killed job
    (tests): training stops after that many epochs in this call, leaving the state behind,
    and returns ``{"interrupted": True}``. ``fast``: the :class:`FastPath` options (default
    ``auto``: bf16 and channels-last on CUDA only). ``heldout``: the split whose accuracy,
    measured after every epoch, the recipe's ``stop_at_heldout_acc`` stops on.

    ``recipe.label_smoothing`` smooths the cross-entropy's targets; ``recipe.mixup`` = α > 0
    trains on mixup minibatches (Zhang et al., ICLR 2018): λ ~ Beta(α, α) per minibatch, the
    minibatch mixed with a permutation of itself, the loss λ·CE(y) + (1 − λ)·CE(y_perm); λ and
    the permutation come from a generator of the member's seed and the epoch (a resumed run
    draws the same). Its training accuracy is measured against the unmixed labels.

    A recipe with a ``simclr`` section trains by the contrastive framework instead
    (:func:`featurelab.training.contrastive.train_simclr_member`: SimCLR pre-training, then the
    linear layer on the frozen encoder), with these same arguments and outputs.

    ``recipe.adv_steps`` > 0 trains on PGD adversarial examples of every (augmented)
    minibatch (:mod:`.adversarial`; Zhang et al., ICML 2024, App. F.4); the noise comes from a
    generator of the member's seed and the epoch. Its training accuracy is on those inputs.
    """
    if recipe.simclr is not None:
        from .contrastive import train_simclr_member

        return train_simclr_member(train, arch=arch, width=width, seed=seed, recipe=recipe, subset_size=subset_size,
                                   test=test, heldout=heldout, out_path=out_path, state_path=state_path,
                                   checkpoint_dir=checkpoint_dir, device=device, threads=threads, meta=meta, log=log,
                                   stop_after_epochs=stop_after_epochs, fast=fast)
    if recipe.stop_at_heldout_acc is not None and heldout is None:
        raise ValueError("the recipe stops on a held-out accuracy (stop_at_heldout_acc) but no held-out split "
                         "was given")
    out_path, state_path = Path(out_path), Path(state_path)
    subset = member_subset(len(train), subset_size, seed)
    dev, opts, recipe, fingerprint = run_setup(
        device, threads, fast, recipe, len(subset),
        {"arch": arch, "width": width, "seed": seed, "subset_size": subset_size, "data": data_fingerprint(train)}, log)
    fmt = torch.channels_last if opts["channels_last"] else torch.contiguous_format
    mean, std = channel_stats(train.images)
    x = to_input(train.images[subset], mean, std, dev).contiguous(memory_format=fmt)
    y = torch.as_tensor(train.labels[subset], device=dev)
    n = x.shape[0]
    augment = Augmenter(recipe.augment, recipe.pad, recipe.pad_color, mean, std, seed, recipe.pad_mode)

    model = initial_model(arch, train.num_classes, width, train.images.shape[-1], seed,
                          train.images.shape[1]).to(dev, memory_format=fmt)

    smooth = recipe.label_smoothing

    def forward_loss(xb: torch.Tensor, yb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        with autocast(dev, opts["amp_dtype"]):
            out = model(xb)
        return F.cross_entropy(out.float(), yb, label_smoothing=smooth), out

    if heldout is not None and recipe.stop_at_heldout_acc is not None:
        xh = to_input(heldout.images, mean, std, dev).contiguous(memory_format=fmt)
        yh = torch.as_tensor(heldout.labels, device=dev)

    step = compiled(forward_loss, opts["compile"])  # the loss inside the compiled (graph-replayed) part
    opt = sgd(model.parameters(), recipe, dev)
    ckpts = Checkpoints(state_path, recipe.checkpoint_epochs)
    state = resume_state(state_path, fingerprint, model, opt, dev, log)
    history: list[dict[str, float]] = state["history"] if state else []
    epoch = state["epoch"] if state else 0
    augment.restore(state.get("augment") if state else None)
    if epoch == 0:
        ckpts.keep(0, model.state_dict)

    log(f"training {arch} width {width} seed {seed} on {n} images "
        f"({count_parameters(model):,} parameters) on {dev}, threads {torch.get_num_threads()}"
        + (f", {describe_fast(opts)}" if dev.type != "cpu" or opts["amp_dtype"] or opts["compile"] else "")
        + (f", augmentation {recipe.augment}" if recipe.augment else ""))
    bs, n_used = recipe.batch_size, usable_points(n, recipe.batch_size)
    n_batches = -(-n_used // bs)
    # mid-epoch held-out checks (the epoch's end is checked below, as every epoch's)
    checks = recipe.heldout_check_batches(n_batches) - {n_batches}
    done = bool(history) and should_stop(history[-1], recipe)
    epochs_this_call = 0
    while not done and epoch < recipe.max_epochs:
        lr = recipe.lr_at(epoch)
        for g in opt.param_groups:
            g["lr"] = lr
        model.train()
        perm = batch_order(seed, epoch, n).to(dev)
        mix = np.random.default_rng([int(seed), epoch, 77]) if recipe.mixup > 0 else None
        adv_gen = torch.Generator().manual_seed(int(seed) * 1_000_003 + epoch * 7 + 3) if recipe.adversarial else None
        t0 = time.perf_counter()
        loss_sum = torch.zeros((), device=dev)
        correct = torch.zeros((), device=dev, dtype=torch.long)
        for i in range(0, n_used, bs):
            idx = perm[i:i + bs]
            xb, yb = x[idx], y[idx]
            if recipe.augment:
                xb = augment(xb).contiguous(memory_format=fmt)
            if recipe.adversarial:  # PGD on the (augmented) minibatch: Zhang et al. 2024, App. F.4
                xb = adversarial_batch(model, xb, yb, mean, std, recipe, epoch, adv_gen).contiguous(
                    memory_format=fmt)
            if mix is not None:
                lam = torch.tensor(mix.beta(recipe.mixup, recipe.mixup), device=dev, dtype=xb.dtype)
                other = torch.as_tensor(mix.permutation(yb.shape[0]), device=dev)
                with autocast(dev, opts["amp_dtype"]):
                    out = model(lam * xb + (1 - lam) * xb[other])
                loss = lam * F.cross_entropy(out.float(), yb, label_smoothing=smooth) \
                    + (1 - lam) * F.cross_entropy(out.float(), yb[other], label_smoothing=smooth)
            else:
                loss, out = step(xb, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += loss.detach() * yb.shape[0]
            correct += (out.detach().argmax(1) == yb).sum()
            b = i // bs + 1
            if b in checks:
                acc = evaluate(model, xh, yh, amp_dtype=opts["amp_dtype"])
                model.train()
                if acc >= recipe.stop_at_heldout_acc - 1e-12:
                    seen = min(n_used, b * bs)
                    part = epoch_record(round(epoch + b / n_batches, 4), lr, loss_sum.item() / seen,
                                        correct.item() / seen, time.perf_counter() - t0, seen)
                    part["heldout_acc"] = acc
                    break
        else:
            part = None
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        if part is not None:  # stopped within the epoch: its record is the part trained
            history.append(part)
            log(epoch_line(part, recipe.max_epochs, f"  (stopped after {b} of {n_batches} minibatches)"))
            epoch += 1
            done = True
            break
        epoch += 1
        rec = epoch_record(epoch, lr, loss_sum.item() / n_used, correct.item() / n_used,
                           time.perf_counter() - t0, n_used)
        if recipe.stop_at_heldout_acc is not None:
            rec["heldout_acc"] = evaluate(model, xh, yh, amp_dtype=opts["amp_dtype"])
        history.append(rec)
        ckpts.keep(epoch, model.state_dict)
        done = should_stop(rec, recipe)
        save_state(state_path, fingerprint, epoch, model, opt, history=history,
                   **({"augment": augment.state()} if recipe.augment else {}))
        log(epoch_line(rec, recipe.max_epochs))  # logged once saved: an epoch in the log survives a kill
        epochs_this_call += 1
        if stop_after_epochs is not None and epochs_this_call >= stop_after_epochs and not done \
                and epoch < recipe.max_epochs:
            log(f"stopping after {epochs_this_call} epochs as asked (state kept in {state_path})")
            return {"interrupted": True, "epoch": epoch}

    metrics = member_metrics(arch=arch, width=width, seed=seed, n=n, parameters=count_parameters(model),
                             history=history, epochs=epoch, recipe=recipe, device=dev)
    if test is not None:
        xt = to_input(test.images, mean, std, dev).contiguous(memory_format=fmt)
        metrics["test_acc"] = evaluate(model, xt, torch.as_tensor(test.labels, device=dev), amp_dtype=opts["amp_dtype"])
        log(f"test accuracy {metrics['test_acc']:.4f}")
    final = cpu_state(model.state_dict())
    ckpts.publish(checkpoint_dir, final)
    atomic_save(member_payload(final, train=train, mean=mean, std=std, subset=subset, metrics=metrics, meta=meta),
                out_path)
    state_path.unlink(missing_ok=True)
    ckpts.discard()
    return metrics


def load_member(path: str | os.PathLike, device: str | torch.device = "cpu") -> tuple[torch.nn.Module, dict[str, Any]]:
    """Rebuild a trained member from :func:`train_member`'s output file."""
    payload = torch.load(Path(path), map_location=device, weights_only=False)
    model = build_model(payload["arch"], payload["num_classes"], payload["width"], payload["in_channels"],
                        payload.get("image_size"))
    model.load_state_dict(payload["state_dict"])
    return model.to(device).eval(), payload
