"""Small copies of the public datasets in their real on-disk formats, drawn from the synthetic world.

The smoke runs (``smoke: true``, :mod:`featurelab.plan.smoke`) and the tests run a preset's
whole DAG offline, through the same download and preparation rules as a real run: these
writers put files of the canonical names and formats where the rules expect them, filled
with images of a synthetic world (:mod:`featurelab.data.synthetic`, 32 px, 10 classes):

* CIFAR-10: ``cifar-10-python.tar.gz``, the python version's layout:
  ``cifar-10-batches-py/data_batch_1`` .. ``data_batch_5``, ``test_batch`` (pickled dicts
  with ``data``, an (n, 3072) uint8 array of the R, G, B planes, and ``labels``) and
  ``batches.meta`` (``label_names``);
* SVHN: ``train_32x32.mat`` and ``test_32x32.mat``, ``X`` (32, 32, 3, N) uint8 and ``y``
  (N, 1) with labels 1..10, 10 meaning the digit 0;
* Fashion-MNIST (MNIST's format): the four IDX files, gzipped: images (magic 0x803) of
  28×28 greyscale (the world's images, cropped and turned to grey), labels (magic 0x801).

Their checksums are of course none of the published ones: :func:`write_checksums` writes
the checksum file (``<sha256>  <file name>`` lines, as ``sha256sum`` prints them) that the
config key ``data.checksums`` names, the one route by which
:mod:`featurelab.data.sources` accepts a file it does not know; nothing unverified is ever
unpickled. :func:`write_fakes` does all of it for a working directory.
"""
from __future__ import annotations

import gzip
import hashlib
import io
import os
import pickle
import tarfile
from pathlib import Path

import numpy as np

from .sources import CIFAR10_CLASSES, RAW_FILES

__all__ = ["FAKE_DATASETS", "write_cifar10", "write_svhn", "write_fashion_mnist", "write_checksums", "write_fakes"]

#: The datasets :func:`write_fakes` can write.
FAKE_DATASETS = ("cifar10", "svhn", "fashion_mnist")


