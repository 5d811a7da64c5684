r"""Like-for-like collapse verdicts: the same seed protocol, the same number of seeds.

The noise floor :math:`\sigma` is a seed statistic, so a verdict :math:`\Delta < \sigma` depends
on how the seeds were made and on how many there are:

* **Protocol.** With ``seed_protocol="independent"`` (the book's stored runs) every seed draws
  its own data stream, so :math:`\sigma` holds initialisation *and* data-order noise; with
  ``"shared_data"`` (the paper's protocol) the seeds share one data order and :math:`\sigma` holds
  initialisation noise alone. Ladders of different protocols are not compared.
* **Seed count.** For :math:`n` normal draws the sample standard deviation (``ddof=1``) is
  biased low, :math:`E[s] = c_4(n)\,\sigma` with

  .. math:: c_4(n) = \sqrt{\tfrac{2}{n-1}}\;\Gamma(\tfrac n2) / \Gamma(\tfrac{n-1}2),

  0.886 at :math:`n = 3`, 0.940 at :math:`n = 5`; the population one (``ddof=0``, the paper's
  :math:`V`, used by :func:`~.collapse.collapse_metrics`) a further
  :math:`\sqrt{(n-1)/n}`: :math:`E[\hat\sigma^2] = \tfrac{n-1}{n}\sigma^2`. Pooled as a root mean
  square over :math:`K` sizes (:math:`K(n-1)` degrees of freedom), :math:`E[\hat\sigma] =
  c_4(K(n-1)+1)\,\sqrt{(n-1)/(n-\mathrm{ddof})}\,\sigma` (:func:`sigma_bias`). :math:`\Delta`
  barely depends on :math:`n`: with :math:`v` the seed variance of a normalised curve and
  :math:`B` the variance of the true curves between sizes (over the ladder's :math:`K` sizes),
  :math:`E[\hat\Delta^2 E^2] = v\,(1 - \tfrac1{Kn}) + B`. So with fewer seeds the same ladder
  meets :math:`\Delta < \sigma` less often: going from 5 to 3 seeds shrinks the pooled
  :math:`\hat\sigma` by :math:`\sqrt{(2/3)/(4/5)} = 0.91` and leaves :math:`\hat\Delta` within
  2 %.

:func:`compare_ladders` puts ladders on equal footing: it refuses (or, asked to, flags) ladders
of different protocols, subsamples every ladder to the same number of seeds (the first
:math:`n`, and every :math:`n`-subset for an interval), and gives the verdict both as measured
and **corrected for the seed count**: both sides replaced by their unbiased squares,

.. math:: \sigma_c^2 = \hat\sigma^2\,\frac{n-\mathrm{ddof}}{n-1}, \qquad
          \Delta_c^2 = \hat\Delta^2 + \frac{\hat v}{K n}, \quad
          \hat v = \hat\Delta_\text{within}^2\,\frac{n-\mathrm{ddof}}{n-1},

whose expectations, :math:`\sigma^2` and :math:`(v + B)/E^2`, do not depend on :math:`n`; the
supercollapse bar (:math:`\Delta < \sigma` on at least 75 % of the range) is applied to them.
What remains is the :math:`c_4` of a square root, the same on both sides to first order (0.98
or more for :math:`\sigma` pooled over 6 sizes at 3 seeds). The input is kept simple: one
``(compute, losses[seeds, points])`` pair per size, as for
:func:`~.collapse.collapse_metrics`, seeds in the same order at every size.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..train.config import SEED_PROTOCOLS
from .collapse import (
    CollapseResult,
    CollapseSummary,
    _pool,
    collapse_metrics,
    summarize_collapse,
    x_average,
)
from .ladder import Ladder, LadderLike, as_ladder

__all__ = [
    "SEED_PROTOCOLS",
    "LikeForLike",
    "SigmaRatio",
    "c4",
    "compare_ladders",
    "corrected_for_seeds",
    "sigma_bias",
    "sigma_ratio",
    "subsample_seeds",
]


def c4(n: int) -> float:
    r"""Bias of the sample standard deviation of ``n`` normal draws: :math:`E[s] = c_4(n)\sigma`.

    >>> [round(c4(n), 4) for n in (2, 3, 5, 10)]
    [0.7979, 0.8862, 0.94, 0.9727]
    """
    if not (isinstance(n, int | np.integer) and n >= 2):
        raise ValueError(f"c4 needs n >= 2 draws, got {n!r}")
    return float(math.exp(0.5 * math.log(2.0 / (n - 1)) + math.lgamma(n / 2)
                          - math.lgamma((n - 1) / 2)))


def sigma_bias(n_seeds: int, *, ddof: int = 0, n_sizes: int = 1) -> float:
    r""":math:`E[\hat\sigma] / \sigma` for a standard deviation over ``n_seeds`` seeds with ``ddof``,
    pooled as a root mean square over ``n_sizes`` sizes of equal :math:`\sigma` (normal noise):
    :math:`c_4(K(n-1)+1)\,\sqrt{(n-1)/(n-\mathrm{ddof})}`.

    >>> round(sigma_bias(3), 3), round(sigma_bias(5), 3)  # one size, population std
    (0.724, 0.841)
    >>> round(sigma_bias(3, ddof=1), 4) == round(c4(3), 4)
    True
    >>> round(sigma_bias(3, n_sizes=8), 3), round(sigma_bias(5, n_sizes=6), 3)  # pooled
    (0.804, 0.885)
    """
    if not (isinstance(n_seeds, int | np.integer) and n_seeds >= 2 and ddof in (0, 1)):
        raise ValueError(f"sigma_bias: need n_seeds >= 2 and ddof 0 or 1, got {n_seeds!r}, {ddof!r}")
    if not (isinstance(n_sizes, int | np.integer) and n_sizes >= 1):
        raise ValueError(f"sigma_bias: n_sizes must be a positive integer, got {n_sizes!r}")
    return c4(int(n_sizes * (n_seeds - 1) + 1)) * math.sqrt((n_seeds - 1) / (n_seeds - ddof))


def subsample_seeds(curves: LadderLike, seeds: Sequence[int]) -> list[tuple[np.ndarray, np.ndarray]]:
    """The ladder with only the seeds at positions ``seeds`` (the same positions at every size).

    >>> c = np.arange(1.0, 4.0)
    >>> [L.tolist() for _, L in subsample_seeds([(c, [[1, 2, 3], [4, 5, 6], [7, 8, 9]])], [0, 2])]
    [[[1.0, 2.0, 3.0], [7.0, 8.0, 9.0]]]
    """
    out = []
    for i, (c, L) in enumerate(curves):
        L = np.atleast_2d(np.asarray(L, dtype=float))
        if max(seeds) >= L.shape[0]:
            raise ValueError(f"size {i} has {L.shape[0]} seeds; cannot take seeds {list(seeds)}")
        out.append((np.asarray(c, dtype=float), L[list(seeds)]))
    return out


def corrected_for_seeds(res: CollapseResult) -> CollapseResult:
    r"""``res`` with ``sigma`` and ``delta`` replaced by their seed-count-corrected values.

    :math:`\sigma_c^2 = \hat\sigma^2 (n-\mathrm{ddof})/(n-1)` (per size, then pooled as ``res``
    was) and :math:`\Delta_c^2 = \hat\Delta^2 + \hat v/(Kn)` with
    :math:`\hat v = \hat\Delta_\text{within}^2 (n-\mathrm{ddof})/(n-1)`: estimates whose
    expectations do not depend on the seed count ``n`` (module docstring). Needs the same
    number of seeds (at least 2) at every size and the pooled ``delta`` of the paper.

    >>> c = np.linspace(1.0, 10.0, 10)
    >>> seeds = 1.0 + np.outer([1.0, 1.05, 0.97], (c / 10) ** -0.5)
    >>> res = collapse_metrics([(c * s, seeds) for s in (1, 2)], None, L0=1.0, n_x=4)
    >>> cor = corrected_for_seeds(res)
    >>> round(float(cor.sigma[0] / res.sigma[0]), 4)  # sqrt(3 / 2)
    1.2247
    """
    n = np.unique(res.n_seeds)
    if n.size != 1 or n[0] < 2:
        raise ValueError(f"corrected_for_seeds: needs one seed count >= 2 at every size, got "
                         f"{res.n_seeds.tolist()}")
    if res.delta_estimator != "pooled":
        raise ValueError("corrected_for_seeds: needs the pooled Delta (the paper's Eq. 2)")
    n, k = int(n[0]), len(res.n_seeds)
    var_factor = (n - res.ddof) / (n - 1)
    sig_p = res.sigma_per_size * math.sqrt(var_factor)
    pooled = _pool(sig_p, res.sigma_pool)
    v = res.delta_within**2 * var_factor
    delta = np.sqrt(res.delta**2 + v / (k * n))
    return dataclasses.replace(res, sigma_per_size=sig_p, sigma=pooled, delta=delta)


@dataclass(frozen=True)
class LikeForLike:
    """One ladder of a like-for-like comparison (:func:`compare_ladders`).

    Attributes:
        name, protocol: the ladder and its seed protocol.
        n_seeds: seeds used (the same for every ladder compared); ``n_available`` before.
        measured: summary over ``[x_min, 1)`` of the first ``n_seeds`` seeds, as measured.
        corrected: the same with ``sigma`` and ``Delta`` corrected for the seed count
            (:func:`corrected_for_seeds`); its ``supercollapse`` flag is replaced by the bar
            ``frac_below >= min_frac``.
        frac_below, median_ratio: ``(mean, min, max)`` over every ``n_seeds``-subset of the
            available seeds (as measured; one subset when none is left out).
        n_subsets: how many subsets that is.
        sigma_per_size: ``x``-average over ``[x_min, 1)`` of each size's ``sigma(x, p)``
            (first ``n_seeds`` seeds, as measured); ``sigma``: the same of the pooled floor.
        bias: :func:`sigma_bias` of the pooled floor (``E[sigma_hat] / sigma``).
        like_for_like: False when the comparison mixed protocols (``allow_unlike=True``);
            ``note`` says why.
    """

    name: str
    protocol: str
    n_seeds: int
    n_available: int
    measured: CollapseSummary
    corrected: CollapseSummary
    frac_below: tuple[float, float, float]
    median_ratio: tuple[float, float, float]
    n_subsets: int
    sigma_per_size: NDArray[np.float64]
    sigma: float
    bias: float
    like_for_like: bool = True
    note: str = ""

    def __str__(self) -> str:
        f, m = self.frac_below, self.median_ratio
        flag = "" if self.like_for_like else "  [UNLIKE: " + self.note + "]"
        return (f"{self.name}: {self.protocol}, {self.n_seeds} of {self.n_available} seeds; "
                f"Delta<sigma {self.measured.frac_below:.2f} (subsets {f[1]:.2f}-{f[2]:.2f}), "
                f"median Delta/sigma {self.measured.median_ratio:.2f} "
                f"(subsets {m[1]:.2f}-{m[2]:.2f}), sigma {self.sigma:.4f}; corrected for "
                f"{self.n_seeds} seeds: Delta<sigma {self.corrected.frac_below:.2f}, median "
                f"{self.corrected.median_ratio:.2f}, supercollapse {self.corrected.supercollapse}"
                + flag)


def compare_ladders(
    ladders: Mapping[str, LadderLike],
    protocols: Mapping[str, str] | str | None = None,
    *,
    n_seeds: int | None = None,
    subsets: str = "all",
    x_min: float = 0.2,
    L0: float = 0.0,
    x: ArrayLike | None = None,
    min_frac: float = 0.75,
    allow_unlike: bool = False,
) -> dict[str, LikeForLike]:
    """Collapse verdicts of several ladders on equal footing: one protocol, one seed count.

    Args:
        ladders: ``{name: ladder}``, each a :class:`~.ladder.Ladder` (from
            :func:`~supercollapse.results.to_ladder`) or a list of
            ``(compute, losses[seeds, points])`` pairs, one per size; every run trained to its
            horizon (``c*`` = the last point), seeds in the same order at every size.
        protocols: the seed protocol of each ladder (``{name: protocol}``), or one for all:
            ``"independent"`` or ``"shared_data"`` (``TrainConfig.seed_protocol``). Default:
            each :class:`~.ladder.Ladder`'s ``seed_protocol`` (a list of pairs needs it given);
            a given protocol that contradicts a ladder's own is refused.
        n_seeds: seeds to use; default the fewest any size of any ladder has.
        subsets: ``"first"`` (only the first ``n_seeds`` seeds) or ``"all"`` (also every
            ``n_seeds``-subset, for the ``(mean, min, max)`` of the verdict numbers).
        x_min, L0, x: the range ``[x_min, 1)``, the irreducible loss and the grid (default:
            :func:`~.collapse.collapse_metrics`'s) of the verdict.
        min_frac: the supercollapse bar on the corrected ``frac_below``.
        allow_unlike: compare ladders of different protocols anyway, flagged
            ``like_for_like=False`` (default: ``ValueError``).

    >>> c = np.linspace(1.0, 10.0, 10)
    >>> rng = np.random.default_rng(0)
    >>> def ladder(k):  # k seeds, relative seed noise 1%, sizes that collapse exactly
    ...     seeds = 1.0 + np.outer(1 + 0.01 * rng.standard_normal(k), (c / 10) ** -0.5)
    ...     return [(c * s, seeds) for s in (1, 2, 4)]
    >>> out = compare_ladders({"a": ladder(5), "b": ladder(3)}, "independent", x_min=0.3)
    >>> [(r.n_seeds, r.n_available, r.n_subsets) for r in out.values()]
    [(3, 5, 10), (3, 3, 1)]
    >>> compare_ladders({"a": ladder(3), "b": ladder(3)}, {"a": "independent", "b": "shared_data"})
    Traceback (most recent call last):
    ...
    ValueError: compare_ladders: unlike seed protocols {'a': 'independent', 'b': 'shared_data'}; compare ladders of one protocol (or pass allow_unlike=True to flag the comparison)
    >>> shared = Ladder(ladder(3), seed_protocol="shared_data")  # a Ladder carries its protocol
    >>> compare_ladders({"a": shared}, x_min=0.3)["a"].protocol
    'shared_data'
    """
    if not ladders:
        raise ValueError("compare_ladders: no ladders given")
    own = {n: lad.seed_protocol for n, lad in ladders.items() if isinstance(lad, Ladder)}
    if protocols is None:
        prot = dict(own)
    else:
        prot = {n: protocols for n in ladders} if isinstance(protocols, str) else dict(protocols)
        clash = {n: (own[n], prot[n]) for n in own if n in prot and prot[n] != own[n]}
        if clash:
            raise ValueError(f"compare_ladders: protocols given against the ladders' own "
                             f"(own, given): {clash}")
    missing = set(ladders) - set(prot)
    if missing:
        raise ValueError(f"compare_ladders: no seed protocol for {sorted(missing)} (pass "
                         "protocols, or Ladders that carry theirs)")
    bad = {n: p for n, p in prot.items() if p not in SEED_PROTOCOLS}
    if bad:
        raise ValueError(f"compare_ladders: unknown seed protocol(s) {bad}; choose from "
                         f"{SEED_PROTOCOLS}")
    like, note = len({prot[n] for n in ladders}) == 1, ""
    if not like:
        note = f"unlike seed protocols {({n: prot[n] for n in ladders})}"
        if not allow_unlike:
            raise ValueError(f"compare_ladders: {note}; compare ladders of one protocol (or pass "
                             "allow_unlike=True to flag the comparison)")
    if subsets not in ("first", "all"):
        raise ValueError(f"compare_ladders: subsets must be 'first' or 'all', got {subsets!r}")
    counts = {name: [np.atleast_2d(np.asarray(L)).shape[0] for _, L in curves]
              for name, curves in ladders.items()}
    fewest = min(min(v) for v in counts.values())
    n = fewest if n_seeds is None else int(n_seeds)
    if not 2 <= n <= fewest:
        raise ValueError(f"compare_ladders: n_seeds={n_seeds!r} must lie in [2, {fewest}] (the "
                         f"fewest seeds of any size: {counts})")

    out = {}
    for name, curves in ladders.items():
        avail = min(counts[name])
        picks = [tuple(range(n))]
        if subsets == "all":
            picks = list(combinations(range(avail), n))
        stats = []
        for seeds in picks:
            res = collapse_metrics(subsample_seeds(curves, seeds), None, L0=L0, x=x)
            if np.any(res.n_seeds != n):
                raise ValueError(f"{name}: a seed diverged (seeds per size {res.n_seeds.tolist()}"
                                 f" for seeds {list(seeds)}); drop it before comparing")
            stats.append((res, summarize_collapse(res, x_min=x_min)))
        res, measured = stats[0]
        corr = summarize_collapse(corrected_for_seeds(res), x_min=x_min)
        corr = dataclasses.replace(corr, supercollapse=corr.frac_below >= min_frac)
        fr = np.array([s.frac_below for _, s in stats])
        mr = np.array([s.median_ratio for _, s in stats])
        out[name] = LikeForLike(
            name=name, protocol=prot[name], n_seeds=n, n_available=avail, measured=measured,
            corrected=corr, frac_below=(float(fr.mean()), float(fr.min()), float(fr.max())),
            median_ratio=(float(mr.mean()), float(mr.min()), float(mr.max())),
            n_subsets=len(picks),
            sigma_per_size=np.asarray(x_average(res.x, res.sigma_per_size, x_min)),
            sigma=float(x_average(res.x, res.sigma, x_min)),
            bias=sigma_bias(n, ddof=res.ddof, n_sizes=len(curves)),
            like_for_like=like, note=note)
    return out


@dataclass(frozen=True)
class SigmaRatio:
    """The noise floor of one ladder over another's, the same sizes and seeds (:func:`sigma_ratio`).

    Attributes:
        per_size: ``x``-average over ``[x_min, 1)`` of ``sigma_a(x, p) / sigma_b(x, p)``.
        pooled: the ``x``-average of the pooled floors' ratio ``sigma_a(x) / sigma_b(x)``.
        lo, hi: its seed-bootstrap interval at ``confidence`` (the same seeds drawn for both).
        n_seeds: seeds per size; ``protocols``: ``(a's, b's)`` seed protocol.
    """

    per_size: NDArray[np.float64]
    pooled: float
    lo: float
    hi: float
    n_seeds: int
    protocols: tuple[str, str]


def sigma_ratio(a: LadderLike, b: LadderLike, *, x_min: float = 0.2, L0: float = 0.0,
                x: ArrayLike | None = None, n_bootstrap: int = 200, confidence: float = 0.9,
                seed: int = 0) -> SigmaRatio:
    r"""How much larger the noise floor of ladder ``a`` is than that of ladder ``b``, for the
    same sizes and seeds trained under two seed protocols (``independent`` over
    ``shared_data``: what a seed's own data order adds to initialisation noise):

    .. math:: r(p) = \big\langle \sigma_a(x, p) / \sigma_b(x, p) \big\rangle_{x}, \qquad
              r = \big\langle \sigma_a(x) / \sigma_b(x) \big\rangle_{x},

    averages over :math:`x \in [x_\text{min}, 1)` (:func:`~.collapse.x_average`) of the
    per-size and pooled floors of :func:`~.collapse.collapse_metrics`. Both ladders have the
    same seed count, so the seed-count bias of :math:`\sigma` cancels in the ratio. The
    interval redraws the seeds with replacement, the same positions in both ladders (seed
    :math:`k` of each starts from the same initialisation), and skips draws of a single seed.

    >>> c = np.linspace(1.0, 10.0, 10)
    >>> z = np.random.default_rng(0).standard_normal(5)  # each seed's deviation
    >>> def ladder(noise):  # 5 seeds, relative seed noise `noise`, sizes that collapse exactly
    ...     seeds = 1.0 + np.outer(1 + noise * z, (c / 10) ** -0.5)
    ...     return [(c * s, seeds) for s in (1, 2, 4)]
    >>> r = sigma_ratio(ladder(0.02), ladder(0.01), n_bootstrap=50)  # twice the noise, seed by seed
    >>> r.per_size.round(3).tolist(), round(r.pooled, 3), 1.99 < r.lo <= r.hi < 2.01
    ([2.0, 2.0, 2.0], 2.0, True)
    """
    la, lb = as_ladder(a), as_ladder(b)
    na = [np.atleast_2d(L).shape[0] for _, L in la]
    nb = [np.atleast_2d(L).shape[0] for _, L in lb]
    if len(la) != len(lb) or na != nb or len(set(na)) != 1 or na[0] < 2:
        raise ValueError(f"sigma_ratio: the two ladders need the same sizes and the same seed "
                         f"count (2 or more) at every size; seeds per size {na} and {nb}")
    if la.sizes_known() and lb.sizes_known() and not np.allclose(la.sizes, lb.sizes):
        raise ValueError(f"sigma_ratio: the ladders have different sizes, {la.sizes.tolist()} "
                         f"and {lb.sizes.tolist()}")
    if not 0 < confidence < 1:
        raise ValueError(f"sigma_ratio: confidence={confidence!r} must lie in (0, 1)")
    n = na[0]

    def ratios(seeds: Sequence[int]) -> tuple[NDArray[np.float64], float]:
        ra, rb = (collapse_metrics(subsample_seeds(lad, seeds), None, L0=L0, x=x)
                  for lad in (la, lb))
        per = x_average(ra.x, ra.sigma_per_size / rb.sigma_per_size, x_min)
        return np.asarray(per), float(x_average(ra.x, ra.sigma / rb.sigma, x_min))

    per_size, pooled = ratios(range(n))
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(n_bootstrap):
        pick = rng.integers(0, n, n)
        if len(set(pick.tolist())) > 1:
            draws.append(ratios(pick.tolist())[1])
    tail = 100 * (1 - confidence) / 2
    lo, hi = (np.percentile(draws, [tail, 100 - tail]) if draws else (np.nan, np.nan))
    return SigmaRatio(per_size=per_size, pooled=pooled, lo=float(lo), hi=float(hi), n_seeds=n,
                      protocols=(la.seed_protocol, lb.seed_protocol))
