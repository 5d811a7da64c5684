"""Adam's epsilon at width, and Adam-atan2's scale invariance (Everett et al. 2024)."""

import jax
import numpy as np
import pytest
from flax import nnx

from supercollapse.models import build_model
from supercollapse.models.parameterised import path_names
from supercollapse.optim.optimizers import make_optimizer
from supercollapse.tasks import cached_task
from supercollapse.train.config import TrainConfig

CFG = TrainConfig(width=16, depth=1, n_modes=100, n_test=64, eval_batch_size=64, batch_size=64,
                  samples=64 * 10, lr=1e-2, parameterisation="standard")
SMALL = "readout/kernel"  # the layer whose gradients are made small
STEPS = 4


def gradients(cfg: TrainConfig, n: int):
    """Parameters and ``n`` minibatch gradients of the real loss (SP: every layer but the first
    hidden matrix has a gradient at initialisation), the ``SMALL`` layer's times 1e-9."""
    model = build_model(cfg, jax.random.key(0))
    graphdef, params = nnx.split(model, nnx.Param)
    task = cached_task(cfg)

    def loss(p, x, y):
        return task.loss(nnx.merge(graphdef, p)(x), y).mean()

    grads = []
    for k in range(n):
        g = jax.grad(loss)(params, *task.train_batch(jax.random.key(k), cfg.batch_size))
        grads.append(jax.tree_util.tree_map_with_path(
            lambda p, v: v * 1e-9 if "/".join(path_names(p)) == SMALL else v, g))
    return params, grads


def updates(cfg: TrainConfig, grads, scale: float = 1.0) -> dict[str, np.ndarray]:
    """The sum of the optimiser's updates over ``grads`` (each times ``scale``), per layer."""
    params = jax.tree.map(np.zeros_like, grads[0])
    opt, _ = make_optimizer(cfg, params, cfg.samples // cfg.batch_size)
    state, total = opt.init(params), jax.tree.map(np.zeros_like, params)
    step = jax.jit(opt.update)
    for g in grads:
        u, state = step(jax.tree.map(lambda v: v * scale, g), state, params)
        total = jax.tree.map(lambda a, b: a + b, total, u)
    return {"/".join(path_names(p)): np.asarray(v)
            for p, v in jax.tree_util.tree_flatten_with_path(total)[0]}


@pytest.fixture(scope="module")
def grads():
    return gradients(CFG, STEPS)[1]


def rms(a) -> float:
    return float(np.sqrt(np.mean(np.square(a, dtype=np.float64))))


def test_epsilon_shrinks_the_update_of_a_layer_with_small_gradients(grads):
    """Readout gradients of order 1e-9 (as a wide layer's are, where the parameterisation's
    multiplier scales them down): eps = 1e-8 swallows them and the layer hardly moves, while
    eps = 1e-20 moves it as far as any other layer; layers with O(1e-3) gradients barely notice."""
    tiny, usual = updates(CFG, grads), updates(CFG.replace(eps=1e-8), grads)
    assert rms(usual[SMALL]) < 0.2 * rms(tiny[SMALL])
    assert rms(tiny[SMALL]) > 0.3 * STEPS * CFG.lr * CFG.base_width / CFG.width  # it moved
    for key in tiny:
        if key != SMALL and rms(tiny[key]) > 0:
            assert abs(rms(usual[key]) / rms(tiny[key]) - 1) < 0.05, key


def test_adam_atan2_is_scale_invariant_and_adam_with_epsilon_is_not(grads):
    """Adam-atan2 (no epsilon) gives the same updates for gradients scaled by 1e-6; Adam with
    eps = 1e-8 does not: scaled by 1e-9, the gradients fall below epsilon and the update shrinks."""
    atan2 = CFG.replace(optimizer="adam_atan2")
    a, b = updates(atan2, grads), updates(atan2, grads, scale=1e-6)
    for key in a:
        np.testing.assert_allclose(b[key], a[key], rtol=1e-4, atol=1e-9, err_msg=key)
    assert rms(a[SMALL]) > 0
    adam = CFG.replace(eps=1e-8)
    c, d = updates(adam, grads), updates(adam, grads, scale=1e-9)
    assert rms(d["blocks/0/fc2/kernel"]) < 0.5 * rms(c["blocks/0/fc2/kernel"])
