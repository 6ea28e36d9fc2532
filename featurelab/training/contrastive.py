"""The contrastive framework: SimCLR pre-training, then a linear classifier on the frozen encoder.

Chen, Kornblith, Norouzi, Hinton, "A Simple Framework for Contrastive Learning of Visual
Representations" (ICML 2020), for the Framework category of Gontijo-Lopes, Dauphin, Cubuk, "No
One Representation to Rule Them All: Overlapping Features of Training Methods" (ICLR 2022): a
model trained with another objective (there SimCLR with a linear classifier on top).

A recipe with a ``simclr`` section (:class:`featurelab.training.recipe.SimCLR`) trains in two
phases, both in :func:`train_simclr_member`:

1. **Pre-training** (no labels). Every image of a minibatch of N gets two views
   (:class:`SimCLRViews`, App. A: random resized crop, flip, colour jitter, greyscale); the
   encoder f (the member's own network up to its ``penultimate`` features h) and a projection
   head g (:class:`ProjectionHead`, Sec. 2.1: z = W₂ ReLU(W₁ h)) map the 2N views to z; the loss
   is NT-Xent (:func:`nt_xent`, Eq. 1) with temperature τ over the 2N views, the positive of a
   view being the other view of its image. SGD with momentum, linear warm-up and cosine decay
   (Sec. 2.3; the paper's LARS is for batches of thousands and is not used here).
2. **Linear evaluation** (Sec. 3, "linear evaluation protocol"). The projection head is thrown
   away; the network's own final linear layer (the classifier every architecture of
   :mod:`featurelab.models` has) is trained on the frozen encoder's features of the training
   images with the labels, by the recipe's own SGD, batch size, learning-rate steps,
   ``max_epochs``, label smoothing and stopping rule (``stop_at_train_acc``,
   ``stop_at_heldout_acc``: the held-out accuracy ``heldout_checks`` times per head epoch,
   as :func:`featurelab.training.train_member` measures it). The encoder is frozen in eval mode,
   so its features are computed once, unaugmented; each head epoch is a pass over a matrix.
   The layer is trained on the features standardised with their training mean and standard
   deviation and folded back onto the raw features after every epoch (:func:`fold_head`: the
   same linear classifier, the same logits; ours, so that the recipe's learning rate suits
   features of any scale, where SGD on the raw ones diverged in our runs).

The result is an ordinary member: ``model.pt`` holds the whole network (encoder and trained
linear layer, no projection head), so :func:`featurelab.training.load_member` and extraction
(penultimate features, logits) treat it as any other. Its metrics say ``framework: simclr``
and hold both phases' curves: ``history`` (the head's epochs: loss, training and held-out
accuracy) and ``pretrain_history`` (NT-Xent loss; ``train_acc`` there is the fraction of
views whose most similar other view is their positive). The resumable state is two files:
``state_path`` (pre-training) and ``<state_path>.head`` (the head), both removed on success.

Packed training does not implement it: the planner trains every ``simclr`` model alone
(:meth:`featurelab.plan.Plan.packable`).

Cost: a pre-training epoch passes 2·n views forward and backward, twice a supervised epoch;
the head phase is one eval pass over the training (and held-out) images and then a few
matrix products. ``config.yaml``'s ``div_simclr`` (8 pre-training epochs) is about twice a
supervised member of 8 epochs; ``presets/paper004.yaml``'s ``simclr`` (500 epochs) about 5
times its 200-epoch base.
"""
from __future__ import annotations

