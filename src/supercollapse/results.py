"""The record of a run (:class:`RunResult`) and its storage. Imports without JAX.

Saving and loading runs: one compressed ``.npz`` file per config, written atomically.

Each file holds the curves (numpy arrays) and a JSON header with the full config, the
parameter count, the number of steps, which seeds diverged and the provenance. A file is
first written under a temporary name and then renamed, so a crash or kill never leaves a
half-written result behind.
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .analysis.ladder import Ladder
from .train.config import ConfigError, TrainConfig

FORMAT_VERSION = 1
PER_EVAL = ("step", "samples", "compute", "lr", "tau")


@dataclass
class RunResult:
    """Curves of one config, all seeds. Per-seed arrays have shape (n_seeds, n_evals)."""

    config: TrainConfig
    n_params: int
    total_steps: int
    curves: dict[str, np.ndarray]
    diverged: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def seeds(self) -> tuple[int, ...]:
        return self.config.seeds



class ResultsError(ValueError):
    """A results file that cannot be read; the message names the file and the problem."""


def run_path(out_dir: str | Path, cfg: TrainConfig) -> Path:
    return Path(out_dir) / f"{cfg.run_id()}.npz"


def save_run(result: RunResult, path: str | Path) -> Path:
    """Write ``result`` to ``path`` atomically (temporary file + rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = {"format_version": FORMAT_VERSION, "config": result.config.to_dict(),
              "n_params": result.n_params, "total_steps": result.total_steps,
              "diverged": result.diverged.tolist(), "meta": result.meta}
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".npz")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez_compressed(f, header=np.array(json.dumps(header)), **result.curves)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_run(path: str | Path) -> RunResult:
    """Read one run; raise :class:`ResultsError` naming the file if it is corrupt."""
    path = Path(path)
    if not path.is_file():
        raise ResultsError(f"{path}: no such results file")
    if not zipfile.is_zipfile(path):
        raise ResultsError(f"{path}: not a readable results file (not an .npz archive); move "
                           "it out of the results folder or delete it")
    try:
        with np.load(path, allow_pickle=False) as data:
            header = json.loads(str(data["header"]))
            curves = {k: data[k] for k in data.files if k != "header"}
    except Exception as e:  # any failure to parse means a corrupt file
        raise ResultsError(f"{path}: not a readable supercollapse results file "
                           f"({type(e).__name__}: {e}); delete it and re-run the sweep to "
                           "regenerate it") from e
    if not isinstance(header, dict):
        raise ResultsError(f"{path}: the header is not a JSON object")
    if header.get("format_version") != FORMAT_VERSION:
        raise ResultsError(f"{path}: unsupported format_version "
                           f"{header.get('format_version')!r} (expected {FORMAT_VERSION})")
    try:
        cfg = TrainConfig.from_dict(header["config"])
        n_params, total_steps = int(header["n_params"]), int(header["total_steps"])
        diverged = np.asarray(header["diverged"], bool)
    except (ConfigError, KeyError, TypeError, ValueError) as e:
        raise ResultsError(f"{path}: invalid header ({type(e).__name__}: {e})") from e
    for k in PER_EVAL + ("test_loss",):
        if k not in curves:
            raise ResultsError(f"{path}: missing curve {k!r}")
    n_seeds, n_evals = len(cfg.seeds), len(curves["step"])
    if diverged.shape != (n_seeds,):
        raise ResultsError(f"{path}: 'diverged' has {diverged.size} entries for "
                           f"{n_seeds} seed(s)")
    for k, v in curves.items():
        want = (n_evals,) if k in PER_EVAL else (n_seeds, n_evals)
        if v.shape != want:
            raise ResultsError(f"{path}: curve {k!r} has shape {v.shape}, expected {want}")
    return RunResult(cfg, n_params, total_steps, curves, diverged, header.get("meta", {}))


