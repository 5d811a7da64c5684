"""Seed protocols: independent data streams (the default) against one stream shared by every
seed (the paper's protocol, ``seed_protocol="shared_data"``)."""

import jax
import numpy as np
import pytest

from supercollapse.train.config import ConfigError, TrainConfig
from supercollapse.train.engine import Trainer, data_key, plan_groups, train_many

TINY = dict(width=16, depth=1, n_modes=100, n_test=256, eval_batch_size=256, batch_size=32,
            samples=32 * 60, n_evals=4, schedule="linear", seeds=(0, 1, 2))


def tiny(**kw) -> TrainConfig:
    return TrainConfig(**{**TINY, **kw})


def batches(trainer: Trainer, step: int) -> list[np.ndarray]:
    """The training inputs each run of ``trainer`` draws at ``step``."""
    keys = np.asarray(jax.random.key_data(trainer.data_keys))
    return [np.asarray(trainer.task.train_batch(
        jax.random.fold_in(jax.random.wrap_key_data(k), step), 32)[0]) for k in keys]


def first_params(trainer: Trainer) -> list[np.ndarray]:
    """A hidden weight matrix of each run at initialisation."""
    leaves = [a for a in jax.tree.leaves(trainer.params) if a.ndim == 3]
    return [np.asarray(leaves[0][i]) for i in range(len(trainer.runs))]


@pytest.mark.parametrize("protocol", ["independent", "shared_data"])
def test_batches_and_initialisations_across_seeds(protocol):
    trainer = Trainer(tiny(seed_protocol=protocol))
    for step in (0, 7):
        x = batches(trainer, step)
        if protocol == "shared_data":  # one data order for all seeds
            np.testing.assert_array_equal(x[0], x[1])
            np.testing.assert_array_equal(x[0], x[2])
        else:  # each seed its own stream
            assert not np.allclose(x[0], x[1]) and not np.allclose(x[1], x[2])
    w = first_params(trainer)  # initialisations differ under both protocols
    assert not np.allclose(w[0], w[1]) and not np.allclose(w[1], w[2])


def test_seed_zero_sees_the_same_data_under_both_protocols():
    keys = [np.asarray(jax.random.key_data(data_key(tiny(seed_protocol=p), s)))
            for p in ("independent", "shared_data") for s in (0, 1)]
    np.testing.assert_array_equal(keys[0], keys[2])  # seed 0: one stream either way
    np.testing.assert_array_equal(keys[2], keys[3])  # shared: seed 1 uses seed 0's stream
    assert not np.array_equal(keys[0], keys[1])


def test_protocols_train_in_one_program_and_differ_where_they_should():
    ind, shared = tiny(), tiny(seed_protocol="shared_data")
    assert plan_groups([ind, shared]) == [[0, 1]]  # the protocol changes no shape
    r_ind, r_shared = train_many([ind, shared])
    assert r_ind.meta["program"]["runs"] == 6
    a, b = r_ind.curves["test_loss"], r_shared.curves["test_loss"]
    np.testing.assert_array_equal(a[0], b[0])  # seed 0: same init, same batches
    assert not np.allclose(a[1, 1:], b[1, 1:])  # seed 1: same init, other batches
    assert not np.allclose(b[0, 1:], b[1, 1:])  # shared data, other inits


def test_unknown_protocol_is_refused():
    with pytest.raises(ConfigError, match=r"TrainConfig\.seed_protocol="):
        tiny(seed_protocol="paper").validate()
    with pytest.raises(ConfigError, match=r"TrainConfig\.seed_protocol="):
        data_key(tiny(seed_protocol="paper"), 0)


def test_a_protocol_trained_alone_repeats_its_curves_from_the_shared_program():
    """``sweep --variants`` splits a group into one program per protocol; each run is a function
    of its own config and seeds only, so alone it repeats what it learned beside the other (to
    float32 rounding: on this CPU a program of another size sums in another order, one ulp)."""
    ind, shared = tiny(), tiny(seed_protocol="shared_data")
    together = train_many([ind, shared])
    alone = train_many([shared])[0]
    assert alone.meta["program"]["runs"] == 3
    for key in ("train_loss", "test_loss"):
        np.testing.assert_allclose(alone.curves[key], together[1].curves[key], rtol=1e-6)