import copy
import math
import os
import time
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import nn

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
    should_stop,
)
from .distill import penultimate
from .inputs import batch_order, channel_stats, data_fingerprint, member_subset, to_input, usable_points
from .recipe import FastPath, Recipe, SimCLR, autocast, compiled, describe_fast, fused_sgd, run_setup, sgd
from .solo import evaluate, initial_model


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float) -> tuple[torch.Tensor, torch.Tensor]:
    """NT-Xent of Chen et al. (2020), Eq. 1, over the 2N views ``z1`` (N, d) and ``z2`` (N, d),
    row i of both from image i: with sim(u, v) = uᵀv / (‖u‖‖v‖),

        ℓ(i, j) = −log [ exp(sim(z_i, z_j)/τ) / Σ_{k ≠ i} exp(sim(z_i, z_k)/τ) ],
        L = 1/(2N) Σ_k [ℓ(2k−1, 2k) + ℓ(2k, 2k−1)],

    i.e. the mean cross-entropy of each view's similarities to the 2N − 1 others, its positive
    (the other view of its image) the target. Returns (L, the fraction of views whose most
    similar other view is their positive)."""
    n = z1.shape[0]
    z = F.normalize(torch.cat([z1, z2]).float(), dim=1)
    sim = (z @ z.T) / temperature
    self_mask = torch.eye(2 * n, dtype=torch.bool, device=z.device)
    sim = sim.masked_fill(self_mask, float("-inf"))  # the indicator 1[k ≠ i]
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(n)]).to(z.device)
    return F.cross_entropy(sim, target), (sim.argmax(1) == target).float().mean()


class ProjectionHead(nn.Module):
    """g(h) = W₂ ReLU(W₁ h) (Chen et al. 2020, Sec. 2.1): a hidden layer as wide as h, then
    ``out_dim`` outputs (Sec. 2.3: 128)."""

    def __init__(self, in_dim: int, out_dim: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(in_dim, in_dim), nn.ReLU(inplace=True), nn.Linear(in_dim, out_dim))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.net(h)


def _rgb_to_hsv(p: torch.Tensor) -> torch.Tensor:
    r, g, b = p.unbind(1)
    maxc, minc = p.max(1).values, p.min(1).values
    delta = maxc - minc
    safe = torch.where(delta > 0, delta, torch.ones_like(delta))
    h = torch.where(maxc == r, ((g - b) / safe) % 6,
                    torch.where(maxc == g, (b - r) / safe + 2, (r - g) / safe + 4))
    h = torch.where(delta > 0, h / 6, torch.zeros_like(h)) % 1.0
    s = torch.where(maxc > 0, delta / torch.where(maxc > 0, maxc, torch.ones_like(maxc)), torch.zeros_like(maxc))
    return torch.stack([h, s, maxc], 1)


def _hsv_to_rgb(hsv: torch.Tensor) -> torch.Tensor:
    h, s, v = hsv.unbind(1)
    i = torch.floor(h * 6)
    f = h * 6 - i
    i = i.long() % 6
    p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    table = torch.stack([torch.stack(c, 1) for c in ((v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v),
                                                    (v, p, q))])  # (6, B, 3, H, W)
    return table.gather(0, i[None, :, None].expand(1, -1, 3, -1, -1))[0]


def grayscale(p: torch.Tensor) -> torch.Tensor:
    """Luminance 0.2989 R + 0.587 G + 0.114 B (ITU-R 601-2, torchvision's weights), one channel."""
    return (0.2989 * p[:, 0] + 0.587 * p[:, 1] + 0.114 * p[:, 2])[:, None]


