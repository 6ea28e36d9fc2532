"""The closed-form design of the gde control (Jiang, Baek, Kolter 2024 §5): known answers."""
import pytest

from featurelab.gde.design import capacity_from_accuracy, gde_design, world_params
from featurelab.theory.closed_forms import accuracy, agreement


def test_two_classes_is_the_papers_closed_form():
    # the doc-tested §5.2 defaults: Acc 0.8447, Agr 0.8832 (constant ζ = 0.9)
    p = {"t_d": 20, "t_r": 180, "n_d": 5, "n_r": 10}
    d = gde_design(p, 20, None, 2, p_grid=[0.7])
    (row,) = d["rows"]
    assert row["accuracy"] == pytest.approx(accuracy(0.7, 20, 20, 180, 5, 10))
    assert row["agreement"] == pytest.approx(agreement(0.7, 20, 20, 180, 5, 10))
    assert row["gap"] == pytest.approx(0.8832 - 0.8447, abs=1e-4)
    assert row["c_d"] == 7 and row["c_r"] == 3


def test_all_dominant_world_gives_gde_exactly():
    # p_d = 1 and c/2 = t_d: every model holds every dominant feature, all right, all agree
    d = gde_design({"t_d": 5, "t_r": 40, "n_d": 2, "n_r": 4}, 10, {"family": "constant", "eta": 0.5}, 10,
                   p_grid=[1.0])
    assert d["rows"][0]["accuracy"] == pytest.approx(1.0) and d["rows"][0]["gap"] == pytest.approx(0.0)
    assert d["chosen"] == 1.0


def test_chosen_is_the_smallest_p_d_within_tolerance():
    p = {"t_d": 5, "t_r": 25, "n_d": 2, "n_r": 4}
    grid = [round(0.5 + 0.05 * i, 2) for i in range(10)]
    for eta in (0.56, 0.745, 0.9):
        d = gde_design(p, 6, {"family": "constant", "eta": eta}, 10, tol=0.01, p_grid=grid)
        brute = [r["p_d"] for r in d["rows"] if abs(r["gap"]) <= 0.01]
        assert d["chosen"] == (min(brute) if brute else None)
    # independent guesses (κ = 0.12) leave a gap of at least 0.05 everywhere at c = 6
    d = gde_design(p, 6, {"family": "constant", "eta": 0.56}, 10, p_grid=grid)
    assert d["chosen"] is None and max(r["gap"] for r in d["rows"]) < -0.04


def test_capacity_inverts_the_closed_form():
    p = {"p_d": 0.7, "t_d": 5, "t_r": 25, "n_d": 2, "n_r": 4}
    for c in (4, 6, 8):
        acc = gde_design(p, c, None, 10, p_grid=[0.7])["rows"][0]["accuracy"]
        assert capacity_from_accuracy(acc, p, 10)["c"] == c
    # c_d ≤ t_d = 5 at p_d = 0.7 caps c at 14
    assert max(capacity_from_accuracy(0.5, p, 10)["candidates"]) == 14
    with pytest.raises(ValueError):
        capacity_from_accuracy(1.5, p, 10)


def test_world_params_mean_rare_pool():
    w = {"t_r": 40, "n_r": 4, "blue_tie": {"enabled": True, "rare_pool_min_fraction": 0.25}}
    assert world_params(w)["t_r"] == 25  # 40·(0.25 + 0.75/2)
    assert world_params({**w, "blue_tie": {"enabled": False}})["t_r"] == 40
