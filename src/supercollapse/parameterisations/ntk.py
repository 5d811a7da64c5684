r"""Neural-tangent parameterisation (NTK; Jacot et al. 2018) with Adam rates.

With :math:`\rho = n_0/n` (:mod:`supercollapse.parameterisations.base`):

* embedding: multiplier 1 (:math:`a=0`), the model's init (:math:`b=0`), rate :math:`\eta` (:math:`c=0`);
* hidden: multiplier :math:`\sqrt{n_0/n}` (:math:`a=\tfrac12`), :math:`w \sim N(0, 1/n_0)` at every
  width (:math:`b=0`), rate :math:`\eta\sqrt{n_0/n}` (:math:`c=\tfrac12`);
* readout: multiplier :math:`\sqrt{n_0/n}` (:math:`a=\tfrac12`), :math:`w \sim N(0, 1/n_0)`
  (:math:`b=0`), rate :math:`\eta\sqrt{n_0/n}` (:math:`c=\tfrac12`).

Everett et al. (2024, arXiv 2407.05872, Table 1): unit-variance parameters (here anchored:
variance :math:`1/n_0`, constant in :math:`n`) with a :math:`1/\sqrt{n}` multiplier, so the
effective weights :math:`W = \rho^{1/2} w` start as SP's, :math:`N(0, 1/n)`. It is SP shifted by
:math:`\theta = \tfrac12` on the hidden and readout layers: under Adam with :math:`\epsilon \to 0`
the two train the same network; the gradients of :math:`w` are :math:`\rho^{1/2}` times SP's,
so a fixed :math:`\epsilon` weighs more at width.
"""

from .base import Parameterisation

SPEC = Parameterisation(
    "NTK",
    multiplier={"embedding": 0.0, "hidden": 0.5, "readout": 0.5},
    init={"embedding": 0.0, "hidden": 0.0, "readout": 0.0},
    lr={"embedding": 0.0, "hidden": 0.5, "readout": 0.5},
    readout_init="fan_in",
    reference="Jacot et al. 2018; Everett et al. 2024 (Table 1)",
)
