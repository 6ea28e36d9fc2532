"""Known-answer tests of featurelab.interaction (Jiang, Baek, Kolter (2024) §3 and Algorithm 1)."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from featurelab import interaction as it


def lam_from_flat(c: np.ndarray, m: int, k: int) -> np.ndarray:
    """(M·K, M·K) matrix indexed [i*K+a, j*K+b] -> Λ (M, M, K, K)."""
    return np.ascontiguousarray(np.asarray(c, dtype=float).reshape(m, k, m, k).transpose(0, 2, 1, 3))


def latent_models(m: int, n: int, d: int, n_shared: int, n_private: int, seed: int = 0,
                  noise: float = 0.05) -> list[np.ndarray]:
    """M models: each a random orthonormal embedding of the same shared latent factors
    plus its own private factors, with distinct, decreasing scales (so PC f = factor f)."""
    rng = np.random.default_rng(seed)
    shared = rng.standard_normal((n, n_shared))
    scales = np.linspace(10.0, 6.0, n_shared)
    pscales = np.linspace(5.0, 3.0, n_private)
    acts = []
    for _ in range(m):
        q, _ = np.linalg.qr(rng.standard_normal((d, n_shared + n_private)))
        private = rng.standard_normal((n, n_private))
        z = np.hstack([shared * scales, private * pscales])
        acts.append((z @ q.T + noise * rng.standard_normal((n, d))).astype(np.float32))
    return acts


# --------------------------------------------------------------------------- PCA

def _align_signs(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Flip columns of a to match the signs of b."""
    s = np.sign(np.sum(a * b, axis=0))
    return a * s


@pytest.mark.parametrize("center", [False, True])
def test_pca_project_matches_svd(center):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((60, 9)) * np.arange(9, 0, -1) + 2.0
    k = 4
    proj = it.pca_project(x, k, center=center)
    xc = x - x.mean(axis=0) if center else x
    u, s, vt = np.linalg.svd(xc, full_matrices=False)
    ref = u[:, :k] * s[:k]
    assert proj.shape == (60, k) and proj.dtype == np.float64
    np.testing.assert_allclose(_align_signs(proj, ref), ref, atol=1e-9)
    # sign convention: largest-|loading| of each direction V[:, c] is positive
    v = np.linalg.lstsq(xc, proj, rcond=None)[0]
    np.testing.assert_allclose(np.abs(v), np.abs(vt[:k].T), atol=1e-8)
    top = np.argmax(np.abs(v), axis=0)
    assert np.all(v[top, np.arange(k)] > 0)


def test_pca_project_centring_differs_and_is_mean_invariant():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((80, 6))
    shifted = x + 5.0
    np.testing.assert_allclose(it.pca_project(x, 3, center=True),
                               it.pca_project(shifted, 3, center=True), atol=1e-9)
    assert not np.allclose(np.abs(it.pca_project(shifted, 3)), np.abs(it.pca_project(x, 3, center=True)))


def test_pca_project_deterministic_and_float32():
    x = np.random.default_rng(3).standard_normal((200, 16)).astype(np.float32)
    a, b = it.pca_project(x, 5), it.pca_project(x.copy(), 5)
    np.testing.assert_array_equal(a, b)


def test_pca_project_errors_name_sizes():
    x = np.random.default_rng(4).standard_normal((30, 5))
    with pytest.raises(ValueError, match=r"k=6.*d=5"):
        it.pca_project(x, 6)
    with pytest.raises(ValueError, match=r"N=3"):
        it.pca_project(x[:3], 4)
    rank1 = np.outer(np.arange(1, 31), np.arange(1, 6)).astype(float)
    with pytest.raises(ValueError, match=r"rank 1.*k=2"):
        it.pca_project(rank1, 2)
    with pytest.raises(ValueError, match="rank 0"):
        it.pca_project(np.zeros((10, 4)), 1)
    with pytest.raises(ValueError, match="2-D"):
        it.pca_project(np.zeros(10), 1)


# --------------------------------------------------------------------------- Λ

