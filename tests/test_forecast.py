"""Forecasts and alarms on synthetic ladders whose universal curve and seed spread are exact.

Every size p has the normalised curve l(x, p, w) = g(x) exp(eps_w h(x)), with g(x) = x^-0.4
(so l(1) = 1) and h(1) = 0; the seeds carry eps_w = +a or -a in equal numbers. Then the
universal curve (mean of log l) is exactly g and the ladder's spread of log l is a |h(x)|.
The evaluation points coincide with the analysis grid, so no interpolation error enters.
"""

import numpy as np
import pytest

from supercollapse.analysis.forecast import (
    deviation_score,
    extrapolate_power_law,
    predict_final_loss,
    universal_curve,
)

X = np.geomspace(0.01, 1.0, 80)
CSTAR = np.array([1e3, 1e4, 1e5, 1e6])
RSTAR = np.array([0.8, 0.5, 0.3, 0.2])  # final reducible losses of the sizes
L0 = 0.25
A = 0.02  # seed amplitude


def g(x):
    return x**-0.4


def h(x):
    return 1.0 - x


def ladder(a=A, eps=(1.0, -1.0)):
    eps = np.asarray(eps)[:, None]
    return [(X * cs, L0 + rs * g(X) * np.exp(a * eps * h(X))) for cs, rs in zip(CSTAR, RSTAR, strict=True)]


def k_new():
    n = len(CSTAR)
    return np.sqrt((n + 1) / (n - 1))


def test_universal_curve_is_exact():
    u = universal_curve(ladder(), None, L0, x=X)
    assert u.n_sizes == 4
    np.testing.assert_allclose(u.ell, g(X), rtol=1e-12)
    np.testing.assert_allclose(u.spread, A * h(X), atol=1e-12)
    np.testing.assert_allclose(u(X[10:20]), g(X[10:20]), rtol=1e-12)
    assert u.k_new == pytest.approx(k_new())


def test_forecast_of_a_run_on_the_curve_is_exact_from_its_first_10_percent():
    u = universal_curve(ladder(), None, L0, x=X)
    cs, rs = 3e7, 0.07  # a new, larger size
    m = X <= 0.1
    f = predict_final_loss(X[m] * cs, L0 + rs * g(X[m]), cs, u, L0)
    assert f.prediction == pytest.approx(L0 + rs, rel=1e-10)
    assert f.x_last == pytest.approx(X[m][-1])
    assert np.all(f.x_used >= 0.5 * f.x_last * (1 - 1e-12))
    assert f.x_used[-1] == pytest.approx(f.x_last)
    assert f.lower < f.prediction < f.upper


def test_forecast_sigma_is_the_ladder_spread_of_the_estimator():
    u = universal_curve(ladder(), None, L0, x=X)
    cs, rs = 3e7, 0.07
    m = X <= 0.3
    # one point (window=1): sigma = k_n a h(x_last)
    f1 = predict_final_loss(X[m] * cs, L0 + rs * g(X[m]), cs, u, L0, window=1.0)
    assert f1.x_used.size == 1
    assert f1.sigma == pytest.approx(k_new() * A * h(X[m][-1]), rel=1e-9)
    # a window: the error of each ladder curve is +-a mean_i h(x_i)
    f = predict_final_loss(X[m] * cs, L0 + rs * g(X[m]), cs, u, L0, window=0.5, n_sigma=2.0)
    assert f.sigma == pytest.approx(k_new() * A * np.mean(h(f.x_used)), rel=1e-9)
    assert np.log((f.upper - L0) / (f.prediction - L0)) == pytest.approx(2 * f.sigma)


def test_a_noisy_seed_is_mispredicted_by_exactly_its_deviation():
    u = universal_curve(ladder(), None, L0, x=X)
    cs, rs = 3e7, 0.07
    m = X <= 0.2
    run = L0 + rs * g(X) * np.exp(A * h(X))  # a seed with eps = +a
    f = predict_final_loss(X[m] * cs, run[m], cs, u, L0)
    expected = L0 + rs * np.exp(A * np.mean(h(f.x_used)))
    assert f.prediction == pytest.approx(expected, rel=1e-10)
    # and the error is exactly one sigma of the forecast (without the new-size factor)
    assert np.log((f.prediction - L0) / rs) == pytest.approx(f.sigma / k_new(), rel=1e-9)


