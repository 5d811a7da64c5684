"""optimizers.gradient_scale: the root of Adam's bias-corrected second moment, per parameter."""

import jax
import numpy as np
import pytest
from flax import nnx

from supercollapse.models import build_model
from supercollapse.optim.optimizers import gradient_scale, make_optimizer
from supercollapse.train.config import TrainConfig
from supercollapse.train.engine import Trainer


def test_constant_gradient_gives_its_magnitude():
    """A gradient of constant magnitude c: v_t = (1 - b2^t) c^2, so sqrt(v_hat) = c exactly."""
    cfg = TrainConfig(width=16, depth=1, samples=10)
    params = nnx.state(build_model(cfg, jax.random.key(0)), nnx.Param)
    opt, _ = make_optimizer(cfg, params, 10)
    grads = jax.tree.map(lambda p: np.full(p.shape, -3e-4, np.float32), params)
    state = opt.init(params)
    for _ in range(3):
        _, state = opt.update(grads, state, params)
    scale = gradient_scale(state, cfg)
    assert set(scale) == {"embed/kernel", "blocks/0/fc1/kernel", "blocks/0/fc2/kernel",
                          "readout/kernel"}
    np.testing.assert_allclose(list(scale.values()), 3e-4, rtol=1e-5)


def test_engine_state_and_hidden_gradients_shrink_with_width_under_mean_field():
    scales = {}
    for width in (16, 64):
        cfg = TrainConfig(width=width, depth=1, base_width=16, parameterisation="mean_field",
                          batch_size=64, samples=64 * 100, lr=1e-2, n_test=256,
                          eval_batch_size=256)
        trainer = Trainer(cfg)
        trainer.advance(50)
        scales[width] = gradient_scale(trainer.opt_state, cfg, run=0)
    hidden = "blocks/0/fc1/kernel"
    assert scales[64][hidden] < scales[16][hidden] / 4  # falls faster than 1/width here


def test_optimizer_without_second_moment_is_named():
    cfg = TrainConfig(width=16, depth=1, samples=10)
    with pytest.raises(ValueError, match="second moment"):
        gradient_scale((object(),), cfg)
