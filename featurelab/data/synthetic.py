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

Look-alike rare motifs (the gde control; off by default): when ``lookalike.enabled``, rare
motif ``j`` of class ``c`` is a near copy of dominant motif ``j mod t_d`` of class
``(c + 1) mod C``: the same colour and the same mask with exactly ``lookalike.flips`` pixels
flipped (chosen at random from a stream of its own, ``[seed, 0, 1]``, redrawn until the copy
is distinct from every other motif and has at least 3 pixels on). It changes the motif bank,
so both splits (every image that carries a rare motif) change; the random streams of the
splits do not, so labels, dominant/rare, blue levels, positions and noise stay those of the
same world without it. Jiang, Baek, Kolter (2024) §5: "two models that share some features
but both do not have the features in the data point [...] agree with probability ζ" (the
guess is not independent: §5.2 takes ζ = 0.9); a rare point whose motifs look like another
class's dominant ones is one every network without its rare features misreads the same way,
as that class: the shared wrong answer that GDE needs (agreement − accuracy = P(both wrong,
same answer) − P(exactly one right)/2).
Rare slice (the interaction study's O.4 control): ``rare_slice: {count: G, index: g}``
with G > 1 makes the *training* split's rare images draw their motifs only from slice g
of their class's rare motifs, the rare motifs of local rare index r (0 ≤ r < t_r) with
r mod G = g (interleaved, so that the blue tie's pools, which are prefixes, hold every
slice alike). Models of one slice then learn the same rare motifs and models of
different slices disjoint ones: features shared by construction. Jiang, Baek, Kolter
(2024) §4, Observation 4 ("Models with similar features make similar mistakes"): the
shared error of a pair rises with the number of features the pair shares. Off by default
(G = 1); the test, validation and shifted splits never change (the same random stream,
the same draws: only which rare motifs a training image may carry changes), so every
member of every slice is evaluated on the base world's test points.

Background shift (Zhang et al., "Feature Contamination", ICML 2024, Def. 3.1 in image
form): the ``shifted`` split is the test split with every background drawn from a
disjoint colour range (red and green shares in :data:`SHIFTED_RG` instead of
:data:`ID_RG`): the same images, labels, motifs, positions, blue levels and pixel noise;
only the background pixels change, so the core features (motifs) are intact and the
background, which carries no label information, is out of distribution.

Train-only frequency shift (Gontijo-Lopes, Dauphin, Cubuk, "No One Representation to Rule
Them All: Overlapping Features of Training Methods", ICLR 2022, §3-4: models trained on
different data, the Dataset category, "specialize" on different features and make the most
uncorrelated errors): ``train_only.frequent_offset`` = k rotates, in the train split only,
which of a class's motifs are frequent: a dominant training image draws its motifs from local
ids ``k .. k+t_d−1`` and a rare one from the next ``t_r`` (mod ``t_d+t_r``, in that order, so a
rare pool cut by the blue tie keeps the first of them); ``train_only.draw`` = d > 0 draws the
train split from a stream of its own (another sample of the same distribution). The test and
val splits are the world's own, bit for bit, so models trained on shifted worlds are scored on
the same test points; both keys 0 (the default) leave the train split unchanged too.

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
#: Marks the train split's own stream of ``train_only.draw`` (apart from every ``draw``'s).
_TRAIN_ONLY_STREAM = 7_919


@dataclass(frozen=True)
class BlueTie:
    enabled: bool = True
    rare_pool_min_fraction: float = 0.25


@dataclass(frozen=True)
class Lookalike:
    """Rare motifs of class c made near copies of class c+1's dominant motifs (module doc)."""

    enabled: bool = False
    flips: int = 3


@dataclass(frozen=True)
class TrainOnly:
    """Changes to the train split alone (the diversity control's Dataset worlds)."""

    frequent_offset: int = 0
    draw: int = 0


@dataclass(frozen=True)
class RareSlice:
    """Train-only rare-motif slice (off when ``count`` = 1): see the module docstring."""

    count: int = 1
    index: int = 0

    @property
    def enabled(self) -> bool:
        return self.count > 1


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
    lookalike: Lookalike = field(default_factory=Lookalike)
    train_only: TrainOnly = field(default_factory=TrainOnly)
    rare_slice: RareSlice = field(default_factory=RareSlice)
    cooccurrence: Cooccurrence = field(default_factory=Cooccurrence)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "WorldConfig":
        d = dict(d)
        bt = d.pop("blue_tie", {}) or {}
        la = d.pop("lookalike", {}) or {}
        to = d.pop("train_only", {}) or {}
        rs = d.pop("rare_slice", {}) or {}
        co = d.pop("cooccurrence", {}) or {}
        unknown = set(d) - set(cls.__dataclass_fields__)
        unknown |= {f"train_only.{k}" for k in set(to) - set(TrainOnly.__dataclass_fields__)}
        if unknown:
            raise ValueError(f"unknown synthetic-world keys: {sorted(unknown)}")
        bad = set(la) - set(Lookalike.__dataclass_fields__)
        if bad:
            raise ValueError(f"unknown synthetic-world keys: {sorted('lookalike.' + k for k in bad)}")
        bad = set(rs) - set(RareSlice.__dataclass_fields__)
        if bad:
            raise ValueError(f"unknown rare_slice keys: {sorted(bad)} (known: count, index)")
        unknown = set(co) - set(Cooccurrence.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown synthetic-world cooccurrence keys: {sorted(unknown)}")
        return cls(blue_tie=BlueTie(**bt), lookalike=Lookalike(**la), train_only=TrainOnly(**to),
                   rare_slice=RareSlice(**rs), cooccurrence=Cooccurrence(**co), **d)

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
        la = self.lookalike
        need(isinstance(la.enabled, bool), f"lookalike.enabled must be true or false, got {la.enabled!r}")
        need(isinstance(la.flips, int) and not isinstance(la.flips, bool)
             and 1 <= la.flips <= self.motif_size ** 2 // 2,
             f"lookalike.flips must be an integer in [1, {self.motif_size ** 2 // 2}] (pixels of a "
             f"{self.motif_size}×{self.motif_size} motif flipped), got {la.flips!r}")
        off, tdraw = self.train_only.frequent_offset, self.train_only.draw
        need(isinstance(off, int) and 0 <= off < self.motifs_per_class,
             f"train_only.frequent_offset must be an integer in [0, {self.motifs_per_class}), got {off!r}")
        need(isinstance(tdraw, int) and tdraw >= 0, f"train_only.draw must be an integer ≥ 0, got {tdraw!r}")
        rs = self.rare_slice
        need(isinstance(rs.count, int) and rs.count >= 1, f"rare_slice.count must be an integer ≥ 1, got {rs.count!r}")
        need(isinstance(rs.index, int) and 0 <= rs.index < max(rs.count, 1),
             f"rare_slice.index must lie in [0, count={rs.count}), got {rs.index!r}")
        if rs.count > 1:
            need(self.t_r // rs.count >= self.n_r,
                 f"rare_slice.count={rs.count} leaves slices of {self.t_r // rs.count} of the t_r={self.t_r} rare "
                 f"motifs, fewer than the n_r={self.n_r} a rare image carries")
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
    if cfg.lookalike.enabled:
        masks, colours = _lookalike(cfg, masks, colours)
    return masks, colours


def lookalike_source(cfg: WorldConfig, motif_id: np.ndarray | int) -> np.ndarray:
    """The global id of the dominant motif a rare motif copies under ``lookalike``: rare
    motif ``j`` (local id ``t_d + j``) of class ``c`` copies dominant motif ``j mod t_d`` of
    class ``(c + 1) mod C``."""
    mid = np.asarray(motif_id)
    c, local = mid // cfg.motifs_per_class, mid % cfg.motifs_per_class
    if np.any(local < cfg.t_d):
        raise ValueError("only rare motifs have a look-alike source")
    return ((c + 1) % cfg.num_classes) * cfg.motifs_per_class + (local - cfg.t_d) % cfg.t_d


def _lookalike(cfg: WorldConfig, masks: np.ndarray, colours: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Replace every rare motif by its look-alike (module doc): the source's colour and mask
    with ``flips`` pixels flipped, distinct from every other motif, at least 3 pixels on."""
    rng = np.random.default_rng([cfg.seed, 0, 1])
    masks, colours = masks.copy(), colours.copy()
    s2, k = cfg.motif_size ** 2, cfg.lookalike.flips
    rare = [c * cfg.motifs_per_class + cfg.t_d + j for c in range(cfg.num_classes) for j in range(cfg.t_r)]
    rare_set = set(rare)
    seen = {np.packbits(m).tobytes() for i, m in enumerate(masks) if i not in rare_set}
    for gid in rare:
        src = int(lookalike_source(cfg, gid))
        for _ in range(10000):
            flat = masks[src].reshape(-1).copy()
            flat[rng.choice(s2, size=k, replace=False)] ^= True
            key = np.packbits(flat).tobytes()
            if flat.sum() >= 3 and key not in seen:
                break
        else:  # pragma: no cover - needs a bank far denser than any 6-px world
            raise ValueError(f"lookalike: no distinct copy of motif {src} with {k} flips")
        seen.add(key)
        masks[gid] = flat.reshape(masks[src].shape)
        colours[gid] = colours[src]
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
    shifted_train = stream == "train" and (cfg.train_only.draw or cfg.train_only.frequent_offset)
    tail = [cfg.draw] if cfg.draw else []
    if stream == "train" and cfg.train_only.draw:
        tail = [cfg.draw, _TRAIN_ONLY_STREAM, cfg.train_only.draw]
    rng = np.random.default_rng([cfg.seed, SPLITS[stream], *tail])
    offset = cfg.train_only.frequent_offset if shifted_train else 0
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
    r = (j - offset) % cfg.motifs_per_class  # a motif's rank in this split's frequency order
    allowed = np.where(dominant[:, None], r[None, :] < cfg.t_d,
                       (r[None, :] >= cfg.t_d) & (r[None, :] < cfg.t_d + pool[:, None]))
    if stream == "train" and cfg.rare_slice.enabled:
        # train-only: a rare image's motifs come from its slice alone (every local rare index
        # r = j - t_d with r mod G = g); the pool of the blue tie does not apply to them
        r = j - cfg.t_d
        in_slice = (j >= cfg.t_d) & (r % cfg.rare_slice.count == cfg.rare_slice.index)
        allowed = np.where(dominant[:, None], allowed, in_slice[None, :])
        pool = np.where(dominant, pool, int(in_slice.sum()))
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
