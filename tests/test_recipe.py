"""The recipe gates (analysis/recipe.py) on the stored lm-full runs and on synthetic curves."""

import numpy as np
import pytest

from supercollapse.analysis.recipe import decay_gain, recipe_gates, steepest_step
from supercollapse.paths import results_dir
from supercollapse.results import load_runs

L0 = 1.153  # the language's exact entropy rate (tasks/language.py)


def test_steepest_step_finds_the_bend_and_ignores_scale():
    t = np.geomspace(1, 1e5, 400)
    for bend in (100.0, 1000.0):
        L = 1 + 2 * (1 + (t / bend) ** 2) ** -0.25 + 0.05
        s = steepest_step(t, L, L0=1.0)
        assert bend < s < 30 * bend
        # a constant factor on the reducible loss leaves the local exponent unchanged
        assert steepest_step(t, 1 + 3 * (L - 1), L0=1.0) == pytest.approx(s)


def test_decay_gain_needs_the_horizon():
    t = np.array([1.0, 50.0, 100.0])
    with pytest.raises(ValueError, match="horizon"):
        decay_gain(t, np.array([3.0, 1.6, 1.5]), [1.2], horizon=200, L0=1.0)


def test_stored_untuned_recipe_fails_two_gates():
    """The stored lm-full collapse (lr 1e-2 at base width 16): N/R rises 2.7x from width 24 to
    128 (issue 29's 0.111 ... 0.302), and the small widths stop within a few transients."""
    runs = [r for r in load_runs(results_dir() / "lm-full" / "collapse")
            if r.config.tags["variant"] in ("constant", "linear")]
    g = recipe_gates(runs, L0, variant_of=lambda r: True)
    assert g.widths == (24, 32, 48, 64, 96, 128)
    assert g.transfer  # one rate only: trivially
    np.testing.assert_allclose([x.ratio for x in g.gain],
                               [0.111, 0.156, 0.200, 0.227, 0.268, 0.302], atol=2e-3)
    assert not g.flat_gain and g.gain_spread > 2.5
    assert not g.past_transient and min(g.transient_ratio) < 8
    assert all(150 < s < 1500 for s in g.t_steep)


def test_stored_fan_tracks_the_decay_gain():
    """Issue 29: the x-averaged offsets of the stored linear ladder follow N/R (r > 0.95); the
    widths 24 and 32 end within ten transients (x_steep > 0.1), the largest two beyond 20."""
    from supercollapse.analysis.diagnose import check_scaling
    from supercollapse.analysis.recipe import ladder_gains
    from supercollapse.results import load_sweep, to_ladder

    sweep = load_sweep("collapse", scale="lm-full")
    g = ladder_gains(sweep["linear"], load_sweep("horizon", scale="lm-full")["constant"], L0)
    assert g.spread > 2.0
    assert g.tracks(check_scaling(to_ladder(sweep["linear"]), L0=L0, n_bootstrap=50).deviation) > 0.95
    assert np.all(g.x_steep[:2] > 0.1) and np.all(g.x_steep[-2:] < 0.05)
    np.testing.assert_allclose(g.transient_ratio, 1 / g.x_steep)
    assert not g.past_transient()[:2].any() and g.past_transient()[-2:].all()


def test_check_scaling_attributes_the_lm_fan_to_the_recipe():
    """Given constant-rate runs, check_scaling reports N/R per size and the transient, and reads
    the stored transformer fan as the recipe's (not a horizon error, not 'lr too low')."""
    from supercollapse.analysis.diagnose import check_scaling
    from supercollapse.results import load_sweep, to_ladder

    sweep = load_sweep("collapse", scale="lm-full")
    horizon = to_ladder(load_sweep("horizon", scale="lm-full")["constant"])
    rep = check_scaling(to_ladder(sweep["linear"]), L0=L0, constant_runs=horizon, n_bootstrap=50)
    assert rep.gains is not None and rep.gains.spread > 2.0
    assert set(rep.symptoms) == {"decay_gain", "transient"}
    text = "\n".join(rep.notes)
    assert "decay gain N/R" in text and "correlation 0.99" in text and "transient" in text
    assert "a learning rate too low" not in text
    # the constant-rate ladder itself: no decay, no decay gain
    assert check_scaling(to_ladder(sweep["constant"]), L0=L0, constant_runs=horizon,
                         n_bootstrap=50).gains is None


def test_verdicts_command_takes_L0_and_will_not_assume_0_for_the_language(capsys):
    """`verdicts` on lm-full: refused without --L0; with the exact 1.153 linear decay has
    Delta < sigma on 13% of [0.2, 1) (at L0 = 0 it would read 0.39)."""
    from supercollapse.__main__ import main

    d = str(results_dir() / "lm-full" / "collapse")
    assert main(["verdicts", d]) == 2
    assert "--L0" in capsys.readouterr().err
    rows = {}
    for L0_arg in ("1.153", "0"):
        assert main(["verdicts", d, "--L0", L0_arg, "--drop", "0"]) == 0
        for line in capsys.readouterr().out.splitlines()[2:]:
            cells = [c.strip() for c in line.strip("|").split("|")]
            rows[L0_arg, cells[1].split(" (")[0]] = float(cells[2])
    assert rows["1.153", "linear"] == pytest.approx(0.13, abs=0.006)
    assert rows["0", "linear"] > rows["1.153", "linear"] + 0.2
