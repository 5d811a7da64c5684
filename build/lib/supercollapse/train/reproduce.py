"""Retrain stored runs from their own configs and compare the curves (``reproduce``).

A run trained in one program with others (``meta["program"]``) is retrained with its whole
group: that is what makes the rerun bit for bit. Pass: bit for bit, or within ``sigma_tol`` seed
spreads at every evaluation (``rtol`` for single-seed runs). When the rerun's device kind
differs from the stored run's, a run outside that tolerance still passes if every verdict that
depends on it is unchanged: its ladder's Delta < sigma fraction and label (:func:`verdict_shift`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..results import (
    ResultsError,
    RunResult,
    by_variant,
    compare_curves,
    load_run,
    load_runs,
    run_files,
    to_ladder,
    variant,
)


def stored_files(paths: list[str], sample: int | None = None, seed: int = 0) -> list[Path]:
    """Run files named directly or found in directories; optionally a random sample of them."""
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files += run_files(p, recursive=True)
        elif p.is_file():
            files.append(p)
        else:
            raise ResultsError(f"{p}: no such run file or results directory")
    if not files:
        raise ResultsError(f"no run files (.npz) in {' '.join(paths)}")
    if sample is not None and sample < len(files):
        pick = np.random.default_rng(seed).choice(len(files), size=sample, replace=False)
        files = [files[i] for i in sorted(pick)]
    return files


def program_of(run: RunResult) -> tuple[str, ...]:
    """The run ids trained in one program with ``run`` (itself alone if none are recorded)."""
    return tuple(run.meta.get("program", {}).get("run_ids", [run.config.run_id()]))


def deal_programs(files: list[Path], index: int, count: int) -> list[Path]:
    """The files of shard ``index`` of ``count``: whole programs, dealt by
    :func:`~supercollapse.train.sweep.deal` on the stored programs' wall times."""
    from .sweep import deal

    programs: dict[tuple[str, ...], list[Path]] = {}
    cost: dict[tuple[str, ...], float] = {}
    for f in files:
        run = load_run(f)
        key = (str(Path(f).parent), *program_of(run))
        programs.setdefault(key, []).append(f)
        cost[key] = float(run.meta.get("program", {}).get("wall_seconds")
                          or run.meta.get("wall_seconds") or 0.0)
    keys = sorted(programs)
    shards = deal([cost[k] for k in keys], count)
    return sorted(f for k, s in zip(keys, shards, strict=True) if s == index for f in programs[k])


def _label(frac: float, ratio: float) -> str:
    """check_scaling's thresholds on the point estimates."""
    return "supercollapse" if frac >= 0.75 else "collapse" if ratio <= 1.5 else "broken"


def verdict_shift(path: Path, stored: RunResult, fresh: RunResult, x_min: float = 0.2,
                  ) -> dict | None:
    """The verdict of the run's ladder (its variant's runs in its folder) with the stored and
    with the rerun curve: ``{"frac_below": [stored, rerun], "label": [...], "same": bool}``;
    ``None`` when the ladder has fewer than 2 sizes."""
    from ..analysis.collapse import verdict_table

    runs = by_variant(load_runs(Path(path).parent)).get(variant(stored), [])
    if len(runs) < 2:
        return None
    me = stored.config.run_id()
    ladders = {"stored": to_ladder(runs),
               "rerun": to_ladder([fresh if r.config.run_id() == me else r for r in runs])}
    table = verdict_table(ladders, drop_smallest=(0,), x_min=x_min)
    s = [table[k, len(runs)] for k in ("stored", "rerun")]
    labels = [_label(v.frac_below, v.median_ratio) for v in s]
    return {"ladder": f"{Path(path).parent.name}/{variant(stored)}",
            "frac_below": [v.frac_below for v in s], "label": labels,
            "same": labels[0] == labels[1]}


def reproduce(files: list[Path], *, rtol: float = 1e-4, sigma_tol: float = 0.1,
              log: Path | None = None, echo: Callable[[str], None] = print) -> int:
    """Retrain and compare every file; return how many failed. With ``log``, one JSON line per
    compared run is appended as soon as it is compared, and runs already there are skipped."""
    from .engine import train_many

    done: dict[str, dict] = {}
    if log is not None and log.exists():
        for n, line in enumerate(log.read_text(encoding="utf8").splitlines(), 1):
            try:
                rec = json.loads(line)
                done[rec["path"]] = rec
            except (json.JSONDecodeError, KeyError, TypeError):
                echo(f"{log}:{n}: ignoring an unreadable line (a write cut short?)")
    failed, t0 = 0, time.time()
    retrained: dict[tuple[str, ...], list] = {}
    for path in files:
        if str(path) in done:
            failed += not done[str(path)]["passed"]
            echo(f"{path}: {'passed' if done[str(path)]['passed'] else 'FAILED'} (from {log})")
            continue
        stored = load_run(path)
        group = program_of(stored)
        if group not in retrained:
            configs = [stored.config if i == stored.config.run_id()
                       else load_run(Path(path).parent / f"{i}.npz").config for i in group]
            retrained[group] = train_many(configs)
        fresh = retrained[group][group.index(stored.config.run_id())]
        ok = True
        was, now = stored.meta.get("device_kind"), fresh.meta.get("device_kind")
        rec = {"path": str(path), "stored_on": was, "rerun_on": now,
               "xla_flags": fresh.meta.get("xla_flags"), "curves": {}}
        for key in ("train_loss", "test_loss"):
            c = compare_curves(stored.curves[key], fresh.curves[key], key)
            ok &= c.passes(rtol, sigma_tol)
            rec["curves"][key] = {"bitwise": c.bitwise, "max_rel": c.max_rel,
                                  "max_sigma": c.max_sigma}
            echo(f"{path}: {key} {'bitwise equal' if c.bitwise else 'differs'}; max relative "
                 f"difference {c.max_rel:.2e}, max {c.max_sigma:.3f} seed spreads "
                 f"(stored on {was}, now on {now})")
        if not ok and was != now:  # another device kind: do the verdicts move?
            shift = verdict_shift(Path(path), stored, fresh)
            rec["verdicts"] = shift
            if shift is not None:
                ok = shift["same"]
                f0, f1 = shift["frac_below"]
                echo(f"{path}: another device kind; the verdict of {shift['ladder']} "
                     f"{'is unchanged' if ok else 'CHANGES'}: Delta < sigma on {100 * f0:.0f}% "
                     f"({shift['label'][0]}) with the stored run, {100 * f1:.0f}% "
                     f"({shift['label'][1]}) with the rerun")
        failed += not ok
        if log is not None:
            rec["passed"] = bool(ok)
            with open(log, "a", encoding="utf8") as f:  # one whole line per run
                f.write(json.dumps(rec) + "\n")
    verdict = "reproduced" if not failed else f"NOT reproduced ({failed} of {len(files)} runs)"
    echo(f"{verdict}: {len(files)} run(s) in {time.time() - t0:.0f} s; criterion: bitwise, or "
         f"within {sigma_tol:g} seed spreads at every evaluation (rtol={rtol:g} for single-seed "
         "runs), or, on another device kind, every verdict of the run's ladder unchanged")
    return failed
