"""Collapse as a tool: forecast a run's final loss early; raise an alarm when it leaves the curve.

Bergsma et al. (2025), arXiv 2509.25087. Notation of :mod:`.collapse` (``R = L - L0``,
``l(x, p, w) = R(x c*) / R(c*)``, ``x = c / c*``)::

    log l_u(x) = E_p E_w log l(x, p, w)                                  (universal_curve)
    log R*_hat = mean_i [log R(x_i c*) - log l_u(x_i)]  over x_i in [w x_last, x_last]
    sigma_f^2  = k_n^2 E_p E_w [mean_i (log l(x_i, p, w) - log l_u(x_i))]^2,
    k_n^2      = (n + 1) / (n - 1)                      (predict_final_loss; n sizes, our choice)
    d(x)       = log R(x c*) - log R*_hat_ref - log l_u(x),  z(x) = d(x) / s_d(x)
                                                                         (deviation_score)

with ``s_d`` the ladder's own spread of ``d``. The interval of the forecast is
``L0 + R*_hat exp(+-k sigma_f)``; the alarm is ``|z| > threshold`` at ``persist`` consecutive
evaluations. :func:`extrapolate_power_law` is the naive baseline, a power law ``R = a c^(-b)``
fitted to the same window.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .collapse import collapse_metrics
from .ladder import LadderLike

__all__ = [
    "DeviationScore",
    "Forecast",
    "UniversalCurve",
    "deviation_score",
    "extrapolate_power_law",
    "predict_final_loss",
    "universal_curve",
]


@dataclass(frozen=True)
class UniversalCurve:
    """The universal (collapsed) curve of a ladder, with the ladder's own curves for its errors.

    Attributes:
        x: normalised-compute grid in ``(0, 1]``, shape ``(n_x,)``.
        ell: ``l_u(x) = exp(E_p E_w log l(x, p, w))``, shape ``(n_x,)``.
        log_curves: ``log l(x, p, w)`` of the ladder, shape ``(n_sizes, n_seeds, n_x)``; NaN
            for missing seeds.
        spread: ``s(x)``, the RMS over sizes and seeds of ``log l - log l_u`` (sizes weighted
            equally), shape ``(n_x,)``.
        L0: the irreducible loss used in the normalisation.
    """

    x: NDArray[np.float64]
    ell: NDArray[np.float64]
    log_curves: NDArray[np.float64]
    spread: NDArray[np.float64]
    L0: float

    @property
    def n_sizes(self) -> int:
        return int(self.log_curves.shape[0])

    @property
    def k_new(self) -> float:
        """``k_n = ((n + 1) / (n - 1))^(1/2)``: the spread of ``n`` sizes as a new size's error.

        >>> c = np.array([1.0, 2.0])
        >>> round(universal_curve([(c, 2 / c)] * 3, None, L0=0.0, n_x=2).k_new, 4)
        1.4142
        """
        n = self.n_sizes
        return float(np.sqrt((n + 1) / (n - 1)))

    def __call__(self, x: ArrayLike) -> NDArray[np.float64]:
        """``l_u`` at ``x``, interpolated linearly in ``(log x, log l)``.

        >>> u = universal_curve([([1.0, 2.0, 4.0], [4.0, 2.0, 1.0]),
        ...                      ([2.0, 4.0, 8.0], [4.0, 2.0, 1.0])], None, L0=0.0, n_x=3)
        >>> [round(float(v), 6) for v in u([0.25, 0.5, 0.75])]
        [4.0, 2.0, 1.333333]
        """
        return np.exp(self._interp(self.ell_log[None], x)[0])

    @property
    def ell_log(self) -> NDArray[np.float64]:
        return np.log(self.ell)

    def _interp(self, rows: NDArray[np.float64], at: ArrayLike) -> NDArray[np.float64]:
        """Rows on the grid ``x``, interpolated at ``at`` linearly in ``log x``."""
        at = np.asarray(at, dtype=float)
        if np.any(at < self.x[0] * (1 - 1e-9)) or np.any(at > 1 + 1e-9):
            raise ValueError(f"x must lie in the universal curve's range [{self.x[0]:.4g}, 1]")
        lx, la = np.log(self.x), np.log(np.clip(at, self.x[0], 1.0))
        flat = rows.reshape(-1, self.x.size)
        out = np.array([np.interp(la, lx, r) for r in flat])
        return out.reshape(rows.shape[:-1] + la.shape)

    def ladder_at(self, x: ArrayLike) -> NDArray[np.float64]:
        """``log l(x, p, w) - log l_u(x)`` of each ladder curve, shape ``(n_sizes, n_seeds, n)``."""
        return self._interp(self.log_curves, x) - self._interp(self.ell_log[None], x)[0]


def _rms_ladder(dev: NDArray[np.float64]) -> NDArray[np.float64] | float:
    """RMS over seeds (NaN = missing seed), then over sizes: every size weighted equally."""
    return np.sqrt(np.mean(np.nanmean(dev**2, axis=1), axis=0))


def universal_curve(
    curves: LadderLike, c_star: ArrayLike | None, L0: float, *, x: ArrayLike | None = None,
    n_x: int = 256,
) -> UniversalCurve:
    """The universal curve ``l_u(x)`` of a collapsed ladder and its spread ``s(x)``.

    ``curves``, ``c_star``, ``L0``, ``x`` and ``n_x`` are those of
    :func:`~supercollapse.analysis.collapse.collapse_metrics`, which normalises the curves
    (each seed by its own final loss, Eq. 1 of Qiu et al. 2025). Then::

        log l_u(x) = E_p E_w log l(x, p, w),    s(x)^2 = E_p E_w (log l - log l_u)^2

    Two sizes whose curves are ``4/x`` and ``4/x`` again (exact collapse): ``l_u = 1/x``,
    ``s = 0``.

    >>> c = np.array([1.0, 2.0, 4.0])
    >>> u = universal_curve([(c, 4 / c), (2 * c, 8 / c)], None, L0=0.0, n_x=3)
    >>> [round(float(v), 6) for v in u.x], [round(float(v), 6) for v in u.ell]
    ([0.25, 0.5, 1.0], [4.0, 2.0, 1.0])
    >>> float(u.spread.max())
    0.0
    """
    res = collapse_metrics(curves, c_star, L0, x=x, n_x=n_x)
    if np.any(res.curves[np.isfinite(res.curves)] <= 0):
        raise ValueError("a normalised curve is not positive: is L0 below every loss?")
    logc = np.log(res.curves)
    mean_log = np.mean(np.nanmean(logc, axis=1), axis=0)
    spread = _rms_ladder(logc - mean_log)
    return UniversalCurve(res.x, np.exp(mean_log), logc, np.asarray(spread), float(L0))


@dataclass(frozen=True)
class Forecast:
    """A forecast of a run's final loss from the first part of its curve.

    Attributes:
        prediction: ``L*_hat``, the predicted loss at ``c*``.
        sigma: relative error of the reducible part, ``sigma_f`` (the ladder's own spread of
            the same estimator).
        lower, upper: ``L0 + R*_hat exp(-+ n_sigma sigma)``.
        n_sigma: width of the interval in units of ``sigma``.
        x_used: the normalised compute of the points averaged.
        x_last: the last ``x`` seen (the fraction of the run used).
        c_star, L0: the inputs.
    """

    prediction: float
    sigma: float
    lower: float
    upper: float
    n_sigma: float
    x_used: NDArray[np.float64]
    x_last: float
    c_star: float
    L0: float


def _partial(c: ArrayLike, L: ArrayLike, c_star: float, L0: float,
             x_min: float) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``x = c / c*`` and ``log R`` of a 1-D partial curve, points with ``x_min <= x <= 1``."""
    c, L = np.asarray(c, dtype=float), np.asarray(L, dtype=float)
    if c.ndim != 1 or c.shape != L.shape:
        raise ValueError(f"c and L must be 1-D of equal length, got {c.shape} and {L.shape}")
    if not (np.isfinite(c_star) and c_star > 0):
        raise ValueError("c_star must be finite and positive")
    if not np.isfinite(L0):
        raise ValueError("L0 must be finite")
    x = c / c_star
    keep = (x >= x_min * (1 - 1e-9)) & (x <= 1 + 1e-9)
    x, L = x[keep], L[keep]
    if x.size == 0:
        raise ValueError(f"no point of the curve lies in x = c / c_star in [{x_min:.4g}, 1]")
    if not np.all(np.isfinite(L)):
        raise ValueError("the loss curve contains NaN or inf (a diverged run)")
    if np.any(L <= L0):
        raise ValueError(f"L0={L0:.4g} is not below every loss of the curve")
    if np.any(np.diff(x) <= 0):
        raise ValueError("compute must be strictly increasing")
    return x, np.log(L - L0)


