"""Tests of supercollapse.analysis.diagnose.check_scaling on synthetic ladders."""

from __future__ import annotations

import numpy as np
import pytest

from supercollapse.analysis.diagnose import ScalingReport, check_scaling, ladder_from_runs
from supercollapse.results import RunResult
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
    rep = check_scaling(ladder(), sizes=SIZES, decay=True)
    assert isinstance(rep, ScalingReport)
    assert rep.verdict == "supercollapse"
    assert rep.summary.frac_below > 0.9
    assert not rep.outlier_flagged
    assert rep.n_seeds.tolist() == [4] * len(SIZES)
    text = rep.report()
    assert "SUPERCOLLAPSE" in text and "deviates most" not in text


@pytest.mark.parametrize("which", [0, 2, 4])
def test_one_distorted_size_is_flagged(which):
    rep = check_scaling(ladder(which=which, bend=0.3), sizes=SIZES, decay=True)
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
    rep = check_scaling(curves, sizes=SIZES, decay=True)
    assert rep.verdict == "broken"
    assert np.all(np.diff(rep.deviation) > 0)  # a larger bend lifts l(x < 1): ordered by size
    assert any("fan" in n for n in rep.notes)


def test_no_decay_and_unknown_decay_notes():
    assert any("no learning-rate decay" in n for n in check_scaling(ladder(), decay=False).notes)
    assert any("schedule unknown" in n for n in check_scaling(ladder()).notes)


def test_one_seed_gives_unknown_verdict():
    rng = np.random.default_rng(2)
    curves = [make_size(rng, p, n_seeds=1) for p in SIZES]
    rep = check_scaling(curves, decay=True)
    assert rep.verdict == "unknown"
    assert any("fewer than 2 seeds" in n for n in rep.notes)


def test_diverged_seed_is_dropped_and_reported():
    curves = ladder()
    c, L = curves[1]
    L = L.copy()
    L[0, 40:] = np.nan
    curves[1] = (c, L)
    rep = check_scaling(curves, decay=True)
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
    curves, facts = ladder_from_runs(runs[::-1])
    assert facts["labels"][0] == "width=16" and facts["decay"] is True
    assert curves[0][0][0] > 0  # the compute-0 point is dropped
    rep = check_scaling(runs)
    assert rep.decay is True and rep.labels[0] == "width=16"
    assert rep.verdict == "supercollapse"
    with pytest.raises(ValueError, match="read from the runs"):
        check_scaling(runs, decay=True)


def test_input_validation():
    with pytest.raises(ValueError, match="at least 2"):
        check_scaling(ladder()[:1])
    with pytest.raises(ValueError, match="one entry per size"):
        check_scaling(ladder(), sizes=SIZES[:2])
    with pytest.raises(ValueError, match="x_range"):
        check_scaling(ladder(), x_range=(0.5, 0.2))
