"""Learning-rate schedules: values at start, decay start and end; the optimiser applies them."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from supercollapse.optim.optimizers import make_optimizer
from supercollapse.optim.schedules import SHAPES, schedule_multiplier
from supercollapse.train.config import SCHEDULES, TrainConfig
from supercollapse.train.engine import schedule_arrays

T, FRAC = 200, 0.4
DECAY_START = int(T * (1 - FRAC))  # 120
# g(s) at s = 0.5 and s = 1 (end) for each shape
MIDDLE_AND_END = {
    "constant": (1.0, 1.0),
    "linear": (0.5, 0.0),
    "cosine": (0.5, 0.0),
    "multicosine": (0.5, 0.0),
    "exponential": (10 ** -0.5, 0.1),
    "power": (0.25, 0.0),
    "quadratic": (0.75, 0.0),
}


def test_every_configurable_schedule_has_a_shape():
    assert set(SHAPES) == set(SCHEDULES) == set(MIDDLE_AND_END)


@pytest.mark.parametrize("name", SCHEDULES)
def test_values_at_start_decay_start_middle_and_end(name):
    middle, end = MIDDLE_AND_END[name]
    steps = np.array([0, DECAY_START - 1, DECAY_START, DECAY_START + int(FRAC * T / 2), T])
    m = np.asarray(schedule_multiplier(name, steps, T, decay_frac=FRAC))
    np.testing.assert_allclose(m, [1.0, 1.0, 1.0, middle, end], atol=1e-6)
    full = np.asarray(schedule_multiplier(name, np.arange(T + 1), T, decay_frac=FRAC))
    assert np.all(np.diff(full[: DECAY_START + 1]) == 0)  # flat before the decay
    if name != "multicosine":  # the others never increase
        assert np.all(np.diff(full) <= 1e-7)


@pytest.mark.parametrize("name", SCHEDULES)
def test_full_decay_and_no_decay(name):
    _, end = MIDDLE_AND_END[name]
    m = np.asarray(schedule_multiplier(name, np.array([0, T]), T, decay_frac=1.0))
    np.testing.assert_allclose(m, [1.0, end], atol=1e-6)
    flat = np.asarray(schedule_multiplier(name, np.arange(T + 1), T, decay_frac=0.0))
    np.testing.assert_allclose(flat, 1.0)


def test_warmup_is_linear_then_the_schedule():
    m = np.asarray(schedule_multiplier("linear", np.array([0, 4, 9, 10, 100]), 100,
                                       decay_frac=0.5, warmup_steps=10))
    np.testing.assert_allclose(m, [0.1, 0.5, 1.0, 1.0, 0.0], atol=1e-6)


def test_unknown_schedule_raises():
    with pytest.raises(ValueError, match="warp"):
        schedule_multiplier("warp", 0, 10)


def test_logged_lr_and_tau():
    cfg = TrainConfig(schedule="cosine", decay_frac=FRAC, lr=0.02, samples=T)
    steps = np.array([0, 1, DECAY_START, T])
    lr, tau = schedule_arrays(cfg, T, steps)
    full = 0.02 * np.asarray(schedule_multiplier("cosine", np.arange(T + 1), T, FRAC), float)
    np.testing.assert_allclose(lr, full[steps])
    np.testing.assert_allclose(tau, [0.0, 0.02, 0.02 * DECAY_START, full[:T].sum()], rtol=1e-6)


@pytest.mark.parametrize("name", ["linear", "exponential"])
def test_optimizer_applies_the_schedule(name):
    """A constant gradient makes Adam's direction exactly 1, so |update_t| = eta g(s(t))."""
    n = 20
    cfg = TrainConfig(width=8, depth=1, mup="off", lr=0.1, schedule=name, decay_frac=0.5,
                      samples=n)
    params = {"w": jnp.zeros(3)}
    opt, _ = make_optimizer(cfg, params, n)
    state = opt.init(params)
    sizes = []
    for _ in range(n + 1):
        updates, state = opt.update({"w": jnp.ones(3)}, state, params)
        sizes.append(float(-updates["w"][0]))
    want = 0.1 * np.asarray(schedule_multiplier(name, np.arange(n + 1), n, 0.5))
    np.testing.assert_allclose(sizes, want, rtol=1e-5, atol=1e-9)
    assert jax.tree.leaves(updates)[0].dtype == jnp.float32