def test_correlation_tensor_matches_corrcoef():
    rng = np.random.default_rng(5)
    m, n, k = 3, 40, 4
    proj = rng.standard_normal((m, n, k))
    proj[1, :, 2] += 0.9 * proj[0, :, 1] * 3  # some real correlation
    lam = it.correlation_tensor(proj)
    assert lam.shape == (m, m, k, k)
    ref = np.abs(np.corrcoef(proj.transpose(0, 2, 1).reshape(m * k, n)))
    for i in range(m):
        for j in range(m):
            np.testing.assert_allclose(lam[i, j], ref[i * k:(i + 1) * k, j * k:(j + 1) * k], atol=1e-12)
    np.testing.assert_array_equal(lam, lam.transpose(1, 0, 3, 2))
    assert np.all(lam[np.arange(m)[:, None], np.arange(m)[:, None], np.arange(k), np.arange(k)] == 1.0)
    assert lam.min() >= 0 and lam.max() <= 1


def test_correlation_tensor_constant_column_is_zero():
    rng = np.random.default_rng(6)
    proj = rng.standard_normal((2, 30, 3))
    proj[1, :, 0] = 0.37
    lam = it.correlation_tensor(proj)
    assert np.all(lam[1, :, 0, :] == 0) and np.all(lam[:, 1, :, 0] == 0)
    assert lam[1, 1, 0, 0] == 0
    assert lam[1, 1, 1, 1] == 1


# --------------------------------------------------------------------------- γ

def test_gamma_corr_percentile_and_fixed():
    lam = lam_from_flat(np.arange(16, dtype=float).reshape(4, 4) / 15, 2, 2)
    assert it.gamma_corr(lam) == pytest.approx(np.percentile(lam, 90))
    assert it.gamma_corr(lam, percentile=50) == pytest.approx(0.5)
    assert it.gamma_corr(lam, fixed=0.7) == 0.7


def test_normalize_columns_and_gamma_data():
    proj = np.array([[[2.0, 0.0, -1.0], [-4.0, 0.0, 0.5]],
                     [[1.0, 3.0, 0.0], [0.5, -6.0, 0.0]]])  # (M=2, N=2, K=3)
    normed = it.normalize_columns(proj)
    expected = np.array([[[0.5, 0.0, -1.0], [-1.0, 0.0, 0.5]],
                         [[1.0, 0.5, 0.0], [0.5, -1.0, 0.0]]])
    np.testing.assert_allclose(normed, expected)
    np.testing.assert_allclose(it.normalize_columns(proj[0]), expected[0])
    assert it.gamma_data(normed, 50) == pytest.approx(np.median(expected))
    per = it.gamma_data(normed, 50, per_model=True)
    assert per.shape == (2,)
    np.testing.assert_allclose(per, [np.median(expected[0]), np.median(expected[1])])


# --------------------------------------------------------------------------- clustering

def test_cluster_shared_components_form_one_cluster_each():
    # M=3, K=3: component 0 of each model is one feature, component 2 of model 0 and
    # component 1 of models 1 and 2 are another; the rest are unrelated.
    m, k = 3, 3
    c = np.eye(m * k)
    groups = [[(0, 0), (1, 0), (2, 0)], [(0, 2), (1, 1), (2, 1)]]
    for g in groups:
        for a in g:
            for b in g:
                if a != b:
                    c[a[0] * k + a[1], b[0] * k + b[1]] = 0.9
    c[c == 0] = 0.1
    lam = lam_from_flat(c, m, k)
    cl = it.cluster_features(lam, 0.5)
    expected = np.array([[0, 1, 2], [0, 2, 3], [0, 2, 4]])
    np.testing.assert_array_equal(cl, expected)
    np.testing.assert_array_equal(it.cluster_features_loops(lam, 0.5), expected)


