"""The padding control (Zhang et al., "Feature Contamination: Neural Networks Learn Uncorrelated
Features and Fail to Generalize", ICML 2024, Sec. 5 and App. F.4): networks trained on images
padded with one constant colour, uncorrelated with the label, learn that colour; their channels
respond to it more, relative to grey, than their controls' (trained without padding).

Mechanism (a recipe, not a world: the padding is an augmentation): the on arm's padded networks
pad every training image with the constant ``pad_color`` (App. F.4: RGB 150, 50, 50); the off
arm's pad it with a colour drawn per image and per epoch (``pad_color: random``,
:func:`featurelab.training.augment.random_fills`): the same padding, as uncorrelated with the
label, but no colour constant across the training images to be learned. Both arms measure the
same colour (the on arm's ``pad_color``) against grey, with the study's own code
(:func:`.padding.padding_measures`, :func:`.findings.padding_findings`), each padded part against
the same plain part (the base world's networks without padding).

Verdict: the study's ``padded_prefers_colour_more`` at ``settings.stage`` (default the last
stage: the paper visualises the 31st layer of a ResNet-32, its last stage): the Student-t
interval over members of (response(colour) − response(grey)), padded − plain, above
``colour_preference`` (default 0). The control passes when it holds on and not off.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from ..controls import Arms, Part, control_result
from ..verdicts import LEVEL
from . import findings
from .padding import padding_measures

SOURCE = ('Zhang et al., "Feature Contamination: Neural Networks Learn Uncorrelated Features and Fail '
          'to Generalize", ICML 2024, Sec. 5 and App. F.4 (Figs 6c, 13)')
FINDING = "padding colour learning: padded networks respond to the padding colour (relative to grey) more than plain ones"
MECHANISM = "a constant padding colour (on) against a colour drawn per image and epoch (off), same recipe otherwise"
DEFAULTS = {"pad_color": [150, 50, 50], "other_colour": [50, 150, 50], "grey": [128, 128, 128], "pad": 6,
            "pad_mode": "resize", "stage": "last", "thresholds": {}}
PARTS = ("padded", "plain")


def _test_split(part: Part) -> tuple[np.ndarray, np.ndarray]:
    from ..data.synthetic import WorldConfig, generate_split

    if part.world is None:
        raise ValueError(f"part {part.name!r}: the padding control needs a synthetic world (its test images)")
    images, labels, _ = generate_split(WorldConfig.from_dict(part.world), "test")
    return images, labels


def arm_findings(parts: Mapping[str, Part], settings: Mapping[str, Any], level: float = LEVEL,
                 device: Any = "cpu") -> tuple[dict[str, Any], Any]:
    """One arm: the study's padding findings of its ``padded`` part against its ``plain`` part
    (and the measures they come from)."""
    missing = [p for p in PARTS if p not in parts]
    if missing:
        raise ValueError(f"a padding arm needs the parts {PARTS}, missing {missing}")
    for name in PARTS:
        p = parts[name]
        if len(p.weights) != len(p.models) or not p.models:
            raise ValueError(f"part {name!r}: {len(p.models)} models but {len(p.weights)} model.pt files")
    if len(parts["padded"].models) != len(parts["plain"].models):
        raise ValueError("the padded and the plain part need as many members (paired by member)")
    images, labels = _test_split(parts["plain"])
    s = {**DEFAULTS, **dict(settings)}
    nets = {k: list(zip(parts[k].models, parts[k].weights)) for k in PARTS}
    measures = padding_measures(nets, images, labels, int(s["pad"]), s["pad_color"], s["other_colour"], s["grey"],
                                s["pad_mode"], device)
    return findings.padding_findings(measures, s["thresholds"], level), measures


def _stage(f: dict[str, Any], stage: Any) -> int:
    stages = sorted(f["stages"])
    if stage == "last":
        return stages[-1]
    if int(stage) not in stages:
        raise ValueError(f"stage {stage!r} not among the network's stages {stages}")
    return int(stage)


def decide_padding(arms: Arms, settings: Mapping[str, Any], *, level: float = LEVEL, resamples: int = 2000,
                   seed: int = 0) -> dict[str, Any]:
    """The padding control: the study's colour-preference verdict with a constant padding colour
    (``on``) and with a random colour per image (``off``), each against the plain networks.
    ``resamples`` and ``seed`` are unused (Student-t intervals over members)."""
    unknown = set(settings) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown padding-control settings {sorted(unknown)}; known: {sorted(DEFAULTS)}")
    out, extra = {}, {}
    for arm in ("on", "off"):
        f, _ = arm_findings(arms[arm], settings, level)
        st = _stage(f, settings.get("stage", "last"))
        out[arm] = f["stages"][st]["padded_prefers_colour_more"]
        extra[arm] = {"stage": st, "stages": f["stages"],
                      **{k: v for k, v in f.items() if k.startswith("accuracy_") or k.startswith("padded_")}}
    sizes = {arm: {p: len(arms[arm][p].models) for p in PARTS} for arm in ("on", "off")}
    seeds = {arm: {p: arms[arm][p].info.get("seed") for p in PARTS} for arm in ("on", "off")}
    s = {**DEFAULTS, **dict(settings)}
    design = (f"padding {s['pad']} px ({s['pad_mode']}) of {s['pad_color']} (on) or of a colour per image and epoch "
              f"(off); verdict at stage {extra['on']['stage']}: response({s['pad_color']}) − response({s['grey']}), "
              f"padded − plain, paired by member")
    return control_result("padding", "contamination", FINDING, MECHANISM, SOURCE, out["on"], out["off"],
                          sizes=sizes, seeds=seeds, design=design, extra={"arms": extra})
