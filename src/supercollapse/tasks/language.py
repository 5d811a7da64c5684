r"""A synthetic language generated on the device: a Zipfian mixture of hidden sparse Markov rules.

**Definition.** The language has a vocabulary of :math:`V` tokens and :math:`K` *rules*. Rule
:math:`k` is a sparse Markov chain: every token :math:`a` has :math:`b` distinct successors
:math:`S_k(a) \subset \{0..V-1\}` with transition probabilities
:math:`P_k(a \to c)` drawn from a symmetric Dirichlet distribution (concentration 1). A
sequence of :math:`T + 1` tokens is drawn by

1. picking a hidden rule :math:`k` with Zipf probability :math:`p_k \propto k^{-z}` (``zipf_exponent``),
   :math:`k = 1..K`;
2. a first token :math:`s_0` uniform over the vocabulary;
3. :math:`s_{t+1} \sim P_k(s_t \to \cdot)` for :math:`t = 0..T-1`.

The rules (successor sets and probabilities) are a pure function of ``language_seed``; each
batch is a pure function of its key (the engine derives it from ``(train_seed, seed, step)``,
or from ``(train_seed, step)`` alone under ``seed_protocol="shared_data"``),
so nothing is stored or downloaded.

Why this language (the "quanta" picture of scaling, Michaud et al. 2023: Zipf-distributed
pieces of knowledge give a power law in size and data), with CPU measurements:
``book/synthetic_language.md``.

**Entropy rate (the irreducible loss** :math:`L_0` **).** The Bayes-optimal predictor knows the
rules and infers the hidden rule from the prefix: with the posterior
:math:`\pi_t(k) \propto p_k \prod_{u<t} P_k(s_u \to s_{u+1})`, its loss on position :math:`t` is

.. math:: \ell^*_t = -\log \sum_k \pi_t(k)\, P_k(s_t \to s_{t+1}),

computed exactly for any given sequence by :meth:`ZipfRulesLanguage.bayes_loss` (a forward
recursion over the :math:`K` rules). Its average over the fixed test set is the *exact*
irreducible test loss of that test set; its expectation, the entropy rate
:math:`L_0 = \tfrac1T H(s_{1:T} \mid s_0)`, is estimated by Monte Carlo over fresh sequences
with a standard error (:meth:`ZipfRulesLanguage.entropy_rate`). It is bracketed exactly by

.. math:: H_\text{known} \;\le\; L_0 \;\le\; H_\text{known} + \frac{H(p)}{T},

where :math:`H_\text{known}` is the loss of a predictor that is told the rule
(:meth:`ZipfRulesLanguage.known_rule_entropy`, computed exactly by propagating each rule's
token distribution) and :math:`H(p)` the entropy of the Zipf law over rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

import jax
import jax.numpy as jnp
import numpy as np

from .next_token import NextTokenTask

if TYPE_CHECKING:
    from ..train.config import TrainConfig


@dataclass(frozen=True)
class EntropyEstimate:
    """Monte Carlo estimate of the entropy rate (nats per token), with standard errors.

    ``mean`` averages the Bayes-optimal loss over ``n_sequences`` fresh sequences and all
    positions; ``stderr`` is the standard error over sequences; ``per_position`` (length T)
    is the optimal loss at each position, which falls as the hidden rule is recognised.
    """

    mean: float
    stderr: float
    per_position: np.ndarray
    per_position_stderr: np.ndarray
    n_sequences: int


@partial(jax.jit, static_argnums=(2, 3, 4))
def _rules(k_succ: jax.Array, k_prob: jax.Array, n_rules: int, vocab: int, branching: int):
    """Successors ``(K, V, b)``: the top-b of uniform noise over the vocabulary, so b distinct
    tokens; probabilities ``(K, V, b)``: normalised Exp(1) draws, i.e. Dirichlet(1, ..., 1)."""
    succ = jax.lax.top_k(jax.random.uniform(k_succ, (n_rules, vocab, vocab)), branching)[1]
    e = jax.random.exponential(k_prob, (n_rules, vocab, branching))
    return succ.astype(jnp.int32), e / jnp.sum(e, axis=-1, keepdims=True)


class ZipfRulesLanguage(NextTokenTask):
    r"""Zipfian mixture of :math:`K` hidden sparse Markov rules (see the module docstring).

    >>> lang = ZipfRulesLanguage(vocab_size=16, seq_len=8, n_rules=32, branching=2, n_test=64)
    >>> x, y = lang.train_batch(jax.random.key(0), 4)
    >>> x.shape, y.shape, x.dtype.name
    ((4, 8), (4, 8), 'int32')
    >>> bool(jnp.all(x[:, 1:] == y[:, :-1]))  # the target is the input shifted by one
    True
    """

    def __init__(self, *, vocab_size: int = 64, seq_len: int = 64, n_rules: int = 1024,
                 branching: int = 4, zipf_exponent: float = 1.5, language_seed: int = 42,
                 test_seed: int = 44, n_test: int = 2048, z_loss: float = 0.0,
                 chunk: int = 1024, lookup: str = "gather"):
        for name, v, lo in (("vocab_size", vocab_size, 2), ("seq_len", seq_len, 1),
                            ("n_rules", n_rules, 1), ("branching", branching, 1),
                            ("n_test", n_test, 1), ("chunk", chunk, 1)):
            if not (isinstance(v, int) and v >= lo):
                raise ValueError(f"ZipfRulesLanguage: {name}={v!r} must be an integer >= {lo}")
        if branching > vocab_size:
            raise ValueError(f"ZipfRulesLanguage: branching={branching} exceeds "
                             f"vocab_size={vocab_size} (successors are distinct tokens)")
        if not zipf_exponent > 0:
            raise ValueError(f"ZipfRulesLanguage: zipf_exponent={zipf_exponent!r} must be > 0")
        self.vocab_size, self.seq_len, self.n_rules = vocab_size, seq_len, n_rules
        self.branching, self.zipf_exponent, self.z_loss = branching, zipf_exponent, z_loss
        self.chunk, self.lookup = chunk, lookup

        k_succ, k_prob = jax.random.split(jax.random.key(language_seed))

        self.successors, self.probs = _rules(k_succ, k_prob, n_rules, vocab_size, branching)
        self._log_probs = jnp.log(self.probs)
        ranks = np.arange(1, n_rules + 1, dtype=np.float64)
        p = ranks ** -zipf_exponent
        self.rule_probs = jnp.asarray(p / p.sum(), jnp.float32)  # (K,)
        self._rule_logits = jnp.log(self.rule_probs)
        self._test = self.train_batch(jax.random.key(test_seed), n_test)
        self._test_bayes = None

    # --- sampling ------------------------------------------------------------------------
    table_budget: int = 2**23  # entries of the (T, n, V) transition tables built at once

    def sample(self, key: jax.Array, n: int, *, return_rules: bool = False,
               method: str = "scan") -> jax.Array | tuple[jax.Array, jax.Array]:
        r"""``n`` sequences of ``seq_len + 1`` tokens, int32 ``(n, T+1)`` (and their rules).

        Each step is a Gumbel-max draw: under rule :math:`k`, token :math:`a` moves at step
        :math:`t` to :math:`f_t(a) = S_k(a)_{j^*}`, :math:`j^* = \arg\max_j
        (\log P_k(a \to S_k(a)_j) + g_{t,j})`. The noise :math:`g_t` does not depend on the
        token, so :math:`f_t` is a fixed map of the vocabulary (a table of :math:`V` tokens) and

        .. math:: s_{t+1} = (f_t \circ f_{t-1} \circ \dots \circ f_0)(s_0).

        ``method="scan"`` (the default): an associative scan composes the maps in
        :math:`\log_2 T` sequential steps instead of walking the :math:`T` positions one by one
        (a shorter chain of device operations, :math:`V` times the work), in chunks of at most
        ``table_budget`` table entries so that memory stays bounded for large ``n``.
        ``method="walk"``: the :math:`T` positions one after another, every sequence at once.
        Both draw the same tokens, bit for bit; which is faster depends on the device and on
        ``n`` (on an H100 the scan is 3-8x faster for one batch, the walk for many batches at
        once: ``benchmarks/README.md``, section 9).
        """
        k_rule, k_first, k_next = jax.random.split(key, 3)
        rules = jax.random.categorical(k_rule, self._rule_logits, shape=(n,))
        first = jax.random.randint(k_first, (n,), 0, self.vocab_size)
        gumbel = jax.random.gumbel(k_next, (self.seq_len, n, self.branching))
        if method == "walk":
            rest = self._walk(rules, first, gumbel)
        elif method == "scan":
            per_chunk = max(1, self.table_budget // (self.seq_len * self.vocab_size))
            rest = jax.lax.map(self._compose, (rules, first, jnp.swapaxes(gumbel, 0, 1)),
                               batch_size=max(1, min(n, per_chunk)))
        else:
            raise ValueError(f"ZipfRulesLanguage.sample: method={method!r} is 'scan' or 'walk'")
        seqs = jnp.concatenate([first[:, None], rest], axis=1).astype(jnp.int32)
        return (seqs, rules) if return_rules else seqs

    def _walk(self, rules: jax.Array, first: jax.Array, gumbel: jax.Array) -> jax.Array:
        """Tokens :math:`s_1..s_T` ``(n, T)``, one position after another (a ``lax.scan``)."""
        def step(tok, g):  # the Gumbel-max draw of every sequence's next token
            nxt = self.successors[rules, tok, jnp.argmax(self._log_probs[rules, tok] + g, -1)]
            return nxt, nxt

        return jax.lax.scan(step, first, gumbel)[1].T

    def _compose(self, rule_first_noise: tuple[jax.Array, jax.Array, jax.Array]) -> jax.Array:
        """Tokens :math:`s_1..s_T` of one sequence from its rule, first token, noise ``(T, b)``,
        by the associative scan of its maps."""
        rule, first, g = rule_first_noise
        j = jnp.argmax(self._log_probs[rule] + g[:, None, :], axis=-1)  # (T, V): branch taken
        f = self.successors[rule, jnp.arange(self.vocab_size), j]  # (T, V): the maps f_t
        # prefix compositions F_t = f_t o ... o f_0, with (later o earlier)[a] = later[earlier[a]]
        compose = lambda earlier, later: jnp.take_along_axis(later, earlier, axis=-1)
        return jax.lax.associative_scan(compose, f)[:, first]

    def train_batch(self, key: jax.Array, batch_size: int) -> tuple[jax.Array, jax.Array]:
        seqs = self.sample(key, batch_size)
        return seqs[:, :-1], seqs[:, 1:]

    def train_batches(self, keys: jax.Array, batch_size: int) -> tuple[jax.Array, jax.Array]:
        """The batches of several steps at once, ``(x, y)`` of shape ``(len(keys), batch, T)``:
        ``train_batch(keys[i], batch_size)`` for every ``i``, the same tokens, drawn by the walk
        (many sequences per position: on a GPU the walk's ``T`` rounds cost about the same for
        64 steps' batches as for one, where the scan's work grows with them)."""
        seqs = jax.vmap(lambda k: self.sample(k, batch_size, method="walk"))(keys)
        return seqs[..., :-1], seqs[..., 1:]

    def test_set(self) -> tuple[jax.Array, jax.Array]:
        return self._test

    # --- exact optimal loss ----------------------------------------------------------------
    def transition_prob(self, a: jax.Array, c: jax.Array) -> jax.Array:
        """:math:`P_k(a \\to c)` under every rule: shape ``(n, K)`` for token arrays ``(n,)``."""
        succ = jnp.swapaxes(self.successors[:, a], 0, 1)  # (n, K, b)
        prob = jnp.swapaxes(self.probs[:, a], 0, 1)
        return jnp.sum(jnp.where(succ == c[:, None, None], prob, 0.0), axis=-1)

    def _bayes_chunk(self, x: jax.Array, y: jax.Array) -> jax.Array:
        def step(post, xy):
            joint = post * self.transition_prob(*xy)
            z = jnp.sum(joint, axis=-1)
            return joint / z[:, None], -jnp.log(z)

        post0 = jnp.broadcast_to(self.rule_probs, (x.shape[0], self.n_rules))
        _, losses = jax.lax.scan(step, post0, (x.T, y.T))
        return losses.T

    def bayes_loss(self, x: jax.Array, y: jax.Array) -> jax.Array:
        """Loss of the Bayes-optimal predictor at every position, ``(n, T)`` nats.

        Exact for the given sequences (a forward recursion over the hidden rule, in chunks of
        ``chunk`` sequences).
        """
        fn = jax.jit(self._bayes_chunk)
        out = [fn(x[i:i + self.chunk], y[i:i + self.chunk]) for i in range(0, len(x), self.chunk)]
        return jnp.concatenate(out)

    def test_bayes_loss(self) -> float:
        """Mean Bayes-optimal loss on the fixed test set: the exact floor of the test loss."""
        if self._test_bayes is None:
            self._test_bayes = float(jnp.mean(self.bayes_loss(*self._test)))
        return self._test_bayes

    def entropy_rate(self, n_sequences: int = 16_384, seed: int = 0) -> EntropyEstimate:
        """Monte Carlo estimate of :math:`L_0` over fresh sequences drawn with ``seed``."""
        x, y = self.train_batch(jax.random.fold_in(jax.random.key(seed), 7_919), n_sequences)
        losses = np.asarray(self.bayes_loss(x, y), np.float64)
        per_seq = losses.mean(axis=1)
        se = lambda a: a.std(axis=0, ddof=1) / np.sqrt(len(a))
        return EntropyEstimate(float(per_seq.mean()), float(se(per_seq)), losses.mean(axis=0),
                               se(losses), n_sequences)

    def known_rule_entropy(self) -> float:
        r"""Exact loss (nats/token) of a predictor told the rule: a lower bound on :math:`L_0`.

        :math:`\sum_k p_k \frac1T \sum_{t<T} \sum_a q_{k,t}(a) H(P_k(a \to \cdot))`, with
        :math:`q_{k,0}` uniform and :math:`q_{k,t+1}(c) = \sum_a q_{k,t}(a) P_k(a \to c)`.
        """
        probs = np.asarray(self.probs, np.float64)
        succ = np.asarray(self.successors)
        h = -np.sum(probs * np.log(probs), axis=-1)  # (K, V) entropy of each transition
        q = np.full((self.n_rules, self.vocab_size), 1.0 / self.vocab_size)
        rows = np.repeat(np.arange(self.n_rules), self.vocab_size * self.branching)
        total = np.zeros(self.n_rules)
        for _ in range(self.seq_len):
            total += np.sum(q * h, axis=1)
            nxt = np.zeros_like(q)
            np.add.at(nxt, (rows, succ.ravel()), (q[:, :, None] * probs).ravel())
            q = nxt
        return float(np.dot(np.asarray(self.rule_probs, np.float64), total) / self.seq_len)

    def rule_entropy(self) -> float:
        """Entropy :math:`H(p)` (nats) of the Zipf law over rules."""
        p = np.asarray(self.rule_probs, np.float64)
        return float(-np.sum(p * np.log(p)))


def build(cfg: TrainConfig) -> ZipfRulesLanguage:
    """The language of a config (the registry's builder)."""
    return ZipfRulesLanguage(vocab_size=cfg.vocab_size, seq_len=cfg.seq_len, n_rules=cfg.n_rules,
                             branching=cfg.rule_branching, zipf_exponent=cfg.zipf_exponent,
                             language_seed=cfg.target_seed, test_seed=cfg.test_seed,
                             n_test=cfg.n_test, z_loss=cfg.z_loss, chunk=cfg.eval_batch_size,
                             lookup=cfg.lookup)
