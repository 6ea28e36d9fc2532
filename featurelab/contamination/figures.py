"""The contamination study's figures (Zhang et al., "Feature Contamination", ICML 2024): Figs 3,
7-10 of the numerical setting, Figs 4/11, 5 and 15 of the deep networks, Figs 6c/13 of the
padding experiment. Each function returns the figure and the table it plots."""
from __future__ import annotations

import matplotlib.ticker as mticker
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from ..figures import new_figure, require_columns
from .findings import deep_tables, padding_tables

ACT_ORDER = ["relu", "identity", "gelu", "sigmoid", "tanh"]


def _long_risks(d: pd.DataFrame) -> pd.DataFrame:
    return d.melt(id_vars=["activation", "seed", "iteration"], value_vars=["id_loss", "ood_loss"],
                  var_name="test", value_name="risk").replace({"test": {"id_loss": "ID", "ood_loss": "OOD"}})


def _long_norms(d: pd.DataFrame) -> pd.DataFrame:
    return d.melt(id_vars=["activation", "seed", "iteration"], value_vars=["core_norm", "bg_norm"],
                  var_name="projection", value_name="norm").replace(
        {"projection": {"core_norm": "core", "bg_norm": "background"}})


#: Tick values of a risk axis: 1-2-5 steps from 1e-4 to 1e3, and 0.
_RISK_TICKS = [0.0] + [m * 10.0 ** e for e in range(-4, 4) for m in (1, 2, 5)]


