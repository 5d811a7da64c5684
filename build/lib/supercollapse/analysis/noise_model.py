"""The SGD noise model of Qiu et al. (2025), Section 3: schedules, and why decay suppresses noise.

**Schedules (Eq. 16).** With gradient-flow ("learning-rate") time ``tau(t) = sum_{s<t} eta(s)``
and the schedule multiplier ``m(t) = eta(t) / eta_0`` in ``[0, 1]`` (peak and per-layer µP
rates absorbed into the preconditioner), a scheduled run's loss is predicted from a
constant-rate run of the same model at the same ``tau``::

    L_sched(tau) ~= L_const(tau) + alpha * (m - 1) * Tr Sigma(tau)

with ``Tr Sigma`` the trace of the preconditioned gradient covariance *measured in the scheduled
run* and ``alpha`` one number per task (the quadratic model gives 1/4; the paper fits 0.21 on
CIFAR-5M and 0.26 on the MLP task). :func:`fit_noise_model` fits ``alpha`` in closed form.
``alpha`` depends on the convention for ``Tr Sigma``: the quadratic model's 1/4 is for the
covariance of the *minibatch* gradient (the SDE noise); with the per-example trace (the
minibatch covariance times the batch size ``B``, as :mod:`supercollapse.train.noise_traces` records it) the
fitted ``alpha`` is ``B`` times smaller, about ``1 / (4 B)``.

**Variance (Section 3.3, Appendix H).** With ``R(t) = Rbar(t) (1 + psi(t))`` per seed, the noise
floor is ``sigma(t)^2 = E[psi(t)^2]`` and the seed spread of the self-normalised curve
``Delta~(t)^2 ~= E[(psi(t) - psi(t*))^2]`` (Eq. 23), near the end
``~= eta(tau) (tau* - tau) g^T Sigma g / Rbar^2`` (Eq. 24): decay shrinks the noise entering late.
:func:`seed_noise` measures both; :func:`predicted_collapse_deviation` predicts ``Delta~``.

The module also holds an exponential-moving-average smoother (the paper smooths its plots with a
half-life of 1% of training).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "NoiseModelFit",
    "ScheduleRun",
    "SeedNoise",
    "control_variate_deviation",
    "ema",
    "fit_collapse_deviation_coefficient",
    "fit_noise_model",
    "learning_rate_time",
    "predict_scheduled_loss",
    "predicted_collapse_deviation",
    "relative_fluctuations",
    "seed_noise",
]


def _arr(name: str, a: ArrayLike) -> NDArray[np.float64]:
    a = np.asarray(a, dtype=float)
    if a.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or inf")
    return a


def _curve(name: str, a: ArrayLike) -> NDArray[np.float64]:
    """A 1-D curve; 2-D ``(n_seeds, n)`` input is averaged over its finite seeds (rows)."""
    a = np.asarray(a, dtype=float)
    if a.ndim == 2:
        a = a[np.all(np.isfinite(a), axis=1)]
        if a.shape[0] == 0:
            raise ValueError(f"{name} contains NaN or inf in every seed")
        a = a.mean(axis=0)
    return _arr(name, a)


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


def _delta_eta(
    tau_const: NDArray[np.float64], m: NDArray[np.float64], tau: NDArray[np.float64],
    m_const: ArrayLike | None,
) -> NDArray[np.float64]:
    """``delta eta(tau) = m(tau) - m_const(tau)``; ``m_const = 1`` when not given."""
    if m_const is None:
        return m - 1.0
    mc = _arr("lr_multiplier_const", m_const)
    if mc.shape != tau_const.shape:
        raise ValueError(f"lr_multiplier_const {mc.shape} and tau_const {tau_const.shape} differ")
    order = np.argsort(tau_const)
    return m - np.interp(tau, tau_const[order], mc[order])


def predict_scheduled_loss(
    tau_const: ArrayLike, L_const: ArrayLike, tau: ArrayLike, lr_multiplier: ArrayLike,
    trace_sigma: ArrayLike, alpha: float, *, interp: str = "loglog",
    lr_multiplier_const: ArrayLike | None = None,
) -> NDArray[np.float64]:
    """``L_const(tau) + alpha * delta_eta(tau) * Tr Sigma(tau)`` (Eq. 16), at the scheduled run's points.

    ``delta_eta = m - m_const`` is the difference of the two schedule multipliers at equal
    ``tau``: ``m - 1`` for a constant reference (default), and 0 during a warmup that both runs
    share (pass ``lr_multiplier_const``, the reference's multiplier at ``tau_const``).
    ``L_const`` is interpolated at the scheduled run's ``tau`` linearly in
    ``(log tau, log L)`` (``interp="loglog"``, default, our choice: loss curves are close to
    power laws in tau) or linearly (``"linear"``). Where ``tau`` falls outside the reference
    run's range the prediction is NaN. 2-D ``L_const`` or ``trace_sigma`` are seed-averaged.

    >>> tc = np.array([0.0, 1.0, 2.0, 4.0]); Lc = np.array([2.0, 1.0, 0.5, 0.25])
    >>> p = predict_scheduled_loss(tc, Lc, [1.0, 2.0], [1.0, 0.5], [0.2, 0.2], alpha=0.5)
    >>> [round(float(v), 3) for v in p]
    [1.0, 0.45]
    """
    tc, Lc = _arr("tau_const", tau_const), _curve("L_const", L_const)
    tau, m, tr = _arr("tau", tau), _arr("lr_multiplier", lr_multiplier), _curve("trace_sigma", trace_sigma)
    if tc.shape != Lc.shape:
        raise ValueError(f"tau_const {tc.shape} and L_const {Lc.shape} differ in shape")
    if not (tau.shape == m.shape == tr.shape):
        raise ValueError(f"tau {tau.shape}, lr_multiplier {m.shape}, trace_sigma {tr.shape} differ")
    if interp not in ("loglog", "linear"):
        raise ValueError(f"interp must be 'loglog' or 'linear', got {interp!r}")
    if np.any(tc < 0) or np.any(tau < 0) or (interp == "loglog" and np.any(Lc <= 0)):
        raise ValueError("tau must be non-negative and L_const positive")
    return _interp_const(tc, Lc, tau, interp) + alpha * _delta_eta(tc, m, tau, lr_multiplier_const) * tr


@dataclass(frozen=True)
class ScheduleRun:
    """One scheduled run and its constant-learning-rate reference (same model and seed set).

    Attributes:
        name: label (e.g. ``"linear"``, ``"cosine, width 512"``).
        tau, lr_multiplier, trace_sigma, loss: the scheduled run at its evaluation points.
        tau_const, loss_const: the constant-rate reference run.

    ``trace_sigma``, ``loss`` and ``loss_const`` may be 2-D ``(n_seeds, n)``: they are then
    averaged over their finite seeds (the model predicts the expected loss).
    ``lr_multiplier_const`` is the reference's multiplier at ``tau_const`` (``None``: 1, a
    constant rate without warmup).
    """

    name: str
    tau: ArrayLike
    lr_multiplier: ArrayLike
    trace_sigma: ArrayLike
    loss: ArrayLike
    tau_const: ArrayLike
    loss_const: ArrayLike
    lr_multiplier_const: ArrayLike | None = None

    @classmethod
    def from_runs(cls, run: Any, reference: Any, *, name: str | None = None,
                  x_min: float = 0.01, key: str = "test_loss",
                  seeds: slice | ArrayLike = slice(None)) -> ScheduleRun:
        """The scheduled ``run`` and its constant-rate ``reference``, two stored runs.

        Both are :class:`~supercollapse.results.RunResult` objects (anything with ``curves``,
        ``config.lr`` and ``total_steps``) of the same model and seeds, the scheduled one
        trained with the gradient-noise trace (``noise_batches > 0``). Evaluations before the
        training fraction ``x_min`` are dropped from the scheduled run (Adam's second moment
        has not filled in yet) and the initial point from the reference; ``seeds`` selects
        seeds (rows) of both; ``name`` defaults to the run's ``tags["variant"]``.

        >>> from types import SimpleNamespace as NS
        >>> def run(m, tr):
        ...     m = np.asarray(m, dtype=float)
        ...     c = dict(step=np.arange(m.size), lr=0.1 * m, tau=np.r_[0, np.cumsum(0.1 * m)[:-1]],
        ...              trace_pgrad=np.full((2, m.size), tr), test_loss=np.ones((2, m.size)))
        ...     return NS(curves=c, config=NS(lr=0.1, tags={"variant": "v"}), total_steps=m.size)
        >>> sr = ScheduleRun.from_runs(run([1, 1, 0.5, 0.25], 3.0), run([1, 1, 1, 1], 2.0), x_min=0.5)
        >>> sr.name, sr.lr_multiplier.tolist(), sr.tau_const.tolist()
        ('v', [0.5, 0.25], [0.1, 0.2, 0.30000000000000004])
        """
        c, cr = run.curves, reference.curves
        keep = c["step"] / run.total_steps >= x_min
        if "trace_pgrad" not in c:
            raise ValueError("the scheduled run has no gradient-noise trace (train it with "
                             "noise_batches > 0)")
        if not np.isclose(run.config.lr, reference.config.lr):
            raise ValueError(f"peak learning rates differ: {run.config.lr} and "
                             f"{reference.config.lr}")
        label = str(run.config.tags.get("variant", "")) if name is None else name
        return cls(name=label, tau=c["tau"][keep], lr_multiplier=c["lr"][keep] / run.config.lr,
                   trace_sigma=c["trace_pgrad"][seeds][:, keep], loss=c[key][seeds][:, keep],
                   tau_const=cr["tau"][1:], loss_const=cr[key][seeds][:, 1:])


@dataclass(frozen=True)
class NoiseModelFit:
    """Fitted ``alpha`` and the model's prediction errors.

    Attributes:
        alpha: least-squares estimate.
        alpha_se: regression standard error of ``alpha``.
        alpha_boot_err: bootstrap-over-schedules standard error (NaN with < 2 schedules).
        rms_rel_error, max_rel_error: overall relative error of the prediction.
        per_schedule: ``{name: (rms_rel_error, max_rel_error)}``.
        per_schedule_alpha: ``{name: alpha}`` fitted to that schedule alone (a check that one
            ``alpha`` serves all schedules; NaN where the schedule never leaves ``m = 1``).
        n_points: number of points used.
    """

    alpha: float
    alpha_se: float
    alpha_boot_err: float
    rms_rel_error: float
    max_rel_error: float
    per_schedule: dict[str, tuple[float, float]]
    per_schedule_alpha: dict[str, float]
    n_points: int


def _design(run: ScheduleRun, interp: str) -> tuple[NDArray[np.float64], ...]:
    """Regressor ``z = delta_eta Tr Sigma``, target ``y = L - L_const(tau)``, base, observed."""
    tr = _curve(f"{run.name}: trace_sigma", run.trace_sigma)
    base = predict_scheduled_loss(run.tau_const, _curve(f"{run.name}: loss_const", run.loss_const),
                                  run.tau, run.lr_multiplier, tr, 0.0, interp=interp)
    L = _curve(f"{run.name}: loss", run.loss)
    if L.shape != base.shape:
        raise ValueError(f"{run.name}: loss shape {L.shape} does not match tau shape {base.shape}")
    z = _delta_eta(_arr("tau_const", run.tau_const), _arr("m", run.lr_multiplier),
                   _arr("tau", run.tau), run.lr_multiplier_const) * tr
    ok = np.isfinite(base)
    return z[ok], (L - base)[ok], base[ok], L[ok]


def fit_noise_model(
    runs: Sequence[ScheduleRun], *, interp: str = "loglog", n_bootstrap: int = 200, seed: int = 0
) -> NoiseModelFit:
    """Fit ``alpha`` in ``L = L_const(tau) + alpha delta_eta Tr Sigma`` (Eq. 16) across schedules.

    The model is linear in ``alpha``, so the least-squares solution is closed form:
    ``alpha = sum z y / sum z^2`` with ``z = delta_eta Tr Sigma`` (``delta_eta = m - 1`` for a
    constant reference) and ``y = L - L_const(tau)``
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

    per, per_alpha, rel_all = {}, {}, []
    for run, (zr, yr, base, L) in zip(runs, parts, strict=True):
        rel = np.abs(base + alpha * zr - L) / np.abs(L)
        per[run.name] = (float(np.sqrt(np.mean(rel**2))), float(rel.max()))
        per_alpha[run.name] = float(zr @ yr / (zr @ zr)) if np.any(zr != 0) else float("nan")
        rel_all.append(rel)
    rel = np.concatenate(rel_all)
    return NoiseModelFit(alpha, alpha_se, boot, float(np.sqrt(np.mean(rel**2))),
                         float(rel.max()), per, per_alpha, int(z.size))


