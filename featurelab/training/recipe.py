"""The training recipe and how a training step runs on its device.

:class:`Recipe` is *what* a member's training computes (Jiang, Baek, Kolter, ICLR 2024,
App. E, after Jiang et al. 2022: SGD with momentum 0.9, lr 0.1, weight decay 1e-4, batch
100, no augmentation, lr ÷10 every 50 epochs, stop at 100% training accuracy or
``max_epochs``); every number is a field. :class:`FastPath` is *how* the step runs (bfloat16
autocast, channels-last, ``torch.compile``), which never changes what the recipe means.
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, replace
from typing import Any, Callable

import torch

#: Augmentations a recipe can name (:mod:`featurelab.training.augment`).
AUGMENTATIONS = (None, "crop_flip")
#: Recipe keys the diversity study added, fingerprinted only when set (a recipe without them
#: keeps its resume fingerprint): label smoothing (Szegedy et al., CVPR 2016), mixup (Zhang
#: et al., ICLR 2018: Beta(α, α) mixing of a minibatch with a permutation of itself) and
#: stopping once the accuracy on a held-out split reaches a value (the accuracy matching of
#: Gontijo-Lopes, Dauphin, Cubuk, ICLR 2022: models matched at 74-78% ImageNet accuracy),
#: checked ``heldout_checks`` times per epoch (evenly spaced in its minibatches, the last at
#: the epoch's end), so that a model stops close to the value rather than up to an epoch past it.
#: ``simclr``: the contrastive framework (:mod:`featurelab.training.contrastive`).
OPTIONAL_KEYS = ("label_smoothing", "mixup", "stop_at_heldout_acc", "heldout_checks", "simclr", "pad_mode", "adv_steps",
                 "adv_norm", "adv_eps", "adv_step_size", "adv_noise_sd", "adv_warmup_epochs")


@dataclass(frozen=True)
class SimCLR:
    """The pre-training phase of a ``simclr`` recipe (Chen, Kornblith, Norouzi, Hinton, "A Simple
    Framework for Contrastive Learning of Visual Representations", ICML 2020;
    :mod:`featurelab.training.contrastive`): ``epochs`` of NT-Xent (Eq. 1) at ``temperature``
    over two views per image, a two-layer projection head to ``projection_dim`` (Sec. 2.1), SGD
    with ``momentum``, ``weight_decay`` and a peak ``lr`` reached after ``warmup_epochs`` of
    linear warm-up and decayed by a cosine (Sec. 2.3: linear warm-up, cosine decay without
    restarts), ``batch_size`` images (2·batch_size views) a step. The views (App. A): a random
    resized crop of ``crop_scale`` of the area (aspect ratio 3/4-4/3) flipped left-right with
    probability 1/2, a colour jitter of strength ``jitter`` (brightness, contrast and
    saturation 0.8·s, hue 0.2·s) with probability ``jitter_p``, greyscale with probability
    ``grayscale_p``. The defaults are the paper's CIFAR-10 choices where it gives them (τ 0.5,
    strength 0.5, App. B.9; projection 128, Sec. 2.3) and ours otherwise (SGD instead of LARS)."""

    epochs: int = 100
    temperature: float = 0.5
    projection_dim: int = 128
    batch_size: int = 512
    lr: float = 0.5
    momentum: float = 0.9
    weight_decay: float = 1e-4
    warmup_epochs: int = 10
    crop_scale: tuple[float, float] = (0.08, 1.0)
    jitter: float = 0.5
    jitter_p: float = 0.8
    grayscale_p: float = 0.2

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "SimCLR":
        d = dict(d)
        unknown = set(d) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown simclr keys: {sorted(unknown)}; allowed: {sorted(cls.__dataclass_fields__)}")
        if "crop_scale" in d:
            d["crop_scale"] = tuple(float(c) for c in d["crop_scale"])
        s = cls(**d)
        checks = [("epochs", s.epochs >= 1, "≥ 1"), ("temperature", s.temperature > 0, "> 0"),
                  ("projection_dim", s.projection_dim >= 1, "≥ 1"),
                  ("batch_size", s.batch_size >= 2, "≥ 2 (a view needs negatives)"), ("lr", s.lr > 0, "> 0"),
                  ("momentum", 0 <= s.momentum <= 1, "in [0, 1]"), ("weight_decay", s.weight_decay >= 0, "≥ 0"),
                  ("warmup_epochs", 0 <= s.warmup_epochs < s.epochs, "in [0, epochs)"),
                  ("crop_scale", len(s.crop_scale) == 2 and 0 < s.crop_scale[0] <= s.crop_scale[1] <= 1,
                   "[low, high] with 0 < low ≤ high ≤ 1"),
                  ("jitter", s.jitter >= 0, "≥ 0"), ("jitter_p", 0 <= s.jitter_p <= 1, "in [0, 1]"),
                  ("grayscale_p", 0 <= s.grayscale_p <= 1, "in [0, 1]")]
        for key, ok, want in checks:
            if not ok:
                raise ValueError(f"simclr.{key} must be {want}, not {getattr(s, key)!r}")
        return s


#: How ``crop_flip`` places the padded image (:func:`featurelab.training.augment.pad_resize`):
#: ``crop`` pads and crops back at a random offset (the authors' released CIFAR code for Zhang
#: et al., ICML 2024, App. F.4: ``transforms.Pad(8, (150, 50, 50))``, ``RandomCrop(32)``);
#: ``resize`` pads and resizes the padded image back to the image size (the text of App. F.4:
#: "padding brick red pixels to the original images and resized the padded images to the size
#: of the original images"), so every pixel of the image survives, shrunk.
PAD_MODES = ("crop", "resize")
#: Norms of the PGD adversarial training (:mod:`featurelab.training.adversarial`).
ADV_NORMS = ("l2", "linf")


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
    augment: str | None = None
    pad: int = 4
    pad_color: tuple[int, ...] | str | None = None   # "random": a colour per image and epoch
    label_smoothing: float = 0.0
    mixup: float = 0.0
    stop_at_heldout_acc: float | None = None
    simclr: SimCLR | None = None
    pad_mode: str = "crop"
    # PGD adversarial training (Zhang et al., ICML 2024, App. F.4, after Salman et al., NeurIPS
    # 2019; the defaults are the authors' released cifar/code/train_pgd.py command: PGD-L2, 4
    # steps, epsilon 255/256 in [0, 1] pixel units, step 2·epsilon/steps, Gaussian noise 0.25,
    # epsilon ramped up over the first warm-up epochs); adv_steps 0 = off
    adv_steps: int = 0
    adv_norm: str = "l2"
    adv_eps: float = 255.0 / 256.0
    adv_step_size: float | None = None
    adv_noise_sd: float = 0.25
    adv_warmup_epochs: int = 1
    heldout_checks: int = 1

    def heldout_check_batches(self, n_batches: int) -> set[int]:
        """The minibatch counts (1-based, within an epoch of ``n_batches``) after which the
        held-out accuracy is measured: ``heldout_checks`` evenly spaced, the last the epoch's
        end (``n_batches``); none without ``stop_at_heldout_acc``."""
        if self.stop_at_heldout_acc is None:
            return set()
        k = max(1, min(int(self.heldout_checks), n_batches))
        return {math.ceil(n_batches * (c + 1) / k - 1e-9) for c in range(k)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Recipe":
        d = dict(d)
        unknown = set(d) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown training-recipe keys: {sorted(unknown)}")
        if "checkpoint_epochs" in d:
            d["checkpoint_epochs"] = tuple(int(e) for e in d["checkpoint_epochs"] or ())
        if isinstance(d.get("pad_color"), str):
            if d["pad_color"] != "random":
                raise ValueError(f"pad_color must be a colour (0-255 per channel) or 'random', not {d['pad_color']!r}")
        elif d.get("pad_color") is not None:
            d["pad_color"] = tuple(int(c) for c in d["pad_color"])
        if d.get("augment") not in AUGMENTATIONS:
            raise ValueError(f"augment must be one of {AUGMENTATIONS}, not {d['augment']!r}")
        if not 0.0 <= float(d.get("label_smoothing", 0.0)) < 1.0:
            raise ValueError(f"label_smoothing must lie in [0, 1), not {d['label_smoothing']!r}")
        if d.get("pad_mode", "crop") not in PAD_MODES:
            raise ValueError(f"pad_mode must be one of {PAD_MODES}, not {d['pad_mode']!r}")
        if d.get("adv_norm", "l2") not in ADV_NORMS:
            raise ValueError(f"adv_norm must be one of {ADV_NORMS}, not {d['adv_norm']!r}")
        if int(d.get("adv_steps", 0)) < 0 or float(d.get("adv_eps", 1.0)) < 0 or float(d.get("adv_noise_sd", 0.0)) < 0:
            raise ValueError("adv_steps, adv_eps and adv_noise_sd must be ≥ 0")
        if int(d.get("heldout_checks", 1)) < 1:
            raise ValueError(f"heldout_checks must be ≥ 1, not {d['heldout_checks']!r}")
        if float(d.get("mixup", 0.0)) < 0.0:
            raise ValueError(f"mixup (the Beta(α, α) parameter) must be ≥ 0, not {d['mixup']!r}")
        if d.get("simclr") is not None:
            d["simclr"] = SimCLR.from_dict(d["simclr"]) if isinstance(d["simclr"], dict) else d["simclr"]
            clash = [k for k in ("augment", "mixup", "checkpoint_epochs") if d.get(k)]
            if clash:
                raise ValueError(f"simclr: the linear head trains on the frozen encoder's features of the unaugmented "
                                 f"images, after pre-training; {', '.join(clash)} cannot be combined with it")
        return cls(**d)

    @property
    def optional_set(self) -> list[str]:
        """The :data:`OPTIONAL_KEYS` this recipe sets (away from their defaults); the PGD keys
        all count when adversarial training is on (``adv_steps`` > 0), none when it is off."""
        adv = self.adv_steps > 0
        return [k for k in OPTIONAL_KEYS if (adv and k.startswith("adv_"))
                or (not k.startswith("adv_") and getattr(self, k) != self.__dataclass_fields__[k].default)]

    @property
    def adversarial(self) -> bool:
        """Whether the recipe trains on PGD adversarial examples (``adv_steps`` > 0)."""
        return self.adv_steps > 0

    def for_size(self, n: int) -> "Recipe":
        """The recipe a member trained on ``n`` images follows. With ``reference_size``
        set, ``max_epochs`` and ``lr_step_epochs`` are scaled by ``reference_size / n``
        (rounded up; at least 1), so that a member trained on a small split (a blue group, a
        training fraction) takes as many SGD steps as one trained on ``reference_size``
        images; checkpoint epochs are kept as written; a ``simclr`` recipe's pre-training
        ``epochs`` and ``warmup_epochs`` scale alike. Without it, the recipe itself."""
        if self.reference_size is None:
            return self
        if n < 1:
            raise ValueError(f"cannot scale a recipe to {n} training images")
        scale = self.reference_size / n

        def steps(epochs: int) -> int:
            return max(1, math.ceil(epochs * scale - 1e-9))

        simclr = self.simclr and replace(self.simclr, epochs=steps(self.simclr.epochs),
                                         warmup_epochs=min(steps(self.simclr.epochs) - 1,
                                                           math.ceil(self.simclr.warmup_epochs * scale - 1e-9)))
        return replace(self, max_epochs=steps(self.max_epochs), lr_step_epochs=steps(self.lr_step_epochs),
                       reference_size=None, simclr=simclr)

    def lr_at(self, epoch: int) -> float:
        """Learning rate of (0-based) ``epoch``: step decay."""
        return self.lr * self.lr_step_factor ** (epoch // self.lr_step_epochs)

    def identity(self) -> dict[str, Any]:
        """The fields that change the weights, for a resume state's fingerprint (the
        augmentation's fields only when it is on, so recipes without one keep their old
        fingerprint)."""
        d = {k: getattr(self, k) for k in self.__dataclass_fields__
             if k not in ("augment", "pad", "pad_color", *OPTIONAL_KEYS)}
        d["checkpoint_epochs"] = list(self.checkpoint_epochs)
        d.update({k: getattr(self, k) for k in self.optional_set})
        if self.simclr is not None:
            d["simclr"] = {**asdict(self.simclr), "crop_scale": list(self.simclr.crop_scale)}
        if self.augment:
            d.update(augment=self.augment, pad=self.pad,
                     pad_color=self.pad_color if isinstance(self.pad_color, str) else list(self.pad_color or ()))
        return d


def scaled_recipe(recipe: Recipe, n: int, log: Callable[[str], None] = print) -> Recipe:
    """:meth:`Recipe.for_size`, saying so in the log when it changes the recipe."""
    scaled = recipe.for_size(n)
    if recipe.reference_size is not None:
        log(f"{n} training images against reference_size {recipe.reference_size}: "
            f"max_epochs {recipe.max_epochs} -> {scaled.max_epochs}, "
            f"lr_step_epochs {recipe.lr_step_epochs} -> {scaled.lr_step_epochs}"
            + (f", simclr.epochs {recipe.simclr.epochs} -> {scaled.simclr.epochs}" if recipe.simclr else ""))
    return scaled


@dataclass(frozen=True)
class FastPath:
    """How the training step runs (not what it computes): ``amp`` = ``auto`` (bfloat16
    autocast on CUDA, float32 on CPU), ``bf16`` or ``fp32`` (``off``); ``channels_last`` =
    ``None``/``auto`` (on CUDA only), ``True`` or ``False``; ``compile``: wrap the forward
    pass and loss in ``torch.compile``. The config's ``train`` section holds them."""

    amp: str = "auto"
    channels_last: str | bool | None = None
    compile: bool | str = False

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> "FastPath":
        d = {k: v for k, v in (d or {}).items() if k in cls.__dataclass_fields__}
        return cls(**d)

    def resolve(self, dev: torch.device) -> dict[str, Any]:
        """The settings on ``dev``: ``amp_dtype`` (None = float32), ``channels_last``, ``compile``."""
        amp_dtype, note = choose_amp(self.amp, dev)
        cl = self.channels_last
        cl = dev.type == "cuda" if cl in (None, "auto") else cl in (True, "on", "true")
        return {"amp_dtype": amp_dtype, "amp_note": note, "channels_last": bool(cl),
                "compile": _compile_mode(self.compile)}


