"""The compute-optimal frontier and the horizon law ``c*(p) = kappa p^(1 + gamma)``.

Given one constant-learning-rate loss curve per model size ``p``, :func:`compute_frontier`
builds the lower envelope ``L*(c) = min_p L(c, p)`` on a common log-spaced compute grid and
finds, for every size, the compute ``c*(p)`` at which that size is the optimal one.
:func:`fit_horizon_law` then fits ``c*(p) = kappa * p**(1 + gamma)`` by log-log regression
(equivalently ``t*(p) = c*/(6p) = (kappa / 6) p**gamma`` samples), and
:func:`bootstrap_horizon_law` gives its uncertainty from the seed-to-seed noise of the curves.

This is the procedure of Qiu et al. (2025), Appendix C: constant-learning-rate runs (seed
averaged), the Pareto frontier on log-spaced compute, and a power-law fit of ``c*(p)``
"dropping points from the smallest and largest model" (here: sizes whose optimal interval
runs into the edge of the data are censored and left out of the fit).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .ladder import Ladder, as_ladder

__all__ = [
    "CleanCurve",
    "Frontier",
    "HorizonBootstrap",
    "HorizonLaw",
    "LocalHorizonExponents",
    "Overtakes",
    "bootstrap_horizon_law",
    "clean_curve",
    "compute_frontier",
    "fit_horizon_law",
    "local_exponent",
    "local_horizon_exponents",
    "overtakes",
]



@dataclass(frozen=True)
class Frontier:
    """Lower envelope of a family of loss curves.

    Attributes:
        sizes: model sizes ``p_i``, sorted ascending.
        compute: common log-spaced compute grid, shape ``(n_grid,)``.
        loss: envelope ``L*(c)`` on the grid (NaN where no curve covers ``c``).
        best_index: index into ``sizes`` of the optimal size at each grid point (-1 if none).
        c_star: per-size estimate of ``c*(p)``; NaN if the size is never optimal.
        interval_lo, interval_hi: per-size compute range where it is the argmin (NaN if never).
        censored: per-size flag; True when ``c*(p)`` cannot be located because the size's
            optimal range runs into the edge of the data (or, for ``method="isoflop"``, lies
            outside the range of interpolated optima). Censored sizes are left out of fits.
        method: estimator used for ``c_star`` (``"midpoint"`` or ``"isoflop"``).
    """

    sizes: NDArray[np.float64]
    compute: NDArray[np.float64]
    loss: NDArray[np.float64]
    best_index: NDArray[np.int64]
    c_star: NDArray[np.float64]
    interval_lo: NDArray[np.float64]
    interval_hi: NDArray[np.float64]
    censored: NDArray[np.bool_]
    method: str

    def best_size(self) -> NDArray[np.float64]:
        """Optimal model size ``p*(c) = argmin_p L(c, p)`` at each grid compute (NaN where none).

        >>> c = np.logspace(0, 4, 20)
        >>> fr = compute_frontier({1.0: (c, c ** -0.2), 2.0: (c, 2 * c ** -0.3)}, n_grid=10)
        >>> fr.best_size()[[0, -1]].tolist()
        [1.0, 2.0]
        """
        out = np.full(self.compute.shape, np.nan)
        ok = self.best_index >= 0
        out[ok] = self.sizes[self.best_index[ok]]
        return out

    def usable(self) -> NDArray[np.bool_]:
        """Sizes with a finite, uncensored ``c*`` (the ones a horizon fit should use).

        >>> c = np.logspace(0, 6, 50)
        >>> curves = {p: (c, (c / (6 * p)) ** -0.5 + p ** -0.5) for p in [1.0, 4.0, 16.0, 64.0]}
        >>> compute_frontier(curves).usable().tolist()
        [False, True, True, False]
        """
        return np.isfinite(self.c_star) & ~self.censored

    def points(self, n: int = 24) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """About ``n`` log-spaced points ``(c, L*(c))`` of the envelope, for a fit of ``L*(c)``.

        They start where the first usable size (:meth:`usable`) becomes the optimal one, so
        that the smallest, censored sizes, which lead only at the start of the data, do not
        bend the fit, and run to the end of the envelope.

        >>> c = np.logspace(0, 6, 50)
        >>> curves = {p: (c, (c / (6 * p)) ** -0.5 + p ** -0.5) for p in [1.0, 4.0, 16.0, 64.0]}
        >>> fr = compute_frontier(curves)
        >>> cs, L = fr.points(5)
        >>> bool(cs[0] == fr.interval_lo[1]), len(cs), bool(np.all(np.diff(cs) > 0))
        (True, 5, True)
        """
        if n < 2:
            raise ValueError(f"n must be at least 2, got {n}")
        usable = np.flatnonzero(self.usable())
        if usable.size == 0:
            raise ValueError("no size has a located, uncensored c*: the frontier has no fit range")
        in_range = (self.compute >= self.interval_lo[usable[0]]) & np.isfinite(self.loss)
        pick = np.unique(np.linspace(0, in_range.sum() - 1, n).round().astype(int))
        return self.compute[in_range][pick], self.loss[in_range][pick]


@dataclass(frozen=True)
class CleanCurve:
    """One size's curve after :func:`clean_curve`.

    Attributes:
        compute: strictly increasing compute, shape ``(n_points,)`` (no ``c = 0``).
        losses: the seeds kept, shape ``(n_kept, n_points)``, all finite.
        diverged: per input seed, whether it was dropped as diverged.
        n_merged: evaluations merged into another at the same compute (repeated log lines).
        n_dropped_points: evaluations dropped because a kept seed was NaN or inf there.
    """

    compute: NDArray[np.float64]
    losses: NDArray[np.float64]
    diverged: NDArray[np.bool_]
    n_merged: int
    n_dropped_points: int


def _as_2d(name: str, L: ArrayLike) -> NDArray[np.float64]:
    """``L`` as a float array ``(n_seeds, n_points)``; a clear error for ragged seeds."""
    try:
        arr = np.asarray(L, dtype=float)
    except ValueError as err:  # inhomogeneous nested lists
        lengths = [len(row) for row in L] if hasattr(L, "__iter__") else []  # type: ignore[arg-type]
        raise ValueError(f"{name}: the seeds have different numbers of evaluations {lengths}; "
                         "pass the losses as one (seeds, evaluations) array on the compute grid "
                         "they share (cut them to a common length, or pass the sizes' seeds "
                         "on a common grid)") from err
    return np.atleast_2d(arr)


def clean_curve(
    name: str, c: ArrayLike, L: ArrayLike, *, sort: bool = False, blowup: float = 10.0
) -> CleanCurve:
    """Validate one ``(compute, loss)`` pair as real training logs come, and clean it.

    * Points at ``c = 0`` (the evaluation before the first step) are dropped (``x = 0`` has no
      logarithm). With ``sort`` the points are first put in order of compute; otherwise
      compute must not decrease.
    * Repeated compute points (an evaluation logged twice) are merged: their losses averaged.
    * A seed is *diverged*, and dropped, only when its loss is NaN or inf at the last
      evaluation, or ends more than ``blowup`` times above its own minimum (it blew up and
      stayed up).
    * An isolated NaN or inf in a kept seed drops that evaluation (for every seed of the size).

    >>> cc = clean_curve("size 0", [0, 1, 2, 2, 3, 4],
    ...                  [[9, 3, 2, 2, np.nan, 1], [9, 3, 2, 2, 1.5, 1], [9, 3, 5, 7, 8, np.nan]])
    >>> cc.compute.tolist(), cc.losses.tolist(), cc.diverged.tolist()
    ([1.0, 2.0, 4.0], [[3.0, 2.0, 1.0], [3.0, 2.0, 1.0]], [False, False, True])
    >>> cc.n_merged, cc.n_dropped_points
    (1, 1)
    """
    c = np.asarray(c, dtype=float)
    L = _as_2d(name, L)
    if c.ndim != 1 or L.ndim != 2 or L.shape[1] != c.size:
        raise ValueError(f"{name}: compute shape {c.shape} does not match loss shape {L.shape}")
    if not np.all(np.isfinite(c)):
        raise ValueError(f"{name}: compute contains NaN or inf")
    if np.any(c < 0):
        raise ValueError(f"{name}: compute must be positive")
    keep = c > 0
    c, L = c[keep], L[:, keep]
    if sort:
        order = np.argsort(c, kind="stable")
        c, L = c[order], L[:, order]
    if np.any(np.diff(c) < 0):
        raise ValueError(f"{name}: compute must increase (pass sort=True to sort it)")
    # Merge repeated compute points: average each group's finite losses.
    first = np.r_[True, np.diff(c) > 0]
    n_merged = int(c.size - first.sum())
    if n_merged:
        group = np.cumsum(first) - 1
        fin = np.isfinite(L)
        total = np.zeros((L.shape[0], int(first.sum())))
        count = np.zeros_like(total)
        np.add.at(total.T, group, np.where(fin, L, 0.0).T)
        np.add.at(count.T, group, fin.T.astype(float))
        with np.errstate(invalid="ignore", divide="ignore"):
            L = np.where(count > 0, total / np.maximum(count, 1), np.nan)
        c = c[first]
    if c.size < 2:
        raise ValueError(f"{name}: compute must be strictly increasing with at least 2 points")
    with np.errstate(invalid="ignore"):
        best = np.array([np.nanmin(row) if np.isfinite(row).any() else np.nan for row in L])
        diverged = ~np.isfinite(L[:, -1]) | ~(L[:, -1] <= blowup * np.abs(best))
    if np.all(diverged):
        raise ValueError(f"{name}: every seed diverged (NaN or inf, or blown up, at the end)")
    L = L[~diverged]
    ok = np.all(np.isfinite(L), axis=0)
    n_dropped = int(ok.size - ok.sum())
    c, L = c[ok], L[:, ok]
    if c.size < 2:
        raise ValueError(f"{name}: fewer than 2 evaluations are finite in every kept seed")
    return CleanCurve(c, L, diverged, n_merged, n_dropped)


def _clean_curve(
    name: str, c: ArrayLike, L: ArrayLike, *, sort: bool = False
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """:func:`clean_curve`'s compute and kept losses ``(n_seeds, n_points)``."""
    cc = clean_curve(name, c, L, sort=sort)
    return cc.compute, cc.losses