def test_cluster_later_stronger_seed_takes_feature_over():
    # order: (0,0) (0,1) (1,0) (1,1). Seed (0,0) claims (1,0) with 0.8; (0,1) is not claimed
    # (0.3 < γ) so it becomes the next seed and claims (1,0) with 0.95 > 0.8.
    m, k = 2, 2
    c = np.full((4, 4), 0.1)
    np.fill_diagonal(c, 1.0)
    f = {(0, 0): 0, (0, 1): 1, (1, 0): 2, (1, 1): 3}
    def put(a, b, v):
        c[f[a], f[b]] = c[f[b], f[a]] = v
    put((0, 0), (1, 0), 0.8)
    put((0, 1), (1, 0), 0.95)
    put((0, 0), (0, 1), 0.3)
    lam = lam_from_flat(c, m, k)
    expected = np.array([[0, 1], [1, 2]])
    np.testing.assert_array_equal(it.cluster_features(lam, 0.5), expected)
    np.testing.assert_array_equal(it.cluster_features_loops(lam, 0.5), expected)
    # the weaker later seed does not take over (strictly greater needed, ties too)
    put((0, 1), (1, 0), 0.8)
    put((0, 0), (1, 1), 0.0)
    expected_tie = np.array([[0, 1], [0, 2]])
    np.testing.assert_array_equal(it.cluster_features(lam_from_flat(c, m, k), 0.5), expected_tie)
    np.testing.assert_array_equal(it.cluster_features_loops(lam_from_flat(c, m, k), 0.5), expected_tie)


def test_cluster_claimed_feature_is_not_a_seed_and_threshold_is_strict():
    # (0,0) claims (0,1) in its own model (0.6); (0,1) is then skipped as a seed (had it
    # seeded, it would have claimed (0,2) with 0.55 -> [[0, 1, 1]]). Λ = 0.5 with γ = 0.5
    # does not claim, so (0,2) seeds cluster 1, and 0.55 < 0.6 does not take (0,1) over.
    m, k = 1, 3
    c = np.array([[1.0, 0.6, 0.5], [0.6, 1.0, 0.55], [0.5, 0.55, 1.0]])
    lam = lam_from_flat(c, m, k)
    np.testing.assert_array_equal(it.cluster_features(lam, 0.5), [[0, 0, 1]])
    np.testing.assert_array_equal(it.cluster_features_loops(lam, 0.5), [[0, 0, 1]])


def test_cluster_seeds_are_never_taken_over():
    # A constant column (self-Λ 0) seeds cluster 0; an asymmetric Λ lets the later seed
    # (0,1) "see" it at 0.9. Without locking, (0,0) would move to cluster 1.
    m, k = 1, 2
    c = np.array([[0.0, 0.1], [0.9, 1.0]])
    lam = lam_from_flat(c, m, k)
    np.testing.assert_array_equal(it.cluster_features(lam, 0.5), [[0, 1]])
    np.testing.assert_array_equal(it.cluster_features_loops(lam, 0.5), [[0, 1]])


def test_cluster_ids_zero_based_in_seed_order():
    rng = np.random.default_rng(7)
    for _ in range(20):
        m, k = rng.integers(1, 5), rng.integers(1, 6)
        lam = lam_from_flat(_random_symmetric(rng, m * k, ties=False), m, k)
        cl = it.cluster_features(lam, 0.6)
        # ids are 0..T-1 with no gap, the first visited feature seeds cluster 0, and a
        # cluster's id is its seed's rank in the (model, component) visiting order
        assert cl[0, 0] == 0
        assert set(cl.ravel()) == set(range(cl.max() + 1))


def _random_symmetric(rng, size, ties):
    if ties:
        a = rng.choice([0.0, 0.25, 0.5, 0.75, 1.0], size=(size, size))
    else:
        a = rng.random((size, size))
    a = np.triu(a) + np.triu(a, 1).T
    np.fill_diagonal(a, 1.0)
    return a


@pytest.mark.parametrize("ties", [False, True])
def test_cluster_vectorised_equals_loops_random(ties):
    rng = np.random.default_rng(8 + ties)
    for trial in range(150):
        m, k = int(rng.integers(1, 6)), int(rng.integers(1, 7))
        a = _random_symmetric(rng, m * k, ties)
        if trial % 5 == 0:  # asymmetric and zero-diagonal cases too
            a = rng.choice([0.0, 0.5, 0.9, 1.0], size=a.shape) if ties else rng.random(a.shape)
        lam = lam_from_flat(a, m, k)
        for gamma in (0.0, 0.25, 0.5, 0.7, float(np.percentile(lam, 90))):
            np.testing.assert_array_equal(it.cluster_features(lam, gamma),
                                          it.cluster_features_loops(lam, gamma))


