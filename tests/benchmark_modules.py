"""Import a script of ``benchmarks/`` in a test: the folder goes on ``sys.path`` for as long as
the module is used (the scripts import their siblings, e.g. ``bench_engine``)."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


@contextmanager
def benchmark_module(name: str) -> Iterator[ModuleType]:
    """The module ``benchmarks/<name>.py``, importable (with its siblings) inside the block."""
    sys.path.insert(0, str(BENCH))
    try:
        yield importlib.import_module(name)
    finally:
        sys.path.remove(str(BENCH))
