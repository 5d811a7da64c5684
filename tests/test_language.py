"""The synthetic language: sampler against its definition, exact optimal loss, entropy rate."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from supercollapse.tasks import build_task
from supercollapse.tasks.language import ZipfRulesLanguage
from supercollapse.tasks.next_token import cross_entropy, z_loss_term
from supercollapse.train.config import ConfigError, TrainConfig


@pytest.fixture(scope="module")
def small():
    return ZipfRulesLanguage(vocab_size=8, seq_len=12, n_rules=6, branching=3,
                             zipf_exponent=1.2, n_test=256)


def test_rules_are_sparse_distributions(small):
    succ, probs = np.asarray(small.successors), np.asarray(small.probs)
    assert succ.shape == probs.shape == (6, 8, 3)
    assert all(len(set(row)) == 3 for row in succ.reshape(-1, 3))  # distinct successors
    assert succ.min() >= 0 and succ.max() < 8
    np.testing.assert_allclose(probs.sum(-1), 1.0, atol=1e-6)
    p = 1.0 / np.arange(1, 7) ** 1.2
    np.testing.assert_allclose(small.rule_probs, p / p.sum(), rtol=1e-6)


def test_sampler_frequencies_match_the_definition(small):
    n = 20_000
    seqs, rules = small.sample(jax.random.key(5), n, return_rules=True)
    seqs, rules = np.asarray(seqs), np.asarray(rules)
    # hidden rules: Zipf frequencies (binomial error bars)
    p = np.asarray(small.rule_probs, np.float64)
    freq = np.bincount(rules, minlength=6) / n
    assert np.all(np.abs(freq - p) < 5 * np.sqrt(p * (1 - p) / n))
    # first token uniform
    first = np.bincount(seqs[:, 0], minlength=8) / n
    assert np.all(np.abs(first - 1 / 8) < 5 * np.sqrt(1 / 8 * 7 / 8 / n))
    # transitions of the most frequent rule: only its successors, with its probabilities
    succ, probs = np.asarray(small.successors[0]), np.asarray(small.probs[0], np.float64)
    s = seqs[rules == 0]
    a, c = s[:, :-1].ravel(), s[:, 1:].ravel()
    for tok in range(8):
        nxt = c[a == tok]
        assert set(nxt.tolist()) <= set(succ[tok].tolist())
        emp = np.array([(nxt == v).mean() for v in succ[tok]])
        err = 5 * np.sqrt(probs[tok] * (1 - probs[tok]) / len(nxt)) + 1e-3
        assert np.all(np.abs(emp - probs[tok]) < err), (tok, emp, probs[tok])


def test_batches_are_a_pure_function_of_the_key(small):
    again = ZipfRulesLanguage(vocab_size=8, seq_len=12, n_rules=6, branching=3,
                              zipf_exponent=1.2, n_test=256)
    np.testing.assert_array_equal(small.successors, again.successors)
    np.testing.assert_array_equal(small.test_set()[0], again.test_set()[0])
    x1, y1 = small.train_batch(jax.random.key(3), 16)
    x2, _ = again.train_batch(jax.random.key(3), 16)
    np.testing.assert_array_equal(x1, x2)
    assert not np.array_equal(x1, small.train_batch(jax.random.key(4), 16)[0])
    np.testing.assert_array_equal(x1[:, 1:], y1[:, :-1])
    other = ZipfRulesLanguage(vocab_size=8, seq_len=12, n_rules=6, branching=3,
                              zipf_exponent=1.2, n_test=256, language_seed=7)
    assert not np.array_equal(small.successors, other.successors)


def sequential_sample(lang, key, n):
    """The reference sampler: the definition walked one position after another (a ``lax.scan``
    over the T positions, the package's sampler before the associative scan); (seqs, rules)."""
    k_rule, k_first, k_next = jax.random.split(key, 3)
    rules = jax.random.categorical(k_rule, lang._rule_logits, shape=(n,))
    first = jax.random.randint(k_first, (n,), 0, lang.vocab_size)
    gumbel = jax.random.gumbel(k_next, (lang.seq_len, n, lang.branching))

    def step(tok, g):  # Gumbel-max draw of the successor of every sequence's token
        j = jnp.argmax(lang._log_probs[rules, tok] + g, axis=-1)
        nxt = lang.successors[rules, tok, j]
        return nxt, nxt

    _, rest = jax.lax.scan(step, first, gumbel)
    return jnp.concatenate([first[:, None], rest.T], axis=1).astype(jnp.int32), rules


# (vocab, seq_len, n_rules, branching): the edges (two tokens, one step, one successor, every
# token a successor) and the book's shapes (lm-quick's language, lm-large's vocabulary)
SHAPES = [(2, 1, 1, 1), (2, 2, 3, 2), (3, 7, 3, 3), (16, 64, 64, 1),
          (32, 32, 256, 4), (128, 7, 5, 128), (128, 64, 32, 4)]


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "V{}-T{}-K{}-b{}".format(*s))
def test_sampler_equals_the_sequential_reference(shape):
    """The associative scan draws the very tokens and rules of the walk, bit for bit: eager (the
    test set), jitted and vmapped over keys, in one chunk and in chunks of 5 (and a remainder)."""
    vocab, seq_len, n_rules, branching = shape
    n = 16
    lang = ZipfRulesLanguage(vocab_size=vocab, seq_len=seq_len, n_rules=n_rules,
                             branching=branching, n_test=n, test_seed=sum(shape))
    ref = jax.jit(lambda k: sequential_sample(lang, k, n))
    np.testing.assert_array_equal(lang.test_set()[0], ref(jax.random.key(sum(shape)))[0][:, :-1])
    keys = jax.random.split(jax.random.key(len(SHAPES)), 3)
    want = [ref(k) for k in keys]
    for budget in (lang.table_budget, 5 * seq_len * vocab):
        lang.table_budget = budget
        seqs, rules = jax.jit(jax.vmap(lambda k: lang.sample(k, n, return_rules=True)))(keys)
        for i, (want_seqs, want_rules) in enumerate(want):
            np.testing.assert_array_equal(seqs[i], want_seqs)
            np.testing.assert_array_equal(rules[i], want_rules)


