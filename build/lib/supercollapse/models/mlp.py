"""The paper's residual MLP, in Flax NNX."""

from __future__ import annotations

from typing import TYPE_CHECKING

import jax
import jax.numpy as jnp  # noqa: F401  (used by the doctests)
from flax import nnx

from .layers import count_params, normal_init, rms_norm  # noqa: F401  (count_params: re-exported)

if TYPE_CHECKING:
    from ..train.config import TrainConfig


class ResidualBlock(nnx.Module):
    r"""Pre-norm residual block :math:`h \leftarrow h + m\, W_2\, \mathrm{gelu}(W_1\, \mathrm{rmsnorm}(h))`.

    :math:`W_1 \sim N(0, 1/D)`; :math:`W_2` starts at zero, so every block starts as the
    identity map.
    """

    def __init__(self, width: int, multiplier: float, *, rngs: nnx.Rngs):
        self.fc1 = nnx.Linear(width, width, use_bias=False, kernel_init=normal_init(width), rngs=rngs)
        self.fc2 = nnx.Linear(width, width, use_bias=False,
                              kernel_init=nnx.initializers.zeros, rngs=rngs)
        self.multiplier = multiplier

    def __call__(self, h: jax.Array) -> jax.Array:
        return h + self.multiplier * self.fc2(jax.nn.gelu(self.fc1(rms_norm(h))))


class ResidualMLP(nnx.Module):
    """The paper's residual MLP.

    ``x -> embed (d -> D) -> N residual blocks -> RMSNorm -> readout (D -> 1)``, no biases,
    readout zero-initialised. Parameter count :math:`P = dD + 2ND^2 + D`.

    >>> import jax.numpy as jnp
    >>> from supercollapse.models import count_params
    >>> model = ResidualMLP(8, 64, depth=2, rngs=nnx.Rngs(0))
    >>> model(jnp.zeros((3, 8))).shape, count_params(model)
    ((3,), 16960)
    """

    def __init__(self, in_dim: int, width: int, *, depth: int = 5,
                 depth_multiplier: float | None = None, embed_multiplier: float = 1.0,
                 readout_multiplier: float = 1.0, rngs: nnx.Rngs):
        mult = 6.0 / depth if depth_multiplier is None else depth_multiplier
        self.embed = nnx.Linear(in_dim, width, use_bias=False, kernel_init=normal_init(in_dim),
                                rngs=rngs)
        self.blocks = nnx.List([ResidualBlock(width, mult, rngs=rngs) for _ in range(depth)])
        self.readout = nnx.Linear(width, 1, use_bias=False,
                                  kernel_init=nnx.initializers.zeros, rngs=rngs)
        self.embed_multiplier = embed_multiplier
        self.readout_multiplier = readout_multiplier

    def mup_fan_in(self, path: tuple[str, ...], shape: tuple[int, ...]) -> int | None:
        """µP fan-in of the parameter at ``path``: every parameter here is a kernel shaped
        ``(fan_in, fan_out)`` (``nnx.Linear``); vectors would not be width-scaled (None).

        >>> m = nnx.eval_shape(lambda: ResidualMLP(8, 64, depth=1, rngs=nnx.Rngs(0)))
        >>> m.mup_fan_in(("embed", "kernel"), (8, 64)), m.mup_fan_in(("readout", "kernel"), (64, 1))
        (8, 64)
        """
        del path
        return shape[0] if len(shape) >= 2 else None

    def width_role(self, path: tuple[str, ...], shape: tuple[int, ...]) -> str | None:
        """Role of the parameter at ``path`` under a parameterisation
        (:mod:`supercollapse.parameterisations`): ``embed`` the embedding, the blocks' matrices
        hidden, ``readout`` the readout.

        >>> m = nnx.eval_shape(lambda: ResidualMLP(8, 64, depth=1, rngs=nnx.Rngs(0)))
        >>> [m.width_role(p, ()) for p in [("embed", "kernel"), ("blocks", "0", "fc2", "kernel"),
        ...                                 ("readout", "kernel")]]
        ['embedding', 'hidden', 'readout']
        """
        del shape
        return {"embed": "embedding", "readout": "readout"}.get(path[0], "hidden")

    def __call__(self, x: jax.Array) -> jax.Array:
        h = self.embed_multiplier * self.embed(x)
        for block in self.blocks:
            h = block(h)
        return self.readout_multiplier * self.readout(rms_norm(h))[..., 0]


def build(cfg: TrainConfig, width: int, key: jax.Array) -> ResidualMLP:
    """The MLP of a config at ``width`` (the registry's builder)."""
    return ResidualMLP(cfg.input_dim, width, depth=cfg.depth,
                       depth_multiplier=cfg.depth_multiplier,
                       embed_multiplier=cfg.embed_multiplier,
                       readout_multiplier=cfg.readout_multiplier, rngs=nnx.Rngs(params=key))
