"""Parameterisations (standard, µP, NTK, mean-field) for the MLP and the transformer: each
layer's Adam update moves with width as its entry says; µP is the package's old rule exactly."""

import jax
import numpy as np
import pytest
from flax import nnx

from supercollapse.models import build_model
from supercollapse.models.parameterised import path_names
from supercollapse.optim.optimizers import fan_in_multipliers, lr_multipliers
from supercollapse.parameterisations import PARAMETERISATIONS
from supercollapse.train.config import ConfigError, TrainConfig
from supercollapse.train.engine import Trainer

STEPS, SEEDS, N, WIDE = 3, tuple(range(8)), 16, 64  # widths n and 4n, base width n
MLP = dict(width=N, depth=1, base_width=N, n_modes=100, n_test=64, eval_batch_size=64,
           batch_size=64, lr=1e-3, seeds=SEEDS)
TRANSFORMER = dict(MLP, model="transformer", task="language", head_dim=8, vocab_size=16,
                   seq_len=8, n_rules=16, rule_branching=2, batch_size=16)
MODELS = {"mlp": MLP, "transformer": TRANSFORMER}


def config(model: str, name: str, **kw) -> TrainConfig:
    base = MODELS[model]
    return TrainConfig(**{**base, "samples": base["batch_size"] * STEPS, "parameterisation": name,
                          **kw})


def named(tree) -> dict[str, np.ndarray]:
    return {"/".join(path_names(p)): np.asarray(v)
            for p, v in jax.tree_util.tree_flatten_with_path(tree)[0]}


def trained(cfg: TrainConfig):
    """Stored parameters before and after ``STEPS`` steps (all seeds), the multipliers, roles."""
    tr = Trainer(cfg)
    before = named(tr.params)
    tr.advance(tr.total_steps)
    mult = tr.hyper.get("multipliers")
    mult = {k: float(v[0]) for k, v in named(mult).items()} if mult is not None else {}
    model = nnx.eval_shape(lambda: build_model(cfg, jax.random.key(0)))
    roles = {"/".join(path_names(p)): model.width_role(path_names(p), np.shape(v))
             for p, v in jax.tree_util.tree_flatten_with_path(nnx.state(model, nnx.Param))[0]}
    return before, named(tr.params), mult, roles


def rms(a: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(a, dtype=np.float64))))


@pytest.mark.parametrize("name", sorted(PARAMETERISATIONS))
@pytest.mark.parametrize("model", sorted(MODELS))
def test_each_layers_update_moves_with_width_as_its_parameterisation_says(model, name):
    """Train 3 steps at widths n and 4n (base width n, 8 seeds): for every parameter the RMS move
    of the trained w scales as (n/4n)^c and that of the effective W = rho^a w as (n/4n)^(a+c),
    within 0.15 in the exponent (measured: within 0.07 over two seed sets); parameters that are
    not width-scaled (QK gains) keep their move (exponent 0)."""
    spec = PARAMETERISATIONS[name]
    small, wide = trained(config(model, name)), trained(config(model, name, width=WIDE))
    (b0, b1, m_small, roles), (w0, w1, m_wide, _) = small, wide
    for key, role in roles.items():
        d_small, d_wide = rms(b1[key] - b0[key]), rms(w1[key] - w0[key])
        assert d_small > 0 and d_wide > 0, f"{key} did not move"
        stored = np.log(d_small / d_wide) / np.log(WIDE / N)
        eff = np.log(d_small * m_small.get(key, 1.0) / (d_wide * m_wide.get(key, 1.0))) \
            / np.log(WIDE / N)
        c = 0.0 if role is None else spec.lr[role]
        a = 0.0 if role is None else spec.multiplier[role]
        assert abs(stored - c) < 0.15, (key, role, stored, c)
        assert abs(eff - (a + c)) < 0.15, (key, role, eff, a + c)


@pytest.mark.parametrize("pair", [("mup", "mean_field"), ("standard", "ntk")])
def test_equivalent_parameterisations_train_the_same_network(pair):
    """Everett et al.'s symmetry: µP and mean-field (and SP and NTK) differ by a -> a + theta,
    b -> b - theta, c -> c - theta; under Adam with a negligible epsilon their effective weights
    W = rho^a w start and stay equal (here at width 4n after 3 steps)."""
    (a0, a1, ma, _), (b0, b1, mb, _) = (trained(config("mlp", n, width=WIDE)) for n in pair)
    for key in a0:
        for wa, wb in ((a0, b0), (a1, b1)):
            np.testing.assert_allclose(wa[key] * ma.get(key, 1.0), wb[key] * mb.get(key, 1.0),
                                       rtol=1e-4, atol=1e-7, err_msg=key)


@pytest.mark.parametrize("name", sorted(PARAMETERISATIONS))
def test_initial_scales(name):
    """Effective init W = rho^a w at widths n and 4n: hidden matrices N(0, 1/n) under every
    parameterisation; embeddings as the model's; the readout zero (µP class) or N(0, 1/n)
    (standard class); the stored w of a hidden matrix scales as n^-b."""
    spec = PARAMETERISATIONS[name]
    stats = {}
    for width in (N, 4 * WIDE):
        cfg = config("mlp", name, width=width)
        params = named(nnx.state(build_model(cfg, jax.random.key(0)), nnx.Param))
        mult = named(jax.tree.map(np.float32, _multipliers(cfg)))
        stats[width] = {k: (rms(v), rms(v * mult[k])) for k, v in params.items()}
    for width, s in stats.items():
        assert abs(s["blocks/0/fc1/kernel"][1] * np.sqrt(width) - 1) < 0.05
        assert abs(s["embed/kernel"][1] * np.sqrt(8) - 1) < 0.2  # the model's N(0, 1/d), d = 8
        readout = s["readout/kernel"][1] * np.sqrt(width)
        assert readout == 0 if spec.readout_init == "zero" else abs(readout - 1) < 0.25
    stored = np.log(stats[N]["blocks/0/fc1/kernel"][0] / stats[4 * WIDE]["blocks/0/fc1/kernel"][0])
    assert abs(stored / np.log(4 * WIDE / N) - spec.init["hidden"]) < 0.02