def test_chunked_sampler_outside_jit_and_the_batches(monkeypatch):
    """Chunks when the test set is drawn (eager), and the batches are the sequences shifted."""
    monkeypatch.setattr(ZipfRulesLanguage, "table_budget", 3 * 9 * 4)  # chunks of 3 sequences
    lang = ZipfRulesLanguage(vocab_size=4, seq_len=9, n_rules=5, branching=2, n_test=10)
    want = sequential_sample(lang, jax.random.key(44), 10)[0]
    np.testing.assert_array_equal(lang.test_set()[0], want[:, :-1])
    np.testing.assert_array_equal(lang.test_set()[1], want[:, 1:])


def _enumerated_entropies(lang):
    """H(s_1:T | s_0)/T and the told-the-rule entropy, by enumerating every sequence."""
    V, T = lang.vocab_size, lang.seq_len
    succ, probs = np.asarray(lang.successors), np.asarray(lang.probs, np.float64)
    dense = np.zeros((lang.n_rules, V, V))
    for k, a, j in itertools.product(range(lang.n_rules), range(V), range(lang.branching)):
        dense[k, a, succ[k, a, j]] = probs[k, a, j]
    p = np.asarray(lang.rule_probs, np.float64)
    seqs = np.array(list(itertools.product(range(V), repeat=T + 1)))
    per_rule = np.prod(dense[:, seqs[:, :-1], seqs[:, 1:]], axis=2)  # P_k(s_1:T | s_0), (K, n)
    mix = p @ per_rule
    weight = mix / V  # P(s), with s_0 uniform
    keep = mix > 0
    h_mix = -np.sum(weight[keep] * np.log(mix[keep])) / T
    with np.errstate(divide="ignore"):
        logs = np.where(per_rule > 0, np.log(per_rule), 0.0)
    h_known = -np.sum(p[:, None] * per_rule / V * logs) / T
    return seqs, weight, h_mix, h_known


def test_bayes_loss_and_entropies_are_exact_on_an_enumerable_language():
    lang = ZipfRulesLanguage(vocab_size=3, seq_len=4, n_rules=3, branching=2, n_test=8)
    seqs, weight, h_mix, h_known = _enumerated_entropies(lang)
    keep = weight > 0
    s = jnp.asarray(seqs[keep], jnp.int32)
    bayes = np.asarray(lang.bayes_loss(s[:, :-1], s[:, 1:]), np.float64)
    # the expected Bayes-optimal loss is the entropy rate
    assert abs(np.sum(weight[keep] * bayes.mean(1)) - h_mix) < 1e-5
    assert abs(lang.known_rule_entropy() - h_known) < 1e-6
    assert h_known <= h_mix <= h_known + lang.rule_entropy() / lang.seq_len


