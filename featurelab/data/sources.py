"""Raw dataset files -> prepared splits.

Four sources are supported:

* ``cifar10``: ``cifar-10-python.tar.gz`` (the python pickled batches);
* ``svhn``: ``train_32x32.mat`` and ``test_32x32.mat`` (cropped digits);
* ``fashion_mnist``: the four idx ``.gz`` files;
* ``folder``: the user's own images, ``root/{train,test}/<class>/<image>``.

Obtaining the files (:func:`fetch`) tries, per file: a verified copy already
in the destination directory, then a local *mirror* directory (config key
``data.mirror``; the same file names, flat), then the canonical URL. Every
file is verified before use. A file is accepted when its MD5 equals the
published archive checksum or, for ``.gz`` files, when the MD5 (and size) of
its decompressed content is the known one: Debian's ``dataset-fashion-mnist``
package re-compressed the Fashion-MNIST archives, so their bytes differ from
the published ones while their content is identical. For the CIFAR-10 tar an
archive whose own MD5 differs is accepted when every batch member matches its
known MD5 (the checksums torchvision lists).

CIFAR-10 batches are pickles. They are never unpickled before their bytes have
been checked: :func:`prepare` reads every member's bytes out of the tar (no
extraction), checks all their MD5s, and only then calls ``pickle.loads``.

:func:`prepare` / :func:`prepare_folder` write ``out_dir/train.npz`` and
``out_dir/test.npz`` with :func:`featurelab.data.prepared.save_split`. Every
input is read and verified before the first split is written, so a refused
file leaves nothing in ``out_dir``. :func:`prepare_dataset` is the single
entry point used by the workflow.

The checksum tables (:data:`RAW_FILES`, :data:`CIFAR10_MEMBER_MD5`) hold the
published checksums. Besides them, a file is accepted when it matches a
checksum the user vouches for in a checksum file (config key
``data.checksums``, :func:`load_checksums`): ``<hex digest>  <file name>``
lines as ``md5sum`` or ``sha256sum`` print them. It serves verified mirrors of
one's own and the small real-format copies of :mod:`featurelab.data.fakes`; a
file matching neither is refused, and a CIFAR-10 archive accepted by a listed
checksum is read from the very bytes that were hashed before any member is
unpickled.
"""
from __future__ import annotations

import gzip
import hashlib
import http.client
import io
import os
import pickle
import shutil
import tarfile
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from featurelab.data.prepared import save_split

__all__ = [
    "ChecksumError",
    "FetchError",
    "RawFile",
    "RAW_FILES",
    "CIFAR10_ARCHIVE",
    "CIFAR10_MEMBER_MD5",
    "CIFAR10_CLASSES",
    "SVHN_CLASSES",
    "FASHION_MNIST_CLASSES",
    "DATASETS",
    "IMAGE_EXTENSIONS",
    "md5_file",
    "load_checksums",
    "verify_file",
    "fetch",
    "prepare",
    "prepare_folder",
    "prepare_dataset",
]

Progress = Callable[[str], object]


class ChecksumError(ValueError):
    """A file's checksum is none of the known ones; the file must not be used."""


class FetchError(RuntimeError):
    """A required file could not be obtained (no mirror copy, download failed)."""


@dataclass(frozen=True)
class RawFile:
    """One canonical raw file of a dataset.

    ``md5`` is the checksum of the published file. For ``.gz`` files
    ``content_md5``/``content_size`` optionally give the MD5 and byte size of
    the decompressed content, accepted as an alternative (re-compressed copies).
    """

    name: str
    url: str
    md5: str
    content_md5: str | None = None
    content_size: int | None = None


# --------------------------------------------------------------------------
# Checksum tables (torchvision's datasets/{cifar,svhn,mnist}.py)
# --------------------------------------------------------------------------

#: Name of the CIFAR-10 python archive.
CIFAR10_ARCHIVE = "cifar-10-python.tar.gz"

#: MD5 of each member of the CIFAR-10 tar (by base name; they live under
#: ``cifar-10-batches-py/``).
CIFAR10_MEMBER_MD5: dict[str, str] = {
    "data_batch_1": "c99cafc152244af753f735de768cd75f",
    "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
    "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
    "data_batch_4": "634d18415352ddfa80567beed471001a",
    "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
    "test_batch": "40351d587109b95175f43aff81a1287e",
    "batches.meta": "5ff9c542aee3614f3951f8cda6e48888",
}
CIFAR10_TRAIN_BATCHES = ("data_batch_1", "data_batch_2", "data_batch_3",
                         "data_batch_4", "data_batch_5")
