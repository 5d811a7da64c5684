r"""Standard parameterisation (SP) with Everett et al.'s per-layer Adam rates.

With :math:`\rho = n_0/n` (:mod:`supercollapse.parameterisations.base`):

* embedding: multiplier 1 (:math:`a=0`), the model's init (:math:`b=0`), rate :math:`\eta` (:math:`c=0`);
* hidden: multiplier 1 (:math:`a=0`), :math:`N(0, 1/\text{fan-in})` (:math:`b=\tfrac12`), rate
  :math:`\eta\, n_0/n` (:math:`c=1`);
* readout: multiplier 1 (:math:`a=0`), :math:`N(0, 1/n)` (:math:`b=\tfrac12`), rate
  :math:`\eta\, n_0/n` (:math:`c=1`).

Everett et al. (2024, arXiv 2407.05872, Table 1, "full alignment"): fan-in initialisation
everywhere (logits of order one at initialisation, :math:`a + b = 1/2` at the readout) and the
per-layer Adam rates that keep every layer's update of its output of order one. It differs from
µP only in the readout's initialisation. SP as it is usually run, one global rate for every
layer, is this entry with ``mup="off"`` (:math:`c = 0` everywhere).
"""

from .base import Parameterisation

SPEC = Parameterisation(
    "standard",
    multiplier={"embedding": 0.0, "hidden": 0.0, "readout": 0.0},
    init={"embedding": 0.0, "hidden": 0.5, "readout": 0.5},
    lr={"embedding": 0.0, "hidden": 1.0, "readout": 1.0},
    readout_init="fan_in",
    reference="Everett et al. 2024 (Table 1)",
)
