"""The training engine: one compiled program trains many runs of one model shape.

A *run* is one (config, seed). Runs whose configs share a shape key
(:meth:`~supercollapse.train.config.TrainConfig.shape_key`) are trained by one cached program,
``jax.vmap``-ed over runs, with learning rates, schedules and µP settings as traced inputs
(:func:`supercollapse.optim.optimizers.hyperparameters`); the steps between evaluations run in
one ``lax.fori_loop``, each drawing its batch, or ``draw_ahead`` steps' batches at a time
(:class:`Trainer`); the devices form a mesh ``(runs, data)`` (:func:`layout`). Logged at each
evaluation point (:func:`train_many`): step, samples, compute (6 P tokens), learning rate, tau,
train and test loss, and optionally the gradient-noise traces (:mod:`.noise_traces`) and the
model's instability diagnostics (``instability_traces``: the transformer's max attention logit
and output log-partition, ``PROBE_KEYS``). Mid-run checkpoints: :mod:`.checkpoints`.
"""

from __future__ import annotations

import functools
import math
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from ..models import build_model, model_param_count
from ..models.parameterised import effective
from ..optim import OPTIMIZERS
from ..optim.base import chain
from ..optim.optimizers import hyperparameters
from ..optim.schedules import schedule_multiplier
from ..provenance import provenance
from ..results import RunResult
from ..tasks import cached_task, tokens_per_sample
from .checkpoints import Checkpoints, group_checkpoint_dir
from .config import SEED_PROTOCOLS, ConfigError, TrainConfig
from .horizon import compute_flops, eval_steps
from .noise_traces import gradient_noise_traces

# How many times each compiled program of the engine was traced, i.e. compiled ("segment",
# "evaluate"); benchmarks and tests read it.
TRACES: Counter = Counter()

CURVE_KEYS = ("train_loss", "test_loss", "trace_grad", "trace_pgrad")
# Logged only with TrainConfig.instability_traces (the transformer's instability_probe).
PROBE_KEYS = ("max_attn_logit", "log_partition")


def schedule_arrays(cfg: TrainConfig, total_steps: int, steps: np.ndarray):
    """Learning rate eta(t) and tau(t) = sum_{s<t} eta(s) at the given steps (float64)."""
    warmup = int(round(cfg.warmup_frac * total_steps))
    mult = np.asarray(schedule_multiplier(cfg.schedule, np.arange(total_steps + 1),
                                          total_steps, cfg.decay_frac, warmup), np.float64)
    tau = np.concatenate([[0.0], np.cumsum(cfg.lr * mult[:-1])])
    return cfg.lr * mult[steps], tau[steps]


def data_key(cfg: TrainConfig, seed: int) -> jax.Array:
    """The key of the training-data stream of seed ``seed`` of ``cfg``; step ``t``'s batch is
    drawn with ``fold_in(data_key, t)`` by the task's ``train_batch``.

    ``cfg.seed_protocol`` ``"independent"``: ``fold_in(key(train_seed), seed)``, one stream per
    seed; ``"shared_data"``: ``fold_in(key(train_seed), 0)`` for every seed (the paper's
    protocol: one data order, seeds differ only in their initialisation, ``key(seed)``). Seed 0
    therefore trains on the same batches under both protocols.

    >>> cfg = TrainConfig(samples=1)
    >>> same = lambda a, b: bool(jnp.all(jax.random.key_data(a) == jax.random.key_data(b)))
    >>> same(data_key(cfg, 0), data_key(cfg, 1))
    False
    >>> shared = cfg.replace(seed_protocol="shared_data")
    >>> same(data_key(shared, 0), data_key(shared, 1)), same(data_key(shared, 1), data_key(cfg, 0))
    (True, True)
    """
    if cfg.seed_protocol not in SEED_PROTOCOLS:
        raise ConfigError(f"TrainConfig.seed_protocol={cfg.seed_protocol!r}: unknown seed "
                          f"protocol; choose one of {SEED_PROTOCOLS}")
    stream = seed if cfg.seed_protocol == "independent" else 0
    return jax.random.fold_in(jax.random.key(cfg.train_seed), stream)


