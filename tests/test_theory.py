import numpy as np
import pytest

from supercollapse.analysis.theory import (
    PowerLawTerm,
    SumOfPowerLaws,
    collapse_fan_out,
    plrf_compute_optimal_exponents,
    plrf_loss_model,
    plrf_phase,
    plrf_phase2_example,
    simple_example,
)


def test_simple_example_optimal_exponent_and_exact_collapse():
    m = simple_example()
    g = m.balance_gamma()
    assert g == 1.0
    assert m.numerical_gamma((1e2, 1e4)) == pytest.approx(1.0, abs=1e-4)
    dev = collapse_fan_out(m, np.geomspace(1e2, 1e5, 6), g)
    assert dev[1.0] < 1e-12
    assert dev[0.9] > 1e-2 and dev[1.1] > 1e-2


def test_plrf_phase2_collapse_much_tighter_at_optimum():
    m = plrf_phase2_example()
    sizes = np.geomspace(1e3, 1e5, 5)
    g = m.numerical_gamma((sizes[0], sizes[-1]))
    assert g == pytest.approx(0.6 / 0.52, abs=0.05)
    dev = collapse_fan_out(m, sizes, g)
    assert dev[1.0] < 0.05 * min(dev[0.9], dev[1.1])


@pytest.mark.parametrize(
    "low, high, phases",
    [
        ((0.7, 0.49), (0.7, 0.51), ("Ia", "II")),      # 2 beta = 1
        ((0.7, 0.69), (0.7, 0.71), ("II", "III")),     # beta = alpha
        ((0.49, 0.8), (0.51, 0.8), ("IVa", "III")),    # 2 alpha = 1 above 2 beta = 1
        ((0.49, 0.3), (0.51, 0.3), ("Ib", "Ia")),      # 2 alpha = 1 below
        ((0.24, 0.8), (0.26, 0.8), ("Ic", "IVb")),     # alpha = 1/4
        ((0.28, 0.8), (0.30, 0.8), ("IVb", "IVa")),    # alpha = 1 - 1/sqrt 2
        ((0.2, 0.49), (0.2, 0.51), ("Ib", "Ic")),      # 2 beta = 1 at small alpha
    ],
)
def test_phase_boundaries(low, high, phases):
    assert (plrf_phase(*low), plrf_phase(*high)) == phases


def test_phase_rejects_undefined_region():
    with pytest.raises(ValueError, match="not defined"):
        plrf_phase(0.2, 0.2)
    with pytest.raises(ValueError, match="alpha > 0"):
        plrf_phase(float("nan"), 0.5)


@pytest.mark.parametrize(
    "ab", [(0.7, 0.3), (0.4, 0.3), (0.2, 0.7), (0.8, 0.6), (0.7, 0.9), (0.45, 0.8), (0.27, 0.8)]
)
def test_exponents_match_numerical_frontier(ab):
    e = plrf_compute_optimal_exponents(*ab)
    c = np.array([1e40, 1e50])
    p, _, L = plrf_loss_model(*ab).frontier(c)
    xi = np.log(p[1] / p[0]) / np.log(c[1] / c[0])
    eta = -np.log(L[1] / L[0]) / np.log(c[1] / c[0])
    assert xi == pytest.approx(e.xi, abs=0.01)
    assert eta == pytest.approx(e.eta, abs=0.01)


def test_known_values_and_continuity():
    assert plrf_compute_optimal_exponents(0.7, 0.9).eta == pytest.approx(1 - 1 / 2.8)
    assert plrf_compute_optimal_exponents(0.6, 0.52).gamma == pytest.approx(0.6 / 0.52)
    for a, b1, b2 in [(0.7, 0.499, 0.501), (0.8, 0.799, 0.801)]:
        e1, e2 = plrf_compute_optimal_exponents(a, b1), plrf_compute_optimal_exponents(a, b2)
        assert e1.eta == pytest.approx(e2.eta, abs=0.01)


@pytest.mark.parametrize(
    "ab", [(0.7, 0.3), (0.4, 0.3), (0.2, 0.7), (0.8, 0.6), (0.7, 0.9), (0.45, 0.8), (0.27, 0.8),
           (0.6, 0.52), (0.15, 0.4)]
)
def test_asymptotic_gamma_matches_exponent_table(ab):
    """Appendix F (max over gamma of the slowest term's exponent) agrees with the phase table."""
    assert plrf_loss_model(*ab).asymptotic_gamma() == pytest.approx(
        plrf_compute_optimal_exponents(*ab).gamma, abs=1e-9)


def test_three_term_model_collapses_asymptotically_only_at_the_optimum():
    """With a subleading third term the collapse at gamma* is only asymptotic (Theorem F.1)."""
    m = SumOfPowerLaws((PowerLawTerm(1.0, 0.5, 0.0), PowerLawTerm(1.0, 0.0, 0.5),
                        PowerLawTerm(1.0, 0.3, 0.6)))
    g = m.asymptotic_gamma()
    assert g == pytest.approx(1.0)
    small = collapse_fan_out(m, np.geomspace(1e2, 1e3, 4), g)
    large = collapse_fan_out(m, np.geomspace(1e6, 1e7, 4), g)
    assert large[1.0] < 0.2 * small[1.0]  # finite-size error decays with p
    assert large[1.0] < 0.1 * min(large[0.9], large[1.1])
