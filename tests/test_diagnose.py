"""Tests of supercollapse.analysis.diagnose.check_scaling on synthetic ladders."""

from __future__ import annotations

import numpy as np
import pytest

from supercollapse.analysis.diagnose import ScalingReport, check_scaling
from supercollapse.analysis.ladder import Ladder
from supercollapse.results import RunResult, to_ladder
from supercollapse.train.config import TrainConfig

SIZES = (1e5, 2e5, 4e5, 8e5, 1.6e6)


def make_size(rng, p, *, n_seeds=4, bend=0.0, jitter=0.004, seed_factor=0.05, n_x=80):
    """One size of a synthetic ladder: ``(compute, losses[seeds, points])`` with L0 = 0.

    The reducible loss is a universal curve ``x^-0.4`` (bent by ``1 + bend (1 - x)``), times a
    per-seed factor (correlated over training: the end-point normalisation cancels it) and a
    small independent per-point noise.
    """
    x = np.geomspace(0.02, 1.0, n_x)
    shape = x**-0.4 * (1 + bend * (1 - x))
    R = shape * (1 + seed_factor * rng.standard_normal((n_seeds, 1)))
    R = R * (1 + jitter * rng.standard_normal((n_seeds, n_x)))
    return x * p**1.9, 0.1 * p**-0.3 * R


def ladder(seed=0, **distort):
    rng = np.random.default_rng(seed)
    which = distort.pop("which", None)
    return [make_size(rng, p, **(distort if i == which else {})) for i, p in enumerate(SIZES)]


def test_collapsing_ladder_passes():
    rep = check_scaling(Ladder(ladder(), sizes=SIZES, decay=True))
    assert isinstance(rep, ScalingReport)
    assert rep.verdict == "supercollapse"
    assert rep.summary.frac_below > 0.9
    assert not rep.outlier_flagged
    assert rep.n_seeds.tolist() == [4] * len(SIZES)
    text = rep.report()
    assert "SUPERCOLLAPSE" in text and "deviates most" not in text


@pytest.mark.parametrize("which", [0, 2, 4])
def test_one_distorted_size_is_flagged(which):
    rep = check_scaling(Ladder(ladder(which=which, bend=0.3), sizes=SIZES, decay=True))
    assert rep.verdict == "broken"
    assert rep.outlier == which and rep.outlier_flagged
    assert rep.summary_without_outlier is not None
    assert rep.summary_without_outlier.frac_below > 0.9  # removing it restores the collapse
    assert abs(rep.deviation[which]) == pytest.approx(np.abs(rep.deviation).max())
    assert "deviates most" in rep.report()


def test_fan_with_size_is_reported():
    rng = np.random.default_rng(1)
    curves = [make_size(rng, p, bend=b) for p, b in zip(SIZES, np.linspace(-0.2, 0.2, 5),
                                                        strict=True)]
    rep = check_scaling(Ladder(curves, sizes=SIZES, decay=True))
    assert rep.verdict == "broken"
    assert np.all(np.diff(rep.deviation) > 0)  # a larger bend lifts l(x < 1): ordered by size
    assert any("fan" in n for n in rep.notes)


def test_no_decay_and_unknown_decay_notes():
    assert any("no learning-rate decay" in n for n in check_scaling(Ladder(ladder(), decay=False)).notes)
    assert any("schedule unknown" in n for n in check_scaling(ladder()).notes)


def test_one_seed_gives_unknown_verdict():
    rng = np.random.default_rng(2)
    curves = [make_size(rng, p, n_seeds=1) for p in SIZES]
    rep = check_scaling(Ladder(curves, decay=True))
    assert rep.verdict == "unknown"
    assert any("fewer than 2 seeds" in n for n in rep.notes)


def test_diverged_seed_is_dropped_and_reported():
    curves = ladder()
    c, L = curves[1]
    L = L.copy()
    L[0, 40:] = np.nan
    curves[1] = (c, L)
    rep = check_scaling(Ladder(curves, decay=True))
    assert rep.n_seeds[1] == 3 and rep.n_dropped.tolist() == [0, 1, 0, 0, 0]
    assert any("diverged" in n for n in rep.notes)


