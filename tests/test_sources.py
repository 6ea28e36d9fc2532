"""Tests of featurelab.data.sources: fetching, verification and the raw-file parsers.

Everything runs offline: the real-data test uses Debian's ``dataset-fashion-mnist``
package (skipped when absent); the other parsers run on tiny fake archives whose
checksums are patched into the module's tables; downloads go to a fake urlopen.
"""
from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import pickle
import shutil
import tarfile
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from featurelab.data import sources
from featurelab.data.prepared import load_split
from featurelab.data.sources import ChecksumError, FetchError

DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")
FASHION_NAMES = [s.name for s in sources.RAW_FILES["fashion_mnist"]]


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def assert_empty(out_dir: Path) -> None:
    assert not out_dir.exists() or not any(out_dir.iterdir()), list(out_dir.iterdir())


def patch_raw(monkeypatch, dataset: str, **md5s: str) -> None:
    """Replace the archive md5 of the named raw files of ``dataset``."""
    specs = tuple(dataclasses.replace(s, md5=md5s.get(s.name, s.md5))
                  for s in sources.RAW_FILES[dataset])
    monkeypatch.setitem(sources.RAW_FILES, dataset, specs)


needs_debian = pytest.mark.skipif(
    not all((DEBIAN_FASHION / n).is_file() for n in FASHION_NAMES),
    reason=f"Debian's dataset-fashion-mnist is not installed ({DEBIAN_FASHION} absent)")


# ---------------------------------------------------------------- checksum tables

def test_checksum_tables_are_well_formed():
    for specs in sources.RAW_FILES.values():
        for s in specs:
            assert len(s.md5) == 32 and int(s.md5, 16) >= 0
            assert s.url.endswith("/" + s.name)
    for h in sources.CIFAR10_MEMBER_MD5.values():
        assert len(h) == 32 and int(h, 16) >= 0
    # the published Fashion-MNIST t10k-labels archive checksum (Zalando README, torchvision)
    assert sources._spec("fashion_mnist", "t10k-labels-idx1-ubyte.gz").md5 == \
        "bb300cfdad3c16e7a12a480ee83cd310"


# ---------------------------------------------------------------- Fashion-MNIST, real files

@needs_debian
def test_fashion_mnist_debian_mirror(tmp_path):
    messages: list[str] = []
    raw = tmp_path / "raw"
    files = sources.fetch("fashion_mnist", raw, mirror=DEBIAN_FASHION, progress=messages.append)
    assert sorted(files) == sorted(FASHION_NAMES)
    for name, path in files.items():
        assert path == raw / name and path.is_file()
        # Debian's bytes differ from the published archive: accepted by content
        assert sources.verify_file(path, sources._spec("fashion_mnist", name)) == "content"
    assert sum("copied from mirror" in m for m in messages) == 4

    out = tmp_path / "prepared"
    paths = sources.prepare("fashion_mnist", files, out)
    assert paths == {"train": out / "train.npz", "test": out / "test.npz"}
    train, test = load_split(paths["train"]), load_split(paths["test"])
    assert train.images.shape == (60000, 32, 32, 1) and train.images.dtype == np.uint8
    assert test.images.shape == (10000, 32, 32, 1)
    assert train.classes == sources.FASHION_MNIST_CLASSES
    for split in (train, test):
        assert split.labels.min() == 0 and split.labels.max() == 9
        # zero padding of 2 pixels on every side
        assert not split.images[:, :2].any() and not split.images[:, -2:].any()
        assert not split.images[:, :, :2].any() and not split.images[:, :, -2:].any()
    np.testing.assert_array_equal(np.bincount(train.labels), [6000] * 10)
    np.testing.assert_array_equal(np.bincount(test.labels), [1000] * 10)

    # a second fetch reuses the verified copies; pad_to=None keeps 28x28
    messages.clear()
    sources.fetch("fashion_mnist", raw, mirror=DEBIAN_FASHION, progress=messages.append)
    assert sum("verified copy" in m for m in messages) == 4
    sources.prepare("fashion_mnist", raw, tmp_path / "p28", pad_to=None)
    assert load_split(tmp_path / "p28" / "test.npz").images.shape == (10000, 28, 28, 1)


