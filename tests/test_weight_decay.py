"""Decoupled weight decay (TrainConfig.weight_decay): which parameters decay, by how much, and
that a config without it trains exactly as before."""

import jax
import numpy as np
import pytest
from flax import nnx

from supercollapse.models import build_model
from supercollapse.optim.optimizers import make_optimizer
from supercollapse.train.config import ConfigError, TrainConfig
from supercollapse.train.engine import train


def _step(cfg: TrainConfig):
    """One optimiser step from the initial weights with zero gradients: the update is the
    decay term alone (Adam's direction of a zero gradient is 0)."""
    params = nnx.state(build_model(cfg, jax.random.key(0)), nnx.Param)
    zeros = jax.tree.map(np.zeros_like, params)
    opt, peak = make_optimizer(cfg, params, 10)
    updates, _ = jax.jit(opt.update)(zeros, opt.init(params), params)
    return params, peak, updates


@pytest.mark.parametrize("mode", ["independent", "coupled"])
def test_matrices_decay_by_lambda_or_lambda_times_their_rate(mode):
    cfg = TrainConfig(model="transformer", task="language", width=32, depth=1, head_dim=16,
                      vocab_size=16, seq_len=8, base_width=16, lr=0.1, samples=10,
                      weight_decay=0.01, weight_decay_mode=mode)
    params, peak, updates = _step(cfg)
    decayed = gains = 0
    for w, lr, u in zip(jax.tree.leaves(params), jax.tree.leaves(peak), jax.tree.leaves(updates),
                        strict=True):
        w, u = np.asarray(w), np.asarray(u)
        if w.ndim < 2:  # RMSNorm gains (QK-norm): no decay
            np.testing.assert_array_equal(u, 0.0)
            gains += 1
        else:  # g(0) = 1 for a constant schedule without warmup
            rate = 0.01 * (float(lr) if mode == "coupled" else 1.0)
            np.testing.assert_allclose(u, -rate * w, rtol=1e-6, atol=1e-12)
            decayed += 1
    assert decayed >= 4 and gains >= 1
    rates = {round(float(v), 6) for v in jax.tree.leaves(peak)}
    assert len(rates) > 1  # µP rates differ by layer, so "coupled" really scales per layer


def test_no_decay_trains_bit_for_bit_as_without_the_field():
    base = TrainConfig(width=16, depth=1, samples=64 * 20, batch_size=64, n_evals=2, n_test=256,
                       eval_batch_size=256, lr=1e-2)
    zero = base.replace(weight_decay=0.0, weight_decay_mode="coupled")
    a, b = train(base).curves["test_loss"], train(zero).curves["test_loss"]
    np.testing.assert_array_equal(a, b)
    assert base.replace(weight_decay=0.0).run_id() == base.run_id()  # stored ids unchanged


def test_decay_changes_training_and_stays_finite():
    cfg = TrainConfig(width=16, depth=1, samples=64 * 20, batch_size=64, n_evals=2, n_test=256,
                      eval_batch_size=256, lr=1e-2)
    plain, decayed = train(cfg), train(cfg.replace(weight_decay=0.05))
    assert not np.array_equal(plain.curves["test_loss"], decayed.curves["test_loss"])
    assert np.all(np.isfinite(decayed.curves["test_loss"]))


@pytest.mark.parametrize("field, value", [("weight_decay", -1e-3),
                                          ("weight_decay", float("nan")),
                                          ("weight_decay_mode", "adamw")])
def test_bad_weight_decay_is_named(field, value):
    with pytest.raises(ConfigError, match=field):
        TrainConfig(samples=10, **{field: value}).validate()
