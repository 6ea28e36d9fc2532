"""Known-answer tests of featurelab.diversity (Gontijo-Lopes, Dauphin, Cubuk, "No One Representation
to Rule Them All: Overlapping Features of Training Methods", ICLR 2022): error inconsistency against
DESlib's disagreement measure and Geirhos et al.'s observed consistency, the vectorised pairwise
metrics against a naive loop (ties and near-ties included), temperature scaling, specialisation
angles, the paired bootstrap, greedy ensembling, the feature-overlap probe, linear CKA and the
feature-compression ranking. Small problems; the whole file runs in seconds."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import f_oneway

from featurelab.diversity import metrics as D
from featurelab.diversity import probes as Pr


def _random_probs(M, N, K, seed=0, sharp=2.0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, K, N)
    logits = sharp * rng.standard_normal((M, N, K))
    logits[:, np.arange(N), labels] += 1.5 * rng.random((M, 1))  # accuracies well above chance
    return D.softmax(logits), labels


# ----------------------------------------------------------------------------- error inconsistency

def _deslib_disagreement(y, y_pred1, y_pred2):
    """DESlib, deslib/util/diversity.py, disagreement_measure (via _process_predictions), restated:
    tally the 2x2 oracle table point by point (N11 both right, N10 only classifier 1 right, N01 only
    classifier 2 right, N00 both wrong), each as a fraction of the points, and return N10 + N01."""
    n00 = n10 = n01 = n11 = 0.0
    for t, a, b in zip(y, y_pred1, y_pred2):
        if a == t and b == t:
            n11 += 1.0
        elif a == t and b != t:
            n10 += 1.0
        elif a != t and b == t:
            n01 += 1.0
        else:
            n00 += 1.0
    size = len(y)
    assert n00 + n01 + n10 + n11 == size
    return n10 / size + n01 / size


def _geirhos_observed_consistency(y, pa, pb):
    """Geirhos, Meding, Wichmann, "Beyond accuracy: quantifying trial-by-trial behaviour of CNNs and
    humans by measuring error consistency" (NeurIPS 2020), Eq. 1: c_obs = (both correct + both
    wrong) / n."""
    both_correct = sum(1 for t, a, b in zip(y, pa, pb) if a == t and b == t)
    both_wrong = sum(1 for t, a, b in zip(y, pa, pb) if a != t and b != t)
    return (both_correct + both_wrong) / len(y)


def test_error_inconsistency_equals_deslib_and_geirhos():
    rng = np.random.default_rng(1)
    for trial in range(5):
        n, k = 500 + 37 * trial, 3 + trial
        y = rng.integers(0, k, n)
        pa = np.where(rng.random(n) < 0.6, y, rng.integers(0, k, n))
        pb = np.where(rng.random(n) < 0.4 + 0.1 * trial, y, rng.integers(0, k, n))
        ei = D.error_inconsistency(pa, pb, y)
        assert 0.05 < ei < 0.95
        assert ei == pytest.approx(_deslib_disagreement(y, pa, pb), abs=1e-12)
        assert ei == pytest.approx(1.0 - _geirhos_observed_consistency(y, pa, pb), abs=1e-12)


def test_error_inconsistency_bounds_including_extreme_accuracies():
    rng = np.random.default_rng(2)
    n, k = 200, 5
    checked = 0
    for a1 in (0.0, 0.03, 0.5, 0.9, 1.0):
        for a2 in (0.0, 0.2, 0.7, 0.97, 1.0):
            for coupling in ("independent", "nested", "disjoint") * 3:
                y = rng.integers(0, k, n)
                u = rng.permutation(n)
                v = {"independent": rng.permutation(n), "nested": u, "disjoint": n - 1 - u}[coupling]
                pa = np.where(u < round(a1 * n), y, (y + rng.integers(1, k, n)) % k)
                pb = np.where(v < round(a2 * n), y, (y + rng.integers(1, k, n)) % k)
                acc1, acc2 = np.mean(pa == y), np.mean(pb == y)
                ei = D.error_inconsistency(pa, pb, y)
                assert abs(acc1 - acc2) - 1e-12 <= ei <= min(acc1 + acc2, 2 - acc1 - acc2) + 1e-12
                if coupling == "nested":
                    assert ei == pytest.approx(abs(acc1 - acc2))
                if coupling == "disjoint":
                    assert ei == pytest.approx(min(acc1 + acc2, 2 - acc1 - acc2))
                checked += 1
    # the bounds are attained: nested correct sets give the lower, disjoint ones the upper bound
    y = np.zeros(10, dtype=int)
    pa = np.array([0] * 6 + [1] * 4)
    pb = np.array([0] * 3 + [1] * 7)
    assert D.error_inconsistency(pa, pb, y) == pytest.approx(0.3)
    assert D.error_inconsistency(pa, 1 - pa, y) == pytest.approx(1.0)
    assert checked == 225


def test_model_paired_with_itself():
    probs, y = _random_probs(1, 300, 4, seed=3)
    pred = probs[0].argmax(-1)
    assert D.error_inconsistency(pred, pred, y) == 0.0
    assert np.isnan(D.conversion_rate(pred, pred, pred, y))
    m = D.pairwise_metrics(np.concatenate([probs, probs]), y)
    assert m["ei"][0] == 0.0 and m["gain"][0] == 0.0 and np.isnan(m["conversion"][0])
    assert m["ens_acc"][0] == m["acc_i"][0] == np.mean(pred == y)


def test_conversion_rate_hand_case():
    y = np.array([0, 0, 0, 0, 0, 0])
    pa = np.array([0, 0, 1, 1, 0, 1])  # a right on 0, 1, 4
    pb = np.array([0, 1, 0, 1, 1, 1])  # b right on 0, 2; inconsistent on 1, 2, 4
    pe = np.array([1, 0, 1, 1, 0, 1])  # ensemble right on 1, 4 (and not on the consistent 0)
    assert D.conversion_rate(pa, pb, pe, y) == pytest.approx(2 / 3)
    assert D.error_inconsistency(pa, pb, y) == pytest.approx(0.5)


# ----------------------------------------------------------------------------- pairwise metrics vs naive loop

def _naive_pairwise(probs, y, pairs):
    out = {k: [] for k in ("acc_i", "acc_j", "ei", "both_correct", "both_wrong", "only_i", "only_j", "ens_acc",
                           "gain", "conversion")}
    for i, j in pairs:
        ci, cj = probs[i].argmax(-1) == y, probs[j].argmax(-1) == y
        ce = np.argmax((probs[i] + probs[j]) / 2, axis=-1) == y
        acc_i, acc_j, ens_acc = np.mean(ci), np.mean(cj), np.mean(ce)
        incons = ci != cj
        out["acc_i"].append(acc_i)
        out["acc_j"].append(acc_j)
        out["ei"].append(np.mean(incons))
        out["both_correct"].append(np.mean(ci & cj))
        out["both_wrong"].append(np.mean(~ci & ~cj))
        out["only_i"].append(np.mean(ci & ~cj))
        out["only_j"].append(np.mean(~ci & cj))
        out["ens_acc"].append(ens_acc)
        out["gain"].append(ens_acc - (acc_i + acc_j) / 2)
        out["conversion"].append(np.sum(incons & ce) / np.sum(incons) if incons.any() else np.nan)
    return {k: np.array(v) for k, v in out.items()}


def _assert_same(vec, naive):
    for k, v in naive.items():
        np.testing.assert_array_equal(vec[k], v, err_msg=k)


def test_pairwise_metrics_equals_naive_loop_exactly():
    probs, y = _random_probs(6, 2000, 7, seed=4)
    pairs = [(i, j) for i in range(6) for j in range(i + 1, 6)]
    vec = D.pairwise_metrics(probs, y)
    assert vec["i"].tolist() == [p[0] for p in pairs] and vec["j"].tolist() == [p[1] for p in pairs]
    _assert_same(vec, _naive_pairwise(probs, y, pairs))
    assert np.all(np.isclose(vec["both_correct"] + vec["both_wrong"] + vec["only_i"] + vec["only_j"], 1.0))
    # explicit pairs in any order, repeats and self-pairs included
    some = [(3, 1), (0, 0), (5, 2), (3, 1)]
    _assert_same(D.pairwise_metrics(probs, y, pairs=some), _naive_pairwise(probs, y, some))
    as_tuple = D.pairwise_metrics(probs, y, pairs=(np.array([3, 0, 5, 3]), np.array([1, 0, 2, 1])))
    _assert_same(as_tuple, _naive_pairwise(probs, y, some))


def test_pairwise_metrics_exact_ties():
    """Dyadic probabilities (multiples of 1/8): many exact ties inside each model and in the sum
    (p_i + p_j) / 2, all resolved to the lowest class as np.argmax does."""
    rng = np.random.default_rng(5)
    M, N, K = 6, 3000, 4
    probs = np.stack([rng.multinomial(8, np.ones(K) / K, size=N) / 8 for _ in range(M)])
    y = rng.integers(0, K, N)
    # hand-made: top-1s 1 and 0, the sum ties between 0 and 1 -> the ensemble predicts 0
    probs[0, 0], probs[1, 0], y[0] = [0.25, 0.5, 0.25, 0.0], [0.5, 0.25, 0.25, 0.0], 0
    probs[0, 1], probs[1, 1], y[1] = [0.25, 0.5, 0.25, 0.0], [0.5, 0.25, 0.25, 0.0], 1
    ties = np.sum(np.sort(probs, -1)[..., -1] == np.sort(probs, -1)[..., -2])
    assert ties > 1000
    pairs = [(i, j) for i in range(M) for j in range(i + 1, M)]
    _assert_same(D.pairwise_metrics(probs, y), _naive_pairwise(probs, y, pairs))
    ens = D.ensemble_correct(probs, y, pairs=[(0, 1)])[0]
    assert ens[0] and not ens[1]


def test_pairwise_metrics_rounding_near_ties():
    """Both models' top-1 is class c by one ulp over a lower class; the float sum can round the two
    to a tie, so the ensemble's np.argmax picks the lower class. The vectorised shortcut must see it."""
    rng = np.random.default_rng(6)
    N, K = 4000, 3
    probs = rng.dirichlet(np.ones(K), size=(2, N))
    for m in range(2):
        base = rng.uniform(0.05, 0.45, N)
        probs[m, :, 0] = base
        probs[m, :, 1] = np.nextafter(base, 1.0)  # top-1 is class 1, by one ulp
        probs[m, :, 2] = rng.uniform(0.0, 0.04, N)
    y = np.ones(N, dtype=int)
    naive = np.argmax((probs[0] + probs[1]) / 2, axis=-1)
    assert np.all(probs[:, :, :].argmax(-1) == 1)
    assert 50 < np.sum(naive == 0) < N  # rounding collapsed some into ties
    _assert_same(D.pairwise_metrics(probs, y), _naive_pairwise(probs, y, [(0, 1)]))


