"""The transformer's traced instability diagnostics (TrainConfig.instability_traces): the max
attention logit and the output log-partition, exact, free of side effects, and an alarm."""

import jax
import numpy as np
import pytest
from scipy.special import logsumexp

from supercollapse.tasks import cached_task
from supercollapse.train.config import ConfigError, TrainConfig
from supercollapse.train.engine import PROBE_KEYS, Trainer, train

CFG = TrainConfig(model="transformer", task="language", width=16, depth=2, head_dim=8,
                  vocab_size=16, seq_len=8, n_rules=16, rule_branching=2, base_width=16,
                  n_test=32, eval_batch_size=32, batch_size=16, samples=16 * 20, n_evals=4,
                  lr=1e-2, instability_traces=True, seeds=(0, 1))


def rms_norm(h):
    return h / np.sqrt(np.mean(h * h, axis=-1, keepdims=True) + 1e-6)


def direct_max_logit(model, x) -> float:
    """Max over layers, heads, sequences and causal pairs of q.k / d_h, from the weights."""
    h = np.asarray(model._embed(x), np.float64)
    t, best = x.shape[1], -np.inf
    for block in model.blocks:
        att = block.attn
        qkv = rms_norm(h) @ np.asarray(att.qkv.kernel[...], np.float64)
        qkv = qkv.reshape(*x.shape, 3, att.n_heads, att.head_dim)
        q, k = qkv[:, :, 0], qkv[:, :, 1]
        if att.qk_norm:
            q = rms_norm(q) * np.asarray(att.q_gain[...])
            k = rms_norm(k) * np.asarray(att.k_gain[...])
        logits = np.einsum("bqhd,bkhd->bhqk", q, k) / att.head_dim
        best = max(best, logits[..., np.tril(np.ones((t, t), bool))].max())
        h = np.asarray(block(jax.numpy.asarray(h, jax.numpy.float32)), np.float64)
    return float(best)


@pytest.mark.parametrize("qk_norm", [True, False])
def test_traced_diagnostics_equal_a_direct_computation(qk_norm):
    """After training (NTK parameterisation, so the multipliers W = rho^a w are in play), the
    traced max logit and mean log-partition equal ones computed directly from the model's
    weights and logits on the same batch (the first chunk of the test set)."""
    cfg = CFG.replace(qk_norm=qk_norm, parameterisation="ntk", width=32)
    trainer = Trainer(cfg)
    trainer.advance(trainer.total_steps)
    probe = trainer.probe()
    x = np.asarray(cached_task(cfg).test_set()[0][: cfg.n_test])
    for run in range(len(trainer.runs)):
        model = trainer.model(run)
        np.testing.assert_allclose(probe["max_attn_logit"][run], direct_max_logit(model, x),
                                   rtol=1e-4)
        log_z = logsumexp(np.asarray(model(x), np.float64), axis=-1).mean()
        np.testing.assert_allclose(probe["log_partition"][run], log_z, rtol=1e-5)


def test_turning_the_traces_on_changes_no_other_curve():
    on, off = train(CFG), train(CFG.replace(instability_traces=False))
    assert set(on.curves) == set(off.curves) | set(PROBE_KEYS)
    for k, v in off.curves.items():
        np.testing.assert_array_equal(on.curves[k], v, err_msg=k)
    assert CFG.replace(instability_traces=False).run_id() == off.config.run_id() \
        == TrainConfig(**{**CFG.to_dict(), "instability_traces": False}).run_id()
    assert np.isfinite(on.curves["max_attn_logit"]).all()
    # µP's zero readout predicts the uniform distribution: log Z = log V at step 0
    np.testing.assert_allclose(on.curves["log_partition"][:, 0], np.log(CFG.vocab_size),
                               rtol=1e-6)


def test_models_without_a_probe_are_refused():
    with pytest.raises(ConfigError, match=r"TrainConfig\.instability_traces="):
        TrainConfig(samples=10**6, instability_traces=True).validate()


def test_max_logit_grows_at_a_high_rate_without_qk_norm():
    """Wortsman et al. (2023): at a high rate (0.1, 150 steps, width 32) the attention logits
    grow without QK-norm (measured: from about 2 to 30-400) and stay of order one with it
    (measured: about 2-9); asserted with wide margins."""
    cfg = CFG.replace(width=32, vocab_size=32, seq_len=16, n_rules=32, batch_size=32,
                      base_width=32, samples=32 * 150, n_evals=3, lr=0.1)
    free = train(cfg.replace(qk_norm=False)).curves["max_attn_logit"]
    normed = train(cfg).curves["max_attn_logit"]
    assert (free[:, -1] > 5 * free[:, 0]).all(), free
    assert (free[:, -1] > 3 * normed[:, -1]).all(), (free, normed)


def test_late_alarm_runs_are_the_alarm_run_with_a_warmup():
    """alarm-late: the alarm sweep's config with each warmup, without QK-norm at each multiple
    of the rate and with it at the largest (the twin); nothing else changes."""
    from supercollapse.paths import results_dir
    from supercollapse.train import experiments as E

    law = E.Law.load(results_dir() / "lm-tuned" / "law-first.json")
    ref = E.instability_alarm("lm-tuned", law)[0]
    late = E.instability_alarm_late("lm-tuned", law)
    assert len(late) == len(E.ALARM_LATE_WARMUPS) * (1 + len(E.ALARM_LATE_MULTS))
    top = max(E.ALARM_LATE_MULTS)
    for c in late:
        m, w = c.lr / ref.lr, c.warmup_frac
        assert w in E.ALARM_LATE_WARMUPS and (m in E.ALARM_LATE_MULTS)
        assert c.qk_norm == (c.tags["variant"].startswith("qk_norm")) and (c.qk_norm <= (m == top))
        assert c.replace(lr=ref.lr, warmup_frac=0.0, qk_norm=True, tags={}) == ref.replace(tags={})


def test_logz_runs_are_the_late_runs_in_bfloat16_with_and_without_the_z_loss():
    """instability-logz: instability-late's width, length and schedule (QK-norm on), at the two
    highest rates, in bfloat16, with the z-loss off and on; nothing else differs."""
    from supercollapse.train import experiments as E

    ref = next(c for c in E.instability_late("lm-quick") if c.tags["variant"] == "qk_norm")
    runs = E.instability_logz("lm-quick")
    assert len(runs) == len(E.LOGZ_VARIANTS) * len(E.LOGZ_LADDER["lrs"])
    for c in runs:
        assert c.compute_dtype == "bfloat16" and c.qk_norm and c.instability_traces
        assert c.z_loss == (1e-4 if c.tags["variant"].endswith("zloss") else 0.0)
        assert c.replace(lr=ref.lr, compute_dtype="float32", z_loss=0.0, n_evals=ref.n_evals,
                         tags={}) == ref.replace(tags={})
    assert "instability-logz" in E.sweeps_at("lm-quick") and "instability-logz" not in E.sweeps_at("lm-full")
