"""Where tasks and models are looked up by name.

The engine never names a concrete task or model: it asks this registry. To add a new
task or architecture, write a builder ``f(cfg) -> object`` and add it here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import jax
from flax import nnx

from .models import ResidualMLP, count_params
from .tasks import PowerLawFourierTask

if TYPE_CHECKING:
    from .config import TrainConfig


def _fourier(cfg: TrainConfig) -> PowerLawFourierTask:
    return PowerLawFourierTask(input_dim=cfg.input_dim, n_modes=cfg.n_modes,
                               exponent=cfg.task_exponent, target_seed=cfg.target_seed,
                               test_seed=cfg.test_seed, n_test=cfg.n_test,
                               chunk=cfg.eval_batch_size)


def _mlp(cfg: TrainConfig, width: int, key: jax.Array) -> ResidualMLP:
    return ResidualMLP(cfg.input_dim, width, depth=cfg.depth,
                       depth_multiplier=cfg.depth_multiplier,
                       embed_multiplier=cfg.embed_multiplier,
                       readout_multiplier=cfg.readout_multiplier, rngs=nnx.Rngs(params=key))


TASKS: dict[str, Callable[[TrainConfig], Any]] = {"fourier": _fourier}
MODELS: dict[str, Callable[[TrainConfig, int, jax.Array], nnx.Module]] = {"mlp": _mlp}


def build_task(cfg: TrainConfig) -> Any:
    return TASKS[cfg.task](cfg)


def build_model(cfg: TrainConfig, key: jax.Array, width: int | None = None) -> nnx.Module:
    """The model of ``cfg`` (optionally at another width, e.g. µP's base width)."""
    return MODELS[cfg.model](cfg, cfg.width if width is None else width, key)


def param_count(cfg: TrainConfig, width: int | None = None) -> int:
    """Parameter count P of the config's model, from its shapes only (nothing is computed).

    >>> from supercollapse.config import TrainConfig
    >>> param_count(TrainConfig(width=64, depth=2, samples=1))
    16960
    """
    return count_params(nnx.eval_shape(lambda: build_model(cfg, jax.random.key(0), width)))
