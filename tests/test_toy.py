"""Tests of featurelab.toy and featurelab.toy_figures: Duzgun, Jelassi, Li's toy setting (§4, App. C)
against hand computations, brute force over the 32 sign patterns, and the finding itself."""
from __future__ import annotations

import copy
import itertools
import math

import numpy as np
import pytest
import torch

from featurelab import toy
from featurelab.config import ConfigError, validate_config
from featurelab.plan import toy_conditions
from featurelab.toy import figures as TFIG
from featurelab.toy import findings as TF

SMALL = toy.ToySetting(dim=12, patches=8, noise_norm=1.1, n_train=400, n_test=100)


# ------------------------------------------------------------------ data


def test_signal_vectors_are_orthonormal():
    for d in (6, 12, 50):
        S = toy.signal_vectors(d, np.random.default_rng(d))
        assert S.shape == (5, d)
        np.testing.assert_allclose(S @ S.T, np.eye(5), atol=1e-12)
    with pytest.raises(ValueError):
        toy.signal_vectors(5, np.random.default_rng(0))


def all_sign_patterns():
    return np.array(list(itertools.product([-1, 1], repeat=5)), dtype=np.int8)


def test_label_rule_against_brute_force():
    signs = all_sign_patterns()
    y = toy.label(signs)
    for s, lab in zip(signs, y):
        total = int(s[0]) + int(s[1]) + int(s[2]) * int(s[3]) * int(s[4])
        assert total != 0  # an odd sum: never tied
        assert lab == (1 if total > 0 else -1)
    assert (y == 1).sum() == 16  # balanced


def bayes_accuracy(known: list[int]) -> float:
    """Accuracy of the best prediction of y from the signs in ``known`` (uniform signs)."""
    signs = all_sign_patterns()
    y = toy.label(signs)
    groups: dict[tuple, list[int]] = {}
    for s, lab in zip(signs, y):
        groups.setdefault(tuple(s[known]), []).append(int(lab))
    return sum(max(v.count(1), v.count(-1)) for v in groups.values()) / 32


def test_what_each_set_of_signs_is_worth():
    # the properties the paper's text states (§4, "What is special about the multiplication features?")
    assert bayes_accuracy([]) == 0.5
    assert bayes_accuracy([0]) == 0.75 and bayes_accuracy([1]) == 0.75  # one addition sign: 75%
    assert bayes_accuracy([0, 1]) == 0.75
    for pair in ([2, 3], [2, 4], [3, 4]):  # all but one multiplication sign: no better than chance
        assert bayes_accuracy(pair) == 0.5
        assert bayes_accuracy([0, 1] + pair) == 0.75  # ... on top of the addition signs either
    assert bayes_accuracy([2, 3, 4]) == 0.75
    assert bayes_accuracy([0, 1, 2, 3, 4]) == 1.0


def test_patch_placement_and_noise():
    train, test = toy.generate(SMALL, seed=3)
    S = train.signals
    n, P, d = train.x.shape
    assert (n, P, d) == (SMALL.n_train, SMALL.patches, SMALL.dim) and train.x.dtype == np.float32
    rows = np.arange(n)[:, None]
    # the signal patches carry s_j w_j at five distinct positions
    assert all(len(set(p)) == 5 for p in train.positions)
    np.testing.assert_allclose(train.x[rows, train.positions], train.signs[..., None] * S[None], atol=1e-6)
    np.testing.assert_array_equal(train.y, toy.label(train.signs))
    # every other patch is noise orthogonal to every signal vector, of norm about noise_norm
    noise = np.ones((n, P), dtype=bool)
    noise[rows, train.positions] = False
    z = train.x[noise].astype(np.float64)
    assert np.abs(z @ S.T).max() < 1e-5
    assert math.sqrt((z ** 2).sum(1).mean()) == pytest.approx(SMALL.noise_norm, rel=0.03)
    # positions are uniform over the patches
    counts = np.bincount(train.positions.ravel(), minlength=P)
    assert counts.min() > 0.8 * counts.mean()
    # both splits share the signal vectors, not the samples
    np.testing.assert_array_equal(test.signals, S)
    assert not np.array_equal(test.signs[:50], train.signs[:50])


def test_generation_is_seeded():
    a, _ = toy.generate(SMALL, seed=7)
    b, _ = toy.generate(SMALL, seed=7)
    c, _ = toy.generate(SMALL, seed=8)
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.positions, b.positions)
    assert not np.array_equal(a.signals, c.signals)


def test_activation_probability_against_monte_carlo():
    rng = np.random.default_rng(0)
    W = rng.standard_normal((200_000, 4)) * 0.17
    v = np.array([1.0, 0, 0, 0])
    assert (W @ v > 0.3).mean() == pytest.approx(toy.activation_probability(0.3, 0.17), abs=0.002)
    assert toy.activation_probability(0.3, 0.15) == pytest.approx(0.5 * math.erfc(2 / math.sqrt(2)))