def run_files(directory: str | Path, recursive: bool = False) -> list[Path]:
    """The run files of ``directory`` (``*.npz``, sorted; with ``recursive``, of its
    sub-folders too), leaving out hidden names: the ``.tmp-*`` of a write cut short and
    ``.checkpoints``."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ResultsError(f"{directory}: no such results directory")
    found = directory.rglob("*.npz") if recursive else directory.glob("*.npz")
    return sorted(p for p in found
                  if not any(part.startswith(".") for part in p.relative_to(directory).parts))


def migrate_ids(directory: str | Path) -> dict[str, str]:
    """Rename every run file under ``directory`` (recursively) to its config's current
    :meth:`~supercollapse.train.config.TrainConfig.run_id`; return ``{old: new}`` of the
    files renamed.

    Each rename is one atomic ``os.replace``; a file already named by its id is left alone,
    so running it again changes nothing. A file whose new name is taken by a different run
    raises :class:`ResultsError` naming both.
    """
    renamed = {}
    for path in run_files(directory, recursive=True):
        cfg = load_run(path).config
        new = path.with_name(f"{cfg.run_id()}.npz")
        if new == path:
            continue
        if new.exists():
            if load_run(new).config != cfg:
                raise ResultsError(f"{path}: its new name {new.name} is taken by another run")
            raise ResultsError(f"{path}: the same run is stored again as {new.name}; "
                               "delete one of them")
        os.replace(path, new)
        renamed[path.stem] = new.stem
    return renamed


def load_runs(directory: str | Path) -> list[RunResult]:
    """All runs in a directory, sorted by (width, schedule, run id)."""
    runs = [load_run(p) for p in run_files(directory)]
    return sorted(runs, key=lambda r: (r.config.width, r.config.schedule, r.config.run_id()))


def to_frame(runs: list[RunResult]) -> Any:
    """One long DataFrame: a row per (run, seed, evaluation point).

    Needs pandas (the ``book`` extra). Columns: the config fields that vary between ``runs`` (plus ``width`` and
    ``schedule``), ``run_id``, ``n_params``, ``seed``, ``diverged`` and every curve.
    """
    import pandas as pd  # the book's extra, not a dependency of the package

    if not runs:
        return pd.DataFrame()
    dicts = [r.config.to_dict() for r in runs]
    varying = [k for k in dicts[0] if k not in ("seeds", "tags")
               and len({json.dumps(d[k]) for d in dicts}) > 1]
    keep = list(dict.fromkeys(["width", "schedule", *varying]))
    frames = []
    for r, d in zip(runs, dicts, strict=True):
        for j, seed in enumerate(r.seeds):
            cols = {k: (v if k in PER_EVAL else v[j]) for k, v in r.curves.items()}
            f = pd.DataFrame(cols)
            for k in keep:
                f[k] = d[k]
            f["run_id"], f["n_params"] = r.config.run_id(), r.n_params
            f["seed"], f["diverged"] = seed, bool(r.diverged[j])
            frames.append(f)
    return pd.concat(frames, ignore_index=True)


def variant(run: RunResult) -> str:
    """The variant a run belongs to: its ``tags["variant"]`` (a schedule label, a broken
    setting, ...), else its ``schedule``."""
    return str(run.config.tags.get("variant", run.config.schedule))


def by_variant(runs: list[RunResult]) -> dict[str, list[RunResult]]:
    """``{variant: runs sorted by size}``, variants in order of first appearance."""
    groups: dict[str, list[RunResult]] = {}
    for r in runs:
        groups.setdefault(variant(r), []).append(r)
    return {k: sorted(v, key=lambda r: r.n_params) for k, v in groups.items()}


def select_runs(runs: list[RunResult], variant_name: str, widths=None) -> list[RunResult]:
    """The ladder of one variant (:func:`variant`), cut to ``widths`` when given, sorted by
    size: ``[r for r in runs if variant(r) == variant_name and r.config.width in widths]``.

    Raises :class:`ResultsError` when a requested width is missing, or when a width has two runs
    of the variant (a ladder has one run per size).
    """
    out = sorted((r for r in runs if variant(r) == variant_name
                  and (widths is None or r.config.width in widths)), key=lambda r: r.n_params)
    got = [r.config.width for r in out]
    if len(set(got)) != len(got):
        raise ResultsError(f"select_runs: variant {variant_name!r} has several runs of a width: {got}")
    missing = sorted(set(widths or ()) - set(got))
    if missing:
        raise ResultsError(f"select_runs: variant {variant_name!r} has no runs of widths {missing}")
    return out


def load_sweep(name: str, scale: str = "full") -> dict[str, list[RunResult]]:
    """A stored sweep of the book, ``results/<scale>/<name>/`` (see
    :func:`supercollapse.paths.results_dir`), grouped by :func:`variant`:
    ``{variant: runs sorted by size}``."""
    from .paths import results_dir

    return by_variant(load_runs(results_dir() / scale / name))


def in_size_range(runs: list[RunResult], sizes: Any) -> list[RunResult]:
    """The runs whose parameter count lies between the smallest and the largest of ``sizes``
    (both included), e.g. the sizes a horizon law was fitted on (``law.json``'s ``"sizes"``):
    the ladder on which the law is an interpolation, not an extrapolation.

    >>> from types import SimpleNamespace as NS
    >>> [r.n_params for r in in_size_range([NS(n_params=p) for p in (10, 20, 40, 80)], [20, 40])]
    [20, 40]
    """
    lo, hi = float(np.min(sizes)), float(np.max(sizes))
    return [r for r in runs if lo <= r.n_params <= hi]


def longest_per_size(runs: list[RunResult]) -> list[RunResult]:
    """One run per size, sorted by size: the longest, where several sweeps hold runs of one size
    that differ only in their length (a horizon run continued further by a second sweep: the
    shorter is the start of the longer one). Raises :class:`ResultsError` for two runs of one
    size that differ in more than their length (another rate, schedule or seed set)."""
    best: dict[int, RunResult] = {}
    for r in runs:
        other = best.get(r.n_params)
        if other is not None:
            a, b = (x.config.replace(samples=0, n_evals=0, tags={}) for x in (r, other))
            if a != b:
                raise ResultsError(f"two runs of {r.n_params} parameters differ in more than their "
                                   f"length ({r.config.run_id()}, {other.config.run_id()})")
        if other is None or r.total_steps > other.total_steps:
            best[r.n_params] = r
    return [best[p] for p in sorted(best)]


def to_ladder(runs: list[RunResult], key: str = "test_loss") -> Ladder:
    """The :class:`~supercollapse.analysis.ladder.Ladder` of runs of several sizes, sorted by
    size: curve ``key`` and compute without the initial point (compute 0), parameter counts,
    labels ``width=...``, whether the learning rate decayed (it ends below half its peak in
    every run) and the seed protocol (one for all runs)."""
    runs = sorted(runs, key=lambda r: r.n_params)
    protocols = {r.config.seed_protocol for r in runs}
    if len(protocols) > 1:
        raise ResultsError(f"to_ladder: runs of different seed protocols {sorted(protocols)}")
    lrs = [np.asarray(r.curves["lr"], dtype=float) for r in runs]
    return Ladder([(r.curves["compute"][1:], r.curves[key][:, 1:]) for r in runs],
                  sizes=[float(r.n_params) for r in runs],
                  labels=[f"width={r.config.width}" for r in runs],
                  decay=all(v[-1] < 0.5 * v.max() for v in lrs),
                  seed_protocol=protocols.pop() if protocols else "independent",
                  samples=[r.curves["samples"][1:] for r in runs])


def load_ladders(directory: str | Path, key: str = "test_loss") -> dict[str, Ladder]:
    """``{variant: Ladder}`` of the runs in ``directory`` (:func:`by_variant`, :func:`to_ladder`),
    variants sorted by name."""
    groups = by_variant(load_runs(directory))
    return {k: to_ladder(groups[k], key) for k in sorted(groups)}


@dataclass(frozen=True)
class CurveComparison:
    """How far a rerun's curve lies from the stored one (:func:`compare_curves`)."""

    key: str
    max_rel: float  # max over seeds and evaluations of |a - b| / |a|
    max_sigma: float  # max over seeds and evaluations of |a - b| / sigma (NaN: no seed spread)
    bitwise: bool

    def passes(self, rtol: float, sigma_tol: float) -> bool:
        """Bitwise, or within ``sigma_tol`` seed spreads at every evaluation, or (single-seed
        runs, where sigma is undefined) within ``rtol``."""
        if self.bitwise:
            return True
        if np.isnan(self.max_sigma):
            return self.max_rel <= rtol
        return self.max_sigma <= sigma_tol


def compare_curves(stored: np.ndarray, fresh: np.ndarray, key: str = "test_loss",
                   ) -> CurveComparison:
    r"""Compare a stored curve ``[seeds, evals]`` with a rerun of the same config.

    Besides the relative difference :math:`|a - b| / |a|`, the difference is measured in units
    of the run's own seed spread at each evaluation,
    :math:`\max_{s, i} |a_{s,i} - b_{s,i}| / \sigma_i` with :math:`\sigma_i` the standard
    deviation over seeds of the stored curve at evaluation :math:`i`: a rerun whose difference
    is a small fraction of :math:`\sigma` cannot move any verdict that compares against
    :math:`\sigma`. Evaluations where the seeds agree exactly (:math:`\sigma_i = 0`, e.g. the
    initial loss of a zero-initialised readout) must agree exactly. NaN (diverged) entries must
    be NaN in both.

    >>> a = np.array([[1.0, 0.50, 0.40], [1.0, 0.52, 0.41]])
    >>> c = compare_curves(a, a + np.array([0.0, 1e-4, 0.0]))
    >>> round(c.max_sigma, 3), c.bitwise
    (0.007, False)
    """
    a, b = np.asarray(stored, np.float64), np.asarray(fresh, np.float64)
    if a.shape != b.shape:
        raise ValueError(f"{key}: stored curve has shape {a.shape}, the rerun {b.shape}")
    nan_a, nan_b = np.isnan(a), np.isnan(b)
    if (nan_a != nan_b).any():
        return CurveComparison(key, np.inf, np.inf, False)
    diff = np.where(nan_a, 0.0, np.abs(a - b))
    bitwise = bool(np.array_equal(a, b, equal_nan=True))
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns (diverged seeds)
        max_rel = float(np.nanmax(np.where(nan_a, np.nan, diff / np.abs(a)), initial=0.0))
        if a.shape[0] < 2:
            return CurveComparison(key, max_rel, np.nan, bitwise)
        sigma = np.nanstd(a, axis=0, ddof=1)
        ratio = np.where(sigma > 0, diff / sigma, np.where(diff > 0, np.inf, 0.0))
    return CurveComparison(key, max_rel, float(np.nanmax(ratio, initial=0.0)), bitwise)
