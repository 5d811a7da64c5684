"""Data tasks, generated on the device: no dataset on disk.

A task hands the engine two things: a stream of fresh training batches, indexed by
``(seed, step)`` so that every run is reproducible, and a fixed held-out test set.
The engine only relies on the small interface of :class:`Task`; new tasks (token
streams for transformers, say) plug in by implementing it and registering a builder in
:mod:`supercollapse.registry`.
"""

from __future__ import annotations

from typing import Protocol

import jax
import jax.numpy as jnp
import numpy as np


class Task(Protocol):
    """What the training engine needs from a task."""

    def train_batch(self, key: jax.Array, batch_size: int) -> tuple[jax.Array, jax.Array]:
        """A fresh minibatch ``(x, y)`` drawn with ``key``."""

    def test_set(self) -> tuple[jax.Array, jax.Array]:
        """The fixed held-out set ``(x, y)``."""

    def loss(self, pred: jax.Array, y: jax.Array) -> jax.Array:
        """Per-example loss."""


class PowerLawFourierTask:
    r"""Regression onto a fixed random function with a power-law Fourier spectrum.

    The target (the paper's MLP task) is

    .. math:: y(x) = \sum_{n=1}^{M} w_n \sqrt{2}\,\cos(2\pi\, k_n\cdot x + \phi_n),
              \qquad x \sim U[-\tfrac12, \tfrac12]^d,

    with integer wave vectors :math:`k_n = \mathrm{round}(m_n d_n)`, :math:`d_n` a random
    unit vector, magnitude :math:`m_n = (1-u_n)^{-1/a}` with :math:`u_n \sim U[0,1)` (so
    :math:`P(m > s) = s^{-a}`; the paper uses :math:`a = 2`), weights
    :math:`w \sim N(0, I)` normalised to unit norm (so :math:`E\,y^2 = 1`) and phases
    :math:`\phi_n \in \{0, \pi/2\}` with probability 1/2 each. The loss is
    :math:`\tfrac12 (f(x) - y(x))^2`.

    Keys: ``target_seed`` fixes the function; training inputs come from
    ``fold_in(train_seed, run_seed)`` then ``fold_in(step)`` (our choice: each seed also
    sees its own data order, so seed-to-seed spread includes SGD sampling noise); the test
    inputs come from ``test_seed`` and are the same for every run.

    >>> task = PowerLawFourierTask(n_modes=100, n_test=64)
    >>> x, y = task.train_batch(jax.random.key(0), 32)
    >>> x.shape, y.shape
    ((32, 8), (32,))
    """

    def __init__(self, *, input_dim: int = 8, n_modes: int = 10_000, exponent: float = 2.0,
                 target_seed: int = 42, test_seed: int = 44, n_test: int = 16_384,
                 chunk: int = 8192):
        kk, kd, ku, kw, kp = jax.random.split(jax.random.key(target_seed), 5)
        d = jax.random.normal(kd, (n_modes, input_dim))
        d = d / jnp.linalg.norm(d, axis=1, keepdims=True)
        m = (1.0 - jax.random.uniform(ku, (n_modes,))) ** (-1.0 / exponent)
        self.k = jnp.round(m[:, None] * d)  # integer-valued wave vectors, stored as float
        w = jax.random.normal(kw, (n_modes,))
        self.w = w / jnp.linalg.norm(w)
        self.phase = jnp.where(jax.random.bernoulli(kp, 0.5, (n_modes,)), jnp.pi / 2, 0.0)
        self.input_dim = input_dim
        self.chunk = chunk
        x_test = self.sample_inputs(jax.random.key(test_seed), n_test)
        self._test = (x_test, self._target_chunked(x_test))

    def sample_inputs(self, key: jax.Array, n: int) -> jax.Array:
        return jax.random.uniform(key, (n, self.input_dim), minval=-0.5, maxval=0.5)

    def target(self, x: jax.Array) -> jax.Array:
        """y(x) for a batch of inputs of shape (n, d)."""
        arg = 2 * jnp.pi * (x @ self.k.T) + self.phase
        return jnp.sqrt(2.0) * jnp.cos(arg) @ self.w

    def _target_chunked(self, x: jax.Array) -> jax.Array:
        n = x.shape[0]
        out = [self.target(x[i:i + self.chunk]) for i in range(0, n, self.chunk)]
        return jnp.concatenate(out)

    def train_batch(self, key: jax.Array, batch_size: int) -> tuple[jax.Array, jax.Array]:
        x = self.sample_inputs(key, batch_size)
        return x, self.target(x)

    def test_set(self) -> tuple[jax.Array, jax.Array]:
        return self._test

    @staticmethod
    def loss(pred: jax.Array, y: jax.Array) -> jax.Array:
        return 0.5 * (pred - y) ** 2

    def spectrum(self) -> tuple[np.ndarray, np.ndarray]:
        """Wave-vector magnitudes ``|k_n|`` and powers ``w_n^2``, for plotting the spectrum."""
        return np.linalg.norm(np.asarray(self.k), axis=1), np.asarray(self.w) ** 2
