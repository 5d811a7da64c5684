"""TrainConfig: validation before any compute, identity and serialisation."""

import dataclasses
from pathlib import Path

import pytest

import supercollapse.tasks as tasks
import supercollapse.train.engine as engine
import supercollapse.train.sweep as sweep
from supercollapse.models import param_count
from supercollapse.train.config import ConfigError, TrainConfig


def tiny(**kw) -> TrainConfig:
    base = dict(width=16, depth=1, n_modes=100, n_test=256, eval_batch_size=256,
                batch_size=32, samples=32 * 50, n_evals=5)
    return TrainConfig(**{**base, **kw})


# (changes, field named in the message)
BAD = [
    (dict(schedule="warp"), "schedule"),
    (dict(task="mnist"), "task"),
    (dict(model="lstm"), "model"),
    (dict(mup="maybe"), "mup"),
    (dict(mup="frozen"), "mup_reference_width"),
    (dict(parameterisation="sp"), "parameterisation"),
    (dict(width=0), "width"),
    (dict(width=-16), "width"),
    (dict(width=16.5), "width"),
    (dict(depth=0), "depth"),
    (dict(batch_size=0), "batch_size"),
    (dict(batch_size=-32), "batch_size"),
    (dict(base_width=0), "base_width"),
    (dict(n_modes=0), "n_modes"),
    (dict(n_test=0), "n_test"),
    (dict(n_evals=0), "n_evals"),
    (dict(decay_frac=-0.1), "decay_frac"),
    (dict(decay_frac=1.5), "decay_frac"),
    (dict(warmup_frac=1.0), "warmup_frac"),
    (dict(lr=0.0), "lr"),
    (dict(lr=-1e-3), "lr"),
    (dict(lr=float("nan")), "lr"),
    (dict(lr="fast"), "lr"),
    (dict(b1=1.0), "b1"),
    (dict(b2=-0.1), "b2"),
    (dict(eps=-1.0), "eps"),
    (dict(task_exponent=0.0), "task_exponent"),
    (dict(depth_multiplier=0.0), "depth_multiplier"),
    (dict(noise_batches=1), "noise_batches"),
    (dict(noise_batches=-2), "noise_batches"),
    (dict(seeds=()), "seeds"),
    (dict(seeds=(0, 0)), "seeds"),
    (dict(seeds=(-1,)), "seeds"),
    (dict(seed_protocol="paper"), "seed_protocol"),
    (dict(samples=0), "samples"),
    (dict(samples=None, horizon_kappa=-1.0), "horizon_kappa"),
    (dict(horizon_mult=0.0), "horizon_mult"),
    # horizons shorter than one step of batch_size=32, each way of giving a horizon
    (dict(samples=31), "samples"),
    (dict(samples=None, tokens_per_param=1e-6), "tokens_per_param"),
    (dict(samples=None, horizon_kappa=1e-9), "horizon_kappa"),
]


@pytest.mark.parametrize("changes, name", BAD, ids=[f"{n}={c[n] if n in c else c}"
                                                    for c, n in BAD])
def test_bad_config_fails_before_any_compute_naming_the_field(changes, name, monkeypatch):
    def no_compute(*args, **kwargs):
        raise AssertionError("compute started before the config was validated")

    monkeypatch.setattr(tasks, "build_task", no_compute)
    monkeypatch.setattr(engine, "build_model", no_compute)
    cfg = tiny(**changes)
    with pytest.raises(ConfigError, match=rf"TrainConfig\.{name}="):
        cfg.validate()
    with pytest.raises(ConfigError, match=rf"TrainConfig\.{name}="):
        engine.train(cfg)


def test_horizon_must_be_set_exactly_once():
    with pytest.raises(ConfigError, match="samples, tokens_per_param, horizon_kappa"):
        TrainConfig().validate()
    with pytest.raises(ConfigError, match="samples, tokens_per_param, horizon_kappa"):
        tiny(tokens_per_param=10.0).validate()