def relative_fluctuations(losses: ArrayLike, L0: float) -> NDArray[np.float64]:
    """``psi(t, w) = R(t, w) / E_w R(t) - 1`` with ``R = L - L0``: each seed's relative deviation.

    ``losses`` has shape ``(n_seeds, n)`` (one run's seeds on a common evaluation grid).

    >>> relative_fluctuations([[2.0, 1.5], [4.0, 1.5]], L0=1.0).tolist()
    [[-0.5, 0.0], [0.5, 0.0]]
    """
    R = np.asarray(losses, dtype=float) - L0
    if R.ndim != 2 or R.shape[0] < 2:
        raise ValueError(f"losses must be (n_seeds >= 2, n), got shape {R.shape}")
    if not np.all(np.isfinite(R)):
        raise ValueError("losses contain NaN or inf (drop diverged seeds first)")
    Rbar = R.mean(axis=0)
    if np.any(Rbar <= 0):
        raise ValueError("L0 must be below the seed-mean loss everywhere")
    return R / Rbar - 1.0


@dataclass(frozen=True)
class SeedNoise:
    """Seed noise of one run, split as in Section 3.3 of the paper (all relative, per point).

    Attributes:
        sigma: noise floor ``E[psi(t)^2]^(1/2)`` = relative seed std of ``L - L0`` (Eq. 3).
        sigma_end: ``sigma`` at the last point ``t*``.
        corr: seed correlation of ``psi(t)`` with ``psi(t*)``.
        delta_tilde: ``E[(psi(t) - psi(t*))^2]^(1/2)``, the first-order seed spread of the
            self-normalised curve (Eq. 23).
        delta_tilde_exact: relative seed std of ``l(t) = R(t) / R(t*)`` computed directly.
    """

    sigma: NDArray[np.float64]
    sigma_end: float
    corr: NDArray[np.float64]
    delta_tilde: NDArray[np.float64]
    delta_tilde_exact: NDArray[np.float64]


