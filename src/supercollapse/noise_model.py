"""The paper's SGD noise model of how learning-rate schedules deform loss curves.

With learning-rate time ``tau(t) = sum_{s<t} eta(s)`` and the multiplier ``m(t) = eta(t)/eta_0``,
a scheduled run's loss is predicted from a constant-rate run of the same model as

    L_sched(t) ~= L_const(tau(t)) + alpha * (m(t) - 1) * Tr Sigma(t),

where ``Tr Sigma`` is the trace of the per-example covariance of the preconditioned gradient
measured in the scheduled run. ``alpha`` is one number per task, fitted here in closed form.
The module also holds the variance side of the model (why decay suppresses seed noise) and
an exponential-moving-average smoother (the authors smooth with a half-life of 1% of training).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "NoiseModelFit",
    "ScheduleRun",
    "ema",
    "fit_noise_model",
    "fit_seed_std_coefficient",
    "learning_rate_time",
    "predict_scheduled_loss",
    "predicted_noise_floor",
    "predicted_seed_std",
]


def _arr(name: str, a: ArrayLike) -> NDArray[np.float64]:
    a = np.asarray(a, dtype=float)
    if a.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or inf")
    return a


def learning_rate_time(eta: ArrayLike) -> NDArray[np.float64]:
    """``tau(t) = sum_{s<t} eta(s)`` for a per-step learning rate (``tau(0) = 0``).

    >>> [float(v) for v in learning_rate_time([1.0, 0.5, 0.25])]
    [0.0, 1.0, 1.5]
    """
    eta = _arr("eta", eta)
    if np.any(eta < 0):
        raise ValueError("learning rates must be non-negative")
    return np.concatenate([[0.0], np.cumsum(eta)[:-1]])


def ema(y: ArrayLike, *, t: ArrayLike | None = None, half_life: float = 0.01) -> NDArray[np.float64]:
    """Exponential moving average with a half-life given as a fraction of the time span.

    ``s_0 = y_0``, ``s_k = w_k s_{k-1} + (1 - w_k) y_k`` with ``w_k = 2^(-(t_k - t_{k-1}) / h)``
    and ``h = half_life * (t_last - t_first)``; ``t`` defaults to the index, so irregularly
    spaced evaluations are handled. The authors used ``half_life = 0.01``.

    >>> [round(float(v), 3) for v in ema([0.0, 1.0, 1.0], half_life=0.5)]
    [0.0, 0.5, 0.75]
    """
    y = _arr("y", y)
    t = np.arange(y.size, dtype=float) if t is None else _arr("t", t)
    if t.shape != y.shape:
        raise ValueError(f"t shape {t.shape} does not match y shape {y.shape}")
    if np.any(np.diff(t) < 0):
        raise ValueError("t must be non-decreasing")
    if not half_life > 0:
        raise ValueError("half_life must be positive")
    h = half_life * max(t[-1] - t[0], 1e-300)
    out = np.empty_like(y)
    out[0] = y[0]
    for k in range(1, y.size):
        w = 2.0 ** (-(t[k] - t[k - 1]) / h)
        out[k] = w * out[k - 1] + (1 - w) * y[k]
    return out


def _interp_const(
    tau_const: NDArray[np.float64], L_const: NDArray[np.float64], tau: NDArray[np.float64],
    interp: str,
) -> NDArray[np.float64]:
    """``L_const`` at ``tau``; NaN outside the reference run's tau range."""
    order = np.argsort(tau_const)
    tc, Lc = tau_const[order], L_const[order]
    out = np.full(tau.shape, np.nan)
    if interp == "linear":
        ok = (tau >= tc[0]) & (tau <= tc[-1])
        out[ok] = np.interp(tau[ok], tc, Lc)
        return out
    pos = tc > 0
    ok = (tau >= tc[pos][0]) & (tau <= tc[-1])
    out[ok] = np.exp(np.interp(np.log(tau[ok]), np.log(tc[pos]), np.log(Lc[pos])))
    if tc[0] == 0:  # tau = 0 (first step) maps onto the reference's first point
        out[tau == 0] = Lc[0]
    return out