CIFAR10_TEST_BATCHES = ("test_batch",)
CIFAR10_META = "batches.meta"

CIFAR10_CLASSES: tuple[str, ...] = (
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
)
#: SVHN labels digit 0 as 10; prepared labels are the digits themselves.
SVHN_CLASSES: tuple[str, ...] = tuple(str(d) for d in range(10))
FASHION_MNIST_CLASSES: tuple[str, ...] = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)

_SVHN_URL = "http://ufldl.stanford.edu/housenumbers/"
_FASHION_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"

#: Canonical raw files of every downloadable dataset.
RAW_FILES: dict[str, tuple[RawFile, ...]] = {
    "cifar10": (
        RawFile(CIFAR10_ARCHIVE, "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
                "c58f30108f718f92721af3b95e74349a"),
    ),
    "svhn": (
        RawFile("train_32x32.mat", _SVHN_URL + "train_32x32.mat",
                "e26dedcc434d2e4c54c9b2d4a06d8373"),
        RawFile("test_32x32.mat", _SVHN_URL + "test_32x32.mat",
                "eb5a983be6a315427106f1b164d9cef3"),
    ),
    "fashion_mnist": (
        RawFile("train-images-idx3-ubyte.gz", _FASHION_URL + "train-images-idx3-ubyte.gz",
                "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                "f4a8712d7a061bf5bd6d2ca38dc4d50a", 47_040_016),
        RawFile("train-labels-idx1-ubyte.gz", _FASHION_URL + "train-labels-idx1-ubyte.gz",
                "25c81989df183df01b3e8a0aad5dffbe",
                "9018921c3c673c538a1fc5bad174d6f9", 60_008),
        RawFile("t10k-images-idx3-ubyte.gz", _FASHION_URL + "t10k-images-idx3-ubyte.gz",
                "bef4ecab320f06d8554ea6380940ec79",
                "8181f5470baa50b63fa0f6fddb340f0a", 7_840_016),
        RawFile("t10k-labels-idx1-ubyte.gz", _FASHION_URL + "t10k-labels-idx1-ubyte.gz",
                "bb300cfdad3c16e7a12a480ee83cd310",
                "15d484375f8d13e6eb1aabb0c3f46965", 10_008),
    ),
}

#: Every dataset name :func:`prepare_dataset` accepts.
DATASETS: tuple[str, ...] = ("cifar10", "svhn", "fashion_mnist", "folder")

#: Image file extensions read by :func:`prepare_folder` (case-insensitive).
IMAGE_EXTENSIONS: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".bmp", ".webp")

_CHUNK = 1 << 20
_MIRROR_HINT = ("Without internet access, copy the files into a directory and point the "
                "config key `data.mirror` at it (files are looked up flat: <mirror>/<file name>).")


# --------------------------------------------------------------------------
# Verification
# --------------------------------------------------------------------------

def md5_file(path: str | os.PathLike) -> str:
    """MD5 hex digest of a file, read in 1 MiB chunks."""
    h = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


#: The user's checksums: ``{file name: ((algorithm, hex digest), ...)}``.
Checksums = Mapping[str, tuple[tuple[str, str], ...]]
_ALGORITHMS = {32: "md5", 64: "sha256"}