def predict_final_loss(
    c: ArrayLike, L: ArrayLike, c_star: float, universal: UniversalCurve, L0: float, *,
    window: float = 0.5, n_sigma: float = 1.0,
) -> Forecast:
    """Predict a run's loss at its horizon ``c_star`` from its first part and a universal curve.

    ``c``, ``L``: compute and loss of one run (one seed) so far; only points with
    ``x = c / c_star`` in the universal curve's range are used, the latest ``x_last`` taken as
    the fraction of the run seen. With the points ``x_i`` in ``[window x_last, x_last]``::

        log R*_hat = mean_i [log(L(x_i c*) - L0) - log l_u(x_i)]
        sigma_f^2  = k_n^2 E_p E_w [mean_i (log l(x_i, p, w) - log l_u(x_i))]^2

    with ``k_n`` = :attr:`UniversalCurve.k_new` (the run is a new size), and
    ``L*_hat = L0 + R*_hat``, interval ``L0 + R*_hat exp(-+ n_sigma sigma_f)``. ``L0`` must be
    the one the universal curve was built with. ``window=1`` uses the last point only.

    A run exactly on the universal curve ``l_u = 1/x`` with final loss 0.25 is predicted exactly
    from its first 20 %:

    >>> c = np.array([1.0, 2.0, 4.0, 8.0])
    >>> u = universal_curve([(c, 8 / c), (2 * c, 16 / c)], None, L0=0.0, n_x=4)
    >>> f = predict_final_loss([10.0, 20.0], [2.5, 1.25], 100.0, u, L0=0.0)
    >>> round(f.prediction, 6), round(f.sigma, 6), round(f.x_last, 2)
    (0.25, 0.0, 0.2)
    """
    if universal.L0 != L0:
        raise ValueError(f"L0={L0} differs from the universal curve's L0={universal.L0}")
    if not 0 < window <= 1:
        raise ValueError(f"window must be in (0, 1], got {window}")
    x, logR = _partial(c, L, c_star, L0, universal.x[0])
    sel = x >= window * x[-1] * (1 - 1e-12)
    x_used = x[sel]
    logR_star = float(np.mean(logR[sel] - np.log(universal(x_used))))
    err = universal.ladder_at(x_used).mean(axis=-1)  # (n_sizes, n_seeds)
    sigma = universal.k_new * float(_rms_ladder(err))
    R = float(np.exp(logR_star))
    return Forecast(L0 + R, sigma, L0 + R * np.exp(-n_sigma * sigma),
                    L0 + R * np.exp(n_sigma * sigma), float(n_sigma), x_used, float(x[-1]),
                    float(c_star), float(L0))