def _sized_curves(
    ladder: Ladder | Mapping, *, average: bool = True
) -> list[tuple[float, NDArray[np.float64], NDArray[np.float64]]]:
    """``[(p, c, L)]`` of a ladder with known sizes, sorted by ``p``, each curve cleaned by
    :func:`clean_curve` and (``average``) seed-averaged."""
    ladder = as_ladder(ladder)
    if len(ladder) < 2:
        raise ValueError(f"need curves for at least 2 model sizes, got {len(ladder)}")
    if not ladder.sizes_known():
        raise ValueError(f"the ladder's sizes must be positive parameter counts, got "
                         f"{ladder.sizes.tolist()}")
    out = []
    for p, (c, L) in zip(ladder.sizes, ladder, strict=True):
        c, L = _clean_curve(f"size {p:g}", c, L, sort=True)
        if np.any(L <= 0):
            raise ValueError(f"size {p:g}: loss must be strictly positive")
        out.append((float(p), c, L.mean(axis=0) if average else L))
    out.sort(key=lambda t: t[0])
    if len({p for p, _, _ in out}) != len(out):
        raise ValueError("model sizes must be distinct")
    return out


def compute_frontier(ladder: Ladder | Mapping, *, n_grid: int = 400,
                     method: str = "midpoint") -> Frontier:
    """Lower envelope ``L*(c) = min_p L(c, p)`` and the compute ``c*(p)`` where each size is optimal.

    Each curve is interpolated linearly in ``(log c, log L)`` onto a common log-spaced grid
    spanning all curves; outside a curve's own compute range that size is absent.
    ``ladder``: a :class:`~supercollapse.analysis.ladder.Ladder` with its sizes (or
    ``{p: (compute, loss)}``), every size on its own, possibly irregular, compute grid. 2-D losses
    ``(n_seeds, n_points)`` are seed-averaged first, after :func:`clean_curve` (diverged seeds,
    isolated NaN evaluations and points at ``c = 0`` dropped, repeated compute points merged).

    The paper's notebooks take ``c*(p)`` as the point where the size's curve touches the
    envelope. With a discrete set of sizes the curve *is* the envelope over an interval, so a
    point estimator must be chosen (our choice, two options):

    * ``"midpoint"`` (default): the geometric midpoint ``sqrt(c_lo c_hi)`` of the interval where
      the size is the argmin. For a scale-invariant family this is off from the true tangency
      point by a constant factor (biasing ``kappa`` by less than one size step) while leaving
      the exponent ``1 + gamma`` exact. Sizes whose interval touches the data edge are censored.
    * ``"isoflop"``: at every grid compute fit a parabola to ``log L`` vs ``log p`` through the
      best size and its two neighbours; its vertex is a continuous optimum ``p*(c)``. Then
      ``c*(p_i)`` is ``p*(c)`` inverted at ``p_i`` (log-log interpolation). Sizes outside the
      range of vertices are censored.

    >>> c = np.logspace(0, 6, 50)
    >>> curves = {p: (c, (c / (6 * p)) ** -0.5 + p ** -0.5) for p in [1.0, 4.0, 16.0, 64.0]}
    >>> fr = compute_frontier(curves)
    >>> [int(i) for i in fr.best_index[[0, -1]]]
    [0, 3]
    >>> [bool(x) for x in fr.censored]
    [True, False, False, True]
    """
    if method not in ("midpoint", "isoflop"):
        raise ValueError(f"method must be 'midpoint' or 'isoflop', got {method!r}")
    if n_grid < 10:
        raise ValueError("n_grid must be at least 10")
    cv = _sized_curves(ladder)
    sizes = np.array([p for p, _, _ in cv])
    lo = min(c[0] for _, c, _ in cv)
    hi = max(c[-1] for _, c, _ in cv)
    grid = np.logspace(np.log10(lo), np.log10(hi), n_grid)
    lg = np.log(grid)
    # log-loss of every size on the grid; +inf where the size has no data
    logL = np.full((len(cv), n_grid), np.inf)
    for i, (_, c, L) in enumerate(cv):
        inside = (grid >= c[0] * (1 - 1e-12)) & (grid <= c[-1] * (1 + 1e-12))
        logL[i, inside] = np.interp(lg[inside], np.log(c), np.log(L))
    best = np.argmin(logL, axis=0)
    have = np.isfinite(logL[best, np.arange(n_grid)])
    best = np.where(have, best, -1)
    env = np.where(have, np.exp(logL[np.maximum(best, 0), np.arange(n_grid)]), np.nan)

    n = len(cv)
    ilo, ihi = np.full(n, np.nan), np.full(n, np.nan)
    cstar = np.full(n, np.nan)
    censored = np.zeros(n, dtype=bool)
    for i in range(n):
        idx = np.flatnonzero(best == i)
        if idx.size == 0:
            continue
        k0, k1 = idx[0], idx[-1]
        ilo[i], ihi[i] = grid[k0], grid[k1]
        # censored if the argmin range is cut by the edge of the grid or of this curve's data
        censored[i] = k0 == 0 or k1 == n_grid - 1 or not (
            np.isfinite(logL[i, k0 - 1]) and np.isfinite(logL[i, k1 + 1])
        )
        cstar[i] = np.sqrt(ilo[i] * ihi[i])

    if method == "isoflop":
        cstar, censored = _isoflop_cstar(sizes, lg, logL, best)
    return Frontier(sizes, grid, env, best.astype(np.int64), cstar, ilo, ihi, censored, method)