def load_checksums(path: str | os.PathLike | None) -> dict[str, tuple[tuple[str, str], ...]]:
    """Read a checksum file (config key ``data.checksums``): one ``<hex digest>  <file name>``
    line per file, as ``md5sum``/``sha256sum`` print them (``*`` before a binary-mode name is
    dropped; only the name's last path component counts); 32 hex digits are an MD5, 64 a
    SHA-256; blank lines and lines starting with ``#`` are skipped. ``None``: no file, ``{}``.
    Raises ``FileNotFoundError`` or ``ValueError`` naming the file (and the line)."""
    if path is None:
        return {}
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"the checksum file {path} (config key `data.checksums`) does not exist")
    out: dict[str, list[tuple[str, str]]] = {}
    for no, line in enumerate(path.read_text().splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(None, 1)
        digest = parts[0].lower()
        if len(parts) != 2 or len(digest) not in _ALGORITHMS or any(c not in "0123456789abcdef" for c in digest):
            raise ValueError(f"{path}, line {no}: expected '<md5 or sha256 hex digest>  <file name>' "
                             f"(as md5sum or sha256sum print it), got {line!r}")
        name = parts[1].strip().lstrip("*").replace("\\", "/").rsplit("/", 1)[-1]
        out.setdefault(name, []).append((_ALGORITHMS[len(digest)], digest))
    return {k: tuple(v) for k, v in out.items()}


def _as_checksums(checksums: Checksums | str | os.PathLike | None) -> Checksums:
    if checksums is None or isinstance(checksums, Mapping):
        return checksums or {}
    return load_checksums(checksums)


def _digests(data: bytes | None, path: Path | None, algorithms: set[str]) -> dict[str, str]:
    """``{algorithm: hex digest}`` of ``data`` (or the file ``path``, read in chunks)."""
    hs = {a: hashlib.new(a) for a in algorithms}
    if data is not None:
        for h in hs.values():
            h.update(data)
    else:
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(_CHUNK), b""):
                for h in hs.values():
                    h.update(chunk)
    return {a: h.hexdigest() for a, h in hs.items()}


def _user_match(listed: tuple[tuple[str, str], ...], data: bytes | None = None,
                path: Path | None = None) -> tuple[bool, dict[str, str]]:
    """Whether ``data`` (or the file) matches one of the user's ``listed`` checksums; with
    the digests computed (for the error message)."""
    if not listed:
        return False, {}
    found = _digests(data, path, {a for a, _ in listed})
    return any(found[a] == d for a, d in listed), found


def _describe_user(name: str, listed: tuple[tuple[str, str], ...], found: dict[str, str]) -> tuple[str, str]:
    """(found, expected) phrases of the user's checksums of file ``name``."""
    if not listed:
        return "", ""
    got = ", ".join(f"{a} {d}" for a, d in sorted(found.items()) if a != "md5")
    want = " or ".join(f"{a} {d}" for a, d in listed)
    return (f", {got}" if got else ""), f"; or {want} (data.checksums, for {name})"


def _raw_files(dataset: str) -> tuple[RawFile, ...]:
    try:
        return RAW_FILES[dataset]
    except KeyError:
        raise ValueError(f"no raw files are known for dataset {dataset!r}; "
                         f"downloadable datasets: {', '.join(sorted(RAW_FILES))}") from None


def _spec(dataset: str, name: str) -> RawFile:
    for spec in _raw_files(dataset):
        if spec.name == name:
            return spec
    raise KeyError(f"{name!r} is not a raw file of {dataset!r}")


def _gunzip_verified(path: Path, spec: RawFile, checksums: Checksums | None = None) -> bytes:
    """Verify a ``.gz`` file (archive, content or user checksum); return its content.

    Decompression is bounded by the known content size, so a corrupt or
    hostile file cannot expand without limit.
    """
    raw = path.read_bytes()
    archive_md5 = _md5(raw)
    listed = (checksums or {}).get(spec.name, ())
    user_ok, user_found = _user_match(listed, data=raw)
    limit = spec.content_size + 1 if spec.content_size is not None else -1
    content: bytes | None
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(raw)) as g:
            content = g.read(limit)
    except (OSError, EOFError, zlib.error):
        content = None
    if (archive_md5 == spec.md5 or user_ok) and content is not None:
        return content
    content_md5 = _md5(content) if content is not None else None
    if (spec.content_md5 is not None and content is not None and content_md5 == spec.content_md5
            and (spec.content_size is None or len(content) == spec.content_size)):
        return content
    found = f"md5 {archive_md5}"
    expected = f"{spec.md5} (published archive)"
    if spec.content_md5 is not None:
        found += (f", decompressed content md5 {content_md5} ({len(content)} bytes read)"
                  if content is not None else ", content not decompressible")
        expected += (f" or decompressed content {spec.content_md5}"
                     f" ({spec.content_size} bytes)")
    if user_ok:  # the listed bytes are no gzip stream
        raise ChecksumError(f"{path} matches its data.checksums entry but is not a readable gzip file")
    more_found, more_expected = _describe_user(spec.name, listed, user_found)
    found += more_found
    expected += more_expected
    raise ChecksumError(f"checksum mismatch for {path}: found {found}; expected {expected}")