def colour_jitter(p: torch.Tensor, brightness: torch.Tensor, contrast: torch.Tensor, saturation: torch.Tensor,
                  hue: torch.Tensor) -> torch.Tensor:
    """Each image of ``p`` (B, C, H, W; pixel values in [0, 1]) with its own factors (B,), in
    torchvision's definitions (``adjust_brightness``/``contrast``/``saturation``/``hue``, each
    clipped to [0, 1]), in this fixed order: brightness scales the pixels; contrast blends with
    the image's mean grey level; saturation blends with the image's greyscale; hue shifts the
    HSV hue by that fraction of a turn. A one-channel image gets brightness and contrast only."""
    def per(v: torch.Tensor) -> torch.Tensor:
        return v.to(p)[:, None, None, None]

    p = (p * per(brightness)).clamp(0, 1)
    grey = grayscale(p) if p.shape[1] == 3 else p
    p = (per(contrast) * p + (1 - per(contrast)) * grey.mean((1, 2, 3), keepdim=True)).clamp(0, 1)
    if p.shape[1] != 3:
        return p
    p = (per(saturation) * p + (1 - per(saturation)) * grayscale(p)).clamp(0, 1)
    hsv = _rgb_to_hsv(p)
    hsv = torch.stack([(hsv[:, 0] + hue.to(p)[:, None, None]) % 1.0, hsv[:, 1], hsv[:, 2]], 1)
    return _hsv_to_rgb(hsv).clamp(0, 1)


class SimCLRViews:
    """Random views of a normalised batch (Chen et al. 2020, App. A; "the same set of
    augmentations" on CIFAR-10 but Gaussian blur, App. B.9): per image, a random resized crop
    (area fraction uniform in ``crop_scale``, log aspect ratio uniform in [log 3/4, log 4/3];
    a side that would exceed the image is clipped to it) resized back to the image's size
    bilinearly and flipped left-right with probability 1/2, all in one affine resampling; then,
    with probability ``jitter_p``, :func:`colour_jitter` with brightness, contrast and
    saturation factors uniform in [1 − 0.8·s, 1 + 0.8·s] (at least 0) and a hue shift uniform
    in [−0.2·s, 0.2·s], s = ``jitter``; then greyscale with probability ``grayscale_p``.
    Colours are changed in pixel units (the normalisation undone, then redone). Every draw
    comes from a CPU generator seeded by the member's seed: the same views on every device."""

    def __init__(self, s: SimCLR, mean: list[float], std: list[float], seed: int) -> None:
        self.s = s
        self.mean, self.std = torch.tensor(mean).view(1, -1, 1, 1), torch.tensor(std).view(1, -1, 1, 1)
        self.generator = torch.Generator().manual_seed(int(seed) * 7_919 + 29)

    def _uniform(self, n: int, lo: float, hi: float) -> torch.Tensor:
        return lo + (hi - lo) * torch.rand(n, generator=self.generator)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        s, B = self.s, x.shape[0]
        area = self._uniform(B, *s.crop_scale)
        ratio = torch.exp(self._uniform(B, math.log(3 / 4), math.log(4 / 3)))
        w, h = torch.sqrt(area * ratio).clamp(max=1.0), torch.sqrt(area / ratio).clamp(max=1.0)
        cx, cy = self._uniform(B, -1, 1) * (1 - w), self._uniform(B, -1, 1) * (1 - h)
        flip = torch.where(torch.rand(B, generator=self.generator) < 0.5, -1.0, 1.0)
        zero = torch.zeros(B)
        theta = torch.stack([torch.stack([w * flip, zero, cx], 1), torch.stack([zero, h, cy], 1)], 1)
        grid = F.affine_grid(theta.to(x.device, x.dtype), list(x.shape), align_corners=False)
        out = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
        mean, std = self.mean.to(x.device, x.dtype), self.std.to(x.device, x.dtype)
        p = out * std + mean
        lo, hi = max(0.0, 1 - 0.8 * s.jitter), 1 + 0.8 * s.jitter
        jitter = torch.rand(B, generator=self.generator) < s.jitter_p
        factors = [self._uniform(B, lo, hi) for _ in range(3)] + [self._uniform(B, -0.2 * s.jitter, 0.2 * s.jitter)]
        one = torch.ones(B)
        b, c, sat, hue = (torch.where(jitter, f, one if k < 3 else zero) for k, f in enumerate(factors))
        p = colour_jitter(p, b.to(x.device), c.to(x.device), sat.to(x.device), hue.to(x.device))
        grey = (torch.rand(B, generator=self.generator) < s.grayscale_p).to(x.device)
        if p.shape[1] == 3:
            p = torch.where(grey[:, None, None, None], grayscale(p).expand_as(p), p)
        return (p - mean) / std

    def state(self) -> torch.Tensor:
        return self.generator.get_state()

    def restore(self, state: torch.Tensor | None) -> None:
        if state is not None:
            self.generator.set_state(state)