def test_cluster_equals_loops_on_real_correlations():
    proj = np.stack([it.pca_project(a, 10) for a in latent_models(6, 500, 32, 4, 8, seed=9)])
    lam = it.correlation_tensor(proj)
    for gamma in (0.2, it.gamma_corr(lam), 0.7):
        np.testing.assert_array_equal(it.cluster_features(lam, gamma),
                                      it.cluster_features_loops(lam, gamma))


def test_cluster_end_to_end_shared_latents():
    m, n_shared, n_private = 4, 5, 3
    acts = latent_models(m, 2000, 64, n_shared, n_private, seed=10)
    proj = np.stack([it.pca_project(a, n_shared + n_private) for a in acts])
    lam = it.correlation_tensor(proj)
    cl = it.cluster_features(lam, 0.5)
    expected = np.empty((m, n_shared + n_private), dtype=np.int64)
    expected[:, :n_shared] = np.arange(n_shared)
    for i in range(m):
        expected[i, n_shared:] = n_shared + n_private * i + np.arange(n_private)
    np.testing.assert_array_equal(cl, expected)


def test_cluster_rejects_bad_shape():
    with pytest.raises(ValueError, match="M, M, K, K"):
        it.cluster_features(np.zeros((2, 3, 4, 4)), 0.5)


# --------------------------------------------------------------------------- Ω

NORMED = np.array([
    [[0.9, 0.1], [0.2, 0.95], [1.0, 1.0]],     # model 0
    [[-1.0, 0.6], [0.5, 0.2], [0.7, -0.3]],    # model 1
])
CLUSTERS = np.array([[0, 1], [1, 1]])


def _dense_expected(per_model=False):
    e = np.zeros((2, 3, 2), dtype=bool)
    e[0, 0, 0] = True          # 0.9
    e[0, 1, 1] = True          # 0.95
    e[0, 2, 0] = e[0, 2, 1] = True
    if not per_model:
        e[1, 0, 1] = True      # 0.6 > 0.55
    e[1, 2, 1] = True          # 0.7
    return e


def test_interaction_tensor_hand_made():
    trip = it.interaction_tensor(NORMED, CLUSTERS, 0.55)
    assert list(trip.columns) == ["model", "point", "feature"]
    assert all(trip[c].dtype == np.int32 for c in trip.columns)
    np.testing.assert_array_equal(it.omega_to_dense(trip, 2, 3, 2), _dense_expected())
    assert len(trip) == _dense_expected().sum()  # deduplicated
    assert trip.equals(trip.sort_values(["model", "point", "feature"]).reset_index(drop=True))
    per = it.interaction_tensor(NORMED, CLUSTERS, np.array([0.55, 0.65]))
    np.testing.assert_array_equal(it.omega_to_dense(per, 2, 3, 2), _dense_expected(per_model=True))
    # strict threshold: 0.5 is not > 0.5
    assert not it.omega_to_dense(it.interaction_tensor(NORMED, CLUSTERS, 0.5), 2, 3, 2)[1, 1].any()


def test_interaction_tensor_equals_loops_random():
    rng = np.random.default_rng(11)
    for _ in range(20):
        m, n, k = rng.integers(1, 4), rng.integers(1, 30), rng.integers(1, 6)
        normed = rng.uniform(-1, 1, (m, n, k))
        clusters = rng.integers(0, 2 * k, (m, k))
        g = rng.uniform(0, 1, m) if rng.random() < 0.5 else 0.4
        a = it.interaction_tensor(normed, clusters, g)
        b = it.interaction_tensor_loops(normed, clusters, g)
        pd.testing.assert_frame_equal(a, b)


def test_omega_parquet_round_trip(tmp_path):
    trip = it.interaction_tensor(NORMED, CLUSTERS, 0.55)
    path = it.write_omega(tmp_path / "sub" / "omega.parquet", trip, 2, 3, 2,
                          {"gamma_corr": 0.5, "gamma_data": np.float64(0.55), "k": 2})
    assert sorted(p.name for p in path.parent.iterdir()) == ["omega.parquet"]  # no temp left
    back = it.read_omega(path)
    assert (back.M, back.N, back.T) == (2, 3, 2)
    assert back.meta == {"gamma_corr": 0.5, "gamma_data": 0.55, "k": 2}
    pd.testing.assert_frame_equal(back.triplets, trip)
    table = pq.read_table(path)
    assert [str(t) for t in table.schema.types] == ["int32"] * 3
    assert table.schema.metadata[b"T"] == b"2"
    df = pd.read_parquet(path)
    assert len(df) == len(trip) and list(df.columns) == ["model", "point", "feature"]
    duckdb = pytest.importorskip("duckdb")
    con = duckdb.connect()
    n, fmax = con.execute(f"SELECT count(*), max(feature) FROM read_parquet('{path}')").fetchone()
    assert (n, fmax) == (len(trip), 1)
    with pytest.raises(ValueError, match="feature ids"):
        it.write_omega(tmp_path / "bad.parquet", trip, 2, 3, 1)