def seed_noise(losses: ArrayLike, L0: float) -> SeedNoise:
    """Measure the noise floor and the control-variate reduction of one run's seeds.

    ``losses``: shape ``(n_seeds, n)``, the last point being the end of training ``t*``.
    Moments are population moments over seeds (``ddof=0``, the paper's ``E`` and ``V``).
    ``delta_tilde < sigma`` where the noise is strongly correlated with the end point
    (``corr > sigma / (2 sigma_end)``): that is where the own normalisation pays off.

    >>> L = 1.0 + np.array([[1.0, 0.5], [3.0, 1.5]])  # seed 2 = 3 x seed 1: fully correlated
    >>> sn = seed_noise(L, L0=1.0)
    >>> sn.sigma.tolist(), sn.delta_tilde.tolist(), sn.delta_tilde_exact.tolist()
    ([0.5, 0.5], [0.0, 0.0], [0.0, 0.0])
    """
    psi = relative_fluctuations(losses, L0)
    sig = np.sqrt(np.mean(psi**2, axis=0))
    d = psi - psi[:, -1:]
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.mean(psi * psi[:, -1:], axis=0) / (sig * sig[-1])
    ell = (1 + psi) / (1 + psi[:, -1:])
    return SeedNoise(sig, float(sig[-1]), corr, np.sqrt(np.mean(d**2, axis=0)),
                     ell.std(axis=0) / ell.mean(axis=0))


