import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture
def one_thread():
    """PyTorch on one thread for the test (restored after), so sums run in one order."""
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def world_splits(**world):
    """(train, test) Splits of a synthetic world with these WorldConfig settings."""
    from featurelab.data.prepared import Split
    from featurelab.data.synthetic import WorldConfig, class_names, generate_split

    cfg = WorldConfig(**world)
    names = tuple(class_names(cfg))
    return tuple(Split(*generate_split(cfg, split)[:2], names) for split in ("train", "test"))


def snakemake_cmd() -> list[str]:
    """The snakemake executable next to the running Python (the test venv's)."""
    exe = Path(sys.executable).parent / "snakemake"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "snakemake"]


os.environ.setdefault("MPLBACKEND", "Agg")


def zoo_models(config: dict, ensemble: str) -> list[str]:
    """The zoo ids (results/zoo/<id>/) of an ensemble's members under ``config``."""
    import copy

    from featurelab.config import validate_config
    from featurelab.plan import Plan

    return Plan(validate_config(copy.deepcopy(config))).ensemble_models(ensemble)


def sgd_step(model, data, labels, loss_fn, **sgd):
    """One SGD step of ``model`` on ``(data, labels)`` in training mode (``loss_fn(out, labels)``
    a scalar); returns the output it stepped on."""
    import torch

    opt = torch.optim.SGD(model.parameters(), **sgd)
    model.train()
    out = model(data)
    opt.zero_grad()
    loss_fn(out, labels).backward()
    opt.step()
    return out