def predict_scheduled_loss(
    tau_const: ArrayLike, L_const: ArrayLike, tau: ArrayLike, lr_multiplier: ArrayLike,
    trace_sigma: ArrayLike, alpha: float, *, interp: str = "loglog",
) -> NDArray[np.float64]:
    """``L_const(tau(t)) + alpha * (m(t) - 1) * Tr Sigma(t)``.

    ``L_const`` is interpolated at the scheduled run's ``tau`` linearly in
    ``(log tau, log L)`` (``interp="loglog"``, default, our choice: loss curves are close to
    power laws in tau) or linearly (``"linear"``). Where ``tau`` falls outside the reference
    run's range the prediction is NaN.

    >>> tc = np.array([0.0, 1.0, 2.0, 4.0]); Lc = np.array([2.0, 1.0, 0.5, 0.25])
    >>> p = predict_scheduled_loss(tc, Lc, [1.0, 2.0], [1.0, 0.5], [0.2, 0.2], alpha=0.5)
    >>> [round(float(v), 3) for v in p]
    [1.0, 0.45]
    """
    tc, Lc = _arr("tau_const", tau_const), _arr("L_const", L_const)
    tau, m, tr = _arr("tau", tau), _arr("lr_multiplier", lr_multiplier), _arr("trace_sigma", trace_sigma)
    if tc.shape != Lc.shape:
        raise ValueError(f"tau_const {tc.shape} and L_const {Lc.shape} differ in shape")
    if not (tau.shape == m.shape == tr.shape):
        raise ValueError(f"tau {tau.shape}, lr_multiplier {m.shape}, trace_sigma {tr.shape} differ")
    if interp not in ("loglog", "linear"):
        raise ValueError(f"interp must be 'loglog' or 'linear', got {interp!r}")
    if np.any(tc < 0) or np.any(tau < 0) or (interp == "loglog" and np.any(Lc <= 0)):
        raise ValueError("tau must be non-negative and L_const positive")
    return _interp_const(tc, Lc, tau, interp) + alpha * (m - 1.0) * tr


@dataclass(frozen=True)
class ScheduleRun:
    """One scheduled run and its constant-learning-rate reference (same model and seed set).

    Attributes:
        name: label (e.g. ``"linear"``, ``"cosine, width 512"``).
        tau, lr_multiplier, trace_sigma, loss: the scheduled run at its evaluation points.
        tau_const, loss_const: the constant-rate reference run.
    """

    name: str
    tau: ArrayLike
    lr_multiplier: ArrayLike
    trace_sigma: ArrayLike
    loss: ArrayLike
    tau_const: ArrayLike
    loss_const: ArrayLike


@dataclass(frozen=True)
class NoiseModelFit:
    """Fitted ``alpha`` and the model's prediction errors.

    Attributes:
        alpha: least-squares estimate.
        alpha_se: regression standard error of ``alpha``.
        alpha_boot_err: bootstrap-over-schedules standard error (NaN with < 2 schedules).
        rms_rel_error, max_rel_error: overall relative error of the prediction.
        per_schedule: ``{name: (rms_rel_error, max_rel_error)}``.
        n_points: number of points used.
    """

    alpha: float
    alpha_se: float
    alpha_boot_err: float
    rms_rel_error: float
    max_rel_error: float
    per_schedule: dict[str, tuple[float, float]]
    n_points: int