def test_run_results_input():
    rng = np.random.default_rng(3)
    runs = []
    for w, p in zip((16, 24, 32, 48), SIZES, strict=False):
        c, L = make_size(rng, p)
        c = np.concatenate([[0.0], c])
        L = np.concatenate([L[:, :1] * 2, L], axis=1)
        lr = np.linspace(1e-3, 0.0, c.size)
        curves = {"step": np.arange(c.size), "samples": c, "compute": c, "lr": lr, "tau": c,
                  "test_loss": L, "train_loss": L}
        cfg = TrainConfig(width=w, samples=1000, seeds=(0, 1, 2, 3), schedule="linear")
        runs.append(RunResult(cfg, int(p), 100, curves, np.zeros(4, bool)))
    lad = to_ladder(runs[::-1])
    assert lad.labels[0] == "width=16" and lad.decay is True
    assert lad[0][0][0] > 0  # the compute-0 point is dropped
    rep = check_scaling(lad)
    assert rep.decay is True and rep.labels[0] == "width=16"
    assert rep.verdict == "supercollapse"
    with pytest.raises(ValueError, match="results.to_ladder"):
        check_scaling(runs)


def test_input_validation():
    with pytest.raises(ValueError, match="at least 2"):
        check_scaling(ladder()[:1])
    with pytest.raises(ValueError, match="one entry per size"):
        check_scaling(Ladder(ladder(), sizes=SIZES[:2]))
    with pytest.raises(ValueError, match="x_range"):
        check_scaling(ladder(), x_range=(0.5, 0.2))


# --- real logs (issue 16, section 5) ---------------------------------------------------------


def test_repeated_compute_points_are_merged_and_reported():
    curves = ladder()
    c, L = curves[2]
    curves[2] = (np.insert(c, 10, c[10]), np.insert(L, 10, L[:, 10], axis=1))  # logged twice
    rep = check_scaling(Ladder(curves, sizes=SIZES, decay=True))
    assert rep.n_merged.tolist() == [0, 0, 1, 0, 0]
    assert any("merged repeated compute points" in n for n in rep.notes)
    assert rep.verdict == check_scaling(Ladder(ladder(), sizes=SIZES, decay=True)).verdict


def test_isolated_nan_drops_the_evaluation_not_the_seed_or_the_size():
    curves = ladder()
    c, L = curves[1]
    L = L.copy()
    L[0, 30] = np.nan  # one seed, one evaluation
    curves[1] = (c, L)
    c, L = curves[3]
    L = L.copy()
    L[:, 20] = np.nan  # every seed of a size, one evaluation
    curves[3] = (c, L)
    rep = check_scaling(Ladder(curves, sizes=SIZES, decay=True))
    assert rep.n_seeds.tolist() == [4] * 5 and rep.n_dropped.tolist() == [0] * 5
    assert rep.n_points_dropped.tolist() == [0, 1, 0, 1, 0]
    assert not any("diverged" in n for n in rep.notes) and "lr_too_high" not in rep.symptoms
    assert rep.verdict == "supercollapse"


def test_seed_diverged_only_when_non_finite_or_blown_up_to_the_end():
    curves = ladder()
    c, L = curves[4]
    L = L.copy()
    L[1, 50:] = np.inf  # stays non-finite to the end
    L[2, -1] = 1e3 * L[2].min()  # blows up at the end
    curves[4] = (c, L)
    rep = check_scaling(Ladder(curves, sizes=SIZES, decay=True))
    assert rep.n_dropped.tolist() == [0, 0, 0, 0, 2] and rep.n_seeds[4] == 2
    assert "lr_too_high" in rep.symptoms
    assert any("diverged" in n for n in rep.notes)