def _read_tar_members(path: Path, names: tuple[str, ...], data: bytes | None = None) -> dict[str, bytes]:
    """Bytes of the regular-file members of a tar whose base names are in ``names``
    (read from ``data``, the archive's bytes, when given).

    Nothing is extracted to disk and nothing is interpreted: the caller must
    verify the bytes before parsing them.
    """
    wanted = set(names)
    out: dict[str, bytes] = {}
    opened = tarfile.open(fileobj=io.BytesIO(data), mode="r:*") if data is not None else tarfile.open(path, "r:*")
    with opened as tar:
        for member in tar:
            base = member.name.rsplit("/", 1)[-1]
            if base not in wanted or not member.isfile():
                continue
            if base in out:
                raise ChecksumError(f"{path}: member {base!r} occurs more than once")
            f = tar.extractfile(member)
            assert f is not None
            out[base] = f.read()
    return out


def _cifar_members_verified(path: Path, archive_md5: str | None = None,
                            checksums: Checksums | None = None) -> dict[str, bytes]:
    """Read and verify every CIFAR-10 member of ``path``; return their bytes.

    Raises :class:`ChecksumError` unless the archive's bytes match a checksum the
    user listed for it (``checksums``; the members are then read from those very
    bytes) or every member in :data:`CIFAR10_MEMBER_MD5` is present and matches.
    The bytes returned are safe to unpickle; nothing is unpickled here.
    """
    spec = _spec("cifar10", CIFAR10_ARCHIVE)
    expected = dict(CIFAR10_MEMBER_MD5)
    listed = (checksums or {}).get(CIFAR10_ARCHIVE, ())
    user_ok, user_found, raw = False, {}, None
    if listed:  # the archive's own bytes: hashed, and (if a listed checksum matches) read from
        raw = path.read_bytes()
        user_ok, user_found = _user_match(listed, data=raw)
        archive_md5 = _md5(raw)
    archive_md5 = archive_md5 or md5_file(path)
    more_found, more_expected = _describe_user(CIFAR10_ARCHIVE, listed, user_found)
    context = f"archive md5 {archive_md5}{more_found}, expected {spec.md5}{more_expected}"
    try:
        members = _read_tar_members(path, tuple(expected), data=raw)
    except (tarfile.TarError, OSError, EOFError, zlib.error) as e:
        if user_ok:
            raise ChecksumError(f"{path} matches its data.checksums entry but is not a readable tar "
                                f"archive ({e})") from e
        raise ChecksumError(f"checksum mismatch for {path}: {context}; and it is not a "
                            f"readable tar archive ({e})") from e
    missing = sorted(set(expected) - set(members))
    if missing and user_ok:
        raise ValueError(f"{path} (accepted by data.checksums) lacks the CIFAR-10 members "
                         f"{', '.join(missing)}")
    if missing:
        raise ChecksumError(f"checksum mismatch for {path}: {context}; members missing: "
                            f"{', '.join(missing)}")
    if user_ok:
        return members
    for name, want in expected.items():
        found = _md5(members[name])
        if found != want:
            raise ChecksumError(
                f"checksum mismatch for {path}: member {name} has md5 {found}, expected {want} "
                f"({context}); refusing to unpickle it")
    return members


def verify_file(path: str | os.PathLike, spec: RawFile,
                checksums: Checksums | str | os.PathLike | None = None) -> str:
    """Check ``path`` against ``spec`` and the user's ``checksums`` (a mapping from
    :func:`load_checksums` or the checksum file's path); return how it was accepted.

    Returns ``"archive"`` (MD5 equals the published one), ``"user"`` (a checksum
    the user listed for the file's name), ``"content"`` (a ``.gz`` whose
    decompressed content is the known one) or ``"members"`` (the CIFAR-10 tar
    whose every member matches). Raises :class:`ChecksumError`, naming the file,
    the checksums found and the expected ones, otherwise.
    """
    path = Path(path)
    checksums = _as_checksums(checksums)
    listed = checksums.get(spec.name, ())
    algorithms = {"md5"} | {a for a, _ in listed}
    found = _digests(None, path, algorithms)
    if found["md5"] == spec.md5:
        return "archive"
    if any(found[a] == d for a, d in listed):
        return "user"
    if spec.name.endswith(".gz") and spec.content_md5 is not None:
        _gunzip_verified(path, spec, checksums)
        return "content"
    if spec.name == CIFAR10_ARCHIVE:
        _cifar_members_verified(path, found["md5"], checksums)
        return "members"
    more_found, more_expected = _describe_user(spec.name, listed, found)
    raise ChecksumError(f"checksum mismatch for {path}: found md5 {found['md5']}{more_found}; "
                        f"expected md5 {spec.md5} (published){more_expected}")