def test_pairwise_metrics_chunking(monkeypatch):
    probs, y = _random_probs(5, 400, 3, seed=7)
    full = D.pairwise_metrics(probs, y, return_correct=True)
    monkeypatch.setattr(D, "_CHUNK_ELEMENTS", 400 * 3 * 2)  # two pairs per chunk
    small = D.pairwise_metrics(probs, y, return_correct=True)
    for k in full:
        np.testing.assert_array_equal(full[k], small[k], err_msg=k)
    assert full["ens_correct"].shape == (10, 400)


# ----------------------------------------------------------------------------- temperature scaling

@pytest.fixture(scope="module")
def calibrated_logits():
    rng = np.random.default_rng(8)
    z = rng.normal(0.0, 2.0, (20000, 10))
    p = D.softmax(z)
    y = (p.cumsum(axis=1) > rng.random((len(z), 1))).argmax(axis=1)  # y ~ Categorical(softmax(z))
    return z, y


def test_fit_temperature_recovers_scale(calibrated_logits):
    z, y = calibrated_logits
    for s in (0.5, 2.0, 4.0):
        assert D.fit_temperature(s * z, y) == pytest.approx(s, rel=0.02)
    # a bound when the optimum lies outside [1e-2, 1e2]
    assert D.fit_temperature(1e-4 * z, y) == pytest.approx(1e-2, rel=1e-4)


