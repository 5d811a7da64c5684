"""Scaling-collapse metrics: normalised curves, collapse deviation Delta(x), noise floor sigma(x).

Normalised curve of size ``p`` (paper, Section 2): with ``x = c / c*(p)``,

    l(x, p) = (L(x c*(p), p) - L0) / (L(c*(p), p) - L0).

Supercollapse means the spread of ``l`` across model sizes, ``Delta(x)``, falls below the
seed-to-seed spread of one size, ``sigma(x)`` (the paper: "differences in the normalized curves
across models fall below the noise floor of individual loss curves across random seeds").
The verdict depends on the estimators, so :func:`collapse_metrics` offers several readings:

* ``delta="mean"`` (default): ``Delta(x)`` = standard deviation over sizes of the normalised
  *seed-averaged* curves; ``delta="single"``: RMS over seeds ``k`` of the standard deviation
  over sizes of the single-seed curves ``l(x, p, k)`` (seed ``k`` of every size taken together).
* ``normalization="own"`` (default): every single-seed curve is divided by its *own* end point
  ``L(c*, p, k) - L0`` (noise correlated with the end point cancels); ``"common"``: every seed
  of a size is divided by the size's seed-averaged end point, so ``sigma`` measures the noise
  of the loss curves themselves, on the normalised scale.
* ``sigma``: seed standard deviation (``ddof=1``) of the single-seed curves, pooled over sizes
  as an RMS (``sigma_pool="rms"``, default) or taken from the largest size (``"largest"``).

All standard deviations use ``ddof=1`` (our choice). The exact estimators of the paper could
not be checked against its text from our tools; the defaults follow its verbal definitions
(seed-averaged curves for Delta, individual seeds' curves for sigma) and are documented here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "CollapseResult",
    "CollapseSummary",
    "collapse_metrics",
    "normalize_curve",
    "summarize_collapse",
]


def _end_loss(c: NDArray[np.float64], L: NDArray[np.float64], c_star: float) -> NDArray[np.float64]:
    """Loss at ``c*`` (last axis), interpolated linearly in ``log c`` if needed."""
    if c_star > c[-1] * (1 + 1e-9) or c_star < c[0]:
        raise ValueError(f"c_star={c_star:.4g} is outside the curve's compute range")
    lc = np.log(c)
    flat = L.reshape(-1, L.shape[-1])
    return np.array([np.interp(np.log(c_star), lc, row) for row in flat]).reshape(L.shape[:-1])


def normalize_curve(
    c: ArrayLike, L: ArrayLike, c_star: float, L0: float, *, L_end: float | None = None
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Normalise one loss curve: ``x = c / c*``, ``l = (L - L0) / (L(c*) - L0)``.

    ``L(c*)`` is interpolated linearly in ``log c`` when ``c*`` is not a grid point; pass
    ``L_end`` to normalise by another end value (e.g. a seed average). Points with ``x > 1``
    are dropped.

    >>> x, l = normalize_curve([1.0, 2.0, 4.0], [3.0, 2.0, 1.5], 4.0, L0=1.0)
    >>> [float(v) for v in x], [float(v) for v in l]
    ([0.25, 0.5, 1.0], [4.0, 2.0, 1.0])
    """
    c, L = _check_curve("curve", c, np.asarray(L, dtype=float))
    if not c_star > 0:
        raise ValueError("c_star must be positive")
    end = float(_end_loss(c, L, c_star)) if L_end is None else float(L_end)
    if not end > L0:
        raise ValueError(f"L0={L0:.4g} must be below the end-point loss {end:.4g}")
    keep = c <= c_star * (1 + 1e-9)
    return c[keep] / c_star, (L[keep] - L0) / (end - L0)