@needs_debian
def test_fashion_mnist_corrupted_gz_refused(tmp_path):
    raw = tmp_path / "raw"
    shutil.copytree(DEBIAN_FASHION, raw)
    victim = raw / "t10k-labels-idx1-ubyte.gz"
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0xFF
    victim.write_bytes(bytes(data))
    out = tmp_path / "prepared"
    with pytest.raises(ChecksumError) as e:
        sources.prepare("fashion_mnist", raw, out)
    msg = str(e.value)
    assert str(victim) in msg and md5(bytes(data)) in msg
    assert "bb300cfdad3c16e7a12a480ee83cd310" in msg and "15d484375f8d13e6eb1aabb0c3f46965" in msg
    assert_empty(out)
    # the same refusal when the corrupted copy is in a mirror: nothing copied
    dest = tmp_path / "dest"
    with pytest.raises(ChecksumError, match="t10k-labels-idx1-ubyte.gz"):
        sources.fetch("fashion_mnist", dest, mirror=raw, progress=lambda m: None)
    assert not (dest / victim.name).exists()


# ---------------------------------------------------------------- Fashion-MNIST, fake files

def idx_gz(array: np.ndarray, magic: int) -> bytes:
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return gzip.compress(header + array.astype(np.uint8).tobytes())


def test_fashion_mnist_fake_gz_refused_without_debian(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 6), ("t10k", 4)):
        (raw / f"{prefix}-images-idx3-ubyte.gz").write_bytes(
            idx_gz(rng.integers(0, 256, (n, 28, 28)), 0x803))
        (raw / f"{prefix}-labels-idx1-ubyte.gz").write_bytes(
            idx_gz(rng.integers(0, 10, (n,)), 0x801))
    out = tmp_path / "out"
    with pytest.raises(ChecksumError) as e:
        sources.prepare("fashion_mnist", raw, out)
    assert "-idx" in str(e.value) and "8d4fb7e6c68d591d4c3dfef9ec88bf0d" in str(e.value)
    assert_empty(out)


def test_fashion_mnist_parser_on_patched_checksums(tmp_path, monkeypatch):
    raw = tmp_path / "raw"
    raw.mkdir()
    rng = np.random.default_rng(1)
    arrays = {}
    md5s = {}
    for prefix, n in (("train", 6), ("t10k", 4)):
        imgs, labs = rng.integers(0, 256, (n, 28, 28)), rng.integers(0, 10, (n,))
        arrays[prefix] = (imgs, labs)
        for kind, arr, magic in (("images-idx3", imgs, 0x803), ("labels-idx1", labs, 0x801)):
            name = f"{prefix}-{kind}-ubyte.gz"
            data = idx_gz(arr, magic)
            (raw / name).write_bytes(data)
            md5s[name] = md5(data)
    patch_raw(monkeypatch, "fashion_mnist", **md5s)
    sources.prepare("fashion_mnist", raw, tmp_path / "out", pad_to=30)
    train = load_split(tmp_path / "out" / "train.npz")
    assert train.images.shape == (6, 30, 30, 1)
    np.testing.assert_array_equal(train.images[:, 1:29, 1:29, 0], arrays["train"][0])
    np.testing.assert_array_equal(train.labels, arrays["train"][1])
    # a wrong magic number is caught even when the checksum is "known"
    bad = gzip.compress((0x999).to_bytes(4, "big") + gzip.decompress(
        (raw / "t10k-labels-idx1-ubyte.gz").read_bytes())[4:])
    (raw / "t10k-labels-idx1-ubyte.gz").write_bytes(bad)
    patch_raw(monkeypatch, "fashion_mnist", **{**md5s, "t10k-labels-idx1-ubyte.gz": md5(bad)})
    with pytest.raises(ValueError, match="magic"):
        sources.prepare("fashion_mnist", raw, tmp_path / "out2")
    assert_empty(tmp_path / "out2")


