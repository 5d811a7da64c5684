r"""What every next-token task shares: the loss and the shapes the engine reads.

A sequence of :math:`T + 1` tokens :math:`s_0 \dots s_T` gives the input
:math:`x = s_{0:T}` and the target :math:`y = s_{1:T+1}`: position :math:`t` predicts
:math:`s_{t+1}` from :math:`s_{\le t}` (the model is causal). The loss of a position is the
cross-entropy in nats,

.. math:: \ell_t = \log \sum_v e^{z_{t,v}} - z_{t, y_t},

for logits :math:`z_t`; the engine averages it over positions and sequences. Training may add
the z-loss of Wortsman et al. (2023), :math:`\lambda\, (\log \sum_v e^{z_{t,v}})^2`, which keeps
the log-normaliser near zero; it is a regulariser, so the *test* loss is the cross-entropy alone.
Compute counts every predicted token: :math:`c = 6 P T` per sequence.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def cross_entropy(logits: jax.Array, y: jax.Array, *, one_hot: bool = False) -> jax.Array:
    r"""Per-token cross-entropy (nats) of integer targets ``y`` under ``logits`` (float32).

    The target logit :math:`z_{t, y_t}` is picked by indexing, or with ``one_hot`` as
    :math:`\sum_v z_{t,v}\,[v = y_t]`: the same value (every other term is zero) and the same
    gradient, but computed without a scatter (``TrainConfig.lookup``).

    >>> float(cross_entropy(jnp.zeros((1, 4)), jnp.array([2]))[0]) == float(jnp.log(4.0))
    True
    >>> z, y = jnp.array([[0.3, -1.2, 2.0]]), jnp.array([1])
    >>> bool(cross_entropy(z, y, one_hot=True) == cross_entropy(z, y))
    True
    """
    logits = logits.astype(jnp.float32)
    lse = jax.nn.logsumexp(logits, axis=-1)
    if one_hot:
        return lse - jnp.sum(logits * jax.nn.one_hot(y, logits.shape[-1], dtype=logits.dtype),
                             axis=-1)
    return lse - jnp.take_along_axis(logits, y[..., None].astype(jnp.int32), axis=-1)[..., 0]


def z_loss_term(logits: jax.Array) -> jax.Array:
    r"""Per-token :math:`(\log \sum_v e^{z_v})^2` (Wortsman et al. 2023, arXiv 2309.14322).

    >>> [round(v, 6) for v in z_loss_term(jnp.zeros((1, 2))).tolist()]  # (log 2)^2
    [0.480453]
    """
    return jax.nn.logsumexp(logits.astype(jnp.float32), axis=-1) ** 2


class NextTokenTask:
    """Shapes and losses of a task whose examples are token sequences of length ``seq_len``.

    Subclasses set ``seq_len``, ``vocab_size``, ``z_loss`` and ``lookup`` and implement
    ``train_batch`` / ``test_set`` returning int32 arrays ``(x, y)`` of shape
    ``(batch, seq_len)``.
    """

    seq_len: int
    vocab_size: int
    z_loss: float = 0.0
    lookup: str = "gather"  # "one_hot": the target logit without a scatter (cross_entropy)

    @property
    def input_shape(self) -> tuple[int, ...]:
        """The shape ``(seq_len,)`` of one example's input (token ids)."""
        return (self.seq_len,)

    @property
    def target_shape(self) -> tuple[int, ...]:
        """The shape ``(seq_len,)`` of one example's target (next-token ids)."""
        return (self.seq_len,)

    @property
    def tokens_per_sample(self) -> int:
        """The number of predicted tokens per sequence (compute is ``6 P`` per token)."""
        return self.seq_len

    def loss(self, outputs: jax.Array, y: jax.Array) -> jax.Array:
        """Per-token cross-entropy, shape ``(batch, seq_len)`` (the logged train/test loss)."""
        return cross_entropy(outputs, y, one_hot=self.lookup == "one_hot")

    def training_loss(self, outputs: jax.Array, y: jax.Array) -> jax.Array:
        """Per-token loss that is differentiated: cross-entropy plus the optional z-loss."""
        ce = cross_entropy(outputs, y, one_hot=self.lookup == "one_hot")
        if self.z_loss:
            ce = ce + self.z_loss * z_loss_term(outputs)
        return ce


def windows(stream: jax.Array, starts: jax.Array, seq_len: int) -> tuple[jax.Array, jax.Array]:
    """Inputs and targets ``(x, y)`` of the windows ``stream[s : s + seq_len + 1]``.

    >>> x, y = windows(jnp.arange(10), jnp.array([0, 5]), 3)
    >>> x.tolist(), y.tolist()
    ([[0, 1, 2], [5, 6, 7]], [[1, 2, 3], [6, 7, 8]])
    """
    idx = starts[:, None] + jnp.arange(seq_len + 1)
    seq = stream[idx].astype(jnp.int32)
    return seq[:, :-1], seq[:, 1:]
