"""Glue shared by the rule scripts: logging into the rule's log file.

A rule script imports what it needs at its top, then does its work inside
``with logged(snakemake.log[0]):``. The log's last line, ``work <s> s``, is the time of that
work alone; the job's wall time (its Snakemake benchmark) minus it is what the job paid to
start: the process, Python, the imports (``benchmarks/bench_workflow.py`` adds both up).
"""
from __future__ import annotations

import contextlib
import sys
import time
import traceback
from pathlib import Path
from typing import Iterator, TextIO

#: How a log's last line starts: the seconds of work of the job, start-up and imports excluded.
WORK_MARK = "work"


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
            print(f"{WORK_MARK} {time.perf_counter() - t0:.3f} s", file=fh)
        finally:
            sys.stdout, sys.stderr = old


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)
