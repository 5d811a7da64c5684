"""Learning-rate sensitivity and onset rates (analysis/instability.py, chapter 10)."""

import numpy as np
import pytest

from supercollapse.analysis.instability import lr_sensitivity, onset_rate


def test_sensitivity_is_the_mean_excess_over_the_best():
    assert lr_sensitivity([2.0, 2.0, 2.0], 3.0) == 0.0
    assert lr_sensitivity([2.0, 2.5, 3.5], 3.0) == pytest.approx((0 + 0.5 + 1.0) / 3)


def test_diverged_runs_count_as_the_initial_loss():
    assert lr_sensitivity([2.0, np.nan, np.inf, 1e9], 3.0) == pytest.approx(3 * 1.0 / 4)


def test_a_robust_recipe_has_the_lower_sensitivity():
    rates = np.geomspace(1e-2, 1, 5)
    fragile = 2 + (np.log10(rates) + 1.5) ** 2
    robust = 2 + 0.2 * (np.log10(rates) + 1.5) ** 2
    assert lr_sensitivity(robust, 3.5) < lr_sensitivity(fragile, 3.5)


def test_sensitivity_rejects_bad_input():
    with pytest.raises(ValueError, match="1-D"):
        lr_sensitivity([], 3.0)
    with pytest.raises(ValueError, match="1-D"):
        lr_sensitivity(np.zeros((2, 2)), 3.0)


def test_onset_rate():
    lrs = [0.3, 0.01, 0.1, 1.0]  # any order
    peaks = [2000.0, 5.0, 60.0, np.nan]  # NaN: a run whose trace blew up
    assert onset_rate(lrs, peaks, 50.0) == 0.1
    assert onset_rate(lrs, peaks, 1e4) == 1.0
    assert np.isnan(onset_rate(lrs[:3], [1.0, 2.0, 3.0], 50.0))
    with pytest.raises(ValueError, match="one value per rate"):
        onset_rate(lrs, peaks[:2], 1.0)
