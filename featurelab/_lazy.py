"""Lazy public names for the package and its study subpackages.

A study's public functions live in the modules that hold their maths, I/O or figures;
its ``__init__`` lists where each name lives and imports the module on first use, so that
``import featurelab.plan`` (what the workflow imports while it parses) pulls in neither
PyTorch nor SciPy, pandas or matplotlib.
"""
from __future__ import annotations

import importlib
from typing import Any, Callable


def lazy_exports(package: str, where: dict[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``, whose name ``n`` lives in the module
    ``where[n]`` (relative to the package). No public name may equal a submodule's name:
    once imported, the submodule would shadow it."""
    clash = set(where) & set(where.values())
    if clash:
        raise ValueError(f"{package}: names {sorted(clash)} are also submodules")

    def __getattr__(name: str) -> Any:
        if name in where:
            return getattr(importlib.import_module(f"{package}.{where[name]}"), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(where)

    return __getattr__, __dir__