def test_build_interaction_pipeline():
    m, n_shared, n_private = 3, 4, 2
    acts = latent_models(m, 1500, 32, n_shared, n_private, seed=12)
    res = it.build_interaction(acts, k=n_shared + n_private, gamma_corr_fixed=0.5)
    assert res.proj.shape == (m, 1500, 6) and res.abs_corr.shape == (m, m, 6, 6)
    assert res.gamma_corr == 0.5
    assert res.T == n_shared + m * n_private == res.clusters.max() + 1
    assert 0 < res.gamma_data < 1
    dense = it.omega_to_dense(res.omega, m, 1500, res.T)
    np.testing.assert_array_equal(dense, it.omega_to_dense(
        it.interaction_tensor_loops(res.normed, res.clusters, res.gamma_data), m, 1500, res.T))
    # a private feature is only ever present through its own model
    for i in range(m):
        for t in res.clusters[i, n_shared:]:
            assert set(res.omega.loc[res.omega.feature == t, "model"]) <= {i}
    per = it.build_interaction(acts, k=6, per_model_data=True)
    assert np.shape(per.gamma_data) == (m,)
    with pytest.raises(ValueError, match="same points"):
        it.build_interaction([acts[0], acts[1][:10]], k=2)


# --------------------------------------------------------------------------- quantities

def test_point_and_feature_counts():
    trip = it.interaction_tensor(NORMED, CLUSTERS, 0.55)
    # Ψ(0) = {0, 1}, Ψ(1) = {1}, Ψ(2) = {0, 1}
    np.testing.assert_array_equal(it.features_per_point(trip, 3), [2, 1, 2])
    np.testing.assert_array_equal(it.features_per_point(trip, 5), [2, 1, 2, 0, 0])
    np.testing.assert_array_equal(it.feature_frequency(trip, 2), [2, 3])
    np.testing.assert_array_equal(it.feature_frequency(trip, 4), [2, 3, 0, 0])
    np.testing.assert_array_equal(it.models_per_feature(trip, 2), [1, 2])
    as_dict = {c: trip[c].to_numpy() for c in trip.columns}
    np.testing.assert_array_equal(it.feature_frequency(as_dict, 2), [2, 3])


def test_shared_features_from_clusters():
    np.testing.assert_array_equal(it.model_feature_matrix(CLUSTERS), [[True, True], [False, True]])
    np.testing.assert_array_equal(it.shared_features(CLUSTERS), [[2, 1], [1, 1]])
    np.testing.assert_array_equal(it.shared_features(CLUSTERS, T=3), [[2, 1], [1, 1]])


PRED = np.array([[0, 1, 1, 2, 2],
                 [1, 1, 1, 0, 2],
                 [0, 2, 0, 2, 2]])
LABELS = np.array([0, 0, 1, 1, 2])


def test_confidence():
    np.testing.assert_allclose(it.confidence(PRED, LABELS), [2 / 3, 0, 2 / 3, 0, 1])


def test_shared_error_modes():
    same = it.shared_error(PRED, LABELS)
    np.testing.assert_allclose(same, [[1, 0.4, 0.4], [0.4, 1, 0], [0.4, 0, 1]])
    both = it.shared_error(PRED, LABELS, mode="both_wrong")
    np.testing.assert_allclose(both, [[1, 0.8, 0.8], [0.8, 1, 2 / 3], [0.8, 2 / 3, 1]])
    perfect = np.vstack([LABELS, LABELS, PRED[0]])
    se = it.shared_error(perfect, LABELS)
    assert np.isnan(se[0, 1]) and se[0, 2] == 0 and se[2, 2] == 1
    with pytest.raises(ValueError, match="mode"):
        it.shared_error(PRED, LABELS, mode="other")


