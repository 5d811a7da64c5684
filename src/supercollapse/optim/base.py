r"""What every optimiser of the registry shares: µP per-layer peak rates and the schedule.

An optimiser is an :class:`OptimizerSpec`: a *direction* (an Optax transformation whose
update is not yet scaled by any learning rate, e.g. Adam's :math:`\hat m/(\sqrt{\hat v}+\epsilon)`)
and the *preconditioner* the gradient-noise trace reads from that direction's state. The
engine chains it with the per-parameter peak rates and the schedule,

.. math:: \Delta\theta_t = -\,\eta_\text{layer}\; g(t)\; d_t,

where :math:`\eta_\text{layer}` and the schedule's parameters are **inputs** of the chain
(``Hyper``, arrays that may be traced), not constants: runs that differ only in them
share one compiled program.

With ``TrainConfig.weight_decay`` :math:`\lambda > 0` the weight matrices also decay,
decoupled from the direction (Loshchilov and Hutter's AdamW),

.. math:: \Delta W_t = -\,g(t)\,\bigl(\eta_\text{layer}\, d_t + \lambda\, W_t\bigr)
   \quad\text{(independent)}, \qquad
   \Delta W_t = -\,g(t)\,\eta_\text{layer}\,\bigl(d_t + \lambda\, W_t\bigr)
   \quad\text{(coupled)}.

Independent decay (Wortsman et al. 2023) shrinks the weights by the same fraction per step at
every learning rate; coupled decay (PyTorch's and Optax's ``adamw``) by more at higher rates.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import optax

from .schedules import traced_multiplier

# Per-run hyperparameters of the update, all arrays (optimizers.hyperparameters):
# {"peak_lrs": a pytree like the parameters, "schedule": schedules.schedule_params(...)}
Hyper = dict[str, Any]


@dataclass(frozen=True)
class OptimizerSpec:
    """One entry of ``OPTIMIZERS``.

    ``direction(cfg)``: the unscaled update rule (an Optax transformation; its state comes
    first in the chain). ``preconditioner(direction_state, peak_lrs, cfg)``: the diagonal
    :math:`P^{-1/2}` of the preconditioned gradient :math:`u = P^{-1/2} g`
    (:mod:`supercollapse.train.noise_traces`), a pytree like the parameters.
    """

    direction: Callable[[Any], optax.GradientTransformation]
    preconditioner: Callable[[Any, Any, Any], Any]


def scale_by_rate(peak_lrs, schedule: dict, weight_decay=None,
                  coupled: bool = False) -> optax.GradientTransformation:
    r"""Multiply each update leaf by :math:`-g(t)\,\eta_\text{leaf}`, one scalar per leaf, and
    with ``weight_decay`` :math:`\lambda` (an array) add :math:`-g(t)\,\lambda\,W` (independent)
    or :math:`-g(t)\,\eta_\text{leaf}\,\lambda\,W` (``coupled``) to every weight matrix
    (parameters of two or more dimensions; gains and biases do not decay).

    The scalar is formed first and then applied, which is also what XLA makes of
    ``u * peak * -g(t)`` when ``peak`` is a constant: runs bit for bit like it. Without
    ``weight_decay`` nothing else enters the program.
    """

    def init_fn(params):
        del params
        return optax.ScaleByScheduleState(count=jnp.zeros([], jnp.int32))

    def update_fn(updates, state, params=None):
        g = traced_multiplier(schedule, state.count)
        step = -g
        updates = jax.tree.map(lambda u, lr: u * (step * lr).astype(u.dtype), updates, peak_lrs)
        if weight_decay is not None:
            if params is None:
                raise ValueError("weight decay needs the parameters: call "
                                 "update(grads, state, params)")
            decay = g * weight_decay

            def one(u, w, lr):
                rate = decay * lr if coupled else decay
                return u - (rate * w).astype(u.dtype) if w.ndim >= 2 else u

            updates = jax.tree.map(one, updates, params, peak_lrs)
        return updates, optax.ScaleByScheduleState(count=optax.safe_increment(state.count))

    return optax.GradientTransformation(init_fn, update_fn)


def chain(spec: OptimizerSpec, cfg, hyper: Hyper) -> optax.GradientTransformation:
    """``direction -> x (-schedule(step) * peak rate of each parameter)``, with the weight
    decay where the config has one (``hyper["weight_decay"]``)."""
    return optax.chain(spec.direction(cfg),
                       scale_by_rate(hyper["peak_lrs"], hyper["schedule"],
                                     hyper.get("weight_decay"),
                                     cfg.weight_decay_mode == "coupled"))
