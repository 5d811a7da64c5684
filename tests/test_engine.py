"""The training engine on CPU: curves, determinism, vmapped seeds, data parallelism,
divergence, the gradient-noise trace, and a quick run whose loss falls."""

import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from supercollapse.models import build_model
from supercollapse.optim.schedules import schedule_multiplier
from supercollapse.tasks import build_task
from supercollapse.train.config import TrainConfig
from supercollapse.train.engine import Trainer, train
from supercollapse.train.noise_traces import gradient_noise_traces

TINY = dict(width=16, depth=1, n_modes=100, n_test=256, eval_batch_size=256, batch_size=32,
            samples=32 * 300, n_evals=8, schedule="linear", decay_frac=0.5, noise_batches=2)
CURVES = ("train_loss", "test_loss", "trace_grad", "trace_pgrad")


def tiny(**kw) -> TrainConfig:
    return TrainConfig(**{**TINY, **kw})


@pytest.fixture(scope="module")
def runs(data_parallel):  # starts the 4-device subprocess first: it overlaps these runs
    return {"both": train(tiny(seeds=(0, 1))), "0": train(tiny(seeds=(0,))),
            "0 again": train(tiny(seeds=(0,))), "1": train(tiny(seeds=(1,)))}


def test_logged_curves(runs):
    r = runs["both"]
    cfg = r.config
    assert r.n_params == 8 * 16 + 2 * 16**2 + 16 and r.total_steps == 300
    step = r.curves["step"]
    assert step[0] == 0 and step[-1] == 300 and np.all(np.diff(step) > 0)
    n = len(step)
    assert n <= cfg.n_evals + 2
    np.testing.assert_array_equal(r.curves["samples"], step * 32)
    np.testing.assert_allclose(r.curves["compute"], 6.0 * r.n_params * step * 32)
    mult = np.asarray(schedule_multiplier("linear", step, 300, 0.5))
    np.testing.assert_allclose(r.curves["lr"], cfg.lr * mult, rtol=1e-6)
    assert r.curves["lr"][-1] == 0.0 and r.curves["tau"][-1] > 0
    for k in CURVES:
        assert r.curves[k].shape == (2, n)
    for k in ("train_loss", "trace_grad", "trace_pgrad"):
        assert np.isnan(r.curves[k][:, 0]).all()  # no training or preconditioner at step 0
        assert np.isfinite(r.curves[k][:, 1:]).all()
    assert np.isfinite(r.curves["test_loss"]).all()
    assert not r.diverged.any() and r.meta["steps_trained"] == 300
    # the readout starts at zero, so the initial test loss is E y^2 / 2 on the test set
    _, y = build_task(cfg).test_set()
    np.testing.assert_allclose(r.curves["test_loss"][:, 0], 0.5 * np.mean(np.square(y)),
                               rtol=1e-5)


def test_same_seed_same_curve_bit_for_bit(runs):
    a, b = runs["0"], runs["0 again"]
    for k in CURVES:
        np.testing.assert_array_equal(a.curves[k], b.curves[k])


def test_different_seeds_different_curves(runs):
    for k in CURVES:
        assert not np.allclose(runs["0"].curves[k][:, 1:], runs["1"].curves[k][:, 1:])
        both = runs["both"].curves[k][:, 1:]
        assert not np.allclose(both[0], both[1])


