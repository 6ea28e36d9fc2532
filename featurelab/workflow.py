"""Glue shared by the rule scripts: logging into the rule's log file."""
from __future__ import annotations

import contextlib
import sys
import time
import traceback
from pathlib import Path
from typing import Iterator, TextIO


@contextlib.contextmanager
def logged(path: str | Path) -> Iterator[TextIO]:
    """Send stdout and stderr (prints, warnings, tracebacks) to the rule's log file.

    The file is line-buffered, so ``tail -f`` on a running job's log shows progress.
    An exception is written to the log with its traceback and re-raised, so the job
    fails and Snakemake deletes its partial outputs.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", buffering=1) as fh:
        old = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = fh
        t0 = time.perf_counter()
        try:
            yield fh
        except BaseException:
            traceback.print_exc(file=fh)
            raise
        else:
            print(f"done in {time.perf_counter() - t0:.1f}s", file=fh)
        finally:
            sys.stdout, sys.stderr = old


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)
