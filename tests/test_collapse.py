import numpy as np
import pytest

from supercollapse.analysis.collapse import (
    bootstrap_irreducible_loss,
    collapse_metrics,
    end_points,
    fit_irreducible_loss,
    normalize_curve,
    null_irreducible_loss,
    summarize_collapse,
)

X = np.geomspace(0.05, 1.0, 60)
CSTAR = np.array([1e3, 1e4, 1e5, 1e6])
L0 = 0.5


def eval_grid(n):
    """Half linearly, half geometrically spaced x in (0, 1], like the trainer's evaluations."""
    return np.unique(np.r_[np.linspace(0.0, 1.0, n // 2 + 1)[1:], np.geomspace(0.01, 1.0, n // 2)])


def runs(distortion=0.0, noise=0.0, n_seeds=1, seed=0, end_noise=False):
    """Universal curve R(x) = x^-0.4, size-dependent distortion, multiplicative seed noise."""
    rng = np.random.default_rng(seed)
    out = []
    for i, cs in enumerate(CSTAR):
        R = X**-0.4 * (1 + distortion * i * (1 - X))
        eps = noise * rng.standard_normal((n_seeds, X.size))
        if not end_noise:
            eps[:, -1] = 0.0
        out.append((X * cs, L0 + R * (1 + eps)))
    return out


def test_identical_normalised_curves_have_zero_delta():
    # every seed and size has the same normalised curve (seeds differ by a constant factor)
    fam = [(X * cs, L0 + np.outer([1.0, 1.1, 0.9], X**-0.4)) for cs in CSTAR]
    res = collapse_metrics(fam, CSTAR, L0=L0, x=X)
    assert np.allclose(res.delta, 0.0, atol=1e-12)
    assert np.allclose(res.mean_curves, X**-0.4)
    # the loss itself varies across seeds by ~8%: the floor is not zero
    assert np.allclose(res.sigma, np.std([1.0, 1.1, 0.9]) / 1.0)


def test_delta_grows_with_distortion_and_matches_definition():
    d = [collapse_metrics(runs(k), CSTAR, L0, x=X).delta.max() for k in (0.0, 0.01, 0.05)]
    assert d[0] < 1e-12 < d[1] < d[2]
    # one seed: Delta = population std over sizes / mean over sizes (Eq. 2)
    ell = np.array([X**-0.4 * (1 + 0.05 * i * (1 - X)) for i in range(4)])
    expect = np.max(ell.std(axis=0) / ell.mean(axis=0))
    assert d[2] == pytest.approx(expect, rel=1e-6)


def test_decomposition_and_pooled_definition():
    fam = runs(distortion=0.02, noise=0.01, n_seeds=5, end_noise=True, seed=1)
    res = collapse_metrics(fam, CSTAR, L0, x=X)
    assert np.allclose(res.delta**2, res.delta_within**2 + res.delta_between**2)
    pooled = res.curves.reshape(-1, X.size)  # equal seeds per size: pool (p, w) directly
    assert np.allclose(res.delta, pooled.std(axis=0) / pooled.mean(axis=0))
    between = collapse_metrics(fam, CSTAR, L0, x=X, delta="between")
    assert np.allclose(between.delta, res.delta_between)


def test_sigma_matches_injected_noise():
    s = 0.02
    res = collapse_metrics(runs(noise=s, n_seeds=400, end_noise=True), CSTAR, L0, x=X)
    assert res.sigma_per_size.shape == (4, X.size)
    assert np.median(res.sigma) == pytest.approx(s, rel=0.05)
    # independent noise at x and at the end: the own normalisation adds the end-point noise
    assert np.median(res.delta_within[:-1]) == pytest.approx(s * np.sqrt(2), rel=0.05)


def test_own_normalisation_is_a_control_variate():
    # a per-seed constant factor on the reducible loss (perfectly time-correlated noise)
    rng = np.random.default_rng(2)
    fam = [(X * cs, L0 + np.outer(1 + 0.03 * rng.standard_normal(50), X**-0.4)) for cs in CSTAR]
    own = collapse_metrics(fam, CSTAR, L0, x=X)
    mean = collapse_metrics(fam, CSTAR, L0, x=X, normalization="mean")
    assert np.max(own.delta) < 1e-12 < 0.02 < np.median(own.sigma)
    # normalising by the expected final loss instead: the seed part equals sigma (paper, 3.3)
    assert np.allclose(mean.delta_within, own.sigma, rtol=0.1)
    assert np.allclose(collapse_metrics(fam, CSTAR, L0, x=X, sigma="normalized").sigma, 0.0)


def _random_walk_family(eta, n_seeds=200, scale=0.02, seed=0):
    """Reducible loss R = x^-0.4 (1 + psi), psi a random walk with increments ~ eta(x) dx.

    psi(1) - psi(x) has variance scale^2 int_x^1 eta: the noise accumulated after x, as in the
    paper's Eq. (23). Sizes have different, irregular evaluation grids.
    """
    rng = np.random.default_rng(seed)
    fam = []
    for i, cs in enumerate(CSTAR):
        x = eval_grid(200 + 40 * i)
        dx = np.diff(np.r_[0.0, x])
        psi = np.cumsum(scale * np.sqrt(eta(x) * dx) * rng.standard_normal((n_seeds, x.size)), 1)
        fam.append((x * cs, L0 + x**-0.4 * (1 + psi)))
    return fam


def test_decay_gives_supercollapse_and_verdict_matches_theory():
    x = np.linspace(0.05, 1.0, 96)
    dec = collapse_metrics(_random_walk_family(lambda x: 1 - x), CSTAR, L0, x=x)
    s = summarize_collapse(dec)
    # Delta~^2 = (1 - x)^2 / 2, sigma^2 = x - x^2 / 2: equal at x = 1 - 1/sqrt(2)
    assert s.supercollapse and s.x_onset == pytest.approx(1 - 2**-0.5, abs=0.08)
    # uncorrelated noise (no memory): Delta ~ sqrt(2) sigma everywhere before the end
    rng = np.random.default_rng(5)
    white = [(X * cs, L0 + X**-0.4 * (1 + 0.02 * rng.standard_normal((100, X.size))))
             for cs in CSTAR]
    sw = summarize_collapse(collapse_metrics(white, CSTAR, L0, x=X))
    assert not sw.supercollapse and sw.frac_below < 0.1
    assert sw.median_ratio == pytest.approx(np.sqrt(2), rel=0.1)
    # the "normalized" reading of sigma compares Delta with itself: never below
    alt = summarize_collapse(collapse_metrics(_random_walk_family(lambda x: 1 - x), CSTAR, L0,
                                              x=x, sigma="normalized"))
    assert not alt.supercollapse


def test_fit_irreducible_loss_recovers_L0():
    cs = np.logspace(12, 16, 6)
    fam = [(np.geomspace(c / 100, c, 30), 0.3 + 40 * np.geomspace(c / 100, c, 30) ** -0.12)
           for c in cs]
    fit = fit_irreducible_loss(fam, n_bootstrap=0)
    assert fit.L0 == pytest.approx(0.3, abs=2e-3) and fit.b == pytest.approx(0.12, abs=2e-3)
    c_end, L_end, L_std = end_points(fam)
    assert np.allclose(c_end, cs) and np.all(L_std == 0)


def end_ladder(bend=0.0, n_seeds=5, noise=0.002, seed=0):
    """End points ``L0 + 2 c^-0.3 + bend c^-0.05`` of six sizes, seeds with additive noise;
    ``bend > 0`` flattens the reducible loss with compute (not one power law plus ``L0``)."""
    rng = np.random.default_rng(seed)
    out = []
    for cs in np.logspace(3, 6, 6):
        c = np.array([cs / 2, cs])
        R = 2 * c**-0.3 + bend * c**-0.05
        out.append((c, L0 + R + noise * rng.standard_normal((n_seeds, 1))))
    return out


def test_bootstrap_irreducible_loss_is_a_seed_bootstrap():
    lad = end_ladder()
    bs = bootstrap_irreducible_loss(lad, n_bootstrap=60, seed=1)
    assert bs.fit.L0 == pytest.approx(fit_irreducible_loss(lad, n_bootstrap=0).L0, abs=1e-12)
    assert bs.draws.shape == (60,) and bs.lo < bs.fit.L0 < bs.hi and bs.level == 0.9
    assert bs.lo < L0 < bs.hi
    again = bootstrap_irreducible_loss(lad, n_bootstrap=60, seed=1)
    assert np.array_equal(bs.draws, again.draws)
    # one seed per size: nothing to resample, every draw is the point fit
    one = bootstrap_irreducible_loss([(c, L[:1]) for c, L in lad], n_bootstrap=5)
    assert np.allclose(one.draws, one.fit.L0, atol=1e-12)
    # more seed noise, a wider interval
    wide = bootstrap_irreducible_loss(end_ladder(noise=0.01), n_bootstrap=60, seed=1)
    assert wide.hi - wide.lo > 2 * (bs.hi - bs.lo)
    with pytest.raises(ValueError):
        bootstrap_irreducible_loss(lad, n_bootstrap=1)


def test_null_irreducible_loss_separates_bend_from_noise():
    # a pure power law plus L0: the fit and its null agree, both centred on L0
    null = null_irreducible_loss(end_ladder(), L0, n_draws=60)
    assert null.fit.fixed_L0 and null.fit.L0 == L0
    assert abs(null.median - L0) < 0.02 and null.lo < L0 < null.hi
    assert null.lo < fit_irreducible_loss(end_ladder(), n_bootstrap=0).L0 < null.hi
    # a reducible loss that flattens with compute: the free fit overshoots, the null does not
    bent = end_ladder(bend=0.1)
    null_b = null_irreducible_loss(bent, L0, n_draws=60)
    assert abs(null_b.median - L0) < 0.02
    assert fit_irreducible_loss(bent, n_bootstrap=0).L0 > null_b.hi + 0.02
    with pytest.raises(ValueError):
        null_irreducible_loss(bent, L0, n_draws=1)


def test_irregular_grids_drop_step_zero_and_diverged_seeds():
    x = np.r_[0.0, eval_grid(50)]
    L = L0 + np.outer([1.0, 1.0, 1.0, 1.0], np.r_[10.0, x[1:] ** -0.4])
    L[1, 5] = np.nan  # an isolated NaN: that evaluation is dropped, the seed kept
    L[2, 30:] = np.inf  # a diverged seed: non-finite to the end
    L[3, -1] = 50.0  # a seed that blew up at the end
    fam = [(x * cs, L) for cs in CSTAR]
    res = collapse_metrics(fam, None, L0, n_x=50)
    assert res.n_seeds.tolist() == [2, 2, 2, 2]
    clean = [(c[np.arange(c.size) != 5], L[:2][:, np.arange(c.size) != 5]) for c, L in fam]
    assert np.array_equal(res.curves, collapse_metrics(clean, None, L0, n_x=50).curves)
    assert np.allclose(res.c_star, CSTAR) and np.allclose(res.delta, 0.0, atol=1e-12)
    assert np.allclose(res.mean_curves, res.x**-0.4, rtol=1e-2)  # interpolation error only


def test_normalize_curve_interpolates_end_point():
    x, ell = normalize_curve([1.0, 4.0, 16.0], [3.0, 2.0, 1.5], 8.0, L0=1.0)
    assert x.tolist() == [0.125, 0.5]
    assert ell[-1] == pytest.approx(1.0 / 0.75)  # L(8) = 1.75 by log-linear interpolation


def test_bad_input():
    good = runs()
    with pytest.raises(ValueError, match="at least 2"):
        collapse_metrics(good[:1], CSTAR[:1], L0)
    with pytest.raises(ValueError, match="c_star has shape"):
        collapse_metrics(good, CSTAR[:2], L0)
    with pytest.raises(ValueError, match="does not match"):
        collapse_metrics([(X, np.ones((2, 5))), good[1]], CSTAR[:2], L0)
    with pytest.raises(ValueError, match="NaN"):
        collapse_metrics([(X * 1e3, X * np.nan), good[1]], CSTAR[:2], L0)
    with pytest.raises(ValueError, match="positive"):
        collapse_metrics([(X - 1, X), good[1]], CSTAR[:2], L0)
    with pytest.raises(ValueError, match="L0"):
        collapse_metrics(good, CSTAR, L0=5.0, x=X)
    with pytest.raises(ValueError, match="outside"):
        collapse_metrics(good, CSTAR * 2, L0)
    with pytest.raises(ValueError, match="sigma must be"):
        collapse_metrics(good, CSTAR, L0, sigma="seed")
