"""Run a list of configs, skipping finished ones: a killed sweep resumes where it stopped.

Each config is one run file ``<run_id>.npz`` (all its seeds), written atomically. Configs
of the same shapes and length are trained together in one compiled program
(:func:`~supercollapse.train.engine.train_many`), so a sweep compiles once per shape. A
finished file is never recomputed, so re-running the same command after a crash or a time
limit loses at most the group of runs in progress, and nothing of a long group: groups of
at least ``checkpoint_min_steps`` steps save Orbax checkpoints under ``<out>/.checkpoints``
and resume from the last one; a group's checkpoints are deleted once its files are written.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import jax

from ..results import load_run, run_path, save_run
from .checkpoints import group_checkpoint_dir
from .config import ConfigError, TrainConfig
from .engine import Trainer, plan_groups, total_steps, train_many, training_flops

CHECKPOINTS = ".checkpoints"
# The folder of JAX's persistent compilation cache for sweeps, when the command line gives none.
COMPILE_CACHE_ENV = "SUPERCOLLAPSE_COMPILE_CACHE"


def use_compile_cache(path: str | Path | None = None, *,
                      min_compile_seconds: float = 1.0) -> Path | None:
    """Turn on JAX's persistent compilation cache in ``path`` for this process (opt-in).

    ``path`` defaults to the environment variable ``SUPERCOLLAPSE_COMPILE_CACHE``; with neither,
    nothing changes and the result is ``None``. A program that took at least
    ``min_compile_seconds`` to compile is written there, and a later process (another width's
    sweep, a resumed sweep, a shard) that builds the same program on the same device and JAX
    version loads it instead of compiling. Compilation never changes what a program computes,
    so the curves are the same either way. Returns the cache folder.
    """
    path = path or os.environ.get(COMPILE_CACHE_ENV) or None
    if path is None:
        return None
    from jax.experimental.compilation_cache import compilation_cache

    folder = Path(path).expanduser().resolve()
    folder.mkdir(parents=True, exist_ok=True)
    jax.config.update("jax_compilation_cache_dir", str(folder))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", float(min_compile_seconds))
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)  # any size
    compilation_cache.reset_cache()  # JAX decides once per process; decide again
    return folder


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


def group_flops(group: Sequence[TrainConfig]) -> float:
    """Model FLOPs of a group of :func:`~supercollapse.train.engine.plan_groups` (its runs share
    shapes and steps: one seed's FLOPs times the group's seeds)."""
    return training_flops(group[0].replace(seeds=(0,))) * sum(len(c.seeds) for c in group)


# Planning guide for one H100 alone (deterministic ops): a group of runs trained together takes
# about GROUP_SECONDS to start (compilation) plus, per optimiser step, STEP_SECONDS and its model
# FLOPs at FLOPS_PER_SECOND. Fitted to the program times of results/full/ladder (3 seeds per
# program; 7 % above their sum): within 8 % for widths 360 and 564, 15-45 % long for widths
# 108-240 (the estimate errs long); a guide for budgeting, not a benchmark.
H100_GROUP_SECONDS, H100_STEP_SECONDS, H100_FLOPS_PER_SECOND = 4.0, 0.7e-3, 8.6e13


def estimated_seconds(group: Sequence[TrainConfig]) -> float:
    """Estimated wall time (s) of one group (:func:`~supercollapse.train.engine.plan_groups`)
    alone on one H100: ``H100_GROUP_SECONDS + steps * H100_STEP_SECONDS + FLOPs /
    H100_FLOPS_PER_SECOND``.

    >>> cs = [TrainConfig(width=8, depth=1, samples=32 * 1000, batch_size=32)]
    >>> round(estimated_seconds(cs), 2)
    4.7
    """
    steps = total_steps(group[0])
    return H100_GROUP_SECONDS + steps * H100_STEP_SECONDS + group_flops(group) / H100_FLOPS_PER_SECOND


def deal(costs: Sequence[float], count: int) -> list[int]:
    """The shard (of ``count``) of each item: items dealt largest cost first, each to the shard
    with the least cost so far (ties to the lower index), so that the shards finish together.

    >>> deal([1.0, 5.0, 3.0, 2.0], 2)
    [0, 0, 1, 1]
    """
    load, shard = [0.0] * count, [0] * len(costs)
    for k in sorted(range(len(costs)), key=lambda k: (-costs[k], k)):
        shard[k] = min(range(count), key=lambda j: (load[j], j))
        load[shard[k]] += costs[k]
    return shard


def shard_configs(configs: Sequence[TrainConfig], index: int, count: int) -> list[TrainConfig]:
    """The configs of shard ``index`` of ``count``: whole groups
    (:func:`~supercollapse.train.engine.plan_groups`), dealt by :func:`deal` on their
    :func:`group_flops`, so that ``count`` processes, one per device, finish at about the same
    time. The deal depends only on the
    sweep's configs, not on which runs are finished, so a resumed shard trains the same runs.

    >>> cs = [TrainConfig(width=w, depth=1, samples=640, batch_size=32) for w in (8, 16, 32)]
    >>> [[c.width for c in shard_configs(cs, i, 2)] for i in range(2)]
    [[32], [16, 8]]
    """
    if not (isinstance(count, int) and count >= 1 and isinstance(index, int)
            and 0 <= index < count):
        raise ValueError(f"shard {index}/{count}: need 0 <= index < count")
    groups = [[configs[i] for i in g] for g in plan_groups(configs)]
    cost = [group_flops(g) for g in groups]
    shards = deal(cost, count)
    order = sorted(range(len(groups)), key=lambda k: (-cost[k], k))  # largest group first
    return [c for k in order if shards[k] == index for c in groups[k]]


@dataclass(frozen=True)
class PlannedGroup:
    """Configs trained together in one program (:func:`plan`)."""

    configs: list[TrainConfig]
    steps: int
    flops: float
    seconds: float  # estimated alone on one H100 (estimated_seconds)

    @property
    def variants(self) -> list[str]:
        return sorted({str(c.tags.get("variant", "")) for c in self.configs})


def _check(configs: Sequence[TrainConfig]) -> None:
    """Validate every config; refuse a sweep with two identical runs."""
    for cfg in configs:
        cfg.validate()
    ids = [c.run_id() for c in configs]
    if len(set(ids)) != len(ids):
        raise ConfigError("the sweep contains identical configs (equal run ids)")


def plan(configs: Sequence[TrainConfig], shard: tuple[int, int] | None = None,
         ) -> list[PlannedGroup]:
    """The groups a sweep (or its ``shard``) trains, in order, with their steps and model FLOPs;
    nothing is trained (``sweep --dry-run``)."""
    _check(configs)
    mine = shard_configs(configs, *shard) if shard else list(configs)
    groups = [[mine[i] for i in g] for g in plan_groups(mine)]
    return [PlannedGroup(g, total_steps(g[0]), group_flops(g), estimated_seconds(g)) for g in groups]


def compile_in_background(group: Sequence[TrainConfig], draw_ahead: int = 1) -> threading.Thread:
    """Build ``group``'s :class:`~.engine.Trainer` and compile its programs in a thread
    (:meth:`~.engine.Trainer.compile`), so that the group later starts without compiling.
    The programs are the ones the group would compile itself, so its curves do not change. An
    error is left for the group's own training to raise, with its context."""
    def work() -> None:
        try:
            Trainer(list(group), draw_ahead=draw_ahead).compile()
        except Exception:  # noqa: BLE001 - the group's own Trainer raises it in the main thread
            pass

    thread = threading.Thread(target=work, name="compile-ahead", daemon=True)
    thread.start()
    return thread