def _multipliers(cfg):
    from supercollapse.models.parameterised import forward_multipliers

    params = nnx.state(nnx.eval_shape(lambda: build_model(cfg, jax.random.key(0))), nnx.Param)
    m = forward_multipliers(cfg, params)
    return jax.tree.map(lambda _: np.float32(1.0), params) if m is None else m


@pytest.mark.parametrize("model", sorted(MODELS))
def test_mup_rates_are_the_fan_in_rule_bit_for_bit(model):
    """The default parameterisation gives every stored run the rates it was trained with:
    lr multipliers equal n_base / fan-in (of the model at mup_reference_width when frozen)
    exactly, for widths that are not powers of two too; µP has no multipliers."""
    for width in (16, 24, 96, 160, 512):
        for mup, ref in (("on", None), ("off", None), ("frozen", 40)):
            cfg = TrainConfig(**{**MODELS[model], "width": width, "base_width": 128,
                                 "samples": 10**6, "mup": mup, "mup_reference_width": ref})
            params = nnx.state(nnx.eval_shape(lambda c=cfg: build_model(c, jax.random.key(0))),
                               nnx.Param)
            assert jax.tree.leaves(lr_multipliers(cfg, params)) == \
                jax.tree.leaves(fan_in_multipliers(cfg, params)), (width, mup)
    assert not PARAMETERISATIONS["mup"].changes_forward()
    assert not PARAMETERISATIONS["mup"].changes_init()


def test_default_keeps_ids_and_unknown_names_fail():
    cfg = TrainConfig(samples=1000)
    assert cfg.replace(parameterisation="mup").run_id() == cfg.run_id()
    assert cfg.replace(parameterisation="ntk").run_id() != cfg.run_id()
    assert cfg.replace(parameterisation="ntk").shape_key() != cfg.shape_key()
    with pytest.raises(ConfigError, match=r"TrainConfig\.parameterisation="):
        cfg.replace(parameterisation="sp").validate()


def test_a_model_without_roles_trains_under_mup_only(monkeypatch):
    """A model that declares only its µP fan-ins (book/extending.md) keeps µP; any other
    parameterisation is refused before training, naming the field."""
    from supercollapse.models import mlp

    monkeypatch.delattr(mlp.ResidualMLP, "width_role")
    cfg = config("mlp", "mup", seeds=(0,))
    params = nnx.state(nnx.eval_shape(lambda: build_model(cfg, jax.random.key(0))), nnx.Param)
    assert jax.tree.leaves(lr_multipliers(cfg, params)) == \
        jax.tree.leaves(fan_in_multipliers(cfg, params))
    with pytest.raises(ConfigError, match=r"TrainConfig\.parameterisation="):
        config("mlp", "ntk", width=24).validate()


def test_param_collapse_at_several_rates_contains_the_stored_ladders():
    """param-collapse-lr: every recipe's collapse ladder at each multiple of the peak rate; at
    the multiple 1 the configs (and so the run ids) are param-collapse's."""
    from supercollapse.paths import results_dir
    from supercollapse.train import experiments as E

    law = E.Law.load(results_dir() / "quick" / "law.json")
    base = E.param_collapse("quick", law)
    many = E.param_collapse_lr("quick", law)
    assert len(many) == len(base) * len(E.PARAM_COLLAPSE_LR_MULTS)
    at_one = [c for c in many if c.tags["lr_mult"] == 1.0]
    assert [c.run_id() for c in at_one] == [c.run_id() for c in base]
    for c in many:
        assert c.lr == pytest.approx(c.tags["lr_mult"] * E.SCALES["quick"].base["lr"])
    assert "param-collapse-lr" in E.sweeps_at("quick") and "param-collapse-lr" not in E.sweeps_at("full")


def test_param_lm_is_the_instability_grid_under_each_parameterisation():
    """param-lm: the transformer's rate grid of ``instability`` (QK-norm on) under sp_global,
    SP and µP, with 2 seeds and without traces; its µP runs differ from instability's
    ``qk_norm`` runs in nothing else."""
    from supercollapse.train import experiments as E

    lm = E.param_lm("lm-quick")
    ref = [c for c in E.instability("lm-quick") if c.tags["variant"] == "qk_norm"]
    assert len(lm) == len(ref) * len(E.PARAM_LM_VARIANTS)
    mup = [c for c in lm if c.tags["variant"] == "mup"]
    for a, b in zip(mup, ref, strict=True):
        assert a.replace(seeds=b.seeds, instability_traces=True, tags=b.tags) == b
    assert {c.seeds for c in lm} == {(0, 1)} and not any(c.instability_traces for c in lm)
    assert {(c.tags["variant"], c.parameterisation, c.mup) for c in lm} == {
        ("sp_global", "standard", "off"), ("standard", "standard", "on"), ("mup", "mup", "on")}
    assert "param-lm" in E.sweeps_at("lm-quick") and "param-lm" not in E.sweeps_at("quick")
