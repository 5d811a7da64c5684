"""Data tasks, generated on the device: no dataset on disk.

A task hands the engine two things: a stream of fresh training batches, indexed by
``(seed, step)`` so that every run is reproducible, and a fixed held-out test set
(:class:`~supercollapse.tasks.base.Task`). Each task lives in its own module with a
``build(cfg)`` function; to add one, write the module and add one line to ``TASKS``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import fourier, language, tokens

if TYPE_CHECKING:
    from ..train.config import TrainConfig

TASKS: dict[str, Callable[[TrainConfig], Any]] = {
    "fourier": fourier.build,
    "language": language.build,
    "tokens": tokens.build,
}


def build_task(cfg: TrainConfig) -> Any:
    """The task named by ``cfg.task``."""
    return TASKS[cfg.task](cfg)
