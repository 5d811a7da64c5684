r"""What every parameterisation of the registry is: three exponents per kind of layer.

Everett et al. (2024, arXiv 2407.05872) write a width-:math:`n` network's weight matrix of
layer :math:`l` as :math:`W_l = n^{-a_l}\, w_l`, with the trained parameter
:math:`w_l \sim N(0, n^{-2 b_l})` at initialisation and Adam learning rate
:math:`\eta_l \propto n^{-c_l}`: a *parameter multiplier* :math:`a`, an *init scale*
:math:`b` and a *learning-rate exponent* :math:`c` for each of three kinds of layer
(``ROLES``): the embedding (fan-in fixed: input dimension or vocabulary), the hidden matrices
(fan-in and fan-out grow with :math:`n`) and the readout (fan-in :math:`n`). Vectors such as the
QK-norm gains are not width-scaled (role ``None``): multiplier 1, their own init, rate
:math:`\eta`.

Here every rule is anchored at the base width :math:`n_0` (``TrainConfig.base_width``): with
:math:`\rho = n_0 / n`,

.. math::
    W = \rho^{\,a}\, w, \qquad
    \mathrm{std}(w) = \rho^{\,b - b_\text{model}}\ \mathrm{std}_\text{model}(w), \qquad
    \eta_\text{layer} = \eta\, \rho^{\,c},

so at :math:`n = n_0` every parameterisation is the same network with the same rates, and
they differ only in how they scale away from it. :math:`\mathrm{std}_\text{model}` is the
model's own initialisation (``MODEL_INIT``: embeddings constant in :math:`n`, :math:`b = 0`;
hidden matrices :math:`N(0, 1/\text{fan-in})`, :math:`b = 1/2`; the readout zero). Where a
parameterisation initialises the readout (``readout_init="fan_in"``) it starts at
:math:`N(0, 1/\text{fan-in})\, \rho^{\,b - 1/2}`; zero-initialised matrices (the readout under
µP, the residual branches' output matrices) stay zero under every parameterisation.

Under Adam an element of :math:`w` moves by about :math:`\eta_\text{layer}` per step
(:math:`\pm\eta_\text{layer}` exactly at the first step), so the **trained parameter** moves by
:math:`\propto n^{-c}` and the **effective weight** :math:`W` by :math:`\propto n^{-(a+c)}`.
The shift :math:`a \to a + \theta,\ b \to b - \theta,\ c \to c - \theta` leaves the forward pass,
and Adam's update of :math:`W` for :math:`\epsilon \to 0`, unchanged (Everett et al., §2): standard
and NTK are one class, µP and mean-field another; the classes differ in the readout's
:math:`a + b` (:math:`1/2`: logits of order one at initialisation; :math:`1`, or a zero readout:
logits that vanish with width). Within a class only :math:`\epsilon` (which meets the gradients
of :math:`w`, scaled by :math:`\rho^{a}`) and rounding tell the members apart.

A parameterisation is one small module with a ``SPEC`` and one line in
:data:`supercollapse.parameterisations.PARAMETERISATIONS`.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The kinds of layer a parameterisation scales, as a model's ``width_role`` names them.
ROLES = ("embedding", "hidden", "readout")
# The b of the models' own initialisation (see the module docstring); the readout is zero.
MODEL_INIT = {"embedding": 0.0, "hidden": 0.5, "readout": 0.5}
READOUT_INITS = ("zero", "fan_in")


@dataclass(frozen=True)
class Parameterisation:
    """One entry of ``PARAMETERISATIONS``: Everett et al.'s exponents per role.

    ``multiplier`` (:math:`a`), ``init`` (:math:`b`) and ``lr`` (:math:`c`, for Adam) map each
    role of ``ROLES`` to its exponent; ``readout_init`` is ``"zero"`` (the readout starts at
    zero, and ``init["readout"]`` is not used) or ``"fan_in"``. ``name`` and ``reference``
    document the entry.

    >>> p = Parameterisation("demo", {"embedding": 0.0, "hidden": 0.5, "readout": 0.5},
    ...                      {"embedding": 0.0, "hidden": 0.0, "readout": 0.0},
    ...                      {"embedding": 0.0, "hidden": 0.5, "readout": 0.5}, "fan_in")
    >>> p.forward_multiplier("hidden", 0.25), p.lr_multiplier("hidden", 0.25)
    (0.5, 0.5)
    >>> p.init_scale("hidden", 0.25), p.init_scale("embedding", 0.25), p.forward_multiplier(None, 0.25)
    (2.0, 1.0, 1.0)
    """

    name: str
    multiplier: dict[str, float]
    init: dict[str, float]
    lr: dict[str, float]
    readout_init: str = "zero"
    reference: str = ""

    def __post_init__(self) -> None:
        for field in ("multiplier", "init", "lr"):
            if set(getattr(self, field)) != set(ROLES):
                raise ValueError(f"Parameterisation {self.name!r}: {field} must give an "
                                 f"exponent for each of {ROLES}")
        if self.readout_init not in READOUT_INITS:
            raise ValueError(f"Parameterisation {self.name!r}: readout_init must be one of "
                             f"{READOUT_INITS}")

    def forward_multiplier(self, role: str | None, ratio: float) -> float:
        """:math:`\\rho^{a}` of a parameter of ``role`` (``ratio`` :math:`= \\rho = n_0/n`)."""
        return 1.0 if role is None else ratio ** self.multiplier[role]

    def lr_multiplier(self, role: str | None, ratio: float) -> float:
        """:math:`\\rho^{c}`: the factor of the peak learning rate (1 for role ``None``).

        ``ratio ** 1.0`` is ``ratio`` itself, so µP's hidden and readout rates are exactly the
        fan-in ratio :math:`n_\\text{base}/n` the package always used."""
        return 1.0 if role is None else ratio ** self.lr[role]

    def init_scale(self, role: str | None, ratio: float) -> float:
        """:math:`\\rho^{\\,b - b_\\text{model}}`: the factor of the model's own init."""
        if role is None:
            return 1.0
        return ratio ** (self.init[role] - MODEL_INIT[role])

    def changes_forward(self) -> bool:
        """Whether some role has a multiplier other than 1 (:math:`a \\ne 0`)."""
        return any(self.multiplier[r] != 0 for r in ROLES)

    def changes_init(self) -> bool:
        """Whether the initialisation differs from the model's own at some width."""
        return self.readout_init != "zero" or any(
            self.init[r] != MODEL_INIT[r] for r in ("embedding", "hidden"))
