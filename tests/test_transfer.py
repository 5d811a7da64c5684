"""Learning-rate transfer measurements (analysis/transfer.py, chapter 9)."""

import numpy as np
import pytest

from supercollapse.analysis.transfer import drift, refined_argmin, transfer

LRS = 1e-3 * 2.0 ** np.arange(7)
WIDTHS = (16, 32, 64, 128)


def bowl(best: float, noise: float = 0.0, rng=None) -> np.ndarray:
    """Final losses of a grid: a parabola in log2(lr) with its minimum at ``best``."""
    y = 0.02 + 0.003 * (np.log2(LRS) - np.log2(best)) ** 2
    return y + (noise * rng.standard_normal(y.shape) if noise else 0.0)


def test_refined_argmin_finds_the_vertex_between_grid_points():
    for best in (1.5e-3, 3e-3, 2.2e-2):
        found, edge = refined_argmin(LRS, bowl(best))
        assert not edge and found == pytest.approx(best, rel=1e-6)


def test_refined_argmin_flags_a_minimum_at_the_end_of_the_grid():
    found, edge = refined_argmin(LRS, bowl(1e-4))
    assert edge and found == LRS[0]
    found, edge = refined_argmin(LRS, bowl(1.0))
    assert edge and found == LRS[-1]


def test_diverged_runs_count_as_worst():
    y = bowl(4e-3)
    y[3:] = np.nan  # the top rates diverged
    found, edge = refined_argmin(LRS, y)
    assert found == LRS[2] and not edge  # the minimum's neighbour diverged: no parabola


def test_a_transferring_sweep_has_no_drift_and_no_penalty():
    rng = np.random.default_rng(0)
    seeds = np.stack([[bowl(4e-3, 1e-5, rng) for _ in WIDTHS] for _ in range(3)])
    t = transfer("mup", WIDTHS, LRS, seeds)
    assert abs(t.drift) < 0.05 and max(abs(d) for d in t.drift_seeds) < 0.1
    assert t.grid_steps == 0 and t.max_penalty < 1e-3
    assert "drift +0.0" in t.line() or "drift -0.0" in t.line()


def test_a_best_rate_falling_as_one_over_width_has_drift_minus_one():
    seeds = np.stack([[bowl(3.2e-2 * 16 / w) for w in WIDTHS] for _ in range(2)])
    t = transfer("sp_global", WIDTHS, LRS, seeds)
    assert t.drift == pytest.approx(-1.0, abs=1e-6)
    assert t.grid_steps == 3
    # the base width's best rate, 8x too high at width 128: 3 grid steps up the parabola
    assert t.penalty[-1] == pytest.approx(0.003 * 9 / 0.02, rel=1e-6)
    assert t.penalty[0] == 0.0


def test_bad_shapes_are_named():
    with pytest.raises(ValueError, match="shape"):
        transfer("x", WIDTHS, LRS, np.zeros((2, 3, 7)))
    with pytest.raises(ValueError, match="increasing"):
        transfer("x", WIDTHS[::-1], LRS, np.zeros((2, 4, 7)))


def test_drift_is_a_log_log_slope():
    assert drift([10, 100], [1.0, 0.1]) == pytest.approx(-1.0)
    assert drift([10, 100], [1.0, 1.0]) == pytest.approx(0.0)
