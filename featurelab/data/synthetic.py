"""The synthetic "feature world": images whose features are known.

The generative story is the one of Jiang, Baek, Kolter, "On the Joint Interaction of Models,
Data, and Features" (ICLR 2024) §5:

* ``C`` classes; class ``y`` owns ``t_d`` *dominant* and ``t_r`` *rare* motifs.
  A motif is a small binary ``motif_size × motif_size`` pattern painted in its own
  colour; all ``C·(t_d+t_r)`` motifs are distinct.
* An image is *dominant* with probability ``p_d`` and then carries ``n_d`` of its
  class's dominant motifs (drawn without replacement), otherwise it is *rare* and
  carries ``n_r`` of its class's rare motifs.
* Motifs are pasted into distinct cells of a jittered grid on a noisy, coloured
  background, so they never overlap.

Blue tie (used by the gde study): every image draws a *blue level*
``u ~ U(0, 1)``. Its background's blue share grows with ``u`` and, when
``blue_tie.enabled``, a rare image draws its motifs only from the first
``pool(u) = round(t_r·(f + (1−f)·u))`` rare motifs of its class
(``f = blue_tie.rare_pool_min_fraction``, at least ``n_r``). Bluer images then draw
from a larger rare pool, which is what Jiang, Baek, Kolter (2024) argues breaks GDE.

Background shift (Zhang et al., "Feature Contamination", ICML 2024, Def. 3.1 in image
form): the ``shifted`` split is the test split with every background drawn from a
disjoint colour range (red and green shares in :data:`SHIFTED_RG` instead of
:data:`ID_RG`): the same images, labels, motifs, positions, blue levels and pixel noise;
only the background pixels change, so the core features (motifs) are intact and the
background, which carries no label information, is out of distribution.

Co-occurrence classes (the width study's control; Duzgun, Jelassi, Li, "How Does
Overparameterization Affect Features?", 2024, §4): in the toy setting the label carries an
"addition" part (single signs) and a "multiplication" part, a product of signs, and only wide
networks learn the product's features; the concatenations of narrow ones miss them. With
``cooccurrence.classes = k`` (even, off at 0), the classes ``0 .. k−1`` form ``k/2`` pairs
``(2p, 2p+1)`` whose images carry exactly two motifs and no others: one of ``a, a'`` (the
dominant motifs 0 and 1 of class ``2p``) and one of ``b, b'`` (the dominant motifs 0 and 1
of class ``2p+1``), each side chosen with probability 1/2. Class ``2p`` gets the matched
pairs ``{a, b}`` or ``{a', b'}``, class ``2p+1`` the crossed ones ``{a, b'}`` or ``{a', b}``:
with ``x, z = ±1`` for the two choices the class within the pair is the sign of ``x·z``, the
image form of the toy's product of signs. Each single motif appears in half the images of
both classes of its pair (it tells the pair, not the class); only the pair tells the class.
The choices come from a stream of their own (``seed``, the split's stream, 11), so every other
draw, and the world with ``k = 0``, stay as they were; the ground truth gains a column
``cooccurrence`` (the image is a pair's). Every split carries it (train, val and test).

Everything is a pure function of the config and the seed: the motif bank comes from
``seed``, the train split from ``seed + 1`` and the test split (and its shifted copy) from
``seed + 2``. ``draw`` > 0 is another sample of the same world: the motif bank (the
classes) stays, every split's random stream changes (the diversity study's data
"collected differently", and its fresh held-out and test splits).
The ground truth of every image (label, dominant/rare, motif ids, positions,
background colour, blue level, rare pool size) is returned beside the pixels.
Motif ids are global: ``class·(t_d+t_r) + j``, ``j < t_d`` dominant, else rare.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

CLASS_NAMES_PREFIX = "class"
#: The splits a world generates and the stream of random numbers each draws from (the
#: validation split, when ``n_val`` > 0, is independent of the other two, which do not
#: change with it).
SPLITS = {"train": 1, "test": 2, "val": 3}
#: The test split with backgrounds from a disjoint colour range: the same random stream.
SHIFTED = "shifted"
#: The range of a background's red and green shares in the train, test and val splits, and
#: in the shifted split (disjoint; the blue share, tied to the blue level, is the same).
ID_RG = (0.15, 0.60)
SHIFTED_RG = (0.70, 0.95)
# the same ranges as (low, width), written out so that an ID background is 0.15 + 0.45·u exactly
_ID_LOW_WIDTH, _SHIFTED_LOW_WIDTH = (0.15, 0.45), (0.70, 0.25)


@dataclass(frozen=True)
class BlueTie:
    enabled: bool = True
    rare_pool_min_fraction: float = 0.25


@dataclass(frozen=True)
class Cooccurrence:
    """Classes ``0 .. classes−1`` (even; 0 = off) whose evidence is a pair of motifs, neither
    alone (module docstring)."""

    classes: int = 0


@dataclass(frozen=True)
class WorldConfig:
    """Parameters of the feature world; the names follow Jiang, Baek, Kolter (2024) §5."""

    num_classes: int = 10
    image_size: int = 32
    motif_size: int = 6
    t_d: int = 5
    t_r: int = 40
    n_d: int = 2
    n_r: int = 3
    p_d: float = 0.7
    noise: float = 0.08
    motif_density: float = 0.5
    n_train: int = 4000
    n_test: int = 1000
    n_val: int = 0
    seed: int = 0
    draw: int = 0
    blue_tie: BlueTie = field(default_factory=BlueTie)
    cooccurrence: Cooccurrence = field(default_factory=Cooccurrence)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "WorldConfig":
        d = dict(d)
        bt = d.pop("blue_tie", {}) or {}
        co = d.pop("cooccurrence", {}) or {}
        unknown = set(d) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown synthetic-world keys: {sorted(unknown)}")
        unknown = set(co) - set(Cooccurrence.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown synthetic-world cooccurrence keys: {sorted(unknown)}")
        return cls(blue_tie=BlueTie(**bt), cooccurrence=Cooccurrence(**co), **d)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def grid(self) -> int:
        """Cells per side of the motif grid (cell = motif_size + 2 pixels of jitter)."""
        return self.image_size // (self.motif_size + 2)

    @property
    def motifs_per_class(self) -> int:
        return self.t_d + self.t_r

    def validate(self) -> None:
        def need(cond: bool, msg: str) -> None:
            if not cond:
                raise ValueError(f"synthetic world: {msg}")

        need(self.num_classes >= 2, f"num_classes must be ≥ 2, got {self.num_classes}")
        need(0.0 <= self.p_d <= 1.0, f"p_d must lie in [0, 1], got {self.p_d}")
        for k in ("t_d", "t_r", "n_d", "n_r", "motif_size", "n_train", "n_test"):
            need(getattr(self, k) >= 1, f"{k} must be ≥ 1, got {getattr(self, k)}")
        need(self.n_val >= 0, f"n_val must be ≥ 0, got {self.n_val}")
        need(self.draw >= 0, f"draw must be ≥ 0, got {self.draw}")
        need(self.n_d <= self.t_d, f"n_d ({self.n_d}) must not exceed t_d ({self.t_d})")
        need(self.n_r <= self.t_r, f"n_r ({self.n_r}) must not exceed t_r ({self.t_r})")
        need(self.grid >= 1, f"image_size {self.image_size} too small for motif_size {self.motif_size}")
        need(max(self.n_d, self.n_r) <= self.grid ** 2,
             f"{max(self.n_d, self.n_r)} motifs do not fit in the {self.grid}×{self.grid} grid "
             f"of a {self.image_size}px image with {self.motif_size}px motifs")
        need(0.0 <= self.noise <= 1.0, f"noise must lie in [0, 1], got {self.noise}")
        need(0.0 < self.blue_tie.rare_pool_min_fraction <= 1.0,
             "blue_tie.rare_pool_min_fraction must lie in (0, 1]")
        k = self.cooccurrence.classes
        need(isinstance(k, int) and not isinstance(k, bool) and k >= 0 and k % 2 == 0,
             f"cooccurrence.classes must be an even integer ≥ 0, got {k!r}")
        need(k <= self.num_classes, f"cooccurrence.classes ({k}) must not exceed num_classes ({self.num_classes})")
        if k:
            need(self.t_d >= 2, f"cooccurrence needs t_d ≥ 2 (motifs a, a' of a class), got {self.t_d}")
            need(max(self.n_d, self.n_r) >= 2 and self.grid ** 2 >= 2,
                 "cooccurrence needs two motifs per image (max(n_d, n_r) ≥ 2 and a grid of ≥ 2 cells)")


def class_names(cfg: WorldConfig) -> list[str]:
    return [f"{CLASS_NAMES_PREFIX}{c}" for c in range(cfg.num_classes)]


def motif_bank(cfg: WorldConfig) -> tuple[np.ndarray, np.ndarray]:
    """All motifs: (masks (n_motifs, s, s) bool, colours (n_motifs, 3) float in [0,1]).

    Masks are distinct random binary patterns with density ≈ ``motif_density`` (never
    empty); colours are saturated random RGB colours. Drawn from ``cfg.seed``.
    """
    rng = np.random.default_rng([cfg.seed, 0])
    n = cfg.num_classes * cfg.motifs_per_class
    s = cfg.motif_size
    masks = np.zeros((0, s, s), dtype=bool)
    seen: set[bytes] = set()
    while masks.shape[0] < n:
        cand = rng.random((n, s, s)) < cfg.motif_density
        keep = []
        for m in cand:
            key = np.packbits(m).tobytes()
            if m.sum() >= 3 and key not in seen:
                seen.add(key)
                keep.append(m)
            if masks.shape[0] + len(keep) == n:
                break
        if keep:
            masks = np.concatenate([masks, np.stack(keep)])
    # saturated colours: random hue, full value, high saturation
    hue = rng.random(n)
    sat = 0.6 + 0.4 * rng.random(n)
    colours = _hsv_to_rgb(hue, sat, np.ones(n))
    return masks, colours


def _hsv_to_rgb(h: np.ndarray, s: np.ndarray, v: np.ndarray) -> np.ndarray:
    i = np.floor(h * 6).astype(int) % 6
    f = h * 6 - np.floor(h * 6)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    table = np.stack([
        np.stack([v, t, p], 1), np.stack([q, v, p], 1), np.stack([p, v, t], 1),
        np.stack([p, q, v], 1), np.stack([t, p, v], 1), np.stack([v, p, q], 1),
    ])
    return table[i, np.arange(len(h))]


def rare_pool_size(cfg: WorldConfig, blue_level: np.ndarray) -> np.ndarray:
    """Number of rare motifs a rare image with this blue level may draw from."""
    if not cfg.blue_tie.enabled:
        return np.full(np.shape(blue_level), cfg.t_r, dtype=np.int64)
    f = cfg.blue_tie.rare_pool_min_fraction
    pool = np.rint(cfg.t_r * (f + (1.0 - f) * np.asarray(blue_level))).astype(np.int64)
    return np.clip(pool, cfg.n_r, cfg.t_r)


def generate_split(cfg: WorldConfig, split: str, background: str = "id") -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Generate one split: (images uint8 NHWC, labels int64, ground truth DataFrame).

    ``background``: ``id`` (red and green shares in :data:`ID_RG`), ``shifted`` (in
    :data:`SHIFTED_RG`) or ``mixed`` (each image one or the other with probability 1/2,
    from a stream of its own): the same images otherwise. The split ``shifted`` is the
    test split with ``background="shifted"``.

    The ground truth has one row per image: ``index``, ``label``, ``dominant``
    (bool), ``motifs`` (list of global motif ids), ``cells`` (list of grid cells,
    same order), ``background`` (list of 3 floats), ``blue_level``, ``rare_pool``.
    """
    cfg.validate()
    if split not in (*SPLITS, SHIFTED):
        raise ValueError(f"split must be one of {', '.join((*SPLITS, SHIFTED))}, got {split!r}")
    if background not in ("id", "shifted", "mixed"):
        raise ValueError(f"background must be id, shifted or mixed, got {background!r}")
    if split == SHIFTED:
        split, background = "test", "shifted"
    stream = split
    n = {"train": cfg.n_train, "test": cfg.n_test, "val": cfg.n_val}[stream]
    rng = np.random.default_rng([cfg.seed, SPLITS[stream], *([cfg.draw] if cfg.draw else [])])
    masks, colours = motif_bank(cfg)
    S, s, g = cfg.image_size, cfg.motif_size, cfg.grid
    cell = S // g

    labels = rng.integers(0, cfg.num_classes, size=n)
    dominant = rng.random(n) < cfg.p_d
    blue = rng.random(n)
    pool = rare_pool_size(cfg, blue)

    # background: red/green drawn freely, blue channel rising with the blue level
    u = rng.random((n, 2))
    shift = np.full(n, background == "shifted")
    if background == "mixed":
        shift = np.random.default_rng([cfg.seed, SPLITS[stream], 7]).random(n) < 0.5
    (lo, w), (slo, sw) = _ID_LOW_WIDTH, _SHIFTED_LOW_WIDTH
    rg = np.where(shift[:, None], slo + sw * u, lo + w * u)
    b = 0.1 + 0.8 * blue
    background = np.concatenate([rg, b[:, None]], axis=1)
    images = background[:, None, None, :] + cfg.noise * rng.standard_normal((n, S, S, 3))

    k_max = max(cfg.n_d, cfg.n_r)
    # motif choice without replacement: rank random keys, invalid slots pushed to the end
    keys = rng.random((n, cfg.t_d + cfg.t_r))
    j = np.arange(cfg.t_d + cfg.t_r)
    allowed = np.where(dominant[:, None], j[None, :] < cfg.t_d,
                       (j[None, :] >= cfg.t_d) & (j[None, :] < cfg.t_d + pool[:, None]))
    keys = np.where(allowed, keys, 2.0)
    chosen = np.argsort(keys, axis=1)[:, :k_max]  # local ids
    n_motifs = np.where(dominant, cfg.n_d, cfg.n_r)
    pair_ids, in_pair = cooccurrence_motifs(cfg, labels, SPLITS[stream])
    n_motifs = np.where(in_pair, 2, n_motifs)
    cells = np.argsort(rng.random((n, g * g)), axis=1)[:, :k_max]
    jitter = rng.integers(0, cell - s + 1, size=(n, k_max, 2))

    motif_ids: list[list[int]] = []
    cell_lists: list[list[int]] = []
    for i in range(n):
        ids, cl = [], []
        for slot in range(n_motifs[i]):
            gid = pair_ids[i, slot] if in_pair[i] else labels[i] * cfg.motifs_per_class + chosen[i, slot]
            c = cells[i, slot]
            y0 = (c // g) * cell + jitter[i, slot, 0]
            x0 = (c % g) * cell + jitter[i, slot, 1]
            patch = images[i, y0:y0 + s, x0:x0 + s]
            patch[masks[gid]] = colours[gid]
            ids.append(int(gid))
            cl.append(int(c))
        motif_ids.append(ids)
        cell_lists.append(cl)

    images = np.clip(np.rint(images * 255.0), 0, 255).astype(np.uint8)
    import pandas as pd  # here, not at the top: the workflow validates worlds while it parses

    truth = pd.DataFrame({
        "index": np.arange(n, dtype=np.int64),
        "label": labels.astype(np.int64),
        "dominant": dominant,
        "motifs": motif_ids,
        "cells": cell_lists,
        "background": [list(map(float, r)) for r in background],
        "blue_level": blue,
        "rare_pool": pool,
        "shifted_background": shift,
    })
    if cfg.cooccurrence.classes:
        truth["cooccurrence"] = in_pair
    return images, labels.astype(np.int64), truth


def cooccurrence_motifs(cfg: WorldConfig, labels: np.ndarray, stream: int) -> tuple[np.ndarray, np.ndarray]:
    """The two global motif ids of every image of a co-occurrence class (module docstring):
    ``(ids (n, 2), in_pair (n,) bool)``; rows of other images are −1. Class ``2p`` carries
    ``{a, b}`` or ``{a', b'}``, class ``2p+1`` ``{a, b'}`` or ``{a', b}``, with ``a, a'`` the
    dominant motifs 0, 1 of class ``2p`` and ``b, b'`` those of class ``2p+1``. The choice of
    ``a`` or ``a'`` comes from the stream (``seed``, ``stream``, 11) (and ``draw``)."""
    labels = np.asarray(labels)
    n, k = labels.shape[0], cfg.cooccurrence.classes
    ids = np.full((n, 2), -1, dtype=np.int64)
    in_pair = labels < k
    if not k:
        return ids, in_pair
    rng = np.random.default_rng([cfg.seed, stream, 11, *([cfg.draw] if cfg.draw else [])])
    x = rng.random(n) < 0.5                      # True: a, False: a'
    z = np.where(labels % 2 == 0, x, ~x)          # matched for class 2p, crossed for 2p+1
    first = (labels - labels % 2) * cfg.motifs_per_class
    second = first + cfg.motifs_per_class
    ids[:, 0] = first + np.where(x, 0, 1)
    ids[:, 1] = second + np.where(z, 0, 1)
    ids[~in_pair] = -1
    return ids, in_pair


def motif_kind(cfg: WorldConfig, motif_id: np.ndarray | int) -> np.ndarray:
    """'dominant' or 'rare' for global motif ids."""
    local = np.asarray(motif_id) % cfg.motifs_per_class
    return np.where(local < cfg.t_d, "dominant", "rare")


def motif_class(cfg: WorldConfig, motif_id: np.ndarray | int) -> np.ndarray:
    return np.asarray(motif_id) // cfg.motifs_per_class


def render_motif(cfg: WorldConfig, motif_id: int) -> np.ndarray:
    """The motif as a uint8 (s, s, 3) image on black (for figures)."""
    masks, colours = motif_bank(cfg)
    out = np.zeros((cfg.motif_size, cfg.motif_size, 3))
    out[masks[motif_id]] = colours[motif_id]
    return (out * 255).astype(np.uint8)