def choose_amp(amp: str | bool, dev: torch.device,
               capability: tuple[int, int] | None = None) -> tuple[torch.dtype | None, str]:
    """The autocast dtype of ``amp`` on ``dev`` (None: float32) and why, for the log.

    ``auto`` takes bfloat16 only on a CUDA device with native bfloat16, compute capability
    8.0 (Ampere) or newer; on an older GPU (a V100: 7.0, a T4: 7.5) bfloat16 is emulated,
    slower than float32, and float16 would need a gradient scaler: ``auto`` keeps float32
    there. On the CPU ``auto`` is float32. ``bf16`` is autocast wherever it is asked for (the
    CPU too: the smoke runs exercise that path), ``fp32``/``off`` never. ``capability``
    overrides the device's own (``torch.cuda.get_device_capability``), for tests."""
    if amp not in ("auto", "bf16", "fp32", "off", False):
        raise ValueError(f"amp must be auto, bf16 or fp32, not {amp!r}")
    if amp in ("fp32", "off", False):
        return None, "amp: fp32"
    if dev.type != "cuda":
        return (torch.bfloat16, "amp: bf16 on the CPU") if amp == "bf16" \
            else (None, "amp: auto on the CPU")
    major, minor = capability if capability is not None else torch.cuda.get_device_capability(dev)
    native = (major, minor) >= (8, 0)
    if amp == "bf16":
        return torch.bfloat16, ("amp: bf16" if native else
                                f"amp: bf16 on compute capability {major}.{minor}, which has "
                                "no native bfloat16: emulated, likely slower than float32")
    if native:
        return torch.bfloat16, f"amp: auto, compute capability {major}.{minor} >= 8.0"
    return None, (f"amp: auto; compute capability {major}.{minor} < 8.0 has no native bfloat16, "
                  "and float16 would need a gradient scaler: float32")


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