def _isoflop_cstar(
    sizes: NDArray[np.float64], lg: NDArray[np.float64], logL: NDArray[np.float64],
    best: NDArray[np.int64],
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """``c*(p)`` from parabolic vertices ``log p*(c)`` of ``log L`` vs ``log p`` at fixed ``c``."""
    lp = np.log(sizes)
    vert_lp, vert_lc = [], []
    for k, i in enumerate(best):
        if i <= 0 or i >= len(sizes) - 1:
            continue  # need both neighbours
        y = logL[i - 1 : i + 2, k]
        if not np.all(np.isfinite(y)):
            continue
        A, B, _ = np.polyfit(lp[i - 1 : i + 2], y, 2)
        if A <= 0:
            continue
        v = -B / (2 * A)
        if lp[i - 1] <= v <= lp[i + 1]:
            vert_lp.append(v)
            vert_lc.append(lg[k])
    cstar = np.full(len(sizes), np.nan)
    censored = np.ones(len(sizes), dtype=bool)
    if len(vert_lp) >= 2:
        vp, vc = np.array(vert_lp), np.array(vert_lc)
        order = np.argsort(vp)
        vp, vc = vp[order], vc[order]
        for i, x in enumerate(lp):
            if vp[0] <= x <= vp[-1]:
                cstar[i] = float(np.exp(np.interp(x, vp, vc)))
                censored[i] = False
    return cstar, censored


@dataclass(frozen=True)
class HorizonLaw:
    """Fitted horizon law ``c*(p) = kappa * p**(1 + gamma)`` (FLOPs; ``t* = c*/(6p)`` samples).

    Attributes:
        kappa: prefactor (compute per ``p**(1+gamma)``).
        gamma: data exponent; ``t*(p) = (kappa / 6) p**gamma``.
        log_kappa_err: standard error of ``ln kappa`` (OLS).
        gamma_err: standard error of ``gamma`` (OLS).
        r2_log: ``R^2`` of the log-log regression.
        sizes, c_star: the points that were fitted.
    """

    kappa: float
    gamma: float
    log_kappa_err: float
    gamma_err: float
    r2_log: float
    sizes: NDArray[np.float64]
    c_star: NDArray[np.float64]

    @property
    def kappa_err(self) -> float:
        """First-order standard error of ``kappa``: ``kappa * log_kappa_err``.

        >>> HorizonLaw(2.0, 1.0, 0.1, 0.05, 1.0, np.ones(3), np.ones(3)).kappa_err
        0.2
        """
        return self.kappa * self.log_kappa_err

    def compute(self, p: ArrayLike) -> NDArray[np.float64]:
        """Compute-optimal horizon ``c*(p) = kappa p^(1+gamma)`` in FLOPs.

        >>> float(HorizonLaw(2.0, 1.0, 0.0, 0.0, 1.0, np.ones(3), np.ones(3)).compute(3.0))
        18.0
        """
        return self.kappa * np.asarray(p, dtype=float) ** (1.0 + self.gamma)

    def samples(self, p: ArrayLike) -> NDArray[np.float64]:
        """Compute-optimal number of samples ``t*(p) = c*(p) / (6 p) = (kappa / 6) p^gamma``.

        >>> float(HorizonLaw(6.0, 1.0, 0.0, 0.0, 1.0, np.ones(3), np.ones(3)).samples(3.0))
        3.0
        """
        p = np.asarray(p, dtype=float)
        return self.compute(p) / (6.0 * p)

    def to_json(self, censored_sizes: ArrayLike = (), source: str = "") -> dict:
        """The record ``fit-horizon`` writes (read back by
        :meth:`supercollapse.train.experiments.Law.from_json`)."""
        return {"kappa": self.kappa, "exponent": 1.0 + self.gamma, "gamma": self.gamma,
                "gamma_err": self.gamma_err, "log_kappa_err": self.log_kappa_err,
                "r2_log": self.r2_log, "sizes": self.sizes.tolist(),
                "c_star": self.c_star.tolist(),
                "censored_sizes": np.asarray(censored_sizes, float).tolist(), "source": source}

    def scale_exponent(self, unit: float = 1e15) -> tuple[float, float]:
        """Express as the authors' config form ``c* = unit * (p / scale)**exponent``.

        ``scale = (unit / kappa)^(1 / (1 + gamma))`` and ``exponent = 1 + gamma``.

        >>> law = HorizonLaw(1e3, 1.0, 0.0, 0.0, 1.0, np.ones(3), np.ones(3))
        >>> [float(v) for v in law.scale_exponent(unit=1e15)]
        [1000000.0, 2.0]
        """
        e = 1.0 + self.gamma
        return float((unit / self.kappa) ** (1.0 / e)), e


def fit_horizon_law(
    sizes: ArrayLike | Frontier, c_star: ArrayLike | None = None
) -> HorizonLaw:
    """Fit ``log c* = log kappa + (1 + gamma) log p`` by ordinary least squares.

    Accepts either a :class:`Frontier` (its usable, uncensored sizes are fitted) or arrays
    ``sizes, c_star``. Errors are OLS standard errors (NaN with only two points).

    >>> p = np.array([1.0, 2.0, 4.0, 8.0])
    >>> law = fit_horizon_law(p, 3.0 * p**2.5)
    >>> round(law.kappa, 6), round(law.gamma, 6), round(float(law.samples(2.0)), 6)
    (3.0, 1.5, 1.414214)
    """
    if isinstance(sizes, Frontier):
        fr = sizes
        ok = fr.usable()
        p, cs = fr.sizes[ok], fr.c_star[ok]
    else:
        if c_star is None:
            raise ValueError("c_star is required when sizes is an array")
        p, cs = np.asarray(sizes, dtype=float), np.asarray(c_star, dtype=float)
        if p.shape != cs.shape or p.ndim != 1:
            raise ValueError(f"sizes and c_star must be 1-D of equal shape, got {p.shape}, {cs.shape}")
        if not (np.all(np.isfinite(p)) and np.all(np.isfinite(cs))):
            raise ValueError("sizes or c_star contains NaN or inf")
        if np.any(p <= 0) or np.any(cs <= 0):
            raise ValueError("sizes and c_star must be strictly positive")
    if p.size < 2 or np.unique(p).size < 2:
        raise ValueError(f"need at least 2 distinct sizes with a located c*, got {p.size}")
    x, y = np.log(p), np.log(cs)
    X = np.column_stack([np.ones_like(x), x])
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ coef
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - float(resid @ resid) / ss_tot if ss_tot > 0 else float("nan")
    if p.size > 2:
        cov = float(resid @ resid) / (p.size - 2) * np.linalg.inv(X.T @ X)
        lk_err, g_err = float(np.sqrt(cov[0, 0])), float(np.sqrt(cov[1, 1]))
    else:
        lk_err = g_err = float("nan")
    return HorizonLaw(
        kappa=float(np.exp(coef[0])), gamma=float(coef[1]) - 1.0, log_kappa_err=lk_err,
        gamma_err=g_err, r2_log=r2, sizes=p, c_star=cs,
    )


@dataclass(frozen=True)
class HorizonBootstrap:
    """Seed-bootstrap distribution of the horizon law.

    Attributes:
        gamma, log_kappa: bootstrap draws of ``gamma`` and ``ln kappa`` (failed draws dropped).
        gamma_err, log_kappa_err: their standard deviations (``ddof=1``).
        n_failed: draws in which fewer than 2 sizes had a located ``c*``.
    """

    gamma: NDArray[np.float64]
    log_kappa: NDArray[np.float64]
    gamma_err: float
    log_kappa_err: float
    n_failed: int


def bootstrap_horizon_law(
    ladder: Ladder | Mapping, *, n_bootstrap: int = 200, seed: int = 0, n_grid: int = 400,
    method: str = "midpoint",
) -> HorizonBootstrap:
    """Uncertainty of ``c*(p) = kappa p^(1+gamma)`` from the seed-to-seed noise of the curves.

    Each draw resamples, for every size independently, its seeds with replacement, averages
    them, rebuilds the frontier (:func:`compute_frontier`) and refits the law
    (:func:`fit_horizon_law`). This captures how SGD noise moves the crossing points of the
    curves, which the OLS errors of :func:`fit_horizon_law` (scatter of the points about the
    line) do not. Needs 2-D losses with at least 2 seeds for some size (our choice of errors;
    the paper quotes none).

    >>> c = np.logspace(0, 6, 60)
    >>> rng = np.random.default_rng(0)
    >>> curves = {p: (c, ((c / (6 * p)) ** -0.5 + p ** -0.5)
    ...                  * (1 + 0.01 * rng.standard_normal((4, c.size))))
    ...           for p in [1.0, 4.0, 16.0, 64.0, 256.0]}
    >>> bs = bootstrap_horizon_law(curves, n_bootstrap=20)
    >>> bool(0 < bs.gamma_err < 0.2), bs.n_failed
    (True, 0)
    """
    if n_bootstrap < 2:
        raise ValueError("n_bootstrap must be at least 2")
    cv = _sized_curves(ladder, average=False)
    if max(L.shape[0] for _, _, L in cv) < 2:
        raise ValueError("need 2-D losses with at least 2 seeds to bootstrap over seeds")
    rng = np.random.default_rng(seed)
    g, lk, failed = [], [], 0
    for _ in range(n_bootstrap):
        draw = Ladder([(c, L[rng.integers(0, L.shape[0], L.shape[0])].mean(axis=0))
                       for _, c, L in cv], sizes=[p for p, _, _ in cv])
        try:
            law = fit_horizon_law(compute_frontier(draw, n_grid=n_grid, method=method))
        except ValueError:
            failed += 1
            continue
        g.append(law.gamma)
        lk.append(np.log(law.kappa))
    if len(g) < 2:
        raise ValueError("fewer than 2 bootstrap draws located c* for 2 or more sizes")
    g_arr, lk_arr = np.array(g), np.array(lk)
    return HorizonBootstrap(g_arr, lk_arr, float(np.std(g_arr, ddof=1)),
                            float(np.std(lk_arr, ddof=1)), failed)


@dataclass(frozen=True)
class LocalHorizonExponents:
    """Local exponents ``d ln c* / d ln p`` between neighbouring located sizes, with intervals.

    Attributes:
        lower, upper: the two sizes of each pair (neighbours among the sizes located in the
            seed-mean frontier).
        exponent: ``ln(c*(upper) / c*(lower)) / ln(upper / lower)`` from the seed-mean curves.
        lo, hi: percentile interval (``level``) over seed-bootstrap draws in which both sizes
            were located; ``n_draws`` such draws per pair.
        global_exponent: ``1 + gamma`` of :func:`fit_horizon_law` on the same frontier.
    """

    lower: NDArray[np.float64]
    upper: NDArray[np.float64]
    exponent: NDArray[np.float64]
    lo: NDArray[np.float64]
    hi: NDArray[np.float64]
    n_draws: NDArray[np.int64]
    global_exponent: float

    def consistent(self) -> NDArray[np.bool_]:
        """Pairs whose interval contains the global exponent (a single power law holds there)."""
        return (self.lo <= self.global_exponent) & (self.global_exponent <= self.hi)


def local_horizon_exponents(
    ladder: Ladder | Mapping, *, n_bootstrap: int = 200, seed: int = 0, level: float = 0.9,
    n_grid: int = 400,
) -> LocalHorizonExponents:
    """Whether one power law ``c* = kappa p^(1+gamma)`` holds over a ladder: the local exponent
    between each pair of neighbouring located sizes, with a seed-bootstrap interval (each draw
    resamples every size's seeds with replacement, as :func:`bootstrap_horizon_law`, and
    rebuilds the frontier). A single power law holds where every interval contains the global
    exponent (:meth:`LocalHorizonExponents.consistent`).

    >>> c = np.logspace(0, 7, 80)
    >>> rng = np.random.default_rng(0)
    >>> curves = {p: (c, ((c / (6 * p)) ** -0.5 + p ** -0.5)
    ...                  * (1 + 0.002 * rng.standard_normal((3, c.size))))
    ...           for p in [1.0, 4.0, 16.0, 64.0, 256.0]}
    >>> loc = local_horizon_exponents(curves, n_bootstrap=20)
    >>> [round(float(e), 1) for e in loc.exponent], bool(loc.consistent().all())
    ([2.0, 2.0], True)
    """
    if not 0 < level < 1:
        raise ValueError(f"level must lie in (0, 1), got {level}")
    cv = _sized_curves(ladder, average=False)
    sizes = [p for p, _, _ in cv]
    fr = compute_frontier(Ladder([(c, L.mean(axis=0)) for _, c, L in cv], sizes=sizes),
                          n_grid=n_grid)
    ok = np.flatnonzero(fr.usable())
    if ok.size < 2:
        raise ValueError("fewer than 2 sizes have a located c*: no local exponent")
    pairs = list(zip(ok[:-1], ok[1:], strict=True))

    def exponents(frontier: Frontier) -> NDArray[np.float64]:
        cs = np.where(frontier.usable(), frontier.c_star, np.nan)
        return np.array([np.log(cs[j] / cs[i]) / np.log(frontier.sizes[j] / frontier.sizes[i])
                         for i, j in pairs])

    point = exponents(fr)
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(n_bootstrap):
        draw = Ladder([(c, L[rng.integers(0, L.shape[0], L.shape[0])].mean(axis=0))
                       for _, c, L in cv], sizes=sizes)
        draws.append(exponents(compute_frontier(draw, n_grid=n_grid)))
    d = np.array(draws)
    n_ok = np.isfinite(d).sum(axis=0)
    q = (1 - level) / 2
    with np.errstate(all="ignore"):
        lo = np.array([np.nanquantile(d[:, k], q) if n_ok[k] else np.nan for k in range(len(pairs))])
        hi = np.array([np.nanquantile(d[:, k], 1 - q) if n_ok[k] else np.nan
                       for k in range(len(pairs))])
    return LocalHorizonExponents(
        lower=fr.sizes[[i for i, _ in pairs]], upper=fr.sizes[[j for _, j in pairs]],
        exponent=point, lo=lo, hi=hi, n_draws=n_ok.astype(np.int64),
        global_exponent=1.0 + fit_horizon_law(fr).gamma)


@dataclass(frozen=True)
class Overtakes:
    """Where each size is overtaken by the next larger one, on the smaller size's data.

    Attributes:
        lower, upper: each pair of neighbouring sizes.
        compute: the compute ``c`` at which the larger size's loss falls below the smaller's for
            the last time, so that it stays ahead to the end of the smaller size's data
            (log-log interpolated); NaN where there is no such point: the larger size is still
            behind at the end (``gap_at_end > 0``, the crossing lies past the data) or ahead over
            the whole overlap (the crossing lies before it). Shape ``(pairs,)``, or
            ``(pairs, seeds)`` with ``per_seed``.
        gap_at_end: ``L_upper / L_lower - 1`` at the smaller size's last compute (negative: the
            larger size is ahead there).
        end: the smaller size's last compute.
    """

    lower: NDArray[np.float64]
    upper: NDArray[np.float64]
    compute: NDArray[np.float64]
    gap_at_end: NDArray[np.float64]
    end: NDArray[np.float64]


def _overtake(c: NDArray[np.float64], L: NDArray[np.float64], c2: NDArray[np.float64],
              L2: NDArray[np.float64]) -> tuple[float, float]:
    """(crossing compute, gap at the end) of curve 2 against curve 1, on curve 1's grid."""
    inside = (c >= c2[0]) & (c <= c2[-1])
    if np.count_nonzero(inside) < 2:
        raise ValueError("the two curves share fewer than 2 compute points")
    lc = np.log(c[inside])
    d = np.interp(lc, np.log(c2), np.log(L2)) - np.log(L[inside])  # < 0: the larger is ahead
    gap = float(np.expm1(d[-1]))
    behind = np.flatnonzero(d >= 0)
    if d[-1] >= 0 or behind.size == 0:
        return float("nan"), gap
    k = behind[-1]  # d[k] >= 0 > d[k+1], and d < 0 from k+1 on
    f = d[k] / (d[k] - d[k + 1])
    return float(np.exp(lc[k] + f * (lc[k + 1] - lc[k]))), gap


def overtakes(ladder: Ladder | Mapping, *, per_seed: bool = False) -> Overtakes:
    """Where the next larger size overtakes each size: the compute at which its loss curve
    crosses below the smaller size's and stays below to the end of the smaller size's data.

    On a ladder whose sizes grow by a factor ``r`` and follow ``c* = kappa p^(1+gamma)``, the
    larger size overtakes at about ``r^((1+gamma)/2)`` times the smaller size's ``c*`` (the
    frontier's midpoint estimator puts ``c*`` halfway, in ``ln c``, between the two crossings
    that bound a size's optimal interval); a constant-rate run must go that far past its
    horizon for :func:`compute_frontier` to locate it. Where the crossing lies past the data,
    ``gap_at_end`` says how far behind the larger size still is there.

    ``per_seed``: each seed's curve against the same seed of the larger size (seeds 0..n-1 of
    both; a spread, not an interval), else the seed means.

    >>> c = np.logspace(0, 6, 60)
    >>> curves = {p: (c, (c / (6 * p)) ** -0.5 + p ** -0.5) for p in [1.0, 4.0, 16.0]}
    >>> ov = overtakes(curves)
    >>> [round(float(x / (6 * p ** 2)), 1) for x, p in zip(ov.compute, ov.lower)]  # c* = 6 p^2
    [4.0, 4.0]
    """
    cv = _sized_curves(ladder, average=False)
    rows, gaps = [], []
    for (_, c, L), (_, c2, L2) in zip(cv[:-1], cv[1:], strict=True):
        if per_seed:
            n = min(L.shape[0], L2.shape[0])
            pairs = [_overtake(c, L[k], c2, L2[k]) for k in range(n)]
        else:
            pairs = [_overtake(c, L.mean(axis=0), c2, L2.mean(axis=0))]
        rows.append([x for x, _ in pairs])
        gaps.append([g for _, g in pairs])
    width = max(len(r) for r in rows)
    pad = [r + [np.nan] * (width - len(r)) for r in rows]
    gpad = [g + [np.nan] * (width - len(g)) for g in gaps]
    compute, gap = np.array(pad), np.array(gpad)
    if not per_seed:
        compute, gap = compute[:, 0], gap[:, 0]
    return Overtakes(lower=np.array([p for p, _, _ in cv[:-1]]),
                     upper=np.array([p for p, _, _ in cv[1:]]), compute=compute,
                     gap_at_end=gap, end=np.array([c[-1] for _, c, _ in cv[:-1]]))


def _mean_curve(t: ArrayLike, L: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Positive ``t`` (sorted) and the seed-mean of ``L`` (``(seeds, points)`` or 1-D)."""
    t = np.asarray(t, dtype=float)
    L = np.atleast_2d(np.asarray(L, dtype=float))
    if L.shape[1] != t.size:
        raise ValueError(f"{L.shape[1]} loss points for {t.size} times")
    keep = t > 0
    t, m = t[keep], np.nanmean(L[:, keep], axis=0)
    if np.any(np.diff(t) <= 0) or not np.all(np.isfinite(m)):
        raise ValueError("times must increase and the seed-mean loss must be finite")
    return t, m


def local_exponent(t: ArrayLike, L: ArrayLike, at: float, *, window: float = 2.0,
                   L0: float = 0.0) -> float:
    r"""The local exponent :math:`-\,d\ln(L - L_0)/d\ln t` of a curve at ``at``: the
    least-squares slope of :math:`\ln(\bar L - L_0)` on :math:`\ln t` over the points in
    ``[at / window, at * window]``
    (``L``: one curve or ``(seeds, points)``, seed-averaged first). On a constant-rate run at a
    size's horizon it is the local *time* exponent there: where it changes with the size, a
    horizon law that is one power law puts the sizes at different points of their curves.

    >>> t = np.geomspace(1.0, 1e4, 50)
    >>> round(local_exponent(t, 2.0 * t ** -0.3, 100.0), 6)
    0.3
    """
    t, m = _mean_curve(t, L)
    if not (window > 1 and np.isfinite(at) and at > 0):
        raise ValueError(f"local_exponent: need at > 0 and window > 1, got {at!r}, {window!r}")
    sel = (t >= at / window) & (t <= at * window)
    if np.count_nonzero(sel) < 3:
        raise ValueError(f"local_exponent: fewer than 3 points in [{at / window:.4g}, "
                         f"{at * window:.4g}] (the curve covers [{t[0]:.4g}, {t[-1]:.4g}])")
    if np.any(m[sel] <= L0):
        raise ValueError(f"local_exponent: L0={L0} is not below the loss")
    return float(-np.polyfit(np.log(t[sel]), np.log(m[sel] - L0), 1)[0])