def _design(run: ScheduleRun, interp: str) -> tuple[NDArray[np.float64], ...]:
    """Regressor ``z = (m - 1) Tr Sigma``, target ``y = L - L_const(tau)``, base, observed."""
    base = predict_scheduled_loss(run.tau_const, run.loss_const, run.tau, run.lr_multiplier,
                                  run.trace_sigma, 0.0, interp=interp)
    L = _arr(f"{run.name}: loss", run.loss)
    if L.shape != base.shape:
        raise ValueError(f"{run.name}: loss shape {L.shape} does not match tau shape {base.shape}")
    z = (_arr("m", run.lr_multiplier) - 1.0) * _arr("tr", run.trace_sigma)
    ok = np.isfinite(base)
    return z[ok], (L - base)[ok], base[ok], L[ok]


def fit_noise_model(
    runs: Sequence[ScheduleRun], *, interp: str = "loglog", n_bootstrap: int = 200, seed: int = 0
) -> NoiseModelFit:
    """Fit ``alpha`` in ``L = L_const(tau) + alpha (m - 1) Tr Sigma`` across schedules.

    The model is linear in ``alpha``, so the least-squares solution is closed form:
    ``alpha = sum z y / sum z^2`` with ``z = (m - 1) Tr Sigma`` and ``y = L - L_const(tau)``
    pooled over all runs and points. Errors: the regression standard error, and (our choice,
    since points within a run are correlated) a bootstrap that resamples whole schedules.
    Prediction errors are relative, ``|L_pred - L| / L``.

    >>> tc = np.linspace(0, 10, 101); Lc = 1 / (1 + tc)
    >>> m = np.linspace(1, 0, 101); tau = learning_rate_time(m * 0.1)
    >>> tr = np.full(101, 0.3); L = 1 / (1 + tau) + 0.25 * (m - 1) * tr
    >>> fit = fit_noise_model([ScheduleRun("lin", tau, m, tr, L, tc, Lc)], interp="linear")
    >>> round(fit.alpha, 3)
    0.25
    """
    if len(runs) == 0:
        raise ValueError("need at least one schedule")
    parts = [_design(r, interp) for r in runs]
    z = np.concatenate([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    if z.size < 2 or not np.any(z != 0):
        raise ValueError("no usable points with m != 1 (is every run at the constant rate?)")
    alpha = float(z @ y / (z @ z))
    resid = y - alpha * z
    alpha_se = float(np.sqrt(resid @ resid / max(z.size - 1, 1) / (z @ z)))

    boot = float("nan")
    if len(runs) >= 2 and n_bootstrap > 0:
        rng = np.random.default_rng(seed)
        zz = np.array([p[0] @ p[0] for p in parts])
        zy = np.array([p[0] @ p[1] for p in parts])
        draws = []
        for _ in range(n_bootstrap):
            idx = rng.integers(0, len(runs), len(runs))
            if zz[idx].sum() > 0:
                draws.append(zy[idx].sum() / zz[idx].sum())
        boot = float(np.std(draws, ddof=1))

    per, rel_all = {}, []
    for run, (zr, _, base, L) in zip(runs, parts, strict=True):
        rel = np.abs(base + alpha * zr - L) / np.abs(L)
        per[run.name] = (float(np.sqrt(np.mean(rel**2))), float(rel.max()))
        rel_all.append(rel)
    rel = np.concatenate(rel_all)
    return NoiseModelFit(alpha, alpha_se, boot, float(np.sqrt(np.mean(rel**2))),
                         float(rel.max()), per, int(z.size))


def predicted_seed_std(
    lr_multiplier: ArrayLike, trace_sigma: ArrayLike, coef: float, *, lr_power: float = 1.0
) -> NDArray[np.float64]:
    """Seed-to-seed standard deviation of the loss implied by the noise model.

    The noise-driven part of the loss is ``~ alpha * m(t) * Tr Sigma(t)``: SGD noise keeps the
    parameters a distance set by the current learning rate from the noiseless trajectory.
    Across seeds that excess fluctuates; in a quadratic model each mode's excess is a scaled
    chi-square with mean and standard deviation both proportional to ``eta``, so

        std_seeds L(t) ~= coef * m(t)**lr_power * Tr Sigma(t)     (lr_power = 1).

    Decaying the rate (``m -> 0``) therefore suppresses seed variance at the end of training,
    where the normalisation pins every curve. ``coef`` is fitted with
    :func:`fit_seed_std_coefficient`; ``lr_power = 0.5`` gives the alternative reading in
    which the *variance* is proportional to ``eta``. This functional form is our reading of
    the paper's argument.

    >>> [round(float(v), 3) for v in predicted_seed_std([1.0, 0.1], [2.0, 2.0], coef=0.05)]
    [0.1, 0.01]
    """
    m, tr = _arr("lr_multiplier", lr_multiplier), _arr("trace_sigma", trace_sigma)
    if m.shape != tr.shape:
        raise ValueError(f"lr_multiplier {m.shape} and trace_sigma {tr.shape} differ in shape")
    if np.any(m < 0) or np.any(tr < 0):
        raise ValueError("lr_multiplier and trace_sigma must be non-negative")
    return coef * m**lr_power * tr


def fit_seed_std_coefficient(
    lr_multiplier: ArrayLike, trace_sigma: ArrayLike, seed_std: ArrayLike, *,
    lr_power: float = 1.0,
) -> float:
    """Least-squares ``coef`` (through the origin) in ``seed_std ~= coef * m**lr_power * Tr Sigma``.

    >>> m = np.array([1.0, 0.5, 0.1]); tr = np.array([1.0, 1.2, 1.5])
    >>> round(fit_seed_std_coefficient(m, tr, 0.03 * m * tr), 6)
    0.03
    """
    g = predicted_seed_std(lr_multiplier, trace_sigma, 1.0, lr_power=lr_power)
    s = _arr("seed_std", seed_std)
    if s.shape != g.shape:
        raise ValueError(f"seed_std shape {s.shape} does not match {g.shape}")
    if not np.any(g > 0):
        raise ValueError("regressor m**lr_power * Tr Sigma is zero everywhere")
    return float(g @ s / (g @ g))


def predicted_noise_floor(
    loss_mean: ArrayLike, loss_std: ArrayLike, L0: float, *, corr: float | ArrayLike = 0.0
) -> NDArray[np.float64]:
    """Seed noise of the normalised curve ``l(x) = R(x) / R(1)``, ``R = L - L0``, from the loss noise.

    First-order propagation through the ratio (last point = end of training):

        sigma_l(x)^2 = l(x)^2 [ s(x)^2/R(x)^2 + s(1)^2/R(1)^2 - 2 rho s(x) s(1) / (R(x) R(1)) ],

    where ``s`` is the seed std of the loss (measured, or :func:`predicted_seed_std`) and
    ``rho`` the seed correlation between ``L(x)`` and ``L(1)`` (0 by default). With a decayed
    rate, ``s(1)`` is small, so the end-point term that dominates a constant-rate run vanishes:
    this is how the noise model predicts the quality of the collapse from the schedule
    (our implementation of the idea behind the paper's Figure 1f).

    >>> s = predicted_noise_floor([3.0, 2.0], [0.0, 0.1], L0=1.0)
    >>> [round(float(v), 3) for v in s]
    [0.2, 0.0]
    """
    Lm, s = _arr("loss_mean", loss_mean), _arr("loss_std", loss_std)
    if Lm.shape != s.shape:
        raise ValueError(f"loss_mean {Lm.shape} and loss_std {s.shape} differ in shape")
    R = Lm - L0
    if np.any(R <= 0):
        raise ValueError("L0 must be below every loss")
    rho = np.array(np.broadcast_to(np.asarray(corr, dtype=float), R.shape))
    rho[-1] = 1.0  # the end point is perfectly correlated with itself: sigma_l(1) = 0
    ell = R / R[-1]
    var = (s / R) ** 2 + (s[-1] / R[-1]) ** 2 - 2 * rho * s * s[-1] / (R * R[-1])
    return ell * np.sqrt(np.clip(var, 0.0, None))
