r"""Adam (the default): :math:`d_t = \hat m_t / (\sqrt{\hat v_t} + \epsilon)`.

The paper's optimiser, with its betas and epsilon from the config (``b1``, ``b2``, ``eps``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from .base import OptimizerSpec


def direction(cfg) -> optax.GradientTransformation:
    return optax.scale_by_adam(b1=cfg.b1, b2=cfg.b2, eps=cfg.eps)


def preconditioner(state, peak_lrs, cfg):
    r"""Diagonal :math:`P^{-1/2} = \sqrt{\eta_\text{peak} / (\sqrt{\hat v} + \epsilon)}`.

    :math:`\hat v` is Adam's bias-corrected second moment (``state`` is
    :func:`optax.scale_by_adam`'s state).
    """
    count = jnp.maximum(state.count, 1).astype(jnp.float32)
    correction = 1.0 - cfg.b2 ** count
    return jax.tree.map(
        lambda nu, lr: jnp.sqrt(lr / (jnp.sqrt(nu / correction) + cfg.eps + 1e-30)),
        state.nu, peak_lrs)


SPEC = OptimizerSpec(direction, preconditioner)