def test_fit_temperatures_equals_per_model(calibrated_logits):
    z, y = calibrated_logits
    rng = np.random.default_rng(9)
    logits = np.stack([s * z + 0.3 * rng.standard_normal(z.shape) for s in (0.3, 1.0, 2.5, 7.0)]
                      + [1e-4 * z, 1e4 * z])
    T = D.fit_temperatures(logits, y)
    ref = np.array([D.fit_temperature(m, y) for m in logits])
    np.testing.assert_allclose(T, ref, rtol=1e-4)
    assert T[-2] == pytest.approx(1e-2) and T[-1] == pytest.approx(1e2)
    # the optimum: the NLL is larger a little either side
    nll = lambda t: -np.mean(np.log(D.softmax(logits[2] / t)[np.arange(len(y)), y]))
    assert nll(T[2]) < nll(T[2] * 1.01) and nll(T[2]) < nll(T[2] / 1.01)


# ----------------------------------------------------------------------------- specialisation

def test_specialisation_angle():
    assert D.specialisation_angle(0.6, 0.6) == pytest.approx(45.0)
    assert D.specialisation_angle(0.4, 0.8) > 45.0
    assert D.specialisation_angle(0.8, 0.4) < 45.0
    assert D.specialisation_angle(0.5, 0.5 * np.tan(np.radians(60))) == pytest.approx(60.0)
    np.testing.assert_array_equal(D.top1_confidence(np.array([[0.2, 0.7, 0.1], [0.5, 0.1, 0.4]])), [0.7, 0.5])