def layout(n_runs: int, devices: Sequence, batch_size: int,
           data_parallel: int | None = None) -> jax.sharding.Mesh:
    """The device mesh ``(runs, data)`` for ``n_runs`` runs of batch ``batch_size``.

    By default runs are spread over as many devices as divide their number
    (``gcd(n_runs, n_devices)``) and each run's batch over the rest; ``data_parallel`` sets
    the size of the ``data`` axis instead (e.g. ``n_devices`` for one large model).

    >>> cpu = jax.devices("cpu")[:1]
    >>> dict(layout(3, cpu, 64).shape)
    {'runs': 1, 'data': 1}
    """
    n = len(devices)
    if data_parallel is None:
        runs = math.gcd(n_runs, n)
        data = n // runs
    else:
        if not (isinstance(data_parallel, int) and data_parallel > 0 and n % data_parallel == 0):
            raise ConfigError(f"data_parallel={data_parallel!r} must be a positive divisor of "
                              f"the number of devices ({n})")
        data, runs = data_parallel, n // data_parallel
        if n_runs % runs:
            raise ConfigError(f"data_parallel={data_parallel}: {n_runs} run(s) cannot be "
                              f"spread evenly over the {runs} device groups left")
    if batch_size % data:
        raise ConfigError(f"TrainConfig.batch_size={batch_size} must be divisible by the "
                          f"{data} devices of the data-parallel axis (from {n} devices and "
                          f"{n_runs} run(s))")
    return jax.sharding.Mesh(np.asarray(devices, dtype=object).reshape(runs, data),
                             ("runs", "data"))