def _check_curve(
    name: str, c: ArrayLike, L: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    c = np.asarray(c, dtype=float)
    if c.ndim != 1 or L.shape[-1] != c.size:
        raise ValueError(f"{name}: compute shape {c.shape} does not match loss shape {L.shape}")
    if not (np.all(np.isfinite(c)) and np.all(np.isfinite(L))):
        raise ValueError(f"{name}: compute or loss contains NaN or inf")
    if np.any(c <= 0):
        raise ValueError(f"{name}: compute must be strictly positive")
    if np.any(np.diff(c) <= 0):
        raise ValueError(f"{name}: compute must be strictly increasing")
    return c, L


@dataclass(frozen=True)
class CollapseResult:
    """Normalised curves on a common grid and the two spreads.

    Attributes:
        x: common normalised-compute grid, shape ``(n_x,)``.
        curves: single-seed normalised curves, shape ``(n_sizes, n_seeds_min, n_x)``.
        mean_curves: normalised seed-averaged curves, shape ``(n_sizes, n_x)``.
        delta: collapse deviation ``Delta(x)``.
        sigma: noise floor ``sigma(x)``.
        delta_estimator, normalization, sigma_pool: the estimator options used.
    """

    x: NDArray[np.float64]
    curves: NDArray[np.float64]
    mean_curves: NDArray[np.float64]
    delta: NDArray[np.float64]
    sigma: NDArray[np.float64]
    delta_estimator: str
    normalization: str
    sigma_pool: str


def collapse_metrics(
    curves: Sequence[tuple[ArrayLike, ArrayLike]],
    c_star: ArrayLike,
    L0: float,
    *,
    x: ArrayLike | None = None,
    n_x: int = 200,
    delta: str = "mean",
    normalization: str = "own",
    sigma_pool: str = "rms",
) -> CollapseResult:
    """Collapse deviation ``Delta(x)`` and seed noise floor ``sigma(x)`` of a family of runs.

    Args:
        curves: per model size (ascending), ``(compute, losses)`` with ``compute`` of shape
            ``(n_points,)`` and ``losses`` of shape ``(n_seeds, n_points)`` (1-D = one seed).
        c_star: per-size final compute ``c*(p_i)`` (the normalisation point).
        L0: irreducible loss.
        x: common grid in ``(0, 1]``; default ``n_x`` log-spaced points from the largest
            per-size smallest ``x`` to 1. Curves are interpolated linearly in ``log x`` (our
            choice; the loss itself is interpolated linearly).
        delta, normalization, sigma_pool: estimator options, see the module docstring.

    Equations (``l_k`` = seed ``k``, ``Lbar`` = seed mean, ``sd`` with ``ddof=1``):
    ``Delta_mean(x) = sd_p[(Lbar(x c*) - L0) / (Lbar(c*) - L0)]``;
    ``Delta_single(x) = sqrt(mean_k sd_p[l_k(x, p)]^2)``;
    ``sigma(x) = sqrt(mean_p sd_k[l_k(x, p)]^2)`` (``"rms"``) or ``sd_k`` of the largest size.

    >>> c = np.linspace(1.0, 10.0, 10)
    >>> runs = [(c * s, np.vstack([1 + (c / 10) ** -0.5, 1.01 + (c / 10) ** -0.5])) for s in (1, 2, 4)]
    >>> res = collapse_metrics(runs, [10.0, 20.0, 40.0], L0=0.0, n_x=5)
    >>> bool(np.allclose(res.delta, 0, atol=1e-12)), bool(res.sigma[0] > 0)
    (True, True)
    """
    if delta not in ("mean", "single"):
        raise ValueError(f"delta must be 'mean' or 'single', got {delta!r}")
    if normalization not in ("own", "common"):
        raise ValueError(f"normalization must be 'own' or 'common', got {normalization!r}")
    if sigma_pool not in ("rms", "largest"):
        raise ValueError(f"sigma_pool must be 'rms' or 'largest', got {sigma_pool!r}")
    cs = np.asarray(c_star, dtype=float)
    if len(curves) < 2:
        raise ValueError(f"need at least 2 model sizes, got {len(curves)}")
    if cs.shape != (len(curves),):
        raise ValueError(f"c_star has shape {cs.shape}, expected ({len(curves)},)")
    if not np.all(np.isfinite(cs)) or np.any(cs <= 0):
        raise ValueError("c_star must be finite and positive")
    if not np.isfinite(L0):
        raise ValueError("L0 must be finite")

    checked = []
    for i, (c, L) in enumerate(curves):
        L = np.atleast_2d(np.asarray(L, dtype=float))
        c, L = _check_curve(f"size {i}", c, L)
        checked.append((c, L))
    n_seeds = min(L.shape[0] for _, L in checked)
    if x is None:
        x_lo = max(c[0] / s for (c, _), s in zip(checked, cs, strict=True))
        if x_lo >= 1:
            raise ValueError("curves do not overlap in x = c / c*")
        x = np.geomspace(x_lo, 1.0, n_x)
    x = np.asarray(x, dtype=float)
    if x.ndim != 1 or np.any(x <= 0) or np.any(x > 1 + 1e-12) or not np.all(np.isfinite(x)):
        raise ValueError("x must be a 1-D grid in (0, 1]")

    single = np.empty((len(checked), n_seeds, x.size))
    mean = np.empty((len(checked), x.size))
    for i, ((c, L), s) in enumerate(zip(checked, cs, strict=True)):
        lx = np.log(c / s)
        if x[0] < np.exp(lx[0]) * (1 - 1e-9):
            raise ValueError(f"size {i}: x grid starts below the curve's first point")
        end = _end_loss(c, L, s)  # per seed, shape (n_seeds_i,)
        Lbar, end_bar = L.mean(axis=0), float(end.mean())
        if np.any(end <= L0):
            raise ValueError(f"size {i}: L0={L0:.4g} is not below every end-point loss")
        norm = end[:n_seeds] if normalization == "own" else np.full(n_seeds, end_bar)
        for k in range(n_seeds):
            single[i, k] = (np.interp(np.log(x), lx, L[k]) - L0) / (norm[k] - L0)
        mean[i] = (np.interp(np.log(x), lx, Lbar) - L0) / (end_bar - L0)

    if delta == "mean":
        dev = np.std(mean, axis=0, ddof=1)
    else:
        dev = np.sqrt(np.mean(np.var(single, axis=0, ddof=1), axis=0))
    if n_seeds < 2:
        sig = np.full(x.size, np.nan)
    elif sigma_pool == "rms":
        sig = np.sqrt(np.mean(np.var(single, axis=1, ddof=1), axis=0))
    else:
        sig = np.std(single[-1], axis=0, ddof=1)
    return CollapseResult(x, single, mean, dev, sig, delta, normalization, sigma_pool)


@dataclass(frozen=True)
class CollapseSummary:
    """Summary of ``Delta`` vs ``sigma`` over ``x_min <= x <= x_max``.

    Attributes:
        frac_below: fraction of grid points with ``Delta < sigma``.
        median_delta, median_sigma, mean_delta, mean_sigma: location statistics.
        median_ratio: median of ``Delta / sigma``.
        supercollapse: ``frac_below >= threshold``.
        n_points: grid points used (points where both are 0, e.g. ``x = 1``, are skipped).
    """

    frac_below: float
    median_delta: float
    median_sigma: float
    mean_delta: float
    mean_sigma: float
    median_ratio: float
    supercollapse: bool
    n_points: int


def summarize_collapse(
    result: CollapseResult, *, x_min: float = 0.2, x_max: float = 1.0, threshold: float = 0.5
) -> CollapseSummary:
    """Fraction of ``x`` in ``[x_min, x_max]`` with ``Delta(x) < sigma(x)`` and a verdict.

    Supercollapse ("Delta below sigma over most of x") is declared when that fraction is at
    least ``threshold`` (0.5 by default, our choice). Points where ``Delta = sigma = 0`` (the
    pinned end point under own normalisation) carry no information and are skipped.

    >>> x = np.linspace(0.1, 1.0, 10)
    >>> res = CollapseResult(x, np.zeros((2, 2, 10)), np.zeros((2, 10)), 0.5 * x, x,
    ...                      "mean", "own", "rms")
    >>> s = summarize_collapse(res)
    >>> s.frac_below, s.supercollapse
    (1.0, True)
    """
    sel = (result.x >= x_min) & (result.x <= x_max)
    sel &= np.isfinite(result.delta) & np.isfinite(result.sigma)
    sel &= ~((result.delta == 0) & (result.sigma == 0))
    if not np.any(sel):
        raise ValueError(f"no usable grid points in [{x_min}, {x_max}]")
    d, s = result.delta[sel], result.sigma[sel]
    frac = float(np.mean(d < s))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = float(np.median(d / s))
    return CollapseSummary(
        frac_below=frac, median_delta=float(np.median(d)), median_sigma=float(np.median(s)),
        mean_delta=float(np.mean(d)), mean_sigma=float(np.mean(s)), median_ratio=ratio,
        supercollapse=frac >= threshold, n_points=int(sel.sum()),
    )
