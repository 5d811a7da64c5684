"""Model shapes and parameter counts; µP per-layer learning rates; Adam's preconditioner."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from supercollapse.models import build_model, count_params, param_count
from supercollapse.models.mlp import ResidualMLP
from supercollapse.optim.optimizers import adam_preconditioner, lr_multipliers, make_optimizer
from supercollapse.train.config import TrainConfig


@pytest.mark.parametrize("width, depth", [(8, 1), (24, 3), (512, 5)])
def test_shapes_and_parameter_count(width, depth):
    d = 8
    model = nnx.eval_shape(lambda: ResidualMLP(d, width, depth=depth, rngs=nnx.Rngs(0)))
    assert count_params(model) == d * width + 2 * depth * width**2 + width  # P = dD + 2ND^2 + D
    assert model.embed.kernel.shape == (d, width)
    assert len(model.blocks) == depth
    for block in model.blocks:
        assert block.fc1.kernel.shape == block.fc2.kernel.shape == (width, width)
    assert model.readout.kernel.shape == (width, 1)


def test_output_is_zero_and_blocks_are_identity_at_initialisation():
    cfg = TrainConfig(width=16, depth=1, samples=1)
    model = build_model(cfg, jax.random.key(0))
    assert count_params(model) == param_count(cfg) == 8 * 16 + 2 * 16**2 + 16
    assert param_count(cfg, width=32) == 8 * 32 + 2 * 32**2 + 32
    x = jax.random.uniform(jax.random.key(1), (5, 8))
    h = jax.random.normal(jax.random.key(2), (4, 16))
    out, block_out = nnx.jit(lambda m, x, h: (m(x), m.blocks[0](h)))(model, x, h)
    assert out.shape == (5,) and out.dtype == jnp.float32
    np.testing.assert_array_equal(out, 0.0)  # zero readout
    np.testing.assert_array_equal(block_out, h)  # W2 = 0: every block is the identity


def test_hidden_init_scale():
    w1 = np.asarray(ResidualMLP(8, 256, depth=1, rngs=nnx.Rngs(0)).blocks[0].fc1.kernel[...])
    assert abs(w1.std() * np.sqrt(256) - 1.0) < 0.03  # W1 ~ N(0, 1/D)


def _multipliers(cfg: TrainConfig) -> dict[str, float]:
    model = nnx.eval_shape(lambda: build_model(cfg, jax.random.key(0)))  # shapes suffice
    m = lr_multipliers(cfg, nnx.state(model, nnx.Param))
    flat = jax.tree_util.tree_flatten_with_path(m)[0]
    return {"/".join(str(k.key) for k in path if hasattr(k, "key")): float(v)
            for path, v in flat}


@pytest.mark.parametrize("width, hidden", [(64, 2.0), (256, 0.5)])
def test_mup_learning_rates_per_layer(width, hidden):
    """Base width 128: input layer keeps eta, hidden and readout layers get eta * 128 / D."""
    m = _multipliers(TrainConfig(width=width, depth=2, base_width=128, samples=1))
    assert m == {"blocks/0/fc1/kernel": hidden, "blocks/0/fc2/kernel": hidden,
                 "blocks/1/fc1/kernel": hidden, "blocks/1/fc2/kernel": hidden,
                 "embed/kernel": 1.0, "readout/kernel": hidden}


@pytest.mark.parametrize("width", [64, 256])
def test_mup_off_and_frozen(width):
    off = _multipliers(TrainConfig(width=width, depth=1, mup="off", samples=1))
    assert set(off.values()) == {1.0}
    frozen = _multipliers(TrainConfig(width=width, depth=1, mup="frozen",
                                      mup_reference_width=32, base_width=128, samples=1))
    assert frozen["embed/kernel"] == 1.0
    assert frozen["readout/kernel"] == frozen["blocks/0/fc1/kernel"] == 4.0  # 128 / 32


def _params_and_grads(cfg: TrainConfig, n: int):
    """Initial parameters and ``n`` random gradients."""
    params = nnx.state(build_model(cfg, jax.random.key(0)), nnx.Param)
    return params, [jax.tree.map(lambda p, i=i: jax.random.normal(jax.random.key(i), p.shape),
                                 params) for i in range(n)]


@pytest.mark.parametrize("width", [16, 32])
def test_first_adam_step_moves_each_layer_by_its_learning_rate(width):
    """Adam's first direction is sign(g), so |Delta W| = eta_layer, the µP rate, exactly."""
    cfg = TrainConfig(width=width, depth=1, base_width=64, lr=0.01, samples=10)
    params, (grads,) = _params_and_grads(cfg, 1)
    opt, peak = make_optimizer(cfg, params, 10)
    updates, _ = jax.jit(opt.update)(grads, opt.init(params), params)
    for u, lr in zip(jax.tree.leaves(updates), jax.tree.leaves(peak), strict=True):
        np.testing.assert_allclose(np.abs(u), lr, rtol=1e-5)
    assert sorted({round(float(v), 6) for v in jax.tree.leaves(peak)}) == \
        sorted({0.01, round(0.01 * 64 / width, 6)})


def test_adam_preconditioner_formula():
    cfg = TrainConfig(width=16, depth=1, lr=0.01, samples=10)
    params, gs = _params_and_grads(cfg, 3)
    opt, peak = make_optimizer(cfg, params, 10)
    update = jax.jit(opt.update)
    state = opt.init(params)
    for g in gs:
        _, state = update(g, state, params)
    pre = adam_preconditioner(state, peak, cfg)
    for k, (p, lr) in enumerate(zip(jax.tree.leaves(pre), jax.tree.leaves(peak), strict=True)):
        g2 = [np.asarray(jax.tree.leaves(g)[k], np.float64) ** 2 for g in gs]
        v = sum(cfg.b2 ** (2 - t) * (1 - cfg.b2) * g2[t] for t in range(3))
        v_hat = v / (1 - cfg.b2**3)
        np.testing.assert_allclose(p, np.sqrt(lr / np.sqrt(v_hat)), rtol=1e-4)
