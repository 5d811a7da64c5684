"""Run a list of configs, skipping finished ones: a killed sweep resumes where it stopped.

Each config is one run file ``<run_id>.npz`` (all its seeds). A finished file is never
recomputed, so re-running the same command after a crash or a time limit loses at most
the run that was in progress.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import jax

from ..results import load_run, run_path, save_run
from .config import TrainConfig
from .engine import train


@dataclass
class SweepReport:
    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    diverged: list[str] = field(default_factory=list)
    remaining: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def complete(self) -> bool:
        return not self.remaining

    def summary(self) -> str:
        s = (f"{len(self.done)} run(s) trained, {len(self.skipped)} already finished, "
             f"{len(self.diverged)} with diverged seeds, {self.seconds:.0f} s")
        if self.remaining:
            s += f"; {len(self.remaining)} remaining: run the same command again to resume"
        return s


def run_sweep(configs: Sequence[TrainConfig], out_dir: str | Path, *,
              max_minutes: float | None = None, progress: bool = True) -> SweepReport:
    """Train every config not yet in ``out_dir``; stop starting new runs after ``max_minutes``.

    All configs are validated before any compute. A finished file that cannot be read raises
    :class:`~supercollapse.results.ResultsError` naming it.
    """
    for cfg in configs:
        cfg.validate()
    ids = [c.run_id() for c in configs]
    if len(set(ids)) != len(ids):
        raise ValueError("run_sweep: the sweep contains duplicate configs")
    out_dir = Path(out_dir)
    report, t0 = SweepReport(), time.time()
    todo = []
    for cfg in configs:
        path = run_path(out_dir, cfg)
        if path.exists():
            load_run(path)  # raises a clear error if the finished file is corrupt
            report.skipped.append(cfg.run_id())
        else:
            todo.append(cfg)
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=len(todo), desc=f"sweep {out_dir.name}", unit="run")
    for i, cfg in enumerate(todo):
        if max_minutes is not None and time.time() - t0 > 60 * max_minutes:
            report.remaining = [c.run_id() for c in todo[i:]]
            break
        result = train(cfg, progress=progress)
        if jax.process_index() == 0:  # under jax.distributed, one process writes
            save_run(result, run_path(out_dir, cfg))
        report.done.append(cfg.run_id())
        if result.diverged.any():
            report.diverged.append(cfg.run_id())
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    report.seconds = time.time() - t0
    return report
