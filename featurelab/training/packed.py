"""Packed training: several members of one model group as one grouped network.

A narrow network (width 1/8, 1/16) leaves a GPU mostly idle. :func:`train_pack` trains
``G`` members of one ensemble in one process as *one* network whose every layer is
the ``G`` members' layers side by side:

* every convolution becomes a grouped convolution (``groups = G``) over ``G·C``
  channels, member ``g`` owning channels ``g·C .. (g+1)·C − 1`` of every layer;
* batch norm is per channel anyway, so one ``BatchNorm2d(G·C)`` is ``G`` independent
  ones (each channel's statistics come from its own member's minibatch);
* the final linear layer is a batched matrix product (:class:`PackedLinear`);
* the stem takes the ``G`` members' minibatches stacked along the channel dimension.

Each member keeps exactly what :func:`featurelab.training.train_member` would give it: its
initialisation (:func:`featurelab.training.initial_model` with its own seed, copied into its
slices), its own training subset (:func:`featurelab.training.inputs.member_subset`), its own batch
order (the same ``torch.randperm`` generator per epoch) and the same normalisation.
The loss is the sum of the members' mean losses, so each member's gradient is its own;
SGD with momentum and weight decay acts element by element, so each member follows
the maths of its solo run (up to floating-point rounding of the grouped kernels).

Stopping (``stop_at_train_acc``): a member that reaches it after epoch ``e`` has its
weights recorded at ``e`` (what it would have stopped with alone) and leaves the loss;
its slices keep riding along until the whole pack ends, and are replaced by the
recorded weights before the test evaluation and in every output. Checkpoint epochs
past a member's stop get its final weights, as in ``train_member``.

At the end the pack is unpacked into exactly the per-member files of ``train_member``
(a payload :func:`featurelab.training.load_member` reads, per-epoch checkpoints), so
everything downstream is unchanged. A killed pack resumes from its last finished epoch
(one resumable state per pack).
"""
from __future__ import annotations

import copy
import os
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..data.prepared import Split
from ..models import count_parameters
from . import bookkeeping as book
from .augment import Augmenter
from .inputs import batch_order, channel_stats, data_fingerprint, member_subset, to_input, usable_points
from .recipe import FastPath, Recipe, autocast, compiled, describe_fast, run_setup, sgd
from .solo import initial_model