def test_angle_histograms_counts():
    probs, y = _random_probs(4, 1500, 5, seed=10)
    h = D.angle_histograms(probs, y)
    m = D.pairwise_metrics(probs, y)
    N = len(y)
    for g in D.GROUPS:
        assert h[g].shape == (6, 18)
        np.testing.assert_array_equal(h[g].sum(axis=1), np.rint(m[g] * N).astype(int), err_msg=g)
    conf = probs.max(-1)
    correct = probs.argmax(-1) == y
    for p, (i, j) in enumerate(zip(h["i"], h["j"])):
        theta = np.degrees(np.arctan2(conf[j], conf[i]))
        mask = correct[i] & ~correct[j]
        np.testing.assert_array_equal(h["only_i"][p], np.histogram(theta[mask], bins=h["bins"])[0])
        mask = ~correct[i] & correct[j]
        np.testing.assert_array_equal(h["only_j"][p], np.histogram(theta[mask], bins=h["bins"])[0])
    # hand case: model i is 0.5 confident throughout, θ = 45°, 60.9°, 34.2°, 50.2° -> bins 9, 12, 6, 10
    probs = np.array([[[0.5, 0.3, 0.2]] * 4,
                      [[0.5, 0.3, 0.2], [0.9, 0.05, 0.05], [0.33, 0.34, 0.33], [0.2, 0.2, 0.6]]])
    h = D.angle_histograms(probs, np.array([0, 0, 1, 2]))
    assert np.flatnonzero(h["both_correct"][0]).tolist() == [9, 12]
    assert np.flatnonzero(h["only_j"][0]).tolist() == [6, 10]
    assert h["only_i"].sum() == h["both_wrong"].sum() == 0
    coarse = D.angle_histograms(probs, np.array([0, 0, 1, 2]), bins=[0, 45, 90])
    assert coarse["both_correct"][0].tolist() == [0, 2] and coarse["only_j"][0].tolist() == [1, 1]


def test_group_accuracy_difference_and_spread():
    groups = np.array([0, 0, 1, 1, 1, 3])
    ci = np.array([1, 0, 1, 1, 1, 0], bool)
    cj = np.array([1, 1, 0, 1, 0, 1], bool)
    d = D.group_accuracy_difference(ci, cj, groups)
    np.testing.assert_allclose(d[[0, 1, 3]], [-0.5, 2 / 3, -1.0])
    assert np.isnan(d[2])
    assert D.specialisation_spread(ci, cj, groups) == pytest.approx(np.std([-0.5, 2 / 3, -1.0]))
    both = D.group_accuracy_difference(np.stack([ci, cj]), np.stack([cj, cj]), groups, n_groups=5)
    assert both.shape == (2, 5)
    np.testing.assert_allclose(both[0, [0, 1, 3]], d[[0, 1, 3]])
    np.testing.assert_allclose(both[1, [0, 1, 3]], 0.0)


# ----------------------------------------------------------------------------- paired bootstrap

