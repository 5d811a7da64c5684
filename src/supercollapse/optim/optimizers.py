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

Other parameterisations (``TrainConfig.parameterisation``, :mod:`supercollapse.parameterisations`)
give the parameter of role :math:`r` the rate :math:`\eta\,(n_\text{base}/n)^{c_r}` (µP:
:math:`c = 0` for the embedding, 1 for hidden matrices and the readout, the rule above);
``mup`` keeps its meaning for all of them: ``"off"`` is :math:`c = 0`, ``"frozen"`` the rates at
``mup_reference_width``. For a model that declares roles (``width_role``) every
parameterisation's rates come from its roles; for one that declares only fan-ins, µP's from them.
"""

from __future__ import annotations

import jax
import numpy as np
from flax import nnx

from ..models import build_model, parameterised
from ..train.config import TrainConfig
from . import OPTIMIZERS
from .base import Hyper, chain
from .schedules import schedule_params

__all__ = ["adam_preconditioner", "fan_in_multipliers", "fan_ins", "gradient_scale",
           "hyperparameters", "lr_multipliers", "make_optimizer"]


path_names = parameterised.path_names


def fan_ins(cfg: TrainConfig, width: int) -> dict:
    """µP fan-in of every parameter of the model at ``width``, as the model declares it
    (``model.mup_fan_in(path, shape)``; shapes only, no compute)."""
    abstract = nnx.eval_shape(lambda: build_model(cfg, jax.random.key(0), width))
    params = nnx.state(abstract, nnx.Param)
    return {path: abstract.mup_fan_in(path_names(path), tuple(leaf.shape))
            for path, leaf in jax.tree_util.tree_flatten_with_path(params)[0]}


def lr_multipliers(cfg: TrainConfig, params) -> object:
    """Per-parameter multipliers of the peak learning rate (a pytree like ``params``):
    :math:`(n_\text{base}/n)^{c}` of each parameter's role under ``cfg.parameterisation``.

    >>> from supercollapse.train.config import TrainConfig
    >>> cfg = TrainConfig(width=512, depth=1, samples=10**6)
    >>> model = build_model(cfg, jax.random.key(0))
    >>> m = lr_multipliers(cfg, nnx.state(model, nnx.Param))
    >>> sorted({float(v) for v in jax.tree.leaves(m)})
    [0.25, 1.0]
    """
    abstract = nnx.eval_shape(lambda: build_model(cfg, jax.random.key(0)))
    if parameterised.declares_roles(abstract):
        spec = parameterised.spec(cfg)
        role_of = parameterised.roles(abstract)
        width = cfg.mup_reference_width if cfg.mup == "frozen" else cfg.width
        rho = parameterised.ratio(cfg, width)
        return jax.tree_util.tree_map_with_path(
            lambda path, _: 1.0 if cfg.mup == "off" else spec.lr_multiplier(role_of[path], rho),
            params)
    parameterised.check_roles(cfg, abstract)
    return fan_in_multipliers(cfg, params)


def fan_in_multipliers(cfg: TrainConfig, params) -> object:
    """µP's multipliers from the declared fan-ins: :math:`n_\text{base}/n` per parameter (of
    the model at ``mup_reference_width`` for ``mup="frozen"``), 1 for ``mup="off"`` and for
    parameters that are not width-scaled. :func:`lr_multipliers` uses it for a model that
    declares no roles; for the package's models it equals µP's role rule exactly."""
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
    in float64, then rounded, as a Python constant would be), the schedule's numbers and, where
    the parameterisation has multipliers other than 1, the forward multipliers
    :math:`\\rho^{a}` (``"multipliers"``, :func:`supercollapse.models.parameterised.effective`)."""
    warmup = int(round(cfg.warmup_frac * total_steps))
    hyper = {"peak_lrs": jax.tree.map(lambda m: np.float32(cfg.lr * m),
                                      lr_multipliers(cfg, params)),
             "schedule": schedule_params(cfg.schedule, total_steps, cfg.decay_frac, warmup)}
    if cfg.weight_decay > 0:  # no term (and the same program as before) without decay
        hyper["weight_decay"] = np.float32(cfg.weight_decay)
    multipliers = parameterised.forward_multipliers(cfg, params)
    if multipliers is not None:  # W = rho^a w (parameterised.effective); none under µP
        hyper["multipliers"] = multipliers
    return hyper


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


def gradient_scale(opt_state, cfg: TrainConfig, run: int | None = None) -> dict[str, float]:
    r"""The gradient scale that Adam's :math:`\epsilon` competes with: per parameter, the median
    over its entries of :math:`\sqrt{\hat v}`, the root of the bias-corrected second moment
    :math:`\hat v = v_t / (1 - \beta_2^t)` of an Adam-like direction (``adam``, ``adam_atan2``).

    Adam's direction :math:`\hat m/(\sqrt{\hat v} + \epsilon)` is that of Adam without
    :math:`\epsilon` while :math:`\sqrt{\hat v} \gg \epsilon`; where :math:`\sqrt{\hat v}`
    falls to :math:`\epsilon` the update shrinks. ``opt_state``: the state of
    :func:`make_optimizer`'s chain, or the engine's stacked states with ``run`` the index of one
    run. Keys are the parameters' paths (``"blocks/0/fc1/kernel"``).
    """
    state = opt_state[0]
    if run is not None:
        state = jax.tree.map(lambda a: a[run], state)
    if not hasattr(state, "nu"):
        raise ValueError(f"gradient_scale: optimizer {cfg.optimizer!r} keeps no second moment")
    t = max(int(state.count), 1)
    correction = 1.0 - cfg.b2 ** t
    return {"/".join(path_names(path)): float(np.median(np.sqrt(np.asarray(nu) / correction)))
            for path, nu in jax.tree_util.tree_flatten_with_path(state.nu)[0]}
