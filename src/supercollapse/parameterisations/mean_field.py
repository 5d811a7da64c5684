r"""Mean-field parameterisation (MFP; Mei et al. 2018, Chizat & Bach 2018) with Adam rates.

With :math:`\rho = n_0/n` (:mod:`supercollapse.parameterisations.base`):

* embedding: multiplier :math:`\sqrt{n/n_0}` (:math:`a=-\tfrac12`), the model's init times
  :math:`\sqrt{n_0/n}` (:math:`b=\tfrac12`), rate :math:`\eta\sqrt{n_0/n}` (:math:`c=\tfrac12`);
* hidden: multiplier :math:`\sqrt{n_0/n}` (:math:`a=\tfrac12`), :math:`w \sim N(0, 1/n_0)` at every
  width (:math:`b=0`), rate :math:`\eta\sqrt{n_0/n}` (:math:`c=\tfrac12`);
* readout: multiplier :math:`n_0/n` (:math:`a=1`), zero, rate :math:`\eta` (:math:`c=0`).

Everett et al. (2024, arXiv 2407.05872, Table 1), with the readout zero-initialised as in the
package's µP (their :math:`b = 0` readout starts at :math:`W \sim N(0, 1/n^2)`, logits that vanish
with width; zero is its limit). It is µP shifted by :math:`\theta = (-\tfrac12, \tfrac12, 1)` on
(embedding, hidden, readout): under Adam with :math:`\epsilon \to 0` it trains the same network
as µP; its gradients of :math:`w` are :math:`\rho^{a}` times µP's (the readout's by
:math:`n_0/n`), so a fixed :math:`\epsilon` weighs more at width.
"""

from .base import Parameterisation

SPEC = Parameterisation(
    "mean-field",
    multiplier={"embedding": -0.5, "hidden": 0.5, "readout": 1.0},
    init={"embedding": 0.5, "hidden": 0.0, "readout": 0.0},
    lr={"embedding": 0.5, "hidden": 0.5, "readout": 0.0},
    readout_init="zero",
    reference="Mei et al. 2018; Chizat & Bach 2018; Everett et al. 2024 (Table 1)",
)