class PackedLinear(nn.Module):
    """``G`` linear layers applied to ``G`` blocks of the input: ``(B, G·D) → (B, G, K)``."""

    def __init__(self, groups: int, in_features: int, out_features: int) -> None:
        super().__init__()
        self.groups, self.in_features, self.out_features = groups, in_features, out_features
        self.weight = nn.Parameter(torch.empty(groups, out_features, in_features))
        self.bias = nn.Parameter(torch.empty(groups, out_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x.reshape(x.shape[0], self.groups, self.in_features)
        return torch.einsum("bgd,gkd->bgk", h, self.weight) + self.bias


def _pack_module(mods: Sequence[nn.Module]) -> nn.Module:
    G, m = len(mods), mods[0]
    if isinstance(m, nn.Conv2d):
        p = nn.Conv2d(G * m.in_channels, G * m.out_channels, m.kernel_size, m.stride, m.padding,
                      m.dilation, groups=G * m.groups, bias=m.bias is not None, padding_mode=m.padding_mode)
        with torch.no_grad():
            p.weight.copy_(torch.cat([k.weight for k in mods]))
            if m.bias is not None:
                p.bias.copy_(torch.cat([k.bias for k in mods]))
        return p
    if isinstance(m, nn.BatchNorm2d):
        p = nn.BatchNorm2d(G * m.num_features, m.eps, m.momentum, m.affine, m.track_running_stats)
        with torch.no_grad():
            for name in ("weight", "bias", "running_mean", "running_var"):
                if getattr(m, name) is not None:
                    getattr(p, name).copy_(torch.cat([getattr(k, name) for k in mods]))
            if m.num_batches_tracked is not None:
                p.num_batches_tracked.copy_(m.num_batches_tracked)
        return p
    if isinstance(m, nn.Linear):
        p = PackedLinear(G, m.in_features, m.out_features)
        with torch.no_grad():
            p.weight.copy_(torch.stack([k.weight for k in mods]))
            p.bias.copy_(torch.stack([k.bias for k in mods]))
        return p
    if any(True for _ in m.parameters(recurse=False)) or any(True for _ in m.buffers(recurse=False)):
        raise TypeError(f"cannot pack {type(m).__name__}: only Conv2d, BatchNorm2d and Linear hold weights")
    p = copy.copy(m)  # the module's code and plain attributes; fresh children
    p._parameters, p._buffers, p._modules = OrderedDict(), OrderedDict(), OrderedDict()
    for name in m._modules:
        p._modules[name] = _pack_module([k._modules[name] for k in mods])
    return p


def pack_models(models: Sequence[nn.Module]) -> nn.Module:
    """One grouped network holding ``models`` (same architecture and width) side by side.

    Its ``forward`` takes ``(B, G·C_in, H, W)`` (member ``g``'s input in channels
    ``g·C_in..``) and returns logits ``(B, G, K)``; ``features()`` returns blocks and the
    penultimate layer as ``(B, G·D)``."""
    if not models:
        raise ValueError("nothing to pack")
    packed = _pack_module(models)
    packed.groups = len(models)
    return packed


def _member_tensors(packed: nn.Module, g: int) -> "OrderedDict[str, torch.Tensor]":
    G = packed.groups
    out: OrderedDict[str, torch.Tensor] = OrderedDict()
    for name, mod in packed.named_modules():
        prefix = f"{name}." if name else ""
        if isinstance(mod, PackedLinear):
            out[prefix + "weight"], out[prefix + "bias"] = mod.weight[g], mod.bias[g]
        elif isinstance(mod, (nn.Conv2d, nn.BatchNorm2d)):
            for key, t in [*mod._parameters.items(), *mod._buffers.items()]:
                if t is not None:
                    out[prefix + key] = t if t.ndim == 0 else t.chunk(G, 0)[g]
    return out


def member_state(packed: nn.Module, g: int) -> dict[str, torch.Tensor]:
    """Member ``g``'s ``state_dict`` (CPU copies), loadable into ``build_model(...)``."""
    return {k: v.detach().cpu().clone(memory_format=torch.contiguous_format)
            for k, v in _member_tensors(packed, g).items()}


@torch.no_grad()
def set_member_state(packed: nn.Module, g: int, state: dict[str, torch.Tensor]) -> None:
    """Write a member's ``state_dict`` into its slices of ``packed``."""
    views = _member_tensors(packed, g)
    if views.keys() != state.keys():
        raise KeyError(f"state keys differ: {sorted(set(views) ^ set(state))}")
    for k, v in views.items():
        if v.ndim:  # the shared batch counter stays
            v.copy_(state[k])


def stack_members(x: torch.Tensor, idx: torch.Tensor, channels_last: bool) -> torch.Tensor:
    """Gather member ``g``'s minibatch ``idx[g]`` (``(G, b)`` indices) from ``x`` and stack the
    ``G`` minibatches along channels: ``(b, G·C, H, W)``. ``x`` is NCHW, or NHWC when
    ``channels_last`` (then the result is a channels-last tensor, without a copy more)."""
    G, b = idx.shape
    xb = x[idx.reshape(-1)]
    if channels_last:  # x: (N, H, W, C)
        _, H, W, C = x.shape
        return (xb.view(G, b, H, W, C).permute(1, 2, 3, 0, 4).reshape(b, H, W, G * C)
                .permute(0, 3, 1, 2))
    _, C, H, W = x.shape
    return xb.view(G, b, C, H, W).transpose(0, 1).reshape(b, G * C, H, W)


def member_losses(logits: torch.Tensor, y: torch.Tensor, label_smoothing: float = 0.0) -> torch.Tensor:
    """Each member's mean cross-entropy: logits ``(b, G, K)``, labels ``(b, G)`` → ``(G,)``."""
    return F.cross_entropy(logits.float().permute(0, 2, 1), y, reduction="none",
                           label_smoothing=label_smoothing).mean(0)


@torch.no_grad()
def evaluate_pack(net: nn.Module, x: torch.Tensor, y: torch.Tensor, channels_last: bool,
                  amp_dtype: torch.dtype | None = None, batch_size: int = 1000) -> list[float]:
    """Test accuracy of every member: the same images go to all (the input repeated G times)."""
    net.eval()
    G = net.groups
    correct = torch.zeros(G, dtype=torch.long, device=x.device)
    for i in range(0, x.shape[0], batch_size):
        xb = x[i:i + batch_size].repeat(1, G, 1, 1)
        if channels_last:
            xb = xb.contiguous(memory_format=torch.channels_last)
        with autocast(x.device, amp_dtype):
            out = net(xb)
        correct += (out.argmax(2) == y[i:i + batch_size, None]).sum(0)
    return (correct.float() / max(1, x.shape[0])).tolist()


def train_pack(
    train: Split,
    *,
    arch: str,
    width: float,
    seeds: Sequence[int],
    recipe: Recipe,
    subset_size: int | None = None,
    test: Split | None = None,
    heldout: Split | None = None,
    out_paths: Sequence[str | os.PathLike],
    state_path: str | os.PathLike,
    checkpoint_dirs: Sequence[str | os.PathLike] | None = None,
    device: str = "auto",
    threads: int | None = None,
    metas: Sequence[dict[str, Any]] | None = None,
    log: Callable[[str], None] = print,
    member_logs: Sequence[str | os.PathLike] | None = None,
    stop_after_epochs: int | None = None,
    fast: FastPath | dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Train the members with ``seeds`` together; write member ``g``'s weights to
    ``out_paths[g]`` (the payload of :func:`featurelab.training.train_member`) and its
    checkpoints to ``checkpoint_dirs[g]``; returns the members' metrics.

    ``member_logs[g]`` receives member ``g``'s epoch lines in ``train_member``'s format.
    ``state_path``, ``stop_after_epochs``, ``fast`` and ``heldout`` work as in ``train_member``;
    so do the recipe's label smoothing, held-out stopping (per member) and mixup (each
    member its own λ and permutation per minibatch, from its seed as in ``train_member``)."""
    G = len(seeds)
    if recipe.stop_at_heldout_acc is not None and heldout is None:
        raise ValueError("the recipe stops on a held-out accuracy (stop_at_heldout_acc) but no held-out split "
                         "was given")
    if recipe.adversarial:
        raise ValueError("packed training does not implement PGD adversarial training (adv_steps); train these "
                         "members one per job")
    if recipe.mixup > 0 and recipe.augment:
        raise ValueError("packed training does not combine mixup with augmentation; train these members one "
                         "per job (featurelab.training.train_member)")
    if recipe.simclr is not None:
        raise ValueError("packed training does not implement the contrastive framework (simclr); train these "
                         "members one per job (featurelab.training.train_member)")
    if len(out_paths) != G or (checkpoint_dirs is not None and len(checkpoint_dirs) != G):
        raise ValueError("one output path (and checkpoint directory) per seed")
    state_path = Path(state_path)
    subsets = [member_subset(len(train), subset_size, s) for s in seeds]
    n = len(subsets[0])
    dev, opts, recipe, fingerprint = run_setup(
        device, threads, fast, recipe, n, {"arch": arch, "width": width, "seeds": list(map(int, seeds)),
                                           "subset_size": subset_size, "data": data_fingerprint(train)}, log)
    cl = opts["channels_last"]
    fmt = torch.channels_last if cl else torch.contiguous_format
    mean, std = channel_stats(train.images)
    x = to_input(train.images, mean, std, dev)  # the whole split once; members index into it
    x_nchw = x  # augmentation works on each member's NCHW minibatch
    if cl:
        x = x.permute(0, 2, 3, 1).contiguous()
    y = torch.as_tensor(train.labels, device=dev)
    sub = torch.as_tensor(np.stack(subsets).astype(np.int64), device=dev)
    augments = [Augmenter(recipe.augment, recipe.pad, recipe.pad_color, mean, std, s, recipe.pad_mode) for s in seeds]

    solo = [initial_model(arch, train.num_classes, width, train.images.shape[-1], s) for s in seeds]
    params_each = count_parameters(solo[0])
    net = pack_models(solo).to(dev, memory_format=fmt)
    del solo

    smooth = recipe.label_smoothing

    def forward_losses(xb: torch.Tensor, yb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        with autocast(dev, opts["amp_dtype"]):
            out = net(xb)
        return member_losses(out, yb, smooth), out

    if recipe.stop_at_heldout_acc is not None:
        xh = to_input(heldout.images, mean, std, dev)
        yh = torch.as_tensor(heldout.labels, device=dev)

    step = compiled(forward_losses, opts["compile"])
    opt = sgd(net.parameters(), recipe, dev)
    ckpts = book.Checkpoints(state_path, recipe.checkpoint_epochs)
    histories: list[list[dict[str, float]]] = [[] for _ in range(G)]
    final: dict[int, dict[str, torch.Tensor]] = {}  # member → weights recorded when it stopped
    lines: list[list[str]] = [[] for _ in range(G)]
    epoch = 0
    state = book.resume_state(state_path, fingerprint, net, opt, dev, log)
    if state:
        histories, final, lines, epoch = state["histories"], state["final"], state["lines"], state["epoch"]
        for a, s in zip(augments, state.get("augment") or [None] * G):
            a.restore(s)
    if epoch == 0:
        for g in range(G):
            ckpts.keep(0, lambda: member_state(net, g), member=g)

    log(f"training a pack of {G} {arch} width {width} (seeds {', '.join(map(str, seeds))}) on {n} images each "
        f"({params_each:,} parameters each) on {dev}, threads {torch.get_num_threads()}, {describe_fast(opts)}"
        + (f", augmentation {recipe.augment}" if recipe.augment else ""))
    bs, n_used = recipe.batch_size, usable_points(n, recipe.batch_size)
    n_batches = -(-n_used // bs)
    checks = recipe.heldout_check_batches(n_batches) - {n_batches}  # mid-epoch; the end is checked below
    epochs_this_call = 0
    while len(final) < G and epoch < recipe.max_epochs:
        lr = recipe.lr_at(epoch)
        for grp in opt.param_groups:
            grp["lr"] = lr
        net.train()
        perms = torch.stack([batch_order(s, epoch, n) for s in seeds]).to(dev)
        gidx = torch.gather(sub, 1, perms)  # (G, n): each member's batch order, as global indices
        active = torch.tensor([g not in final for g in range(G)], device=dev, dtype=torch.float32)
        t0 = time.perf_counter()
        loss_sum = torch.zeros(G, device=dev)
        correct = torch.zeros(G, device=dev, dtype=torch.long)
        mixes = [np.random.default_rng([int(s), epoch, 77]) for s in seeds] if recipe.mixup > 0 else None
        for i in range(0, n_used, bs):
            idx = gidx[:, i:i + bs]
            if recipe.augment:
                xb = torch.cat([a(x_nchw[idx[g]]) for g, a in enumerate(augments)], dim=1).contiguous(memory_format=fmt)
            else:
                xb = stack_members(x, idx, cl)
            yb = y[idx].t()
            if mixes is not None:  # train_member's draws, member by member: λ, then the permutation
                draws = [(float(r.beta(recipe.mixup, recipe.mixup)), r.permutation(idx.shape[1])) for r in mixes]
                lam = torch.tensor([d[0] for d in draws], device=dev, dtype=xb.dtype)
                other = torch.stack([idx[g][torch.as_tensor(d[1], device=dev)] for g, d in enumerate(draws)])
                lam_ch = lam.repeat_interleave(xb.shape[1] // G)[None, :, None, None]
                xb = (lam_ch * xb + (1 - lam_ch) * stack_members(x, other, cl)).contiguous(memory_format=fmt)
                with autocast(dev, opts["amp_dtype"]):
                    out = net(xb)
                y2 = y[other].t()
                losses = lam * member_losses(out, yb, smooth) + (1 - lam) * member_losses(out, y2, smooth)
            else:
                losses, out = step(xb, yb)
            opt.zero_grad(set_to_none=True)
            (losses * active).sum().backward()
            opt.step()
            loss_sum += losses.detach() * yb.shape[0]
            correct += (out.detach().argmax(2) == yb).sum(0)
            b = i // bs + 1
            if b in checks:  # a member that reaches the held-out target stops here, within the epoch
                held = evaluate_pack(net, xh, yh, cl, opts["amp_dtype"])
                net.train()
                seen = min(n_used, b * bs)
                for g in range(G):
                    if g in final or held[g] < recipe.stop_at_heldout_acc - 1e-12:
                        continue
                    rec = book.epoch_record(round(epoch + b / n_batches, 4), lr, loss_sum[g].item() / seen,
                                            correct[g].item() / seen, time.perf_counter() - t0, seen)
                    rec["heldout_acc"] = held[g]
                    histories[g].append(rec)
                    lines[g].append(book.epoch_line(rec, recipe.max_epochs, f"  (in a pack of {G}; stopped after "
                                                                            f"{b} of {n_batches} minibatches)"))
                    final[g] = member_state(net, g)
                    active[g] = 0.0
                if len(final) == G:
                    break
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        dt = time.perf_counter() - t0
        epoch += 1
        losses_ep, accs = (loss_sum / n_used).tolist(), (correct.float() / n_used).tolist()
        live = [g for g in range(G) if g not in final]
        held = evaluate_pack(net, xh, yh, cl, opts["amp_dtype"]) \
            if recipe.stop_at_heldout_acc is not None and live else None
        for g in live:
            rec = book.epoch_record(epoch, lr, losses_ep[g], accs[g], dt, n_used)
            if held is not None:
                rec["heldout_acc"] = held[g]
            histories[g].append(rec)
            lines[g].append(book.epoch_line(rec, recipe.max_epochs, f"  (in a pack of {G})"))
            ckpts.keep(epoch, lambda: member_state(net, g), member=g)
            if book.should_stop(rec, recipe):
                final[g] = member_state(net, g)
        book.save_state(state_path, fingerprint, epoch, net, opt, histories=histories, final=final, lines=lines,
                   **({"augment": [a.state() for a in augments]} if recipe.augment else {}))
        stopped_now = [g for g in live if g in final]
        if not live:
            log(f"epoch {epoch:3d}/{recipe.max_epochs}: every member stopped within the epoch")
            continue
        log(f"epoch {epoch:3d}/{recipe.max_epochs}  members training {len(live)}/{G}  "
            f"loss {np.mean([losses_ep[g] for g in live]):.4f}  "
            f"train_acc {min(accs[g] for g in live):.4f}..{max(accs[g] for g in live):.4f}  lr {lr:.4g}  "
            f"{len(live) * n_used / dt:.0f} img/s  {dt:.1f}s"
            + (f"  stopped: members {stopped_now}" if stopped_now else ""))
        epochs_this_call += 1
        if stop_after_epochs is not None and epochs_this_call >= stop_after_epochs and len(final) < G \
                and epoch < recipe.max_epochs:
            log(f"stopping after {epochs_this_call} epochs as asked (state kept in {state_path})")
            return [{"interrupted": True, "epoch": epoch}]

    for g in range(G):
        if g not in final:
            final[g] = member_state(net, g)
        set_member_state(net, g, final[g])
    test_acc = None
    if test is not None:
        xt = to_input(test.images, mean, std, dev)
        test_acc = evaluate_pack(net, xt, torch.as_tensor(test.labels, device=dev), cl, opts["amp_dtype"])
    results = []
    for g, seed in enumerate(seeds):
        hist = histories[g]
        metrics = book.member_metrics(arch=arch, width=width, seed=seed, n=n, parameters=params_each, history=hist,
                                 epochs=hist[-1]["epoch"] if hist else epoch, recipe=recipe, device=dev,
                                 packed={"members": G, "position": g})
        if test_acc is not None:
            metrics["test_acc"] = test_acc[g]
            lines[g].append(f"test accuracy {test_acc[g]:.4f}")
        ckpts.publish(checkpoint_dirs[g] if checkpoint_dirs is not None else None, final[g], member=g)
        book.atomic_save(book.member_payload(final[g], train=train, mean=mean, std=std, subset=subsets[g], metrics=metrics,
                                   meta=metas[g] if metas is not None else None), Path(out_paths[g]))
        if member_logs is not None:
            Path(member_logs[g]).write_text("\n".join(lines[g]) + "\n")
        results.append(metrics)
    if test_acc is not None:
        log("test accuracy " + " ".join(f"{a:.4f}" for a in test_acc))
    state_path.unlink(missing_ok=True)
    ckpts.discard()
    return results