def run_sweep(configs: Sequence[TrainConfig], out_dir: str | Path, *,
              max_minutes: float | None = None, progress: bool = True,
              checkpoint_min_steps: int = 20_000, checkpoint_every: int = 10,
              shard: tuple[int, int] | None = None, draw_ahead: int = 1,
              compile_ahead: bool = False) -> SweepReport:
    """Train every config not yet in ``out_dir``; stop starting new groups after ``max_minutes``.

    All configs are validated before any compute. A finished file that cannot be read raises
    :class:`~supercollapse.results.ResultsError` naming it. Groups of at least
    ``checkpoint_min_steps`` steps checkpoint at every ``checkpoint_every``-th evaluation.
    ``shard=(i, n)`` trains only shard ``i`` of ``n`` (:func:`shard_configs`): run ``n``
    processes, one per GPU (``CUDA_VISIBLE_DEVICES=i``), into the same ``out_dir``.
    ``draw_ahead``: batches drawn that many steps at a time (the same curves;
    :class:`~.engine.Trainer`). ``compile_ahead``: while a group trains, compile the next
    group's programs in a thread (:func:`compile_in_background`; the same programs, so the
    same curves), which hides each compilation but the first behind the training before it.
    """
    _check(configs)
    if shard is not None:
        configs = shard_configs(configs, *shard)
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
    groups = [[todo[i] for i in g] for g in plan_groups(todo)]
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=len(todo), desc=f"sweep {out_dir.name}", unit="run")
    ahead: threading.Thread | None = None
    for k, group in enumerate(groups):
        if max_minutes is not None and time.time() - t0 > 60 * max_minutes:
            report.remaining = [c.run_id() for g in groups[k:] for c in g]
            break
        if ahead is not None:  # this group's compilation, started during the previous group
            ahead.join()
        ahead = (compile_in_background(groups[k + 1], draw_ahead)
                 if compile_ahead and k + 1 < len(groups) else None)
        ckpt = out_dir / CHECKPOINTS if total_steps(group[0]) >= checkpoint_min_steps else None
        results = train_many(group, progress=progress, checkpoint_dir=ckpt,
                             checkpoint_every=checkpoint_every, draw_ahead=draw_ahead)
        if jax.process_index() == 0:  # under jax.distributed, one process writes
            for result in results:
                save_run(result, run_path(out_dir, result.config))
        if ckpt is not None:  # the files are written: the group's checkpoints can go
            shutil.rmtree(group_checkpoint_dir(ckpt, group), ignore_errors=True)
            try:  # another shard's process may be writing its own group's folder here
                if ckpt.is_dir() and not any(ckpt.iterdir()):
                    ckpt.rmdir()
            except OSError:
                pass
        for result in results:
            report.done.append(result.config.run_id())
            if result.diverged.any():
                report.diverged.append(result.config.run_id())
        if bar is not None:
            bar.update(len(group))
    if ahead is not None:  # a stop by max_minutes: let the thread finish before returning
        ahead.join()
    if bar is not None:
        bar.close()
    report.seconds = time.time() - t0
    return report
