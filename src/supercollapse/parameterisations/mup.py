r"""µP, the package's default (Yang & Hu 2021; Yang et al. 2022), with Adam.

With :math:`\rho = n_0/n` (:mod:`supercollapse.parameterisations.base`):

* embedding: multiplier 1 (:math:`a=0`), the model's init (:math:`b=0`), rate :math:`\eta` (:math:`c=0`);
* hidden: multiplier 1 (:math:`a=0`), :math:`N(0, 1/\text{fan-in})` (:math:`b=\tfrac12`), rate
  :math:`\eta\, n_0/n` (:math:`c=1`);
* readout: multiplier 1 (:math:`a=0`), zero, rate :math:`\eta\, n_0/n` (:math:`c=1`).

This is ``mup="on"`` exactly as the package always ran it: every multiplier 1, the readout
zero-initialised (Yang et al. 2022 recommend it; it is the limit of µP's readout variance
:math:`1/n^2`), per-layer rates :math:`\eta\, n_\text{base}/\text{fan-in}`. Everett et al.
(2024, arXiv 2407.05872, Table 1) write µP with :math:`a = (-\tfrac12, 0, \tfrac12)`,
:math:`b = (\tfrac12, \tfrac12, \tfrac12)`, :math:`c = (\tfrac12, 1, \tfrac12)`; the shift
:math:`\theta = -a` of each layer (:mod:`supercollapse.parameterisations.base`) turns it into this form, the same network and
the same Adam updates of the effective weights for :math:`\epsilon \to 0`.
"""

from .base import Parameterisation

SPEC = Parameterisation(
    "µP",
    multiplier={"embedding": 0.0, "hidden": 0.0, "readout": 0.0},
    init={"embedding": 0.0, "hidden": 0.5, "readout": 1.0},
    lr={"embedding": 0.0, "hidden": 1.0, "readout": 1.0},
    readout_init="zero",
    reference="Yang & Hu 2021; Yang et al. 2022; Everett et al. 2024 (Table 1, a = 0 form)",
)
