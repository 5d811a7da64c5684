r"""A decoder-only transformer in Flax NNX, in µP (the paper's next-token models).

Architecture (pre-norm, no biases, RMSNorm without a learned scale):

.. math::
    h_0 &= E_\text{tok}[x_t] + E_\text{pos}[t] \\
    h &\leftarrow h + m\, \mathrm{Attn}(\mathrm{rmsnorm}(h)), \qquad
    h \leftarrow h + m\, W_2\, \mathrm{gelu}(W_1\, \mathrm{rmsnorm}(h)) \qquad (N \text{ blocks}) \\
    z &= m_\text{out}\, W_\text{out}\, \mathrm{rmsnorm}(h)

with branch multiplier :math:`m = 3/N` by default (two branches per block: the paper's
:math:`6/N` over all residual branches, as in its MLP). Heads have a fixed dimension
:math:`d_h` (``head_dim``); width :math:`D = H d_h` grows through the number of heads.

µP, as in the paper:

* attention logits :math:`q\cdot k / d_h` (not :math:`/\sqrt{d_h}`): the µP scaling;
* optional QK-norm (Wortsman et al. 2023): RMSNorm of each head's query and key, with a
  learned gain per head dimension (initialised at 1) so that logits can still grow;
* embeddings :math:`N(0, 1)`; hidden matrices :math:`N(0, 1/\text{fan-in})`; the attention
  output projection, the second MLP matrix and the readout are zero-initialised, so the
  model starts as the function that predicts the uniform distribution;
* per-parameter learning rates :math:`\eta\, n_\text{base}/n` for a matrix of fan-in
  :math:`n` (:meth:`Transformer.mup_fan_in` declares :math:`n`; embeddings and gains are not
  width-scaled and keep :math:`\eta`).

Causal attention goes through :func:`jax.nn.dot_product_attention`: cuDNN's fused (flash)
kernel on a GPU when the inputs are bf16 (asked for explicitly: left to choose, JAX takes XLA's
unfused attention, 2-3x slower on an H100), XLA's implementation everywhere else. ``compute_dtype="bfloat16"`` runs the matrix products and attention in bf16 while the
parameters (and so Adam's state), the residual stream, the norms and the logits stay float32;
``residual_dtype="compute"`` keeps the residual stream in the compute dtype too (about 6 % faster
on an H100 at ``lm-large``, ``benchmarks/README.md`` section 9; float32 is the default because
a bf16 stream rounds every branch's small update into a large sum). ``lookup="one_hot"`` picks
token embeddings as a product with one-hot vectors instead of by indexing: the same values
(a float32 product at full precision), but a gradient that is a matrix product rather than a
scatter-add, which deterministic GPU reductions serialise (``TrainConfig.lookup``).

**Parameter count.** :math:`P` in :math:`c = 6PT` counts the *non-embedding* parameters
(token and position embeddings excluded; readout included), as Kaplan et al. (2020) and the
scaling-law literature do: an embedding lookup costs no FLOPs. With MLP ratio :math:`r`
and QK-norm, :math:`P = N(4 + 2r) D^2 + 2 N d_h + D V`
(:meth:`Transformer.compute_params`); :func:`~supercollapse.models.layers.count_params`
counts every parameter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import jax
import jax.numpy as jnp
from flax import nnx

from .layers import count_params, normal_init, rms_norm

if TYPE_CHECKING:
    from ..train.config import TrainConfig

DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16}
EMBEDDINGS = ("token_embed", "pos_embed")  # parameter names outside P and outside µP scaling


def _norm(h: jax.Array) -> jax.Array:
    """RMSNorm in float32 (whatever the compute dtype)."""
    return rms_norm(h.astype(jnp.float32))


class Attention(nnx.Module):
    """Causal multi-head self-attention with µP logits :math:`q\\cdot k/d_h`."""

    def __init__(self, width: int, head_dim: int, *, qk_norm: bool, dtype, rngs: nnx.Rngs):
        self.n_heads, self.head_dim, self.dtype = width // head_dim, head_dim, dtype
        self.qkv = nnx.Linear(width, 3 * width, use_bias=False, kernel_init=normal_init(width),
                              dtype=dtype, rngs=rngs)
        self.out = nnx.Linear(width, width, use_bias=False, kernel_init=nnx.initializers.zeros,
                              dtype=dtype, rngs=rngs)
        self.qk_norm = qk_norm
        if qk_norm:
            self.q_gain = nnx.Param(jnp.ones((head_dim,)))
            self.k_gain = nnx.Param(jnp.ones((head_dim,)))

    def queries_keys_values(self, h: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
        """Per-head ``q, k, v``, each ``(batch, T, heads, head_dim)`` (after QK-norm)."""
        b, t, _ = h.shape
        qkv = self.qkv(h).reshape(b, t, 3, self.n_heads, self.head_dim)
        q, k, v = qkv[:, :, 0], qkv[:, :, 1], qkv[:, :, 2]
        if self.qk_norm:
            q = _norm(q) * self.q_gain[...]
            k = _norm(k) * self.k_gain[...]
        return q, k, v

    def max_logit(self, h: jax.Array) -> jax.Array:
        r"""The largest attention logit :math:`q\cdot k/d_h` before the softmax, over the batch,
        heads and causal (query, key) pairs :math:`k \le q`, in float32 from the ``q, k``
        the attention sees (cast to the compute dtype)."""
        q, k, _ = self.queries_keys_values(h)
        q, k = (a.astype(self.dtype).astype(jnp.float32) for a in (q, k))
        logits = jnp.einsum("bqhd,bkhd->bhqk", q, k) / self.head_dim
        t = h.shape[1]
        return jnp.max(jnp.where(jnp.tril(jnp.ones((t, t), bool)), logits, -jnp.inf))

    def __call__(self, h: jax.Array) -> jax.Array:
        b, t, d = h.shape
        q, k, v = self.queries_keys_values(h)
        fused = jax.default_backend() == "gpu" and self.dtype in (jnp.bfloat16, jnp.float16)
        o = jax.nn.dot_product_attention(q.astype(self.dtype), k.astype(self.dtype),
                                         v.astype(self.dtype), scale=1.0 / self.head_dim,
                                         is_causal=True,
                                         implementation="cudnn" if fused else None)
        return self.out(o.reshape(b, t, d))


class Block(nnx.Module):
    """Pre-norm block: attention branch then MLP branch, each times ``multiplier``."""

    def __init__(self, width: int, head_dim: int, mlp_ratio: int, multiplier: float, *,
                 qk_norm: bool, dtype, residual=jnp.float32, rngs: nnx.Rngs):
        self.attn = Attention(width, head_dim, qk_norm=qk_norm, dtype=dtype, rngs=rngs)
        self.fc1 = nnx.Linear(width, mlp_ratio * width, use_bias=False,
                              kernel_init=normal_init(width), dtype=dtype, rngs=rngs)
        self.fc2 = nnx.Linear(mlp_ratio * width, width, use_bias=False,
                              kernel_init=nnx.initializers.zeros, dtype=dtype, rngs=rngs)
        self.multiplier, self.residual = multiplier, residual

    def __call__(self, h: jax.Array) -> jax.Array:
        h = h + self.multiplier * self.attn(_norm(h)).astype(self.residual)
        mlp = self.fc2(jax.nn.gelu(self.fc1(_norm(h))))
        return h + self.multiplier * mlp.astype(self.residual)


class Transformer(nnx.Module):
    """Decoder-only transformer: token ids ``(batch, T)`` to float32 logits ``(batch, T, V)``.

    >>> model = Transformer(16, 8, 32, depth=2, head_dim=8, rngs=nnx.Rngs(0))
    >>> logits = model(jnp.zeros((3, 8), jnp.int32))
    >>> logits.shape, float(jnp.abs(logits).max())  # zero readout: uniform prediction
    ((3, 8, 16), 0.0)
    >>> model.compute_params() == 2 * (4 + 2 * 4) * 32**2 + 2 * 2 * 8 + 32 * 16
    True
    """

    def __init__(self, vocab_size: int, seq_len: int, width: int, *, depth: int = 3,
                 head_dim: int = 64, mlp_ratio: int = 4, qk_norm: bool = True,
                 branch_multiplier: float | None = None, embed_multiplier: float = 1.0,
                 readout_multiplier: float = 1.0, compute_dtype: str = "float32",
                 residual_dtype: str = "float32", lookup: str = "gather", rngs: nnx.Rngs):
        if width % head_dim:
            raise ValueError(f"Transformer: width={width} must be a multiple of "
                             f"head_dim={head_dim} (heads have a fixed dimension)")
        if compute_dtype not in DTYPES:
            raise ValueError(f"Transformer: compute_dtype={compute_dtype!r}; choose one of "
                             f"{sorted(DTYPES)}")
        if residual_dtype not in ("float32", "compute"):
            raise ValueError(f"Transformer: residual_dtype={residual_dtype!r}; 'float32' or "
                             "'compute'")
        if lookup not in ("gather", "one_hot"):
            raise ValueError(f"Transformer: lookup={lookup!r}; 'gather' or 'one_hot'")
        dtype = DTYPES[compute_dtype]
        self.residual = dtype if residual_dtype == "compute" else jnp.float32
        mult = 3.0 / depth if branch_multiplier is None else branch_multiplier
        embed_init = nnx.initializers.normal(stddev=1.0)
        self.token_embed = nnx.Param(embed_init(rngs.params(), (vocab_size, width)))
        self.pos_embed = nnx.Param(embed_init(rngs.params(), (seq_len, width)))
        self.blocks = nnx.List([Block(width, head_dim, mlp_ratio, mult, qk_norm=qk_norm,
                                      dtype=dtype, residual=self.residual, rngs=rngs)
                                for _ in range(depth)])
        self.readout = nnx.Linear(width, vocab_size, use_bias=False,
                                  kernel_init=nnx.initializers.zeros, dtype=dtype, rngs=rngs)
        self.embed_multiplier, self.readout_multiplier = embed_multiplier, readout_multiplier
        self.seq_len, self.lookup = seq_len, lookup

    def _embed(self, tokens: jax.Array) -> jax.Array:
        t = tokens.shape[-1]
        if t > self.seq_len:
            raise ValueError(f"Transformer: sequence of {t} tokens exceeds seq_len={self.seq_len}")
        table = self.token_embed[...]
        if self.lookup == "one_hot":  # rows by a full-precision product: no scatter in the gradient
            rows = jnp.matmul(jax.nn.one_hot(tokens, table.shape[0], dtype=table.dtype), table,
                              precision=jax.lax.Precision.HIGHEST)
        else:
            rows = table[tokens]
        h = self.embed_multiplier * (rows + self.pos_embed[...][:t])
        return h.astype(self.residual)

    def _logits(self, h: jax.Array) -> jax.Array:
        return self.readout_multiplier * self.readout(_norm(h)).astype(jnp.float32)

    def __call__(self, tokens: jax.Array) -> jax.Array:
        h = self._embed(tokens)
        for block in self.blocks:
            h = block(h)
        return self._logits(h)

    def instability_probe(self, tokens: jax.Array) -> dict[str, jax.Array]:
        r"""The two instability diagnostics of Wortsman et al. (2023, arXiv 2309.14322) on a
        batch of token ids (the engine's ``instability_traces``):

        * ``max_attn_logit``: the largest attention logit :math:`q\cdot k/d_h` before the
          softmax, over layers, heads, sequences and causal position pairs
          (:meth:`Attention.max_logit`); it grows without bound when attention collapses
          (QK-norm caps it);
        * ``log_partition``: the mean over tokens of the output log-partition
          :math:`\log Z = \log\sum_v e^{z_v}` (what the z-loss keeps near 0).

        >>> model = Transformer(16, 8, 32, depth=2, head_dim=8, rngs=nnx.Rngs(0))
        >>> d = model.instability_probe(jnp.zeros((3, 8), jnp.int32))
        >>> round(float(d["log_partition"]), 4) == round(float(jnp.log(16.0)), 4)  # zero readout
        True
        """
        h = self._embed(tokens)
        maxes = []
        for block in self.blocks:
            maxes.append(block.attn.max_logit(_norm(h)))
            h = block(h)
        log_z = jax.nn.logsumexp(self._logits(h), axis=-1)
        return {"max_attn_logit": jnp.max(jnp.stack(maxes)), "log_partition": jnp.mean(log_z)}

    def mup_fan_in(self, path: tuple, shape: tuple[int, ...]) -> int | None:
        """µP fan-in of the parameter at ``path``: the input dimension of a weight matrix
        (``kernel`` of shape ``(fan_in, fan_out)``); ``None`` for embeddings and QK gains,
        which are not width-scaled."""
        names = {str(p) for p in path}
        if names & set(EMBEDDINGS) or len(shape) != 2:
            return None
        return int(shape[0])

    def width_role(self, path: tuple, shape: tuple[int, ...]) -> str | None:
        """Role of the parameter at ``path`` under a parameterisation
        (:mod:`supercollapse.parameterisations`): the token and position embeddings are the
        embedding, ``readout`` the readout, every other matrix hidden; the QK-norm gains are not
        width-scaled (``None``). The attention logits keep :math:`q\\cdot k/d_h` under every
        parameterisation: heads have a fixed dimension, so width does not enter them."""
        names = {str(p) for p in path}
        if names & set(EMBEDDINGS):
            return "embedding"
        if len(shape) != 2:
            return None
        return "readout" if "readout" in names else "hidden"

    def compute_params(self) -> int:
        """Non-embedding parameter count: the :math:`P` of :math:`c = 6PT`."""
        embed = sum(int(getattr(self, name).size) for name in EMBEDDINGS)
        return count_params(self) - embed


def build(cfg: TrainConfig, width: int, key: jax.Array) -> Transformer:
    """The transformer of a config at ``width`` (the registry's builder)."""
    return Transformer(cfg.vocab_size, cfg.seq_len, width, depth=cfg.depth,
                       head_dim=cfg.head_dim, mlp_ratio=cfg.mlp_ratio, qk_norm=cfg.qk_norm,
                       branch_multiplier=cfg.depth_multiplier,
                       embed_multiplier=cfg.embed_multiplier,
                       readout_multiplier=cfg.readout_multiplier,
                       compute_dtype=cfg.compute_dtype, residual_dtype=cfg.residual_dtype,
                       lookup=cfg.lookup, rngs=nnx.Rngs(params=key))
