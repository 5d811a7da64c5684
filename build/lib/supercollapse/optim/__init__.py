"""Optimisers, looked up by name, with µP per-layer learning rates and the paper's schedules.

* ``OPTIMIZERS``: one module per optimiser (:mod:`.adam`, :mod:`.adam_atan2`), each
  giving an :class:`~.base.OptimizerSpec` (update direction + noise-trace preconditioner). To
  add one, write the module and add one line here.
* :mod:`.optimizers`: µP multipliers from the models' declared fan-ins, the per-run
  hyperparameters the engine feeds to its compiled step, :func:`~.optimizers.make_optimizer`.
* :mod:`.schedules`: learning-rate schedules.
"""

from __future__ import annotations

from . import adam, adam_atan2
from .base import OptimizerSpec

OPTIMIZERS: dict[str, OptimizerSpec] = {
    "adam": adam.SPEC,
    "adam_atan2": adam_atan2.SPEC,
}