def pretrain_lr(s: SimCLR, epoch: int) -> float:
    """Learning rate of (0-based) pre-training ``epoch``: linear warm-up over ``warmup_epochs``,
    then cosine decay to 0 over the rest (Chen et al. 2020, Sec. 2.3), one value per epoch."""
    if epoch < s.warmup_epochs:
        return s.lr * (epoch + 1) / s.warmup_epochs
    t = (epoch - s.warmup_epochs) / max(1, s.epochs - s.warmup_epochs)
    return s.lr * 0.5 * (1 + math.cos(math.pi * t))


@torch.no_grad()
def fold_head(linear: nn.Linear, head: nn.Linear, mu: torch.Tensor, sd: torch.Tensor) -> None:
    """Write into ``linear`` the layer on raw features h that ``head`` is on standardised ones:
    head((h − μ)/σ) = W (h − μ)/σ + b = (W/σ) h + (b − W μ/σ), the same logits."""
    linear.weight.copy_(head.weight / sd)
    linear.bias.copy_(head.bias - head.weight @ (mu / sd))


def pretrain_batches(n: int, batch_size: int) -> tuple[int, int]:
    """(batch size, images used) of a pre-training epoch: full batches only (a short last
    batch has fewer negatives), one batch of all ``n`` when ``n`` is below the batch size."""
    bs = min(batch_size, n)
    return bs, n - n % bs


