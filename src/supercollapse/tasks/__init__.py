"""Data tasks, generated on the device: no dataset on disk.

A task hands the engine two things: a stream of fresh training batches, indexed by
``(seed, step)`` so that every run is reproducible, and a fixed held-out test set
(:class:`~supercollapse.tasks.base.Task`). Each task lives in its own module with a
``build(cfg)`` function; to add one, write the module and add one line to ``TASKS``.
"""

from __future__ import annotations

from collections import OrderedDict
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


# The config fields a task's ``build`` may read: configs that agree on them share one task.
TASK_FIELDS = ("task", "input_dim", "n_modes", "task_exponent", "target_seed", "test_seed",
               "n_test", "eval_batch_size", "vocab_size", "seq_len", "n_rules",
               "rule_branching", "zipf_exponent", "data_dir", "z_loss", "lookup")
# Tokens per example, read from the config without building the task (default: build it).
TOKENS_PER_SAMPLE: dict[str, Callable[[TrainConfig], int]] = {
    "fourier": lambda cfg: 1, "language": lambda cfg: cfg.seq_len,
    "tokens": lambda cfg: cfg.seq_len,
}


def task_key(cfg: TrainConfig) -> tuple:
    """What the task of ``cfg`` depends on (``TASK_FIELDS``)."""
    return tuple(getattr(cfg, f) for f in TASK_FIELDS)


def build_task(cfg: TrainConfig) -> Any:
    """The task named by ``cfg.task``."""
    return TASKS[cfg.task](cfg)


_BUILT: OrderedDict[tuple, Any] = OrderedDict()


def cached_task(cfg: TrainConfig) -> Any:
    """The task of ``cfg``, built once per :func:`task_key` (the last 16 are kept)."""
    key = task_key(cfg)
    if key not in _BUILT:
        _BUILT[key] = build_task(cfg)
        while len(_BUILT) > 16:
            _BUILT.popitem(last=False)
    _BUILT.move_to_end(key)
    return _BUILT[key]


def tokens_per_sample(cfg: TrainConfig) -> int:
    """Tokens in one training example of ``cfg``'s task (1 for regression)."""
    known = TOKENS_PER_SAMPLE.get(cfg.task)
    return known(cfg) if known is not None else cached_task(cfg).tokens_per_sample