def test_identical_seeds_cannot_be_judged():
    same = [(c, np.repeat(L[:1], 3, axis=0)) for c, L in ladder()]
    rep = check_scaling(Ladder(same, sizes=SIZES, decay=True))
    assert rep.verdict == "unknown"
    assert any("no seed noise: cannot judge" in n for n in rep.notes)
    assert "UNKNOWN" in str(rep)


def test_dict_ladder_ragged_seeds_and_two_sizes():
    curves = ladder()
    as_dict = {p: cl for p, cl in zip(SIZES, curves, strict=True)}
    rep = check_scaling(Ladder(dict(reversed(as_dict.items())), decay=True))  # any order
    ref = check_scaling(Ladder(curves, sizes=SIZES, decay=True))
    assert rep.sizes.tolist() == list(SIZES) and rep.labels[0] == "p=1e+05"
    assert np.array_equal(rep.deviation, ref.deviation) and rep.verdict == ref.verdict
    with pytest.raises(ValueError, match="carries its sizes"):
        Ladder(as_dict, sizes=SIZES)
    c, L = curves[0]
    ragged = [list(L[0]), list(L[1][:-3])]
    with pytest.raises(ValueError, match="different numbers of evaluations"):
        check_scaling([(c, ragged)] + curves[1:])
    two = check_scaling(Ladder(curves[:2], sizes=SIZES[:2], decay=True))
    assert any("only 2 sizes" in n for n in two.notes) and two.horizon is None


def test_fan_note_even_when_the_ladder_supercollapses():
    rng = np.random.default_rng(1)
    curves = [make_size(rng, p, bend=b) for p, b in zip(SIZES, np.linspace(-0.03, 0.03, 5),
                                                        strict=True)]
    rep = check_scaling(Ladder(curves, sizes=SIZES, decay=True))
    assert rep.verdict == "supercollapse"
    assert rep.horizon is not None and rep.horizon.fan
    assert any("fan with size" in n and "even though the ladder supercollapses" in n
               for n in rep.notes)


# --- certainty and prescription (issue 21) ---------------------------------------------------

MU, NU = 0.4, 0.3  # two-term law L = t^-mu + p^-nu: gamma* = nu / mu = 0.75
P_TWO = np.geomspace(1e4, 1e7, 6)


def two_term_ladder(dg, seed=0, n_seeds=4, jitter=0.002):
    """Sizes trained on t(p) = t*(p_mid) (p / p_mid)^(gamma* + dg), seed noise on top.

    The loss is exactly ``t^-mu + p^-nu`` (compute c = 6 p t); every seed gets a factor on its
    reducible loss (cancelled by the normalisation) and a small independent jitter per point.
    """
    rng = np.random.default_rng(seed)
    p_mid = np.exp(np.log(P_TWO).mean())
    t_mid = (MU / NU) ** (1 / MU) * p_mid ** (NU / MU)  # optimum: mu t^-mu = nu p^-nu
    out = {}
    for p in P_TWO:
        t = t_mid * (p / p_mid) ** (NU / MU + dg) * np.geomspace(0.02, 1, 120)
        L = t**-MU + p**-NU
        L = L * (1 + 0.03 * rng.standard_normal((n_seeds, 1)))
        out[p] = (6 * p * t, L * (1 + jitter * rng.standard_normal((n_seeds, t.size))))
    return out


@pytest.mark.parametrize("dg", [-0.15, 0.15])
def test_synthetic_exponent_error_is_recovered_within_its_interval(dg):
    rep = check_scaling(Ladder(two_term_ladder(dg), decay=True))
    h = rep.horizon
    assert h is not None and h.fan
    assert h.error.lo <= dg <= h.error.hi
    assert abs(h.error.value - dg) < 0.05
    assert h.exponent_used == pytest.approx(1 + NU / MU + dg, abs=1e-9)
    assert h.suggested.lo <= 1 + NU / MU <= h.suggested.hi
    assert any("off by" in n for n in rep.notes)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pure_seed_noise_reports_no_fan(seed):
    rep = check_scaling(Ladder(two_term_ladder(0.0, seed=seed, jitter=0.01), decay=True))
    assert rep.horizon is not None and not rep.horizon.fan
    assert rep.horizon.error.lo <= 0 <= rep.horizon.error.hi
    assert not any("fan with size" in n for n in rep.notes)
    assert rep.symptoms == ()


