"""Models in Flax NNX, looked up by name.

The engine trains a model through three functions: build it from a config, a width and a
key, count its parameters, and apply it to a batch. A model also declares the µP fan-in of
each parameter, ``mup_fan_in(path, shape) -> int | None`` (None: not width-scaled), from which
:mod:`supercollapse.optim.optimizers` derives the per-layer learning rates. Each model family
lives in its own module with a ``build(cfg, width, key)`` function; to add one, write the
module and add one line to ``MODELS``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import jax
from flax import nnx

from . import mlp
from .layers import count_params

if TYPE_CHECKING:
    from ..train.config import TrainConfig

MODELS: dict[str, Callable[[TrainConfig, int, jax.Array], nnx.Module]] = {
    "mlp": mlp.build,
}


def build_model(cfg: TrainConfig, key: jax.Array, width: int | None = None) -> nnx.Module:
    """The model of ``cfg`` (optionally at another width, e.g. µP's base width)."""
    return MODELS[cfg.model](cfg, cfg.width if width is None else width, key)


def param_count(cfg: TrainConfig, width: int | None = None) -> int:
    """Parameter count P of the config's model, from its shapes only (nothing is computed).

    >>> from supercollapse.train.config import TrainConfig
    >>> param_count(TrainConfig(width=64, depth=2, samples=1))
    16960
    """
    return count_params(nnx.eval_shape(lambda: build_model(cfg, jax.random.key(0), width)))
