import numpy as np
import pytest

from supercollapse.analysis.fits import fit_power_law_offset, fit_pure_power_law


def test_recovers_noisy_power_law_within_errors():
    rng = np.random.default_rng(1)
    c = np.logspace(15, 19, 25)  # FLOP-like range: starts must work in normalised units
    a, b, L0 = 40.0, 0.12, 0.3
    L = (a * c**-b + L0) * np.exp(0.005 * rng.standard_normal(c.size))
    fit = fit_power_law_offset(c, L, n_bootstrap=100, huber_delta=1e-2)
    assert abs(fit.b - b) < 3 * fit.b_err + 1e-3
    assert abs(fit.L0 - L0) < 3 * fit.L0_err + 1e-3
    assert abs(np.log(fit.a / a)) < 3 * fit.a_err / fit.a + 1e-2
    assert fit.r2_log > 0.99
    assert fit.b_err < 0.05  # errors are informative, not huge


def test_fixed_L0_and_bad_fits_are_distinguishable():
    c = np.logspace(0, 4, 20)
    L = 2.0 * c**-0.3 + 0.5
    fixed = fit_power_law_offset(c, L, L0=0.5, n_bootstrap=0)
    assert fixed.fixed_L0 and fixed.L0_err == 0.0
    assert abs(fixed.b - 0.3) < 1e-4
    wrong = fit_power_law_offset(c, L, L0=0.0, n_bootstrap=0)  # mis-specified L0
    assert abs(wrong.b - 0.3) > 0.05


def test_pure_power_law_errors_cover_truth():
    rng = np.random.default_rng(0)
    x = np.logspace(0, 3, 30)
    hits = 0
    for _ in range(50):
        y = (x / 5.0) ** -1.7 * np.exp(0.05 * rng.standard_normal(x.size))
        f = fit_pure_power_law(x, y)
        hits += abs(f.b - 1.7) < 2 * f.b_err
    assert 40 <= hits <= 50  # ~95% coverage


@pytest.mark.parametrize(
    "c, L, msg",
    [
        ([1.0, 2.0, 3.0, 4.0], [1.0, 0.9, 0.8], "same shape"),
        ([0.0, 2.0, 3.0, 4.0], [1.0, 0.9, 0.8, 0.7], "positive"),
        ([1.0, 2.0, 3.0, 4.0], [1.0, np.nan, 0.8, 0.7], "NaN"),
        ([1.0, 2.0], [1.0, 0.9], "at least"),
    ],
)
def test_bad_input(c, L, msg):
    with pytest.raises(ValueError, match=msg):
        fit_power_law_offset(c, L)


def test_both_fits_return_the_decay_exponent():
    """One sign convention: b > 0 for a falling loss, L ∝ x^(-b), in both fits."""
    x = np.logspace(0, 4, 12)
    y = 3.0 * x**-0.4
    pure = fit_pure_power_law(x, y)
    offset = fit_power_law_offset(x, y, L0=0.0, n_bootstrap=0)
    assert pure.b == pytest.approx(0.4, abs=1e-9) and offset.b == pytest.approx(0.4, abs=1e-6)
    assert pure.a == pytest.approx(3.0 ** (1 / 0.4), rel=1e-9)
    assert np.allclose(pure.predict(x), y)
    assert fit_pure_power_law(x, x**0.5).b == pytest.approx(-0.5)  # a growing y: b < 0
