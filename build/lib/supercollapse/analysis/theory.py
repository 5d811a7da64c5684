"""Exact power-law theory of collapse, and the PLRF phase diagram of Paquette et al. (2024).

(a) If ``L(t, p) = L0 + sum_i a_i t^(-mu_i) p^(-nu_i)`` and the horizon is ``t(p) = t_ref
(p / p_ref)^gamma``, each term at ``t = x t(p)`` scales as ``x^(-mu_i) p^(-(gamma mu_i + nu_i))``.
When every term carries the same power of ``p`` the normalised curve ``l(x, p)`` does not
depend on ``p``: exact collapse. For two terms this happens at the compute-optimal exponent;
away from it (e.g. 0.9x or 1.1x) the curves fan out (paper, Section 4).

(b) The power-law random-features (PLRF) model of Paquette, Paquette, Xiao & Pennington,
"4+3 Phases of Compute-Optimal Neural Scaling Laws" (NeurIPS 2024, arXiv 2405.15074):
data exponent ``alpha``, target exponent ``beta`` (the book writes chi for the data
complexity, keeping alpha for the constant of the noise model), ``d`` parameters, ``r`` SGD steps,
compute ``f = d r``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import brentq, least_squares, minimize_scalar

__all__ = [
    "PLRFExponents",
    "PowerLawTerm",
    "SumOfPowerLaws",
    "TwoTermFit",
    "collapse_fan_out",
    "fit_two_term",
    "plrf_compute_optimal_exponents",
    "plrf_loss_model",
    "plrf_phase",
    "plrf_phase2_example",
    "simple_example",
]


@dataclass(frozen=True)
class PowerLawTerm:
    """One term ``coef * t**(-mu) * p**(-nu)``."""

    coef: float
    mu: float
    nu: float


@dataclass(frozen=True)
class SumOfPowerLaws:
    """``L(t, p) = L0 + sum_i coef_i t^(-mu_i) p^(-nu_i)`` with compute ``c = k p t`` (k = 6)."""

    terms: tuple[PowerLawTerm, ...]
    L0: float = 0.0
    flops_per_param_sample: float = 6.0

    def loss(self, t: ArrayLike, p: ArrayLike) -> NDArray[np.float64]:
        """Evaluate ``L(t, p)`` (broadcasting).

        >>> float(simple_example().loss(4.0, 16.0))
        0.75
        """
        t, p = np.asarray(t, dtype=float), np.asarray(p, dtype=float)
        return self.L0 + sum(q.coef * t ** (-q.mu) * p ** (-q.nu) for q in self.terms)

    def optimal_size(self, c: float) -> float:
        """``p*(c) = argmin_p L(c / (k p), p)``, minimised numerically over ``log p``.

        ``log(L - L0)`` is a log-sum-exp of affine functions of ``log p``, hence convex: the
        bounded scalar minimiser finds the unique optimum. For ``t^(-1/2) + p^(-1/2)`` the
        optimum is ``t* = p*``, i.e. ``p* = (c / 6)^(1/2)``.

        >>> round(simple_example().optimal_size(6e4), 3)
        100.0
        """
        k = self.flops_per_param_sample
        lc = np.log(c / k)

        def f(lp: float) -> float:
            return float(np.log(self.loss(np.exp(lc - lp), np.exp(lp)) - self.L0))

        res = minimize_scalar(f, bounds=(-lc, 2 * lc) if lc > 0 else (2 * lc, -lc),
                              method="bounded", options={"xatol": 1e-10})
        return float(np.exp(res.x))

    def frontier(self, c: ArrayLike) -> tuple[NDArray[np.float64], ...]:
        """Compute-optimal ``(p*, t*, L*)`` at each compute ``c``.

        >>> p, t, L = simple_example().frontier([6e4])
        >>> round(float(t[0] / p[0]), 3)
        1.0
        """
        c = np.atleast_1d(np.asarray(c, dtype=float))
        p = np.array([self.optimal_size(ci) for ci in c])
        t = c / (self.flops_per_param_sample * p)
        return p, t, self.loss(t, p)

    def optimal_samples(self, p: float) -> float:
        """``t*(p)``: the horizon at which size ``p`` is compute-optimal (root of ``p*(c) = p``).

        >>> round(simple_example().optimal_samples(100.0), 3)
        100.0
        """
        k = self.flops_per_param_sample

        def g(lt: float) -> float:
            return np.log(self.optimal_size(k * p * np.exp(lt))) - np.log(p)

        lo, hi = -50.0, 50.0
        return float(np.exp(brentq(g, lo, hi, xtol=1e-12)))

    def balance_gamma(self, i: int = 0, j: int = 1) -> float:
        """Horizon exponent at which terms ``i`` and ``j`` scale identically with ``p``.

        Along ``t = lam p^gamma`` term ``k`` scales as ``p^-(gamma mu_k + nu_k)``; equality gives
        ``gamma = (nu_j - nu_i) / (mu_i - mu_j)``. For a two-term model this *is* the
        compute-optimal exponent exactly (``t* ∝ p^gamma``): e.g. ``t^-mu + p^-nu`` gives
        ``gamma = nu / mu``.

        >>> simple_example().balance_gamma()
        1.0
        """
        a, b = self.terms[i], self.terms[j]
        if a.mu == b.mu:
            raise ValueError("terms with equal mu cannot be balanced")
        return (b.nu - a.nu) / (a.mu - b.mu)

    def numerical_gamma(self, p_range: tuple[float, float]) -> float:
        """Slope of ``log t*(p)`` vs ``log p`` between two sizes (finite-size ``gamma``).

        >>> round(simple_example().numerical_gamma((1e2, 1e4)), 4)
        1.0
        """
        t0, t1 = self.optimal_samples(p_range[0]), self.optimal_samples(p_range[1])
        return float(np.log(t1 / t0) / np.log(p_range[1] / p_range[0]))

    def asymptotic_gamma(self) -> float:
        """Compute-optimal horizon exponent for large ``p`` (Qiu et al. 2025, Appendix F).

        Along ``t = kappa p^gamma`` term ``i`` scales as ``p^-beta_i``, ``beta_i = mu_i gamma +
        nu_i``, and compute as ``c ~ p^(1 + gamma)``, so ``L - L0 ~ c^-e(gamma)`` with
        ``e(gamma) = min_i beta_i / (1 + gamma)``. The compute-optimal ``gamma`` maximises
        ``e``; each ``beta_i / (1 + gamma)`` is monotone in ``gamma``, so the maximum sits where
        two dominant terms tie (Theorem F.1: "compute-optimality forces a tie"). Candidates
        are ``gamma = 0`` and every pairwise tie ``gamma_ij > 0``.

        >>> simple_example().asymptotic_gamma()
        1.0
        >>> round(plrf_phase2_example().asymptotic_gamma(), 4)  # alpha / beta
        1.1538
        """
        terms = [q for q in self.terms if q.mu != 0 or q.nu != 0]
        if len(terms) < 2:
            raise ValueError("need at least 2 terms that depend on t or p")

        def e(g: float) -> float:
            return min((q.mu * g + q.nu) / (1 + g) for q in terms)

        cands = [0.0]
        for i, a in enumerate(terms):
            for b in terms[i + 1 :]:
                if a.mu != b.mu:
                    g = (b.nu - a.nu) / (a.mu - b.mu)
                    if g > 0:
                        cands.append(g)
        best = max(cands, key=e)
        if e(1e9) > e(best) + 1e-12:
            raise ValueError("the loss exponent keeps growing with gamma: no finite optimum")
        return float(best)

    def normalized_curves(
        self, x: ArrayLike, sizes: ArrayLike, gamma: float, *, t_ref: float | None = None
    ) -> NDArray[np.float64]:
        """``l(x, p) = (L(x t(p), p) - L0) / (L(t(p), p) - L0)`` with ``t(p) = t_ref (p/p_ref)^gamma``.

        ``p_ref`` is the first size; ``t_ref`` defaults to its compute-optimal horizon.
        Returns shape ``(n_sizes, n_x)``. At the compute-optimal ``gamma`` of a two-term model
        the rows coincide (paper, Eq. 7: ``l = (r x^-mu + 1) / (r + 1)``, ``r = nu / mu``).

        >>> ell = simple_example().normalized_curves([0.25, 1.0], [1e2, 1e4], gamma=1.0)
        >>> np.round(ell, 6).tolist()
        [[1.5, 1.0], [1.5, 1.0]]
        """
        x, sizes = np.asarray(x, dtype=float), np.asarray(sizes, dtype=float)
        p_ref = sizes[0]
        t_ref = self.optimal_samples(p_ref) if t_ref is None else t_ref
        t_end = t_ref * (sizes / p_ref) ** gamma
        R = self.loss(np.outer(t_end, x), sizes[:, None]) - self.L0
        return R / (self.loss(t_end, sizes) - self.L0)[:, None]


def collapse_fan_out(
    model: SumOfPowerLaws, sizes: ArrayLike, gamma: float, *,
    factors: tuple[float, ...] = (0.9, 1.0, 1.1), x: ArrayLike | None = None,
) -> dict[float, float]:
    """Collapse deviation of the exact curves when the horizon exponent is ``factor * gamma``.

    For each factor returns ``max_x [max_p l(x, p) - min_p l(x, p)]`` over ``x`` in
    ``[0.05, 1]`` (our summary number): 0 for exact collapse, growing as the exponent moves
    away from the compute-optimal one.

    >>> dev = collapse_fan_out(simple_example(), [1e2, 1e3, 1e4], gamma=1.0)
    >>> dev[1.0] < 1e-12, dev[0.9] > 1e-2, dev[1.1] > 1e-2
    (True, True, True)
    """
    x = np.geomspace(0.05, 1.0, 100) if x is None else np.asarray(x, dtype=float)
    sizes = np.asarray(sizes, dtype=float)
    if sizes.size < 2:
        raise ValueError("need at least 2 sizes")
    out = {}
    for f in factors:
        ell = model.normalized_curves(x, sizes, f * gamma)
        out[f] = float(np.max(ell.max(axis=0) - ell.min(axis=0)))
    return out


@dataclass(frozen=True)
class TwoTermFit:
    """:func:`fit_two_term`'s result: the model, its exponents and the fit quality.

    Attributes:
        model: ``A t^-mu + B p^-nu`` as a :class:`SumOfPowerLaws`.
        mu, nu: the exponents; ``gamma = nu / mu`` is the compute-optimal horizon exponent.
        rms: root-mean-square log residual.
        n_points: points fitted.
    """

    model: SumOfPowerLaws
    mu: float
    nu: float
    rms: float
    n_points: int

    @property
    def gamma(self) -> float:
        """``nu / mu``: ``t*(p) ∝ p^gamma`` (:meth:`SumOfPowerLaws.balance_gamma`).

        >>> TwoTermFit(simple_example(), 0.5, 0.5, 0.0, 10).gamma
        1.0
        """
        return self.nu / self.mu


def fit_two_term(curves: dict[float, tuple[ArrayLike, ArrayLike]], *, skip: float = 0.02,
                 huber_scale: float = 0.05) -> TwoTermFit:
    """Fit ``L(t, p) = A t^-mu + B p^-nu`` to constant-learning-rate curves of several sizes.

    ``curves`` maps each size ``p`` to ``(t, losses)``, ``t`` the samples seen (``c / 6p``) and
    ``losses`` of shape ``(points,)`` or ``(seeds, points)`` (seed-averaged). The first
    ``skip`` of each run (before the power laws set in) and points at ``t = 0`` are left out.
    Objective: Huber loss (scale ``huber_scale``) of the log residuals, minimised by
    ``scipy.optimize.least_squares`` from ``(A, mu, B, nu) = (1, 0.3, 1, 0.3)`` with
    tolerances of ``1e-14``, so that it converges to the minimum rather than stopping near it.

    >>> t = np.geomspace(1e2, 1e6, 30)
    >>> fit = fit_two_term({p: (t, 2 * t**-0.4 + 3 * p**-0.3) for p in (1e3, 1e4, 1e5)})
    >>> round(fit.mu, 6), round(fit.nu, 6), round(fit.gamma, 6)
    (0.4, 0.3, 0.75)
    """
    t_all, p_all, L_all = [], [], []
    for p, (t, L) in curves.items():
        t = np.asarray(t, dtype=float)
        L = np.asarray(L, dtype=float)
        L = L.mean(axis=0) if L.ndim == 2 else L
        if t.shape != L.shape:
            raise ValueError(f"size {p}: samples shape {t.shape} does not match losses {L.shape}")
        keep = (t > skip * t.max()) & (t > 0) & np.isfinite(L)
        t_all.append(t[keep])
        p_all.append(np.full(int(keep.sum()), float(p)))
        L_all.append(L[keep])
    if len(t_all) < 2:
        raise ValueError(f"need curves of at least 2 sizes, got {len(t_all)}")
    t, p, L = map(np.concatenate, (t_all, p_all, L_all))
    if np.any(L <= 0):
        raise ValueError("losses must be positive")
    lt, lp, lL = np.log(t), np.log(p), np.log(L)

    def resid(th: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.logaddexp(th[0] - th[1] * lt, th[2] - th[3] * lp) - lL

    fit = least_squares(resid, [0.0, 0.3, 0.0, 0.3], loss="huber", f_scale=huber_scale,
                        xtol=1e-14, ftol=1e-14, gtol=1e-14)
    lnA, mu, lnB, nu = (float(v) for v in fit.x)
    model = SumOfPowerLaws((PowerLawTerm(float(np.exp(lnA)), mu, 0.0),
                            PowerLawTerm(float(np.exp(lnB)), 0.0, nu)))
    return TwoTermFit(model, mu, nu, float(np.sqrt(np.mean(fit.fun**2))), int(t.size))


def simple_example() -> SumOfPowerLaws:
    """The paper's first example, ``L = t^(-1/2) + p^(-1/2)`` (``gamma* = 1``).

    >>> [(q.mu, q.nu) for q in simple_example().terms]
    [(0.5, 0.0), (0.0, 0.5)]
    """
    return SumOfPowerLaws((PowerLawTerm(1.0, 0.5, 0.0), PowerLawTerm(1.0, 0.0, 0.5)))


def plrf_phase2_example(alpha: float = 0.6, beta: float = 0.52) -> SumOfPowerLaws:
    """The paper's PLRF example in phase II (``alpha=0.6, beta=0.52``), unit coefficients.

    Terms: ``F_pp ~ t^-(1 + beta/alpha - 1/(2 alpha))``, ``F_ac ~ t^-(1 - 1/(2 alpha)) p^-1``,
    ``F_0 ~ p^-(2 alpha - max(0, 1 - 2 beta))``. ``balance_gamma(0, 1) = alpha / beta`` is the
    asymptotic compute-optimal exponent (``F_0`` is subleading in phase II).

    >>> round(plrf_phase2_example().balance_gamma(0, 1), 4)
    1.1538
    """
    if plrf_phase(alpha, beta) != "II":
        raise ValueError(f"(alpha, beta) = ({alpha}, {beta}) is not in phase II")
    return SumOfPowerLaws((
        PowerLawTerm(1.0, 1 + beta / alpha - 1 / (2 * alpha), 0.0),
        PowerLawTerm(1.0, 1 - 1 / (2 * alpha), 1.0),
        PowerLawTerm(1.0, 0.0, 2 * alpha - max(0.0, 1 - 2 * beta)),
    ))


# Phase IVa / IVb boundary: K_pp at fixed compute is flat in d when 4 a^2 - 8 a + 2 = 0.
_ALPHA_IV = 1.0 - 1.0 / np.sqrt(2.0)


def plrf_phase(alpha: float, beta: float) -> str:
    """Phase of the PLRF model at ``(alpha, beta)`` (Paquette et al. 2024, Fig. 2 / Table 2).

    Boundaries: ``2 beta = 1``; ``2 alpha = 1`` (the "high-dimensional line"); ``beta = alpha``;
    ``alpha = 1/4``; ``alpha = 1 - 1/sqrt(2)`` (IVa/IVb); the model needs ``2(alpha+beta) > 1``.

    * Ia: ``2beta < 1, 2alpha > 1``; Ib: ``2beta < 1, 2alpha < 1`` (proved for alpha > 1/4,
      conjectured below, and reported as Ib there); Ic: ``2beta > 1, alpha < 1/4``;
    * II: ``2beta > 1, 2alpha > 1, beta < alpha``; III: ``2beta > 1, 2alpha > 1, beta > alpha``;
    * IVa: ``2beta > 1, 1 - 1/sqrt(2) < alpha < 1/2``; IVb: ``2beta > 1, 1/4 < alpha < 1 - 1/sqrt(2)``.

    Points exactly on a boundary are assigned to the side reached with a strict ``>`` test
    (our convention). The Ib/Ic definitions follow the paper's propositions; the IVa/IVb line
    is the one implied by the paper's asymptotic loss terms (see
    :func:`plrf_compute_optimal_exponents`); we could not read its summary table directly.

    >>> [plrf_phase(*ab) for ab in [(0.7, 0.3), (0.7, 0.6), (0.7, 0.8), (0.45, 0.8), (0.27, 0.8)]]
    ['Ia', 'II', 'III', 'IVa', 'IVb']
    """
    if not (np.isfinite(alpha) and np.isfinite(beta)) or alpha <= 0:
        raise ValueError(f"need finite alpha > 0 and beta, got ({alpha}, {beta})")
    if 2 * (alpha + beta) <= 1:
        raise ValueError(f"2(alpha + beta) = {2 * (alpha + beta):.3g} <= 1: loss is not defined")
    if 2 * beta < 1:
        return "Ia" if 2 * alpha > 1 else "Ib"
    if 2 * alpha > 1:
        return "III" if beta > alpha else "II"
    if alpha < 0.25:
        return "Ic"
    return "IVa" if alpha > _ALPHA_IV else "IVb"


@dataclass(frozen=True)
class PLRFExponents:
    """Compute-optimal exponents: ``d* ∝ f^xi``, ``P* ∝ f^-eta``, ``t* ∝ d^gamma``.

    ``gamma = 1/xi - 1`` because ``f = d r``. ``balance`` names the two loss terms that are
    equal at the compute optimum.
    """

    phase: str
    xi: float
    eta: float
    gamma: float
    balance: str


def plrf_compute_optimal_exponents(alpha: float, beta: float) -> PLRFExponents:
    """Compute-optimal parameter exponent ``xi`` and loss exponent ``eta`` of the PLRF model.

    From the asymptotic loss terms of Paquette et al. (2024) (their table of forcing/kernel
    asymptotics): ``F_0 ~ d^-(2a - max(0, 1-2b))``, ``F_pp ~ (g r)^-(2a+2b-1)/(2a)``,
    ``F_ac ~ d^-1 (g r)^-(1 - 1/(2a))`` (2b > 1, 2a > 1), ``K_pp ~ g (g r)^-(2 - 1/(2a))``, with
    step size ``g = 1`` above the high-dimensional line and ``g ~ d^(2a-1)`` below it.
    Balancing the dominant pair at fixed ``f = d r`` (``k = 2a + 2b - 1``):

    ====== ================ ============================================ ==========================
    phase  balance          xi                                           eta
    ====== ================ ============================================ ==========================
    Ia     F_pp = F_0       1/(2a+1)                                     k/(2a+1)
    Ib     F_pp = F_0       1/2                                          k/2
    Ic     F_pp = F_0       k / (2k(1-a) + 4a^2)                         2a xi
    II     F_pp = F_ac      b/(a+b)                                      k/(2(a+b))
    III    K_pp = F_ac      1/2                                          1 - 1/(4a)
    IVa    K_pp = F_0       1/2                                          a
    IVb    F_pp = K_pp      (b-a) / (2(1-a)(b-a) + a(1-2a))              k(1-2a) xi / (2(b-a))
    ====== ================ ============================================ ==========================

    ``eta`` is continuous across every boundary (a check on the table). These are derived by
    us from the terms; tests confirm them by minimising the term model numerically.

    >>> e = plrf_compute_optimal_exponents(0.6, 0.52)
    >>> e.phase, round(e.xi, 4), round(e.gamma, 4)
    ('II', 0.4643, 1.1538)
    """
    a, b = alpha, beta
    ph = plrf_phase(a, b)
    k = 2 * a + 2 * b - 1
    if ph == "Ia":
        xi, eta, bal = 1 / (2 * a + 1), k / (2 * a + 1), "F_pp = F_0"
    elif ph == "Ib":
        xi, eta, bal = 0.5, k / 2, "F_pp = F_0"
    elif ph == "Ic":
        xi = k / (2 * k * (1 - a) + 4 * a**2)
        eta, bal = 2 * a * xi, "F_pp = F_0"
    elif ph == "II":
        xi, eta, bal = b / (a + b), k / (2 * (a + b)), "F_pp = F_ac"
    elif ph == "III":
        xi, eta, bal = 0.5, 1 - 1 / (4 * a), "K_pp = F_ac"
    elif ph == "IVa":
        xi, eta, bal = 0.5, a, "K_pp = F_0"
    else:
        xi = (b - a) / (2 * (1 - a) * (b - a) + a * (1 - 2 * a))
        eta, bal = k * (1 - 2 * a) * xi / (2 * (b - a)), "F_pp = K_pp"
    return PLRFExponents(ph, float(xi), float(eta), float(1 / xi - 1), bal)


def plrf_loss_model(alpha: float, beta: float) -> SumOfPowerLaws:
    """The PLRF asymptotic terms as a :class:`SumOfPowerLaws` in ``(t = r, p = d)``, unit coefficients.

    Uses the terms listed in :func:`plrf_compute_optimal_exponents`; below the
    high-dimensional line the step size ``g = d^(2a-1)`` turns ``(g r)^-m`` into
    ``r^-m d^-(2a-1)m``. ``F_ac`` is dropped where it is no larger than ``F_0`` (2b < 1, or
    2a < 1) and ``K_pp`` where it does not decay (a < 1/4). With ``flops_per_param_sample=1``
    the compute is ``f = d r``.

    >>> m = plrf_loss_model(0.6, 0.52)
    >>> [(round(q.mu, 4), round(q.nu, 4)) for q in m.terms]
    [(1.0333, 0.0), (0.0, 1.2), (0.1667, 1.0), (1.1667, 0.0)]
    >>> round(m.asymptotic_gamma(), 4) == round(plrf_compute_optimal_exponents(0.6, 0.52).gamma, 4)
    True
    """
    a, b = alpha, beta
    plrf_phase(a, b)  # validates the point
    k = 2 * a + 2 * b - 1
    g = 0.0 if 2 * a > 1 else 2 * a - 1  # step size g = d^g
    terms = [PowerLawTerm(1.0, k / (2 * a), g * k / (2 * a)),          # F_pp
             PowerLawTerm(1.0, 0.0, 2 * a - max(0.0, 1 - 2 * b))]     # F_0
    if 2 * b > 1 and 2 * a > 1:
        terms.append(PowerLawTerm(1.0, 1 - 1 / (2 * a), 1.0))         # F_ac
    if 4 * a > 1:
        m = (4 * a - 1) / (2 * a)
        terms.append(PowerLawTerm(1.0, m, g * m - g))                  # K_pp = g (g r)^-m
    return SumOfPowerLaws(tuple(terms), flops_per_param_sample=1.0)
