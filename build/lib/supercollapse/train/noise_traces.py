r"""The trace of the minibatch gradient covariance, in one streaming pass.

For a minibatch gradient :math:`g` and the optimiser's diagonal preconditioner
:math:`P^{-1/2}` (its :class:`~supercollapse.optim.base.OptimizerSpec`'s ``preconditioner``), the preconditioned
gradient is :math:`u = P^{-1/2} g`. Over :math:`K` independent minibatches we estimate

.. math:: \mathrm{Tr}\,\Sigma_u = B \cdot \frac{1}{K-1}\sum_{k=1}^{K}\lVert u_k - \bar u\rVert^2,

the per-example covariance trace (the minibatch covariance times the batch size
:math:`B`), and likewise for the raw gradient :math:`g`. Mean and sum of squared
deviations are accumulated with Welford's algorithm inside a ``lax.scan``, so only two
parameter-sized buffers are kept and no per-example gradient is materialised.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp


def _welford(state, value):
    n, mean, m2 = state
    n = n + 1.0
    delta = jax.tree.map(lambda v, m: v - m, value, mean)
    mean = jax.tree.map(lambda m, d: m + d / n, mean, delta)
    m2 = m2 + sum(jnp.sum(d * (v - m)) for d, v, m in
                  zip(jax.tree.leaves(delta), jax.tree.leaves(value), jax.tree.leaves(mean),
                      strict=True))
    return n, mean, m2


def gradient_noise_traces(grad_fn: Callable, params, precond, sample: Callable,
                          key: jax.Array, n_batches: int, batch_size: int):
    """Per-example covariance traces ``(Tr Sigma_g, Tr Sigma_u)`` from ``n_batches`` batches.

    ``grad_fn(params, x, y)`` returns the minibatch gradient; ``sample(key)`` a batch.

    >>> import jax.numpy as jnp
    >>> grad_fn = lambda p, x, y: {"w": jnp.mean(x, axis=0)}
    >>> sample = lambda k: (jax.random.normal(k, (64, 3)), None)
    >>> tg, tu = gradient_noise_traces(grad_fn, None, {"w": jnp.ones(3)}, sample,
    ...                                jax.random.key(0), 200, 64)
    >>> bool(abs(float(tg) - 3.0) < 0.5)  # Tr Cov(x) = 3 for standard normal x in R^3
    True
    """
    zeros = jax.tree.map(jnp.zeros_like, precond)
    init = ((0.0, zeros, 0.0), (0.0, zeros, 0.0))

    def body(carry, k):
        acc_g, acc_u = carry
        g = grad_fn(params, *sample(jax.random.fold_in(key, k)))
        u = jax.tree.map(lambda a, b: a * b, g, precond)
        return (_welford(acc_g, g), _welford(acc_u, u)), None

    (acc_g, acc_u), _ = jax.lax.scan(body, init, jnp.arange(n_batches))
    scale = batch_size / (n_batches - 1.0)
    return acc_g[2] * scale, acc_u[2] * scale