def extrapolate_power_law(
    c: ArrayLike, L: ArrayLike, c_star: float, L0: float, *, x_min: float = 0.0,
    window: float = 0.5,
) -> float:
    """Naive forecast: a power law ``L - L0 = a c^(-b)`` fitted to a partial curve, taken to ``c*``.

    Least squares of ``log(L - L0)`` on ``log c`` over the points with ``x = c / c*`` in
    ``[window x_last, x_last]`` (the same window as :func:`predict_final_loss`), then
    ``L*_hat = L0 + a c*^(-b)``. It ignores the learning-rate schedule, so for a run whose rate
    decays it misses the drop of the loss at the end of training. Needs at least 2 points.

    >>> c = np.array([1.0, 2.0, 4.0, 8.0])
    >>> round(extrapolate_power_law(c, 0.1 + 3 * c**-0.5, 64.0, L0=0.1), 6)
    0.475
    """
    if not 0 < window <= 1:
        raise ValueError(f"window must be in (0, 1], got {window}")
    x, logR = _partial(c, L, c_star, L0, max(x_min, 1e-300))
    sel = x >= window * x[-1] * (1 - 1e-12)
    if np.count_nonzero(sel) < 2:
        raise ValueError("need at least 2 points in the window to fit a power law")
    _slope, icpt = np.polyfit(np.log(x[sel]), logR[sel], 1)
    return float(L0 + np.exp(icpt))  # at x = 1: log R = icpt


