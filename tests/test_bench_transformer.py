"""The minimal decoder of ``benchmarks/bench_transformer.py`` (issue 34): the same architecture
and parameter count as the package's transformer, and a training loop whose loss falls.
Nothing is timed here: the throughput ratios live in the benchmark's results."""

import jax
import numpy as np
import pytest
from benchmark_modules import benchmark_module
from flax import nnx

from supercollapse.models import build_model, count_params
from supercollapse.train.experiments import _base


@pytest.fixture(scope="module")
def bench():
    with benchmark_module("bench_transformer") as module:
        yield module


def toy(**kw):
    """lm-quick's language at toy size (width 16, two heads of 8)."""
    return _base("lm-quick", width=16, depth=2, seq_len=16, batch_size=16, seeds=(0,), **kw)


@pytest.mark.parametrize("qk_norm", [False, True])
def test_parameter_count_matches_the_package(bench, qk_norm):
    """Same shapes: equal counts; the package's QK-norm gains (2 d_h per block) exist in the
    minimal decoder only when it is asked for QK-norm too."""
    cfg = toy(qk_norm=qk_norm)
    package = count_params(build_model(cfg, jax.random.key(0)))
    assert bench.minimal_param_count(cfg, qk_norm=qk_norm) == package
    assert bench.minimal_param_count(cfg) == package - 2 * cfg.depth * cfg.head_dim * qk_norm


@pytest.mark.parametrize("qk_norm", [False, True])
def test_same_function_as_the_package(bench, qk_norm):
    """With the package model's (randomised) parameters copied in, float32 and a float32
    residual stream, the minimal decoder computes the package's logits."""
    cfg = toy(qk_norm=qk_norm)
    model = build_model(cfg, jax.random.key(0))
    graphdef, params = nnx.split(model, nnx.Param)
    leaves, tree = jax.tree.flatten(params)
    keys = jax.random.split(jax.random.key(1), len(leaves))
    noisy = [1.0 + 0.3 * jax.random.normal(k, x.shape) if x.ndim == 1
             else 0.3 * jax.random.normal(k, x.shape) for k, x in zip(keys, leaves, strict=True)]
    model = nnx.merge(graphdef, jax.tree.unflatten(tree, noisy))
    x = jax.random.randint(jax.random.key(2), (3, cfg.seq_len), 0, cfg.vocab_size)
    np.testing.assert_allclose(bench.minimal_forward(minimal_params(model), x, cfg,
                                                     f32_residual=True), model(x),
                               rtol=1e-4, atol=1e-4)


def minimal_params(model) -> dict:
    """The package transformer's parameters in the minimal decoder's layout."""
    p = {"tok": model.token_embed[...], "pos": model.pos_embed[...],
         "readout": model.readout.kernel[...], "blocks": []}
    for blk in model.blocks:
        b = {"qkv": blk.attn.qkv.kernel[...], "out": blk.attn.out.kernel[...],
             "fc1": blk.fc1.kernel[...], "fc2": blk.fc2.kernel[...]}
        if blk.attn.qk_norm:
            b["q_gain"], b["k_gain"] = blk.attn.q_gain[...], blk.attn.k_gain[...]
        p["blocks"].append(b)
    return p


@pytest.mark.parametrize("mup", [False, True])
def test_plain_loop_without_optional_costs_is_the_minimal_loop(bench, mup):
    """Issue 34: with every optional cost off (``FLAGS_OFF``: QK-norm, z-loss, float32
    residual stream) and uniform random tokens, the package's plain loop trains exactly as the
    minimal loop does from the same parameters, bf16 compute, µP multipliers on both sides or
    on neither: the same losses and parameters bit for bit over two calls. Everything the
    package adds (Flax modules, the multipliers of 1 on embeddings and logits, its
    cross-entropy, µP's constant per-layer factors) compiles away; what is left between the two
    on a GPU is the data."""
    cfg = toy(compute_dtype="bfloat16", **bench.FLAGS_OFF).replace(width=32)  # µP ratio 1/2
    assert cfg.base_width / cfg.width == 0.5
    plain, state, _, graphdef = bench.plain_loop(cfg, 4, mup=mup, data="random")
    minimal, mstate = bench.minimal_loop(cfg, 4, mup=mup)
    mstate = (minimal_params(nnx.merge(graphdef, state[0])), *mstate[1:])
    for _ in range(2):
        state, losses = plain(state)
        mstate, mlosses = minimal(mstate)
        assert np.array_equal(np.asarray(losses), np.asarray(mlosses))
    model = nnx.merge(graphdef, state[0])
    assert np.all(np.isfinite(np.asarray(losses)))
    assert np.abs(np.asarray(model.readout.kernel[...])).max() > 0  # trained: zero at the start
    for a, b in zip(jax.tree.leaves(minimal_params(model)), jax.tree.leaves(mstate[0]),
                    strict=True):
        assert np.array_equal(np.asarray(a), np.asarray(b))


def test_minimal_loop_learns_the_language(bench):
    """40 steps of the minimal loop on the package's language: the loss falls from log V."""
    cfg = toy()
    run, state = bench.minimal_loop(cfg, 40, data="task")
    _, losses = run(state)
    losses = np.asarray(losses)
    assert np.all(np.isfinite(losses))
    assert losses[0] == pytest.approx(np.log(cfg.vocab_size), abs=1e-3)  # zero readout
    assert losses[-5:].mean() < losses[:5].mean() - 0.3


def test_batches_drawn_ahead_train_on_the_same_tokens(bench):
    """The plain loop with a call's batches drawn ahead follows the per-step loop: same tokens,
    same steps, losses equal to float32 round-off, over two calls (the step counter carries)."""
    cfg = toy()
    curves = {}
    for data in ("task", "ahead"):
        run, state, _, _ = bench.plain_loop(cfg, 6, data=data)
        state, first = run(state)
        _, second = run(state)
        curves[data] = np.concatenate([np.asarray(first), np.asarray(second)])
    np.testing.assert_allclose(curves["ahead"], curves["task"], rtol=1e-5)