def control_variate_deviation(
    sigma: ArrayLike, sigma_end: float, corr: float | ArrayLike
) -> NDArray[np.float64]:
    """Per-model collapse deviation from the noise floor (Eq. 23 expanded).

    ``Delta~(t)^2 = E[(psi(t) - psi(t*))^2] = sigma(t)^2 + sigma(t*)^2 - 2 rho(t) sigma(t) sigma(t*)``

    With a constant rate and noise that decorrelates quickly (``rho ~ 0``) this exceeds
    ``sigma``; with strong correlation and a small end-point noise (a decayed rate) it falls
    far below ``sigma``.

    >>> [round(float(v), 4) for v in control_variate_deviation([0.1, 0.1], 0.1, [0.0, 0.9])]
    [0.1414, 0.0447]
    """
    sig = _arr("sigma", np.atleast_1d(np.asarray(sigma, dtype=float)))
    rho = np.broadcast_to(np.asarray(corr, dtype=float), sig.shape)
    if np.any(sig < 0) or sigma_end < 0:
        raise ValueError("sigma must be non-negative")
    return np.sqrt(np.clip(sig**2 + sigma_end**2 - 2 * rho * sig * sigma_end, 0.0, None))


_FORMS = ("leading", "integrated")


def _noise_after(m: NDArray[np.float64], tau: NDArray[np.float64], form: str) -> NDArray[np.float64]:
    """``eta(tau_hat) (1 - tau_hat)`` or ``(1/tau*) int_tau^tau* eta dtau``."""
    if form not in _FORMS:
        raise ValueError(f"form must be one of {_FORMS}, got {form!r}")
    if m.shape != tau.shape:
        raise ValueError(f"lr_multiplier {m.shape} and tau {tau.shape} differ in shape")
    if np.any(m < 0) or np.any(np.diff(tau) < 0) or not tau[-1] > 0:
        raise ValueError("need lr_multiplier >= 0 and non-decreasing tau with tau[-1] > 0")
    th = tau / tau[-1]
    if form == "leading":
        return m * (1.0 - th)
    seg = 0.5 * (m[1:] + m[:-1]) * np.diff(th)  # trapezoid of eta over tau_hat
    return np.r_[np.cumsum(seg[::-1])[::-1], 0.0]


