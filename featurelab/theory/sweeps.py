"""The parameter sweeps behind Figures 4, 16 and 5a of Jiang, Baek, Kolter (ICLR 2024, §5.2,
App. F.7): single-parameter and coupled ablations around the §5.2 defaults, the three ζ
families, and the coverage bound of Lemma B.1 against β.
"""
from __future__ import annotations

import math
from typing import Any, Iterable, Mapping, Sequence, Union

from .closed_forms import (
    ALPHA,
    DEFAULTS,
    FIG16_ETAS,
    FIG16_THETA,
    Number,
    Params,
    Zeta,
    ZetaSpec,
    _as_params,
    _grid,
    _to_fraction,
    closed_form,
    coverage_bound,
    make_zeta,
)

#: The columns that identify a row of a sweep (its panel and x value).
SWEEP_KEYS = ["ablation", "parameter", "coupled", "value"]

#: Figure 4 single-parameter ablations around DEFAULTS. Ranges follow the panels' axes (p_d to
#: 1, t_d to 250, t_r to 600, c to ~45, n_d to 12, n_r to 50) and start where the model is
#: valid at the defaults (t_d ≥ c_d = 7, t_r ≥ n_r = 10; c even).
FIG4_RANGES: dict[str, tuple[Number, ...]] = {
    "p_d": _grid(0.05, 1.0, 0.05),
    "c": tuple(range(2, 49, 2)),
    "t_d": tuple(range(10, 251, 10)),
    "t_r": tuple(range(20, 601, 20)),
    "n_d": tuple(range(1, 13)),
    "n_r": tuple(range(1, 51)),
}

#: Figure 4 right column / Figure 16 coupled ablations: the x parameter, coupled one
#: (= ⌊α·x⌋) and range. Axes show t_r 100..500 and n_r up to 50; n_r starts at 5 so n_d ≥ 1.
FIG4_COUPLED_RANGES: dict[str, tuple[str, tuple[int, ...]]] = {
    "t_r": ("t_d", tuple(range(100, 501, 20))),
    "n_r": ("n_d", tuple(range(5, 51))),
}

#: Figure 16 panels (App. F.7): p_d, c, coupled n_r/n_d, coupled t_r/t_d.
FIG16_RANGES: dict[str, tuple[Number, ...]] = {
    "p_d": FIG4_RANGES["p_d"],
    "c": FIG4_RANGES["c"],
    "n_r+n_d": FIG4_COUPLED_RANGES["n_r"][1],
    "t_r+t_d": FIG4_COUPLED_RANGES["t_r"][1],
}

#: Figure 5a x axis: coverage β (β_d = β_r) from 0 to 0.6.
FIG5A_BETAS: tuple[float, ...] = _grid(0.0, 0.6, 0.025)


def _zeta_meta(z: ZetaSpec) -> dict[str, Any]:
    fn = make_zeta(z)
    if isinstance(fn, Zeta):
        return {"zeta_family": fn.family, "eta": float(fn.eta),
                "theta": float(fn.theta) if fn.theta is not None else float("nan")}
    return {"zeta_family": getattr(fn, "__name__", "custom"), "eta": float("nan"),
            "theta": float("nan")}


def ablate(parameter: str, values: Iterable[Number], base: Union[Params, Mapping[str, Number], None] = None,
           zetas: Sequence[ZetaSpec] = (None,), couple: str | None = None, alpha: Number = ALPHA,
           ablation: str | None = None, figure: str = "") -> list[dict[str, Any]]:
    """Closed forms along one parameter, optionally coupling ``couple = ⌊alpha·value⌋``.

    Returns one record per (value, ζ) with the parameters, ``c_d, c_r``, ``accuracy``,
    ``agreement``, ``difference = accuracy − agreement`` and the ζ family/η/θ. ``q2`` is
    computed once per value and reused for every ζ.
    """
    prm0 = _as_params(base if base is not None else DEFAULTS)
    if parameter not in DEFAULTS:
        raise ValueError(f"parameter must be one of {list(DEFAULTS)}, got {parameter!r}")
    if couple is not None and couple not in DEFAULTS:
        raise ValueError(f"couple must be one of {list(DEFAULTS)}, got {couple!r}")
    a = _to_fraction(alpha, "alpha")
    metas = [(z, _zeta_meta(z)) for z in zetas]
    name = ablation or (parameter if couple is None else f"{parameter}+{couple}")
    rows: list[dict[str, Any]] = []
    for v in values:
        changes: dict[str, Number] = {parameter: v}
        if couple is not None:
            changes[couple] = math.floor(a * _to_fraction(v, parameter))
        prm = prm0.replace(**changes)
        for z, meta in metas:
            cf = closed_form(prm, z)
            rows.append({"figure": figure, "ablation": name, "parameter": parameter,
                         "value": v, "coupled": couple or "", **prm.as_dict(),
                         "c_d": cf["c_d"], "c_r": cf["c_r"], **meta,
                         "accuracy": cf["accuracy"], "agreement": cf["agreement"],
                         "difference": cf["difference"]})
    return rows


