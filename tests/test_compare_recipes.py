"""``benchmarks/compare_recipes.py``: pairs the runs of two folders of one sweep with the
ignored fields at their defaults, and measures their distance in seed sigmas."""

import json

import numpy as np
import pytest
from benchmark_modules import benchmark_module

from supercollapse.results import save_run
from supercollapse.train import experiments
from supercollapse.train.engine import train


@pytest.fixture(scope="module")
def compare():
    with benchmark_module("compare_recipes") as module:
        yield module


def test_distance_in_seed_sigmas(compare):
    a = np.array([[9.0, 1.0, 2.0], [9.0, 3.0, 4.0]])  # sigma after step 0: sqrt(2), sqrt(2)
    b = a + np.array([[5.0, 0.0, 0.1], [5.0, -0.2, 0.0]])  # step 0 is not compared
    assert compare.max_sigma_distance(a, b) == pytest.approx(0.2 / np.sqrt(2))


def test_one_hot_recipe_pairs_with_the_stored_runs(compare, tmp_path, capsys):
    cfg = experiments.horizon_fit("lm-quick")[1].replace(
        samples=30 * 16, batch_size=16, seeds=(0, 1), n_evals=4, n_test=64, eval_batch_size=64)
    a, b = tmp_path / "a", tmp_path / "b"
    save_run(train(cfg), a / "run.npz")
    save_run(train(cfg.replace(lookup="one_hot")), b / "run.npz")
    assert compare.main([str(a), str(b)]) == 0  # lookup ignored: one pair, well within 0.1
    assert "largest distance" in capsys.readouterr().out
    out = tmp_path / "cmp.json"
    assert compare.main([str(a), str(b), "--verdicts", "--json", str(out)]) == 0
    rec = json.loads(out.read_text())
    assert [p["run_id"] for p in rec["pairs"]] == [cfg.run_id()] and rec["missing"] == 0
    assert rec["verdicts"] == []  # one size: no ladder to judge
    assert rec["pairs"][0]["median_sigma"] <= rec["pairs"][0]["max_sigma"] == rec["largest_sigma"]
    save_run(train(cfg.replace(width=2 * cfg.width)), a / "wide.npz")  # a width b lacks
    assert compare.main([str(a), str(b)]) == 1  # no partner for it
    assert compare.main([str(a), str(b), "--widths", str(cfg.width)]) == 0  # the width b has
    assert compare.main([str(a), str(b), "--ignore"]) == 1  # lookup compared: no partner
    save_run(train(cfg.replace(lr=3 * cfg.lr, lookup="one_hot")), b / "run.npz")
    assert compare.main([str(a), str(b)]) == 1  # another recipe: no partner either
