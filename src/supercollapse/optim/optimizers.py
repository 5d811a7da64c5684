r"""Adam with µP per-layer learning rates, composed from Optax transformations.

The update of a weight matrix :math:`W` with fan-in :math:`n` is

.. math:: \Delta W_t = -\,\eta\, \frac{n_\text{base}}{n}\, g(t)\;
          \frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon},

the Adam direction (:func:`optax.scale_by_adam`), times a fixed per-layer multiplier,
times the schedule :math:`g(t)`. Under µP (``mup="on"``) the multiplier is
:math:`n_\text{base}/n` with :math:`n_\text{base}` the same layer's fan-in in the model at
``base_width``: the input projection (fan-in fixed) keeps :math:`\eta`, hidden and readout
layers get :math:`\eta \cdot D_\text{base}/D`. ``mup="off"`` uses :math:`\eta` everywhere;
``mup="frozen"`` uses the multipliers µP gives at ``mup_reference_width`` for every width
(the paper's ablation).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax
from flax import nnx

from ..models import build_model
from ..train.config import TrainConfig
from .schedules import schedule_multiplier


def _fan_ins(cfg: TrainConfig, width: int) -> dict:
    """Fan-in of every weight matrix of the model at ``width`` (shapes only, no compute)."""
    abstract = nnx.eval_shape(lambda: build_model(cfg, jax.random.key(0), width))
    params = nnx.state(abstract, nnx.Param)
    return {path: (leaf.shape[0] if len(leaf.shape) >= 2 else None)
            for path, leaf in jax.tree_util.tree_flatten_with_path(params)[0]}


def lr_multipliers(cfg: TrainConfig, params) -> object:
    """Per-parameter multipliers of the peak learning rate (a pytree like ``params``).

    >>> from supercollapse.train.config import TrainConfig
    >>> cfg = TrainConfig(width=512, depth=1, samples=10**6)
    >>> model = build_model(cfg, jax.random.key(0))
    >>> m = lr_multipliers(cfg, nnx.state(model, nnx.Param))
    >>> sorted({float(v) for v in jax.tree.leaves(m)})
    [0.25, 1.0]
    """
    own = _fan_ins(cfg, cfg.width)
    base = _fan_ins(cfg, cfg.base_width)
    ref = _fan_ins(cfg, cfg.mup_reference_width) if cfg.mup == "frozen" else own

    def mult(path, _leaf):
        if cfg.mup == "off" or own[path] is None:
            return 1.0
        return base[path] / ref[path]

    return jax.tree_util.tree_map_with_path(mult, params)


def scale_by_tree(multipliers) -> optax.GradientTransformation:
    """Multiply each update leaf by a fixed scalar from a pytree of multipliers."""

    def init_fn(params):
        del params
        return optax.EmptyState()

    def update_fn(updates, state, params=None):
        del params
        return jax.tree.map(lambda u, m: u * m, updates, multipliers), state

    return optax.GradientTransformation(init_fn, update_fn)


def make_optimizer(cfg: TrainConfig, params, total_steps: int):
    """Adam (the paper's betas and epsilon) with µP per-layer rates and a schedule.

    Returns ``(optimizer, peak_lrs)`` where ``peak_lrs`` is the per-parameter peak learning
    rate :math:`\\eta\\, n_\\text{base}/n` (used for Adam's preconditioner in
    :mod:`supercollapse.train.noise_traces`).
    """
    peak_lrs = jax.tree.map(lambda m: cfg.lr * m, lr_multipliers(cfg, params))
    warmup = int(round(cfg.warmup_frac * total_steps))

    def schedule(count):
        return -schedule_multiplier(cfg.schedule, count, total_steps, cfg.decay_frac, warmup)

    optimizer = optax.chain(
        optax.scale_by_adam(b1=cfg.b1, b2=cfg.b2, eps=cfg.eps),
        scale_by_tree(peak_lrs),
        optax.scale_by_schedule(schedule),
    )
    return optimizer, peak_lrs


def adam_preconditioner(opt_state, peak_lrs, cfg: TrainConfig):
    r"""Diagonal :math:`P^{-1/2} = \sqrt{\eta_\text{peak} / (\sqrt{\hat v} + \epsilon)}`.

    :math:`\hat v` is Adam's bias-corrected second moment read from ``opt_state``; the
    preconditioned gradient is :math:`u = P^{-1/2} g` (the paper's definition).
    """
    adam = opt_state[0]
    count = jnp.maximum(adam.count, 1).astype(jnp.float32)
    correction = 1.0 - cfg.b2 ** count
    return jax.tree.map(
        lambda nu, lr: jnp.sqrt(lr / (jnp.sqrt(nu / correction) + cfg.eps + 1e-30)),
        adam.nu, peak_lrs)