# ---------------------------------------------------------------- CIFAR-10

class _Evil:
    """A pickle payload that creates ``marker`` when unpickled."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def cifar_batch(images_nhwc: np.ndarray, labels: np.ndarray) -> bytes:
    data = images_nhwc.transpose(0, 3, 1, 2).reshape(len(images_nhwc), -1)
    return pickle.dumps({b"batch_label": b"fake", b"labels": [int(x) for x in labels],
                         b"data": data, b"filenames": [b"x.png"] * len(labels)}, protocol=2)


def build_cifar_tar(path: Path, members: dict[str, bytes]) -> None:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def fake_cifar(tmp_path: Path, n: int = 2):
    """A tiny CIFAR-10 tar (n images per batch); returns (raw dir, members, images, labels)."""
    rng = np.random.default_rng(2)
    raw = tmp_path / "raw"
    raw.mkdir(exist_ok=True)
    members, images, labels = {}, {}, {}
    for name in sources.CIFAR10_TRAIN_BATCHES + sources.CIFAR10_TEST_BATCHES:
        images[name] = rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
        labels[name] = rng.integers(0, 10, n)
        members[name] = cifar_batch(images[name], labels[name])
    names = [f"class{i}".encode() for i in range(10)]
    members["batches.meta"] = pickle.dumps(
        {b"label_names": names, b"num_cases_per_batch": n, b"num_vis": 3072}, protocol=2)
    build_cifar_tar(raw / sources.CIFAR10_ARCHIVE, members)
    return raw, members, images, labels


def test_cifar_parser_on_patched_member_checksums(tmp_path, monkeypatch):
    raw, members, images, labels = fake_cifar(tmp_path)
    for name, data in members.items():
        monkeypatch.setitem(sources.CIFAR10_MEMBER_MD5, name, md5(data))
    tar = raw / sources.CIFAR10_ARCHIVE
    # the archive md5 is not the published one, but every member matches: accepted
    assert sources.verify_file(tar, sources._spec("cifar10", sources.CIFAR10_ARCHIVE)) == "members"
    paths = sources.prepare("cifar10", raw, tmp_path / "out")
    train, test = load_split(paths["train"]), load_split(paths["test"])
    assert train.images.shape == (10, 32, 32, 3) and test.images.shape == (2, 32, 32, 3)
    assert train.classes == tuple(f"class{i}" for i in range(10))
    np.testing.assert_array_equal(
        train.images, np.concatenate([images[b] for b in sources.CIFAR10_TRAIN_BATCHES]))
    np.testing.assert_array_equal(
        train.labels, np.concatenate([labels[b] for b in sources.CIFAR10_TRAIN_BATCHES]))
    np.testing.assert_array_equal(test.images, images["test_batch"])
    # fetch from a mirror accepts it too
    files = sources.fetch("cifar10", tmp_path / "dest", mirror=raw, progress=lambda m: None)
    assert files[sources.CIFAR10_ARCHIVE].read_bytes() == tar.read_bytes()


def test_cifar_fake_tar_refused(tmp_path):
    raw, _, _, _ = fake_cifar(tmp_path)
    out = tmp_path / "out"
    with pytest.raises(ChecksumError) as e:
        sources.prepare("cifar10", raw, out)
    msg = str(e.value)
    assert sources.CIFAR10_ARCHIVE in msg and "c58f30108f718f92721af3b95e74349a" in msg
    assert md5((raw / sources.CIFAR10_ARCHIVE).read_bytes()) in msg
    assert_empty(out)
    # not a tar at all
    (raw / sources.CIFAR10_ARCHIVE).write_bytes(b"not a tar")
    with pytest.raises(ChecksumError, match="c58f30108f718f92721af3b95e74349a"):
        sources.prepare("cifar10", raw, out)
    assert_empty(out)


@pytest.mark.parametrize("archive_md5_patched", [False, True])
def test_cifar_never_unpickles_unverified_member(tmp_path, monkeypatch, archive_md5_patched):
    # the payload is live: unpickling it creates the marker
    control = tmp_path / "control"
    pickle.loads(pickle.dumps(_Evil(control))).close()
    assert control.exists()

    raw, members, _, _ = fake_cifar(tmp_path)
    marker = tmp_path / "pwned"
    members["data_batch_1"] = pickle.dumps(_Evil(marker))
    tar = raw / sources.CIFAR10_ARCHIVE
    build_cifar_tar(tar, members)
    # every other member is "known"; the malicious one keeps the real checksum
    for name, data in members.items():
        if name != "data_batch_1":
            monkeypatch.setitem(sources.CIFAR10_MEMBER_MD5, name, md5(data))
    if archive_md5_patched:  # even a "verified" archive does not excuse its members
        patch_raw(monkeypatch, "cifar10", **{sources.CIFAR10_ARCHIVE: md5(tar.read_bytes())})
    out = tmp_path / "out"
    with pytest.raises(ChecksumError) as e:
        sources.prepare("cifar10", raw, out)
    assert "data_batch_1" in str(e.value) and "c99cafc152244af753f735de768cd75f" in str(e.value)
    assert not marker.exists()
    assert_empty(out)


# ---------------------------------------------------------------- SVHN

def test_svhn_parser_on_patched_checksums(tmp_path, monkeypatch):
    import scipy.io

    rng = np.random.default_rng(3)
    raw = tmp_path / "raw"
    raw.mkdir()
    expected, md5s = {}, {}
    for name, n in (("train_32x32.mat", 5), ("test_32x32.mat", 3)):
        imgs = rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
        y = np.array([10, 1, 9, 10, 2][:n], dtype=np.uint8).reshape(n, 1)
        scipy.io.savemat(raw / name, {"X": imgs.transpose(1, 2, 3, 0), "y": y})
        expected[name] = (imgs, y.reshape(-1) % 10)
        md5s[name] = md5((raw / name).read_bytes())
    out = tmp_path / "out"
    with pytest.raises(ChecksumError, match="e26dedcc434d2e4c54c9b2d4a06d8373"):
        sources.prepare("svhn", raw, out)
    assert_empty(out)
    patch_raw(monkeypatch, "svhn", **md5s)
    sources.prepare("svhn", raw, out)
    train, test = load_split(out / "train.npz"), load_split(out / "test.npz")
    assert train.classes == tuple("0123456789")
    np.testing.assert_array_equal(train.images, expected["train_32x32.mat"][0])
    np.testing.assert_array_equal(train.labels, [0, 1, 9, 0, 2])
    np.testing.assert_array_equal(test.images, expected["test_32x32.mat"][0])
    np.testing.assert_array_equal(test.labels, [0, 1, 9])


# ---------------------------------------------------------------- folder

def make_tree(root: Path, layout: dict[str, dict[str, int]]) -> None:
    from PIL import Image

    rng = np.random.default_rng(4)
    for split, classes in layout.items():
        for cls, n in classes.items():
            d = root / split / cls
            d.mkdir(parents=True)
            for i in range(n):
                arr = rng.integers(0, 256, (20 + i, 40, 3), dtype=np.uint8)
                img = Image.fromarray(arr)
                if i % 3 == 1:
                    img.convert("L").save(d / f"img{i}.JPG")
                elif i % 3 == 2:
                    img.convert("RGBA").save(d / f"img{i}.bmp")
                else:
                    img.save(d / f"img{i}.png")


def test_prepare_folder(tmp_path):
    root = tmp_path / "imgs"
    make_tree(root, {"train": {"dog": 3, "cat": 2, "bird": 4}, "test": {"dog": 1, "bird": 2}})
    (root / "train" / "cat" / "notes.txt").write_text("ignored")
    paths = sources.prepare_folder(root, tmp_path / "out")
    train, test = load_split(paths["train"]), load_split(paths["test"])
    assert train.classes == ("bird", "cat", "dog") and test.classes == train.classes
    assert train.images.shape == (9, 32, 32, 3) and test.images.shape == (3, 32, 32, 3)
    np.testing.assert_array_equal(train.labels, [0] * 4 + [1] * 2 + [2] * 3)
    np.testing.assert_array_equal(test.labels, [0, 0, 2])
    # through the entry point, another size
    paths = sources.prepare_dataset("folder", tmp_path / "out16", tmp_path / "raw",
                                    folder_root=root, image_size=16)
    assert load_split(paths["train"]).images.shape == (9, 16, 16, 3)


def test_prepare_folder_errors(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(FileNotFoundError, match="train"):
        sources.prepare_folder(tmp_path / "nothing", out)

    root = tmp_path / "a"
    make_tree(root, {"train": {"cat": 1, "dog": 1}, "test": {"cat": 1, "fox": 1}})
    with pytest.raises(ValueError, match="fox"):
        sources.prepare_folder(root, out)

    root = tmp_path / "b"
    make_tree(root, {"train": {"cat": 1}, "test": {"cat": 1}})
    (root / "train" / "dog").mkdir()
    with pytest.raises(ValueError, match="dog"):
        sources.prepare_folder(root, out)

    root = tmp_path / "c"
    make_tree(root, {"train": {"cat": 2}, "test": {"cat": 1}})
    broken = root / "train" / "cat" / "broken.png"
    broken.write_bytes(b"this is no png")
    with pytest.raises(ValueError, match="broken.png"):
        sources.prepare_folder(root, out)
    assert_empty(out)


# ---------------------------------------------------------------- downloads and dispatch

class FakeResponse(io.BytesIO):
    def __init__(self, data: bytes):
        super().__init__(data)
        self.headers = {"Content-Length": str(len(data))}


def test_no_mirror_no_network(tmp_path, monkeypatch):
    def refuse(url, *a, **k):
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    for kwargs in ({}, {"mirror": mirror}):
        with pytest.raises(FetchError) as e:
            sources.prepare_dataset("svhn", tmp_path / "out", tmp_path / "raw",
                                    progress=lambda m: None, **kwargs)
        msg = str(e.value)
        assert "data.mirror" in msg and "http://ufldl.stanford.edu/housenumbers/train_32x32.mat" in msg
    assert not list((tmp_path / "raw").iterdir())
    assert_empty(tmp_path / "out")
    with pytest.raises(FileNotFoundError, match="data.mirror"):
        sources.fetch("svhn", tmp_path / "raw", mirror=tmp_path / "absent")


def test_download_verified_and_bad_download_deleted(tmp_path, monkeypatch):
    payload = bytes(range(256)) * 4000
    monkeypatch.setattr(urllib.request, "urlopen", lambda url, **k: FakeResponse(payload))
    patch_raw(monkeypatch, "cifar10", **{sources.CIFAR10_ARCHIVE: md5(payload)})
    messages: list[str] = []
    monkeypatch.setattr(sources, "_CHUNK", 50_000)
    files = sources.fetch("cifar10", tmp_path / "raw", progress=messages.append)
    assert files[sources.CIFAR10_ARCHIVE].read_bytes() == payload
    assert 8 <= sum("%" in m for m in messages) <= 11
    assert [p.name for p in (tmp_path / "raw").iterdir()] == [sources.CIFAR10_ARCHIVE]

    monkeypatch.setattr(urllib.request, "urlopen", lambda url, **k: FakeResponse(b"garbage"))
    with pytest.raises(ChecksumError) as e:
        sources.fetch("svhn", tmp_path / "raw2", progress=lambda m: None)
    assert "train_32x32.mat" in str(e.value) and "e26dedcc434d2e4c54c9b2d4a06d8373" in str(e.value)
    assert not list((tmp_path / "raw2").iterdir())


def test_unknown_dataset_and_missing_folder_root(tmp_path):
    with pytest.raises(ValueError) as e:
        sources.prepare_dataset("imagenet", tmp_path / "out", tmp_path / "raw")
    for name in ("cifar10", "svhn", "fashion_mnist", "folder"):
        assert name in str(e.value)
    with pytest.raises(ValueError, match="folder_root"):
        sources.prepare_dataset("folder", tmp_path / "out", tmp_path / "raw")