def _images(n_train: int, n_test: int, seed: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{split: (uint8 NHWC 32×32×3, int64 labels 0-9)}`` of a 10-class synthetic world."""
    from .synthetic import WorldConfig, generate_split

    cfg = WorldConfig(num_classes=10, image_size=32, n_train=n_train, n_test=n_test, seed=seed)
    return {split: generate_split(cfg, split)[:2] for split in ("train", "test")}


def _tar_add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = 0
    tar.addfile(info, io.BytesIO(data))


def write_cifar10(dest: str | os.PathLike, n_train: int = 300, n_test: int = 300, seed: int = 0) -> Path:
    """``dest/cifar-10-python.tar.gz``: ``n_train`` images in five training batches (the last
    takes the rest), ``n_test`` in ``test_batch``."""
    splits = _images(n_train, n_test, seed)
    path = Path(dest) / "cifar-10-python.tar.gz"
    path.parent.mkdir(parents=True, exist_ok=True)

    def batch(x: np.ndarray, y: np.ndarray, label: str) -> bytes:
        data = np.ascontiguousarray(x.transpose(0, 3, 1, 2).reshape(len(x), -1), dtype=np.uint8)
        return pickle.dumps({b"batch_label": label.encode(), b"labels": [int(v) for v in y], b"data": data,
                             b"filenames": [f"fake_{i:05d}.png".encode() for i in range(len(x))]}, protocol=2)

    x, y = splits["train"]
    cuts = np.array_split(np.arange(len(x)), 5)
    with tarfile.open(path, "w:gz") as tar:
        for i, idx in enumerate(cuts, start=1):
            _tar_add(tar, f"cifar-10-batches-py/data_batch_{i}", batch(x[idx], y[idx], f"training batch {i} of 5"))
        _tar_add(tar, "cifar-10-batches-py/test_batch", batch(*splits["test"], "testing batch 1 of 1"))
        meta = {b"num_cases_per_batch": len(cuts[0]), b"label_names": [c.encode() for c in CIFAR10_CLASSES],
                b"num_vis": 3072}
        _tar_add(tar, "cifar-10-batches-py/batches.meta", pickle.dumps(meta, protocol=2))
    return path


def write_svhn(dest: str | os.PathLike, n_train: int = 300, n_test: int = 300, seed: int = 0) -> list[Path]:
    """``dest/train_32x32.mat`` and ``dest/test_32x32.mat`` (MATLAB 5 files, as scipy reads the real ones)."""
    import scipy.io

    splits = _images(n_train, n_test, seed)
    Path(dest).mkdir(parents=True, exist_ok=True)
    out = []
    for split, (x, y) in splits.items():
        labels = np.where(y == 0, 10, y).astype(np.uint8).reshape(-1, 1)
        path = Path(dest) / f"{split}_32x32.mat"
        scipy.io.savemat(path, {"X": np.ascontiguousarray(x.transpose(1, 2, 3, 0)), "y": labels})
        out.append(path)
    return out


def _idx(array: np.ndarray, magic: int) -> bytes:
    header = magic.to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def write_fashion_mnist(dest: str | os.PathLike, n_train: int = 300, n_test: int = 300, seed: int = 0) -> list[Path]:
    """The four gzipped IDX files: 28×28 greyscale images (the world's 32-px images, centre-cropped)."""
    splits = _images(n_train, n_test, seed)
    Path(dest).mkdir(parents=True, exist_ok=True)
    out = []
    for split, prefix in (("train", "train"), ("test", "t10k")):
        x, y = splits[split]
        grey = x[:, 2:30, 2:30, :].astype(np.float64) @ np.array([0.299, 0.587, 0.114])
        for kind, data, magic in (("images-idx3", np.clip(grey.round(), 0, 255).astype(np.uint8), 0x803),
                                  ("labels-idx1", y.astype(np.uint8), 0x801)):
            path = Path(dest) / f"{prefix}-{kind}-ubyte.gz"
            with open(path, "wb") as fh, gzip.GzipFile(fileobj=fh, mode="wb", mtime=0) as gz:
                gz.write(_idx(data, magic))
            out.append(path)
    return out


def write_checksums(files: list[str | os.PathLike], path: str | os.PathLike, algorithm: str = "sha256") -> Path:
    """A checksum file for ``data.checksums``: ``<hex digest>  <file name>`` per file, as
    ``sha256sum`` (or ``md5sum``) prints it."""
    lines = []
    for f in files:
        h = hashlib.new(algorithm)
        h.update(Path(f).read_bytes())
        lines.append(f"{h.hexdigest()}  {Path(f).name}\n")
    path = Path(path)
    path.write_text("# small real-format copies written by featurelab.data.fakes\n" + "".join(lines))
    return path


def write_fakes(workdir: str | os.PathLike, datasets: tuple[str, ...] = FAKE_DATASETS, n_train: int = 300,
                n_test: int = 300, seed: int = 0) -> Path:
    """Write each dataset's fake files where the download rules leave the real ones
    (``<workdir>/resources/downloads/<dataset>/``) and their checksum file
    ``<workdir>/fake-checksums.sha256``; return the checksum file (``data.checksums``)."""
    writers = {"cifar10": write_cifar10, "svhn": write_svhn, "fashion_mnist": write_fashion_mnist}
    files = []
    for ds in datasets:
        if ds not in writers:
            raise ValueError(f"no fake writer for {ds!r}; fakes exist for {', '.join(FAKE_DATASETS)}")
        dest = Path(workdir) / "resources" / "downloads" / ds
        writers[ds](dest, n_train=n_train, n_test=n_test, seed=seed)
        files += [dest / raw.name for raw in RAW_FILES[ds]]
    return write_checksums(files, Path(workdir) / "fake-checksums.sha256")
