"""What the training engine needs from a task."""

from __future__ import annotations

from typing import Protocol

import jax


class Task(Protocol):
    """What the training engine needs from a task."""

    def train_batch(self, key: jax.Array, batch_size: int) -> tuple[jax.Array, jax.Array]:
        """A fresh minibatch ``(x, y)`` drawn with ``key``."""

    def test_set(self) -> tuple[jax.Array, jax.Array]:
        """The fixed held-out set ``(x, y)``."""

    def loss(self, pred: jax.Array, y: jax.Array) -> jax.Array:
        """Per-example loss."""
