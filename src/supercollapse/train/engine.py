"""The training engine: one compiled program trains several seeds of one config.

The loop is deliberately small (nanoGPT/picodo style). What makes it fast:

* the steps between two evaluations run inside one compiled ``lax.fori_loop``, so Python
  touches the device only at evaluation points;
* all seeds of a config are trained by the same program, ``jax.vmap``-ed over seeds
  (small models leave an accelerator idle; a batch of seeds fills it);
* batches are sharded over the devices along the batch axis (``jax.sharding``), with the
  parameters replicated, so the same code runs data-parallel on a multi-GPU host or a TPU
  slice. Batches are generated on the device from keys, so under ``jax.distributed``
  (multi-host) every process runs this same program over the global mesh.

What is logged at each evaluation point (see :func:`train`): step, samples, compute
(6 P t), learning rate, tau (summed learning rate), train loss (mean over the steps since
the last evaluation), test loss, and optionally the traces of the minibatch covariance of
the raw and the Adam-preconditioned gradient (:mod:`supercollapse.train.noise_traces`).
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from ..models import build_model, count_params
from ..optim.optimizers import adam_preconditioner, make_optimizer
from ..optim.schedules import schedule_multiplier
from ..provenance import provenance
from ..results import RunResult
from ..tasks import build_task
from .config import ConfigError, TrainConfig
from .horizon import compute_flops, eval_steps
from .noise_traces import gradient_noise_traces


def schedule_arrays(cfg: TrainConfig, total_steps: int, steps: np.ndarray):
    """Learning rate eta(t) and tau(t) = sum_{s<t} eta(s) at the given steps (float64)."""
    warmup = int(round(cfg.warmup_frac * total_steps))
    mult = np.asarray(schedule_multiplier(cfg.schedule, np.arange(total_steps + 1),
                                          total_steps, cfg.decay_frac, warmup), np.float64)
    tau = np.concatenate([[0.0], np.cumsum(cfg.lr * mult[:-1])])
    return cfg.lr * mult[steps], tau[steps]


def _mesh(devices) -> jax.sharding.Mesh:
    return jax.sharding.Mesh(np.asarray(devices), ("data",))


class Trainer:
    """The state of one config's training (all seeds) and its two compiled functions.

    ``advance(stop)`` trains every seed from the current step to ``stop`` in one compiled
    loop and returns the mean train loss per seed; ``evaluate()`` returns the test loss and
    the gradient-noise traces per seed. :func:`train` strings them together at the
    evaluation points; benchmarks and notebooks can drive them directly.

    ``devices`` (default: all devices) form a 1-D data-parallel mesh; ``batch_size`` must be
    divisible by their number.
    """

    def __init__(self, cfg: TrainConfig, *, devices=None):
        self.cfg = cfg.validate()
        self.devices = list(jax.devices() if devices is None else devices)
        if cfg.batch_size % len(self.devices):
            raise ConfigError(f"TrainConfig.batch_size={cfg.batch_size} must be divisible by "
                              f"the number of devices ({len(self.devices)}) for data-parallel "
                              "training")
        mesh = _mesh(self.devices)
        replicated = NamedSharding(mesh, P())
        batch_sharding = NamedSharding(mesh, P("data"))

        task = build_task(cfg)
        models = [build_model(cfg, jax.random.fold_in(jax.random.key(s), 0)) for s in cfg.seeds]
        self.n_params = count_params(models[0])
        self.total_steps = cfg.horizon_steps(self.n_params)
        graphdef, first = nnx.split(models[0], nnx.Param)
        params = jax.tree.map(lambda *a: jnp.stack(a),
                              *[nnx.split(m, nnx.Param)[1] for m in models])
        optimizer, peak_lrs = make_optimizer(cfg, first, self.total_steps)
        opt_state = jax.vmap(optimizer.init)(params)
        data_keys = jnp.stack([jax.random.fold_in(jax.random.key(cfg.train_seed), s)
                               for s in cfg.seeds])
        self.params, self.opt_state = jax.device_put((params, opt_state), replicated)
        self.data_keys = jax.device_put(data_keys, replicated)
        x_test, y_test = jax.device_put(task.test_set(), replicated)
        self.step = 0
        self.graphdef = graphdef

        def loss_fn(p, x, y):
            return jnp.mean(task.loss(nnx.merge(graphdef, p)(x), y))

        def sample(key):
            x, y = task.train_batch(key, cfg.batch_size)
            return (jax.lax.with_sharding_constraint(x, batch_sharding),
                    jax.lax.with_sharding_constraint(y, batch_sharding))

        def one_seed_segment(p, o, key, start, stop):
            def body(t, carry):
                p, o, loss_sum = carry
                x, y = sample(jax.random.fold_in(key, t))
                loss, grads = jax.value_and_grad(loss_fn)(p, x, y)
                updates, o = optimizer.update(grads, o, p)
                return optax.apply_updates(p, updates), o, loss_sum + loss

            p, o, loss_sum = jax.lax.fori_loop(start, stop, body, (p, o, jnp.zeros(())))
            return p, o, loss_sum / jnp.maximum(stop - start, 1)

        self._segment = jax.jit(jax.vmap(one_seed_segment, in_axes=(0, 0, 0, None, None)),
                                donate_argnums=(0, 1))

        n_chunks = max(1, cfg.n_test // min(cfg.eval_batch_size, cfg.n_test))
        per_chunk = cfg.n_test // n_chunks
        xs = x_test[: n_chunks * per_chunk].reshape(n_chunks, per_chunk, -1)
        ys = y_test[: n_chunks * per_chunk].reshape(n_chunks, per_chunk)

        def one_seed_eval(p, o, noise_key):
            test_loss = jnp.mean(jax.lax.map(lambda xy: loss_fn(p, *xy), (xs, ys)))
            if cfg.noise_batches == 0:
                return test_loss, jnp.nan, jnp.nan
            pre = adam_preconditioner(o, peak_lrs, cfg)
            tr_g, tr_u = gradient_noise_traces(jax.grad(loss_fn), p, pre, sample, noise_key,
                                               cfg.noise_batches, cfg.batch_size)
            return test_loss, tr_g, tr_u

        self._evaluate = jax.jit(jax.vmap(one_seed_eval, in_axes=(0, 0, None)))
        self._noise_root = jax.random.key(cfg.test_seed + 1)

    def advance(self, stop: int) -> np.ndarray:
        """Train every seed up to step ``stop``; return each seed's mean train loss."""
        if not self.step < stop <= self.total_steps:
            raise ValueError(f"advance: stop={stop} must lie in ({self.step}, "
                             f"{self.total_steps}]")
        self.params, self.opt_state, loss = self._segment(
            self.params, self.opt_state, self.data_keys, jnp.int32(self.step), jnp.int32(stop))
        self.step = stop
        return np.asarray(loss)

    def evaluate(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Test loss and (raw, preconditioned) gradient-noise traces, one value per seed."""
        key = jax.random.fold_in(self._noise_root, self.step)
        return tuple(np.asarray(a) for a in self._evaluate(self.params, self.opt_state, key))

    def model(self, seed_index: int = 0) -> nnx.Module:
        """The trained model of one seed, as an NNX module."""
        one = jax.tree.map(lambda a: a[seed_index], self.params)
        return nnx.merge(self.graphdef, one)


def train(cfg: TrainConfig, *, devices=None, progress: bool = False) -> RunResult:
    """Train every seed of ``cfg`` and return the logged curves at the evaluation points."""
    t_start = time.time()
    trainer = Trainer(cfg, devices=devices)
    total = trainer.total_steps
    steps = eval_steps(total, cfg.n_evals)
    n_seeds, n_evals = len(cfg.seeds), len(steps)
    logs = {k: np.full((n_seeds, n_evals), np.nan)
            for k in ("train_loss", "test_loss", "trace_grad", "trace_pgrad")}
    diverged = np.zeros(n_seeds, bool)
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=total, desc=f"D={cfg.width} {cfg.schedule}", unit="step", leave=False)

    for i, step in enumerate(steps):
        if step > trainer.step:
            if bar is not None:
                bar.update(int(step - trainer.step))
            logs["train_loss"][:, i] = trainer.advance(int(step))
        logs["test_loss"][:, i], tr_g, tr_u = trainer.evaluate()
        if step > 0:  # Adam's preconditioner is undefined before the first step
            logs["trace_grad"][:, i], logs["trace_pgrad"][:, i] = tr_g, tr_u
        finite = np.isfinite(logs["test_loss"][:, i])
        if step > 0:
            finite &= np.isfinite(logs["train_loss"][:, i])
        diverged |= ~finite
        for k in logs:  # a diverged seed's curve is NaN from the point it diverged on
            logs[k][diverged, i:] = np.nan
        if diverged.all():  # nothing left to train: stop early
            break
    if bar is not None:
        bar.close()
    if cfg.noise_batches == 0:
        logs.pop("trace_grad")
        logs.pop("trace_pgrad")

    lr, tau = schedule_arrays(cfg, total, steps)
    samples = steps.astype(np.float64) * cfg.batch_size
    curves = {"step": steps, "samples": samples,
              "compute": compute_flops(trainer.n_params, samples), "lr": lr, "tau": tau, **logs}
    meta = {**provenance(trainer.devices), "wall_seconds": time.time() - t_start,
            "steps_trained": trainer.step}
    return RunResult(cfg, trainer.n_params, total, curves, diverged, meta)