def test_fan_sensitivity_matches_the_exact_theory():
    from supercollapse.analysis.collapse import x_average
    from supercollapse.analysis.diagnose import fan_sensitivity
    from supercollapse.analysis.theory import PowerLawTerm, SumOfPowerLaws

    x = np.geomspace(0.02, 1, 200)
    model = SumOfPowerLaws((PowerLawTerm(1.0, MU, 0.0), PowerLawTerm(1.0, 0.0, NU)))
    u = np.log(P_TWO) - np.log(P_TWO).mean()
    p_mid = float(np.exp(np.log(P_TWO).mean()))
    slopes = []
    for dg in (-0.01, 0.01):  # SumOfPowerLaws.normalized_curves, pinned at p_mid
        t_ref = model.optimal_samples(p_mid) * (P_TWO[0] / p_mid) ** (NU / MU + dg)
        ell = model.normalized_curves(x, P_TWO, NU / MU + dg, t_ref=t_ref)
        off = x_average(x, ell / ell.mean(axis=0) - 1, 0.2, 1.0)
        slopes.append(u @ off / (u @ u))
    S = fan_sensitivity(MU, NU, P_TWO, x)
    assert S == pytest.approx((slopes[1] - slopes[0]) / 0.02, rel=1e-3)


def test_bootstrap_identity_draw_reproduces_collapse_metrics():
    from supercollapse.analysis.diagnose import _draw_stats

    rep = check_scaling(Ladder(ladder(), sizes=SIZES, decay=True))
    res, (lo, hi) = rep.result, rep.x_range
    sel = (res.x >= lo) & (res.x <= hi) & (res.x < 1 - 1e-9)
    n, n_max = res.curves.shape[:2]
    u = np.broadcast_to((np.arange(n_max) + 0.5) / res.n_seeds[:, None], (1, n, n_max))
    delta, sigma, dev = _draw_stats(res, sel, np.arange(n)[None], u)
    assert np.allclose(delta[0], res.delta[sel], rtol=1e-12)
    assert np.allclose(sigma[0], res.sigma[sel], rtol=1e-12)
    assert np.allclose(dev[0], rep.deviation, atol=1e-14)


def test_verdict_carries_its_confidence_and_borderline_ladders_get_no_hard_label():
    sure = check_scaling(Ladder(ladder(), sizes=SIZES, decay=True))
    assert sure.verdict == "supercollapse" and sure.verdict_prob["supercollapse"] >= 0.9
    assert sure.frac_below.lo <= sure.summary.frac_below <= sure.frac_below.hi
    assert np.all(sure.deviation_lo <= sure.deviation) and np.all(sure.deviation <= sure.deviation_hi)
    # the same ladder judged against a threshold that sits inside its interval
    m = sure.median_ratio
    assert m.lo < m.value < m.hi
    edge = check_scaling(Ladder(ladder(), sizes=SIZES, decay=True), supercollapse_frac=1.01,
                         broken_ratio=m.value)
    assert edge.point_verdict == "collapse" and edge.verdict == "borderline"
    assert 0.1 < edge.verdict_prob["collapse"] < 0.9
    assert "BORDERLINE" in str(edge) and any("no hard label" in n for n in edge.notes)


def test_print_and_plot():
    import matplotlib
    import matplotlib.pyplot

    matplotlib.use("Agg")
    rep = check_scaling(Ladder(ladder(), sizes=SIZES, decay=True))
    assert str(rep) == rep.report() and str(rep).startswith("Verdict: SUPERCOLLAPSE (")
    fig = rep.plot()
    assert len(fig.axes) == 2 and fig.axes[1].get_xscale() == "log"
    assert len(fig.axes[1].containers) == 1  # the offsets with their error bars
    matplotlib.pyplot.close(fig)
