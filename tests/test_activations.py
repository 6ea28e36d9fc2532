"""The activation Parquet files: their schema, readable by pandas, pyarrow and DuckDB."""
import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from conftest import world_splits

from featurelab.activations import read_activations, read_metadata, write_activations
from featurelab.extract import extract_member
from featurelab.training import Recipe, load_member, to_input, train_member

N, C, D = 37, 5, 12


@pytest.fixture
def parquet_file(tmp_path):
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((N, C)).astype(np.float32)
    acts = rng.standard_normal((N, D)).astype(np.float32)
    path = tmp_path / "a.parquet"
    write_activations(path, index=np.arange(N), label=rng.integers(0, C, N), prediction=logits.argmax(1),
                      logits=logits, activation=acts, metadata={"arch": "resnet18", "layer": "penultimate"})
    return path, logits, acts


def test_schema(parquet_file):
    path, _, _ = parquet_file
    schema = pq.read_schema(path)
    assert schema.names == ["index", "label", "prediction", "logits", "activation"]
    assert schema.field("index").type == pa.int64() and schema.field("prediction").type == pa.int64()
    assert schema.field("logits").type == pa.list_(pa.float32(), C)
    assert schema.field("activation").type == pa.list_(pa.float32(), D)
    assert json.loads(schema.metadata[b"featurelab"])["layer"] == "penultimate"
    assert read_metadata(path)["arch"] == "resnet18"


def test_round_trip_and_pandas(parquet_file):
    path, logits, acts = parquet_file
    a = read_activations(path)
    assert np.array_equal(a.activation, acts) and a.activation.dtype == np.float32
    assert np.array_equal(a.logits, logits)
    df = pd.read_parquet(path)
    assert len(df) == N and np.allclose(np.stack(df["activation"].to_numpy()), acts)


def test_duckdb_reads_it(parquet_file):
    duckdb = pytest.importorskip("duckdb")
    path, _, acts = parquet_file
    con = duckdb.connect()
    n, dim = con.execute(f"SELECT count(*), max(len(activation)) FROM '{path}'").fetchone()
    assert (n, dim) == (N, D)
    first = con.execute(f"SELECT activation FROM '{path}' WHERE index = 3").fetchone()[0]
    assert np.allclose(first, acts[3])


def test_rows_must_agree(tmp_path):
    with pytest.raises(ValueError, match="label has 2 rows"):
        write_activations(tmp_path / "x.parquet", index=np.arange(3), label=np.zeros(2), prediction=np.zeros(3),
                          logits=np.zeros((3, 2)), activation=np.zeros((3, 2)), metadata={})
    assert not list(tmp_path.iterdir())


def test_extract_member_matches_the_model(tmp_path):
    train, test = world_splits(n_train=64, n_test=50, num_classes=3, seed=2)
    train_member(train, arch="resnet18", width=1 / 16, seed=0, recipe=Recipe(max_epochs=1, batch_size=16),
                 out_path=tmp_path / "m.pt", state_path=tmp_path / "s.pt", device="cpu", log=lambda s: None)
    outs = {"penultimate": tmp_path / "pen.parquet", "block2": tmp_path / "b2.parquet"}
    extract_member(tmp_path / "m.pt", test, "test", outs, device="cpu", batch_size=16,
                   meta={"ensemble": "e", "member": 0}, log=lambda s: None)
    model, payload = load_member(tmp_path / "m.pt")
    with torch.no_grad():
        logits = model(to_input(test.images, payload["mean"], payload["std"], torch.device("cpu"))).numpy()
    pen = read_activations(outs["penultimate"])
    assert np.allclose(pen.logits, logits, atol=1e-5)
    assert np.array_equal(pen.prediction, logits.argmax(1)) and np.array_equal(pen.label, test.labels)
    assert pen.activation.shape == (50, model.feature_dim)
    # logits are the final linear layer applied to the penultimate activations
    w, b = model.linear.weight.detach().numpy(), model.linear.bias.detach().numpy()
    assert np.allclose(pen.activation @ w.T + b, logits, atol=1e-4)
    b2 = read_activations(outs["block2"])
    assert b2.activation.shape == (50, 8) and b2.metadata["layer"] == "block2"
    assert pen.metadata["split"] == "test" and pen.metadata["ensemble"] == "e"