# ------------------------------------------------------------------ model


def test_first_layer_is_the_patch_formula_and_networks_are_independent():
    torch.manual_seed(0)
    model = toy.PatchMLP(3, 4, 6, 5, bias=0.2, sigma=0.5, generator=torch.Generator().manual_seed(1))
    x = torch.randn(7, 5, 6)
    with torch.no_grad():
        h = model.first_layer(x)  # (K, B, m)
    for k in range(3):
        for b in range(7):
            for r in range(4):
                want = sum(max(0.0, float(model.W[k, r].detach() @ x[b, p]) - 0.2) for p in range(5))
                assert float(h[k, b, r]) == pytest.approx(want, abs=1e-5)
    # the output of network k depends only on network k's parameters
    out = model(x)
    with torch.no_grad():
        for w in [model.W, *model.weights, *model.biases]:
            w[1] += 1.0
    out2 = model(x)
    torch.testing.assert_close(out2[[0, 2]], out[[0, 2]])
    assert not torch.allclose(out2[1], out[1])


def test_initialisation_scales():
    g = torch.Generator().manual_seed(0)
    model = toy.PatchMLP(2, 500, 40, 64, bias=0.3, sigma=0.1, generator=g)
    assert model.W.std().item() == pytest.approx(0.1, rel=0.02)
    assert model.weights[1].std().item() == pytest.approx(math.sqrt(2 / 64), rel=0.05)  # Kaiming
    assert all(float(b.detach().abs().sum()) == 0 for b in model.biases)


def test_normalized_sgd_step_by_hand():
    lr = 0.1
    p1 = torch.tensor([[3.0, 0.0], [1.0, 1.0], [5.0, 5.0]])  # three networks, two tensors each
    p2 = torch.tensor([[0.0], [1.0], [5.0]])
    g1 = torch.tensor([[0.0, 4.0], [1.0, 0.0], [0.0, 0.0]])
    g2 = torch.tensor([[0.0], [0.0], [0.0]])
    # weight decay 0: network 0 moves lr along -g/|g| = (0, -1); network 2 has g = 0 and stays
    a1, a2 = p1.clone(), p2.clone()
    norm = toy.normalized_sgd_step([a1, a2], [g1, g2], lr, 0.0)
    torch.testing.assert_close(norm, torch.tensor([4.0, 1.0, 0.0]))
    torch.testing.assert_close(a1, torch.tensor([[3.0, -0.1], [0.9, 1.0], [5.0, 5.0]]))
    torch.testing.assert_close(a2, p2)
    # weight decay 1: network 1's full gradient is g + θ = (2, 1 | 1), of norm √6
    b1, b2 = p1.clone(), p2.clone()
    toy.normalized_sgd_step([b1, b2], [g1, g2], lr, 1.0)
    s6 = math.sqrt(6)
    torch.testing.assert_close(b1[1], torch.tensor([1 - lr * 2 / s6, 1 - lr / s6]))
    torch.testing.assert_close(b2[1], torch.tensor([1 - lr / s6]))
    # network 2: only the decay, a step of exactly lr towards 0
    torch.testing.assert_close(torch.cat([b1[2], b2[2]]), torch.full((3,), 5.0) * (1 - lr / math.sqrt(75)))


def test_grouped_training_equals_training_each_network_alone():
    train, _ = toy.generate(SMALL, seed=0)
    kw = dict(steps=15, batch_size=32, lr=0.05, weight_decay=0.003, record_every=5, seed=0)
    group = toy.build_condition(SMALL.dim, width=6, count=3, hidden=5, bias=0.2, sigma=0.3, seed=1)
    singles = []
    for k in range(3):
        single = toy.PatchMLP(1, 6, SMALL.dim, 5, bias=0.2, sigma=0.3)
        with torch.no_grad():
            for s, g in zip(single.parameters(), group.parameters()):
                s.copy_(g[k:k + 1])
        singles.append(single)
    rg = toy.train(group, train, None, **kw)
    for k, single in enumerate(singles):
        rs = toy.train(single, train, None, **kw)
        np.testing.assert_allclose(rs.final_W[0], rg.final_W[k], atol=1e-5)
        np.testing.assert_allclose(rs.corr[:, 0], rg.corr[:, k], atol=1e-5)


# ------------------------------------------------------------------ learned vectors


