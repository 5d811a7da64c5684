r"""Adam-atan2 (Everett et al. 2024, arXiv 2407.05872): no epsilon.

.. math:: d_t = a\,\mathrm{atan2}\!\left(\hat m_t,\ \sqrt{\hat v_t}\right), \qquad a = 4/\pi,

elementwise. For :math:`|\hat m| \ll \sqrt{\hat v}` this is :math:`a\,\hat m/\sqrt{\hat v}`
(Adam without epsilon); it is bounded by :math:`a\pi/2` and well defined at
:math:`\hat v = 0`, so no :math:`\epsilon` is needed and nothing depends on its size. The
scale :math:`a = 4/\pi \approx 1.27` (the paper's constant) makes the first step equal to
Adam's, :math:`\pm 1`.

>>> import jax.numpy as jnp
>>> from supercollapse.train.config import TrainConfig
>>> opt = direction(TrainConfig())
>>> g = {"w": jnp.array([3.0, -0.5, 0.0])}
>>> d, _ = opt.update(g, opt.init(g))
>>> [round(float(v), 4) for v in d["w"]]  # first step: atan2(g, |g|) * 4/pi = sign(g)
[1.0, -1.0, 0.0]
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from .base import OptimizerSpec

SCALE = 4.0 / math.pi


class State(NamedTuple):
    count: jax.Array
    mu: optax.Updates
    nu: optax.Updates


def direction(cfg) -> optax.GradientTransformation:
    """Adam's moments (``cfg.b1``, ``cfg.b2``), bias-corrected, combined by atan2."""
    b1, b2 = cfg.b1, cfg.b2

    def init_fn(params):
        return State(jnp.zeros([], jnp.int32), jax.tree.map(jnp.zeros_like, params),
                     jax.tree.map(jnp.zeros_like, params))

    def update_fn(updates, state, params=None):
        del params
        mu = jax.tree.map(lambda m, g: b1 * m + (1 - b1) * g, state.mu, updates)
        nu = jax.tree.map(lambda v, g: b2 * v + (1 - b2) * g * g, state.nu, updates)
        count = optax.safe_increment(state.count)
        c1 = 1 - b1 ** count.astype(jnp.float32)
        c2 = 1 - b2 ** count.astype(jnp.float32)
        out = jax.tree.map(lambda m, v: SCALE * jnp.arctan2(m / c1, jnp.sqrt(v / c2)), mu, nu)
        return out, State(count, mu, nu)

    return optax.GradientTransformation(init_fn, update_fn)


def preconditioner(state: State, peak_lrs, cfg):
    r"""Diagonal :math:`P^{-1/2} = \sqrt{a\,\eta_\text{peak} / \sqrt{\hat v}}`: the small-update
    limit of atan2 (a tiny floor keeps it finite where :math:`\hat v = 0`)."""
    count = jnp.maximum(state.count, 1).astype(jnp.float32)
    correction = 1.0 - cfg.b2 ** count
    return jax.tree.map(lambda nu, lr: jnp.sqrt(SCALE * lr / (jnp.sqrt(nu / correction) + 1e-30)),
                        state.nu, peak_lrs)


SPEC = OptimizerSpec(direction, preconditioner)
