"""The engine on next-token prediction: a quick-scale transformer sweep, per-token compute, and
4 (fake) CPU devices against one."""

import dataclasses
import math
import os
import subprocess
import sys
import textwrap

import numpy as np

from supercollapse.results import load_runs
from supercollapse.train import experiments, sweep


def small_ladder():
    """The lm-quick horizon sweep cut to two widths and 60 steps (seconds on a CPU)."""
    cfgs = experiments.horizon_fit("lm-quick")[1:3]
    return [c.replace(samples=60 * c.batch_size, seeds=(0, 1), n_evals=6, n_test=128,
                      eval_batch_size=128) for c in cfgs]


def test_quick_transformer_sweep_learns_and_counts_tokens(tmp_path):
    cfgs = small_ladder()
    report = sweep.run_sweep(cfgs, tmp_path, progress=False)
    assert report.complete and len(report.done) == len(cfgs)
    for r in load_runs(tmp_path):
        c = r.config
        tokens = r.curves["samples"] * c.seq_len
        np.testing.assert_allclose(r.curves["compute"], 6.0 * r.n_params * tokens)
        loss = r.curves["test_loss"]
        assert np.allclose(loss[:, 0], math.log(c.vocab_size), rtol=1e-4)  # zero readout
        assert (loss[:, -1] < loss[:, 0] - 0.3).all(), loss[:, -1]  # it learns


FOUR_DEVICES = textwrap.dedent("""
    import jax, numpy as np
    from supercollapse.train import experiments
    from supercollapse.train.engine import train
    assert jax.device_count() == 4
    cfg = experiments.horizon_fit("lm-quick")[1].replace(samples=32 * 20, seeds=(0, 1), n_evals=3,
                                                          n_test=64, eval_batch_size=64)
    one, four = train(cfg, devices=jax.devices()[:1]), train(cfg)
    ahead = train(cfg, draw_ahead=8)  # blocks of batches sharded over the data axis too
    assert four.meta["program"]["mesh"] == {"runs": 2, "data": 2}, four.meta["program"]
    for k in ("train_loss", "test_loss"):
        np.testing.assert_allclose(four.curves[k], one.curves[k], rtol=1e-4, err_msg=k)
        np.testing.assert_allclose(ahead.curves[k], one.curves[k], rtol=1e-4, err_msg=k)
    print("OK")
""")


def test_transformer_over_four_cpu_devices_matches_one_device():
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=4",
           "JAX_PLATFORMS": "cpu"}
    out = subprocess.run([sys.executable, "-c", FOUR_DEVICES], env=env, capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0 and out.stdout.rstrip().endswith("OK"), out.stderr[-3000:]


def test_live_schedules_are_the_stored_noise_configs_and_feed_the_noise_model(tmp_path):
    """Chapter 8's live runs: on an accelerator exactly the lm-full noise runs of one width; on a
    CPU a short version trains and gives ScheduleRun.from_runs what the noise model needs."""
    from supercollapse.analysis import noise_model as nm
    from supercollapse.train.engine import train_many

    law = experiments.Law(kappa=6326.5, exponent=1.844)
    live = experiments.live_schedules("lm-accelerator", law)
    stored = {c.run_id() for c in experiments.noise_runs("lm-full", law)}
    assert {c.run_id() for c in live} <= stored
    assert {c.tags["variant"] for c in live} == {"constant", "linear", "cosine", "wsd"}
    three = experiments.live_schedules("lm-quick", law, ("constant", "linear", "wsd"))
    assert [c.tags["variant"] for c in three] == ["constant", "linear", "wsd"]
    assert {c.width for c in three} == {experiments.SCALES["lm-quick"].live_width}
    for bad in (lambda: experiments.live_schedules("quick", law),
                lambda: experiments.live_schedules("lm-quick", law, ("linear", "step"))):
        try:
            bad()
        except ValueError:
            continue
        raise AssertionError("a bad scale or schedule must raise ValueError")

    short = [c.replace(samples=40 * c.batch_size, horizon_kappa=None, n_evals=8, n_test=64, eval_batch_size=64, seeds=(0, 1))
             for c in experiments.live_schedules("lm-quick", law, ("constant", "linear"))]
    const, lin = train_many(short)
    run = nm.ScheduleRun.from_runs(lin, const, x_min=0.1)
    assert run.name == "linear"
    m = np.asarray(run.lr_multiplier)
    assert m[0] <= 1 and np.all(np.diff(m) < 0) and m[-1] >= 0  # linear decay, x >= 0.1 only
    assert np.asarray(run.trace_sigma).shape == np.asarray(run.loss).shape == (2, m.size)
    assert np.all(np.asarray(run.trace_sigma) > 0)
    np.testing.assert_array_equal(run.tau_const, const.curves["tau"][1:])
    try:
        nm.ScheduleRun.from_runs(lin, dataclasses.replace(const, config=const.config.replace(lr=1.0)))
    except ValueError as e:
        assert "learning rates differ" in str(e)
    else:
        raise AssertionError("different peak learning rates must raise ValueError")


def test_batches_drawn_ahead_give_the_same_runs():
    """draw_ahead trains on the same batches: the curves equal the per-step loop's, also where a
    segment is shorter than a block (the first evaluation points) or not a multiple of it."""
    from supercollapse.train.engine import train

    cfg = small_ladder()[0].replace(samples=37 * 16, batch_size=16, n_evals=5)
    base = train(cfg)
    for n in (4, 16, 64):
        ahead = train(cfg, draw_ahead=n)
        assert ahead.meta["program"]["draw_ahead"] == n and "draw_ahead" not in base.meta["program"]
        for k in ("train_loss", "test_loss"):
            np.testing.assert_allclose(ahead.curves[k], base.curves[k], rtol=1e-6, err_msg=k)
    try:
        train(cfg, draw_ahead=0)
    except ValueError as e:
        assert "draw_ahead" in str(e)
    else:
        raise AssertionError("draw_ahead=0 must be refused")


def test_one_hot_lookup_trains_the_same_runs():
    """lookup="one_hot" (no scatter in the gradient, for deterministic GPU reductions) trains the
    same runs: the gradients differ only in their summation order, so the curves agree to
    float32 rounding grown over the steps, far inside a seed's spread."""
    from supercollapse.train.engine import train

    cfg = small_ladder()[0].replace(samples=37 * 16, batch_size=16, n_evals=5, seeds=(0, 1))
    base, one_hot = train(cfg), train(cfg.replace(lookup="one_hot"))
    assert one_hot.config.lookup == "one_hot" and one_hot.config.run_id() != base.config.run_id()
    for k in ("train_loss", "test_loss"):
        np.testing.assert_allclose(one_hot.curves[k], base.curves[k], rtol=1e-4, err_msg=k)
    spread = np.abs(np.diff(base.curves["test_loss"], axis=0)).max()  # two seeds apart
    assert np.abs(one_hot.curves["test_loss"] - base.curves["test_loss"]).max() < 0.01 * spread