def test_signal_correlations_on_hand_made_weights():
    S = np.eye(6)[:5]  # w_j = e_j in R^6
    W = np.array([[0.4, 0, 0, 0, 0, 0.3],     # ⟨W, w1⟩ = 0.4 > b: activated by w1, cos 0.8
                  [0, 0, -0.5, 0, 0, 0],      # fires on -w3 only, cos 1
                  [0, 0.2, 0, 0.2, 0, 0],     # below b for w2 and w4: activated by nothing
                  [0, 0, 0, 0, 0.31, 0.9]])   # activated by w5, cos 0.31/|W|
    corr, count = toy.signal_correlations(W, S, bias=0.3)
    np.testing.assert_allclose(corr, [0.8, 0, 1.0, 0, 0.31 / math.hypot(0.31, 0.9)])
    np.testing.assert_array_equal(count, [1, 0, 1, 0, 1])
    np.testing.assert_array_equal(toy.learned(corr, 0.7), [True, False, True, False, False])
    # when s3 is +1 in every training sample, the neuron firing on -w3 is never activated
    signs = np.ones((10, 5), dtype=np.int8)
    corr, count = toy.signal_correlations(W, S, 0.3, train_signs=signs)
    assert corr[2] == 0 and count[2] == 0 and corr[0] == pytest.approx(0.8)
    # batched: (K, m, d) gives (K, 5)
    corr2, count2 = toy.signal_correlations(np.stack([W, -W]), S, 0.3)
    np.testing.assert_allclose(corr2, np.stack([corr2[0], corr2[0]]))  # both signs occur: symmetric
    np.testing.assert_array_equal(count2[1], [1, 0, 1, 0, 1])


def test_summarize_counts_networks_and_the_concatenation():
    T = 3
    corr = np.zeros((T, 4, 5))
    corr[-1, 0] = [0.9, 0.95, 0, 0, 0]
    corr[-1, 1] = [0.8, 0.1, 0.75, 0.2, 0]
    res = toy.TrainResult(steps=np.arange(T), epochs=np.arange(T) / 2, corr=corr,
                          active=np.ones((T, 4, 5), dtype=int), loss=np.zeros((T, 4)),
                          train_acc=np.full(4, 0.75), test_acc=np.array([0.7, 0.8, 0.5, 0.5]),
                          final_W=np.zeros((4, 2, 6)))
    s = toy.summarize(res, 0.7)
    assert s["nets_learned"] == [2, 1, 1, 0, 0]
    assert s["concat_learned"] == [True, True, True, False, False]
    assert s["full_task_nets"] == 0 and s["test_acc_max"] == 0.8
    assert s["nets_with_all_multiplication_at_init"] == 4


def test_training_is_deterministic():
    train, test = toy.generate(SMALL, seed=1)
    kw = dict(width=8, count=2, hidden=6, bias=0.2, sigma=0.15, steps=20, batch_size=40, lr=0.02,
              weight_decay=0.003, record_every=10)
    a = toy.run_condition(train, test, seed=1, **kw)
    b = toy.run_condition(train, test, seed=1, **kw)
    c = toy.run_condition(train, test, seed=2, **kw)
    np.testing.assert_array_equal(a.final_W, b.final_W)
    np.testing.assert_array_equal(a.corr, b.corr)
    assert not np.array_equal(a.final_W, c.final_W)
    assert list(a.steps) == [0, 10, 20] and a.corr.shape == (3, 2, 5) and a.loss.shape == (3, 2)


# ------------------------------------------------------------------ verdict and config


def fake_run(condition, width, count, seed, nets_learned, corr=None):
    T = 4
    curve = np.linspace(0.5, 0.9, T)[:, None, None] * np.ones((T, count, 5))
    return {"condition": condition, "width": width, "count": count, "seed": seed,
            "nets_learned": nets_learned, "concat_learned": [n > 0 for n in nets_learned],
            "concat_corr": corr or [0.9] * 5, "init_active": [3] * 5, "full_task_nets": 0,
            "nets_with_all_multiplication_at_init": 0, "train_acc_mean": 0.7, "test_acc_mean": 0.7,
            "test_acc_max": 0.75, "seconds": 1.0, "steps": np.arange(T) * 10, "epochs": np.arange(T) / 4,
            "corr": curve, "active": np.ones((T, count, 5), dtype=int)}