# --------------------------------------------------------------------------
# Fetching
# --------------------------------------------------------------------------

def _copy_atomic(src: Path, dst: Path) -> None:
    tmp = dst.with_name(f".{dst.name}.part")
    try:
        shutil.copyfile(src, tmp)
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)


def _download(spec: RawFile, dst: Path, progress: Progress, checksums: Checksums | None = None) -> None:
    """Stream ``spec.url`` to a temporary name, verify it, rename it to ``dst``."""
    tmp = dst.with_name(f".{dst.name}.part")
    progress(f"downloading {spec.url}")
    try:
        try:
            with urllib.request.urlopen(spec.url, timeout=60) as response, open(tmp, "wb") as out:
                total = int(response.headers.get("Content-Length") or 0)
                # report every ~10% (or every 10 MiB when the size is unknown)
                step = total / 10 if total else 10 * 2**20
                done, next_report = 0, step
                for chunk in iter(lambda: response.read(_CHUNK), b""):
                    out.write(chunk)
                    done += len(chunk)
                    if done >= next_report:
                        of = (f" of {total / 2**20:.1f} MiB ({100 * done // total}%)"
                              if total else " MiB")
                        progress(f"  {spec.name}: {done / 2**20:.1f}{of}")
                        while next_report <= done:
                            next_report += step
        except (urllib.error.URLError, http.client.HTTPException, ConnectionError,
                TimeoutError) as e:
            reason = getattr(e, "reason", e)
            raise FetchError(f"could not download {spec.url} ({reason}). {_MIRROR_HINT} "
                             f"Needed here: {spec.name}.") from e
        try:
            verify_file(tmp, spec, checksums)
        except ChecksumError as e:
            raise ChecksumError(f"the download of {spec.url} failed verification and was "
                                f"deleted: {e}") from None
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)


def fetch(dataset: str, dest_dir: str | os.PathLike, mirror: str | os.PathLike | None = None,
          progress: Progress = print, checksums: Checksums | str | os.PathLike | None = None) -> dict[str, Path]:
    """Make the verified raw files of ``dataset`` available in ``dest_dir``.

    Per file, in this order: reuse a verified copy already in ``dest_dir``;
    copy it from ``mirror`` (a local directory with the same file names, flat;
    config key ``data.mirror``) after verifying it there; download it from its
    canonical URL (streamed to a temporary name, verified, then renamed).

    Returns ``{file name: path in dest_dir}``. Raises :class:`ChecksumError`
    for a mirror file or download that fails verification (a failed download
    is deleted) and :class:`FetchError` when a file is in no mirror and cannot
    be downloaded.
    """
    specs = _raw_files(dataset)
    checksums = _as_checksums(checksums)
    dest = Path(dest_dir)
    mirror_dir = Path(mirror) if mirror is not None else None
    if mirror_dir is not None and not mirror_dir.is_dir():
        raise FileNotFoundError(f"the mirror directory {mirror_dir} (config key `data.mirror`) "
                                f"does not exist")
    dest.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    for spec in specs:
        target = dest / spec.name
        if target.is_file():
            try:
                how = verify_file(target, spec, checksums)
                progress(f"{dataset}: {spec.name}: verified copy in {dest} ({how} checksum)")
                out[spec.name] = target
                continue
            except ChecksumError as e:
                progress(f"{dataset}: {spec.name}: existing copy refused, fetching again: {e}")
        source = mirror_dir / spec.name if mirror_dir is not None else None
        if source is not None and source.is_file():
            how = verify_file(source, spec, checksums)  # a refused mirror file raises, nothing is copied
            if source.resolve() != target.resolve():
                _copy_atomic(source, target)
            progress(f"{dataset}: {spec.name}: copied from mirror {mirror_dir} ({how} checksum)")
        else:
            if mirror_dir is not None:
                progress(f"{dataset}: {spec.name}: not in mirror {mirror_dir}")
            _download(spec, target, progress, checksums)
            progress(f"{dataset}: {spec.name}: downloaded and verified")
        out[spec.name] = target
    return out


