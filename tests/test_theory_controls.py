"""Tests of the theory control (featurelab.theory.controls) and of the estimator on the
framework's own story at the synthetic world's sizes (C = 10, t_d = 5, t_r = 40, n_d = 2,
n_r = 4, M = 4 models, N = 1000 points), where p_d is known exactly.

Tolerance: over 8 seeds at c = 10 the largest error was 0.031 at p_d 0.5 and 0.02 at 0.7;
at 0.9, 0.015 on 7 seeds, while seed 6 is cut by the one-level check's 5 % false alarm
(p̂_d 0.51; not used here). 0.05 is half the control's tolerance.
"""
from __future__ import annotations

import json
import types

import numpy as np
import pandas as pd
import pytest

from featurelab.activations import write_activations
from featurelab.controls import Part
from featurelab.theory import estimate_parameters, story_tensor
from featurelab.theory import controls as TC
from featurelab.theory.estimate import one_level_pvalue

WORLD = {"t_d": 5, "t_r": 40, "n_d": 2, "n_r": 4}
NOSPLIT = {"t_d": 5, "t_r": 5, "n_d": 2, "n_r": 2}


def _story(p_d, seed=0, c=10, kinds=WORLD):
    return story_tensor({"p_d": p_d, "c": c, **kinds}, M=4, N=1000, num_classes=10, zeta=0.6, seed=seed)


def _est(s):
    return estimate_parameters(s["triplets"], s["M"], s["N"], s["T"], s["clusters"], s["predictions"], s["labels"])


@pytest.mark.parametrize("p_d", [0.5, 0.7, 0.9])
@pytest.mark.parametrize("seed", [0, 1])
def test_estimator_recovers_p_d_on_the_story_at_the_worlds_sizes(p_d, seed):
    e = _est(_story(p_d, seed))
    assert e["p_d_hat"] == pytest.approx(p_d, abs=0.05)


def test_p_d_09_story_has_one_frequency_level_and_is_not_cut():
    """c_d = c/2 = 5: the models hold no rare feature; before the one-level check Otsu cut the
    dominant features' sampling noise in two and gave p̂_d 0.32 on this seed."""
    e = _est(_story(0.9, seed=1))
    assert e["split_one_level"] and e["n_rare_pairs"] == 0
    assert e["p_d_hat"] == pytest.approx(0.9, abs=0.05)
    forced = estimate_parameters(**{k: _story(0.9, 1)[k] for k in ("triplets", "M", "N", "T", "clusters")},
                                 split_alpha=None)
    assert forced["p_d_hat"] < 0.6


def test_story_t_d_and_t_r_recovered_where_seen():
    e = _est(_story(0.7, seed=0))
    assert e["t_d_hat"] == pytest.approx(5, abs=0.5)
    assert e["n_d_hat"] == pytest.approx(2, abs=0.2)


def test_no_split_world_is_called_one_level():
    e = _est(_story(0.5, seed=0, kinds=NOSPLIT))
    assert e["p_d_hat"] > 0.9          # every feature dominant: the label p_d 0.5 is not identifiable


def test_one_level_pvalue_by_hand():
    sizes = np.array([100.0, 100.0])
    flat = np.array([[30, 30, 30, 30], [20, 20, 20, 20]])
    assert one_level_pvalue(flat, sizes) == (pytest.approx(1.0), 8)
    two = np.array([[30, 30, 1, 1], [20, 20, 2, 1]])
    p, dof = one_level_pvalue(two, sizes)
    assert dof == 8 and p < 1e-6
    # D by hand for one class: counts 10, 20 (mean 15, var 15·(1 − 0.15) = 12.75): D = 50/12.75
    from scipy.stats import chi2
    p, dof = one_level_pvalue(np.array([[10, 20, 0]]), np.array([100.0]))
    assert dof == 2 and p == pytest.approx(chi2.sf(50 / 12.75, 2))
    assert one_level_pvalue(np.array([[5, 0]]), np.array([10.0])) == (1.0, 0)


def _fake_tensor(s):
    return types.SimpleNamespace(triplets=s["triplets"], M=s["M"], N=s["N"], T=s["T"], clusters=s["clusters"],
                                 predictions=s["predictions"], labels=s["labels"])