def predicted_collapse_deviation(
    lr_multiplier: ArrayLike, tau: ArrayLike, *, coef: float = 1.0, form: str = "leading"
) -> NDArray[np.float64]:
    """The noise model's collapse deviation ``Delta(tau_hat) = coef * sqrt(eta(tau_hat) (1 - tau_hat))``.

    Eq. 24 of the paper with ``Sigma ~ L`` and ``g^T g ~ L`` (linear regression) gives
    ``Delta~^2 ~ eta(tau) (tau* - tau)`` for every size, hence
    ``Delta^2(tau_hat) ~= E_p Delta~^2 ~ eta(tau_hat) (1 - tau_hat)`` with ``tau_hat = tau / tau*``
    the normalised gradient-flow time (Figure 8: ``Delta / sqrt(eta)`` vs ``1 - tau_hat`` is one
    curve across schedules). ``form="integrated"`` (our extension, equal at leading order)
    replaces ``eta (1 - tau_hat)`` by the noise entering after ``tau``,
    ``int_tau_hat^1 eta dtau_hat``, which stays meaningful away from the end (e.g. for a
    schedule that decays only over the last 20%). ``coef`` absorbs the task's constants;
    fit it with :func:`fit_collapse_deviation_coefficient`.

    >>> m = np.array([1.0, 1.0, 0.5, 0.0]); tau = learning_rate_time(m)  # tau = 0, 1, 2, 2.5
    >>> [round(float(v), 3) for v in predicted_collapse_deviation(m, tau)]
    [1.0, 0.775, 0.316, 0.0]
    """
    m, t = _arr("lr_multiplier", lr_multiplier), _arr("tau", tau)
    return coef * np.sqrt(_noise_after(m, t, form))


def fit_collapse_deviation_coefficient(
    lr_multiplier: ArrayLike, tau: ArrayLike, delta: ArrayLike, *, form: str = "leading",
    x_min: float = 0.0,
) -> float:
    """Least-squares ``coef`` (through the origin) in ``Delta ~= coef * g(tau_hat)``.

    ``g`` is :func:`predicted_collapse_deviation` with ``coef = 1``; points with
    ``tau_hat < x_min`` or a non-finite ``delta`` are skipped. ``delta`` is a measured collapse
    deviation on the same evaluation points as ``lr_multiplier`` and ``tau`` (e.g.
    :attr:`~supercollapse.analysis.collapse.CollapseResult.delta` on a grid of those points).

    >>> m = np.linspace(1, 0, 50); tau = learning_rate_time(m)
    >>> d = 0.03 * predicted_collapse_deviation(m, tau)
    >>> round(fit_collapse_deviation_coefficient(m, tau, d), 6)
    0.03
    """
    g = predicted_collapse_deviation(lr_multiplier, tau, form=form)
    d = np.asarray(delta, dtype=float)
    if d.shape != g.shape:
        raise ValueError(f"delta shape {d.shape} does not match {g.shape}")
    t = _arr("tau", tau)
    ok = np.isfinite(d) & (t / t[-1] >= x_min)
    if not np.any(g[ok] > 0):
        raise ValueError("the regressor is zero on every usable point")
    return float(g[ok] @ d[ok] / (g[ok] @ g[ok]))