def train_simclr_member(
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
    """Pre-train a member with SimCLR, then train its linear layer on the frozen encoder's
    features (the module docstring), and write it to ``out_path`` as
    :func:`featurelab.training.train_member` would; returns its metrics. The arguments are
    :func:`~featurelab.training.train_member`'s (``checkpoint_dir`` is left empty: a simclr
    recipe keeps no per-epoch weights); ``stop_after_epochs`` counts the epochs of both phases."""
    if recipe.simclr is None:
        raise ValueError("train_simclr_member needs a recipe with a simclr section")
    if recipe.stop_at_heldout_acc is not None and heldout is None:
        raise ValueError("the recipe stops on a held-out accuracy (stop_at_heldout_acc) but no held-out split "
                         "was given")
    out_path, state_path = Path(out_path), Path(state_path)
    head_state_path = state_path.with_name(state_path.name + ".head")
    subset = member_subset(len(train), subset_size, seed)
    dev, opts, recipe, fingerprint = run_setup(
        device, threads, fast, recipe, len(subset),
        {"arch": arch, "width": width, "seed": seed, "subset_size": subset_size, "data": data_fingerprint(train),
         "objective": "simclr"}, log)
    s = recipe.simclr
    fmt = torch.channels_last if opts["channels_last"] else torch.contiguous_format
    mean, std = channel_stats(train.images)
    x = to_input(train.images[subset], mean, std, dev).contiguous(memory_format=fmt)
    y = torch.as_tensor(train.labels[subset], device=dev)
    n = x.shape[0]

    model = initial_model(arch, train.num_classes, width, train.images.shape[-1], seed,
                          train.images.shape[1]).to(dev, memory_format=fmt)
    projection = ProjectionHead(model.feature_dim, s.projection_dim).to(dev)  # drawn right after the model
    net = nn.ModuleDict({"encoder": model, "projection": projection})
    encoder_params = [p for name, p in model.named_parameters() if not name.startswith("linear.")]
    opt = torch.optim.SGD([*encoder_params, *projection.parameters()], lr=s.lr, momentum=s.momentum,
                          weight_decay=s.weight_decay, **fused_sgd(dev))
    views = SimCLRViews(s, mean, std, seed)

    def forward_loss(v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        with autocast(dev, opts["amp_dtype"]):
            z = projection(model.features(v, ("penultimate",))["penultimate"])
        half = v.shape[0] // 2
        return nt_xent(z[:half], z[half:], s.temperature)

    step = compiled(forward_loss, opts["compile"])
    state = resume_state(state_path, fingerprint, net, opt, dev, log)
    pre_history: list[dict[str, float]] = state["history"] if state else []
    epoch = state["epoch"] if state else 0
    views.restore(state.get("views") if state else None)
    log(f"SimCLR pre-training of {arch} width {width} seed {seed} on {n} images, two views each "
        f"({count_parameters(model):,} parameters, projection to {s.projection_dim}) on {dev}, threads "
        f"{torch.get_num_threads()}" + (f", {describe_fast(opts)}" if dev.type != "cpu" or opts["amp_dtype"] else "")
        + f"; τ {s.temperature}, {s.epochs} epochs, batch {s.batch_size}")
    bs, n_used = pretrain_batches(n, s.batch_size)
    epochs_this_call = 0

    def interrupted(done: bool) -> bool:
        return stop_after_epochs is not None and epochs_this_call >= stop_after_epochs and not done

    while epoch < s.epochs:
        lr = pretrain_lr(s, epoch)
        for g in opt.param_groups:
            g["lr"] = lr
        net.train()
        perm = batch_order(seed, epoch, n).to(dev)
        t0 = time.perf_counter()
        loss_sum = torch.zeros((), device=dev)
        acc_sum = torch.zeros((), device=dev)
        for i in range(0, n_used, bs):
            xb = x[perm[i:i + bs]]
            v = torch.cat([views(xb), views(xb)]).contiguous(memory_format=fmt)  # view 1 of every image, then view 2
            loss, acc = step(v)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += loss.detach() * xb.shape[0]
            acc_sum += acc.detach() * xb.shape[0]
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        epoch += 1
        rec = epoch_record(epoch, lr, loss_sum.item() / n_used, acc_sum.item() / n_used,
                           time.perf_counter() - t0, n_used)
        pre_history.append(rec)
        save_state(state_path, fingerprint, epoch, net, opt, history=pre_history, views=views.state())
        log(epoch_line(rec, s.epochs, note="  (pre-training: NT-Xent; train_acc: views whose nearest view is "
                                           "their positive)"))
        epochs_this_call += 1
        if interrupted(epoch >= s.epochs):
            log(f"stopping after {epochs_this_call} epochs as asked (state kept in {state_path})")
            return {"interrupted": True, "epoch": epoch}

    # linear evaluation: the encoder frozen (eval mode, features computed once), its linear layer trained
    feats = penultimate(model, x)
    fh = penultimate(model, to_input(heldout.images, mean, std, dev).contiguous(memory_format=fmt)) \
        if heldout is not None and recipe.stop_at_heldout_acc is not None else None
    yh = torch.as_tensor(heldout.labels, device=dev) if fh is not None else None
    mu, sd = feats.mean(0), feats.std(0)
    sd = torch.where(sd > 1e-8, sd, torch.ones_like(sd))
    std_feats = (feats - mu) / sd
    head = copy.deepcopy(model.linear)  # trained on the standardised features, folded into model.linear
    head_opt = sgd(head.parameters(), recipe, dev)
    hstate = resume_state(head_state_path, fingerprint, head, head_opt, dev, log)
    history: list[dict[str, float]] = hstate["history"] if hstate else []
    head_epoch = hstate["epoch"] if hstate else 0
    fold_head(model.linear, head, mu, sd)
    log(f"linear evaluation: the final linear layer on the frozen encoder's {feats.shape[1]} features, "
        f"{recipe.max_epochs} epochs at most, batch {recipe.batch_size}")
    hbs, h_used = recipe.batch_size, usable_points(n, recipe.batch_size)
    # the pool's rule of selection: held-out checks within the epoch too (heldout_checks)
    n_batches = -(-h_used // hbs)
    checks = recipe.heldout_check_batches(n_batches) - {n_batches} if fh is not None else set()

    def heldout_acc() -> float:
        fold_head(model.linear, head, mu, sd)
        with torch.no_grad():
            return (model.linear(fh).argmax(1) == yh).float().mean().item()

    done = bool(history) and should_stop(history[-1], recipe)
    while not done and head_epoch < recipe.max_epochs:
        lr = recipe.lr_at(head_epoch)
        for g in head_opt.param_groups:
            g["lr"] = lr
        perm = batch_order(seed, head_epoch, n).to(dev)
        t0 = time.perf_counter()
        loss_sum = torch.zeros((), device=dev)
        correct = torch.zeros((), device=dev, dtype=torch.long)
        for i in range(0, h_used, hbs):
            idx = perm[i:i + hbs]
            out = head(std_feats[idx])
            loss = F.cross_entropy(out, y[idx], label_smoothing=recipe.label_smoothing)
            head_opt.zero_grad(set_to_none=True)
            loss.backward()
            head_opt.step()
            loss_sum += loss.detach() * idx.shape[0]
            correct += (out.detach().argmax(1) == y[idx]).sum()
            b = i // hbs + 1
            if b in checks and (acc := heldout_acc()) >= recipe.stop_at_heldout_acc - 1e-12:
                seen = min(h_used, b * hbs)  # stopped within the epoch: its record is the part trained
                rec = epoch_record(round(head_epoch + b / n_batches, 4), lr, loss_sum.item() / seen,
                                   correct.item() / seen, time.perf_counter() - t0, seen)
                rec["heldout_acc"] = acc
                break
        else:
            rec = epoch_record(head_epoch + 1, lr, loss_sum.item() / h_used, correct.item() / h_used,
                               time.perf_counter() - t0, h_used)
            if fh is not None:
                rec["heldout_acc"] = heldout_acc()
        head_epoch += 1
        fold_head(model.linear, head, mu, sd)
        history.append(rec)
        done = should_stop(rec, recipe)
        save_state(head_state_path, fingerprint, head_epoch, head, head_opt, history=history)
        log(epoch_line(rec, recipe.max_epochs, note="  (linear head)"))
        epochs_this_call += 1
        if interrupted(done or head_epoch >= recipe.max_epochs):
            log(f"stopping after {epochs_this_call} epochs as asked (state kept in {head_state_path})")
            return {"interrupted": True, "epoch": head_epoch}

    metrics = member_metrics(arch=arch, width=width, seed=seed, n=n, parameters=count_parameters(model),
                             history=history, epochs=head_epoch, recipe=recipe, device=dev, framework="simclr",
                             train_seconds=sum(h["seconds"] for h in pre_history + history),
                             pretrain_epochs=epoch, pretrain_final_loss=pre_history[-1]["loss"],
                             pretrain_history=pre_history)
    if test is not None:
        xt = to_input(test.images, mean, std, dev).contiguous(memory_format=fmt)
        metrics["test_acc"] = evaluate(model, xt, torch.as_tensor(test.labels, device=dev))
        log(f"test accuracy {metrics['test_acc']:.4f}")
    if checkpoint_dir is not None:
        Path(checkpoint_dir).mkdir(parents=True, exist_ok=True)
    payload = member_payload(cpu_state(model.state_dict()), train=train, mean=mean, std=std, subset=subset,
                             metrics=metrics, meta=meta)
    payload["metrics"].pop("pretrain_history")
    atomic_save(payload, out_path)
    state_path.unlink(missing_ok=True)
    head_state_path.unlink(missing_ok=True)
    return metrics
