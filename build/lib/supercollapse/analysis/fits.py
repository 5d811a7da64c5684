"""Power-law fits used throughout the book.

Two fits:

* :func:`fit_power_law_offset` -- the compute-optimal frontier law ``L(c) = a c^(-b) + L0``,
  fitted by a Huber loss on log residuals (as in the authors' notebooks) with a solver whose
  answer is unique (profile over ``L0``, converged inner fits), plus bootstrap standard errors.
* :func:`fit_pure_power_law` -- ``y = (x / a)^(-b)`` by ordinary least squares in log-log space,
  with standard errors from the regression.

Both return the exponent with the same sign convention: ``b`` is the decay exponent,
``y ∝ x^(-b)``, positive for a falling loss (a growing ``y``, such as a horizon law, gives
``b < 0``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import minimize_scalar

__all__ = [
    "PowerLawFit",
    "PurePowerLawFit",
    "check_positive_1d",
    "fit_power_law_offset",
    "fit_pure_power_law",
]


def check_positive_1d(name: str, x: ArrayLike) -> NDArray[np.float64]:
    """Return ``x`` as a finite, strictly positive 1-D float array, or raise ValueError.

    >>> check_positive_1d("c", [1, 2]).tolist()
    [1.0, 2.0]
    >>> check_positive_1d("c", [1, 0])
    Traceback (most recent call last):
    ...
    ValueError: c must be strictly positive
    """
    arr = np.asarray(x, dtype=float)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf")
    if np.any(arr <= 0):
        raise ValueError(f"{name} must be strictly positive")
    return arr


@dataclass(frozen=True)
class PowerLawFit:
    """Result of fitting ``L(c) = a * c**(-b) + L0``.

    Attributes:
        a, b, L0: fitted parameters (``a`` in the units of ``L`` at ``c = 1``; ``b`` the decay
            exponent, positive for a falling loss, as ``b`` of :class:`PurePowerLawFit`).
        r2_log: coefficient of determination of ``log L`` (log space, as in the paper).
        a_err, b_err, L0_err: bootstrap standard errors (NaN when ``n_bootstrap == 0``);
            ``L0_err`` is 0 when ``L0`` was held fixed.
        fixed_L0: whether ``L0`` was given rather than fitted.
        n_points: number of points fitted.
    """

    a: float
    b: float
    L0: float
    r2_log: float
    a_err: float
    b_err: float
    L0_err: float
    fixed_L0: bool
    n_points: int

    def predict(self, c: ArrayLike) -> NDArray[np.float64]:
        """Evaluate ``a * c**(-b) + L0``.

        >>> fit = PowerLawFit(2.0, 0.5, 0.1, 1.0, 0.0, 0.0, 0.0, True, 3)
        >>> float(fit.predict(4.0))
        1.1
        """
        c = np.asarray(c, dtype=float)
        return self.a * c ** (-self.b) + self.L0


def _huber(r: NDArray[np.float64], delta: float) -> NDArray[np.float64]:
    """Huber penalty: quadratic for ``|r| <= delta``, linear beyond."""
    ar = np.abs(r)
    return np.where(ar <= delta, 0.5 * r**2, delta * (ar - 0.5 * delta))


# Convergence tolerances of the fit (see fit_power_law_offset: how the answer is made unique).
_STEP_TOL = 1e-12  # inner solver: stop when a step moves (log a, b) by less than this
_MAX_ITER = 500
_N_GRID = 48  # profile over L0: grid points before the bounded Brent refinement
_L0_XTOL = 1e-10  # Brent tolerance on L0 / min(L)


def _fit_fixed_L0(lu: NDArray[np.float64], y: NDArray[np.float64], l0: ArrayLike, delta: float
                  ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Minimise ``sum huber(log(a u^-b + L0) - y)`` over ``(log a, b)`` for each given ``L0``.

    ``l0`` is a scalar or an array of ``G`` values, solved together (one row each); returns
    ``theta`` of shape ``(G, 2)`` (``log a, b``) and the minimum of the objective, ``(G,)``.
    Newton's method (Gauss-Newton where the Hessian is not positive; iteratively reweighted least squares while
    fewer than two residuals are in the quadratic zone) from the least-squares line through
    ``log(L - L0)``, with a backtracking line search, iterated until a step moves
    ``(log a, b)`` by less than ``1e-12``. For ``L0 = 0`` the residuals are linear
    in ``(log a, b)`` and the objective convex: its minimum is unique once a few residuals lie
    in the quadratic zone ``|r| < delta``.
    """
    l0 = np.atleast_1d(np.asarray(l0, dtype=float))
    with np.errstate(divide="ignore"):
        log_l0 = np.log(l0)[:, None]  # -inf for L0 = 0: logaddexp(z, -inf) = z
    X = np.column_stack([np.ones_like(lu), -lu])
    ls = np.linalg.lstsq(X, np.log(np.exp(y)[None, :] - l0[:, None]).T, rcond=None)[0]
    theta = ls.T.copy()  # (G, 2)

    def resid(th: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        z = th[:, :1] - th[:, 1:] * lu  # log of the power-law term
        m = np.logaddexp(z, log_l0)
        return m - y, np.exp(z - m)  # residual, d residual / d log a

    def objective(r: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.sum(_huber(r, delta), axis=1)

    r, s = resid(theta)
    f = objective(r)
    active = np.ones(l0.size, dtype=bool)
    for _ in range(_MAX_ITER):
        psi = np.clip(r, -delta, delta)  # Huber's psi = derivative of the penalty
        g0, g1 = (psi * s).sum(1), -(psi * s * lu).sum(1)
        # Newton's curvature (huber'' = 1 in the quadratic zone, 0 beyond); where fewer than two
        # residuals are in the quadratic zone, IRLS weights psi(r) / r instead.
        w = (np.abs(r) <= delta) * s**2
        w_newton = w + psi * s * (1.0 - s)  # + psi(r) d^2 r / d z^2: the exact Hessian
        h00, h01, h11 = w_newton.sum(1), -(w_newton * lu).sum(1), (w_newton * lu**2).sum(1)
        det = h00 * h11 - h01**2
        indefinite = (h00 <= 0) | (det <= 1e-9 * np.abs(h00 * h11))
        if indefinite.any():  # Gauss-Newton there: drop the second-derivative term
            w = np.where(indefinite[:, None], w, w_newton)
            h00, h01, h11 = w.sum(1), -(w * lu).sum(1), (w * lu**2).sum(1)
            det = h00 * h11 - h01**2
        else:
            w = w_newton
        weak = det <= 1e-9 * np.maximum(h00 * h11, 1e-300)
        if weak.any():
            w_irls = np.minimum(1.0, delta / np.maximum(np.abs(r), 1e-300)) * s**2
            w = np.where(weak[:, None], w_irls, w)
            h00, h01, h11 = w.sum(1), -(w * lu).sum(1), (w * lu**2).sum(1)
            det = h00 * h11 - h01**2
        step = -np.column_stack([h11 * g0 - h01 * g1, h00 * g1 - h01 * g0]) / det[:, None]
        slope = g0 * step[:, 0] + g1 * step[:, 1]  # directional derivative (< 0)
        t = np.where(active, 1.0, 0.0)
        for _ in range(40):  # backtracking line search, row by row
            trial = theta + t[:, None] * step
            r_t, s_t = resid(trial)
            f_t = objective(r_t)
            bad = active & (f_t > f + 1e-4 * t * slope) & (t > 1e-10)
            if not bad.any():
                break
            t = np.where(bad, 0.5 * t, t)
        better = active & (f_t <= f)
        moved = np.max(np.abs(t[:, None] * step), axis=1)
        theta = np.where(better[:, None], trial, theta)
        r = np.where(better[:, None], r_t, r)
        s = np.where(better[:, None], s_t, s)
        f = np.where(better, f_t, f)
        active &= better & (moved >= _STEP_TOL)
        if not active.any():
            break
    return theta, f


def _fit_once(
    c: NDArray[np.float64],
    L: NDArray[np.float64],
    L0: float | None,
    huber_delta: float,
) -> tuple[float, float, float]:
    """One fit; returns ``(a, b, L0)`` in the original units of ``c``."""
    # Normalise compute by its geometric mean so that the fit does not depend on the units of c;
    # a is then the reducible loss at c = c_ref and is converted back at the end.
    lc = np.log(c)
    c_ref = float(np.exp(np.mean(lc)))
    lu, y = lc - np.log(c_ref), np.log(L)
    if L0 is not None:
        theta = _fit_fixed_L0(lu, y, float(L0), huber_delta)[0][0]
        l0 = float(L0)
    else:
        # Profile over q = L0 / min(L) in [0, 1): a grid that crowds towards 1 (where the fit
        # changes fastest), then Brent's bounded minimiser between the best point's neighbours.
        L_min = float(L.min())
        q_grid = 1.0 - np.geomspace(1.0, 1e-4, _N_GRID)

        def profile(q: float) -> float:
            return float(_fit_fixed_L0(lu, y, q * L_min, huber_delta)[1][0])

        values = _fit_fixed_L0(lu, y, q_grid * L_min, huber_delta)[1]
        k = int(np.argmin(values))
        lo, hi = q_grid[max(k - 1, 0)], q_grid[min(k + 1, _N_GRID - 1)]
        res = minimize_scalar(profile, bounds=(lo, hi), method="bounded",
                              options={"xatol": _L0_XTOL})
        q = float(res.x) if res.fun < values[k] else float(q_grid[k])
        l0 = q * L_min
        theta = _fit_fixed_L0(lu, y, l0, huber_delta)[0][0]
    a_u, b = float(np.exp(theta[0])), float(theta[1])
    # a_u * (c / c_ref)^(-b) = (a_u * c_ref^b) * c^(-b)
    return a_u * c_ref**b, b, l0


def fit_power_law_offset(
    c: ArrayLike,
    L: ArrayLike,
    *,
    L0: float | None = None,
    huber_delta: float = 0.02,
    n_bootstrap: int = 200,
    seed: int = 0,
) -> PowerLawFit:
    """Fit ``L(c) = a * c**(-b) + L0`` robustly, with a unique answer.

    Objective: ``sum_i huber(log(a c_i^-b + L0) - log L_i)``, the Huber penalty of the log
    residuals (quadratic up to ``huber_delta``, linear beyond), with ``0 <= L0 < min L``. Log
    residuals weigh every decade equally; the Huber penalty keeps a few points off the law by
    more than about ``huber_delta`` (2%) from dominating.

    How the answer is made unique (so it does not depend on where an optimiser happens to stop,
    nor on the last bits of the CPU's arithmetic):

    * ``huber_delta = 0.02`` is of the size of the scatter of log losses, so the penalty is
      quadratic near the minimum. (The authors' notebooks use ``1e-3``, which makes the fit
      an L1 fit whose minimum is a flat valley: an optimiser stops anywhere in it.)
    * For a given ``L0`` the fit of ``(log a, b)`` is Gauss-Newton with Huber weights, iterated
      until a step is below ``1e-12`` (for ``L0 = 0`` the problem is convex: one minimum).
    * A free ``L0`` is profiled: the minimum over ``(log a, b)`` is evaluated on a grid of 48
      values of ``L0 / min L`` in ``[0, 0.9999]`` and refined by Brent's bounded minimiser
      between the best grid point's neighbours to ``1e-10`` in ``L0 / min L``.

    Compute is divided by its geometric mean during the fit and converted back. Standard errors
    come from a case-resampling bootstrap (points drawn with replacement, ``n_bootstrap``
    refits, ``seed`` fixes the draws). ``R^2`` is computed for ``log L``. Pass ``L0`` to hold
    it fixed.

    >>> c = np.logspace(0, 4, 12)
    >>> fit = fit_power_law_offset(c, 3.0 * c**-0.3 + 0.5, n_bootstrap=0)
    >>> round(fit.a, 4), round(fit.b, 5), round(fit.L0, 5)
    (3.0, 0.3, 0.5)
    """
    c = check_positive_1d("c", c)
    L = check_positive_1d("L", L)
    if c.shape != L.shape:
        raise ValueError(f"c and L must have the same shape, got {c.shape} and {L.shape}")
    n_free = 2 if L0 is not None else 3
    if c.size < n_free + 1:
        raise ValueError(f"need at least {n_free + 1} points to fit, got {c.size}")
    if np.unique(c).size < 2:
        raise ValueError("need at least 2 distinct compute values")
    if L0 is not None and not (0 <= L0 < L.min()):
        raise ValueError(f"fixed L0 must satisfy 0 <= L0 < min(L) = {L.min():.4g}")
    if not huber_delta > 0:
        raise ValueError(f"huber_delta must be positive, got {huber_delta}")

    a, b, l0 = _fit_once(c, L, L0, huber_delta)
    logL = np.log(L)
    resid = np.log(a * c ** (-b) + l0) - logL
    ss_tot = float(np.sum((logL - logL.mean()) ** 2))
    r2 = 1.0 - float(np.sum(resid**2)) / ss_tot if ss_tot > 0 else float("nan")

    errs = [float("nan")] * 3
    if n_bootstrap > 0:
        rng = np.random.default_rng(seed)
        draws = []
        for _ in range(n_bootstrap):
            idx = rng.integers(0, c.size, c.size)
            if np.unique(c[idx]).size < n_free:  # degenerate resample: skip
                continue
            draws.append(_fit_once(c[idx], L[idx], L0, huber_delta))
        if len(draws) >= 2:
            # Bootstrap error of a is taken in log space and mapped back (a spans decades).
            d = np.array(draws)
            errs = [a * float(np.std(np.log(d[:, 0]), ddof=1)),
                    float(np.std(d[:, 1], ddof=1)), float(np.std(d[:, 2], ddof=1))]
    return PowerLawFit(
        a=a, b=b, L0=l0, r2_log=r2, a_err=errs[0], b_err=errs[1],
        L0_err=0.0 if L0 is not None else errs[2], fixed_L0=L0 is not None, n_points=int(c.size),
    )


@dataclass(frozen=True)
class PurePowerLawFit:
    """Result of fitting ``y = (x / a)**(-b)`` in log-log space.

    Attributes:
        a, b: fitted scale and decay exponent (``b > 0`` for a falling ``y``; the sign
            convention of :class:`PowerLawFit`).
        log_a_err: standard error of ``log a`` (natural log); ``a_err = a * log_a_err``.
        b_err: standard error of ``b``.
        r2_log: ``R^2`` of the log-log regression.
        n_points: number of points.
    """

    a: float
    b: float
    log_a_err: float
    b_err: float
    r2_log: float
    n_points: int

    @property
    def a_err(self) -> float:
        """Standard error of ``a`` (first order): ``a * log_a_err``.

        >>> PurePowerLawFit(2.0, 1.5, 0.1, 0.01, 1.0, 5).a_err
        0.2
        """
        return self.a * self.log_a_err

    def predict(self, x: ArrayLike) -> NDArray[np.float64]:
        """Evaluate ``(x / a)**(-b)``.

        >>> float(PurePowerLawFit(2.0, 2.0, 0.0, 0.0, 1.0, 5).predict(6.0))
        0.1111111111111111
        """
        return (np.asarray(x, dtype=float) / self.a) ** (-self.b)


def fit_pure_power_law(x: ArrayLike, y: ArrayLike) -> PurePowerLawFit:
    """Fit ``y = (x / a)**(-b)`` by least squares on ``log y = -b log x + b log a``.

    ``b`` is the decay exponent, positive for a falling ``y``, as ``b`` of
    :func:`fit_power_law_offset` (``L = a c^(-b) + L0``); a growing ``y`` gives ``b < 0``.
    Standard errors are the usual OLS ones (residual variance with ``n - 2`` degrees of
    freedom); ``log a`` gets its error from the delta method on ``log a = intercept / b``.
    With exactly two points the errors are NaN.

    >>> x = np.array([1.0, 10.0, 100.0])
    >>> fit = fit_pure_power_law(x, (x / 2.0) ** -1.5)
    >>> round(fit.a, 6), round(fit.b, 6)
    (2.0, 1.5)
    """
    x = check_positive_1d("x", x)
    y = check_positive_1d("y", y)
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same shape, got {x.shape} and {y.shape}")
    if x.size < 2 or np.unique(x).size < 2:
        raise ValueError("need at least 2 distinct x values")
    lx, ly = np.log(x), np.log(y)
    X = np.column_stack([np.ones_like(lx), lx])
    coef, *_ = np.linalg.lstsq(X, ly, rcond=None)
    intercept, b = float(coef[0]), -float(coef[1])  # slope = -b
    resid = ly - X @ coef
    n = x.size
    ss_tot = float(np.sum((ly - ly.mean()) ** 2))
    r2 = 1.0 - float(np.sum(resid**2)) / ss_tot if ss_tot > 0 else float("nan")
    if n > 2:
        s2 = float(np.sum(resid**2)) / (n - 2)
        cov = s2 * np.linalg.inv(X.T @ X)
        b_err = float(np.sqrt(cov[1, 1]))
        # log a = intercept / b = -intercept / slope: gradient in (intercept, slope) is
        # (1/b, intercept/b^2)
        g = np.array([1.0 / b, intercept / b**2])
        log_a_err = float(np.sqrt(g @ cov @ g))
    else:
        b_err = log_a_err = float("nan")
    return PurePowerLawFit(
        a=float(np.exp(intercept / b)), b=b, log_a_err=log_a_err, b_err=b_err,
        r2_log=r2, n_points=int(n),
    )
