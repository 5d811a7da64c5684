import numpy as np
import pytest

from supercollapse.noise_model import (
    ScheduleRun,
    ema,
    fit_noise_model,
    fit_seed_std_coefficient,
    learning_rate_time,
    predict_scheduled_loss,
    predicted_noise_floor,
    predicted_seed_std,
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


def test_seed_std_model_and_noise_floor():
    m, tr = SCHEDULES["linear"], np.full(T, 0.4)
    std = predicted_seed_std(m, tr, 0.05)
    assert std[-1] == 0.0 and std[0] == pytest.approx(0.02)
    assert fit_seed_std_coefficient(m, tr, std) == pytest.approx(0.05)
    # noise floor of normalised curves is larger when the end point is noisy (constant lr)
    L = l_const(TAU_C)
    floor_const = predicted_noise_floor(L, np.full(T, 0.01), L0=0.2)
    floor_decay = predicted_noise_floor(L, 0.01 * m, L0=0.2)
    assert np.all(floor_decay[:-1] < floor_const[:-1])


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