def test_shared_error_matches_loops_random():
    rng = np.random.default_rng(13)
    pred = rng.integers(0, 4, (5, 200))
    y = rng.integers(0, 4, 200)
    se = it.shared_error(pred, y)
    for i in range(5):
        for j in range(5):
            num = np.sum((pred[i] == pred[j]) & (pred[i] != y))
            den = (np.sum(pred[i] != y) + np.sum(pred[j] != y)) / 2
            assert se[i, j] == pytest.approx(num / den)


def test_similarity_and_matrix():
    assert it.similarity({1, 2, 3}, [2, 3, 4, 5]) == pytest.approx(4 / 7)
    assert it.similarity([], []) == 0.0
    assert it.similarity({1}, {1}) == 1.0
    trip = pd.DataFrame({"model": [0, 1, 0, 0, 1, 1], "point": [0, 0, 1, 1, 2, 2],
                         "feature": [0, 0, 1, 2, 2, 3]})
    inc = it.incidence_matrix(trip, 4, 4)  # Ψ = {0}, {1,2}, {2,3}, {}
    assert inc.shape == (4, 4) and inc.max() == 1
    psi = [{0}, {1, 2}, {2, 3}, set()]
    sim = it.similarity_matrix(inc)
    ref = np.array([[it.similarity(a, b) for b in psi] for a in psi])
    np.testing.assert_allclose(sim, ref)
    np.testing.assert_allclose(it.similarity_matrix(inc, rows=[2]), ref[[2]])


def _brute_mantel(a, b):
    import itertools

    import scipy.stats
    m = a.shape[0]
    iu = np.triu_indices(m, 1)
    ok0 = np.isfinite(b[iu])
    r0 = scipy.stats.spearmanr(a[iu][ok0], b[iu][ok0]).statistic
    rs = []
    for pi in itertools.permutations(range(m)):
        bp = b[np.ix_(pi, pi)][iu]
        ok = np.isfinite(bp) & np.isfinite(a[iu])
        rs.append(scipy.stats.spearmanr(a[iu][ok], bp[ok]).statistic)
    return r0, float(np.mean(np.array(rs) >= r0 - 1e-9))


def test_mantel_test_against_brute_force_relabellings():
    from featurelab.interaction import mantel_test
    rng = np.random.default_rng(3)
    for m in (4, 5, 6):
        a = rng.integers(0, 6, (m, m)).astype(float)   # integer counts: ties, as shared features have
        a = a + a.T
        b = rng.random((m, m))
        b = b + b.T + 0.3 * a                           # partly related
        r, p, n = mantel_test(a, b)
        r_ref, p_ref = _brute_mantel(a, b)
        assert n == math.factorial(m)
        assert r == pytest.approx(r_ref) and p == pytest.approx(p_ref)
    # a NaN pair (an error-free model) takes the slow path and still matches
    b[0, 1] = b[1, 0] = np.nan
    r, p, _ = mantel_test(a, b)
    mask = np.isfinite(b)
    iu = np.triu_indices(6, 1)
    keep = mask[iu]
    import scipy.stats
    assert r == pytest.approx(scipy.stats.spearmanr(a[iu][keep], b[iu][keep]).statistic)
    assert p == pytest.approx(_brute_mantel(a, b)[1])


def test_mantel_test_identical_and_opposite_and_sampled():
    from featurelab.interaction import mantel_test
    rng = np.random.default_rng(0)
    x = rng.random((6, 6))
    x = x + x.T
    assert mantel_test(x, x) == (pytest.approx(1.0), pytest.approx(1 / 720), 720)
    assert mantel_test(x, -x)[1] == pytest.approx(1.0)
    big = rng.random((12, 12))
    big = big + big.T
    r, p, n = mantel_test(big, big, permutations=499, seed=1)
    assert n == 500 and p == pytest.approx(1 / 500)        # the identity alone reaches rho = 1
    noise = rng.random((12, 12))
    r, p, _ = mantel_test(big, noise + noise.T, permutations=999)
    assert 0.01 < p < 0.99
    with pytest.raises(ValueError, match="square matrices"):
        mantel_test(np.ones((3, 3)), np.ones((3, 4)))
    assert np.isnan(mantel_test(np.ones((4, 4)), x[:4, :4])[0])