def test_naive_power_law_is_exact_for_a_power_law_and_wrong_for_a_decay():
    cs, rs = 1e6, 0.1
    m = X <= 0.3
    assert extrapolate_power_law(X[m] * cs, L0 + rs * g(X[m]), cs, L0) == pytest.approx(L0 + rs)
    # a run whose loss drops at the end (as with a decaying learning rate) is over-predicted
    drop = g(X) * (1 - 0.5 * X**4)
    pred = extrapolate_power_law(X[m] * cs, L0 + rs * drop[m], cs, L0)
    assert pred > L0 + rs * drop[-1] * 1.5


def test_on_curve_run_raises_no_alarm():
    u = universal_curve(ladder(), None, L0, x=X)
    cs, rs = 3e7, 0.07
    dev = deviation_score(X * cs, L0 + rs * g(X), cs, u, L0, x_ref=0.1)
    assert not dev.alarmed and np.isnan(dev.alarm_x)
    np.testing.assert_allclose(dev.z, 0.0, atol=1e-9)
    assert np.all(dev.x > 0.1)


def test_deviation_score_has_its_known_value_and_alarm_point():
    u = universal_curve(ladder(), None, L0, x=X)
    cs, rs, b = 3e7, 0.07, 0.3
    delta = b * np.clip(X - 0.5, 0.0, None)  # leaves the curve at x = 0.5
    dev = deviation_score(X * cs, L0 + rs * g(X) * np.exp(delta), cs, u, L0, x_ref=0.2,
                          threshold=3.0, persist=2)
    xr = dev.reference.x_used
    assert dev.reference.prediction == pytest.approx(L0 + rs, rel=1e-10)
    # d = delta; s_d = k_n a |h(x) - mean h(x_ref window)| = k_n a |x - mean x_i|
    np.testing.assert_allclose(dev.d, b * np.clip(dev.x - 0.5, 0.0, None), atol=1e-12)
    spread = k_new() * A * np.abs(dev.x - xr.mean())
    np.testing.assert_allclose(dev.spread, spread, rtol=1e-9)
    over = np.flatnonzero(dev.d / spread > 3.0)
    first = next(k for k in over if k - 1 in over)  # two consecutive points
    assert dev.alarm_x == pytest.approx(dev.x[first])
    assert 0.5 < dev.alarm_x < 1.0


def test_lower_threshold_alarms_earlier():
    u = universal_curve(ladder(), None, L0, x=X)
    run = L0 + 0.07 * g(X) * np.exp(0.3 * np.clip(X - 0.5, 0.0, None))
    early = deviation_score(X * 3e7, run, 3e7, u, L0, x_ref=0.2, threshold=1.0)
    late = deviation_score(X * 3e7, run, 3e7, u, L0, x_ref=0.2, threshold=5.0)
    assert early.alarm_x < late.alarm_x


def test_bad_input_is_named():
    u = universal_curve(ladder(), None, L0, x=X)
    c, L = X[:20] * 1e6, L0 + 0.1 * g(X[:20])
    with pytest.raises(ValueError, match="L0"):
        predict_final_loss(c, L, 1e6, u, L0=0.0)
    with pytest.raises(ValueError, match="window"):
        predict_final_loss(c, L, 1e6, u, L0, window=0.0)
    with pytest.raises(ValueError, match="NaN"):
        predict_final_loss(c, np.where(c > c[5], np.nan, L), 1e6, u, L0)
    with pytest.raises(ValueError, match="no point"):
        predict_final_loss(c, L, 1e12, u, L0)
    with pytest.raises(ValueError, match="c_star"):
        predict_final_loss(c, L, -1.0, u, L0)
    with pytest.raises(ValueError, match="1-D"):
        predict_final_loss(c, np.vstack([L, L]), 1e6, u, L0)
    with pytest.raises(ValueError, match="x_ref"):
        deviation_score(c, L, 1e6, u, L0, x_ref=1.5)
    with pytest.raises(ValueError, match="2 points"):
        extrapolate_power_law(c[:1], L[:1], 1e6, L0)
    with pytest.raises(ValueError, match="not below"):
        universal_curve(ladder(), None, L0=1.0, x=X)