def test_bootstrap_ei_se_matches_binomial():
    rng = np.random.default_rng(11)
    N = 4000
    correct = rng.random((2, N)) < np.array([[0.7], [0.6]])
    ens = rng.random((1, N)) < 0.72
    out = D.bootstrap_pair_metrics(correct, ens, [(0, 1)], n_boot=1000, seed=0)
    ei = np.mean(correct[0] != correct[1])
    assert out["pair_ei_se"][0] == pytest.approx(np.sqrt(ei * (1 - ei) / N), rel=0.15)
    g = out["groups"]["all"]["ei"]
    assert g["estimate"] == pytest.approx(ei) and g["lo"] < ei < g["hi"]
    assert g["se"] == pytest.approx(out["pair_ei_se"][0])


def test_bootstrap_matches_index_resampling_loop():
    """Each resample equals drawing rng.integers(0, N, N) indices in sequence, for every pair."""
    rng = np.random.default_rng(12)
    M, N, B = 3, 500, 40
    correct = rng.random((M, N)) < 0.6
    pairs = [(0, 1), (0, 2), (1, 2)]
    ens = rng.random((3, N)) < 0.65
    out = D.bootstrap_pair_metrics(correct, ens, pairs, n_boot=B, seed=3, chunk=7, return_samples=True)
    for p, (i, j) in enumerate(pairs):
        r = np.random.default_rng(3)
        for b in range(B):
            idx = r.integers(0, N, N)
            ci, cj, e = correct[i, idx], correct[j, idx], ens[p, idx]
            d = ci != cj
            assert out["samples"]["ei"][b, p] == pytest.approx(d.mean(), abs=1e-12)
            assert out["samples"]["gain"][b, p] == pytest.approx(e.mean() - (ci.mean() + cj.mean()) / 2, abs=1e-12)
            assert out["samples"]["conversion"][b, p] == pytest.approx((d & e).sum() / d.sum(), abs=1e-12)


def test_bootstrap_is_paired():
    rng = np.random.default_rng(13)
    M, N = 3, 800
    correct = rng.random((M, N)) < 0.6
    pairs = [(0, 1), (0, 1), (1, 2)]  # pair 0 duplicated
    ens = rng.random((2, N)) < 0.65
    ens = ens[[0, 0, 1]]
    out = D.bootstrap_pair_metrics(correct, ens, pairs, n_boot=300, seed=1, return_samples=True,
                                   groups_of_pairs={"a": [0], "b": [1], "ab": [0, 1], "c": [2]})
    for k in ("ei", "gain", "conversion"):
        np.testing.assert_array_equal(out["samples"][k][:, 0], out["samples"][k][:, 1])
        assert out["groups"]["a"][k] == out["groups"]["b"][k] == out["groups"]["ab"][k]
        assert np.std(out["samples"][k][:, 2]) > 0
    # the generic bootstrap: a quantity minus itself under another name has zero spread; an
    # independent copy of the same distribution does not
    x = rng.random(N) < 0.3
    diff = D.paired_bootstrap({"x": x, "x_again": x.copy(), "other": rng.random(N) < 0.3},
                              lambda m: np.stack([m["x"] - m["x_again"], m["x"] - m["other"]], axis=1),
                              n_boot=200, seed=2)
    assert diff.shape == (200, 2)
    assert np.all(diff[:, 0] == 0) and np.std(diff[:, 1]) > 0.005


# ----------------------------------------------------------------------------- greedy ensembles

def test_greedy_picks_the_complementary_model():
    rng = np.random.default_rng(14)
    K, N = 5, 1000
    yv, yt = rng.integers(0, K, N), rng.integers(0, K, N)

    def model(y, correct):
        """Confident (0.9) where correct, hesitant (0.4 on a wrong class) where wrong."""
        conf = np.where(correct, 0.9, 0.4)
        p = np.repeat(((1 - conf) / (K - 1))[:, None], K, axis=1)
        wrong = (y + rng.integers(1, K, len(y))) % K
        p[np.arange(len(y)), np.where(correct, y, wrong)] = conf
        return p

    def zoo(y, start_correct):
        start = model(y, start_correct)
        # 0 start, 1 and 4 exact copies of it, 2 its complement (right exactly where it is wrong), 3 weak
        return np.stack([start, start, model(y, ~start_correct), model(y, rng.random(N) < 0.5), start])

    start_v, start_t = rng.random(N) < 0.7, rng.random(N) < 0.7
    probs_v, probs_t = zoo(yv, start_v), zoo(yt, start_t)
    out = D.greedy_ensemble(probs_v, yv, probs_t, yt, start=0, candidates=[1, 3, 2])
    assert out["order"][0] == 2
    assert sorted(out["order"]) == [1, 2, 3]
    assert len(out["val_acc"]) == len(out["test_acc"]) == 4
    assert out["val_acc"][0] == pytest.approx(np.mean(start_v))
    assert out["test_acc"][0] == pytest.approx(np.mean(start_t))
    assert out["val_acc"][1] == 1.0 and out["test_acc"][1] == 1.0  # the complement fixes every error
    # ties go to the first candidate in the given order
    assert D.greedy_ensemble(probs_v, yv, probs_t, yt, start=0, candidates=[4, 1], steps=1)["order"] == [4]
    assert D.greedy_ensemble(probs_v, yv, probs_t, yt, start=0, candidates=[1, 4], steps=1)["order"] == [1]
    with pytest.raises(ValueError):
        D.greedy_ensemble(probs_v, yv, probs_t, yt, start=0, candidates=[0, 1])


