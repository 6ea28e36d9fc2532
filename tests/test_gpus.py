"""GPU placement by slot locks, on simulated GPUs (no GPU needed), and the packing plan."""
import subprocess
import sys
import threading
import time

import pytest

from featurelab.gpus import claim_gpu, job_device, try_claim, visible_gpu_ids


@pytest.fixture(autouse=True)
def no_visible_devices(monkeypatch):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)


def test_concurrent_jobs_get_distinct_gpus(tmp_path):
    got, barrier, done = [], threading.Barrier(3), threading.Event()

    def job():
        with claim_gpu(1, tmp_path, device_count=3, log=lambda s: None) as slot:
            got.append((slot.device, slot.slot))
            barrier.wait(timeout=10)  # all three hold their slot at once
            done.wait(timeout=10)

    threads = [threading.Thread(target=job) for _ in range(3)]
    for t in threads:
        t.start()
    while len(got) < 3 and any(t.is_alive() for t in threads):
        time.sleep(0.01)
    done.set()
    for t in threads:
        t.join()
    assert sorted(got) == [("cuda:0", 0), ("cuda:1", 0), ("cuda:2", 0)]


def test_processes_get_distinct_gpus_and_a_released_slot_is_reused(tmp_path):
    code = ("import sys, time; from featurelab.gpus import try_claim; "
            f"s = try_claim(1, {str(tmp_path)!r}, device_count=2); print(s.device, flush=True); time.sleep(30)")
    procs = []
    try:
        for _ in range(2):
            p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=str(tmp_path),
                                 env={"PYTHONPATH": str(__import__("pathlib").Path(__file__).parents[1])})
            procs.append((p, p.stdout.readline().strip()))
        assert sorted(d for _, d in procs) == ["cuda:0", "cuda:1"]
        assert try_claim(1, tmp_path, device_count=2) is None  # both taken
        holder_of_1 = next(p for p, d in procs if d == "cuda:1")
        holder_of_1.kill()  # a killed job's lock goes with it
        holder_of_1.wait()
        again = try_claim(1, tmp_path, device_count=2)
        assert again is not None and again.device == "cuda:1"
        again.release()
    finally:
        for p, _ in procs:
            p.kill()
            p.wait()


def test_released_slot_is_reused_in_process(tmp_path):
    with claim_gpu(1, tmp_path, device_count=1, log=lambda s: None) as a:
        assert a.device == "cuda:0" and try_claim(1, tmp_path, device_count=1) is None
    with claim_gpu(1, tmp_path, device_count=1, log=lambda s: None) as b:
        assert b.device == "cuda:0"


def test_slots_per_gpu_spread_first_then_share(tmp_path):
    held = [try_claim(2, tmp_path, device_count=2) for _ in range(4)]
    assert [(s.device, s.slot) for s in held] == [("cuda:0", 0), ("cuda:1", 0), ("cuda:0", 1), ("cuda:1", 1)]
    assert try_claim(2, tmp_path, device_count=2) is None
    held[2].release()
    assert (lambda s: (s.device, s.slot))(try_claim(2, tmp_path, device_count=2)) == ("cuda:0", 1)


def test_a_job_waits_with_a_log_line_until_a_slot_frees(tmp_path):
    first = try_claim(1, tmp_path, device_count=1)
    logs, got = [], []

    def job():
        with claim_gpu(1, tmp_path, device_count=1, poll_seconds=0.05, log=logs.append) as s:
            got.append(s.device)

    t = threading.Thread(target=job)
    t.start()
    time.sleep(0.3)
    assert not got and any("are taken" in s and "waiting" in s for s in logs)
    first.release()
    t.join(timeout=10)
    assert got == ["cuda:0"] and "after waiting" in logs[-1]


def test_no_wait_yields_none(tmp_path):
    first = try_claim(1, tmp_path, device_count=1)
    with claim_gpu(1, tmp_path, device_count=1, wait=False, log=lambda s: None) as s:
        assert s is None
    first.release()


def test_slurm_visible_devices_name_the_locks(tmp_path, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5")
    assert visible_gpu_ids(2) == ["3", "5"]
    a, b = try_claim(1, tmp_path, device_count=2), try_claim(1, tmp_path, device_count=2)
    assert (a.device, a.gpu_id, b.device, b.gpu_id) == ("cuda:0", "3", "cuda:1", "5")
    assert "gpu3.slot0" in a.path.name and "gpu5.slot0" in b.path.name
    # another job on the same node with another GPU allocated does not collide
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "6")
    c = try_claim(1, tmp_path, device_count=1)
    assert c is not None and c.device == "cuda:0" and c.gpu_id == "6"
    with pytest.raises(RuntimeError, match="no CUDA device"):
        try_claim(1, tmp_path, device_count=0)


def test_job_device_on_a_cpu_machine():
    with job_device("cpu") as d:
        assert d == "cpu"
    import torch

    if not torch.cuda.is_available():
        with job_device("auto") as d:
            assert d == "cpu"
        with pytest.raises(RuntimeError, match="no CUDA"):
            with job_device("cuda"):
                pass

