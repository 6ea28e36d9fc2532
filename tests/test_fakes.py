"""The real-format fakes (featurelab.data.fakes) and the user's checksum file (data.checksums):
every fake parses through the real preparation route once its checksum is listed, a file
matching neither a published nor a listed checksum is refused before anything is parsed, and
the config refuses a missing or malformed checksum file before any job."""
from __future__ import annotations

import gzip
import hashlib
import pickle
import tarfile

import numpy as np
import pytest
import scipy.io
import yaml

from featurelab.config import ConfigError, validate_config
from featurelab.data import fakes, sources
from featurelab.data.prepared import load_split
from featurelab.data.sources import ChecksumError


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_cifar10_fake_has_the_python_layout(tmp_path):
    path = fakes.write_cifar10(tmp_path, n_train=52, n_test=20)
    with tarfile.open(path) as tar:
        names = sorted(tar.getnames())
        batch = pickle.loads(tar.extractfile("cifar-10-batches-py/data_batch_5").read(), encoding="bytes")
        meta = pickle.loads(tar.extractfile("cifar-10-batches-py/batches.meta").read(), encoding="bytes")
    assert names == sorted([f"cifar-10-batches-py/data_batch_{i}" for i in range(1, 6)]
                           + ["cifar-10-batches-py/test_batch", "cifar-10-batches-py/batches.meta"])
    assert batch[b"data"].dtype == np.uint8 and batch[b"data"].shape == (10, 3072) and len(batch[b"labels"]) == 10
    assert meta[b"label_names"][0] == b"airplane"


def test_svhn_fake_has_the_mat_layout(tmp_path):
    train, test = fakes.write_svhn(tmp_path, n_train=30, n_test=20)
    mat = scipy.io.loadmat(train)
    assert mat["X"].shape == (32, 32, 3, 30) and mat["X"].dtype == np.uint8
    assert mat["y"].shape == (30, 1) and set(np.unique(mat["y"])) <= set(range(1, 11))
    assert 0 not in mat["y"]  # digit 0 is written as 10


def test_fashion_mnist_fake_has_the_idx_layout(tmp_path):
    files = fakes.write_fashion_mnist(tmp_path, n_train=30, n_test=20)
    content = gzip.decompress(files[0].read_bytes())
    assert files[0].name == "train-images-idx3-ubyte.gz"
    assert int.from_bytes(content[:4], "big") == 0x803
    assert [int.from_bytes(content[4 * i: 4 * i + 4], "big") for i in (1, 2, 3)] == [30, 28, 28]
    assert len(content) == 16 + 30 * 28 * 28


@pytest.mark.parametrize("dataset", fakes.FAKE_DATASETS)
def test_fakes_prepare_through_the_user_checksums(tmp_path, dataset):
    checksums = fakes.write_fakes(tmp_path, (dataset,), n_train=40, n_test=30)
    raw = tmp_path / "resources/downloads" / dataset
    out = tmp_path / "prepared"
    sources.prepare_dataset(dataset, out, raw_dir=raw, checksums=checksums, progress=lambda m: None)
    train, test = load_split(out / "train.npz"), load_split(out / "test.npz")
    assert len(train.labels) == 40 and len(test.labels) == 30
    assert train.images.shape[1:3] == (32, 32) and set(np.unique(train.labels)) <= set(range(10))
    # the labels survive the format: the world's own, SVHN's 10 turned back into 0
    world = fakes._images(40, 30, 0)
    assert np.array_equal(train.labels, world["train"][1])


def test_checksum_file_format(tmp_path):
    f = tmp_path / "sums"
    md5 = "d41d8cd98f00b204e9800998ecf8427e"
    sha = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    f.write_text(f"# mine\n\n{md5}  train_32x32.mat\n{sha} *some/dir/test_32x32.mat\n{sha.upper()}  train_32x32.mat\n")
    got = sources.load_checksums(f)
    assert got == {"train_32x32.mat": (("md5", md5), ("sha256", sha)), "test_32x32.mat": (("sha256", sha),)}
    f.write_text("abc123  train_32x32.mat\n")
    with pytest.raises(ValueError, match=r"sums, line 1: expected '<md5 or sha256"):
        sources.load_checksums(f)
    with pytest.raises(FileNotFoundError, match="data.checksums"):
        sources.load_checksums(tmp_path / "absent")


def test_user_checksum_accepts_and_a_file_matching_neither_is_refused(tmp_path):
    (path,) = [fakes.write_cifar10(tmp_path / "raw", n_train=20, n_test=10)]
    spec = sources._spec("cifar10", sources.CIFAR10_ARCHIVE)
    # without the user's checksum: refused, nothing unpickled (the member check fails first)
    with pytest.raises(ChecksumError, match="refusing to unpickle"):
        sources.verify_file(path, spec)
    sums = fakes.write_checksums([path], tmp_path / "sums.sha256")
    assert sources.verify_file(path, spec, sums) == "user"
    md5_sums = fakes.write_checksums([path], tmp_path / "sums.md5", algorithm="md5")
    assert sources.verify_file(path, spec, md5_sums) == "user"
    # another file of that name: refused, the message names the file, what was found and both expectations
    other = tmp_path / "other" / sources.CIFAR10_ARCHIVE
    fakes.write_cifar10(other.parent, n_train=20, n_test=10, seed=1)
    with pytest.raises(ChecksumError) as err:
        sources.verify_file(other, spec, sums)
    msg = str(err.value)
    assert str(other) in msg and sha256(other) in msg and sha256(path) in msg and spec.md5 in msg
    assert "data.checksums" in msg
    out = tmp_path / "out"
    with pytest.raises(ChecksumError):
        sources.prepare("cifar10", other.parent, out, checksums=sums)
    assert not out.exists()


@pytest.mark.parametrize("dataset", ["svhn", "fashion_mnist"])
def test_refused_without_their_checksums(tmp_path, dataset):
    fakes.write_fakes(tmp_path, (dataset,), n_train=20, n_test=10)
    raw = tmp_path / "resources/downloads" / dataset
    first = raw / sources.RAW_FILES[dataset][0].name
    other = tmp_path / "sums"
    other.write_text(f"{'0' * 64}  {first.name}\n")
    for sums in (None, other):
        with pytest.raises(ChecksumError, match=rf"checksum mismatch for {first}.*found md5 [0-9a-f]{{32}}"):
            sources.prepare(dataset, raw, tmp_path / "out", checksums=sums)
    assert not (tmp_path / "out").exists()


def test_config_refuses_a_bad_checksum_file(tmp_path, repo_root):
    def config(path):
        cfg = yaml.safe_load((repo_root / "config.yaml").read_text())
        cfg["data"]["checksums"] = str(path)
        return cfg

    with pytest.raises(ConfigError, match=r"data.checksums: the checksum file .*absent.* does not exist"):
        validate_config(config(tmp_path / "absent"))
    bad = tmp_path / "bad"
    bad.write_text("not a checksum line\n")
    with pytest.raises(ConfigError, match=r"data.checksums: .*bad, line 1"):
        validate_config(config(bad))
    sums = fakes.write_checksums([bad], tmp_path / "good")
    assert validate_config(config(sums))["data"]["checksums"] == str(sums)
