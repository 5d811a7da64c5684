"""Building blocks shared by the models."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx


def rms_norm(h: jax.Array, eps: float = 1e-6) -> jax.Array:
    r"""RMSNorm without a learned scale: :math:`h / \sqrt{\mathrm{mean}(h^2) + \epsilon}`."""
    return h * jax.lax.rsqrt(jnp.mean(h * h, axis=-1, keepdims=True) + eps)


def normal_init(fan_in: int):
    """Initialiser N(0, 1/fan_in)."""
    return nnx.initializers.normal(stddev=fan_in ** -0.5)


def count_params(model: nnx.Module) -> int:
    """Number of trainable parameters P."""
    return sum(int(p.size) for p in jax.tree.leaves(nnx.state(model, nnx.Param)))