# --------------------------------------------------------------------------
# Parsers
# --------------------------------------------------------------------------

def _resolve_raw(dataset: str, raw_files_or_dir: Mapping[str, str | os.PathLike] | str | os.PathLike,
                 ) -> dict[str, Path]:
    """Map every raw file name of ``dataset`` to an existing path."""
    names = [s.name for s in _raw_files(dataset)]
    if isinstance(raw_files_or_dir, Mapping):
        paths = {n: Path(raw_files_or_dir[n]) for n in names if n in raw_files_or_dir}
    else:
        paths = {n: Path(raw_files_or_dir) / n for n in names}
    missing = [n for n in names if n not in paths or not paths[n].is_file()]
    if missing:
        raise FileNotFoundError(f"raw files of {dataset!r} missing: {', '.join(missing)} "
                                f"(looked in {raw_files_or_dir}); obtain them with fetch()")
    return paths


def _unpickle_batch(data: bytes) -> dict:
    """Unpickle one CIFAR-10 batch. Call only on bytes whose MD5 was verified."""
    obj = pickle.loads(data, encoding="bytes")
    if not isinstance(obj, dict):
        raise ValueError(f"a CIFAR-10 batch must be a dict, got {type(obj).__name__}")
    return {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in obj.items()}


def _cifar_batches(members: Mapping[str, bytes], names: tuple[str, ...],
                   ) -> tuple[np.ndarray, np.ndarray]:
    images, labels = [], []
    for name in names:
        batch = _unpickle_batch(members[name])
        data = np.asarray(batch["data"], dtype=np.uint8)
        if data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
            raise ValueError(f"CIFAR-10 {name}: data must be (n, 3072), got {data.shape}")
        images.append(data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
        labels.append(np.asarray(batch["labels"], dtype=np.int64))
    return np.ascontiguousarray(np.concatenate(images)), np.concatenate(labels)


def _load_cifar10(paths: Mapping[str, Path], checksums: Checksums | None = None,
                  ) -> dict[str, tuple[np.ndarray, np.ndarray, tuple[str, ...]]]:
    """Parse the CIFAR-10 tar; every member is verified before any is unpickled."""
    path = paths[CIFAR10_ARCHIVE]
    members = _cifar_members_verified(path, checksums=checksums)  # raises before anything is unpickled
    classes = CIFAR10_CLASSES
    if CIFAR10_META in members:
        meta = _unpickle_batch(members[CIFAR10_META])
        names = meta.get("label_names")
        if names:
            classes = tuple(n.decode("utf-8") if isinstance(n, bytes) else str(n) for n in names)
    return {
        "train": (*_cifar_batches(members, CIFAR10_TRAIN_BATCHES), classes),
        "test": (*_cifar_batches(members, CIFAR10_TEST_BATCHES), classes),
    }


def _load_svhn(paths: Mapping[str, Path], checksums: Checksums | None = None,
               ) -> dict[str, tuple[np.ndarray, np.ndarray, tuple[str, ...]]]:
    """Parse SVHN ``.mat`` files (X: H×W×C×N, y: N×1 with 10 meaning digit 0)."""
    import scipy.io

    for name, path in paths.items():
        verify_file(path, _spec("svhn", name), checksums)
    out = {}
    for split, name in (("train", "train_32x32.mat"), ("test", "test_32x32.mat")):
        mat = scipy.io.loadmat(paths[name])
        x = np.asarray(mat["X"])
        if x.ndim != 4 or x.shape[2] != 3:
            raise ValueError(f"SVHN {name}: X must be H×W×3×N, got shape {x.shape}")
        images = np.ascontiguousarray(x.transpose(3, 0, 1, 2), dtype=np.uint8)
        labels = np.asarray(mat["y"]).reshape(-1).astype(np.int64)
        labels[labels == 10] = 0
        out[split] = (images, labels, SVHN_CLASSES)
    return out


def _parse_idx(content: bytes, magic: int, name: str) -> np.ndarray:
    """Parse an idx file (big-endian header, uint8 payload), checking the magic number."""
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(content) < header:
        raise ValueError(f"{name}: too short for an idx file")
    found = int.from_bytes(content[:4], "big")
    if found != magic:
        raise ValueError(f"{name}: idx magic number {found:#010x}, expected {magic:#010x}")
    shape = tuple(int.from_bytes(content[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    if len(content) != header + int(np.prod(shape)):
        raise ValueError(f"{name}: {len(content) - header} payload bytes for shape {shape}")
    return np.frombuffer(content, dtype=np.uint8, offset=header).reshape(shape)


def _load_fashion_mnist(paths: Mapping[str, Path], pad_to: int | None = 32, checksums: Checksums | None = None,
                        ) -> dict[str, tuple[np.ndarray, np.ndarray, tuple[str, ...]]]:
    """Parse Fashion-MNIST idx files into NHWC (C = 1), zero-padded to ``pad_to``."""
    if pad_to is not None and pad_to < 28:
        raise ValueError(f"pad_to must be at least 28 (or None), got {pad_to}")
    content = {name: _gunzip_verified(path, _spec("fashion_mnist", name), checksums)
               for name, path in paths.items()}
    out = {}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        img_name, lab_name = f"{prefix}-images-idx3-ubyte.gz", f"{prefix}-labels-idx1-ubyte.gz"
        images = _parse_idx(content[img_name], 0x00000803, img_name)
        labels = _parse_idx(content[lab_name], 0x00000801, lab_name).astype(np.int64)
        if len(images) != len(labels):
            raise ValueError(f"Fashion-MNIST {split}: {len(images)} images, {len(labels)} labels")
        if pad_to is not None and pad_to > images.shape[1]:
            before = (pad_to - images.shape[1]) // 2
            after = pad_to - images.shape[1] - before
            images = np.pad(images, ((0, 0), (before, after), (before, after)))
        out[split] = (np.ascontiguousarray(images[..., None]), labels, FASHION_MNIST_CLASSES)
    return out


def prepare(dataset: str, raw_files_or_dir: Mapping[str, str | os.PathLike] | str | os.PathLike,
            out_dir: str | os.PathLike, *, pad_to: int | None = 32,
            checksums: Checksums | str | os.PathLike | None = None) -> dict[str, Path]:
    """Turn the raw files of ``dataset`` into ``out_dir/train.npz`` and ``out_dir/test.npz``.

    ``raw_files_or_dir`` is the mapping :func:`fetch` returns or a directory
    holding the raw files. Every file is verified (and, for CIFAR-10, every
    batch member, before anything is unpickled) and both splits are parsed
    before the first one is written, so a refused input leaves ``out_dir``
    untouched. ``pad_to`` applies to Fashion-MNIST only: the 28×28 images are
    zero-padded (centred) to ``pad_to``×``pad_to``; ``None`` keeps 28×28.
    ``checksums``: the user's (:func:`load_checksums`), accepted besides the
    published ones.

    Returns ``{"train": path, "test": path}``.
    """
    if dataset == "folder":
        raise ValueError("use prepare_folder() (or prepare_dataset()) for the 'folder' dataset")
    paths = _resolve_raw(dataset, raw_files_or_dir)
    checksums = _as_checksums(checksums)
    if dataset == "cifar10":
        splits = _load_cifar10(paths, checksums)
    elif dataset == "svhn":
        splits = _load_svhn(paths, checksums)
    elif dataset == "fashion_mnist":
        splits = _load_fashion_mnist(paths, pad_to, checksums)
    else:  # pragma: no cover - RAW_FILES and this dispatch list the same names
        raise ValueError(f"no parser for dataset {dataset!r}")
    out = Path(out_dir)
    return {split: save_split(out / f"{split}.npz", *splits[split]) for split in ("train", "test")}


# --------------------------------------------------------------------------
# Folder of images
# --------------------------------------------------------------------------

def _class_dirs(split_dir: Path) -> dict[str, list[Path]]:
    """``{class: sorted image files}`` for the sub-folders of one split directory."""
    classes: dict[str, list[Path]] = {}
    for d in sorted(p for p in split_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
        files = sorted(f for f in d.iterdir()
                       if f.is_file() and f.suffix.lower() in IMAGE_EXTENSIONS)
        if not files:
            raise ValueError(f"class folder {d} holds no images "
                             f"({', '.join(IMAGE_EXTENSIONS)})")
        classes[d.name] = files
    if not classes:
        raise ValueError(f"{split_dir} has no class sub-folders (expected {split_dir}/<class>/<image>)")
    return classes


def _load_image(path: Path, image_size: int) -> np.ndarray:
    from PIL import Image, ImageOps

    try:
        with Image.open(path) as img:
            img.load()
            img = ImageOps.exif_transpose(img).convert("RGB")
            if img.size != (image_size, image_size):
                img = img.resize((image_size, image_size), Image.Resampling.BILINEAR)
            return np.asarray(img, dtype=np.uint8)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
        # PIL's UnidentifiedImageError is an OSError
        raise ValueError(f"cannot read image {path}: {e}") from e


def prepare_folder(root: str | os.PathLike, out_dir: str | os.PathLike,
                   image_size: int = 32) -> dict[str, Path]:
    """Prepare the user's images laid out as ``root/{train,test}/<class>/<image>``.

    Classes are the sorted names of the ``train`` sub-folders (label = index);
    the ``test`` classes must be a subset of them. Images (png, jpg, jpeg, bmp,
    webp) are converted to RGB and resized to ``image_size``×``image_size``
    (bilinear). Writes ``out_dir/train.npz`` and ``out_dir/test.npz`` after
    every image has been read; returns ``{"train": path, "test": path}``.
    """
    root = Path(root)
    if image_size < 1:
        raise ValueError(f"image_size must be positive, got {image_size}")
    for split in ("train", "test"):
        if not (root / split).is_dir():
            raise FileNotFoundError(f"folder dataset: {root / split} does not exist "
                                    f"(expected {root}/{split}/<class>/<image>)")
    train = _class_dirs(root / "train")
    test = _class_dirs(root / "test")
    classes = tuple(train)
    extra = sorted(set(test) - set(train))
    if extra:
        raise ValueError(f"folder dataset: test classes {', '.join(extra)} have no folder in "
                         f"{root / 'train'} (train classes: {', '.join(classes)})")
    arrays = {}
    for split, dirs in (("train", train), ("test", test)):
        images, labels = [], []
        for name, files in dirs.items():
            label = classes.index(name)
            for f in files:
                images.append(_load_image(f, image_size))
                labels.append(label)
        arrays[split] = (np.stack(images), np.asarray(labels, dtype=np.int64), classes)
    out = Path(out_dir)
    return {split: save_split(out / f"{split}.npz", *arrays[split]) for split in ("train", "test")}


# --------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------

def prepare_dataset(name: str, out_dir: str | os.PathLike, raw_dir: str | os.PathLike,
                    mirror: str | os.PathLike | None = None,
                    folder_root: str | os.PathLike | None = None, image_size: int = 32,
                    pad_to: int | None = 32, progress: Progress = print,
                    checksums: Checksums | str | os.PathLike | None = None) -> dict[str, Path]:
    """Fetch (if needed) and prepare dataset ``name`` into ``out_dir/{train,test}.npz``.

    ``cifar10``, ``svhn`` and ``fashion_mnist`` are fetched into ``raw_dir``
    (from ``mirror`` or their canonical URLs, see :func:`fetch`) and parsed by
    :func:`prepare` (``pad_to`` is Fashion-MNIST's padding). ``folder`` reads
    ``folder_root`` with :func:`prepare_folder` (``image_size``). The
    ``synthetic`` dataset is generated by the workflow, not here. ``checksums``
    (config key ``data.checksums``): the user's checksum file, see
    :func:`load_checksums`.
    """
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; allowed: {', '.join(DATASETS)}"
                         + (" (the synthetic dataset is generated by the workflow)"
                            if name == "synthetic" else ""))
    if name == "folder":
        if folder_root is None:
            raise ValueError("the 'folder' dataset needs folder_root "
                             "(a directory with train/<class>/ and test/<class>/)")
        return prepare_folder(folder_root, out_dir, image_size=image_size)
    checksums = _as_checksums(checksums)
    files = fetch(name, raw_dir, mirror=mirror, progress=progress, checksums=checksums)
    return prepare(name, files, out_dir, pad_to=pad_to, checksums=checksums)