def test_vmapped_seeds_equal_seeds_run_one_by_one(runs):
    for k in CURVES:
        np.testing.assert_allclose(runs["both"].curves[k][0], runs["0"].curves[k][0],
                                   rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(runs["both"].curves[k][1], runs["1"].curves[k][0],
                                   rtol=1e-5, atol=1e-7)


def test_training_in_other_segments_gives_the_same_run(runs):
    """train() stops at every evaluation point; two other segments give the same result."""
    trainer = Trainer(tiny(seeds=(0,)))
    trainer.advance(120)
    trainer.advance(300)
    test_loss, _, _ = trainer.evaluate()
    np.testing.assert_array_equal(test_loss, runs["0"].curves["test_loss"][:, -1])
    with pytest.raises(ValueError, match="stop"):
        trainer.advance(300)  # nothing left to train
    assert trainer.model(0)(jnp.zeros((2, 8))).shape == (2,)


def test_diverged_run_is_recorded_and_stopped(monkeypatch):
    """With every seed diverged the engine stops training; the curves are NaN from there."""
    stops = []
    advance = Trainer.advance

    def spy(self, stop):
        stops.append(stop)
        return advance(self, stop)

    monkeypatch.setattr(Trainer, "advance", spy)
    r = train(tiny(mup="off", lr=1e20, seeds=(0, 1), noise_batches=0))
    assert r.diverged.tolist() == [True, True]
    assert max(stops) == r.meta["steps_trained"] < r.total_steps
    stopped_at = int(np.searchsorted(r.curves["step"], r.meta["steps_trained"]))
    for k in ("train_loss", "test_loss"):
        assert np.isnan(r.curves[k][:, stopped_at:]).all()
    assert np.isfinite(r.curves["test_loss"][:, 0]).all()
    assert "trace_grad" not in r.curves and "trace_pgrad" not in r.curves  # noise_batches=0


def test_one_diverged_seed_is_masked_and_the_others_go_on(runs, monkeypatch):
    evaluate = Trainer.evaluate

    def blow_up_seed_1(self):  # seed 1's test loss becomes infinite from step 50
        test, tr_g, tr_u = evaluate(self)
        if self.step >= 50:
            test = test.copy()
            test[1] = np.inf
        return test, tr_g, tr_u

    monkeypatch.setattr(Trainer, "evaluate", blow_up_seed_1)
    r = train(tiny(seeds=(0, 1)))
    assert r.diverged.tolist() == [False, True]
    assert r.meta["steps_trained"] == r.total_steps
    first = int(np.argmax(r.curves["step"] >= 50))
    for k in CURVES:
        assert np.isnan(r.curves[k][1, first:]).all()
        np.testing.assert_array_equal(r.curves[k][0], runs["both"].curves[k][0])
    assert np.isfinite(r.curves["test_loss"][1, :first]).all()


def test_noise_traces_are_logged(runs):
    for k in ("trace_grad", "trace_pgrad"):
        v = runs["both"].curves[k]
        assert np.isnan(v[:, 0]).all()  # Adam's preconditioner is undefined at step 0
        assert np.isfinite(v[:, 1:]).all() and (v[:, 1:] > 0).all()


def test_noise_estimator_matches_brute_force_covariance_trace():
    cfg = tiny()
    task = build_task(cfg)
    graphdef, params = nnx.split(build_model(cfg, jax.random.key(0)), nnx.Param)
    leaves, tree = jax.tree.flatten(params)
    keys = jax.random.split(jax.random.key(1), 2 * len(leaves))
    # random weights (the zero readout would zero most gradients) and preconditioner
    params = jax.tree.unflatten(tree, [0.5 * jax.random.normal(k, p.shape)
                                       for k, p in zip(keys[:len(leaves)], leaves, strict=True)])
    precond = jax.tree.unflatten(tree, [jax.random.uniform(k, p.shape, minval=0.5, maxval=2.0)
                                        for k, p in zip(keys[len(leaves):], leaves,
                                                        strict=True)])

    @jax.jit
    def grad_fn(p, x, y):
        return jax.grad(lambda q: jnp.mean(task.loss(nnx.merge(graphdef, q)(x), y)))(p)

    n_batches, batch = 6, 16
    sample = jax.jit(lambda k: task.train_batch(k, batch))
    key = jax.random.key(2)
    tr_g, tr_u = gradient_noise_traces(grad_fn, params, precond, sample, key, n_batches, batch)

    flat = lambda tree: np.concatenate([np.ravel(a) for a in jax.tree.leaves(tree)])
    pre = flat(precond).astype(np.float64)
    g = np.stack([flat(grad_fn(params, *sample(jax.random.fold_in(key, k))))
                  for k in range(n_batches)]).astype(np.float64)
    brute_g = batch * np.trace(np.atleast_2d(np.cov(g, rowvar=False)))
    brute_u = batch * np.var(g * pre, axis=0, ddof=1).sum()
    assert brute_u > 0
    np.testing.assert_allclose(float(tr_g), brute_g, rtol=1e-4)
    np.testing.assert_allclose(float(tr_u), brute_u, rtol=1e-4)


DATA_PARALLEL = textwrap.dedent("""
    import jax, numpy as np, pytest
    from supercollapse.train.config import ConfigError, TrainConfig
    from supercollapse.train.engine import Trainer, train, train_many
    assert jax.device_count() == 4, jax.devices()
    cfg = TrainConfig(**{**TINY, "seeds": (0, 1), "samples": 32 * 100, "noise_batches": 2})
    one = train(cfg, devices=jax.devices()[:1])
    # default layout: the 2 runs over 2 device groups, each run's batch over 2 devices
    four = train(cfg)
    assert one.meta["n_devices"] == 1 and four.meta["n_devices"] == 4
    assert four.meta["program"]["mesh"] == {"runs": 2, "data": 2}, four.meta["program"]
    # one run per device (4 runs: 2 learning rates x 2 seeds), no data parallelism
    lrs = train_many([cfg, cfg.replace(lr=3e-3)])
    lrs_one = train_many([cfg, cfg.replace(lr=3e-3)], devices=jax.devices()[:1])
    assert lrs[0].meta["program"]["mesh"] == {"runs": 4, "data": 1}
    # every run's batch over all 4 devices
    data4 = train(cfg, data_parallel=4)
    assert data4.meta["program"]["mesh"] == {"runs": 1, "data": 4}
    for k in ("train_loss", "test_loss", "trace_grad", "trace_pgrad"):
        for a, b in [(four, one), (data4, one), (lrs[0], lrs_one[0]), (lrs[1], lrs_one[1])]:
            np.testing.assert_allclose(a.curves[k], b.curves[k], rtol=1e-4, atol=1e-6,
                                       err_msg=k)
    with pytest.raises(ConfigError, match="batch_size"):
        Trainer(cfg.replace(batch_size=31))
    with pytest.raises(ConfigError, match="data_parallel"):
        Trainer(cfg, data_parallel=3)
    print("OK")
""")


@pytest.fixture(scope="module")
def data_parallel(tmp_path_factory):
    """The 4-device comparison, in a subprocess: XLA_FLAGS must be set before JAX starts."""
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=4",
           "JAX_PLATFORMS": "cpu"}
    log = tmp_path_factory.mktemp("data_parallel") / "log.txt"
    with open(log, "w") as f:
        proc = subprocess.Popen([sys.executable, "-c", DATA_PARALLEL.replace("TINY", repr(TINY))],
                                env=env, stdout=f, stderr=subprocess.STDOUT, text=True)
    yield proc, log
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def test_runs_and_data_over_four_cpu_devices_match_one_device(data_parallel):
    proc, log = data_parallel
    proc.wait(timeout=300)
    out = log.read_text()
    assert proc.returncode == 0 and out.rstrip().endswith("OK"), out[-3000:]


def test_quick_cpu_run_loss_falls():
    """Width 64, 4000 steps: the test loss ends well below its initial value E y^2 / 2."""
    cfg = TrainConfig(width=64, depth=2, base_width=64, n_modes=100, n_test=1024,
                      eval_batch_size=1024, batch_size=128, samples=128 * 4000, lr=3e-3,
                      schedule="linear", n_evals=6)
    r = train(cfg)
    test, tr = r.curves["test_loss"][0], r.curves["train_loss"][0]
    assert not r.diverged.any()
    assert test[-1] < 0.6 * test[0], test
    assert tr[-1] < 0.7 * tr[1], tr
