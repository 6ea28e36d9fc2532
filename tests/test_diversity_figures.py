"""Smoke tests of featurelab.diversity.figures (Gontijo-Lopes, Dauphin, Cubuk, ICLR 2022): every
figure from small tables made by featurelab.diversity.study.analyse on fake model outputs, with
missing columns, a missing category, one pair per category and NaN conversion rates."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from featurelab.diversity import figures as F
from featurelab.diversity.study import analyse

CATS = ["base"] + [c for c in F.CATEGORIES for _ in range(2)]
DIV = {"base": 0.0, "reinit": 0.3, "hyper": 0.5, "arch": 0.7, "framework": 0.9, "dataset": 1.2}
#: (figure, tables it takes, axes it draws on the full tables: Fig 3 has 5 categories × 4 groups)
SPECS = {"fig1": (("pairs", "categories"), 1), "fig2": (("pairs", "categories"), 2), "fig3": (("angles",), 20),
         "fig4": (("subgroups",), 3), "fig5": (("greedy",), 1), "fig6": (("overlap", "compression"), 2),
         "bridge": (("similarity",), 2)}


def fake_tables(nv: int = 400, nt: int = 1000, k: int = 10, d: int = 16) -> dict[str, pd.DataFrame]:
    """The logic of a fake pool: shared features plus noise growing with the category's
    divergence, logits from a fixed linear map plus the label's one-hot."""
    rng = np.random.default_rng(0)
    yv, yt = rng.integers(0, k, nv), rng.integers(0, k, nt)
    shared = {"val": rng.standard_normal((nv, d)), "test": rng.standard_normal((nt, d))}
    W = np.random.default_rng(99).standard_normal((d, k)) * 0.3
    pool, outputs, metrics = [], {}, {}
    for i, c in enumerate(CATS):
        m = f"m{i}-{c}"
        pool.append({"model": m, "category": c, "source": "new"})
        outputs[m] = {}
        for s, y in (("val", yv), ("test", yt)):
            f = shared[s] + DIV[c] * rng.standard_normal((len(y), d))
            logits = f @ W + 2.2 * np.eye(k)[y] + 0.8 * DIV[c] * rng.standard_normal((len(y), k))
            outputs[m][s] = {"labels": y, "logits": logits.astype(np.float32), "features": f.astype(np.float32)}
        metrics[m] = {"arch": "resnet18", "width": 0.125, "seed": i, "epochs": 8, "stop_reason": "max_epochs"}
    truth = pd.DataFrame({"dominant": rng.random(nt) < 0.7, "blue_level": rng.random(nt)})
    settings = {"window": [0.0, 1.0], "bootstrap": 50, "seed": 0, "greedy": {"steps": 3},
                "overlap": {"fractions": [1, 0.5, 0], "draws": 2, "probe_c": 1.0},
                "compression": {"dims": [1, 4, 16]}, "interaction_k": 6}
    tables, _ = analyse(pool, outputs, metrics, settings, truth=truth, log=lambda s: None)
    return tables


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    return fake_tables()


def draw(name: str, tables: dict[str, pd.DataFrame]) -> Figure:
    return getattr(F, name)(*(tables[t] for t in SPECS[name][0]))


def drawn(fig: Figure) -> int:
    """How many data artists (lines, collections, patches) the figure's axes hold."""
    return sum(len(ax.lines) + len(ax.collections) + len(ax.patches) for ax in fig.axes)


@pytest.mark.parametrize("name", list(SPECS))
def test_figure_draws(name, tables):
    fig = draw(name, tables)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == SPECS[name][1]
    assert all(len(ax.lines) + len(ax.collections) + len(ax.patches) > 0 for ax in fig.axes)
    assert fig.legends or name == "fig3"


@pytest.mark.parametrize("name", list(SPECS))
def test_missing_column_is_named(name, tables):
    t = SPECS[name][0][-1]
    col = {"pairs": "ei", "categories": "ei_hi", "angles": "bin_lo", "subgroups": "difference", "greedy": "val_acc",
           "compression": "k", "similarity": "cka"}[t]
    broken = {**tables, t: tables[t].drop(columns=[col])}
    with pytest.raises(ValueError, match=col):
        draw(name, broken)


@pytest.mark.parametrize("name", list(SPECS))
def test_missing_category_still_draws(name, tables):
    def drop(df: pd.DataFrame) -> pd.DataFrame:
        for col in ("category", "pair_category"):
            if col in df:
                df = df[df[col] != "arch"]
        return df.reset_index(drop=True)

    fig = draw(name, {k: drop(v) for k, v in tables.items()})
    assert drawn(fig) > 0
    if name == "fig3":
        assert len(fig.axes) == 16


@pytest.mark.parametrize("name", list(SPECS))
def test_one_pair_per_category_and_nan_conversion(name, tables):
    pairs = tables["pairs"].drop_duplicates("category").copy()
    pairs.loc[pairs.index[:2], "conversion"] = np.nan
    keep = set(pairs.pair)
    cats = tables["categories"].copy()
    cats.loc[cats.index[0], ["conversion", "conversion_lo", "conversion_hi"]] = np.nan
    t = {**tables, "pairs": pairs, "categories": cats,
         "angles": tables["angles"][tables["angles"].pair.isin(keep)],
         "subgroups": tables["subgroups"][tables["subgroups"].pair.isin(keep)],
         "overlap": tables["overlap"][tables["overlap"].draw == 0],
         "similarity": tables["similarity"].head(3)}
    assert drawn(draw(name, t)) > 0


def test_empty_tables_draw(tables):
    t = {k: v.iloc[:0] for k, v in tables.items()}
    for name in SPECS:
        assert isinstance(draw(name, t), Figure)


def test_colours_fixed_and_ordered():
    assert F.order(["dataset", "hyper", "base", "zzz", "reinit"]) == ["reinit", "hyper", "dataset", "zzz"]
    assert F.order(["dataset", "base"], base=True) == ["base", "dataset"]
    assert len({F.colour(c) for c in ("base", *F.CATEGORIES)}) == 6
    assert F.colour("zzz") == F.OTHER


def test_rule_writes_every_png(tables, tmp_path):
    """What scripts/diversity_figures.py does: tables through CSV, every figure to a PNG."""
    read = {}
    for k, df in tables.items():
        df.to_csv(tmp_path / f"{k}.csv", index=False)
        read[k] = pd.read_csv(tmp_path / f"{k}.csv")
    figs = F.all_figures(read)
    assert set(figs) == set(F.FIGURES)
    for name, fig in figs.items():
        path = tmp_path / "out" / f"{name}.png"
        F.save_png(fig, path)
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
