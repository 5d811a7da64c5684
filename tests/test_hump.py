"""The local time exponent (analysis/frontier.local_exponent) and, on the stored runs, the two
ends of the 303x ladder's hump (issue 30, chapter 5)."""

import json

import numpy as np
import pytest

from supercollapse.analysis.frontier import local_exponent
from supercollapse.analysis.recipe import ladder_gains
from supercollapse.paths import results_dir
from supercollapse.results import load_sweep


def test_local_exponent_of_exact_curves():
    t = np.geomspace(1.0, 1e6, 400)
    L = 0.1 + 3.0 * t ** -0.4
    assert local_exponent(t, L, 1e3, L0=0.1) == pytest.approx(0.4, abs=1e-6)
    assert local_exponent(t, np.vstack([L, L]), 1e3, L0=0.1) == pytest.approx(0.4, abs=1e-6)
    assert local_exponent(t, L, 1e3) < 0.4  # the offset flattens ln L
    for bad in (dict(at=1e9), dict(at=1e3, window=1.0), dict(at=1e3, L0=1.0)):
        with pytest.raises(ValueError):
            local_exponent(t, L, **bad)


def test_the_ends_of_the_hump_in_the_stored_runs():
    """Small end: the decay gain N/R of the 10x collapse ladder is lowest at width 48 (3k
    steps). Large end: the constant-rate runs' local time exponent at the fitted law's horizon
    falls from widths 64-128 to widths 200-320."""
    col, hor = load_sweep("collapse"), load_sweep("horizon")["constant"]
    gains = ladder_gains(col["linear"], col["constant"], 0.0)
    ratio = dict(zip([r.config.width for r in col["linear"]], gains.ratio, strict=True))
    assert ratio[48] == pytest.approx(0.24, abs=0.01)
    assert min(v for w, v in ratio.items() if w > 48) > ratio[48] + 0.02
    law = json.loads((results_dir() / "full" / "law.json").read_text())
    exps = {}
    for r in hor:
        T = law["kappa"] * r.n_params ** (law["exponent"] - 1) / 6 / r.config.batch_size
        exps[r.config.width] = local_exponent(r.curves["step"], r.curves["test_loss"], T)
    mid = np.mean([exps[w] for w in (64, 80, 96, 128)])
    top = np.mean([exps[w] for w in (200, 256, 320)])
    assert 0.17 < mid < 0.2 and 0.14 < top < 0.165 and top < mid - 0.02


def test_the_whole_ladder_in_the_stored_constant_rate_runs():
    """results/full/ladder-horizon (constant rate at every width of the 303x ladder, to twice
    the law's horizon): the transient gate (T >= 20x the steepest step) drops widths 32 and 48;
    widths 32-108 are overtaken by the next width inside the data, about where the law says
    (r^((1+gamma)/2) c*), widths 160-360 not before 2 c*, where their data end."""
    from supercollapse.analysis.frontier import overtakes
    from supercollapse.results import to_ladder

    const = load_sweep("ladder-horizon")["constant"]
    ladder = load_sweep("ladder")["exponent_1.0x"]
    assert [r.config.width for r in const] == [r.config.width for r in ladder]
    gains = ladder_gains(ladder, const, 0.0)
    assert gains.past_transient().tolist() == [False, False] + [True] * 6
    law = json.loads((results_dir() / "full" / "law.json").read_text())
    ov = overtakes(to_ladder(const))
    c_law = law["kappa"] * ov.lower ** law["exponent"]
    expected = (ov.upper / ov.lower) ** (law["exponent"] / 2)
    assert np.all(np.isfinite(ov.compute[:4])) and np.all(np.isnan(ov.compute[4:]))
    assert np.all(np.abs(np.log(ov.compute[:4] / c_law[:4] / expected[:4])) < np.log(1.5))
    assert np.all(ov.gap_at_end[4:] > 0)
    np.testing.assert_allclose(ov.end[4:] / c_law[4:], 2.0, rtol=0.01)