# ----------------------------------------------------------------------------- feature-overlap probe

@pytest.fixture(scope="module")
def overlap_data():
    rng = np.random.default_rng(15)
    n = 4000
    z = rng.standard_normal((2 * n, 8))
    W = rng.standard_normal((8, 4))
    y = np.argmax(z @ W, axis=1)
    RA, RB = rng.standard_normal((6, 12)), rng.standard_normal((6, 12))
    A = z[:, :6] @ RA + 0.05 * rng.standard_normal((2 * n, 12))
    B = z[:, 2:] @ RB + 0.05 * rng.standard_normal((2 * n, 12))
    Q, _ = np.linalg.qr(rng.standard_normal((12, 12)))
    return A, B, A @ Q, y, n


def test_overlap_probe_complementary_features(overlap_data):
    A, B, _, y, n = overlap_data
    df = Pr.overlap_probe(A[:n], B[:n], y[:n], A[n:], B[n:], y[n:], fractions=(1.0, 0.5, 0.0), draws=3)
    assert list(df.columns) == ["fraction", "draw", "dim", "n_from_a", "n_from_b", "accuracy"]
    assert len(df) == 9 and (df["dim"] == 12).all()
    assert (df["n_from_a"] + df["n_from_b"] == 12).all()
    assert df.loc[df.fraction == 0.5, "n_from_a"].eq(6).all()
    acc = df.groupby("fraction")["accuracy"].mean()
    assert acc[0.5] > acc[1.0] + 0.05 and acc[0.5] > acc[0.0] + 0.05
    # reproducible
    again = Pr.overlap_probe(A[:n], B[:n], y[:n], A[n:], B[n:], y[n:], fractions=(0.5,), draws=3)
    np.testing.assert_array_equal(again["accuracy"], df.loc[df.fraction == 0.5, "accuracy"])


def test_overlap_probe_rotated_copy_gains_nothing(overlap_data):
    A, _, Ar, y, n = overlap_data
    df = Pr.overlap_probe(A[:n], Ar[:n], y[:n], A[n:], Ar[n:], y[n:], fractions=(1.0, 0.5), draws=3)
    acc = df.groupby("fraction")["accuracy"].mean()
    assert acc[0.5] <= acc[1.0] + 0.01


def test_overlap_probe_dim_validation(overlap_data):
    A, B, _, y, n = overlap_data
    with pytest.raises(ValueError, match="width"):
        Pr.overlap_probe(A[:n], B[:n, :8], y[:n], A[n:], B[n:, :8], y[n:], dim=10)
    df = Pr.overlap_probe(A[:200], B[:200, :8], y[:200], A[n:n + 200], B[n:n + 200, :8], y[n:n + 200],
                          fractions=(0.25,), draws=1)
    assert df["dim"].iloc[0] == 8 and df["n_from_a"].iloc[0] == 2


# ----------------------------------------------------------------------------- linear CKA

def test_linear_cka_invariances_and_hsic():
    rng = np.random.default_rng(16)
    X = rng.standard_normal((200, 10)) @ rng.standard_normal((10, 10))
    Q, _ = np.linalg.qr(rng.standard_normal((10, 10)))
    assert Pr.linear_cka(X, X @ Q * 3.7) == pytest.approx(1.0, abs=1e-6)
    Y = np.tanh(X[:, :6]) + 0.5 * rng.standard_normal((200, 6))
    K, L = X @ X.T, Y @ Y.T  # Gram matrices of the raw (uncentred) features
    cka = Pr.linear_cka(X, Y)
    assert 0.2 < cka < 0.95
    assert cka == pytest.approx(Pr.cka_from_grams(K, L), abs=1e-8)
    indep = Pr.linear_cka(rng.standard_normal((2000, 10)), rng.standard_normal((2000, 10)))
    assert indep < 0.02


