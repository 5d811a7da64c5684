"""The Fourier task: the fast target is the same function as its definition."""

import jax
import jax.numpy as jnp
import numpy as np

from supercollapse.tasks.fourier import PowerLawFourierTask, merge_modes


def definition(x, k, w, phase):
    """y(x) = sqrt(2) sum_n w_n cos(2 pi k_n . x + phi_n), in float64 over all modes."""
    x, k, w, phase = (np.asarray(a, np.float64) for a in (x, k, w, phase))
    return np.sqrt(2) * np.cos(2 * np.pi * x @ k.T + phase) @ w


def test_target_matches_the_definition_over_all_modes():
    task = PowerLawFourierTask(n_test=8)
    assert task.n_terms < task.k.shape[0] / 2  # repeated wave vectors were merged
    x = task.sample_inputs(jax.random.key(3), 512)
    np.testing.assert_allclose(task.target(x), definition(x, task.k, task.w, task.phase),
                               atol=2e-5)


def test_merge_modes_keeps_the_function_with_signs_phases_and_zero():
    rng = np.random.default_rng(0)
    k = rng.integers(-2, 3, size=(300, 3)).astype(float)  # many repeats, both signs, k = 0
    w, phase = rng.normal(size=300), rng.choice([0.0, np.pi / 2], size=300)
    k2pi, r, psi = merge_modes(jnp.asarray(k), jnp.asarray(w), jnp.asarray(phase))
    assert len(r) <= (5**3 + 1) // 2  # one term per {k, -k}
    x = rng.uniform(-0.5, 0.5, size=(64, 3))
    merged = np.sqrt(2) * (np.asarray(r) * np.cos(x @ np.asarray(k2pi, np.float64).T
                                                  + np.asarray(psi))).sum(1)
    np.testing.assert_allclose(merged, definition(x, k, w, phase), atol=1e-5)


def test_streams_are_reproducible_and_the_test_set_is_fixed():
    a, b = PowerLawFourierTask(n_modes=200, n_test=64), PowerLawFourierTask(n_modes=200, n_test=64)
    np.testing.assert_array_equal(a.test_set()[1], b.test_set()[1])
    xa, ya = a.train_batch(jax.random.key(1), 32)
    xb, yb = b.train_batch(jax.random.key(1), 32)
    np.testing.assert_array_equal(ya, yb)
    assert not np.array_equal(ya, a.train_batch(jax.random.key(2), 32)[1])
    assert abs(float(jnp.mean(a.test_set()[1] ** 2)) - 1.0) < 0.5  # E y^2 = sum w^2 = 1
