import numpy as np
import pytest

from supercollapse.analysis.noise_model import (
    ScheduleRun,
    control_variate_deviation,
    ema,
    fit_collapse_deviation_coefficient,
    fit_noise_model,
    learning_rate_time,
    predict_scheduled_loss,
    predicted_collapse_deviation,
    relative_fluctuations,
    seed_noise,
)

T = 2000
ETA0 = 1e-3
S = np.linspace(0, 1, T)
TAU_C = learning_rate_time(np.full(T, ETA0))


def l_const(tau):
    return 0.2 + (1 + tau / 0.05) ** -0.5


def make_run(name, mult, alpha, noise=0.0, seed=0):
    rng = np.random.default_rng(seed)
    tau = learning_rate_time(ETA0 * mult)
    tr = 0.5 + 0.3 * np.exp(-3 * S)
    L = l_const(tau) + alpha * (mult - 1) * tr + noise * rng.standard_normal(T)
    return ScheduleRun(name, tau, mult, tr, L, TAU_C, l_const(TAU_C))


SCHEDULES = {
    "linear": 1 - S,
    "cosine": 0.5 * (1 + np.cos(np.pi * S)),
    "last20": np.where(S < 0.8, 1.0, (1 - S) / 0.2),
}


def test_recovers_alpha():
    runs = [make_run(k, m, 0.21, noise=1e-3, seed=i) for i, (k, m) in enumerate(SCHEDULES.items())]
    fit = fit_noise_model(runs)
    assert abs(fit.alpha - 0.21) < 3 * max(fit.alpha_se, fit.alpha_boot_err)
    assert abs(fit.alpha - 0.21) < 0.01
    assert fit.rms_rel_error < 0.01 and set(fit.per_schedule) == set(SCHEDULES)
    assert all(abs(a - 0.21) < 0.02 for a in fit.per_schedule_alpha.values())


def test_recovers_alpha_from_seeds_and_shared_warmup():
    """2-D seed arrays are averaged; a warmup shared by both runs has delta_eta = 0."""
    rng = np.random.default_rng(7)
    warm = np.minimum(1.0, S / 0.05)
    m_const = warm
    tau_c = learning_rate_time(ETA0 * m_const)
    runs = []
    for name, sched in SCHEDULES.items():
        m = warm * sched
        tau = learning_rate_time(ETA0 * m)
        tr = 0.5 + 0.3 * np.exp(-3 * S)
        d_eta = m - np.interp(tau, tau_c, m_const)
        L = l_const(tau) + 0.26 * d_eta * tr + 1e-3 * rng.standard_normal((4, T))
        runs.append(ScheduleRun(name, tau, m, np.tile(tr, (4, 1)), L, tau_c,
                                l_const(tau_c) + 1e-3 * rng.standard_normal((4, T)), m_const))
    fit = fit_noise_model(runs)
    assert abs(fit.alpha - 0.26) < 0.01
    ignore_warmup = [ScheduleRun(r.name, r.tau, r.lr_multiplier, r.trace_sigma, r.loss,
                                 r.tau_const, r.loss_const) for r in runs]
    assert fit.rms_rel_error < fit_noise_model(ignore_warmup).rms_rel_error


def test_wrong_alpha_predicts_worse():
    run = make_run("linear", SCHEDULES["linear"], 0.3)
    good = predict_scheduled_loss(run.tau_const, run.loss_const, run.tau, run.lr_multiplier,
                                  run.trace_sigma, 0.3)
    bad = predict_scheduled_loss(run.tau_const, run.loss_const, run.tau, run.lr_multiplier,
                                 run.trace_sigma, 0.0)
    err = lambda p: np.nanmax(np.abs(p - run.loss))
    assert err(good) < 1e-4 < 1e-2 < err(bad)


