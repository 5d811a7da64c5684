"""Models in Flax NNX, looked up by name.

The engine trains a model through three functions: build it from a config, a width and a
key, count its parameters, and apply it to a batch. A model also declares the µP fan-in of
each parameter, ``mup_fan_in(path, shape) -> int | None`` (None: not width-scaled), from which
:mod:`supercollapse.optim.optimizers` derives the per-layer learning rates, and may declare its
role, ``width_role(path, shape) -> "embedding" | "hidden" | "readout" | None``, which lets it
train under every parameterisation (:mod:`.parameterised`, :mod:`supercollapse.parameterisations`). Each model family
lives in its own module with a ``build(cfg, width, key)`` function; to add one, write the
module and add one line to ``MODELS``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING

import jax
from flax import nnx

from . import mlp, parameterised, transformer
from .layers import count_params

if TYPE_CHECKING:
    from ..train.config import TrainConfig

MODELS: dict[str, Callable[[TrainConfig, int, jax.Array], nnx.Module]] = {
    "mlp": mlp.build,
    "transformer": transformer.build,
}


def build_model(cfg: TrainConfig, key: jax.Array, width: int | None = None) -> nnx.Module:
    """The model of ``cfg`` (optionally at another width, e.g. µP's base width), initialised
    as ``cfg.parameterisation`` prescribes (:func:`.parameterised.initialise`)."""
    width = cfg.width if width is None else width
    return parameterised.initialise(MODELS[cfg.model](cfg, width, key), cfg, width, key)


def param_count(cfg: TrainConfig, width: int | None = None) -> int:
    """Parameter count P of the config's model, from its shapes only (nothing is computed).

    P is the count of compute :math:`c = 6PT`: the model's ``compute_params()`` where it
    defines one (the transformer: non-embedding parameters), else every parameter.

    >>> from supercollapse.train.config import TrainConfig
    >>> param_count(TrainConfig(width=64, depth=2, samples=1))
    16960
    """
    return _param_count(cfg.shape_key(), cfg.width if width is None else width)


@functools.lru_cache(maxsize=256)
def _param_count(key: TrainConfig, width: int) -> int:
    model = nnx.eval_shape(lambda: build_model(key, jax.random.key(0), width))
    return model_param_count(model)


def has_instability_probe(cfg: TrainConfig) -> bool:
    """Whether the config's model defines ``instability_probe(x) -> {name: scalar}`` (the
    diagnostics ``TrainConfig.instability_traces`` logs); shapes only."""
    return _has_probe(cfg.shape_key())


@functools.lru_cache(maxsize=64)
def _has_probe(key: TrainConfig) -> bool:
    model = nnx.eval_shape(lambda: build_model(key, jax.random.key(0), key.width))
    return callable(getattr(model, "instability_probe", None))


def model_param_count(model: nnx.Module) -> int:
    """The P of compute ``6 P T``: the model's ``compute_params()`` where it defines one (the
    transformer leaves out its embeddings), else every trainable parameter."""
    return model.compute_params() if hasattr(model, "compute_params") else count_params(model)
