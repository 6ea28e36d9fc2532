"""Combinatorial framework of feature learning: closed forms, simulation, sweeps.

Jiang, Baek, Kolter (ICLR 2024) §5, Appendix B, C and F.7. A binary task seen from one
class; every quantity below is per class.

Parameters (:class:`Params`)
    ``p_d``  share of dominant data points (``p_r = 1 - p_d``);
    ``c``    model capacity, the number of features a model holds over *both* classes;
    ``t_d``, ``t_r``  dominant / rare features available for one class;
    ``n_d``, ``n_r``  features a dominant / rare point holds.

A model holds, for the class at hand, ``c_d = round(p_d·c/2)`` dominant and
``c_r = c/2 − c_d`` rare features (paper footnote 2). **Rounding choice**: the
paper says "round to the nearest integer"; we round ties *half up* (``floor(x + 1/2)`` on the
exact rational ``p_d·c/2``), not Python's banker's ``round``. The §5.2 defaults have no tie
(``0.7·20/2 = 7``), so both conventions give the paper's numbers there; ties such as
``p_d = 0.5, c = 10`` give ``c_d = 3`` here where ``round`` would give 2. Floats are read as
the decimal they print as (``0.7`` is 7/10), so the tie test is exact. ``c`` must be even
(``c/2`` features per class is an integer) and ``c_d ≤ t_d``, ``c_r ≤ t_r`` (a model samples
distinct features without replacement).

Closed forms (exact rationals, converted to float at the end):

* ``C(n, r) = 0`` when ``n < 0``, ``r < 0`` or ``n < r`` (:func:`binom`).
* ``m_d = C(t_d−c_d, n_d)/C(t_d, n_d)``, ``m_r = C(t_r−c_r, n_r)/C(t_r, n_r)``: probability a
  model shares no feature with a dominant / rare point (:func:`miss_probability`).
* ``H(a; K, N, n) = C(K,a) C(N−K,n−a)/C(N,n)`` (:func:`hypergeom_pmf`).
* Prop. 5.1 (App. C.1): ``Acc = p_d (1 − m_d/2) + p_r (1 − m_r/2)`` (:func:`accuracy`).
* Prop. 5.2 (App. C.2): ``q1 = p_d (1−m_d)² + p_r (1−m_r)²`` (both models share a feature
  with the point), ``q2(k)`` = P(both miss the point and share exactly ``k`` features of this
  class with each other) =
  ``p_d [C(t_d−n_d,c_d)/C(t_d,c_d)]² Σ_{a+b=k} H(a; c_d, t_d−n_d, c_d) H(b; c_r, t_r, c_r)
  + p_r [C(t_r−n_r,c_r)/C(t_r,c_r)]² Σ_{a+b=k} H(a; c_d, t_d, c_d) H(b; c_r, t_r−n_r, c_r)``,
  ``Agr = 1/2 + q1/2 + Σ_{k=1..c} (ζ(k,c) − 1/2) q2(k)`` (:func:`agreement`).
* Lemma B.1 (App. C.3): coverage bound (:func:`coverage_bound`).

Agreement functions ζ (App. F.7): :func:`zeta_constant` ``η·1{k>0}``,
:func:`zeta_proportional` ``min(η k/c, 1)``, :func:`zeta_step` ``θ·1{k≤η} + 1{k>η}``
(the paper prints ``1{c≤η}``; ``k`` is what the text describes).

The Monte Carlo check is :mod:`featurelab.theory.simulation`; the sweeps behind Figures 4,
16 and 5a are :mod:`featurelab.theory.sweeps`.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Any, Callable, Mapping, Sequence, Union

import numpy as np

Number = Union[int, float, Fraction]
ZetaFn = Callable[[int, int], Number]
ZetaSpec = Union[None, str, Mapping[str, Any], ZetaFn]

#: §5.2 initial values ("Unless specified otherwise ...").
DEFAULTS: dict[str, Number] = {"p_d": 0.7, "c": 20, "t_d": 20, "t_r": 180, "n_d": 5, "n_r": 10}

#: §5.2 agreement function ζ(k, c) = 0.9·1{k>0}.
DEFAULT_ZETA: dict[str, Any] = {"family": "constant", "eta": 0.9}

#: §5.2 coupling constant: n_d = ⌊α n_r⌋, t_d = ⌊α t_r⌋.
ALPHA = 0.2


def _grid(start: float, stop: float, step: float, ndigits: int = 10) -> tuple[float, ...]:
    n = int(round((stop - start) / step)) + 1
    return tuple(round(start + i * step, ndigits) for i in range(n))


#: App. F.7 η ranges: constant 0.5..0.95, proportional 1..2.8 (legend step 0.3), step 0..9.
FIG16_ETAS: dict[str, tuple[Number, ...]] = {
    "constant": _grid(0.5, 0.95, 0.05),
    "proportional": _grid(1.0, 2.8, 0.3),
    "step": tuple(range(0, 10)),
}

#: App. F.7: "we use θ = 0.8" for the step function.
FIG16_THETA = 0.8
ZETA_FAMILIES = ("constant", "proportional", "step")


def _to_fraction(x: Any, name: str) -> Fraction:
    """Exact rational of a probability-like number; floats are read as their printed decimal."""
    if isinstance(x, (bool, np.bool_)):
        raise ValueError(f"{name} must be a number, got {x!r}")
    if isinstance(x, Fraction):
        return x
    if isinstance(x, numbers.Integral):
        return Fraction(int(x))
    if isinstance(x, numbers.Rational):
        return Fraction(x.numerator, x.denominator)
    if isinstance(x, numbers.Real):
        xf = float(x)
        if not math.isfinite(xf):
            raise ValueError(f"{name} must be finite, got {x!r}")
        return Fraction(repr(xf))
    raise ValueError(f"{name} must be a real number, got {x!r}")


def _to_int(x: Any, name: str) -> int:
    if isinstance(x, (bool, np.bool_)):
        raise ValueError(f"{name} must be an integer, got {x!r}")
    if isinstance(x, numbers.Integral):
        return int(x)
    if isinstance(x, numbers.Real) and math.isfinite(float(x)) and float(x).is_integer():
        return int(x)
    raise ValueError(f"{name} must be an integer, got {x!r}")


def _probability(x: Any, name: str) -> Fraction:
    f = _to_fraction(x, name)
    if not 0 <= f <= 1:
        raise ValueError(f"{name} must be a probability in [0, 1], got {x!r}")
    return f


def binom(n: int, r: int) -> int:
    """Exact binomial coefficient with the convention ``C(n, r) = 0`` if n<0, r<0 or n<r."""
    if n < 0 or r < 0 or n < r:
        return 0
    return math.comb(n, r)


def hypergeom_pmf(a: int, K: int, N: int, n: int) -> Fraction:
    """``H(a; K, N, n) = C(K,a) C(N−K,n−a) / C(N,n)``, exact.

    Probability of exactly ``a`` marked items when drawing ``n`` of ``N`` items, ``K`` of them
    marked, without replacement. Zero when ``C(N, n) = 0`` (impossible draw).
    """
    den = binom(N, n)
    if den == 0:
        return Fraction(0)
    return Fraction(binom(K, a) * binom(N - K, n - a), den)


def miss_probability(t: int, chosen: int, n: int) -> Fraction:
    """``C(t−chosen, n)/C(t, n)``: a random ``n``-subset of ``t`` features avoids a fixed
    ``chosen``-subset (``m_d`` with ``(t_d, c_d, n_d)``, ``m_r`` with ``(t_r, c_r, n_r)``)."""
    den = binom(t, n)
    if den == 0:
        raise ValueError(f"cannot draw {n} of {t} features")
    return Fraction(binom(t - chosen, n), den)


def split_capacity(p_d: Number, c: int) -> tuple[int, int]:
    """``(c_d, c_r)`` with ``c_d = round_half_up(p_d·c/2)`` and ``c_r = c/2 − c_d``.

    Ties round up (ordinary rounding), unlike Python's banker's ``round``; see module doc.
    """
    p = _probability(p_d, "p_d")
    c = _to_int(c, "c")
    if c < 0 or c % 2:
        raise ValueError(f"c must be a non-negative even integer (c/2 features per class), got {c}")
    c_d = math.floor(p * c / 2 + Fraction(1, 2))
    return c_d, c // 2 - c_d


@dataclass(frozen=True)
class Params:
    """The six free parameters of the framework (paper §5), validated.

    Integers may be given as integral floats (``5.0``). ``ValueError`` names the offending
    parameter when: a probability is outside [0, 1]; a count is negative or not an integer;
    ``c`` is odd (a model holds ``c/2`` features per class); ``n_d > t_d`` or ``n_r > t_r``;
    ``c_d > t_d`` or ``c_r > t_r`` (a model samples distinct features, so it cannot hold more
    dominant/rare features than exist; lower ``c`` or move ``p_d``, or raise ``t_d``/``t_r``).
    """

    p_d: Number = DEFAULTS["p_d"]
    c: int = DEFAULTS["c"]  # type: ignore[assignment]
    t_d: int = DEFAULTS["t_d"]  # type: ignore[assignment]
    t_r: int = DEFAULTS["t_r"]  # type: ignore[assignment]
    n_d: int = DEFAULTS["n_d"]  # type: ignore[assignment]
    n_r: int = DEFAULTS["n_r"]  # type: ignore[assignment]

    def __post_init__(self) -> None:
        _probability(self.p_d, "p_d")
        for name in ("c", "t_d", "t_r", "n_d", "n_r"):
            v = _to_int(getattr(self, name), name)
            if v < 0:
                raise ValueError(f"{name} must be a non-negative integer, got {v}")
            object.__setattr__(self, name, v)
        if self.c % 2:
            raise ValueError(f"c must be even (a model holds c/2 features per class), got {self.c}")
        if self.n_d > self.t_d:
            raise ValueError(f"n_d = {self.n_d} exceeds t_d = {self.t_d}: a dominant point "
                             "holds n_d distinct dominant features, so n_d ≤ t_d is required")
        if self.n_r > self.t_r:
            raise ValueError(f"n_r = {self.n_r} exceeds t_r = {self.t_r}: a rare point holds "
                             "n_r distinct rare features, so n_r ≤ t_r is required")
        c_d, c_r = self.c_d, self.c_r
        if c_d > self.t_d:
            raise ValueError(f"c_d = round(p_d*c/2) = {c_d} exceeds t_d = {self.t_d}: a model "
                             "holds c_d distinct dominant features, so c_d ≤ t_d is required "
                             "(lower c or p_d, or raise t_d)")
        if c_r > self.t_r:
            raise ValueError(f"c_r = c/2 - c_d = {c_r} exceeds t_r = {self.t_r}: a model holds "
                             "c_r distinct rare features, so c_r ≤ t_r is required "
                             "(lower c, raise p_d or t_r)")

    @property
    def p_exact(self) -> Fraction:
        """``p_d`` as an exact rational."""
        return _to_fraction(self.p_d, "p_d")

    @property
    def p_r(self) -> Fraction:
        return 1 - self.p_exact

    @property
    def c_d(self) -> int:
        return split_capacity(self.p_d, self.c)[0]

    @property
    def c_r(self) -> int:
        return split_capacity(self.p_d, self.c)[1]

    def as_dict(self) -> dict[str, Number]:
        return asdict(self)

    def replace(self, **changes: Number) -> "Params":
        d = self.as_dict()
        d.update(changes)
        return Params(**d)


def _as_params(params: Union[Params, Mapping[str, Number]]) -> Params:
    if isinstance(params, Params):
        return params
    if isinstance(params, Mapping):
        return Params(**params)
    raise ValueError(f"params must be a Params or a mapping of its fields, got {params!r}")


@dataclass(frozen=True)
class Zeta:
    """A named agreement function ζ(k, c) of App. F.7 (callable)."""

    family: str
    eta: Number
    theta: Number | None = None

    def __post_init__(self) -> None:
        if self.family == "constant":
            _probability(self.eta, "eta")
        elif self.family == "proportional":
            if _to_fraction(self.eta, "eta") < 0:
                raise ValueError(f"eta of the proportional zeta must be ≥ 0, got {self.eta!r}")
        elif self.family == "step":
            if _to_fraction(self.eta, "eta") < 0:
                raise ValueError(f"eta (threshold) of the step zeta must be ≥ 0, got {self.eta!r}")
            _probability(self.theta, "theta")
        else:
            raise ValueError(f"zeta family must be one of {ZETA_FAMILIES}, got {self.family!r}")

    def __call__(self, k: int, c: int) -> Number:
        if self.family == "constant":
            return self.eta if k > 0 else 0
        if self.family == "proportional":
            return min(self.eta * k / c, 1) if c > 0 else 1
        return self.theta if k <= self.eta else 1  # type: ignore[return-value]


def zeta_constant(eta: Number = 0.9) -> Zeta:
    """ζ(k, c) = η·1{k>0} (§5.2 uses η = 0.9; App. F.7 sweeps η ∈ [0.5, 0.95])."""
    return Zeta("constant", eta)


def zeta_proportional(eta: Number) -> Zeta:
    """ζ(k, c) = min(η k / c, 1) (App. F.7 sweeps η ∈ [1, 2.8])."""
    return Zeta("proportional", eta)


def zeta_step(eta: Number, theta: Number = FIG16_THETA) -> Zeta:
    """ζ(k, c) = θ·1{k ≤ η} + 1{k > η} (App. F.7: integer η ∈ 0..9, θ = 0.8)."""
    return Zeta("step", eta, theta)


def make_zeta(spec: ZetaSpec = None) -> ZetaFn:
    """Turn a ζ spec into a callable ``(k, c) -> probability``.

    ``None`` → §5.2's constant 0.9; a callable is returned as is; a string names a family
    (``"constant"`` uses η = 0.9; the others need η, so pass a dict); a mapping
    ``{"family": ..., "eta": ..., "theta": ...}`` builds that family.
    """
    if spec is None:
        spec = DEFAULT_ZETA
    if callable(spec):
        return spec
    if isinstance(spec, str):
        spec = {"family": spec}
    if isinstance(spec, Mapping):
        family = spec.get("family", "constant")
        extra = set(spec) - {"family", "eta", "theta"}
        if extra:
            raise ValueError(f"unknown zeta keys {sorted(extra)}; allowed: family, eta, theta")
        if family == "constant":
            return zeta_constant(spec.get("eta", 0.9))
        if family in ("proportional", "step"):
            if "eta" not in spec:
                raise ValueError(f"the {family} zeta needs an eta, e.g. "
                                 f"{{'family': '{family}', 'eta': {FIG16_ETAS[family][1]}}}")
            if family == "proportional":
                return zeta_proportional(spec["eta"])
            return zeta_step(spec["eta"], spec.get("theta", FIG16_THETA))
        raise ValueError(f"zeta family must be one of {ZETA_FAMILIES}, got {family!r}")
    raise ValueError(f"zeta must be a callable, a family name or a dict, got {spec!r}")


def _zeta_values(zeta: ZetaSpec, c: int, kmax: int) -> list[Number]:
    """ζ(k, c) for k = 0..kmax (entry 0 is unused and set to 1/2), validated in [0, 1]."""
    fn = make_zeta(zeta)
    out: list[Number] = [Fraction(1, 2)]
    for k in range(1, kmax + 1):
        z = fn(k, c)
        if isinstance(z, (bool, np.bool_)):
            z = int(z)
        if isinstance(z, Fraction):
            zv: Number = z
        elif isinstance(z, numbers.Integral):
            zv = Fraction(int(z))
        else:
            try:
                zv = float(z)
            except (TypeError, ValueError):
                raise ValueError(f"zeta(k={k}, c={c}) returned {z!r}, not a number") from None
        if not 0 <= zv <= 1:  # NaN fails too
            raise ValueError(f"zeta(k={k}, c={c}) returned {z!r}; an agreement probability "
                             "must lie in [0, 1]")
        out.append(zv)
    return out


def _convolve(x: Sequence[int], y: Sequence[int], size: int) -> list[int]:
    out = [0] * size
    for i, xi in enumerate(x):
        if xi:
            for j, yj in enumerate(y):
                if i + j < size:
                    out[i + j] += xi * yj
    return out


@lru_cache(maxsize=4096)
def _terms(params: Params) -> dict[str, Any]:
    p, c, c_d, c_r = params.p_exact, params.c, params.c_d, params.c_r
    t_d, t_r, n_d, n_r = params.t_d, params.t_r, params.n_d, params.n_r
    pr = 1 - p
    m_d = miss_probability(t_d, c_d, n_d)
    m_r = miss_probability(t_r, c_r, n_r)
    acc = p * (1 - m_d / 2) + pr * (1 - m_r / 2)
    q1 = p * (1 - m_d) ** 2 + pr * (1 - m_r) ** 2
    # Numerators of H(a; c_d, N, c_d) over a = 0..c_d, for N = t_d − n_d (model misses a
    # dominant point) and N = t_d (any dominant features); same for rare. Denominators C(N, c_d).
    hd_miss = [binom(c_d, a) * binom(t_d - n_d - c_d, c_d - a) for a in range(c_d + 1)]
    hd_all = [binom(c_d, a) * binom(t_d - c_d, c_d - a) for a in range(c_d + 1)]
    hr_miss = [binom(c_r, b) * binom(t_r - n_r - c_r, c_r - b) for b in range(c_r + 1)]
    hr_all = [binom(c_r, b) * binom(t_r - c_r, c_r - b) for b in range(c_r + 1)]
    size = c + 1
    conv_d = _convolve(hd_miss, hr_all, size)
    conv_r = _convolve(hd_all, hr_miss, size)
    Ctd, Ctr = binom(t_d, c_d), binom(t_r, c_r)
    # [C(t_d−n_d,c_d)/C(t_d,c_d)]² · conv_d[k] / (C(t_d−n_d,c_d) C(t_r,c_r)); one factor cancels.
    w_d = p * Fraction(binom(t_d - n_d, c_d), Ctd * Ctd * Ctr)
    w_r = pr * Fraction(binom(t_r - n_r, c_r), Ctr * Ctr * Ctd)
    q2 = tuple(w_d * conv_d[k] + w_r * conv_r[k] for k in range(size))
    return {"c_d": c_d, "c_r": c_r, "m_d": m_d, "m_r": m_r, "accuracy": acc, "q1": q1, "q2": q2}


def closed_form(params: Union[Params, Mapping[str, Number]], zeta: ZetaSpec = None,
                exact: bool = False) -> dict[str, Any]:
    """All closed-form quantities of Prop. 5.1 / 5.2 for one parameter setting.

    Returns ``c_d, c_r, m_d, m_r, q1, q2`` (tuple indexed by ``k = 0..c``; ``q2[0]`` is the
    probability that both models miss the point and share nothing), ``accuracy``,
    ``agreement`` and ``difference = accuracy − agreement`` (App. F.7's Diff). With
    ``exact=True`` probabilities are :class:`fractions.Fraction` (agreement too when ζ
    returns ints/Fractions); otherwise floats.
    """
    prm = _as_params(params)
    t = _terms(prm)
    z = _zeta_values(zeta, prm.c, prm.c)
    q1, q2 = t["q1"], t["q2"]
    if all(isinstance(v, Fraction) for v in z):
        agr: Number = Fraction(1, 2) + q1 / 2 + sum(((z[k] - Fraction(1, 2)) * q2[k]
                                                     for k in range(1, prm.c + 1)), Fraction(0))
    else:
        base = Fraction(1, 2) + q1 / 2 - sum(q2[1:], Fraction(0)) / 2
        agr = float(base) + sum(float(z[k]) * float(q2[k]) for k in range(1, prm.c + 1))
    out = dict(t)
    out["agreement"] = agr
    out["difference"] = t["accuracy"] - agr if isinstance(agr, Fraction) else float(t["accuracy"]) - agr
    if not exact:
        for key in ("m_d", "m_r", "accuracy", "q1", "agreement", "difference"):
            out[key] = float(out[key])
        out["q2"] = tuple(float(v) for v in q2)
    return out


def accuracy(p_d: Number, c: int, t_d: int, t_r: int, n_d: int, n_r: int) -> float:
    """Expected accuracy, Prop. 5.1 / App. C.1 (``Acc = p_d (1 − m_d/2) + p_r (1 − m_r/2)``).

    >>> round(accuracy(0.7, 20, 20, 180, 5, 10), 4)
    0.8447
    """
    return float(_terms(Params(p_d, c, t_d, t_r, n_d, n_r))["accuracy"])


def agreement(p_d: Number, c: int, t_d: int, t_r: int, n_d: int, n_r: int,
              zeta: ZetaSpec = None) -> float:
    """Expected agreement of an i.i.d. model pair, Prop. 5.2 / App. C.2
    (``Agr = 1/2 + q1/2 + Σ_{k=1..c} (ζ(k,c) − 1/2) q2(k)``).

    ``zeta``: a callable ``(k, c) -> probability``, a family name, or a dict such as
    ``{"family": "step", "eta": 3, "theta": 0.8}``; default §5.2's ``0.9·1{k>0}``.

    >>> round(agreement(0.7, 20, 20, 180, 5, 10), 4)
    0.8832
    """
    return float(closed_form(Params(p_d, c, t_d, t_r, n_d, n_r), zeta)["agreement"])


def coverage_bound(beta_d: Number, beta_r: Number, p_d: Number, t_d: int, t_r: int,
                   n_d: int, n_r: int) -> float:
    """Lemma B.1 / App. C.3 upper bound on accuracy with coverages ``β_d``, ``β_r``:

    ``Acc ≤ p_d (1 − C(⌊(1−β_d)t_d⌋, n_d) / (2 C(t_d, n_d))) + p_r (same with r)``.

    ``(1−β)t`` is floored to an integer, computed exactly (floats read as their decimal).
    Tight (equal to :func:`accuracy`) when ``β_d t_d = c_d`` and ``β_r t_r = c_r``; 1 when
    both β are 1 and ``n_d, n_r > 0``.
    """
    p = _probability(p_d, "p_d")
    bd = _probability(beta_d, "beta_d")
    br = _probability(beta_r, "beta_r")
    vals = {}
    for name, v in (("t_d", t_d), ("t_r", t_r), ("n_d", n_d), ("n_r", n_r)):
        vals[name] = _to_int(v, name)
        if vals[name] < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {v}")
    if vals["n_d"] > vals["t_d"]:
        raise ValueError(f"n_d = {vals['n_d']} exceeds t_d = {vals['t_d']}")
    if vals["n_r"] > vals["t_r"]:
        raise ValueError(f"n_r = {vals['n_r']} exceeds t_r = {vals['t_r']}")
    ud = math.floor((1 - bd) * vals["t_d"])
    ur = math.floor((1 - br) * vals["t_r"])
    bound = (p * (1 - Fraction(binom(ud, vals["n_d"]), 2 * binom(vals["t_d"], vals["n_d"])))
             + (1 - p) * (1 - Fraction(binom(ur, vals["n_r"]), 2 * binom(vals["t_r"], vals["n_r"]))))
    return float(bound)
