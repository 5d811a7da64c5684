"""The engine on next-token prediction: a quick-scale transformer sweep, per-token compute, and
4 (fake) CPU devices against one."""

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
    assert four.meta["program"]["mesh"] == {"runs": 2, "data": 2}, four.meta["program"]
    for k in ("train_loss", "test_loss"):
        np.testing.assert_allclose(four.curves[k], one.curves[k], rtol=1e-4, err_msg=k)
    print("OK")
""")


def test_transformer_over_four_cpu_devices_matches_one_device():
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=4",
           "JAX_PLATFORMS": "cpu"}
    out = subprocess.run([sys.executable, "-c", FOUR_DEVICES], env=env, capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0 and out.stdout.rstrip().endswith("OK"), out.stderr[-3000:]