def test_cka_matrix_agrees_with_pairwise():
    rng = np.random.default_rng(17)
    base = rng.standard_normal((60, 5))
    for widths in ((4, 7, 3, 9), (100, 150, 80)):  # feature-space and Gram-matrix paths
        feats = [base @ rng.standard_normal((5, w)) + rng.standard_normal((60, w)) for w in widths]
        C = Pr.cka_matrix(feats)
        ref = np.array([[Pr.linear_cka(a, b) for b in feats] for a in feats])
        np.testing.assert_allclose(C, ref, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(np.diag(C), 1.0)


# ----------------------------------------------------------------------------- compression

def test_rank_dimensions_and_compression_curve():
    rng = np.random.default_rng(18)
    n, K, informative, noise = 3000, 4, 3, 17
    y = rng.integers(0, K, 2 * n)
    means = 2.0 * rng.standard_normal((K, informative))
    F = np.concatenate([means[y] + rng.standard_normal((2 * n, informative)),
                        rng.standard_normal((2 * n, noise))], axis=1)
    perm = rng.permutation(F.shape[1])
    F = F[:, perm]  # hide the informative dims among the noise
    score = Pr.anova_f(F[:n], y[:n])
    np.testing.assert_allclose(score, [f_oneway(*(F[:n][y[:n] == c, d] for c in range(K))).statistic
                                       for d in range(F.shape[1])], rtol=1e-9)
    order = Pr.rank_dimensions(F[:n], y[:n])
    assert set(order[:informative]) == set(np.flatnonzero(perm < informative))
    curve = Pr.compression_curve(F[:n], y[:n], F[n:], y[n:], ks=[1, informative, F.shape[1]])
    acc = dict(zip(curve["k"], curve["accuracy"]))
    assert acc[informative] >= acc[F.shape[1]] - 0.02
    assert acc[1] < acc[informative] - 0.05
    with pytest.raises(ValueError):
        Pr.rank_dimensions(F, y, statistic="mutual_information")


def test_error_inconsistency_floor_and_excess_on_hand_made_predictions():
    """Model a right on points 0-5, model b on 4-7 of 10: EI = 6/10 (only a: 0-3, only b: 6-7),
    |Δacc| = |0.6 − 0.4| = 0.2, excess = 0.4 = 2·min(4, 2)/10. Over random pairs EI ≥ |Δacc|
    always and excess = EI − |Δacc| (pairwise_metrics and the bootstrap draws alike)."""
    ca = np.zeros(10, bool)
    ca[:6] = True
    cb = np.zeros(10, bool)
    cb[4:8] = True
    assert D.ei_floor_excess(ca, cb) == pytest.approx((0.6, 0.2, 0.4))
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(4), size=(6, 500))
    y = rng.integers(0, 4, 500)
    pm = D.pairwise_metrics(probs, y, return_correct=True)
    assert np.all(pm["ei"] >= pm["ei_floor"] - 1e-15)
    np.testing.assert_allclose(pm["ei_excess"], pm["ei"] - pm["ei_floor"], atol=1e-15)
    np.testing.assert_allclose(pm["ei_floor"], np.abs(pm["acc_i"] - pm["acc_j"]), atol=1e-15)
    for p, (i, j) in enumerate(zip(pm["i"], pm["j"])):
        assert D.ei_floor_excess(pm["correct"][i], pm["correct"][j]) == pytest.approx(
            (pm["ei"][p], pm["ei_floor"][p], pm["ei_excess"][p]))
    out = D.bootstrap_pair_metrics(pm["correct"], pm["ens_correct"], (pm["i"], pm["j"]), n_boot=50,
                                   return_samples=True)
    s = out["samples"]
    assert np.all(s["ei"] >= s["ei_floor"] - 1e-12)
    np.testing.assert_allclose(s["ei_excess"], s["ei"] - s["ei_floor"], atol=1e-12)