@dataclass(frozen=True)
class DeviationScore:
    """How far a run has left the universal curve, in units of the ladder's spread.

    Attributes:
        x: normalised compute of the scored points (``x > x_ref``).
        z: the deviation score ``d(x) / s_d(x)`` at each point.
        d: the log deviation ``d(x)`` from the path forecast at ``x_ref``.
        spread: ``s_d(x)``, the ladder's RMS of the same quantity.
        x_ref: where the reference forecast was made.
        reference: the forecast made at ``x_ref``.
        threshold, persist: the alarm rule (``|z| > threshold`` at ``persist`` consecutive points).
        alarm_x: the ``x`` at which the alarm rises (the last of the ``persist`` points); NaN if
            it never does.
    """

    x: NDArray[np.float64]
    z: NDArray[np.float64]
    d: NDArray[np.float64]
    spread: NDArray[np.float64]
    x_ref: float
    reference: Forecast
    threshold: float
    persist: int
    alarm_x: float

    @property
    def alarmed(self) -> bool:
        return bool(np.isfinite(self.alarm_x))


def deviation_score(
    c: ArrayLike, L: ArrayLike, c_star: float, universal: UniversalCurve, L0: float, *,
    x_ref: float = 0.1, window: float = 0.5, threshold: float = 3.0, persist: int = 3,
) -> DeviationScore:
    """Deviation of a run from the universal curve after ``x_ref``, in units of the ladder's spread.

    The run's final loss is forecast from its points up to ``x_ref`` (:func:`predict_final_loss`
    with ``window``); every later point is compared with the path that forecast implies::

        d(x)     = log(L(x c*) - L0) - log R*_hat_ref - log l_u(x)
        s_d(x)^2 = k_n^2 E_p E_w [log l(x, p, w) - log l_u(x) - e_ref(p, w)]^2
        z(x)     = d(x) / s_d(x)

    with ``k_n`` = :attr:`UniversalCurve.k_new` and ``e_ref(p, w)`` the error of the same
    reference forecast on a ladder curve. Each
    ``z(x)`` uses only the run's points up to ``x``: it can be computed online. The alarm is
    the first ``x`` at which ``|z| > threshold`` holds at ``persist`` consecutive points.

    A run that follows ``1/x`` to ``x = 0.5`` and then stalls (its loss stays flat):

    >>> c = np.linspace(0.05, 1.0, 20)
    >>> rng = np.random.default_rng(0)  # a ladder of 2 sizes x 3 seeds with 1 % noise per point
    >>> ladder = [(c, (1 + 0.01 * rng.standard_normal((3, 20))) / c) for _ in range(2)]
    >>> u = universal_curve(ladder, None, L0=0.0, n_x=64)
    >>> bad = np.where(c < 0.5, 1 / c, 2.0)
    >>> dev = deviation_score(c, bad, 1.0, u, L0=0.0, x_ref=0.2)
    >>> dev.alarmed, round(dev.alarm_x, 2)
    (True, 0.65)
    >>> deviation_score(c, 1.01 / c, 1.0, u, L0=0.0, x_ref=0.2).alarmed
    False
    """
    if not threshold > 0 or persist < 1:
        raise ValueError("need threshold > 0 and persist >= 1")
    x, logR = _partial(c, L, c_star, L0, universal.x[0])
    if not universal.x[0] <= x_ref < 1:
        raise ValueError(f"x_ref={x_ref} must lie in [{universal.x[0]:.4g}, 1)")
    early = x <= x_ref * (1 + 1e-12)
    if not np.any(early):
        raise ValueError(f"the run has no point with x <= x_ref={x_ref}")
    c_arr = x * c_star
    ref = predict_final_loss(c_arr[early], np.exp(logR[early]) + L0, c_star, universal, L0,
                             window=window)
    e_ref = universal.ladder_at(ref.x_used).mean(axis=-1)  # (n_sizes, n_seeds)
    xs, lr = x[~early], logR[~early]
    d = lr - np.log(ref.prediction - L0) - np.log(universal(xs))
    dev = universal.ladder_at(xs) - e_ref[..., None]
    spread = universal.k_new * np.asarray(_rms_ladder(dev))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(spread > 0, d / spread, np.where(np.abs(d) < 1e-12, 0.0, np.inf * np.sign(d)))
    over = np.abs(z) > threshold
    alarm = float("nan")
    run = 0
    for k, o in enumerate(over):
        run = run + 1 if o else 0
        if run >= persist:
            alarm = float(xs[k])
            break
    return DeviationScore(xs, z, d, spread, float(x_ref), ref, float(threshold), int(persist),
                          alarm)
