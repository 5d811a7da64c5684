"""The engine's groups and checkpoints: learning rates and schedules as traced inputs (one
compilation per shape), train_many against train, the traced schedule against its
definition, Adam-atan2, and exact resume from an Orbax checkpoint after a simulated kill."""

import jax
import numpy as np
import pytest

from supercollapse.optim.optimizers import make_optimizer
from supercollapse.optim.schedules import (
    SHAPES,
    schedule_multiplier,
    schedule_params,
    traced_multiplier,
)
from supercollapse.train.config import ConfigError, TrainConfig
from supercollapse.train.engine import TRACES, Trainer, plan_groups, train, train_many

TINY = dict(width=16, depth=1, n_modes=100, n_test=256, eval_batch_size=256, batch_size=32,
            samples=32 * 120, n_evals=8, schedule="linear", noise_batches=2)


def tiny(**kw) -> TrainConfig:
    return TrainConfig(**{**TINY, **kw})


@pytest.mark.parametrize("name", list(SHAPES))
def test_traced_schedule_equals_its_definition(name):
    steps = np.arange(0, 201)
    for frac, warm in [(1.0, 0), (0.2, 0), (0.5, 15)]:
        want = np.asarray(schedule_multiplier(name, steps, 200, frac, warm))
        params = schedule_params(name, 200, frac, warm)
        got = np.asarray(jax.jit(jax.vmap(traced_multiplier, (None, 0)))(params, steps))
        # float32: jit and eager may round cos differently (older XLA versions do, make test-min)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=(name, frac, warm))


def test_learning_rates_and_schedules_share_one_compilation():
    cfgs = [tiny(width=20, lr=lr, schedule=s, seeds=(0, 1))
            for lr in (1e-3, 3e-3) for s in ("linear", "cosine")]
    before = dict(TRACES)
    many = train_many(cfgs)
    assert TRACES["segment"] - before.get("segment", 0) == 1
    assert TRACES["evaluate"] - before.get("evaluate", 0) == 1
    # one more config of the same shape, trained alone: no new compilation of the step
    # (the vmapped axis has another size, so the same program compiles once for it)
    for c, r in zip(cfgs, many, strict=True):
        assert r.config == c and r.curves["test_loss"].shape == (2, len(r.curves["step"]))
        assert r.meta["program"]["runs"] == 8
    alone = train(cfgs[3])
    for k in ("train_loss", "test_loss", "trace_grad", "trace_pgrad"):
        np.testing.assert_allclose(many[3].curves[k], alone.curves[k], rtol=1e-4, atol=1e-7)
    np.testing.assert_array_equal(many[3].curves["lr"], alone.curves["lr"])
    assert not np.allclose(many[0].curves["test_loss"], many[2].curves["test_loss"])


def test_groups_by_shape_and_length():
    a = tiny()
    groups = plan_groups([a, a.replace(width=8), a.replace(lr=1e-2, mup="off"),
                          a.replace(samples=32 * 60), a.replace(n_evals=4), a.replace(seeds=(5,))])
    assert groups == [[0, 2, 5], [1], [3], [4]]
    with pytest.raises(ConfigError, match="width"):
        Trainer([a, a.replace(width=8)])
    with pytest.raises(ConfigError, match="numbers of steps"):
        Trainer([a, a.replace(samples=32 * 60)])


def test_adam_atan2_first_step_is_adams_and_it_trains():
    cfg = tiny(optimizer="adam_atan2", noise_batches=2)
    params = jax.tree.map(np.asarray, Trainer(cfg).params)
    params = jax.tree.map(lambda a: a[0], params)
    grads = jax.tree.map(lambda p: np.random.default_rng(0).normal(size=p.shape), params)
    steps = {}
    for name in ("adam", "adam_atan2"):
        opt, _ = make_optimizer(cfg.replace(optimizer=name), params, 10)
        steps[name], _ = opt.update(grads, opt.init(params), params)
    for a, b in zip(jax.tree.leaves(steps["adam"]), jax.tree.leaves(steps["adam_atan2"]),
                    strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5)
    # the quick scale's task (2-D inputs, 500 modes): both learn, to about the same loss
    quick = dict(input_dim=2, n_modes=500, depth=2, base_width=16, lr=1e-2, batch_size=64,
                 samples=64 * 600, n_test=1024, eval_batch_size=1024)
    ends = {}
    for name in ("adam", "adam_atan2"):
        r = train(cfg.replace(optimizer=name, **quick))
        assert np.isfinite(r.curves["trace_pgrad"][:, 1:]).all()
        test = r.curves["test_loss"][0]
        assert test[-1] < 0.7 * test[0], (name, test)
        ends[name] = test[-1]
    assert abs(ends["adam_atan2"] / ends["adam"] - 1) < 0.2, ends


def test_killed_run_resumes_from_its_checkpoint_bit_for_bit(tmp_path, monkeypatch):
    cfg = tiny(seeds=(0, 1), n_evals=10)
    whole = train(cfg)
    calls = {"n": 0}
    advance = Trainer.advance

    def dies_at_the_fifth_segment(self, stop):
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt("simulated kill")
        return advance(self, stop)

    monkeypatch.setattr(Trainer, "advance", dies_at_the_fifth_segment)
    with pytest.raises(KeyboardInterrupt):
        train(cfg, checkpoint_dir=tmp_path, checkpoint_every=2)
    monkeypatch.setattr(Trainer, "advance", advance)
    resumed = train(cfg, checkpoint_dir=tmp_path, checkpoint_every=2)
    assert 0 < resumed.meta["resumed_from_step"] < resumed.total_steps
    assert resumed.meta["steps_trained"] == whole.meta["steps_trained"]
    for k, v in whole.curves.items():
        np.testing.assert_array_equal(resumed.curves[k], v, err_msg=k)
    # the directory belongs to these runs: other runs are refused
    with pytest.raises(ValueError, match="other runs"):
        train(cfg.replace(lr=2e-3), checkpoint_dir=tmp_path)
