r"""µP per-layer learning rates and the optimiser of a config.

The update of a weight matrix :math:`W` with fan-in :math:`n` is

.. math:: \Delta W_t = -\,\eta\, \frac{n_\text{base}}{n}\, g(t)\; d_t,

the optimiser's direction :math:`d_t` (Adam: :math:`\hat m_t/(\sqrt{\hat v_t}+\epsilon)`; see
``OPTIMIZERS``), times a fixed per-layer multiplier, times the
schedule :math:`g(t)`. The fan-in :math:`n` of each parameter is declared by the model
(``mup_fan_in``; ``None`` for parameters that are not width-scaled, which keep :math:`\eta`).
Under µP (``mup="on"``) the multiplier is :math:`n_\text{base}/n` with :math:`n_\text{base}`
the same parameter's fan-in in the model at ``base_width``: the input projection (fan-in
fixed) keeps :math:`\eta`, hidden and readout layers get :math:`\eta \cdot D_\text{base}/D`.
``mup="off"`` uses :math:`\eta` everywhere; ``mup="frozen"`` uses the multipliers µP gives
at ``mup_reference_width`` for every width (the paper's ablation).
"""

from __future__ import annotations

import jax
import numpy as np
from flax import nnx

from ..models import build_model
from ..train.config import TrainConfig
from . import OPTIMIZERS
from .base import Hyper, chain
from .schedules import schedule_params

__all__ = ["adam_preconditioner", "fan_ins", "hyperparameters", "lr_multipliers",
           "make_optimizer"]


def path_names(path) -> tuple[str, ...]:
    """A pytree path as a tuple of strings, e.g. ``("blocks", "0", "fc1", "kernel")``."""
    out = []
    for k in path:
        for attr in ("key", "name", "idx"):
            if hasattr(k, attr):
                out.append(str(getattr(k, attr)))
                break
    return tuple(n for n in out if n != "value")


def fan_ins(cfg: TrainConfig, width: int) -> dict:
    """µP fan-in of every parameter of the model at ``width``, as the model declares it
    (``model.mup_fan_in(path, shape)``; shapes only, no compute)."""
    abstract = nnx.eval_shape(lambda: build_model(cfg, jax.random.key(0), width))
    params = nnx.state(abstract, nnx.Param)
    return {path: abstract.mup_fan_in(path_names(path), tuple(leaf.shape))
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
    own = fan_ins(cfg, cfg.width)
    base = fan_ins(cfg, cfg.base_width)
    ref = fan_ins(cfg, cfg.mup_reference_width) if cfg.mup == "frozen" else own

    def mult(path, _leaf):
        if cfg.mup == "off" or own[path] is None:
            return 1.0
        return base[path] / ref[path]

    return jax.tree_util.tree_map_with_path(mult, params)


def hyperparameters(cfg: TrainConfig, params, total_steps: int) -> Hyper:
    """The shape-free inputs of the compiled update for one run of ``cfg``, as float32/int32
    numpy arrays: per-parameter peak rates :math:`\\eta\\, n_\\text{base}/n` (products taken
    in float64, then rounded, as a Python constant would be) and the schedule's numbers."""
    warmup = int(round(cfg.warmup_frac * total_steps))
    return {"peak_lrs": jax.tree.map(lambda m: np.float32(cfg.lr * m),
                                     lr_multipliers(cfg, params)),
            "schedule": schedule_params(cfg.schedule, total_steps, cfg.decay_frac, warmup)}


def make_optimizer(cfg: TrainConfig, params, total_steps: int):
    """The config's optimiser (``cfg.optimizer``) with µP per-layer rates and its schedule.

    Returns ``(optimizer, peak_lrs)`` where ``peak_lrs`` is the per-parameter peak learning
    rate :math:`\\eta\\, n_\\text{base}/n` (used for the preconditioner in
    :mod:`supercollapse.train.noise_traces`).
    """
    hyper = hyperparameters(cfg, params, total_steps)
    return chain(OPTIMIZERS[cfg.optimizer], cfg, hyper), hyper["peak_lrs"]


def adam_preconditioner(opt_state, peak_lrs, cfg: TrainConfig):
    r"""The preconditioner :math:`P^{-1/2}` of ``cfg.optimizer`` read from the state of
    :func:`make_optimizer` (for Adam :math:`\sqrt{\eta_\text{peak} / (\sqrt{\hat v} + \epsilon)}`)."""
    return OPTIMIZERS[cfg.optimizer].preconditioner(opt_state[0], peak_lrs, cfg)