def describe_fast(opts: dict[str, Any]) -> str:
    return (f"autocast {'bf16' if opts['amp_dtype'] is not None else 'off'}"
            + (f" ({opts['amp_note']}), " if opts.get("amp_note") else ", ")
            + f"channels_last {'on' if opts['channels_last'] else 'off'}, "
            f"compile {opts['compile'] or 'off'}")


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


def fused_sgd(dev: torch.device) -> dict[str, bool]:
    """SGD's fused CUDA kernel (one launch for every parameter) on CUDA; the same update
    rule as the for-loop implementation the CPU keeps."""
    return {"fused": True} if dev.type == "cuda" else {}


def sgd(params, recipe: Recipe, dev: torch.device) -> torch.optim.SGD:
    """The recipe's SGD (momentum, weight decay; the learning rate is set per epoch)."""
    return torch.optim.SGD(params, lr=recipe.lr, momentum=recipe.momentum, weight_decay=recipe.weight_decay,
                           **fused_sgd(dev))


def run_setup(device: str, threads: int | None, fast: "FastPath | dict[str, Any] | None", recipe: Recipe, n: int,
              ident: dict[str, Any], log: Callable[[str], None]) -> tuple[torch.device, dict[str, Any], Recipe, str]:
    """What every training run settles first: its device and fast-path options
    (:func:`setup_device`), its recipe scaled to its ``n`` training images
    (:func:`scaled_recipe`), and the fingerprint of what it computes (``ident`` and the
    scaled recipe, :func:`run_fingerprint`) that a resume state must match."""
    dev, opts = setup_device(device, threads, fast)
    recipe = scaled_recipe(recipe, n, log)
    return dev, opts, recipe, run_fingerprint({**ident, "recipe": recipe.identity()}, opts)


def run_fingerprint(ident: dict[str, Any], opts: dict[str, Any]) -> str:
    """Hash of what a training run computes, which a resume state must match; the fast-path
    settings count only when on, so the plain path keeps its old fingerprint."""
    if opts["amp_dtype"] is not None or opts["channels_last"]:
        ident = {**ident, "fast": {"amp": str(opts["amp_dtype"]), "channels_last": opts["channels_last"]}}
    return hashlib.sha1(json.dumps(ident, sort_keys=True).encode()).hexdigest()