def _risk_axis(ax, values) -> None:
    """A symlog risk axis whose scale is read off its tick labels: 1-2-5 ticks within the
    data's range (at least three), labelled with their values, and 0."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    hi = float(v.max()) if v.size else 1.0
    pos = v[v > 0]
    lo = float(pos.min()) if pos.size else 1e-3
    lin = max(10 ** np.floor(np.log10(max(lo, 1e-4))), 1e-4)
    ax.set_yscale("symlog", linthresh=lin)
    ticks = [t for t in _RISK_TICKS if t == 0.0 or lin <= t <= hi * 1.5]
    while len([t for t in ticks if t > 0]) < 3 and lin > 1e-4:
        lin /= 10
        ticks = [t for t in _RISK_TICKS if t == 0.0 or lin <= t <= hi * 1.5]
        ax.set_yscale("symlog", linthresh=lin)
    ax.yaxis.set_major_locator(mticker.FixedLocator(ticks))
    ax.yaxis.set_major_formatter(mticker.FuncFormatter(lambda x, _: f"{x:g}"))
    ax.yaxis.set_minor_locator(mticker.NullLocator())
    ax.set_ylim(0.0, hi * 1.6)


def _signed_long(d: pd.DataFrame) -> pd.DataFrame:
    """The signed background change (σ̂0 units) per class set and averaged, in long form."""
    out = d.assign(**{"N_+1": d.bg_signed_pos / d.bg_init_rms, "N_-1": d.bg_signed_neg / d.bg_init_rms,
                      "mean": d.bg_signed / d.bg_init_rms})
    return out.melt(id_vars=["activation", "seed", "iteration"], value_vars=["mean", "N_+1", "N_-1"],
                    var_name="neurons", value_name="signed")


def fig3(curves: pd.DataFrame, variant: str = "code") -> tuple[Figure, pd.DataFrame]:
    """Fig 3: (a) activation asymmetry, (b) ID and OOD hinge risk, (c) background projection
    norm (what the released script plots) and (d) the signed background change of Def. A.4's
    neurons (what Thm 4.2 is about), in units of the initial rms, of the ReLU and the linear
    network over iterations; (e) the spheres' signed background change per activation of
    the extension (Fig 3d)."""
    require_columns(curves, ["task", "activation", "variant", "iteration", "asymmetry", "bg_norm", "bg_signed",
                             "bg_init_rms"], "curves")
    cls = curves[(curves.task == "classification") & (curves.variant == variant)]
    sph = curves[curves.task == "spheres"].copy()
    panels = 5 if len(sph) else 4
    fig = new_figure((3.4 * panels, 3.0))
    axes = fig.subplots(1, panels)
    sns.lineplot(cls, x="iteration", y="asymmetry", hue="activation", ax=axes[0], errorbar="se")
    axes[0].set_title("(a) activation asymmetry")
    risks = _long_risks(cls)
    sns.lineplot(risks, x="iteration", y="risk", hue="activation", style="test", ax=axes[1], errorbar="se")
    _risk_axis(axes[1], risks.risk)
    axes[1].set_title("(b) hinge risk")
    sns.lineplot(cls, x="iteration", y="bg_norm", hue="activation", ax=axes[2], errorbar="se")
    axes[2].set_title("(c) background projection norm")
    signed = cls.assign(bg_signed_rel=cls.bg_signed / cls.bg_init_rms)
    sns.lineplot(signed, x="iteration", y="bg_signed_rel", hue="activation", ax=axes[3], errorbar="se")
    axes[3].axhline(0.0, color="grey", lw=0.8, ls=":")
    axes[3].set_ylabel("Δ⟨w_k, m_bg⟩ / σ̂0 (N_±1)")
    axes[3].set_title("(d) signed background change")
    df = signed.assign(panel="classification")
    if len(sph):
        sph["bg_signed_rel"] = sph.bg_signed / sph.bg_init_rms
        sns.lineplot(sph, x="iteration", y="bg_signed_rel", hue="activation", ax=axes[4], errorbar="se")
        axes[4].axhline(0.0, color="grey", lw=0.8, ls=":")
        axes[4].set_ylabel("Δ⟨w_k, m_bg⟩ / σ̂0 (N_±1)")
        axes[4].set_title("(e) spheres: signed background change")
        df = pd.concat([df, sph.assign(panel="spheres")], ignore_index=True)
    fig.suptitle(f"Two-layer networks on the world of Def. 3.1 ({variant} variant)")
    return fig, df


def fig7(neurons: pd.DataFrame, variant: str = "code") -> tuple[Figure, pd.DataFrame]:
    """Fig 7: per neuron of the ReLU classification network, P(active | y = +1) against
    P(active | y = −1) at recorded iterations: neurons move to answer one class."""
    d = neurons[(neurons.task == "classification") & (neurons.activation == "relu") & (neurons.variant == variant)]
    d = d[d.seed == d.seed.min()] if len(d) else d
    its = sorted(d.iteration.unique())
    fig = new_figure((3.0 * max(1, len(its)), 3.1))
    axes = np.atleast_1d(fig.subplots(1, max(1, len(its)), sharex=True, sharey=True))
    for ax, it in zip(axes, its):
        s = d[d.iteration == it]
        ax.scatter(s.p_neg, s.p_pos, s=5, alpha=0.6)
        ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls=":")
        ax.set_title(f"iteration {it}\nmean |Δ| = {s.asymmetry.mean():.3f}")
        ax.set_xlabel("P(active | y = −1)")
    axes[0].set_ylabel("P(active | y = +1)")
    fig.suptitle("Activation asymmetry of every neuron (ReLU, Thm 4.1)")
    return fig, d


def _task_grid(curves: pd.DataFrame, task: str, title: str, risk: str) -> tuple[Figure, pd.DataFrame]:
    """Per variant: the ID and OOD risk (the zero predictor's dashed where it is not the
    hinge's 1), the projection norms, and the signed background change (σ̂0 units)."""
    d = curves[curves.task == task]
    variants = sorted(d.variant.unique())
    fig = new_figure((11.5, 2.9 * len(variants)))
    axes = np.atleast_2d(fig.subplots(len(variants), 3, squeeze=False))
    for row, variant in zip(axes, variants):
        v = d[d.variant == variant]
        order = [a for a in ACT_ORDER if a in set(v.activation)]
        risks = _long_risks(v)
        sns.lineplot(risks, x="iteration", y="risk", hue="activation", style="test", ax=row[0], errorbar="se",
                     hue_order=order)
        values = risks.risk
        if "id_zero_risk" in v and task == "regression":
            zero = float(v.id_zero_risk.mean())
            row[0].axhline(zero, color="grey", lw=0.8, ls="--", label="zero predictor")
            values = pd.concat([values, pd.Series([zero])])
        _risk_axis(row[0], values)
        row[0].set_ylabel(risk)
        row[0].set_title(f"{variant}: {risk}")
        sns.lineplot(_long_norms(v), x="iteration", y="norm", hue="activation", style="projection", ax=row[1],
                     errorbar="se", hue_order=order)
        row[1].set_title(f"{variant}: mean projection norm of w_k")
        sns.lineplot(_signed_long(v), x="iteration", y="signed", hue="activation", style="neurons", ax=row[2],
                     errorbar="se", hue_order=order)
        row[2].axhline(0.0, color="grey", lw=0.8, ls=":")
        row[2].set_ylabel("Δ⟨w_k, m_bg⟩ / σ̂0")
        row[2].set_title(f"{variant}: signed background change")
    fig.suptitle(title)
    return fig, d


def fig8(curves: pd.DataFrame) -> tuple[Figure, pd.DataFrame]:
    """Fig 8: classification, ReLU against the linear network: risks and projections."""
    return _task_grid(curves, "classification", "Classification: ReLU against linear (Fig 8)", "hinge risk")


def fig9(curves: pd.DataFrame) -> tuple[Figure, pd.DataFrame]:
    """Fig 9: regression onto the core coordinates (our reading of App. F.1): the squared
    Euclidean distance to y·z_core, with the zero predictor's risk."""
    return _task_grid(curves, "regression", "Regression onto y·z_core, trained output layer (Fig 9, our reading)",
                      "squared error ‖h − y·z_core‖²")


def fig10(curves: pd.DataFrame) -> tuple[Figure, pd.DataFrame]:
    """Fig 10: the extension (core on two spheres, both layers trained, the released script's
    logistic loss and AdamW) per activation."""
    return _task_grid(curves, "spheres", "Core features on spheres of radius 1 and 2, logistic loss, AdamW (Fig 10)",
                      "logistic risk")


def fig4(channels: pd.DataFrame, split: str = "test") -> tuple[Figure, pd.DataFrame]:
    """Figs 4 and 11: per stage, each channel's class activation rates sorted from its most to
    its least activating class, averaged over channels and members; at initialisation and
    trained."""
    r = deep_tables(channels)["ranked"]
    r = r[r.split == split]
    stages = sorted(r.stage.unique())
    fig = new_figure((2.8 * len(stages), 3.0))
    axes = np.atleast_1d(fig.subplots(1, len(stages), sharey=True))
    for ax, st in zip(axes, stages):
        sns.barplot(r[r.stage == st], x="rank", y="rate", hue="state", hue_order=["init", "trained"], ax=ax,
                    errorbar="se")
        ax.set_title(f"stage {st}")
        ax.set_xlabel("class rank (per channel)")
    axes[0].set_ylabel("activation rate")
    fig.suptitle("Class activation rates of each stage's channels (Figs 4, 11)")
    return fig, r


def fig5(channels: pd.DataFrame) -> tuple[Figure, pd.DataFrame]:
    """Fig 5: mean selectivity per stage, initialisation against trained, test against the
    background-shifted split; bars are means over members with standard errors."""
    s = deep_tables(channels)["selectivity"].copy()
    s["condition"] = s.state + ", " + s.split
    order = [c for c in ("init, test", "trained, test", "init, shifted", "trained, shifted") if c in set(s.condition)]
    fig = new_figure((6.0, 3.2))
    ax = fig.subplots()
    sns.barplot(s, x="stage", y="selectivity", hue="condition", hue_order=order, ax=ax, errorbar="se")
    ax.set_title("Neuron selectivity (App. F.3, Eq. 61)")
    return fig, s


def fig15(channels: pd.DataFrame, stage: int = 1) -> tuple[Figure, pd.DataFrame]:
    """Fig 15: histogram of the channels' mean activation over all test images (stage 1, the
    paper's first residual block), initialisation against trained."""
    c = deep_tables(channels)["channel_mean"]
    c = c[(c.stage == stage) & (c.split == "test")]
    fig = new_figure((4.6, 3.2))
    ax = fig.subplots()
    sns.histplot(c, x="mean", hue="state", ax=ax, element="step", stat="density", common_norm=False, bins=20)
    ax.set_xlabel(f"mean activation of a stage-{stage} channel")
    ax.set_title("Mean activations (Fig 15)")
    return fig, c


def fig13(measures: pd.DataFrame) -> tuple[Figure, pd.DataFrame]:
    """Figs 6c/13, measured: (a) per stage, the channels' response to the padding colour minus
    their response to grey, padded networks against their controls; (b) accuracy on test
    images without padding and padded with the training colour or another one."""
    t = padding_tables(measures)
    fig = new_figure((8.4, 3.2))
    a, b = fig.subplots(1, 2)
    sns.barplot(t["response"], x="stage", y="gap", hue="kind", hue_order=["plain", "padded"], ax=a, errorbar="se")
    a.axhline(0, color="grey", lw=0.8)
    a.set_ylabel("response(colour) − response(grey)")
    a.set_title("(a) channels' response to the padding colour")
    sns.barplot(t["accuracy"], x="test", y="accuracy", hue="kind", hue_order=["plain", "padded"], ax=b,
                errorbar="se", order=["none", "training colour", "other colour"])
    b.set_xlabel("padding of the test images")
    b.set_title("(b) test accuracy")
    df = pd.concat([t["response"].assign(panel="response"), t["accuracy"].assign(panel="accuracy")],
                   ignore_index=True)
    return fig, df


def fig13_filters(images: np.ndarray, kind: np.ndarray, channel: np.ndarray, gap: np.ndarray
                  ) -> tuple[Figure, pd.DataFrame]:
    """Fig 13: the last stage's most colour-responsive channels, visualised by activation
    maximisation, one row per network kind."""
    kinds = [k for k in ("plain", "padded") if k in set(kind)]
    n = max(1, max((int((kind == k).sum()) for k in kinds), default=1))
    fig = new_figure((1.6 * n + 0.6, 1.8 * max(1, len(kinds))))
    axes = np.atleast_2d(fig.subplots(max(1, len(kinds)), n, squeeze=False))
    for row, k in zip(axes, kinds):
        idx = np.flatnonzero(kind == k)
        for ax, i in zip(row, idx):
            ax.imshow(images[i])
            ax.set_title(f"ch {channel[i]}", fontsize=7)
        for ax in row:
            ax.set_xticks([])
            ax.set_yticks([])
        row[0].set_ylabel(k)
    fig.suptitle("Inputs that maximise the most colour-responsive channels (last stage)")
    df = pd.DataFrame({"kind": kind, "channel": channel, "response_gap": gap,
                       "mean_r": images[..., 0].mean(axis=(1, 2)) if len(images) else [],
                       "mean_g": images[..., 1].mean(axis=(1, 2)) if len(images) else [],
                       "mean_b": images[..., 2].mean(axis=(1, 2)) if len(images) else []})
    return fig, df



def fig1(table: pd.DataFrame, scale: str = "logit") -> tuple[Figure, pd.DataFrame]:
    """Fig 1, scaled: the effective-robustness view (Taori et al., NeurIPS 2020). (a) Linear-probe
    accuracy on the background-shifted split (OOD) against the test split (ID) for every
    plain model (final members and their kept checkpoints), teacher and student, the plain
    models' line (fit on ``scale`` axes; absent with fewer than two plain points) and y = x;
    (b) each teacher's and student's effective robustness, its distance above that line. The
    table has one row per model with its line value and effective robustness."""
    from .headline import effective_robustness_table, line_at

    er, line = effective_robustness_table(table, scale)
    fig = new_figure((9.2, 4.2))
    ax, bx = fig.subplots(1, 2)
    palette = dict(zip(("teacher", "student", "plain"), sns.color_palette("colorblind", 3)))
    ck = er[er.model == "plain_checkpoint"]
    if len(ck):
        ax.scatter(ck.id, ck.ood, s=14, marker="x", color=palette["plain"], alpha=0.6, label="plain checkpoints")
    for kind, colour in palette.items():
        d = er[er.model == kind]
        if len(d):
            ax.scatter(d.id, d.ood, s=30, color=colour, label=kind, edgecolor="k", lw=0.4)
    lo = max(0.0, min(er.id.min(), er.ood.min()) - 0.05)
    hi = min(1.0, max(er.id.max(), er.ood.max()) + 0.05)
    ax.plot([lo, hi], [lo, hi], color="grey", lw=0.8, ls=":", label="y = x")
    if line is not None:
        xs = np.linspace(lo, hi, 100)
        ax.plot(xs, line_at(line, xs), color=palette["plain"], lw=1.0,
                label=f"plain models' line ({line['scale']}, {line['points']} points)")
    else:
        ax.text(0.02, 0.95, "fewer than two plain points: no line", transform=ax.transAxes, fontsize=7, va="top")
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_xlabel("ID accuracy (linear probe, test split)")
    ax.set_ylabel("OOD accuracy (linear probe, shifted backgrounds)")
    ax.set_title("(a) teacher, student, plain (Fig 1)")
    ax.legend(fontsize=7)
    d = er[er.model.isin(["teacher", "student"])]
    if line is not None and len(d):
        sns.barplot(d, x="model", y="effective_robustness", order=["teacher", "student"], ax=bx, errorbar=None,
                    palette=palette, hue="model", legend=False)
        sns.stripplot(d, x="model", y="effective_robustness", order=["teacher", "student"], ax=bx, color="k", size=4)
    bx.axhline(0, color="grey", lw=0.8)
    bx.set_ylabel("OOD accuracy − plain models' line")
    bx.set_title("(b) effective robustness")
    return fig, er
