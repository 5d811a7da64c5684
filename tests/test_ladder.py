"""The 300x exponent ladder (issue 19) and sweep sharding: configs only, no training; the
ladder's horizon law and seed sweeps (issue 30, item 3): configs, the planning estimate, and
the whole pipeline at a tiny scale on CPU."""

import math
from pathlib import Path

import numpy as np
import pytest

from supercollapse.models import param_count
from supercollapse.train import experiments as E
from supercollapse.train.engine import plan_groups
from supercollapse.train.sweep import shard_configs

LAW = E.Law(kappa=2481.8, exponent=1.886)


def test_exponent_ladder_spans_300x_with_three_horizons():
    configs = E.exponent_ladder("full", LAW)
    sizes = sorted({param_count(c) for c in configs})
    assert sizes[-1] / sizes[0] >= 300
    by_variant = {}
    for c in configs:
        by_variant.setdefault(c.tags["variant"], []).append(c)
    assert sorted(by_variant) == ["exponent_0.9x", "exponent_1.0x", "exponent_1.1x"]
    assert all(c.schedule == "linear" and len(c.seeds) == 3 for c in configs)
    # Each mis-set law agrees with the fitted one at the ladder's geometric middle size ...
    anchor = math.sqrt(sizes[0] * sizes[-1])
    for c in configs:
        assert math.isclose(c.horizon_kappa * anchor ** c.horizon_exponent,
                            LAW.kappa * anchor ** LAW.exponent, rel_tol=1e-9)
    # ... and the 1.1x exponent trains the largest model longer, the smallest shorter.
    steps = {v: [c.horizon_steps(param_count(c)) for c in cs] for v, cs in by_variant.items()}
    assert steps["exponent_1.1x"][-1] > steps["exponent_1.0x"][-1] > steps["exponent_0.9x"][-1]
    assert steps["exponent_1.1x"][0] < steps["exponent_1.0x"][0] < steps["exponent_0.9x"][0]
    with pytest.raises(ValueError, match="not defined at scale .quick.; use --scale full"):
        E.exponent_ladder("quick", LAW)


@pytest.mark.parametrize("count", [1, 2, 4])
def test_shards_partition_the_sweep_by_whole_groups(count):
    # The quick scale's sweeps (cheap tasks to build): groups of several runs and of one.
    law = E.Law(kappa=2e3, exponent=1.8)
    configs = E.collapse("quick", law) + E.breakdown("quick", law)
    shards = [shard_configs(configs, i, count) for i in range(count)]
    ids = [c.run_id() for s in shards for c in s]
    assert sorted(ids) == sorted(c.run_id() for c in configs)  # every run once
    groups = [{configs[i].run_id() for i in g} for g in plan_groups(configs)]
    for g in groups:  # a group is never split between shards
        assert sum(bool(g & {c.run_id() for c in s}) for s in shards) == 1
    # The deal does not depend on which runs are finished (the order of the list is the same).
    assert [c.run_id() for c in shard_configs(configs, 0, count)] == [c.run_id() for c in shards[0]]


def test_shard_rejects_bad_index():
    with pytest.raises(ValueError, match="shard 4/4"):
        shard_configs(E.collapse("full", LAW), 4, 4)


def test_ladder_horizon_runs_twice_past_the_law_and_at_least_the_minimum():
    configs = E.ladder_horizon("full", LAW)
    assert [c.width for c in configs] == list(E.SCALES["full"].ladder_widths)
    for c in configs:
        p = param_count(c)
        law_steps = LAW.kappa * p ** (LAW.exponent - 1) / 6 / c.batch_size
        steps = c.horizon_steps(p)
        assert c.schedule == "constant" and len(c.seeds) == 3 and c.seed_protocol == "independent"
        assert steps == max(E.LADDER_HORIZON_MIN_STEPS, math.ceil(2 * law_steps))
    assert configs[-1].horizon_steps(param_count(configs[-1])) > 400_000  # width 564
    with pytest.raises(ValueError, match="not defined at scale .quick.; use --scale full"):
        E.ladder_horizon("quick", LAW)


def test_ladder_seeds_has_both_protocols_at_the_same_horizons():
    configs = E.ladder_seeds("full", LAW)
    by = {}
    for c in configs:
        by.setdefault(c.tags["variant"], []).append(c)
    assert sorted(by) == ["independent", "shared_data"]
    for v, cs in by.items():
        assert [c.seed_protocol for c in cs] == [v] * len(cs)
        assert all(c.schedule == "linear" and c.seeds == (0, 1, 2, 3, 4) for c in cs)
    a, b = by["independent"], by["shared_data"]
    assert [c.replace(seed_protocol="shared_data", tags=b[0].tags) for c in a] == b
    assert len({c.run_id() for c in configs}) == len(configs)
    assert [len(g) for g in plan_groups(configs)] == [2] * len(a)  # a width's two protocols


