"""Models in Flax NNX.

The engine trains a model through three functions: build it from a config and a key,
count its parameters, and apply it to a batch. New architectures (a transformer for
token streams, say) plug in through :mod:`supercollapse.registry`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx


def rms_norm(h: jax.Array, eps: float = 1e-6) -> jax.Array:
    r"""RMSNorm without a learned scale: :math:`h / \sqrt{\mathrm{mean}(h^2) + \epsilon}`."""
    return h * jax.lax.rsqrt(jnp.mean(h * h, axis=-1, keepdims=True) + eps)


def _normal(fan_in: int):
    """Initialiser N(0, 1/fan_in)."""
    return nnx.initializers.normal(stddev=fan_in ** -0.5)


class ResidualBlock(nnx.Module):
    r"""Pre-norm residual block :math:`h \leftarrow h + m\, W_2\, \mathrm{gelu}(W_1\, \mathrm{rmsnorm}(h))`.

    :math:`W_1 \sim N(0, 1/D)`; :math:`W_2` starts at zero, so every block starts as the
    identity map.
    """

    def __init__(self, width: int, multiplier: float, *, rngs: nnx.Rngs):
        self.fc1 = nnx.Linear(width, width, use_bias=False, kernel_init=_normal(width), rngs=rngs)
        self.fc2 = nnx.Linear(width, width, use_bias=False,
                              kernel_init=nnx.initializers.zeros, rngs=rngs)
        self.multiplier = multiplier

    def __call__(self, h: jax.Array) -> jax.Array:
        return h + self.multiplier * self.fc2(jax.nn.gelu(self.fc1(rms_norm(h))))


class ResidualMLP(nnx.Module):
    """The paper's residual MLP.

    ``x -> embed (d -> D) -> N residual blocks -> RMSNorm -> readout (D -> 1)``, no biases,
    readout zero-initialised. Parameter count :math:`P = dD + 2ND^2 + D`.

    >>> model = ResidualMLP(8, 64, depth=2, rngs=nnx.Rngs(0))
    >>> model(jnp.zeros((3, 8))).shape, count_params(model)
    ((3,), 16960)
    """

    def __init__(self, in_dim: int, width: int, *, depth: int = 5,
                 depth_multiplier: float | None = None, embed_multiplier: float = 1.0,
                 readout_multiplier: float = 1.0, rngs: nnx.Rngs):
        mult = 6.0 / depth if depth_multiplier is None else depth_multiplier
        self.embed = nnx.Linear(in_dim, width, use_bias=False, kernel_init=_normal(in_dim),
                                rngs=rngs)
        self.blocks = nnx.List([ResidualBlock(width, mult, rngs=rngs) for _ in range(depth)])
        self.readout = nnx.Linear(width, 1, use_bias=False,
                                  kernel_init=nnx.initializers.zeros, rngs=rngs)
        self.embed_multiplier = embed_multiplier
        self.readout_multiplier = readout_multiplier

    def __call__(self, x: jax.Array) -> jax.Array:
        h = self.embed_multiplier * self.embed(x)
        for block in self.blocks:
            h = block(h)
        return self.readout_multiplier * self.readout(rms_norm(h))[..., 0]


def count_params(model: nnx.Module) -> int:
    """Number of trainable parameters P."""
    return sum(int(p.size) for p in jax.tree.leaves(nnx.state(model, nnx.Param)))