def test_sweep_validates_every_config_before_training(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(sweep, "train_many", lambda cfgs, **kw: calls.extend(cfgs))
    configs = [tiny(), tiny(width=32), tiny(width=8, decay_frac=2.0)]
    with pytest.raises(ConfigError, match=r"TrainConfig\.decay_frac="):
        sweep.run_sweep(configs, tmp_path, progress=False)
    assert calls == [] and not any(tmp_path.iterdir())


def test_horizon_is_one_step_or_more():
    p = param_count(tiny())
    assert tiny(samples=32).horizon_steps(p) == 1
    assert tiny(samples=33).horizon_steps(p) == 2
    assert tiny(samples=None, tokens_per_param=1.0, horizon_mult=2.0).horizon_steps(p) \
        == -(-2 * p // 32)
    tiny(samples=32).validate()  # exactly one step is fine


def test_replace_from_dict_and_unknown_fields():
    cfg = tiny(seeds=[2, 1])
    assert cfg.seeds == (2, 1) and hash(cfg)  # lists become tuples: the config stays hashable
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg
    assert cfg.replace(seeds=[3]).seeds == (3,)
    with pytest.raises(ConfigError, match="widht"):
        cfg.replace(widht=32)
    with pytest.raises(ConfigError, match="widht"):
        TrainConfig.from_dict({**cfg.to_dict(), "widht": 32})


def test_run_id_is_stable_and_ignores_tags():
    cfg = tiny()
    assert cfg.run_id() == tiny(tags={"experiment": "x"}).run_id()
    assert cfg.run_id() != tiny(width=32).run_id()
    assert cfg.run_id() != tiny(seeds=(0, 1)).run_id()
    assert TrainConfig.from_dict(cfg.to_dict()).run_id() == cfg.run_id()
    # the default seed protocol keeps every id (stored results were made with it)
    assert tiny(seed_protocol="independent").run_id() == cfg.run_id()
    assert tiny(seed_protocol="shared_data").run_id() != cfg.run_id()


STORED = sorted(Path(__file__).parents[1].glob("results/**/*.npz"))


def test_stored_results_keep_their_identity():
    """Every stored run is named by its config's run id and still validates."""
    from supercollapse.results import load_run

    assert len(STORED) >= 100, "the stored results are missing"
    for f in STORED:
        cfg = load_run(f).config
        assert cfg.run_id() == f.stem, f
        cfg.validate()


@dataclasses.dataclass(frozen=True)
class WithNewField(TrainConfig):
    """TrainConfig as it would be with one more field (and a default)."""

    new_field: float = 0.5


def test_a_new_field_with_a_default_keeps_every_id():
    from supercollapse.results import load_run

    for f in STORED:
        cfg = load_run(f).config
        assert WithNewField(**dataclasses.asdict(cfg)).run_id() == f.stem, f
    cfg = tiny()
    grown = WithNewField(**dataclasses.asdict(cfg))
    assert grown.run_id() == cfg.run_id() != grown.replace(new_field=1.0).run_id()


def test_run_id_reads_only_non_default_fields():
    cfg = tiny()
    assert set(cfg.non_default_fields()) == {"width", "depth", "n_modes", "n_test", "eval_batch_size",
                                             "batch_size", "samples", "n_evals"}
    assert TrainConfig(samples=5, lr=TrainConfig.lr).run_id() == TrainConfig(samples=5).run_id()


def test_shape_key_drops_shape_free_fields_only():
    from supercollapse.train.config import SHAPE_FREE_FIELDS

    cfg = tiny(lr=0.5, schedule="cosine", seeds=(3, 4), mup="off", decay_frac=0.3)
    assert cfg.shape_key() == tiny().shape_key()
    for name in ("width", "depth", "batch_size", "n_test", "optimizer", "b2", "noise_batches"):
        assert name not in SHAPE_FREE_FIELDS
    assert tiny(width=32).shape_key() != tiny().shape_key()
    assert tiny(optimizer="adam_atan2").shape_key() != tiny().shape_key()