def test_monte_carlo_entropy_rate_is_bracketed_and_agrees_with_the_test_set(small):
    est = small.entropy_rate(n_sequences=4096, seed=1)
    known = small.known_rule_entropy()
    assert 0 < est.stderr < 0.02
    assert known - 4 * est.stderr < est.mean < known + small.rule_entropy() / 12 + 4 * est.stderr
    assert est.per_position.shape == (12,)
    assert est.per_position[0] > est.per_position[-1]  # the rule is recognised along the way
    test = np.asarray(small.bayes_loss(*small.test_set())).mean(1)
    se = np.hypot(est.stderr, test.std() / np.sqrt(len(test)))
    assert abs(small.test_bayes_loss() - est.mean) < 5 * se


def test_losses_and_z_loss():
    lang = ZipfRulesLanguage(vocab_size=8, seq_len=4, n_rules=2, branching=2, n_test=4,
                             z_loss=1e-2)
    logits = jax.random.normal(jax.random.key(0), (2, 4, 8))
    y = jnp.array([[1, 2, 3, 4], [0, 7, 7, 1]])
    ce = np.asarray(lang.loss(logits, y))
    ref = -np.take_along_axis(np.asarray(jax.nn.log_softmax(logits)), np.asarray(y)[..., None],
                              -1)[..., 0]
    np.testing.assert_allclose(ce, ref, rtol=1e-5)
    np.testing.assert_allclose(cross_entropy(logits, y), ref, rtol=1e-5)
    np.testing.assert_allclose(lang.training_loss(logits, y),
                               ref + 1e-2 * np.asarray(jax.nn.logsumexp(logits, -1)) ** 2,
                               rtol=1e-5)
    assert float(z_loss_term(jnp.zeros((1, 8)))[0]) == pytest.approx(np.log(8) ** 2)
    assert (lang.input_shape, lang.target_shape, lang.tokens_per_sample) == ((4,), (4,), 4)


def test_registry_and_config_validation():
    cfg = TrainConfig(task="language", model="transformer", vocab_size=8, seq_len=6, n_rules=4,
                      rule_branching=2, head_dim=8, width=16, base_width=16, depth=1,
                      batch_size=4, samples=8, n_test=16, eval_batch_size=16).validate()
    task = build_task(cfg)
    assert isinstance(task, ZipfRulesLanguage) and task.test_set()[0].shape == (16, 6)
    with pytest.raises(ConfigError, match="rule_branching"):
        cfg.replace(rule_branching=9).validate()
    with pytest.raises(ConfigError, match="zipf_exponent"):
        cfg.replace(zipf_exponent=0.0).validate()
    with pytest.raises(ValueError, match="branching"):
        ZipfRulesLanguage(vocab_size=4, branching=5)


@pytest.mark.parametrize("shape", SHAPES[1:5], ids=lambda s: "V{}-T{}-K{}-b{}".format(*s))
def test_walk_and_many_batches_draw_the_same_tokens(shape):
    """method="walk" draws the scan's tokens; train_batches(keys) stacks train_batch(key) for
    every key (the engine's draw_ahead), bit for bit, jitted."""
    vocab, seq_len, n_rules, branching = shape
    lang = ZipfRulesLanguage(vocab_size=vocab, seq_len=seq_len, n_rules=n_rules,
                             branching=branching, n_test=4)
    key = jax.random.key(3)
    np.testing.assert_array_equal(lang.sample(key, 9, method="walk"), lang.sample(key, 9))
    keys = jax.random.split(key, 5)
    xs, ys = jax.jit(lang.train_batches, static_argnums=1)(keys, 6)
    assert xs.shape == ys.shape == (5, 6, seq_len)
    for i in range(5):
        x, y = lang.train_batch(keys[i], 6)
        np.testing.assert_array_equal(xs[i], x)
        np.testing.assert_array_equal(ys[i], y)
    with pytest.raises(ValueError, match="method"):
        lang.sample(key, 2, method="gibbs")