def test_ema_halves_step_after_one_half_life():
    t = np.arange(101.0)
    y = np.r_[np.zeros(50), np.ones(51)]
    out = ema(y, t=t, half_life=0.01)  # half-life = 1 time unit
    assert out[50] == pytest.approx(0.5) and out[51] == pytest.approx(0.75)


def _walk(m, n_seeds=400, scale=0.002, seed=0):
    """Seeds of L = 0.2 + Rbar (1 + psi), psi a random walk in tau with variance scale^2 eta dtau."""
    rng = np.random.default_rng(seed)
    tau = learning_rate_time(m)
    dtau = np.diff(np.r_[tau, tau[-1] + m[-1]])
    psi = np.cumsum(scale * np.sqrt(m * dtau) * rng.standard_normal((n_seeds, m.size)), axis=1)
    Rbar = (1 + tau / 50) ** -0.5
    return 0.2 + Rbar * (1 + psi), tau


def test_seed_noise_control_variate_and_decay():
    n = 400
    s = np.linspace(0, 1, n)
    const, _ = _walk(np.ones(n))
    lin, tau = _walk(1 - s + 1e-3)
    sn_c, sn_l = seed_noise(const, 0.2), seed_noise(lin, 0.2)
    for sn in (sn_c, sn_l):
        # Eq. (23) and its expansion are the same quantity; both match the direct estimate
        expanded = control_variate_deviation(sn.sigma, sn.sigma_end, sn.corr)
        assert np.allclose(expanded, sn.delta_tilde, atol=1e-7)
        assert np.allclose(sn.delta_tilde[1:-1], sn.delta_tilde_exact[1:-1], rtol=0.1)
    psi = relative_fluctuations(lin, 0.2)
    assert np.allclose(psi.mean(axis=0), 0, atol=1e-12)
    # the decayed run: seed spread of the normalised curve far below its noise floor late on
    late = (s > 0.5) & (s < 1)
    assert np.all(sn_l.delta_tilde[late] < sn_l.sigma[late])
    assert np.median(sn_l.delta_tilde[late] / sn_c.delta_tilde[late]) < 0.7
    # the model: Delta~^2 = scale^2 int_tau^tau* eta dtau -> coef = scale sqrt(tau*)
    coef = fit_collapse_deviation_coefficient(1 - s + 1e-3, tau, sn_l.delta_tilde,
                                              form="integrated")
    assert coef == pytest.approx(0.002 * np.sqrt(tau[-1]), rel=0.1)
    pred = predicted_collapse_deviation(1 - s + 1e-3, tau, coef=coef, form="integrated")
    th = tau / tau[-1]
    assert np.allclose(pred[th < 0.99], sn_l.delta_tilde[th < 0.99], rtol=0.1)
    # the paper's leading-order form eta (1 - tau_hat): for a decay linear in steps,
    # eta = (1 - tau_hat)^(1/2), so int_tau_hat^1 eta = (2/3) eta (1 - tau_hat) exactly
    lead = predicted_collapse_deviation(1 - s + 1e-3, tau, coef=coef * np.sqrt(2 / 3),
                                        form="leading")
    near = (th > 0.5) & (th < 0.99)
    assert np.allclose(lead[near], pred[near], rtol=0.05)


def test_bad_input():
    with pytest.raises(ValueError, match="differ"):
        predict_scheduled_loss([0, 1], [1, 1], [0.5], [1, 1], [1], 0.1)
    with pytest.raises(ValueError, match="NaN"):
        learning_rate_time([1.0, np.nan])
    with pytest.raises(ValueError, match="at least one"):
        fit_noise_model([])
    const = make_run("const", np.ones(T), 0.2)
    with pytest.raises(ValueError, match="m != 1"):
        fit_noise_model([const])
    with pytest.raises(ValueError, match="n_seeds >= 2"):
        seed_noise(np.ones(5), 0.0)
    with pytest.raises(ValueError, match="form"):
        predicted_collapse_deviation([1.0, 0.5], [0.0, 1.0], form="exact")