def sweep_fig4(base: Union[Params, Mapping[str, Number], None] = None, zeta: ZetaSpec = None,
               ranges: Mapping[str, Sequence[Number]] | None = None,
               coupled: Mapping[str, tuple[str, Sequence[Number]]] | None = None,
               alpha: Number = ALPHA):
    """Figure 4 data (§5.2): each parameter ablated around the defaults (``FIG4_RANGES``) plus
    the coupled ablations ``t_d = ⌊α t_r⌋`` and ``n_d = ⌊α n_r⌋`` (``FIG4_COUPLED_RANGES``,
    α = 0.2), all with ζ = 0.9·1{k>0} unless ``zeta`` is given. Returns a pandas DataFrame with
    columns figure, ablation, parameter, value, coupled, the six parameters, c_d, c_r,
    zeta_family, eta, theta, accuracy, agreement, difference."""
    import pandas as pd

    rows: list[dict[str, Any]] = []
    for par, vals in (ranges or FIG4_RANGES).items():
        rows += ablate(par, vals, base, (zeta,), figure="fig4")
    for par, (other, vals) in (coupled or FIG4_COUPLED_RANGES).items():
        rows += ablate(par, vals, base, (zeta,), couple=other, alpha=alpha, figure="fig4")
    return pd.DataFrame(rows)


def sweep_fig16(base: Union[Params, Mapping[str, Number], None] = None,
                ranges: Mapping[str, Sequence[Number]] | None = None,
                etas: Mapping[str, Sequence[Number]] | None = None,
                theta: Number = FIG16_THETA, alpha: Number = ALPHA):
    """Figure 16 data (App. F.7): accuracy − agreement for the constant, proportional and step
    ζ over their η ranges (``FIG16_ETAS``, step with θ = 0.8), along the panels p_d, c,
    coupled n_r/n_d and coupled t_r/t_d (``FIG16_RANGES``). Same columns as
    :func:`sweep_fig4`."""
    import pandas as pd

    etas = etas or FIG16_ETAS
    zetas: list[ZetaSpec] = []
    for fam, vals in etas.items():
        for e in vals:
            zetas.append({"family": fam, "eta": e, "theta": theta} if fam == "step"
                         else {"family": fam, "eta": e})
    rows: list[dict[str, Any]] = []
    for panel, vals in (ranges or FIG16_RANGES).items():
        if "+" in panel:
            par, other = panel.split("+")
            rows += ablate(par, vals, base, zetas, couple=other, alpha=alpha, figure="fig16")
        else:
            rows += ablate(panel, vals, base, zetas, figure="fig16")
    return pd.DataFrame(rows)


def sweep_fig5a(betas: Sequence[Number] = FIG5A_BETAS,
                base: Union[Params, Mapping[str, Number], None] = None):
    """Figure 5a data (App. B): Lemma B.1's bound as a function of coverage β = β_d = β_r at
    the defaults. Columns: figure, beta, p_d, t_d, t_r, n_d, n_r, bound."""
    import pandas as pd

    prm = _as_params(base if base is not None else DEFAULTS)
    rows = [{"figure": "fig5a", "beta": b, "p_d": prm.p_d, "t_d": prm.t_d, "t_r": prm.t_r,
             "n_d": prm.n_d, "n_r": prm.n_r,
             "bound": coverage_bound(b, b, prm.p_d, prm.t_d, prm.t_r, prm.n_d, prm.n_r)}
            for b in betas]
    return pd.DataFrame(rows)
