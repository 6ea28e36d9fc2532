"""GPU placement of training jobs.

Snakemake assigns no device to a job: ``--resources gpu=N`` only bounds how many jobs
that declare ``gpu=1`` run at once. Without more, every one of them would land on
``cuda:0``. :func:`claim_gpu` gives each job its own *slot*: ``slots_per_gpu`` slots per
visible GPU, each an exclusive, non-blocking ``fcntl.flock`` on a file in a lock
directory. A job holds its slot (the open, locked file) for its whole life and the
kernel releases it when the job ends, also when it is killed, so no stale lock
survives a crash. Slots are tried breadth first (slot 0 of every GPU, then slot 1, ...),
so jobs spread over the GPUs before any two share one. When every slot is taken the
job logs so and polls until one frees.

Run with ``--resources gpu=<GPUs × slots_per_gpu>``: then Snakemake never starts more
GPU jobs than there are slots, and none waits. Under SLURM (``CUDA_VISIBLE_DEVICES``
set by the scheduler) the visible devices are ``cuda:0..n-1`` of the job's own
allocation; the lock files are named after the physical ids in
``CUDA_VISIBLE_DEVICES``, so two jobs on one node never collide.

Nothing here imports PyTorch at module level. Which members train together in one job is
the planner's (:func:`featurelab.plan.pack_plan`).
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

DEFAULT_LOCK_DIRNAME = "featurelab-gpu-slots"


def default_lock_dir() -> Path:
    """``$FEATURELAB_GPU_LOCK_DIR``, else ``<tmp>/featurelab-gpu-slots-<user>`` (tmp: ``$TMPDIR`` or /tmp)."""
    env = os.environ.get("FEATURELAB_GPU_LOCK_DIR")
    if env:
        return Path(env)
    try:
        user = os.getlogin()
    except OSError:
        user = str(os.getuid())
    return Path(tempfile.gettempdir()) / f"{DEFAULT_LOCK_DIRNAME}-{user}"


def visible_gpu_ids(device_count: int | None = None) -> list[str]:
    """Physical ids of the GPUs this process sees, in the order of ``cuda:0..n-1``.

    ``CUDA_VISIBLE_DEVICES`` (as SLURM sets it) gives them; otherwise they are
    ``0..n-1``. ``device_count`` overrides ``torch.cuda.device_count()`` (tests
    simulate GPUs with it)."""
    if device_count is None:
        import torch

        device_count = torch.cuda.device_count()
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is not None and env.strip():
        ids = [s.strip() for s in env.split(",") if s.strip()]
        if len(ids) >= device_count:
            return ids[:device_count]
    return [str(i) for i in range(device_count)]


@dataclass
class GpuSlot:
    """A claimed slot: ``device`` (``cuda:<index>``), its GPU index and physical id,
    the slot number on that GPU, and the lock file held open while the job runs."""

    device: str
    index: int
    gpu_id: str
    slot: int
    path: Path
    _fh: Any = None

    def release(self) -> None:
        if self._fh is not None:
            fcntl.flock(self._fh, fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None


def _safe(s: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in s)


def try_claim(slots_per_gpu: int = 1, lock_dir: str | os.PathLike | None = None,
              device_count: int | None = None) -> GpuSlot | None:
    """One non-blocking pass over every slot: the first free one, locked, or None."""
    if slots_per_gpu < 1:
        raise ValueError(f"slots_per_gpu must be >= 1, got {slots_per_gpu}")
    ids = visible_gpu_ids(device_count)
    if not ids:
        raise RuntimeError("a GPU slot was asked for but no CUDA device is visible")
    root = Path(lock_dir) if lock_dir else default_lock_dir()
    root.mkdir(parents=True, exist_ok=True)
    host = _safe(socket.gethostname())
    for slot in range(slots_per_gpu):  # breadth first: spread over GPUs before sharing one
        for index, gpu_id in enumerate(ids):
            path = root / f"{host}.gpu{_safe(gpu_id)}.slot{slot}.lock"
            fh = open(path, "a+")
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                fh.close()
                continue
            fh.seek(0)
            fh.truncate()
            fh.write(f"pid {os.getpid()} since {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
            fh.flush()
            return GpuSlot(f"cuda:{index}", index, gpu_id, slot, path, fh)
    return None


@contextlib.contextmanager
def claim_gpu(slots_per_gpu: int = 1, lock_dir: str | os.PathLike | None = None, *,
              device_count: int | None = None, poll_seconds: float = 10.0, wait: bool = True,
              log: Callable[[str], None] = print) -> Iterator[GpuSlot | None]:
    """Hold a GPU slot for the ``with`` block; yields the :class:`GpuSlot`.

    Polls every ``poll_seconds`` while all slots are taken (logging once, then every
    ten minutes). ``wait=False`` yields None instead of waiting (the caller then picks
    a device itself)."""
    slot = try_claim(slots_per_gpu, lock_dir, device_count)
    t0 = last_log = time.monotonic()
    waited = slot is None and wait
    if waited:
        n = len(visible_gpu_ids(device_count))
        log(f"all {n * slots_per_gpu} GPU slots ({n} GPUs x gpu.slots_per_gpu={slots_per_gpu}) are taken by "
            f"other jobs (locks in {Path(lock_dir) if lock_dir else default_lock_dir()}); waiting for one "
            f"(run with --resources gpu={n * slots_per_gpu} so that Snakemake starts no more GPU jobs than slots)")
        while slot is None:
            time.sleep(poll_seconds)
            slot = try_claim(slots_per_gpu, lock_dir, device_count)
            if slot is None and time.monotonic() - last_log > 600:
                last_log = time.monotonic()
                log(f"still waiting for a GPU slot ({time.monotonic() - t0:.0f}s)")
    if slot is not None:
        log(f"GPU slot: {slot.device} (GPU id {slot.gpu_id}, slot {slot.slot} of {slots_per_gpu})"
            + (f" after waiting {time.monotonic() - t0:.0f}s" if waited else ""))
    try:
        yield slot
    finally:
        if slot is not None:
            slot.release()


@contextlib.contextmanager
def job_device(preference: str = "auto", gpu: dict[str, Any] | None = None, *, wait: bool = True,
               log: Callable[[str], None] = print) -> Iterator[str]:
    """The device a workflow job runs on, as a string for ``train_member(device=...)``.

    ``preference`` is the config's ``device``: ``cpu`` → ``"cpu"``; ``auto`` without
    CUDA → ``"cpu"``; ``cuda``, or ``auto`` with CUDA → a claimed slot's ``cuda:<i>``,
    held until the block ends (``gpu``: the config's ``gpu`` section). An explicit
    ``cuda:<i>`` is used as given, unclaimed. With ``wait=False`` (light jobs such as
    extraction) a job that finds every slot taken shares a GPU unclaimed instead of
    waiting."""
    gpu = gpu or {}
    if preference == "cpu" or (preference.startswith("cuda:")):
        yield preference
        return
    import torch

    if not torch.cuda.is_available():
        if preference == "cuda":
            raise RuntimeError("device 'cuda' was asked for but torch sees no CUDA device")
        yield "cpu"
        return
    with claim_gpu(int(gpu.get("slots_per_gpu", 1)), gpu.get("lock_dir"),
                   poll_seconds=float(gpu.get("poll_seconds", 10.0)), wait=wait, log=log) as slot:
        if slot is None:
            dev = f"cuda:{os.getpid() % max(1, torch.cuda.device_count())}"
            log(f"every GPU slot is taken; sharing {dev} without a slot")
            yield dev
        else:
            torch.cuda.set_device(slot.index)  # stray allocations and argument-less calls go there too
            yield slot.device
