"""The 300x exponent ladder (issue 19) and sweep sharding: configs only, no training."""

import math

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
