"""The µP transformer: shapes, parameter count convention, causal masking, attention scale,
fan-ins of every parameter, bf16 against float32."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from supercollapse.models import build_model, count_params, param_count
from supercollapse.models.transformer import Transformer
from supercollapse.tasks.language import ZipfRulesLanguage
from supercollapse.train.config import ConfigError, TrainConfig

V, T = 16, 10


def randomised(model: nnx.Module, seed: int = 0) -> nnx.Module:
    """The model with every parameter replaced by N(0, 0.3^2) noise (zero inits undone)."""
    graphdef, params = nnx.split(model, nnx.Param)
    leaves, tree = jax.tree.flatten(params)
    keys = jax.random.split(jax.random.key(seed), len(leaves))
    noisy = [0.3 * jax.random.normal(k, leaf.shape) for k, leaf in zip(keys, leaves, strict=True)]
    return nnx.merge(graphdef, jax.tree.unflatten(tree, noisy))


def names(path) -> tuple[str, ...]:
    """A pytree path as strings, the form the optimiser passes to ``mup_fan_in``."""
    out = (str(getattr(k, "key", getattr(k, "idx", getattr(k, "name", k)))) for k in path)
    return tuple(n for n in out if n != "value")


@pytest.mark.parametrize("qk_norm", [True, False])
def test_shapes_zero_output_and_parameter_counts(qk_norm):
    width, depth, hd, r = 32, 3, 8, 4
    model = Transformer(V, T, width, depth=depth, head_dim=hd, mlp_ratio=r, qk_norm=qk_norm,
                        rngs=nnx.Rngs(0))
    logits = model(jnp.zeros((2, T), jnp.int32))
    assert logits.shape == (2, T, V) and logits.dtype == jnp.float32
    np.testing.assert_array_equal(logits, 0.0)  # zero readout: the uniform prediction
    non_embedding = depth * (4 + 2 * r) * width**2 + 2 * depth * hd * qk_norm + width * V
    assert model.compute_params() == non_embedding
    assert count_params(model) == non_embedding + (V + T) * width  # embeddings counted here
    assert model.blocks[0].attn.n_heads == width // hd


def test_config_parameter_count_excludes_embeddings():
    cfg = TrainConfig(model="transformer", task="language", vocab_size=V, seq_len=T, width=32,
                      depth=2, head_dim=8, base_width=16, samples=10**6)
    model = build_model(cfg, jax.random.key(0))
    assert param_count(cfg) == model.compute_params() == count_params(model) - (V + T) * 32
    assert param_count(cfg, width=64) == 2 * 12 * 64**2 + 2 * 2 * 8 + 64 * V


@pytest.mark.parametrize("qk_norm", [True, False])
def test_causal_masking(qk_norm):
    model = randomised(Transformer(V, T, 32, depth=2, head_dim=8, qk_norm=qk_norm,
                                   rngs=nnx.Rngs(1)))
    x = jax.random.randint(jax.random.key(2), (3, T), 0, V)
    base = model(x)
    for t in (0, 4, T - 2):
        changed = x.at[:, t + 1:].set((x[:, t + 1:] + 3) % V)  # change every later token
        out = model(changed)
        np.testing.assert_allclose(out[:, :t + 1], base[:, :t + 1], atol=1e-5)
        assert not np.allclose(out[:, t + 1:], base[:, t + 1:], atol=1e-3)


def test_attention_is_causal_softmax_with_logits_over_head_dim():
    model = randomised(Transformer(V, T, 16, depth=1, head_dim=8, qk_norm=False,
                                   rngs=nnx.Rngs(0)))
    attn = model.blocks[0].attn
    h = jax.random.normal(jax.random.key(3), (2, T, 16))
    qkv = np.asarray(h @ attn.qkv.kernel[...]).reshape(2, T, 3, 2, 8)
    q, k, v = qkv[:, :, 0], qkv[:, :, 1], qkv[:, :, 2]
    logits = np.einsum("bthd,bshd->bhts", q, k) / 8  # µP: 1/d_head, not 1/sqrt(d_head)
    logits = np.where(np.tril(np.ones((T, T), bool)), logits, -np.inf)
    w = np.exp(logits - logits.max(-1, keepdims=True))
    w /= w.sum(-1, keepdims=True)
    o = np.einsum("bhts,bshd->bthd", w, v).reshape(2, T, 16)
    np.testing.assert_allclose(attn(h), o @ np.asarray(attn.out.kernel[...]), atol=1e-4)


def test_mup_fan_ins_of_every_parameter():
    width, r = 48, 3
    model = Transformer(V, T, width, depth=2, head_dim=8, mlp_ratio=r, rngs=nnx.Rngs(0))
    expected = {"token_embed": None, "pos_embed": None, "q_gain": None, "k_gain": None,
                "qkv": width, "out": width, "fc1": width, "fc2": r * width, "readout": width}
    flat = jax.tree_util.tree_flatten_with_path(nnx.state(model, nnx.Param))[0]
    seen = set()
    for path, leaf in flat:
        p = names(path)
        owner = next(n for n in reversed(p) if n in expected)
        assert model.mup_fan_in(p, leaf.shape) == expected[owner], p
        seen.add(owner)
    assert seen == set(expected)
    # µP multipliers base/fan-in: hidden matrices and readout scale as 1/width, the rest not
    small = Transformer(V, T, 16, depth=2, head_dim=8, mlp_ratio=r, rngs=nnx.Rngs(0))
    small_flat = dict(jax.tree_util.tree_flatten_with_path(nnx.state(small, nnx.Param))[0])
    for path, leaf in flat:
        big, base = (m.mup_fan_in(names(path), s.shape)
                     for m, s in ((model, leaf), (small, small_flat[path])))
        assert (big is None) == (base is None)
        if big is not None:
            assert base / big == pytest.approx(16 / 48)


def test_bf16_compute_keeps_float32_parameters_and_matches_float32_training():
    lang = ZipfRulesLanguage(vocab_size=V, seq_len=T, n_rules=8, branching=2, n_test=8)

    def train(dtype: str, residual: str = "float32") -> np.ndarray:
        model = Transformer(V, T, 32, depth=2, head_dim=8, compute_dtype=dtype,
                            residual_dtype=residual, rngs=nnx.Rngs(0))
        graphdef, params = nnx.split(model, nnx.Param)
        assert all(p.dtype == jnp.float32 for p in jax.tree.leaves(params))
        opt = optax.adam(3e-3, b1=0.9, b2=0.95)

        def step(carry, t):
            p, o = carry
            x, y = lang.train_batch(jax.random.fold_in(jax.random.key(0), t), 16)
            loss, g = jax.value_and_grad(
                lambda p: jnp.mean(lang.loss(nnx.merge(graphdef, p)(x), y)))(p)
            u, o = opt.update(g, o, p)
            return (optax.apply_updates(p, u), o), loss

        _, losses = jax.jit(lambda p: jax.lax.scan(step, (p, opt.init(p)), jnp.arange(40)))(
            params)
        return np.asarray(losses)

    f32, bf16 = train("float32"), train("bfloat16")
    assert f32[-1] < f32[0] - 0.3  # it learns
    np.testing.assert_allclose(bf16, f32, rtol=2e-2)
    # a bf16 residual stream too: still the same training to bf16's precision
    np.testing.assert_allclose(train("bfloat16", "compute"), f32, rtol=3e-2)
    np.testing.assert_array_equal(train("float32", "compute"), f32)  # float32: the same model


def test_residual_dtype_sets_the_stream_and_nothing_else():
    """residual_dtype="compute" carries the residual stream in the compute dtype (bf16 here);
    parameters and logits stay float32; the default is the float32 stream."""
    x = jnp.zeros((2, T), jnp.int32)
    for residual, stream in (("float32", jnp.float32), ("compute", jnp.bfloat16)):
        model = randomised(Transformer(V, T, 16, depth=1, head_dim=8, compute_dtype="bfloat16",
                                       residual_dtype=residual, rngs=nnx.Rngs(0)))
        assert model._embed(x).dtype == stream
        assert model.blocks[0](model._embed(x)).dtype == stream
        assert model(x).dtype == jnp.float32
    with pytest.raises(ValueError, match="residual_dtype"):
        Transformer(V, T, 16, depth=1, head_dim=8, residual_dtype="bfloat16", rngs=nnx.Rngs(0))


def test_config_validation_of_transformer_fields():
    cfg = TrainConfig(model="transformer", task="language", width=32, head_dim=8, base_width=16,
                      vocab_size=V, seq_len=T, samples=10**5, depth=1)
    cfg.validate()
    with pytest.raises(ConfigError, match="width"):
        cfg.replace(width=36).validate()
    with pytest.raises(ConfigError, match="base_width"):
        cfg.replace(base_width=12).validate()
    with pytest.raises(ConfigError, match="compute_dtype"):
        cfg.replace(compute_dtype="float16").validate()
    with pytest.raises(ConfigError, match="residual_dtype"):
        cfg.replace(residual_dtype="bfloat16").validate()
    assert cfg.replace(residual_dtype="compute").run_id() != cfg.run_id()
    assert cfg.replace(residual_dtype="float32").run_id() == cfg.run_id()  # old ids stay
    with pytest.raises(ConfigError, match="z_loss"):
        cfg.replace(z_loss=-1.0).validate()
    with pytest.raises(ValueError, match="exceeds seq_len"):
        build_model(cfg, jax.random.key(0))(jnp.zeros((1, T + 1), jnp.int32))


def test_one_hot_lookup_gives_the_same_function_and_gradients():
    """lookup="one_hot" picks embedding rows and target logits by products with one-hot vectors
    (no scatter in the gradient): the same logits and loss bit for bit, the same gradients to
    float32 rounding (the embedding's is summed in another order); a bad name is refused."""
    lang = {lk: ZipfRulesLanguage(vocab_size=V, seq_len=T, n_rules=8, branching=2, n_test=8,
                                  lookup=lk) for lk in ("gather", "one_hot")}
    x, y = lang["gather"].train_batch(jax.random.key(1), 8)

    def loss_and_grads(lookup: str):
        model = randomised(Transformer(V, T, 32, depth=2, head_dim=8, lookup=lookup,
                                       rngs=nnx.Rngs(0)))
        graphdef, params = nnx.split(model, nnx.Param)
        loss = lambda p: jnp.mean(lang[lookup].training_loss(nnx.merge(graphdef, p)(x), y))
        return model(x), *jax.value_and_grad(loss)(params)

    (z0, l0, g0), (z1, l1, g1) = loss_and_grads("gather"), loss_and_grads("one_hot")
    np.testing.assert_array_equal(z1, z0)
    assert float(l1) == float(l0)
    for a, b in zip(jax.tree.leaves(g0), jax.tree.leaves(g1), strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-7)
    with pytest.raises(ValueError, match="lookup"):
        Transformer(V, T, 16, depth=1, head_dim=8, lookup="scatter", rngs=nnx.Rngs(0))
    cfg = TrainConfig(model="transformer", task="language", width=32, head_dim=8, base_width=16,
                      vocab_size=V, seq_len=T, samples=10**5, depth=1)
    with pytest.raises(ConfigError, match="lookup"):
        cfg.replace(lookup="scatter").validate()
    assert cfg.replace(lookup="one_hot").run_id() != cfg.run_id()
    assert cfg.replace(lookup="gather").run_id() == cfg.run_id()  # old ids stay
