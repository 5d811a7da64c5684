import numpy as np
import pytest

from supercollapse.collapse import collapse_metrics, normalize_curve, summarize_collapse

X = np.geomspace(0.05, 1.0, 60)
CSTAR = np.array([1e3, 1e4, 1e5, 1e6])


def runs(distortion=0.0, noise=0.0, n_seeds=1, seed=0, end_noise=False):
    """Universal curve R(x) = x^-0.4, size-dependent distortion, multiplicative seed noise."""
    rng = np.random.default_rng(seed)
    out = []
    for i, cs in enumerate(CSTAR):
        R = X**-0.4 * (1 + distortion * i * (1 - X))
        eps = noise * rng.standard_normal((n_seeds, X.size))
        if not end_noise:
            eps[:, -1] = 0.0
        out.append((X * cs, 0.5 + R * (1 + eps)))
    return out


def test_identical_curves_have_zero_delta():
    res = collapse_metrics(runs(), CSTAR, L0=0.5, x=X)
    assert np.allclose(res.delta, 0.0, atol=1e-12)
    assert np.allclose(res.mean_curves, X**-0.4)


def test_delta_grows_with_distortion():
    d = [collapse_metrics(runs(k), CSTAR, 0.5, x=X).delta.max() for k in (0.0, 0.01, 0.05)]
    assert d[0] < 1e-12 < d[1] < d[2]
    # std over sizes 0..3 of k*i*(1-x)*x^-0.4 at x where it peaks
    expect = np.max(0.05 * np.std(np.arange(4), ddof=1) * (1 - X) * X**-0.4)
    assert d[2] == pytest.approx(expect, rel=1e-6)


def test_sigma_matches_injected_noise():
    s = 0.02
    res = collapse_metrics(runs(noise=s, n_seeds=40), CSTAR, 0.5, x=X)
    ratio = res.sigma[:-1] / (s * X[:-1] ** -0.4)
    assert np.median(ratio) == pytest.approx(1.0, rel=0.1)
    assert res.sigma[-1] == 0.0  # pinned end point under own normalisation


def test_estimator_choices_move_the_verdict():
    # noise at the end point: own normalisation cancels part of it, common does not
    family = runs(distortion=0.002, noise=0.01, n_seeds=8, end_noise=True, seed=3)
    own = collapse_metrics(family, CSTAR, 0.5, x=X)
    common = collapse_metrics(family, CSTAR, 0.5, x=X, normalization="common")
    single = collapse_metrics(family, CSTAR, 0.5, x=X, delta="single")
    # seed averaging shrinks Delta by ~sqrt(n_seeds)
    assert np.median(single.delta / own.delta) > 2.0
    assert summarize_collapse(own).frac_below > summarize_collapse(single).frac_below
    assert np.median(common.sigma) > 0  # both readings produce a floor
    s = summarize_collapse(own)
    assert s.supercollapse == (s.frac_below >= 0.5)


def test_normalize_curve_interpolates_end_point():
    x, ell = normalize_curve([1.0, 4.0, 16.0], [3.0, 2.0, 1.5], 8.0, L0=1.0)
    assert x.tolist() == [0.125, 0.5]
    assert ell[-1] == pytest.approx(1.0 / 0.75)  # L(8) = 1.75 by log-linear interpolation


def test_bad_input():
    good = runs()
    with pytest.raises(ValueError, match="at least 2"):
        collapse_metrics(good[:1], CSTAR[:1], 0.5)
    with pytest.raises(ValueError, match="c_star has shape"):
        collapse_metrics(good, CSTAR[:2], 0.5)
    with pytest.raises(ValueError, match="does not match"):
        collapse_metrics([(X, np.ones((2, 5))), good[1]], CSTAR[:2], 0.5)
    with pytest.raises(ValueError, match="NaN"):
        collapse_metrics([(X * 1e3, X * np.nan), good[1]], CSTAR[:2], 0.5)
    with pytest.raises(ValueError, match="positive"):
        collapse_metrics([(X - 1, X), good[1]], CSTAR[:2], 0.5)
    with pytest.raises(ValueError, match="L0"):
        collapse_metrics(good, CSTAR, L0=5.0, x=X)