class _Programs:
    """The compiled functions for one shape key on one mesh (see :func:`_programs`)."""

    def __init__(self, shape: TrainConfig, mesh: jax.sharding.Mesh, draw_ahead: int = 1):
        task = cached_task(shape)
        self.graphdef = nnx.split(nnx.eval_shape(lambda: build_model(shape, jax.random.key(0))),
                                  nnx.Param)[0]
        graphdef, spec = self.graphdef, OPTIMIZERS[shape.optimizer]
        batch_sharding = NamedSharding(mesh, P("data"))

        # p are the trained parameters w; the network computes with W = rho^a w where the
        # parameterisation has multipliers (hyper["multipliers"]; none under µP: W = w)
        def loss_fn(p, x, y):  # mean over examples (and tokens, for a per-token loss)
            return jnp.mean(task.loss(nnx.merge(graphdef, p)(x), y))

        # the objective that is differentiated (and logged as the train loss): the task's loss,
        # or its training_loss where it adds a regulariser (the z-loss of next-token tasks)
        objective = getattr(task, "training_loss", task.loss)

        def train_loss_fn(p, x, y, multipliers=None):
            return jnp.mean(objective(nnx.merge(graphdef, effective(p, multipliers))(x), y))

        def sample(k):
            x, y = task.train_batch(k, shape.batch_size)
            return (jax.lax.with_sharding_constraint(x, batch_sharding),
                    jax.lax.with_sharding_constraint(y, batch_sharding))

        # the batches of several steps at once (draw_ahead): the task's own way if it has one
        many = getattr(task, "train_batches", None) or (
            lambda keys, n: jax.vmap(lambda k: task.train_batch(k, n))(keys))
        blocks_sharding = NamedSharding(mesh, P(None, "data"))

        def sample_many(keys):
            x, y = many(keys, shape.batch_size)
            return (jax.lax.with_sharding_constraint(x, blocks_sharding),
                    jax.lax.with_sharding_constraint(y, blocks_sharding))

        def one_run_segment(p, o, data_key, hyper, start, stop):
            TRACES["segment"] += 1
            optimizer = chain(spec, shape, hyper)

            def train_step(carry, x, y):
                p, o, loss_sum = carry
                loss, grads = jax.value_and_grad(train_loss_fn)(p, x, y,
                                                                hyper.get("multipliers"))
                updates, o = optimizer.update(grads, o, p)
                return optax.apply_updates(p, updates), o, loss_sum + loss

            def drawn_block(b, carry):
                # steps t0 .. t0 + draw_ahead - 1: their batches in one vectorised call (batch
                # t from fold_in(data_key, t), as one step at a time), then the steps over them
                t0 = start + b * draw_ahead
                xs, ys = sample_many(jax.vmap(lambda t: jax.random.fold_in(data_key, t))(
                    t0 + jnp.arange(draw_ahead)))
                return jax.lax.fori_loop(0, jnp.minimum(draw_ahead, stop - t0),
                                         lambda i, c: train_step(c, xs[i], ys[i]), carry)

            carry = (p, o, jnp.zeros(()))
            if draw_ahead == 1:  # one batch per step
                carry = jax.lax.fori_loop(start, stop, lambda t, c: train_step(
                    c, *sample(jax.random.fold_in(data_key, t))), carry)
            else:
                blocks = (stop - start + draw_ahead - 1) // draw_ahead
                carry = jax.lax.fori_loop(0, blocks, drawn_block, carry)
            p, o, loss_sum = carry
            return p, o, loss_sum / jnp.maximum(stop - start, 1)

        self.segment = jax.jit(jax.vmap(one_run_segment, in_axes=(0, 0, 0, 0, None, None),
                                        spmd_axis_name="runs"), donate_argnums=(0, 1))

        # the test set in equal chunks, whatever the shapes of an example and its target
        x_test, y_test = task.test_set()
        n_chunks = max(1, shape.n_test // min(shape.eval_batch_size, shape.n_test))
        per_chunk = shape.n_test // n_chunks
        xs = x_test[: n_chunks * per_chunk].reshape(n_chunks, per_chunk, *x_test.shape[1:])
        ys = y_test[: n_chunks * per_chunk].reshape(n_chunks, per_chunk, *y_test.shape[1:])

        def one_run_eval(p, o, hyper, noise_key):
            TRACES["evaluate"] += 1
            mult = hyper.get("multipliers")
            w = effective(p, mult)
            test_loss = jnp.mean(jax.lax.map(lambda xy: loss_fn(w, *xy), (xs, ys)))
            if shape.noise_batches == 0:
                return test_loss, jnp.nan, jnp.nan
            pre = spec.preconditioner(o[0], hyper["peak_lrs"], shape)
            grad_fn = (jax.grad(loss_fn) if mult is None else  # gradients of the trained w
                       jax.grad(lambda q, x, y: loss_fn(effective(q, mult), x, y)))
            tr_g, tr_u = gradient_noise_traces(grad_fn, p, pre, sample, noise_key,
                                               shape.noise_batches, shape.batch_size)
            return test_loss, tr_g, tr_u

        self.evaluate = jax.jit(jax.vmap(one_run_eval, in_axes=(0, 0, 0, None),
                                         spmd_axis_name="runs"))

        def one_run_probe(p, hyper):  # the model's diagnostics on the first test chunk
            TRACES["probe"] += 1
            model = nnx.merge(graphdef, effective(p, hyper.get("multipliers")))
            out = model.instability_probe(xs[0])
            return tuple(out[k] for k in PROBE_KEYS)

        # a program of its own, compiled only when instability_traces is on: training and the
        # evaluation above stay the programs they were
        self.probe = jax.jit(jax.vmap(one_run_probe, in_axes=(0, 0), spmd_axis_name="runs"))


@functools.lru_cache(maxsize=32)
def _programs(shape: TrainConfig, mesh: jax.sharding.Mesh, draw_ahead: int = 1) -> _Programs:
    """Compiled programs, cached by shape key and mesh: a second Trainer of the same shapes
    (any learning rate, schedule, seeds, horizon) reuses them without compiling."""
    return _Programs(shape, mesh, draw_ahead)


def _stack(trees: list) -> Any:
    return jax.tree.map(lambda *a: np.stack([np.asarray(x) for x in a]), *trees)


class Trainer:
    """The state of a group of runs (all seeds of one or several configs) and its programs.

    ``cfgs``: one config, or several that differ only in shape-free fields
    (``SHAPE_FREE_FIELDS``) and train for the same number
    of steps. Their runs, one per (config, seed) in order, are stacked along the vmapped
    axis. ``advance(stop)`` trains every run from the current step to ``stop`` in one
    compiled loop and returns the mean train loss per run; ``evaluate()`` returns the test
    loss and the gradient-noise traces per run. :func:`train_many` strings them together
    at the evaluation points; benchmarks and notebooks can drive them directly.

    ``devices`` (default: all devices) form the mesh of :func:`layout`. ``draw_ahead``: the
    training loop draws the batches of that many steps in one vectorised call of the task's
    sampler before it takes them (the same batches: step ``t``'s is drawn from
    ``fold_in(data_key, t)`` either way); 1, the default, draws each step's batch in its step.
    Drawing ahead pays where the sampler is many small sequential rounds (the language task
    on a GPU), and draws up to ``draw_ahead - 1`` batches too many at a segment's end.
    """

    def __init__(self, cfgs: TrainConfig | Sequence[TrainConfig], *, devices=None,
                 data_parallel: int | None = None, draw_ahead: int = 1):
        cfgs = [cfgs] if isinstance(cfgs, TrainConfig) else list(cfgs)
        if not cfgs:
            raise ValueError("Trainer: no configs given")
        for c in cfgs:
            c.validate()
        shape = cfgs[0].shape_key()
        for c in cfgs[1:]:
            if c.shape_key() != shape:
                diff = sorted(k for k, v in c.shape_key().to_dict().items()
                              if v != shape.to_dict()[k])
                raise ConfigError(f"Trainer: configs differ in fields that set shapes or "
                                  f"constants of the program ({diff}); train them in separate "
                                  "groups (train_many does)")
        self.configs, self.cfg = cfgs, cfgs[0]
        self.runs = [(i, s) for i, c in enumerate(cfgs) for s in c.seeds]
        self.devices = list(jax.devices() if devices is None else devices)
        self.mesh = layout(len(self.runs), self.devices, shape.batch_size, data_parallel)
        self.task = cached_task(shape)
        if not (isinstance(draw_ahead, int) and draw_ahead >= 1):
            raise ValueError(f"Trainer: draw_ahead={draw_ahead!r} must be a positive integer")
        programs = _programs(shape, self.mesh, draw_ahead)
        self._segment, self._evaluate = programs.segment, programs.evaluate
        self._probe = programs.probe
        self.graphdef = programs.graphdef

        models = [build_model(cfgs[i], jax.random.fold_in(jax.random.key(s), 0))
                  for i, s in self.runs]
        self.n_params = model_param_count(models[0])
        totals = {c.horizon_steps(self.n_params, self.task.tokens_per_sample) for c in cfgs}
        if len(totals) != 1:
            raise ConfigError(f"Trainer: the configs train for different numbers of steps "
                              f"({sorted(totals)}); train them in separate groups "
                              "(train_many does)")
        self.total_steps = totals.pop()
        first = nnx.split(models[0], nnx.Param)[1]
        params = jax.tree.map(lambda *a: jnp.stack(a),
                              *[nnx.split(m, nnx.Param)[1] for m in models])
        per_config = [hyperparameters(c, first, self.total_steps) for c in cfgs]
        hyper = _stack([per_config[i] for i, _ in self.runs])
        optimizer = chain(OPTIMIZERS[shape.optimizer], shape, per_config[0])
        opt_state = jax.vmap(optimizer.init)(params)
        data_keys = jnp.stack([data_key(cfgs[i], s) for i, s in self.runs])
        self.sharding = NamedSharding(self.mesh, P("runs"))
        self.params, self.opt_state, self.data_keys, self.hyper = jax.device_put(
            (params, opt_state, data_keys, hyper), self.sharding)
        self._noise_root = jax.random.key(shape.test_seed + 1)
        self.step = 0

    def advance(self, stop: int) -> np.ndarray:
        """Train every run up to step ``stop``; return each run's mean train loss."""
        if not self.step < stop <= self.total_steps:
            raise ValueError(f"advance: stop={stop} must lie in ({self.step}, "
                             f"{self.total_steps}]")
        self.params, self.opt_state, loss = self._segment(
            self.params, self.opt_state, self.data_keys, self.hyper, jnp.int32(self.step),
            jnp.int32(stop))
        self.step = stop
        return np.asarray(loss)

    def compile(self) -> float:
        """Compile the training segment and the evaluation (and the probe, where the configs
        log it) for this trainer's arguments now, and return the seconds it took. It is what
        the first :meth:`advance` and :meth:`evaluate` would do: the compiled programs land in
        the shared cache of ``_programs``, so this trainer and any other of the same shapes
        then start without compiling. :func:`~.sweep.run_sweep` calls it for the next group in
        a thread while the current group trains (``compile_ahead``)."""
        t0 = time.perf_counter()
        self._segment.lower(self.params, self.opt_state, self.data_keys, self.hyper,
                            jnp.int32(0), jnp.int32(1)).compile()
        key = jax.random.fold_in(self._noise_root, 0)
        self._evaluate.lower(self.params, self.opt_state, self.hyper, key).compile()
        if self.cfg.instability_traces:
            self._probe.lower(self.params, self.hyper).compile()
        return time.perf_counter() - t0

    def evaluate(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Test loss and (raw, preconditioned) gradient-noise traces, one value per run."""
        key = jax.random.fold_in(self._noise_root, self.step)
        return tuple(np.asarray(a) for a in
                     self._evaluate(self.params, self.opt_state, self.hyper, key))

    def probe(self) -> dict[str, np.ndarray]:
        """The model's instability diagnostics (``PROBE_KEYS``: max attention logit, mean output
        log-partition) on the first chunk of the test set, one value per run."""
        return {k: np.asarray(v) for k, v in
                zip(PROBE_KEYS, self._probe(self.params, self.hyper), strict=True)}

    def model(self, run_index: int = 0) -> nnx.Module:
        """The trained model of one run (the ``run_index``-th (config, seed)), as NNX, with the
        weights it computes with (:math:`W = \\rho^a w` under a parameterisation with multipliers)."""
        one = jax.tree.map(lambda a: a[run_index], self.params)
        mult = self.hyper.get("multipliers")
        if mult is not None:
            one = effective(one, jax.tree.map(lambda m: m[run_index], mult))
        return nnx.merge(self.graphdef, one)

    # --- checkpoints: the training state as host arrays, and back ---------------------
    def state_leaves(self) -> list[np.ndarray]:
        """Parameters and optimiser state as a flat list of host arrays."""
        return [np.asarray(a) for a in jax.tree.leaves((self.params, self.opt_state))]

    def load_state(self, leaves: list[np.ndarray], step: int) -> None:
        """Put a saved :meth:`state_leaves` back (same structure, shapes and dtypes)."""
        current = jax.tree.leaves((self.params, self.opt_state))
        if len(leaves) != len(current) or any(
                np.shape(a) != b.shape or np.asarray(a).dtype != b.dtype
                for a, b in zip(leaves, current, strict=True)):
            raise ValueError("Trainer.load_state: the saved state does not match this "
                             "trainer's parameters and optimiser state")
        tree = jax.tree.structure((self.params, self.opt_state))
        self.params, self.opt_state = jax.device_put(jax.tree.unflatten(tree, list(leaves)),
                                                     self.sharding)
        self.step = int(step)


def _group_key(cfg: TrainConfig, total_steps: int) -> tuple:
    return (cfg.shape_key(), total_steps, cfg.n_evals)


def total_steps(cfg: TrainConfig) -> int:
    """Optimiser steps of ``cfg`` (its horizon, counted in the task's tokens per sample)."""
    from ..models import param_count

    return cfg.horizon_steps(param_count(cfg), tokens_per_sample(cfg))


def training_flops(cfg: TrainConfig) -> float:
    """Model FLOPs of one config, all seeds: ``6 P`` per training token, ``2 P`` per test token
    at every evaluation, and ``6 P`` per token of each noise minibatch (``noise_batches``); a
    sample holds ``tokens_per_sample`` tokens; the task's target is not counted.

    >>> cfg = TrainConfig(width=16, depth=1, batch_size=8, samples=8 * 10, n_evals=2,
    ...                   n_test=4, eval_batch_size=4, seeds=(0, 1))
    >>> from supercollapse.models import param_count
    >>> p = param_count(cfg)
    >>> training_flops(cfg) == 2 * (6 * p * 8 * 10 + 3 * 2 * p * 4)
    True
    """
    from ..models import param_count
    from .horizon import eval_steps

    p, tokens = param_count(cfg), tokens_per_sample(cfg)
    steps = total_steps(cfg)
    n_evals = len(eval_steps(steps, cfg.n_evals))
    per_seed = 6 * p * cfg.batch_size * steps + n_evals * 2 * p * cfg.n_test
    per_seed += n_evals * cfg.noise_batches * 6 * p * cfg.batch_size
    return float(len(cfg.seeds) * per_seed * tokens)


def plan_groups(configs: Sequence[TrainConfig]) -> list[list[int]]:
    """Indices of ``configs`` trained together: same shape key, steps and evaluation points.

    >>> a = TrainConfig(width=16, depth=1, samples=32 * 10, batch_size=32)
    >>> plan_groups([a, a.replace(width=8), a.replace(lr=1e-2), a.replace(samples=640)])
    [[0, 2], [1], [3]]
    """
    groups: dict[tuple, list[int]] = {}
    for i, c in enumerate(configs):
        c.validate()
        groups.setdefault(_group_key(c, total_steps(c)), []).append(i)
    return list(groups.values())


def train_many(configs: Sequence[TrainConfig], *, devices=None, progress: bool = False,
               checkpoint_dir: str | Path | None = None, checkpoint_every: int = 1,
               data_parallel: int | None = None, draw_ahead: int = 1) -> list[RunResult]:
    """Train every config (all its seeds) and return one :class:`~supercollapse.results.RunResult` per config.

    Configs with the same shapes, steps and evaluation points (:func:`plan_groups`) are
    trained together in one vmapped program, and every group of one shape shares one
    compilation: a learning-rate sweep is ``train_many([cfg.replace(lr=x) for x in lrs])``.

    ``checkpoint_dir``: save an Orbax checkpoint at every ``checkpoint_every``-th evaluation
    point (one sub-directory per group) and resume from the latest one found there.
    ``draw_ahead``: see :class:`Trainer` (the same batches, drawn several steps at a time).
    """
    configs = list(configs)
    out: list[RunResult | None] = [None] * len(configs)
    for group in plan_groups(configs):
        ckpt = None
        if checkpoint_dir is not None:
            ckpt = group_checkpoint_dir(checkpoint_dir, [configs[i] for i in group])
        results = _train_group([configs[i] for i in group], devices=devices,
                               progress=progress, checkpoint_dir=ckpt,
                               checkpoint_every=checkpoint_every, data_parallel=data_parallel,
                               draw_ahead=draw_ahead)
        for i, r in zip(group, results, strict=True):
            out[i] = r
    return out


def train(cfg: TrainConfig, *, devices=None, progress: bool = False,
          checkpoint_dir: str | Path | None = None, checkpoint_every: int = 1,
          data_parallel: int | None = None, draw_ahead: int = 1) -> RunResult:
    """Train every seed of ``cfg`` and return the logged curves at the evaluation points.

    ``checkpoint_dir``: opt-in mid-run checkpoints (see :func:`train_many`); the caller
    deletes the directory once it has stored the result (as :func:`~.sweep.run_sweep` does).
    """
    return _train_group([cfg], devices=devices, progress=progress,
                        checkpoint_dir=checkpoint_dir, checkpoint_every=checkpoint_every,
                        data_parallel=data_parallel, draw_ahead=draw_ahead)[0]


def _train_group(cfgs: list[TrainConfig], *, devices, progress: bool, checkpoint_dir,
                 checkpoint_every: int, data_parallel: int | None,
                 draw_ahead: int = 1) -> list[RunResult]:
    if not (isinstance(checkpoint_every, int) and checkpoint_every >= 1):
        raise ValueError(f"checkpoint_every={checkpoint_every!r} must be a positive integer")
    t_start = time.time()
    trainer = Trainer(cfgs, devices=devices, data_parallel=data_parallel, draw_ahead=draw_ahead)
    total = trainer.total_steps
    steps = eval_steps(total, cfgs[0].n_evals)
    n_runs, n_evals = len(trainer.runs), len(steps)
    probing = cfgs[0].instability_traces
    keys = CURVE_KEYS + (PROBE_KEYS if probing else ())
    logs = {k: np.full((n_runs, n_evals), np.nan) for k in keys}
    diverged = np.zeros(n_runs, bool)
    stopped = np.full(n_runs, -1, np.int64)  # step at which a run was found diverged
    ckpt = None if checkpoint_dir is None else Checkpoints(checkpoint_dir, trainer)
    first = 0 if ckpt is None else ckpt.restore(trainer, logs, diverged, stopped) + 1
    resumed_from = int(steps[first - 1]) if first > 0 else None
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=total, initial=trainer.step, unit="step", leave=False,
                   desc=f"D={cfgs[0].width} x{n_runs} run(s)")

    for i in range(first, n_evals):
        if diverged.all():  # nothing left to train: stop early
            break
        step = int(steps[i])
        if step > trainer.step:
            if bar is not None:
                bar.update(step - trainer.step)
            logs["train_loss"][:, i] = trainer.advance(step)
        logs["test_loss"][:, i], tr_g, tr_u = trainer.evaluate()
        if step > 0:  # the preconditioner is undefined before the first step
            logs["trace_grad"][:, i], logs["trace_pgrad"][:, i] = tr_g, tr_u
        if probing:
            for k, v in trainer.probe().items():
                logs[k][:, i] = v
        finite = np.isfinite(logs["test_loss"][:, i])
        if step > 0:
            finite &= np.isfinite(logs["train_loss"][:, i])
        stopped[~finite & ~diverged] = step
        diverged |= ~finite
        for k in logs:  # a diverged run's curve is NaN from the point it diverged on
            logs[k][diverged, i:] = np.nan
        if ckpt is not None and (i % checkpoint_every == 0 or i == n_evals - 1):
            ckpt.save(i, trainer, logs, diverged, stopped)
    if bar is not None:
        bar.close()
    if ckpt is not None:
        ckpt.close()

    wall = time.time() - t_start
    tokens = trainer.task.tokens_per_sample
    results, row = [], 0
    for c in cfgs:
        rows = slice(row, row + len(c.seeds))
        row += len(c.seeds)
        curves_c = {k: v[rows].copy() for k, v in logs.items()}
        if c.noise_batches == 0:
            curves_c.pop("trace_grad")
            curves_c.pop("trace_pgrad")
        lr, tau = schedule_arrays(c, total, steps)
        samples = steps.astype(np.float64) * c.batch_size
        curves = {"step": steps, "samples": samples,
                  "compute": compute_flops(trainer.n_params, samples * tokens), "lr": lr,
                  "tau": tau, **curves_c}
        done = np.where(diverged[rows], stopped[rows], trainer.step)
        meta = {**provenance(trainer.devices),
                "wall_seconds": wall * len(c.seeds) / n_runs,
                "steps_trained": int(done.max()),
                "program": {"runs": n_runs, "run_ids": [g.run_id() for g in cfgs],
                            "wall_seconds": wall, "mesh": dict(trainer.mesh.shape),
                            # only where it is on: the program drew its batches ahead
                            **({"draw_ahead": draw_ahead} if draw_ahead > 1 else {})}}
        if resumed_from is not None:
            meta["resumed_from_step"] = resumed_from
        results.append(RunResult(c, trainer.n_params, total, curves, diverged[rows].copy(),
                                 meta))
    return results
