"""Power-law fits used throughout the book.

Two fits:

* :func:`fit_power_law_offset` -- the compute-optimal frontier law ``L(c) = a c^(-b) + L0``,
  fitted the way the authors' notebooks do it (Huber loss on log residuals, several starts,
  L-BFGS-B with non-negative bounds), plus bootstrap standard errors.
* :func:`fit_pure_power_law` -- ``y = (x / a)^b`` by ordinary least squares in log-log space,
  with standard errors from the regression.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import minimize

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
        a, b, L0: fitted parameters (``a`` in the units of ``L`` at ``c = 1``).
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


def _fit_once(
    c: NDArray[np.float64],
    L: NDArray[np.float64],
    L0: float | None,
    n_starts: int,
    huber_delta: float,
) -> tuple[float, float, float]:
    """One robust multi-start fit; returns ``(a, b, L0)`` in the original units of ``c``."""
    # Normalise compute by its geometric mean so that starts do not depend on the units of c;
    # a is then the reducible loss at c = c_ref and is converted back at the end.
    c_ref = float(np.exp(np.mean(np.log(c))))
    u = c / c_ref
    logL = np.log(L)
    L_min = float(L.min())
    L0_hi = L_min * (1.0 - 1e-9)  # L0 < min L keeps every log residual finite

    def objective(theta: NDArray[np.float64]) -> float:
        a, b = theta[0], theta[1]
        l0 = theta[2] if L0 is None else L0
        pred = a * u ** (-b) + l0
        if np.any(pred <= 0):
            return 1e12
        return float(np.sum(_huber(np.log(pred) - logL, huber_delta)))

    # Starts: a in [0.1, 1] x (loss scale), b in [0.01, 0.3], L0 in [0.1, 1) x min L (authors' grid).
    rng = np.random.default_rng(12345)
    scale = L_min
    best: tuple[float, NDArray[np.float64]] | None = None
    for k in range(n_starts):
        a0 = scale * rng.uniform(0.1, 1.0) if k else 0.5 * scale
        b0 = rng.uniform(0.01, 0.3) if k else 0.1
        x0 = [a0, b0]
        bounds = [(1e-12, None), (0.0, None)]
        if L0 is None:
            x0.append(L_min * (rng.uniform(0.1, 0.99) if k else 0.5))
            bounds.append((0.0, L0_hi))
        res = minimize(objective, np.array(x0), method="L-BFGS-B", bounds=bounds)
        if best is None or res.fun < best[0]:
            best = (float(res.fun), res.x)
    assert best is not None
    theta = best[1]
    a_u, b = float(theta[0]), float(theta[1])
    l0 = float(theta[2]) if L0 is None else float(L0)
    # a_u * (c / c_ref)^(-b) = (a_u * c_ref^b) * c^(-b)
    return a_u * c_ref**b, b, l0


def fit_power_law_offset(
    c: ArrayLike,
    L: ArrayLike,
    *,
    L0: float | None = None,
    n_starts: int = 8,
    huber_delta: float = 1e-3,
    n_bootstrap: int = 200,
    seed: int = 0,
) -> PowerLawFit:
    """Fit ``L(c) = a * c**(-b) + L0`` robustly.

    Objective (the authors' notebook choice): ``sum_i huber(log L_pred(c_i) - log L_i)`` with
    ``huber_delta = 1e-3``, minimised by L-BFGS-B with ``a, b >= 0`` and ``0 <= L0 < min L``,
    from several starts (a in [0.1, 1] times the loss scale, b in [0.01, 0.3],
    L0 in [0.1, 1) times min L). Our choices: compute is divided by its geometric mean during
    the fit (so starts work for any compute range) and converted back; standard errors come
    from a case-resampling bootstrap (points drawn with replacement, ``n_bootstrap`` refits).
    ``R^2`` is computed for ``log L`` (log space). Pass ``L0`` to hold it fixed.

    >>> c = np.logspace(0, 4, 12)
    >>> fit = fit_power_law_offset(c, 3.0 * c**-0.3 + 0.5, n_bootstrap=0)
    >>> round(fit.a, 2), round(fit.b, 3), round(fit.L0, 3)
    (3.0, 0.3, 0.5)
    """
    c = check_positive_1d("c", c)
    L = check_positive_1d("L", L)
    if c.shape != L.shape:
        raise ValueError(f"c and L must have the same shape, got {c.shape} and {L.shape}")
    n_free = 2 if L0 is not None else 3
    if c.size < n_free + 1:
        raise ValueError(f"need at least {n_free + 1} points to fit, got {c.size}")
    if L0 is not None and not (0 <= L0 < L.min()):
        raise ValueError(f"fixed L0 must satisfy 0 <= L0 < min(L) = {L.min():.4g}")

    a, b, l0 = _fit_once(c, L, L0, n_starts, huber_delta)
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
            draws.append(_fit_once(c[idx], L[idx], L0, max(2, n_starts // 2), huber_delta))
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
    """Result of fitting ``y = (x / a)**b`` in log-log space.

    Attributes:
        a, b: fitted scale and exponent.
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
        """Evaluate ``(x / a)**b``.

        >>> float(PurePowerLawFit(2.0, 2.0, 0.0, 0.0, 1.0, 5).predict(6.0))
        9.0
        """
        return (np.asarray(x, dtype=float) / self.a) ** self.b


def fit_pure_power_law(x: ArrayLike, y: ArrayLike) -> PurePowerLawFit:
    """Fit ``y = (x / a)**b`` by least squares on ``log y = b log x - b log a``.

    Standard errors are the usual OLS ones (residual variance with ``n - 2`` degrees of
    freedom); ``log a`` gets its error from the delta method on ``log a = -intercept / b``.
    With exactly two points the errors are NaN.

    >>> x = np.array([1.0, 10.0, 100.0])
    >>> fit = fit_pure_power_law(x, (x / 2.0) ** 1.5)
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
    intercept, b = float(coef[0]), float(coef[1])
    resid = ly - X @ coef
    n = x.size
    ss_tot = float(np.sum((ly - ly.mean()) ** 2))
    r2 = 1.0 - float(np.sum(resid**2)) / ss_tot if ss_tot > 0 else float("nan")
    if n > 2:
        s2 = float(np.sum(resid**2)) / (n - 2)
        cov = s2 * np.linalg.inv(X.T @ X)
        b_err = float(np.sqrt(cov[1, 1]))
        # log a = -intercept / b: gradient (-1/b, intercept/b^2)
        g = np.array([-1.0 / b, intercept / b**2])
        log_a_err = float(np.sqrt(g @ cov @ g))
    else:
        b_err = log_a_err = float("nan")
    return PurePowerLawFit(
        a=float(np.exp(-intercept / b)), b=b, log_a_err=log_a_err, b_err=b_err,
        r2_log=r2, n_points=int(n),
    )