@pytest.fixture
def story_parts(monkeypatch):
    """Parts whose Ω is drawn from the story (the tensor step replaced): known answers."""
    tensors = {"pd50": _story(0.5, 3), "pd90": _story(0.9, 3), "nosplit": _story(0.5, 3, kinds=NOSPLIT),
               "wrong": _story(0.7, 3)}
    monkeypatch.setattr(TC, "part_tensor", lambda part, settings: _fake_tensor(tensors[part.name]))

    def part(name, p_d, kinds=WORLD):
        return Part(name=name, dataset=name, models=["a", "b", "c", "d"], activations=[],
                    world={"p_d": p_d, **kinds}, info={"seed": 0})
    return part


def test_decision_on_story_tensors_passes(story_parts):
    arms = {"on": {"pd50": story_parts("pd50", 0.5), "pd90": story_parts("pd90", 0.9)},
            "off": {"nosplit": story_parts("nosplit", 0.5, NOSPLIT)}}
    r = TC.decide_estimator(arms, {"tolerance": 0.1}, resamples=100, seed=0)
    assert r["on"]["verdict"] == "holds" and r["off"]["verdict"] == "fails" and r["passes"] is True
    assert r["moves_with_truth"]["verdict"] == "holds"
    assert r["parts"]["off"]["nosplit"]["split_one_level"] is True
    json.dumps(r, allow_nan=False)


def test_decision_fails_when_the_truth_is_wrong(story_parts):
    """A world scored against a p_d it was not drawn with (0.7 drawn, 0.5 claimed) fails."""
    arms = {"on": {"wrong": story_parts("wrong", 0.5)}, "off": {"nosplit": story_parts("nosplit", 0.5, NOSPLIT)}}
    r = TC.decide_estimator(arms, {"tolerance": 0.1}, resamples=50, seed=0)
    assert r["on"]["verdict"] == "fails" and r["passes"] is False
    assert r["moves_with_truth"] is None


def test_decision_checks_its_input(story_parts):
    with pytest.raises(ValueError, match="both arms"):
        TC.decide_estimator({"on": {"pd50": story_parts("pd50", 0.5)}, "off": {}}, {}, resamples=5)
    with pytest.raises(ValueError, match="tolerance"):
        TC.decide_estimator({"on": {}, "off": {}}, {"tolerance": 0}, resamples=5)
    p = story_parts("pd50", 0.5)
    p.world = None
    with pytest.raises(ValueError, match="true p_d"):
        TC.decide_estimator({"on": {"pd50": p}, "off": {"x": p}}, {}, resamples=5)


def test_decision_end_to_end_from_parquet(tmp_path):
    """The real path: activation Parquet → Ω by the interaction study's code → estimate."""
    rng = np.random.default_rng(0)
    n, dim, C = 300, 24, 10
    labels = rng.integers(0, C, size=n)
    truth = pd.DataFrame({"index": np.arange(n), "label": labels, "dominant": rng.random(n) < 0.7,
                          "rare_pool": np.full(n, 40)})
    truth.to_parquet(tmp_path / "truth.parquet")

    def part(name, p_d):
        files = []
        for m in range(3):
            act = rng.normal(size=(n, dim)).astype(np.float32) + np.eye(C, dim, dtype=np.float32)[labels] * 3
            logits = rng.normal(size=(n, C)).astype(np.float32)
            f = tmp_path / name / f"m{m}.parquet"
            f.parent.mkdir(exist_ok=True)
            write_activations(f, index=np.arange(n), label=labels, prediction=logits.argmax(1), logits=logits,
                              activation=act, metadata={"model": f"{name}{m}", "seed": m, "layer": "penultimate"})
            files.append(f)
        return Part(name=name, dataset=name, models=[f.stem for f in files], activations=files,
                    test_truth=tmp_path / "truth.parquet", world={"p_d": p_d, "t_d": 5, "t_r": 40, "n_d": 2, "n_r": 4},
                    info={"seed": 0})
    r = TC.decide_estimator({"on": {"a": part("a", 0.7)}, "off": {"b": part("b", 0.5)}},
                            {"interaction": {"k": 10}}, resamples=20, seed=0)
    assert r["control"] == "theory" and r["on"]["verdict"] in ("holds", "fails", "undecided")
    assert r["parts"]["on"]["a"]["truth"]["p_d_empirical"] == pytest.approx(truth["dominant"].mean())
    json.dumps(r, allow_nan=False)
