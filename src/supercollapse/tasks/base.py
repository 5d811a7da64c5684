"""What the training engine needs from a task."""

from __future__ import annotations

from typing import Protocol

import jax


class Task(Protocol):
    """What the training engine needs from a task.

    Shapes are per example: ``input_shape`` of one ``x`` (``(d,)`` for the Fourier task,
    ``(seq,)`` for tokens), ``target_shape`` of one ``y`` (``()`` for scalar regression,
    ``(seq,)`` for next-token targets). ``tokens_per_sample`` counts the tokens one example
    trains on (1 for the Fourier task, the sequence length for a language task): compute is
    ``6 P tokens``. :meth:`loss` returns one loss per example (shape ``(batch,)``) or per
    token (``(batch, seq)``); the engine averages all of them. Optional: ``train_batches(keys,
    batch_size)``, the batches of ``train_batch(k, batch_size)`` for every key, stacked, drawn
    in a way that suits many at once (the engine's ``draw_ahead``; without it the engine
    vmaps ``train_batch``).
    """

    input_shape: tuple[int, ...]
    target_shape: tuple[int, ...]
    tokens_per_sample: int

    def train_batch(self, key: jax.Array, batch_size: int) -> tuple[jax.Array, jax.Array]:
        """A fresh minibatch ``(x, y)`` drawn with ``key``."""

    def test_set(self) -> tuple[jax.Array, jax.Array]:
        """The fixed held-out set ``(x, y)``."""

    def loss(self, pred: jax.Array, y: jax.Array) -> jax.Array:
        """Per-example (or per-token) loss; the engine takes the mean of all entries."""
