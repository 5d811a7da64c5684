r"""Learning-rate schedules, as multipliers of the peak learning rate.

Every schedule is a decay shape :math:`g(s)` of the decay-phase fraction
:math:`s \in [0, 1]`, applied over the last ``decay_frac`` of training:

.. math:: s(t) = \mathrm{clip}\!\left(\frac{t - (1-f)T}{fT}, 0, 1\right),
          \qquad \eta(t)/\eta_0 = w(t)\, g(s(t)),

with :math:`T` the number of steps, :math:`f` the decay fraction and :math:`w(t)` an
optional linear warmup, :math:`w(t) = \min(1, (t+1)/T_w)`. The shapes are the paper's.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

SHAPES: dict[str, Callable] = {
    "constant": lambda s: jnp.ones_like(s),
    "linear": lambda s: 1.0 - s,
    "cosine": lambda s: 0.5 * (1.0 + jnp.cos(jnp.pi * s)),
    "multicosine": lambda s: 0.5 * (1.0 + jnp.cos(3.0 * jnp.pi * s)),
    "exponential": lambda s: 10.0 ** (-s),
    "power": lambda s: (1.0 - s) ** 2,
    "quadratic": lambda s: 1.0 - s ** 2,
}


def schedule_multiplier(name: str, step, total_steps: int, decay_frac: float = 1.0,
                        warmup_steps: int = 0):
    """The multiplier :math:`\\eta(t)/\\eta_0` at ``step`` (array or scalar), with the
    schedule as Python constants (the logged learning-rate curves use it; the compiled
    training step uses :func:`traced_multiplier`, equal to float32 rounding).

    >>> import numpy as np
    >>> m = schedule_multiplier("linear", np.array([0, 50, 75, 100]), 100, decay_frac=0.5)
    >>> np.round(np.asarray(m), 3).tolist()
    [1.0, 1.0, 0.5, 0.0]
    """
    if name not in SHAPES:
        raise ValueError(f"unknown schedule {name!r}; choose one of {sorted(SHAPES)}")
    t = jnp.asarray(step, dtype=jnp.float32)
    decay_len = max(decay_frac * total_steps, 1e-9)
    s = jnp.clip((t - (total_steps - decay_len)) / decay_len, 0.0, 1.0)
    mult = SHAPES[name](s)
    if warmup_steps > 0:
        mult = mult * jnp.minimum(1.0, (t + 1.0) / warmup_steps)
    return mult


def schedule_params(name: str, total_steps: int, decay_frac: float = 1.0,
                    warmup_steps: int = 0) -> dict[str, np.ndarray]:
    """A schedule as numbers: the shape's index in ``SHAPES``, decay start and length
    (computed in float64 on the host, then rounded to float32) and warmup steps.

    These are inputs of the compiled training step, so runs that differ only in their
    schedule share one compilation (:func:`traced_multiplier`).

    >>> {k: float(v) for k, v in schedule_params("cosine", 100, 0.2).items()}
    {'shape': 2.0, 'decay_start': 80.0, 'inv_decay_len': 0.05000000074505806, 'warmup': 0.0, 'inv_warmup': 1.0}
    """
    if name not in SHAPES:
        raise ValueError(f"unknown schedule {name!r}; choose one of {sorted(SHAPES)}")
    decay_len = max(decay_frac * total_steps, 1e-9)
    # reciprocals in float32: what XLA folds a division by a constant into (bit for bit)
    return {"shape": np.int32(list(SHAPES).index(name)),
            "decay_start": np.float32(total_steps - decay_len),
            "inv_decay_len": np.float32(1.0) / np.float32(decay_len),
            "warmup": np.float32(warmup_steps),
            "inv_warmup": np.float32(1.0) / np.float32(max(warmup_steps, 1))}


def traced_multiplier(params: dict, step) -> jax.Array:
    r""":math:`\eta(t)/\eta_0` from :func:`schedule_params` (which may be traced arrays): the
    shape is chosen with ``lax.switch``, so one compiled program serves every schedule.

    >>> float(traced_multiplier(schedule_params("linear", 100, 0.5), 75))
    0.5
    """
    t = jnp.asarray(step, dtype=jnp.float32)
    s = jnp.clip((t - params["decay_start"]) * params["inv_decay_len"], 0.0, 1.0)
    mult = jax.lax.switch(params["shape"], list(SHAPES.values()), s)
    ramp = jnp.minimum(1.0, (t + 1.0) * params["inv_warmup"])
    return jnp.where(params["warmup"] > 0, mult * ramp, mult)
