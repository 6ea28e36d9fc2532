"""The interaction study's files: Parquet in (read_ensemble aligns the rows), tensor bundle out;
K clipped to the layer."""
import json

import numpy as np
import pytest

from featurelab.activations import read_ensemble, write_activations
from featurelab.interaction import Tensor, build_interaction, build_variant

SETTINGS = dict(layer="penultimate", split="test", k=50, center=False, gamma_corr=None, corr_percentile=90,
                data_percentile=90, gamma_data_pool="all")


def write_members(tmp_path, acts, preds, labels, shuffle=False):
    paths = []
    for m, (a, p) in enumerate(zip(acts, preds)):
        order = np.random.default_rng(m).permutation(len(labels)) if shuffle else np.arange(len(labels))
        path = tmp_path / f"m{m}.parquet"
        write_activations(path, index=order, label=labels[order], prediction=p[order],
                          logits=np.zeros((len(labels), 3)), activation=a[order],
                          metadata={"member": m, "seed": m, "layer": "penultimate"})
        paths.append(path)
    return paths


@pytest.fixture
def members():
    rng = np.random.default_rng(0)
    latent = rng.standard_normal((200, 6))
    acts = [np.abs(latent @ rng.standard_normal((6, 12)) + 0.1 * rng.standard_normal((200, 12))) for _ in range(3)]
    labels = rng.integers(0, 3, 200)
    preds = rng.integers(0, 3, (3, 200))
    return acts, preds, labels


def test_bundle_matches_build_interaction_and_rows_are_aligned(tmp_path, members):
    acts, preds, labels = members
    paths = write_members(tmp_path, acts, preds, labels, shuffle=True)  # rows in another order per file
    ens = read_ensemble(paths)
    assert np.array_equal(ens.labels, labels) and np.array_equal(ens.predictions, preds)
    assert np.allclose(ens.activations[1], acts[1], atol=1e-6)
    info = build_variant(paths, tmp_path / "out", {**SETTINGS, "k": 5}, log=lambda s: None)
    ref = build_interaction([x.astype(np.float32).astype(np.float64) for x in acts], k=5)
    t = Tensor(tmp_path / "out")
    assert (t.M, t.N, t.T) == (3, 200, ref.T) and info["K"] == 5
    assert np.array_equal(t.clusters, ref.clusters)
    assert t.triplets.equals(ref.omega.astype(t.triplets.dtypes.to_dict()).reset_index(drop=True))
    assert json.loads((tmp_path / "out/tensor.json").read_text())["gamma_corr"] == pytest.approx(ref.gamma_corr)


def test_k_is_clipped_to_the_layer_width(tmp_path, members):
    acts, preds, labels = members  # 12 channels, full rank
    info = build_variant(write_members(tmp_path, acts, preds, labels), tmp_path / "a", SETTINGS,
                         log=lambda s: None)
    assert info["K_asked"] == 50 and info["K"] == 12
    assert Tensor(tmp_path / "a").clusters.shape == (3, 12)


def test_k_falls_to_the_smallest_rank_among_members(tmp_path, members):
    acts, preds, labels = members
    rng = np.random.default_rng(5)
    acts = list(acts)
    acts[2] = rng.standard_normal((200, 4)) @ rng.standard_normal((4, 12))  # 12 channels, rank 4
    logs = []
    info = build_variant(write_members(tmp_path, acts, preds, labels), tmp_path / "b", SETTINGS, log=logs.append)
    assert info["K"] == 4 and any("lowering K to 4" in s for s in logs)


def test_read_ensemble_names_a_file_of_other_points_or_labels(tmp_path, members):
    acts, preds, labels = members
    paths = write_members(tmp_path, acts, preds, labels)
    other = tmp_path / "other.parquet"
    write_activations(other, index=np.arange(1, 201), label=labels, prediction=preds[0],
                      logits=np.zeros((200, 3)), activation=acts[0], metadata={})
    with pytest.raises(ValueError, match="other.parquet holds other points"):
        read_ensemble([paths[0], other])
    relabelled = tmp_path / "relabelled.parquet"
    write_activations(relabelled, index=np.arange(200), label=(labels + 1) % 3, prediction=preds[0],
                      logits=np.zeros((200, 3)), activation=acts[0], metadata={})
    with pytest.raises(ValueError, match="relabelled.parquet labels its points differently"):
        read_ensemble([paths[0], relabelled])