def test_finding_per_seed_and_condition():
    runs = [fake_run("w600x1", 600, 1, 0, [1] * 5), fake_run("w2x300", 2, 300, 0, [40, 30, 0, 0, 0]),
            fake_run("w200x3", 200, 3, 0, [3, 3, 1, 1, 1]),
            fake_run("w600x1", 600, 1, 1, [1, 1, 0, 0, 0]), fake_run("w2x300", 2, 300, 1, [40, 30, 0, 0, 0]),
            fake_run("w200x3", 200, 3, 1, [3, 3, 0, 0, 0])]
    v = TF.finding(runs)
    assert v["wide"] == "w600x1" and v["narrowest"] == "w2x300"
    assert v["seeds_where_it_holds"] == {"w2x300": [0], "w200x3": []}
    assert v["seeds_where_it_fails"] == {"w2x300": [1], "w200x3": [0, 1]}  # seed 1: the wide one fails
    assert v["holds_for_narrowest_at_every_seed"] is False
    assert v["per_seed"][0]["concatenations"]["w200x3"]["loses_multiplication"] is False
    # over seeds: 1 of 2 holds, Clopper-Pearson [0.013, 0.987] straddles 0.5: undecided;
    # one seed: no verdict; 10 of 10 seeds: [0.69, 1]: holds
    assert v["verdict"]["verdict"] == "undecided" and v["verdict"]["estimate"] == 0.5
    assert TF.finding([r for r in runs if r["seed"] == 0])["verdict"]["verdict"] == "no verdict"
    many = [fake_run("w600x1", 600, 1, s, [1] * 5) for s in range(10)] + \
           [fake_run("w2x300", 2, 300, s, [40, 30, 0, 0, 0]) for s in range(10)]
    assert TF.finding(many)["verdict"]["verdict"] == "holds"
    # by accuracy: every fake network has test accuracy 0.75, so nothing uses the product
    assert v["seeds_where_it_holds_by_accuracy"] == {"w2x300": [], "w200x3": []}
    runs[0]["test_acc_max"] = 1.0
    assert TF.finding(runs)["seeds_where_it_holds_by_accuracy"] == {"w2x300": [0], "w200x3": [0]}
    table = TF.learned_table(runs)
    assert list(table.condition[:2]) == ["w2x300", "w2x300"] and table.w1_nets.iloc[0] == 40
    md = TF.learned_markdown(table, 0.7)
    assert "| 2×300 | 0 | yes (40/300) | yes (30/300) | no | no | no |" in md
    fig, df = TFIG.fig5(runs, threshold=0.7)
    assert set(df.vector) == {"w1", "w2", "w3", "w4", "w5"} and len(df) == 6 * 5 * 4
    assert len(fig.axes) == 2


def test_toy_config_defaults_and_checks(repo_root):
    import yaml

    cfg = validate_config({"recipes": {"r": {}}})
    assert cfg["toy"]["lr"] == 0.02 and cfg["toy"]["weight_decay"] == 0.003
    assert toy_conditions(cfg) == {"w2x300": {"width": 2, "count": 300, "steps": 2000},
                                   "w600x1": {"width": 600, "count": 1, "steps": 3500}}
    with open(repo_root / "config.yaml") as fh:
        default = yaml.safe_load(fh)
    bad = copy.deepcopy(default)
    bad["toy"]["conditions"] = [{"width": 2, "count": 300}, {"width": 500, "count": 1}]
    with pytest.raises(ConfigError, match=r"toy.conditions: width x count must be the same"):
        validate_config(bad)
    bad = copy.deepcopy(default)
    bad["toy"]["threshold"] = 1.5
    with pytest.raises(ConfigError, match=r"toy.threshold: 1.5 is greater than or equal to the maximum of 1"):
        validate_config(bad)
    # `snakemake --config toy='{seeds: [3]}'` hands over strings
    cfg = copy.deepcopy(default)
    cfg["toy"] = {"seeds": ["3"], "conditions": [{"width": "1", "count": "4"}, {"width": "4", "count": "1"}]}
    validate_config(cfg)
    assert cfg["toy"]["seeds"] == [3] and toy_conditions(cfg)["w1x4"]["width"] == 1


# ------------------------------------------------------------------ the finding, small


@pytest.mark.slow
def test_wide_network_keeps_the_multiplication_vectors_that_narrow_ones_lose():
    """Empirical finding 4.1 at the workflow's setting, one seed, shortened: the 600-wide
    network learns all five vectors; 300 networks of width 2 keep the addition vectors and
    lose every multiplication vector (their neurons are all deactivated)."""
    torch.set_num_threads(1)
    p = validate_config({"recipes": {"r": {}}})["toy"]
    train, test = toy.generate(toy.ToySetting.from_dict(p), seed=0)
    kw = dict(hidden=p["hidden"], bias=p["bias"], sigma=p["init_std"], batch_size=p["batch_size"], lr=p["lr"],
              weight_decay=p["weight_decay"], record_every=500, seed=0)
    wide = toy.summarize(toy.run_condition(train, test, width=600, count=1, steps=p["steps"], **kw),
                         p["threshold"])
    assert wide["concat_learned"] == [True] * 5 and wide["test_acc_max"] > 0.95
    narrow_run = toy.run_condition(train, test, width=2, count=300, steps=1500, **kw)
    narrow = toy.summarize(narrow_run, p["threshold"])
    assert narrow["concat_learned"][:2] == [True, True]
    assert narrow["nets_learned"][2:] == [0, 0, 0] and narrow["final_active"][2:] == [0, 0, 0]
    assert narrow["test_acc_max"] < 0.8
