"""Parameterisations, looked up by name (``TrainConfig.parameterisation``).

A parameterisation says, for each kind of layer (embedding, hidden, readout), how three things
scale with the width :math:`n` relative to the base width :math:`n_0`: the parameter multiplier,
the initialisation scale and Adam's learning rate (Everett et al. 2024, arXiv 2407.05872; the
rules are in :mod:`supercollapse.parameterisations.base`, one table per entry in its module). The models declare the role of
each parameter (``width_role(path, shape)``); :mod:`supercollapse.models.parameterised` turns
roles and exponents into per-parameter initial scales and multipliers, and
:mod:`supercollapse.optim.optimizers` into per-parameter rates.

* ``"mup"`` (the default, :mod:`supercollapse.parameterisations.mup`): µP as the package always ran it (``mup="on"``);
* ``"standard"`` (:mod:`supercollapse.parameterisations.standard`), ``"ntk"`` (:mod:`supercollapse.parameterisations.ntk`), ``"mean_field"``
  (:mod:`supercollapse.parameterisations.mean_field`).

``TrainConfig.mup`` still chooses how the rates follow the width, now for every
parameterisation: ``"on"`` the entry's exponents :math:`c`, ``"off"`` one global rate
(:math:`c = 0`), ``"frozen"`` the entry's rates at ``mup_reference_width`` for every width.

To add one, write a module with a ``SPEC`` (:class:`~supercollapse.parameterisations.base.Parameterisation`) and add one line
here. This package imports no JAX.
"""

from __future__ import annotations

from . import mean_field, mup, ntk, standard
from .base import ROLES as ROLES
from .base import Parameterisation

#: The parameterisations by name, the values ``TrainConfig.parameterisation`` takes.
PARAMETERISATIONS: dict[str, Parameterisation] = {
    "mup": mup.SPEC,
    "standard": standard.SPEC,
    "ntk": ntk.SPEC,
    "mean_field": mean_field.SPEC,
}

# ROLES and Parameterisation are documented in .base (re-exported here for convenience)
__all__ = ["PARAMETERISATIONS"]
