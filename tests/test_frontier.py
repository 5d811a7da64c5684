import numpy as np
import pytest

from supercollapse.analysis.frontier import bootstrap_horizon_law, compute_frontier, fit_horizon_law

MU, NU = 0.5, 0.6  # L = t^-mu + p^-nu -> t* = (mu/nu)^(1/mu) p^(nu/mu)


C_GRID = np.logspace(2, 14, 300)


def family(sizes, c=C_GRID):
    return {p: (c, (c / (6 * p)) ** -MU + p**-NU) for p in sizes}


def truth():
    gamma = NU / MU
    kappa = 6 * (MU / NU) ** (1 / MU)
    return kappa, gamma


@pytest.mark.parametrize("method, ktol", [("isoflop", 0.05), ("midpoint", 0.1)])
def test_recovers_horizon_law(method, ktol):
    sizes = np.geomspace(1e2, 1e5, 10)
    fr = compute_frontier(family(sizes), n_grid=2000, method=method)
    law = fit_horizon_law(fr)
    kappa, gamma = truth()
    assert abs(law.gamma - gamma) < 0.02
    assert abs(np.log(law.kappa / kappa)) < ktol
    assert law.r2_log > 0.999
    # the envelope never exceeds any curve, and equals the best one
    c = fr.compute[100]
    vals = [(c / (6 * p)) ** -MU + p**-NU for p in sizes]
    assert fr.loss[100] == pytest.approx(min(vals), rel=1e-3)
    assert law.samples(1e3) == pytest.approx(law.compute(1e3) / 6e3)


def test_absent_outside_range_and_censoring():
    c_small = np.logspace(2, 6, 50)
    curves = {1.0: (c_small, c_small**-0.1), 1e6: (np.logspace(8, 12, 50), np.full(50, 0.01))}
    fr = compute_frontier(curves)
    # between 1e6 and 1e8 nobody has data
    gap = (fr.compute > 1.1e6) & (fr.compute < 0.9e8)
    assert np.all(fr.best_index[gap] == -1) and np.all(np.isnan(fr.loss[gap]))
    assert fr.censored.all()
    with pytest.raises(ValueError, match="at least 2"):
        fit_horizon_law(fr)


def test_bad_input():
    c = np.logspace(0, 2, 5)
    L = 1.0 / c  # a falling loss
    with pytest.raises(ValueError, match="at least 2 model sizes"):
        compute_frontier({1.0: (c, L)})
    with pytest.raises(ValueError, match="positive"):
        compute_frontier({1.0: (c - 2, L), 2.0: (c, L)})
    with pytest.raises(ValueError, match="NaN"):
        compute_frontier({1.0: (c, L * np.nan), 2.0: (c, L)})
    with pytest.raises(ValueError, match="does not match"):
        compute_frontier({1.0: (c, L[:-1]), 2.0: (c, L)})
    with pytest.raises(ValueError, match="equal shape"):
        fit_horizon_law([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="2 seeds"):
        bootstrap_horizon_law({1.0: (c, L), 2.0: (c, L)})


def test_noisy_seeds_irregular_grids_and_bootstrap():
    """Seed noise, per-size irregular grids with a step-0 point and a diverged seed."""
    rng = np.random.default_rng(3)
    sizes = np.geomspace(1e2, 1e5, 10)
    curves = {}
    for i, p in enumerate(sizes):
        c = np.r_[0.0, np.unique(np.r_[np.geomspace(1e2, 1e14, 150 + 7 * i),
                                       np.linspace(1e12, 1e14, 50)])]
        L = ((np.maximum(c, 1e-300) / (6 * p)) ** -MU + p**-NU) * (
            1 + 0.003 * rng.standard_normal((6, c.size)))
        L[0, 3] = np.nan  # diverged seed, dropped
        curves[float(p)] = (c, L)
    law = fit_horizon_law(compute_frontier(curves, n_grid=1500))
    bs = bootstrap_horizon_law(curves, n_bootstrap=30, n_grid=1500)
    kappa, gamma = truth()
    assert bs.n_failed == 0 and 0 < bs.gamma_err < 0.1
    err = max(bs.gamma_err, law.gamma_err)
    assert abs(law.gamma - gamma) < 3 * err + 0.02
    assert abs(np.log(law.kappa / kappa)) < 3 * max(bs.log_kappa_err, law.log_kappa_err) + 0.1


def test_points_follow_the_envelope_from_the_first_located_optimum():
    sizes = np.geomspace(1e2, 1e5, 6)
    fr = compute_frontier(family(sizes), n_grid=500)
    c, L = fr.points(24)
    first = np.flatnonzero(fr.usable())[0]
    assert c[0] == fr.interval_lo[first] and c[-1] == fr.compute[np.isfinite(fr.loss)][-1]
    assert len(c) == 24 and np.all(np.diff(np.log(c)) > 0)
    np.testing.assert_allclose(L, np.interp(c, fr.compute, fr.loss))
    with pytest.raises(ValueError, match="at least 2"):
        fr.points(1)
    nothing = compute_frontier({1.0: (C_GRID[:50], C_GRID[:50] ** -0.1),
                                1e6: (C_GRID[200:], np.full(100, 1e-3))})
    with pytest.raises(ValueError, match="no size has a located"):
        nothing.points()


def test_overtakes_crossing_gap_and_censoring():
    """The larger size overtakes at r^((1+gamma)/2) c*; past the data the crossing is NaN and
    the gap at the end is positive; a larger size ahead over the whole overlap is NaN with a
    negative gap; per seed, one crossing per seed pair."""
    from supercollapse.analysis.frontier import overtakes

    c = np.logspace(0, 6, 200)
    law = {p: (c, (c / (6 * p)) ** -0.5 + p ** -0.5) for p in [1.0, 4.0, 16.0]}
    ov = overtakes(law)
    np.testing.assert_allclose(ov.compute, 24 * ov.lower ** 2, rtol=0.01)  # 4 c*(p), c* = 6 p^2
    assert np.all(ov.gap_at_end < 0)
    # the smaller curve stops before its successor catches up: censored, behind at the end
    short = dict(law)
    short[4.0] = (c[c < 200], law[4.0][1][c < 200])  # 4 c*(4) = 384
    cut = overtakes(short)
    assert np.isnan(cut.compute[1]) and cut.gap_at_end[1] > 0 and cut.end[1] < 384
    # a "larger" size that is better everywhere: no crossing inside the overlap
    better = {1.0: law[1.0], 4.0: (c, 0.5 * law[1.0][1])}
    ahead = overtakes(better)
    assert np.isnan(ahead.compute[0]) and ahead.gap_at_end[0] == pytest.approx(-0.5)
    # per seed: (pairs, seeds), each seed's crossing near the mean one
    rng = np.random.default_rng(0)
    noisy = {p: (cc, L * (1 + 0.001 * rng.standard_normal((3, cc.size)))) for p, (cc, L) in law.items()}
    ps = overtakes(noisy, per_seed=True)
    assert ps.compute.shape == (2, 3) and ps.gap_at_end.shape == (2, 3)
    np.testing.assert_allclose(ps.compute, np.broadcast_to(24 * ps.lower[:, None] ** 2, (2, 3)),
                               rtol=0.2)
