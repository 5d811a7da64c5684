"""diagnose.paired_contrast: two ladders of the same sizes and seeds on one paired bootstrap."""

import numpy as np
import pytest

from supercollapse.analysis.diagnose import check_scaling, paired_contrast
from supercollapse.analysis.ladder import Ladder

X = np.geomspace(0.05, 1, 60)


def ladder(noise: float, seed: int = 0, sizes=(1e5, 2e5, 4e5, 8e5), seeds: int = 4) -> Ladder:
    """A universal curve times a per-seed factor (cancelled by normalising), plus independent
    noise of relative size ``noise`` (not cancelled: it sets Delta against sigma)."""
    rng = np.random.default_rng(seed)
    out = []
    for p in sizes:
        R = X ** -0.4 * (1 + 0.05 * rng.standard_normal((seeds, 1)))
        R = R * (1 + noise * rng.standard_normal((seeds, X.size)))
        out.append((X * p ** 1.9, 0.1 * p ** -0.3 * R))
    return Ladder(out, decay=True)


def test_a_ladder_against_itself_differs_by_exactly_zero():
    lad = ladder(0.004)
    c = paired_contrast(lad, lad, n_bootstrap=100)
    assert (c.frac_diff.value, c.frac_diff.lo, c.frac_diff.hi) == (0.0, 0.0, 0.0)
    assert c.ratio_quotient.lo == c.ratio_quotient.hi == 1.0
    assert c.p_a_higher == 0.0


def test_point_values_are_those_of_check_scaling_and_a_tight_ladder_wins():
    tight, loose = ladder(0.002, seed=1), ladder(0.004, seed=1)
    # the same per-seed factors (same generator), a fan of size-dependent bends in the loose one
    loose = Ladder([(c, L * (1 + 0.08 * k * (1 - X))) for k, (c, L) in enumerate(loose)],
                   decay=True)
    c = paired_contrast(tight, loose, n_bootstrap=200)
    for lad, est in zip((tight, loose), c.frac_below, strict=True):
        assert est.value == pytest.approx(check_scaling(lad, n_bootstrap=50).frac_below.value)
    assert c.frac_diff.value > 0.3 and c.frac_diff.lo > 0 and c.p_a_higher > 0.95
    assert c.ratio_quotient.hi < 1
    assert "paired seed bootstrap" in str(c)


def test_mismatched_ladders_are_named():
    with pytest.raises(ValueError, match="same sizes"):
        paired_contrast(ladder(0.004), ladder(0.004, sizes=(1e5, 2e5, 4e5)), n_bootstrap=50)
    with pytest.raises(ValueError, match="same seeds"):
        paired_contrast(ladder(0.004), ladder(0.004, seeds=3), n_bootstrap=50)
    with pytest.raises(ValueError, match="n_bootstrap"):
        paired_contrast(ladder(0.004), ladder(0.004), n_bootstrap=5)
