"""Scaling collapse: normalised curves, collapse deviation ``Delta(x)``, noise floor ``sigma(x)``.

Qiu et al. (2025), Section 2 (the paper's equation numbers). For size ``p`` trained to its
horizon ``c*(p)`` with seed ``w``, and ``x = c / c*(p)``::

    l(x, p, w)  = (L(x c*(p), p, w) - L0) / (L(c*(p), p, w) - L0)  (Eq. 1)
    Delta(x)    = V_{p,w}[l(x, p, w)]^(1/2) / E_{p,w}[l(x, p, w)]       (Eq. 2)
    sigma(x, p) = V_w[R(x c*(p), p, w)]^(1/2) / E_w[R(x c*(p), p, w)]   (Eq. 3, R = L - L0)

``E_{p,w}``, ``V_{p,w}`` average over seeds and over the ladder's sizes (equally weighted);
``V_{p,w} = E_p V_w[l] + V_p E_w[l]`` (Eq. 4) splits ``Delta`` into ``delta_within`` and
``delta_between``. Supercollapse (Section 2.5): ``Delta(x) < sigma(x, p)`` for ``x > 1 - delta``.

Our choices (documented on the functions): population variances (``ddof=0``); the verdict pools
``sigma(x, p)`` over sizes as an RMS; curves are interpolated on a common ``x`` grid linearly in
``log x``; ``L0`` from :func:`fit_irreducible_loss`. The alternative readings are options of
:func:`collapse_metrics`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .fits import PowerLawFit, fit_power_law_offset
from .frontier import _clean_curve
from .ladder import LadderLike

__all__ = [
    "CollapseResult",
    "CollapseSummary",
    "collapse_metrics",
    "IrreducibleLossDraws",
    "bootstrap_irreducible_loss",
    "end_points",
    "fit_irreducible_loss",
    "null_irreducible_loss",
    "normalize_curve",
    "summarize_collapse",
    "verdict_table",
    "x_average",
]


def _interp_log(c: NDArray[np.float64], L: NDArray[np.float64], at: ArrayLike) -> NDArray[np.float64]:
    """Rows of ``L`` interpolated at compute ``at``, linearly in ``log c``."""
    lat = np.log(np.asarray(at, dtype=float))
    lc = np.log(c)
    return np.array([np.interp(lat, lc, row) for row in np.atleast_2d(L)])


def _c_star(c: NDArray[np.float64], c_star: float | None, name: str) -> float:
    if c_star is None:
        return float(c[-1])
    c_star = float(c_star)
    if not (np.isfinite(c_star) and c_star > 0):
        raise ValueError(f"{name}: c_star must be finite and positive")
    if c_star > c[-1] * (1 + 1e-9) or c_star < c[0]:
        raise ValueError(f"{name}: c_star={c_star:.4g} is outside the curve's compute range "
                         f"[{c[0]:.4g}, {c[-1]:.4g}]")
    return c_star


def normalize_curve(
    c: ArrayLike, L: ArrayLike, c_star: float | None, L0: float, *, L_end: float | None = None
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Normalise one loss curve (Eq. 1): ``x = c / c*``, ``l = (L - L0) / (L(c*) - L0)``.

    ``L(c*)`` is interpolated linearly in ``log c`` when ``c*`` is not an evaluation point;
    ``c_star=None`` takes the last evaluation. Pass ``L_end`` to normalise by another end value
    (e.g. a seed average). Points with ``x > 1`` and at ``c = 0`` are dropped.

    >>> x, l = normalize_curve([1.0, 2.0, 4.0], [3.0, 2.0, 1.5], 4.0, L0=1.0)
    >>> [float(v) for v in x], [float(v) for v in l]
    ([0.25, 0.5, 1.0], [4.0, 2.0, 1.0])
    """
    c, L2 = _clean_curve("curve", c, L)
    if L2.shape[0] != 1:
        raise ValueError("normalize_curve takes one seed (a 1-D loss)")
    cs = _c_star(c, c_star, "curve")
    end = float(_interp_log(c, L2, [cs])[0, 0]) if L_end is None else float(L_end)
    if not end > L0:
        raise ValueError(f"L0={L0:.4g} must be below the end-point loss {end:.4g}")
    keep = c <= cs * (1 + 1e-9)
    return c[keep] / cs, (L2[0, keep] - L0) / (end - L0)