def test_estimated_minutes_match_the_stored_ladder():
    """The planning estimate against the measured program times of results/full/ladder."""
    from supercollapse.results import load_runs
    from supercollapse.train.sweep import estimated_seconds

    runs = load_runs(Path(__file__).parents[1] / "results" / "full" / "ladder")
    est = {r.config.run_id(): estimated_seconds([r.config]) for r in runs}
    wall = {r.config.run_id(): r.meta["program"]["wall_seconds"] for r in runs}
    assert sum(est.values()) / sum(wall.values()) == pytest.approx(1.0, abs=0.1)
    for r in runs:
        if r.config.width >= 360:
            assert est[r.config.run_id()] / wall[r.config.run_id()] == pytest.approx(1.0, abs=0.1)


def test_ladder_law_pipeline_on_cpu(tmp_path, monkeypatch):
    """Item 3 of issue 30 at a tiny scale, by the documented commands: constant-rate runs at
    every width, the law refitted from them, the ladder at its horizons under both seed
    protocols, and the analysis (local exponents, decay gain, transient gate, like-for-like)."""
    import json

    from supercollapse.__main__ import main
    from supercollapse.analysis.frontier import local_exponent, local_horizon_exponents
    from supercollapse.analysis.recipe import decay_gain, steepest_step
    from supercollapse.analysis.seeds import compare_ladders, sigma_ratio
    from supercollapse.results import load_runs, to_ladder

    monkeypatch.setitem(E.SCALES, "full", E.SCALES["full"].replace(
        ladder_widths=(4, 6, 8, 12, 16, 24)))
    quick = ["input_dim=2", "n_modes=500", "batch_size=64", "depth=2", "n_test=1024",
             "eval_batch_size=1024", "n_evals=40", "lr=1e-2", "base_width=16"]
    hdir, sdir, law = tmp_path / "h", tmp_path / "s", tmp_path / "law.json"
    args = ["sweep", "ladder-horizon", "--scale", "full", "--law", "results/quick/law.json",
            "--out", str(hdir), "--no-progress", "--set", *quick, "samples=192000", "seeds=[0,1]"]
    assert main(args) == 0 and main(args) == 0  # the second call finds every run done
    assert main(["fit-horizon", str(hdir), "--out", str(law)]) == 0
    fitted = json.loads(law.read_text())
    assert len(fitted["sizes"]) >= 2
    # the longer constant-rate runs of the three widths below the largest, fitted with the rest
    ldir, law2 = tmp_path / "hl", tmp_path / "law2.json"
    assert main(["sweep", "ladder-horizon-long", "--scale", "full", "--law",
                 "results/quick/law.json", "--out", str(ldir), "--no-progress", "--set", *quick,
                 "samples=384000", "seeds=[0,1]"]) == 0
    assert sorted(r.config.width for r in load_runs(ldir)) == [8, 12, 16]
    assert main(["fit-horizon", str(hdir), str(ldir), "--out", str(law2)]) == 0
    assert json.loads(law2.read_text())["source"] == f"{hdir} {ldir}"
    horizon = load_runs(hdir)
    loc = local_horizon_exponents(to_ladder(horizon), n_bootstrap=20)
    assert loc.exponent.size == len(fitted["sizes"]) - 1 and np.all(loc.n_draws > 0)
    args = ["sweep", "ladder-seeds", "--scale", "full", "--law", str(law), "--out", str(sdir),
            "--no-progress", "--set", *quick, "seeds=[0,1]"]
    assert main(args) == 0
    by = {}
    for r in sorted(load_runs(sdir), key=lambda r: r.n_params):
        by.setdefault(r.config.tags["variant"], []).append(r)
    ind, shared = by["independent"], by["shared_data"]
    covered = 0
    for a, b, h in zip(ind, shared, horizon, strict=True):
        np.testing.assert_array_equal(a.curves["test_loss"][0], b.curves["test_loss"][0])
        assert not np.allclose(a.curves["test_loss"][1, 1:], b.curves["test_loss"][1, 1:])
        T = a.curves["step"][-1]
        if T > h.curves["step"][-1]:  # a refitted law may ask for more than the runs cover
            with pytest.raises(ValueError, match="ends at"):
                decay_gain(h.curves["step"], h.curves["test_loss"], [0.0], T, 0.0)
            continue
        covered += 1
        gain = decay_gain(h.curves["step"], h.curves["test_loss"], a.curves["test_loss"][:, -1],
                          T, 0.0)
        assert 0 < gain.ratio < 1
        assert np.isfinite(local_exponent(h.curves["step"], h.curves["test_loss"], T))
        assert steepest_step(h.curves["step"], h.curves["test_loss"], 0.0) > 0  # the gate: T / it
    assert covered >= 3
    curves = {v: to_ladder(rs) for v, rs in by.items()}
    with pytest.raises(ValueError, match="unlike seed protocols"):
        compare_ladders(curves, {v: v for v in curves})
    for v in curves:
        res = compare_ladders({v: curves[v]}, v, x=np.geomspace(0.2, 1.0, 32))[v]
        assert res.n_seeds == 2 and res.protocol == v
    ratio = sigma_ratio(curves["independent"], curves["shared_data"], x=np.geomspace(0.2, 1.0, 32),
                        n_bootstrap=20)
    assert ratio.protocols == ("independent", "shared_data") and np.isfinite(ratio.pooled)