def test_o4_stability_script_reads_an_ensemble_and_reports_each_cell(tmp_path, repo_root):
    """analysis/o4_stability.py (README, O.4): one row per member range and K, with the
    Mantel p and the clusters each model holds; a missing member is named."""
    import subprocess
    import sys

    from featurelab.activations import write_activations
    rng = np.random.default_rng(0)
    n, d, c = 120, 12, 3
    shared = rng.normal(size=(n, 6))
    y = rng.integers(0, c, n)
    import yaml

    from featurelab.config import validate_config
    from featurelab.plan import Plan

    cfg = {"recipes": {"r": {}}, "ensembles": {"ens": {"dataset": "synthetic", "arch": "resnet18", "members": 4,
                                                        "recipe": "r"}}}
    (tmp_path / "cfg.yaml").write_text(yaml.safe_dump(cfg))
    models = Plan(validate_config(cfg)).ensemble_models("ens")
    for m in range(4):
        acts = np.abs(shared @ rng.normal(size=(6, d)) + 0.5 * rng.normal(size=(n, d))).astype(np.float32)
        logits = rng.normal(size=(n, c)).astype(np.float32)
        f = tmp_path / "results" / "zoo" / models[m] / "activations" / "penultimate" / "test.parquet"
        f.parent.mkdir(parents=True)
        write_activations(f, index=np.arange(n), label=y, prediction=logits.argmax(1), logits=logits,
                          activation=acts, metadata={"member": m})
    script = repo_root / "analysis" / "o4_stability.py"
    where = ["--configfile", str(tmp_path / "cfg.yaml"), "--results", str(tmp_path / "results")]
    res = subprocess.run([sys.executable, str(script), "ens", *where, "--members", "0-3", "1-3", "--k", "4", "6"],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    rows = [line.split() for line in res.stdout.splitlines()[1:]]
    assert [(r[0], r[1]) for r in rows] == [("0-3", "4"), ("0-3", "6"), ("1-3", "4"), ("1-3", "6")]
    for r in rows:
        assert 0 <= float(r[6]) <= 1                      # Mantel p
        held = r[7:]
        assert len(held) == (4 if r[0] == "0-3" else 3) and all(1 <= int(h) <= int(r[1]) for h in held)
    missing = subprocess.run([sys.executable, str(script), "ens", *where, "--members", "0-4"],
                             capture_output=True, text=True, timeout=120)
    assert missing.returncode != 0 and "ens has 4 members, not 5" in missing.stderr
    unknown = subprocess.run([sys.executable, str(script), "other", *where], capture_output=True, text=True,
                             timeout=120)
    assert unknown.returncode != 0 and "'other' is not an ensemble" in unknown.stderr


def test_choose_k_fixed_auto_by_the_papers_rule_and_the_width_share_where_no_linear_layer_reads():
    from featurelab.interaction.io import choose_k
    from featurelab.interaction.tensor import k_retaining_accuracy

    rng = np.random.default_rng(0)
    n, d, c = 400, 64, 4
    labels = rng.integers(0, c, n)
    acts = [rng.normal(size=(n, d)) * 0.1 for _ in range(2)]
    for a in acts:
        a[np.arange(n), labels] += 5.0  # the class sits in the first c coordinates
    w = np.zeros((d, c))
    w[:c, :c] = np.eye(c)
    logits = [a @ w for a in acts]
    base = {"k": "auto", "k_tolerance": 0.01}
    k, rule = choose_k(acts, logits, labels, base, log=lambda *_: None)
    assert k == k_retaining_accuracy(acts, logits, labels, tolerance=0.01) and k <= c and rule.startswith("App. E.2")
    assert choose_k(acts, logits, labels, {**base, "k": 7}) == (7, "fixed")
    # logits that are no affine function of the layer: the paper's rule is undefined, 50/512 of d
    nonlinear = [np.tanh(a @ rng.normal(size=(d, c))) ** 2 for a in acts]
    k, rule = choose_k(acts, nonlinear, labels, base, log=lambda *_: None)
    assert k == round(50 / 512 * d) == 6 and rule.startswith("50/512")
