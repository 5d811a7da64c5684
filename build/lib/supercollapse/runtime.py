"""What a chapter runs on and how long it takes: the line at the top of each chapter page.

Both times are read from records, never typed by hand:

* **CPU** (the chapter's live cells at the quick scale): the span of the committed notebook's
  last execution, from the first cell's start to the last cell's reply, as the Jupyter client
  records them in each code cell's ``metadata.execution`` (``iopub.execute_input`` and
  ``shell.execute_reply``; ``jupyter nbconvert --execute`` and ``make book`` write them). The
  kernel's start is not included.
* **GPU** (the stored results the chapter reads): the sum over the training programs of those
  results of their wall time, ``meta["program"]["wall_seconds"]`` (``results/README.md``,
  "Times"), with the device kinds recorded in the runs. Which results a chapter reads is found in
  its code: ``load_sweep("name")``, ``load_sweep("name", scale="s")``, ``load_runs`` /
  ``load_ladders`` of ``results_dir() / "s" / "name"`` or of ``VAR / "name"`` with
  ``VAR = results_dir() / "s"`` (:func:`sweeps_read`). Runs made on a CPU are not counted.

``book/_ext/chapter_runtime.py`` puts :func:`chapter_runtime_line` under each chapter's title
at build time. Use::

    from supercollapse.runtime import chapter_runtime_line
    print(chapter_runtime_line("chapters/04_supercollapse.ipynb"))
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

_SWEEP = re.compile(r"""load_sweep\(\s*["']([\w.-]+)["']\s*(?:,\s*(?:scale\s*=\s*)?["']([\w.-]+)["'])?""")
_DIRECT = re.compile(
    r"""load_(?:runs|ladders)\(\s*results_dir\(\)\s*/\s*["']([\w.-]+)["']\s*/\s*["']([\w.-]+)["']""")
_ALIAS = re.compile(r"""^\s*(\w+)\s*=\s*results_dir\(\)\s*/\s*["']([\w.-]+)["']\s*$""", re.M)
_VIA_ALIAS = re.compile(r"""load_(?:runs|ladders)\(\s*(\w+)\s*/\s*["']([\w.-]+)["']""")


@dataclass(frozen=True)
class GpuTime:
    """Training time of stored results: ``seconds`` summed over their programs, the
    ``devices`` they ran on (short names, e.g. ``"H100"``) and the ``sweeps`` read
    (``"scale/name"``)."""

    seconds: float
    devices: tuple[str, ...]
    sweeps: tuple[str, ...]


def _stamp(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def notebook_cpu_seconds(nb: Mapping) -> float | None:
    """Wall time of a notebook's last execution: the last code cell's ``shell.execute_reply``
    minus the first one's ``iopub.execute_input`` (``metadata.execution``); ``None`` when a code
    cell that the client runs (not empty, not tagged ``skip-execution``) has no such record
    (never executed, changed since, or executed without timing).

    >>> cell = lambda a, b: {"cell_type": "code", "source": "1", "metadata": {"execution": {
    ...     "iopub.execute_input": a, "shell.execute_reply": b}}}
    >>> notebook_cpu_seconds({"cells": [cell("2026-01-01T00:00:00Z", "2026-01-01T00:00:05Z"),
    ...                                 cell("2026-01-01T00:00:05Z", "2026-01-01T00:01:30Z")]})
    90.0
    """
    starts, ends = [], []
    for cell in nb.get("cells", []):
        if (cell.get("cell_type") != "code" or not "".join(cell.get("source", "")).strip()
                or "skip-execution" in cell.get("metadata", {}).get("tags", [])):
            continue  # cells the Jupyter client does not run
        rec = cell.get("metadata", {}).get("execution", {})
        if "iopub.execute_input" not in rec or "shell.execute_reply" not in rec:
            return None
        starts.append(_stamp(rec["iopub.execute_input"]))
        ends.append(_stamp(rec["shell.execute_reply"]))
    if not starts:
        return None
    return (max(ends) - min(starts)).total_seconds()


def sweeps_read(code: str) -> list[str]:
    """The stored sweeps (``"scale/name"``, in order of first mention) that ``code`` reads.

    >>> sweeps_read('a = load_sweep("collapse")\\nLM = results_dir() / "lm-full"\\n'
    ...             'b = load_sweep("noise", scale="lm-full"); c = load_runs(LM / "lr")')
    ['full/collapse', 'lm-full/noise', 'lm-full/lr']
    """
    aliases = dict(_ALIAS.findall(code))
    found: list[tuple[int, str]] = []
    for m in _SWEEP.finditer(code):
        found.append((m.start(), f"{m.group(2) or 'full'}/{m.group(1)}"))
    for m in _DIRECT.finditer(code):
        found.append((m.start(), f"{m.group(1)}/{m.group(2)}"))
    for m in _VIA_ALIAS.finditer(code):
        if m.group(1) in aliases:
            found.append((m.start(), f"{aliases[m.group(1)]}/{m.group(2)}"))
    out: list[str] = []
    for _, sweep in sorted(found):
        if sweep not in out:
            out.append(sweep)
    return out


def _device(kind: str) -> str:
    """``"NVIDIA H100 80GB HBM3"`` -> ``"H100"``."""
    words = kind.replace("NVIDIA", "").split()
    return words[0] if words else kind


def gpu_time(results: str | Path, sweeps: Iterable[str]) -> GpuTime:
    """Sum of ``meta["program"]["wall_seconds"]`` over the distinct training programs of the
    runs in ``results/<sweep>/`` for each sweep (a run without a program record counts its own
    ``meta["wall_seconds"]``); runs whose ``meta["backend"]`` is ``"cpu"`` are left out, and so
    are sweeps with no GPU run. Reads only the runs' headers."""
    results = Path(results)
    programs: dict[tuple[str, ...], float] = {}
    devices: list[str] = []
    used: list[str] = []
    for sweep in sweeps:
        gpu_runs = 0
        for f in sorted((results / sweep).glob("*.npz")):
            with np.load(f, allow_pickle=False) as data:
                meta = json.loads(str(data["header"])).get("meta", {})
            if meta.get("backend", "gpu") == "cpu":
                continue
            gpu_runs += 1
            program = meta.get("program") or {}
            key = (sweep, *program.get("run_ids", [f.stem]))
            programs[key] = float(program.get("wall_seconds", meta.get("wall_seconds", 0.0)))
            dev = _device(str(meta.get("device_kind", "GPU")))
            if dev not in devices:
                devices.append(dev)
        if gpu_runs:
            used.append(sweep)
    return GpuTime(sum(programs.values()), tuple(sorted(devices)), tuple(used))


def _duration(seconds: float) -> str:
    """``"40 s"``, ``"2.5 min"``, ``"39 min"``, ``"1.4 h"``.

    >>> [_duration(s) for s in (12.3, 150, 2340, 6000)]
    ['12 s', '2.5 min', '39 min', '1.7 h']
    """
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 600:
        return f"{seconds / 60:.1f} min"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def runtime_line(cpu_seconds: float | None, gpu: GpuTime | None) -> str:
    """The sentence at the top of a chapter page (MyST Markdown).

    >>> runtime_line(95.0, GpuTime(558.0, ("H100",), ("full/collapse",)))
    '**Runs on** a CPU in about 1.6 min (quick scale, as last executed). The stored results it reads (`full/collapse`) took 9.3 min of GPU time to train (H100).'
    >>> runtime_line(20.0, None)
    '**Runs on** a CPU in about 20 s (quick scale, as last executed). It reads no results trained on a GPU.'
    """
    cpu = ("a CPU in about " + _duration(cpu_seconds) if cpu_seconds is not None
           else "a CPU (its execution time is not recorded)")
    text = f"**Runs on** {cpu} (quick scale, as last executed)."
    if gpu is None or not gpu.sweeps:
        return text + " It reads no results trained on a GPU."
    names = ", ".join(f"`{s}`" for s in gpu.sweeps)
    devices = " and ".join(gpu.devices) or "GPU"
    return (f"{text} The stored results it reads ({names}) took {_duration(gpu.seconds)} of GPU "
            f"time to train ({devices}).")


def chapter_runtime_line(notebook: str | Path, results: str | Path | None = None) -> str:
    """:func:`runtime_line` of a chapter notebook: its recorded CPU time
    (:func:`notebook_cpu_seconds`) and the GPU time of the sweeps its code reads
    (:func:`sweeps_read`, :func:`gpu_time`) under ``results`` (default
    :func:`supercollapse.paths.results_dir`)."""
    nb = json.loads(Path(notebook).read_text(encoding="utf8"))
    code = "\n".join("".join(c.get("source", "")) for c in nb.get("cells", [])
                     if c.get("cell_type") == "code")
    if results is None:
        from .paths import results_dir

        results = results_dir()
    sweeps = sweeps_read(code)
    return runtime_line(notebook_cpu_seconds(nb), gpu_time(results, sweeps) if sweeps else None)