def end_points(
    curves: LadderLike, c_star: ArrayLike | None = None
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Per size: ``c*``, the seed-mean final loss ``E_w L(c*)`` and its seed standard deviation.

    ``c_star=None`` takes each curve's last evaluation (runs trained to their horizon).

    >>> c = np.array([1.0, 2.0, 4.0])
    >>> cs, Lm, Ls = end_points([(c, [[3.0, 2.0, 1.4], [3.0, 2.0, 1.6]]), (2 * c, [3, 2, 1.2])])
    >>> cs.tolist(), [round(float(v), 3) for v in Lm], [round(float(v), 3) for v in Ls]
    ([4.0, 8.0], [1.5, 1.2], [0.1, 0.0])
    """
    cs_in = [None] * len(curves) if c_star is None else list(np.asarray(c_star, dtype=float))
    if len(cs_in) != len(curves):
        raise ValueError(f"c_star has {len(cs_in)} entries for {len(curves)} curves")
    cs, mean, std = [], [], []
    for i, ((c, L), s) in enumerate(zip(curves, cs_in, strict=True)):
        c, L = _clean_curve(f"size {i}", c, L)
        s = _c_star(c, s, f"size {i}")
        end = _interp_log(c, L, [s])[:, 0]
        cs.append(s)
        mean.append(end.mean())
        std.append(end.std())
    return np.array(cs), np.array(mean), np.array(std)


def fit_irreducible_loss(
    curves: LadderLike, c_star: ArrayLike | None = None, **fit_kwargs: object
) -> PowerLawFit:
    """Estimate ``L0`` from the compute-optimal end points: fit ``E_w L(c*) = a c*^(-b) + L0``.

    This is the paper's procedure (Section 2.2): for each task and schedule, the
    compute-optimal scaling law ``L0 + a c^(-b)`` is fitted to the final losses of the runs
    trained to ``c*(p)`` (seed-averaged), and its ``L0`` is the irreducible loss used in the
    normalisation. The fit is :func:`~supercollapse.analysis.fits.fit_power_law_offset` (Huber loss on log
    residuals, ``L0`` profiled, ``0 <= L0 < min L``); ``fit_kwargs`` are passed on. It needs at
    least four sizes; with few sizes the bootstrap error ``L0_err`` is large, and the collapse
    is sensitive to ``L0`` (paper, Figure 2), so report it.

    >>> cs = np.logspace(12, 16, 5)
    >>> runs = [(np.array([c / 4, c / 2, c]), 0.3 + 50 * np.array([c / 4, c / 2, c]) ** -0.1)
    ...         for c in cs]
    >>> round(fit_irreducible_loss(runs, n_bootstrap=0).L0, 3)
    0.3
    """
    cs, Lm, _ = end_points(curves, c_star)
    return fit_power_law_offset(cs, Lm, **fit_kwargs)  # type: ignore[arg-type]


@dataclass(frozen=True)
class IrreducibleLossDraws:
    """A fit of ``L0`` to a ladder's end points and draws of it.

    Attributes:
        fit: the fit to the seed-mean end points (:func:`bootstrap_irreducible_loss`: ``L0``
            free; :func:`null_irreducible_loss`: ``L0`` held at the given value).
        draws: the fitted ``L0`` of every draw.
        lo, hi: percentile interval of the draws at ``level``.
        level: its coverage.
    """

    fit: PowerLawFit
    draws: NDArray[np.float64]
    lo: float
    hi: float
    level: float

    @property
    def median(self) -> float:
        """Median of the draws."""
        return float(np.median(self.draws))


def _final_losses(curves: LadderLike) -> tuple[NDArray[np.float64], list[NDArray[np.float64]]]:
    """Each size's horizon (its last evaluation) and its per-seed final losses."""
    cs, finals = [], []
    for i, (c, L) in enumerate(curves):
        c, L = _clean_curve(f"size {i}", c, L)
        cs.append(float(c[-1]))
        finals.append(np.atleast_2d(L)[:, -1])
    return np.array(cs), finals


def _draws(fit: PowerLawFit, draws: list[float], level: float) -> IrreducibleLossDraws:
    d = np.array(draws)
    lo, hi = np.percentile(d, [50 * (1 - level), 50 * (1 + level)])
    return IrreducibleLossDraws(fit, d, float(lo), float(hi), level)


def bootstrap_irreducible_loss(
    curves: LadderLike, *, n_bootstrap: int = 200, seed: int = 0, level: float = 0.9,
    **fit_kwargs: object,
) -> IrreducibleLossDraws:
    """:func:`fit_irreducible_loss` with a seed-bootstrap interval (chapter 2's convention).

    Each draw resamples, for every size independently, its seeds' final losses with
    replacement, averages them and refits ``E_w L(c*) = a c*^(-b) + L0``; the interval is the
    percentile interval of the draws. It measures how seed noise moves the fitted ``L0``, which
    the case bootstrap of :func:`~supercollapse.analysis.fits.fit_power_law_offset` (resampling
    sizes) does not separate from the ladder's shape. Runs end at their horizon ``c*``.

    >>> cs = np.logspace(0, 4, 6)
    >>> rng = np.random.default_rng(0)
    >>> runs = [(np.array([c / 2, c]), 0.3 + 2 * np.array([c / 2, c]) ** -0.5
    ...          + 0.001 * rng.standard_normal((4, 1))) for c in cs]
    >>> bs = bootstrap_irreducible_loss(runs, n_bootstrap=50)
    >>> bool(bs.lo < bs.fit.L0 < bs.hi), bool(bs.lo < 0.3 < bs.hi), round(bs.fit.L0, 2)
    (True, True, 0.3)
    """
    if n_bootstrap < 2:
        raise ValueError("n_bootstrap must be at least 2")
    cs, finals = _final_losses(curves)
    fit = fit_power_law_offset(cs, [f.mean() for f in finals], n_bootstrap=0, **fit_kwargs)
    rng = np.random.default_rng(seed)
    draws = [fit_power_law_offset(cs, [f[rng.integers(0, f.size, f.size)].mean() for f in finals],
                                  n_bootstrap=0, **fit_kwargs).L0 for _ in range(n_bootstrap)]
    return _draws(fit, draws, level)


def null_irreducible_loss(
    curves: LadderLike, L0: float, *, n_draws: int = 200, seed: int = 0, level: float = 0.9,
    **fit_kwargs: object,
) -> IrreducibleLossDraws:
    """What the end-point fit of ``L0`` returns when the law holds exactly: the null test.

    The ladder's seed-mean end points are fitted with ``L0`` held at the given (true) value,
    ``a c*^(-b) + L0``; each draw replaces the end points by that pure power law plus the true
    ``L0`` at the same ``c*``, adds Gaussian noise of each size's seed standard error
    (``std / sqrt(n_seeds)``, population std) and refits ``L0`` free. If the draws centre on
    ``L0``, the fit is unbiased over this range of ``c*`` at this noise, and an overestimate on
    the real end points comes from their shape (they are not a power law plus the true floor).

    >>> cs = np.logspace(12, 16, 5)
    >>> runs = [(np.array([c / 2, c]), 0.3 + 50 * np.array([c / 2, c]) ** -0.1
    ...          + 0.001 * np.array([[1.0], [-1.0]])) for c in cs]
    >>> null = null_irreducible_loss(runs, 0.3, n_draws=50)
    >>> bool(null.lo < 0.3 < null.hi), abs(null.median - 0.3) < 0.01
    (True, True)
    """
    if n_draws < 2:
        raise ValueError("n_draws must be at least 2")
    cs, finals = _final_losses(curves)
    fit = fit_power_law_offset(cs, [f.mean() for f in finals], L0=L0, n_bootstrap=0,
                               **fit_kwargs)
    se = np.array([f.std() / np.sqrt(f.size) for f in finals])
    law = fit.predict(cs)
    rng = np.random.default_rng(seed)
    draws = [fit_power_law_offset(cs, law + se * rng.standard_normal(cs.size), n_bootstrap=0,
                                  **fit_kwargs).L0 for _ in range(n_draws)]
    return _draws(fit, draws, level)


@dataclass(frozen=True)
class CollapseResult:
    """Normalised curves of a scaling ladder on a common grid, and the collapse statistics.

    Attributes:
        x: common normalised-compute grid, shape ``(n_x,)``.
        curves: single-seed normalised curves ``l(x, p, w)``, shape ``(n_sizes, n_seeds, n_x)``
            with ``n_seeds`` the largest seed count; missing seeds are NaN.
        mean_curves: ``E_w l(x, p, w)`` per size, shape ``(n_sizes, n_x)``.
        reducible: reducible losses ``L(x c*, p, w) - L0``, same shape as ``curves``.
        delta: the collapse deviation selected by ``delta_estimator``, shape ``(n_x,)``.
        delta_within: ``(E_p V_w l)^(1/2) / E_{p,w} l`` (seed part of Eq. 4).
        delta_between: ``(V_p E_w l)^(1/2) / E_{p,w} l`` (size part of Eq. 4).
        sigma_per_size: per-model noise floor ``sigma(x, p)``, shape ``(n_sizes, n_x)`` (NaN
            for a size with fewer than 2 seeds).
        sigma: ``sigma_per_size`` pooled over sizes by ``sigma_pool``, shape ``(n_x,)``.
        c_star: the normalisation compute of each size.
        n_seeds: seeds used per size (diverged seeds dropped).
        L0, normalization, delta_estimator, sigma_estimator, sigma_pool, ddof: the inputs.
    """

    x: NDArray[np.float64]
    curves: NDArray[np.float64]
    mean_curves: NDArray[np.float64]
    reducible: NDArray[np.float64]
    delta: NDArray[np.float64]
    delta_within: NDArray[np.float64]
    delta_between: NDArray[np.float64]
    sigma_per_size: NDArray[np.float64]
    sigma: NDArray[np.float64]
    c_star: NDArray[np.float64]
    n_seeds: NDArray[np.int64]
    L0: float
    normalization: str
    delta_estimator: str
    sigma_estimator: str
    sigma_pool: str
    ddof: int

    def seed_band(self, q: float = 0.05) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Per-size seed percentiles ``(q, 1 - q)`` of the normalised curves, for shaded bands.

        >>> x = np.array([0.5, 1.0]); cur = np.array([[[2.0, 1.0], [4.0, 1.0]]])
        >>> res = CollapseResult(x, cur, cur.mean(1), cur, x, x, x, x[None], x, x, np.array([2]),
        ...                      0.0, "own", "pooled", "loss", "rms", 0)
        >>> [v.tolist() for v in res.seed_band(0.0)]
        [[[2.0, 1.0]], [[4.0, 1.0]]]
        """
        return (np.nanquantile(self.curves, q, axis=1),
                np.nanquantile(self.curves, 1 - q, axis=1))


_NORMALIZATIONS = ("own", "mean")
_DELTAS = ("pooled", "between")
_SIGMAS = ("loss", "normalized")
_POOLS = ("rms", "min", "max", "largest")


def _pool(sig: NDArray[np.float64], how: str) -> NDArray[np.float64]:
    if how == "largest":
        return sig[-1]
    ok = np.isfinite(sig)
    if not np.any(ok):
        return np.full(sig.shape[1], np.nan)
    with np.errstate(invalid="ignore"):
        if how == "rms":
            return np.sqrt(np.nanmean(sig**2, axis=0))
        return np.nanmin(sig, axis=0) if how == "min" else np.nanmax(sig, axis=0)


def collapse_metrics(
    curves: LadderLike,
    c_star: ArrayLike | None,
    L0: float,
    *,
    x: ArrayLike | None = None,
    n_x: int = 256,
    normalization: str = "own",
    delta: str = "pooled",
    sigma: str = "loss",
    sigma_pool: str = "rms",
    ddof: int = 0,
) -> CollapseResult:
    """Collapse deviation ``Delta(x)`` (Eq. 2) and noise floor ``sigma(x, p)`` (Eq. 3) of a ladder.

    Args:
        curves: one ``(compute, losses)`` pair per model size, ``compute`` of shape
            ``(n_points,)`` (its own grid per size, e.g. irregular evaluation points) and
            ``losses`` of shape ``(n_seeds, n_points)`` (1-D = one seed). Each is cleaned by
            :func:`~supercollapse.analysis.frontier.clean_curve`: points at ``c = 0``, diverged
            seeds (NaN or blown up at the end) and isolated NaN evaluations are dropped,
            repeated compute points merged.
        c_star: per-size horizon ``c*(p)`` from the horizon law; ``None`` uses each curve's last
            evaluation (the run was trained to its horizon). Do not take ``c*`` from the noisy
            curve itself.
        L0: irreducible loss (see :func:`fit_irreducible_loss`).
        x: common grid in ``(0, 1]``; default ``n_x`` log-spaced points from the largest
            per-size first ``x`` to 1. Every single-seed curve is interpolated onto it linearly
            in ``log x`` (our choice).
        normalization: ``"own"`` (paper, Eq. 1: each seed by its own final loss) or ``"mean"``
            (each seed by its size's seed-mean final loss).
        delta: ``"pooled"`` (paper, Eq. 2) or ``"between"`` (only the size part
            ``(V_p E_w l)^(1/2) / E_{p,w} l``, i.e. seed-averaged curves).
        sigma: ``"loss"`` (paper, Eq. 3: relative seed spread of ``L - L0``) or
            ``"normalized"`` (relative seed spread of ``l``: the per-model collapse deviation).
        sigma_pool: how ``sigma(x, p)`` is pooled into ``sigma(x)``: ``"rms"`` (default,
            ``(E_p sigma^2)^(1/2)``), ``"min"``, ``"max"`` or ``"largest"`` (the largest model).
        ddof: delta degrees of freedom of the seed variances (0: population, the paper's ``V``).
            The variance over sizes is always a population variance (the empirical distribution
            of sizes in the ladder).

    Equations (``l`` of Eq. 1, ``R = L - L0``, every size weighted equally)::

        E(x)             = mean_p mean_w l(x, p, w)
        Delta(x)^2       = [mean_p var_w l + var_p mean_w l] / E(x)^2     (Eqs. 2 and 4)
        sigma(x, p)      = std_w R(x c*, p, w) / mean_w R(x c*, p, w)    (Eq. 3)

    >>> c = np.linspace(1.0, 10.0, 10)
    >>> seeds = 1.0 + np.outer([1.0, 1.05], (c / 10) ** -0.5)  # seed 2: reducible loss x1.05
    >>> runs = [(c * s, seeds) for s in (1, 2, 4)]
    >>> res = collapse_metrics(runs, None, L0=1.0, n_x=5)
    >>> bool(np.allclose(res.delta, 0, atol=1e-12)), round(float(res.sigma[0]), 3)
    (True, 0.024)
    """
    if normalization not in _NORMALIZATIONS:
        raise ValueError(f"normalization must be one of {_NORMALIZATIONS}, got {normalization!r}")
    if delta not in _DELTAS:
        raise ValueError(f"delta must be one of {_DELTAS}, got {delta!r}")
    if sigma not in _SIGMAS:
        raise ValueError(f"sigma must be one of {_SIGMAS}, got {sigma!r}")
    if sigma_pool not in _POOLS:
        raise ValueError(f"sigma_pool must be one of {_POOLS}, got {sigma_pool!r}")
    if len(curves) < 2:
        raise ValueError(f"need at least 2 model sizes, got {len(curves)}")
    if c_star is not None:
        cs_arr = np.asarray(c_star, dtype=float)
        if cs_arr.shape != (len(curves),):
            raise ValueError(f"c_star has shape {cs_arr.shape}, expected ({len(curves)},)")
        cs_in: list[float | None] = list(cs_arr)
    else:
        cs_in = [None] * len(curves)
    if not np.isfinite(L0):
        raise ValueError("L0 must be finite")

    checked = []
    for i, ((c, L), s) in enumerate(zip(curves, cs_in, strict=True)):
        c, L = _clean_curve(f"size {i}", c, L)
        checked.append((c, L, _c_star(c, s, f"size {i}")))
    cs = np.array([s for _, _, s in checked])

    if x is None:
        x_lo = max(c[0] / s for c, _, s in checked)
        if x_lo >= 1:
            raise ValueError("curves do not overlap in x = c / c*")
        x = np.geomspace(x_lo, 1.0, n_x)
    x = np.asarray(x, dtype=float)
    if x.ndim != 1 or not np.all(np.isfinite(x)) or np.any(x <= 0) or np.any(x > 1 + 1e-12):
        raise ValueError("x must be a 1-D grid in (0, 1]")

    n_max = max(L.shape[0] for _, L, _ in checked)
    ell = np.full((len(checked), n_max, x.size), np.nan)
    red = np.full_like(ell, np.nan)
    for i, (c, L, s) in enumerate(checked):
        if x[0] < c[0] / s * (1 - 1e-9):
            raise ValueError(f"size {i}: x grid starts below the curve's first point")
        end = _interp_log(c, L, [s])[:, 0] - L0  # reducible final loss per seed
        if np.any(end <= 0):
            raise ValueError(f"size {i}: L0={L0:.4g} is not below every end-point loss")
        R = _interp_log(c, L, x * s) - L0
        norm = end if normalization == "own" else np.full_like(end, end.mean())
        red[i, : L.shape[0]] = R
        ell[i, : L.shape[0]] = R / norm[:, None]

    n_seeds = np.array([L.shape[0] for _, L, _ in checked], dtype=np.int64)
    mean_p = np.nanmean(ell, axis=1)  # E_w l, per size
    var_w = np.array([np.var(ell[i, :n], axis=0, ddof=ddof) if n > ddof else np.full(x.size, np.nan)
                      for i, n in enumerate(n_seeds)])
    var_w = np.where(n_seeds[:, None] > 1, var_w, 0.0)  # one seed: no seed spread observed
    E = mean_p.mean(axis=0)
    within = np.sqrt(var_w.mean(axis=0)) / E
    between = np.sqrt(np.var(mean_p, axis=0)) / E
    dev = np.sqrt(within**2 + between**2) if delta == "pooled" else between

    src = red if sigma == "loss" else ell
    sig_p = np.full((len(checked), x.size), np.nan)
    for i, n in enumerate(n_seeds):
        if n >= 2 and n > ddof:
            sig_p[i] = np.std(src[i, :n], axis=0, ddof=ddof) / np.mean(src[i, :n], axis=0)
    return CollapseResult(
        x=x, curves=ell, mean_curves=mean_p, reducible=red, delta=dev, delta_within=within,
        delta_between=between, sigma_per_size=sig_p, sigma=_pool(sig_p, sigma_pool), c_star=cs,
        n_seeds=n_seeds, L0=float(L0), normalization=normalization, delta_estimator=delta,
        sigma_estimator=sigma, sigma_pool=sigma_pool, ddof=ddof,
    )


@dataclass(frozen=True)
class CollapseSummary:
    """``Delta`` against ``sigma`` over ``x_min <= x < x_max`` (the trivial ``x = 1`` excluded).

    Attributes:
        x_min, x_max: the range summarised.
        frac_below: fraction of the range (measured in ``x``, not in grid points) where
            ``Delta(x) < sigma(x)``.
        x_onset: smallest grid ``x`` such that ``Delta < sigma`` at every grid point from it to
            the end of the range (the paper's ``x > 1 - delta``); NaN if ``Delta >= sigma`` at
            the last point.
        width: ``x_max - x_onset`` (0 when ``x_onset`` is NaN): the paper's ``delta``.
        mean_delta, mean_sigma: ``x``-weighted means over the range.
        median_ratio: median of ``Delta / sigma`` over the grid points of the range.
        supercollapse: ``width >= min_width``.
        n_points: grid points used.
    """

    x_min: float
    x_max: float
    frac_below: float
    x_onset: float
    width: float
    mean_delta: float
    mean_sigma: float
    median_ratio: float
    supercollapse: bool
    n_points: int


def x_range_mask(x: ArrayLike, x_min: float = 0.0, x_max: float = 1.0) -> NDArray[np.bool_]:
    """The grid points of a summarised range: ``x_min <= x <= x_max`` and ``x < 1`` (where the
    own normalisation makes ``Delta`` vanish)."""
    x = np.asarray(x, dtype=float)
    return (x >= x_min) & (x <= x_max) & (x < 1 - 1e-9)


def x_average(
    x: ArrayLike, y: ArrayLike, x_min: float = 0.0, x_max: float = 1.0
) -> NDArray[np.float64] | float:
    """Average of ``y(x)`` over ``x_min <= x <= x_max`` (``x = 1`` excluded), along the last axis.

    ``<y> = sum_i w_i y(x_i) / sum_i w_i`` with ``w_i`` the ``x`` interval each grid point
    represents (``np.gradient`` of the selected grid), so a log-spaced grid does not over-weight
    early training. The same weighting gives :class:`CollapseSummary`'s means.

    >>> x = np.linspace(0.0, 1.0, 11)
    >>> round(float(x_average(x, x, 0.2)), 3)  # grid points 0.2, 0.3, ..., 0.9
    0.55
    """
    x = np.asarray(x, dtype=float)
    sel = x_range_mask(x, x_min, x_max)
    w = np.gradient(x[sel])
    return np.sum(w * np.asarray(y, dtype=float)[..., sel], axis=-1) / np.sum(w)


def summarize_collapse(
    result: CollapseResult, *, x_min: float = 0.0, x_max: float = 1.0, min_width: float = 0.25
) -> CollapseSummary:
    """Where ``Delta(x) < sigma(x)``, and the supercollapse verdict.

    The paper calls it supercollapse when ``Delta(x) < sigma(x, p)`` for ``x > 1 - delta``
    with a moderate ``delta`` (up to 0.5 in its experiments), while with a constant learning
    rate ``Delta`` stays comparable to ``sigma`` for most ``x < 1``. Since ``Delta -> 0`` as
    ``x -> 1`` under the own normalisation, a short interval below the floor always exists;
    the verdict therefore asks for a contiguous interval ending at ``x_max`` of width at least
    ``min_width`` (0.25 by default: our choice). ``frac_below`` weights grid points by the
    ``x`` interval they represent (``np.gradient`` of the grid), so a log-spaced grid does not
    over-weight early training. Grid points at ``x = 1`` are excluded.

    >>> x = np.linspace(0.1, 1.0, 10)
    >>> res = CollapseResult(x, np.zeros((2, 2, 10)), np.zeros((2, 10)), np.zeros((2, 2, 10)),
    ...                      np.where(x > 0.45, 0.5, 2.0) * x, x, x, x[None], x, x,
    ...                      np.array([2, 2]), 0.0, "own", "pooled", "loss", "rms", 0)
    >>> s = summarize_collapse(res)
    >>> round(s.x_onset, 2), round(s.width, 2), s.supercollapse
    (0.5, 0.5, True)
    """
    if not x_min < x_max:
        raise ValueError("need x_min < x_max")
    x = result.x
    sel = x_range_mask(x, x_min, x_max) & np.isfinite(result.delta) & np.isfinite(result.sigma)
    if np.count_nonzero(sel) < 2:
        raise ValueError(f"fewer than 2 usable grid points in [{x_min}, {x_max})")
    xs, d, s = x[sel], result.delta[sel], result.sigma[sel]
    w = np.gradient(xs)
    below = d < s
    frac = float(np.sum(w * below) / np.sum(w))
    if below[-1]:
        k = below.size - 1
        while k > 0 and below[k - 1]:
            k -= 1
        onset = float(xs[k])
        width = float(min(x_max, 1.0) - onset)
    else:
        onset, width = float("nan"), 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = float(np.median(d / s))
    return CollapseSummary(
        x_min=float(x_min), x_max=float(x_max), frac_below=frac, x_onset=onset, width=width,
        mean_delta=float(x_average(xs, d)), mean_sigma=float(x_average(xs, s)),
        median_ratio=ratio, supercollapse=width >= min_width, n_points=int(sel.sum()),
    )


def verdict_table(
    ladders: Mapping[str, LadderLike],
    *,
    drop_smallest: Sequence[int] = (0, 1),
    x: ArrayLike | None = None,
    x_min: float = 0.2,
    L0: float = 0.0,
) -> dict[tuple[str, int], CollapseSummary]:
    """``Delta`` against ``sigma`` for many ladders at once: the table of the stored results.

    For every ladder (``{name: curves}``, curves ordered by size as for
    :func:`collapse_metrics`, each run trained to its horizon) and every ``k`` in
    ``drop_smallest``, the ladder without its ``k`` smallest sizes is summarised over
    ``x_min <= x < 1`` by :func:`summarize_collapse` (the paper's Eqs. 1-3, own
    normalisation, ``sigma`` pooled as an RMS over sizes)::

        frac_below = |{x in [x_min, 1): Delta(x) < sigma(x)}| / (1 - x_min)
        median_ratio = median over the grid of Delta(x) / sigma(x)

    ``x`` defaults to 256 log-spaced points on ``[0.02, 1]`` (chapter 4's grid). Keys are
    ``(name, n_sizes)`` with ``n_sizes`` the sizes left.

    >>> c = np.linspace(1.0, 10.0, 10)
    >>> def seeds(a):  # two seeds, loss 1 + 1.05^w (c / 10)^-a
    ...     return 1.0 + np.outer([1.0, 1.05], (c / 10) ** -a)
    >>> ladders = {"same": [(c * s, seeds(0.5)) for s in (1, 2, 4)],   # one shape: collapses
    ...            "bent": [(c * s, seeds(0.3 * s)) for s in (1, 2, 4)]}  # shape varies with size
    >>> t = verdict_table(ladders, drop_smallest=(0, 1), x=np.geomspace(0.1, 1, 16))
    >>> [(k, round(s.frac_below, 2), round(s.median_ratio, 1)) for k, s in t.items()]
    [(('same', 3), 1.0, 0.2), (('same', 2), 1.0, 0.2), (('bent', 3), 0.0, 13.7), (('bent', 2), 0.0, 10.3)]
    """
    grid = np.geomspace(0.02, 1.0, 256) if x is None else np.asarray(x, dtype=float)
    out: dict[tuple[str, int], CollapseSummary] = {}
    for name, curves in ladders.items():
        for k in drop_smallest:
            if not 0 <= k <= len(curves) - 2:
                raise ValueError(f"{name}: cannot drop {k} of {len(curves)} sizes and keep 2")
            res = collapse_metrics(list(curves)[k:], None, L0=L0, x=grid)
            out[name, len(curves) - k] = summarize_collapse(res, x_min=x_min)
    return out
