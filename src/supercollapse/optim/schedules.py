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

import jax.numpy as jnp

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
    """The multiplier :math:`\\eta(t)/\\eta_0` at ``step`` (array or scalar).

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
