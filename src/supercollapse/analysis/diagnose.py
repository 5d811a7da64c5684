"""Supercollapse as a check of a scaling recipe (:func:`check_scaling`), on a ladder of runs.

Definitions of :mod:`.collapse` (``R = L - L0``, ``x = c / c*(p)``): the normalised curve
``l(x, p, w)`` (Eq. 1), the collapse deviation ``Delta(x)`` (Eq. 2), the noise floor
``sigma(x, p)`` (Eq. 3). Over ``x_range`` (default ``[0.2, 1)``):

* ``frac_below``: the fraction of the range where ``Delta(x) < sigma(x)`` (sigma pooled over
  sizes as an RMS); ``median_ratio``: the median of ``Delta(x) / sigma(x)``;
* the *offset* of size ``p``: ``<(E_w l(x, p) - E_{p,w} l(x)) / E_{p,w} l(x)>_x``; the *fan*:
  the least-squares slope ``s`` of the offsets against ``ln p``;
* leave-one-out: ``gain_p = 1 - mean Delta_{-p} / mean Delta``.

Certainty: ``n_bootstrap`` seeded draws resample every size's seeds (the fan's draws also the
sizes); the draws of ``frac_below`` and ``median_ratio`` are re-centred on the point estimates;
intervals are percentile intervals at ``confidence``. A draw is ``"supercollapse"`` when
``frac_below >= 0.75``, else ``"collapse"`` when ``median_ratio <= 1.5``, else ``"broken"`` (our
thresholds); the verdict is the label of at least a fraction ``confidence`` of the draws, else
``"borderline"``; ``"unknown"`` without a noise floor.

Prescription: a fan is read with the two-term theory ``L = A t^-mu + B p^-nu`` (paper, Eqs.
5-7; chapters 5 and 5b): a horizon exponent off by ``dg`` gives the fan slope
:func:`fan_slope`, which :func:`exponent_error` inverts. ``mu`` and ``nu`` come from constant-rate runs when given, else
from the ladder's final losses. The learning-rate and parameterisation symptoms are heuristics
(:func:`check_scaling`); the notes are the table ``NOTES`` (condition, message).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import brentq
from scipy.stats import norm

from .collapse import (
    CollapseResult,
    CollapseSummary,
    collapse_metrics,
    summarize_collapse,
    x_average,
    x_range_mask,
)
from .frontier import (
    HorizonLaw,
    bootstrap_horizon_law,
    clean_curve,
    compute_frontier,
    fit_horizon_law,
)
from .ladder import Ladder, LadderLike, as_ladder
from .recipe import LadderGains, gains_of_curves
from .theory import fit_two_term

__all__ = [
    "Contrast",
    "Estimate",
    "HorizonPrescription",
    "ScalingReport",
    "check_scaling",
    "scaling_notes",
    "exponent_error",
    "fan_sensitivity",
    "fan_slope",
    "paired_contrast",
]

LABELS = ("supercollapse", "collapse", "broken")
VERDICTS = (*LABELS, "borderline", "unknown")


@dataclass(frozen=True)
class Estimate:
    """A number with its bootstrap interval ``[lo, hi]`` (percentiles at the report's level).

    >>> e = Estimate(0.5, 0.25, 0.75)
    >>> str(e), e.excludes(0.0), e.excludes(0.3)
    ('0.5 [0.25, 0.75]', True, False)
    """

    value: float
    lo: float
    hi: float

    def excludes(self, v: float) -> bool:
        """Whether ``v`` lies outside the interval."""
        return bool(v < self.lo or v > self.hi)

    def __str__(self) -> str:
        return f"{self.value:.3g} [{self.lo:.3g}, {self.hi:.3g}]"


@dataclass(frozen=True)
class HorizonPrescription:
    """The horizon exponent read from the fan of offsets (and refitted from constant-rate runs).

    Attributes:
        slope: fan slope ``s = d offset / d ln p`` with its interval.
        fan: whether the interval of ``s`` excludes 0.
        mu, nu: exponents of the two-term model used; ``gamma = nu / mu``.
        source: where ``mu`` and ``nu`` came from.
        sensitivity: ``S = ds / d(dg)`` at ``dg = 0``: the slope per unit exponent error.
        exponent_used: ``1 + gamma`` of the ladder, the slope of ``ln c*`` against ``ln p``.
        error: estimated exponent error ``dg`` (used minus optimal), the solution of
            ``fan_slope(dg) = s``, with the interval of ``s`` carried through.
        suggested: ``exponent_used - error``: the exponent that removes the fan.
        refit: the horizon law refitted from constant-rate runs (``None`` without them).
        refit_interval: seed-bootstrap interval of the refitted exponent ``1 + gamma``.
    """

    slope: Estimate
    fan: bool
    mu: float
    nu: float
    source: str
    sensitivity: float
    exponent_used: float
    error: Estimate
    suggested: Estimate
    refit: HorizonLaw | None = None
    refit_interval: tuple[float, float] | None = None

    @property
    def refit_agrees(self) -> bool | None:
        """Whether the refitted exponent's interval holds the ladder's (``None``: no refit)."""
        if self.refit is None or self.refit_interval is None:
            return None
        return bool(self.refit_interval[0] <= self.exponent_used <= self.refit_interval[1])


def fan_slope(mu: float, nu: float, sizes: ArrayLike, x: ArrayLike, dg: float,
              x_range: tuple[float, float] = (0.2, 1.0)) -> float:
    """Fan slope of the two-term theory when the horizon exponent is off by ``dg``.

    For ``L = A t^-mu + B p^-nu`` with the horizon ``t(p) ∝ p^(nu/mu + dg)`` (pinned to the
    optimum at the geometric mean size ``p_mid``), the normalised curves are
    ``l(x, p) = (r(p) x^-mu + 1) / (r(p) + 1)`` with ``r(p) = (nu / mu) (p / p_mid)^(-mu dg)``
    (paper, Eq. 7; chapter 5). Returns the slope of the offsets
    ``<l(x, p) / mean_p l(x) - 1>_x`` (averaged over ``x_range`` on the grid ``x``) against
    ``ln p``. A too-long horizon for large models (``dg > 0``) lowers their curves: slope < 0.

    >>> x = np.geomspace(0.01, 1, 200)
    >>> abs(fan_slope(0.5, 0.5, [1e2, 1e3, 1e4], x, 0.0)) < 1e-15  # exact collapse: no fan
    True
    >>> fan_slope(0.5, 0.5, [1e2, 1e4], x, 0.1) < 0  # horizon too long for large models
    True
    """
    if not (mu > 0 and nu > 0):
        raise ValueError(f"need mu > 0 and nu > 0, got mu={mu}, nu={nu}")
    lp = np.log(np.asarray(sizes, dtype=float))
    u = lp - lp.mean()
    if not np.any(u != 0):
        raise ValueError("need at least 2 distinct sizes")
    x = np.asarray(x, dtype=float)
    r = nu / mu * np.exp(-mu * dg * u)[:, None]
    ell = (r * x**-mu + 1) / (r + 1)
    off = x_average(x, ell / ell.mean(axis=0) - 1, *x_range)
    return float(np.sum(u * off) / np.sum(u * u))


def fan_sensitivity(mu: float, nu: float, sizes: ArrayLike, x: ArrayLike,
                    x_range: tuple[float, float] = (0.2, 1.0), h: float = 1e-3) -> float:
    """``S = d slope / d(dg)`` at ``dg = 0`` (:func:`fan_slope`; central difference, step ``h``).

    >>> x = np.geomspace(0.01, 1, 200)
    >>> S = fan_sensitivity(0.5, 0.5, [1e2, 1e3, 1e4], x)
    >>> S < 0, round(S / fan_sensitivity(0.5, 0.5, [1e2, 1e4], x), 6)  # depends on ln p only
    (True, 1.0)
    """
    return (fan_slope(mu, nu, sizes, x, h, x_range)
            - fan_slope(mu, nu, sizes, x, -h, x_range)) / (2 * h)


def exponent_error(slope: float, mu: float, nu: float, sizes: ArrayLike, x: ArrayLike,
                   x_range: tuple[float, float] = (0.2, 1.0)) -> float:
    """The horizon-exponent error ``dg`` whose two-term fan has the measured ``slope``.

    Solves ``fan_slope(dg) = slope`` (Brent's method, ``|dg| <= 2 nu / mu``; the slope falls
    monotonically with ``dg`` there); NaN when the slope is out of that range.

    >>> x = np.geomspace(0.01, 1, 200)
    >>> s = fan_slope(0.4, 0.3, [1e4, 1e5, 1e6], x, 0.2)
    >>> round(exponent_error(s, 0.4, 0.3, [1e4, 1e5, 1e6], x), 9)
    0.2
    """
    bound = 2 * nu / mu

    def f(dg: float) -> float:
        return fan_slope(mu, nu, sizes, x, dg, x_range) - slope

    lo, hi = f(-bound), f(bound)
    if not np.isfinite(slope) or lo * hi > 0:
        return float("nan")
    return float(brentq(f, -bound, bound, xtol=1e-12))


@dataclass(frozen=True)
class ScalingReport:
    """What :func:`check_scaling` found; ``print(report)`` shows the text, ``report.plot()`` a figure.

    Attributes:
        verdict: ``"supercollapse"``, ``"collapse"`` or ``"broken"`` when at least a fraction
            ``confidence`` of the bootstrap draws agree; ``"borderline"`` otherwise;
            ``"unknown"`` without a noise floor.
        point_verdict: the thresholds applied to the point estimates alone.
        verdict_prob: fraction of bootstrap draws given each label.
        confidence: the level of the verdict and of every interval.
        summary: ``Delta`` against ``sigma`` over ``x_range`` (:class:`~supercollapse.analysis.collapse.CollapseSummary`).
        frac_below, median_ratio: the two verdict statistics with their intervals.
        result: the full collapse statistics (:class:`~supercollapse.analysis.collapse.CollapseResult`), for plots.
        x_band, delta_band, sigma_band: the summarised grid and the pointwise intervals of
            ``Delta`` and ``sigma`` on it, shape ``(2, n)``.
        labels: one name per size (widths for runs, ``size i`` or ``p=...`` otherwise).
        sizes: parameter counts (NaN where unknown).
        n_seeds: seeds used per size after dropping diverged ones.
        n_dropped: seeds dropped per size as diverged (NaN or blown up at the end).
        n_merged, n_points_dropped: per size, repeated compute points merged and evaluations
            dropped for an isolated NaN.
        decay: whether the learning rate decayed to the end (``None``: not known).
        deviation: signed ``x``-averaged relative offset of each size's mean curve;
            ``deviation_lo``, ``deviation_hi`` its seed-bootstrap interval.
        sigma_size: ``x``-averaged noise floor of each size.
        horizon: the fan and the horizon exponent it implies (``None`` with unknown sizes or
            fewer than three).
        symptoms: learning-rate and parameterisation patterns found: ``"parameterisation"``,
            ``"lr_too_high"``, ``"lr_too_low"`` (a fan of under-trained large models whose
            horizon law the constant-rate runs confirm and whose decay gain is flat),
            ``"decay_gain"`` (the decay gain ``N/R`` varies by more than ``GAIN_SPREAD`` across
            sizes), ``"transient"`` (a horizon shorter than ``TRANSIENT_RATIO`` times the step
            where the size's constant-rate curve bends).
        loo_delta: mean ``Delta`` over the range with each size left out, shape ``(n_sizes,)``.
        loo_gain: ``1 - loo_delta / summary.mean_delta``.
        outlier: index of the size with the largest ``loo_gain``.
        outlier_flagged: ``loo_gain[outlier] >= outlier_gain`` (the threshold used).
        summary_without_outlier: the summary of the ladder without ``outlier`` (``None`` when
            fewer than three sizes).
        l0_sensitivity: ``{L0: frac_below}`` at the given ``L0`` and at the probes.
        L0, x_range, n_bootstrap: the inputs.
        gains: with constant-rate runs of the same sizes and a decayed ladder, the decay gain
            ``N/R`` and the transient position ``x_steep`` of each size
            (:func:`~supercollapse.analysis.recipe.gains_of_curves`); ``None`` otherwise. The
            notes name them when ``N/R`` is not flat or a horizon is short.
        notes: the findings and what to do, one line each.
    """

    verdict: str
    point_verdict: str
    verdict_prob: dict[str, float]
    confidence: float
    summary: CollapseSummary
    frac_below: Estimate
    median_ratio: Estimate
    result: CollapseResult
    x_band: NDArray[np.float64]
    delta_band: NDArray[np.float64]
    sigma_band: NDArray[np.float64]
    labels: tuple[str, ...]
    sizes: NDArray[np.float64]
    n_seeds: NDArray[np.int64]
    n_dropped: NDArray[np.int64]
    n_merged: NDArray[np.int64]
    n_points_dropped: NDArray[np.int64]
    decay: bool | None
    deviation: NDArray[np.float64]
    deviation_lo: NDArray[np.float64]
    deviation_hi: NDArray[np.float64]
    sigma_size: NDArray[np.float64]
    horizon: HorizonPrescription | None
    symptoms: tuple[str, ...]
    loo_delta: NDArray[np.float64]
    loo_gain: NDArray[np.float64]
    outlier: int
    outlier_flagged: bool
    summary_without_outlier: CollapseSummary | None
    l0_sensitivity: dict[float, float]
    L0: float
    x_range: tuple[float, float]
    n_bootstrap: int
    supercollapse_frac: float = 0.75
    broken_ratio: float = 1.5
    symptom_notes: tuple[str, ...] = ()
    gains: LadderGains | None = None
    notes: tuple[str, ...] = field(default=())

    def headline(self) -> str:
        """The verdict in words, with how sure it is."""
        if self.verdict == "unknown":
            return "Verdict: UNKNOWN (no noise floor to compare with)"
        probs = sorted(self.verdict_prob.items(), key=lambda kv: -kv[1])
        n = self.n_bootstrap
        if self.verdict != "borderline":
            return (f"Verdict: {self.verdict.upper()} ({100 * self.verdict_prob[self.verdict]:.0f}% "
                    f"of {n} bootstrap draws)")
        inplay = [f"{k.upper()} ({100 * v:.0f}%)" for k, v in probs if v > 0]
        return (f"Verdict: BORDERLINE between {' and '.join(inplay)} of {n} bootstrap draws; "
                f"the point estimates say {self.point_verdict}")

    def report(self) -> str:
        """The verdict, a table per size and the findings, as plain text."""
        s = self.summary
        lo, hi = self.x_range
        pct = f"{100 * self.confidence:.0f}%"
        f, m = self.frac_below, self.median_ratio
        lines = [self.headline()]
        if self.verdict != "unknown":
            lines.append(f"  over x in [{lo:g}, {hi:g}): Delta < sigma on {100 * f.value:.0f}% "
                         f"[{100 * f.lo:.0f}, {100 * f.hi:.0f}] of the range; median "
                         f"Delta/sigma = {m.value:.2f} [{m.lo:.2f}, {m.hi:.2f}] ({pct} intervals)")
        lines += [
            f"  mean Delta = {s.mean_delta:.3g}, mean sigma = {s.mean_sigma:.3g}, L0 = {self.L0:.4g}",
            "",
            f"  {'size':>12s} {'params':>10s} {'seeds':>5s} {'offset [interval]':>24s} "
            f"{'sigma':>7s} {'LOO gain':>9s}",
        ]
        for i, lab in enumerate(self.labels):
            p = "?" if not np.isfinite(self.sizes[i]) else f"{self.sizes[i]:.3g}"
            mark = "  <-- deviates most" if (i == self.outlier and self.outlier_flagged) else ""
            off = (f"{100 * self.deviation[i]:+.2f}% [{100 * self.deviation_lo[i]:+.2f}, "
                   f"{100 * self.deviation_hi[i]:+.2f}]")
            gain = "" if not np.isfinite(self.loo_gain[i]) else f"{100 * self.loo_gain[i]:+.0f}%"
            lines.append(f"  {lab:>12s} {p:>10s} {self.n_seeds[i]:5d} {off:>24s} "
                         f"{100 * self.sigma_size[i]:6.2f}% {gain:>9s}{mark}")
        h = self.horizon
        if h is not None:
            lines += ["", f"  fan: offset slope {100 * h.slope.value:+.2f}% per e-fold of size "
                          f"[{100 * h.slope.lo:+.2f}, {100 * h.slope.hi:+.2f}]"
                          f"{'' if h.fan else ' (no fan: the interval includes 0)'}"]
        lines += ["", "Notes:"] + [f"  - {n}" for n in self.notes]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.report()

    def plot(self, axes: Any = None) -> Any:
        """The summary figure (:func:`supercollapse.plotting.scaling_report`)."""
        from ..plotting import scaling_report

        return scaling_report(self, axes)


def _summary(res: CollapseResult, x_range: tuple[float, float]) -> CollapseSummary:
    """:func:`summarize_collapse`, or (no seed spread: ``sigma`` is NaN) ``Delta`` alone."""
    lo, hi = x_range
    if np.any(np.isfinite(res.sigma)):
        return summarize_collapse(res, x_min=lo, x_max=hi)
    sel = x_range_mask(res.x, lo, hi)
    nan = float("nan")
    return CollapseSummary(lo, hi, nan, nan, 0.0, float(x_average(res.x, res.delta, lo, hi)),
                           nan, nan, False, int(sel.sum()))


def _mean_delta(res: CollapseResult, x_range: tuple[float, float]) -> float:
    return _summary(res, x_range).mean_delta


def _classify(frac: NDArray, ratio: NDArray, super_frac: float, broken_ratio: float) -> NDArray:
    """Label index per draw: 0 supercollapse, 1 collapse, 2 broken."""
    return np.where(frac >= super_frac, 0, np.where(ratio <= broken_ratio, 1, 2))


def _draw_stats(res: CollapseResult, sel: NDArray[np.bool_], picks: NDArray[np.int64],
                u: NDArray[np.float64]) -> tuple[NDArray[np.float64], ...]:
    """``Delta``, ``sigma`` (on the grid points ``sel``) and offsets of resampled ladders.

    ``picks[b, j]`` is the size in slot ``j`` of draw ``b``; its seeds are
    ``floor(u[b, j, :n] * n)`` for a size with ``n`` seeds (draws with replacement). The
    statistics are those of :func:`collapse_metrics` (own normalisation, population
    variances, ``sigma`` pooled as an RMS), vectorised over draws.
    """
    ell = res.curves[:, :, sel]
    red = res.reducible[:, :, sel]
    n_k = res.n_seeds[picks]  # (B, n)
    idx = np.minimum((u * n_k[..., None]).astype(np.int64), n_k[..., None] - 1)
    mask = (np.arange(u.shape[2]) < n_k[..., None])[..., None]  # (B, n, n_max, 1)

    def moments(a: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        g = np.where(mask, a[picks[..., None], idx], 0.0)
        m = g.sum(axis=2) / n_k[..., None]
        v = (np.where(mask, g - m[:, :, None], 0.0) ** 2).sum(axis=2) / n_k[..., None]
        return m, v

    m, v = moments(ell)
    rm, rv = moments(red)
    E = m.mean(axis=1)
    delta = np.sqrt(v.mean(axis=1) + m.var(axis=1)) / E
    sigma = np.sqrt(np.mean(rv / rm**2, axis=1))
    w = np.gradient(res.x[sel])
    dev = ((m - E[:, None]) / E[:, None]) @ (w / w.sum())
    return delta, sigma, dev


def _bootstrap(res: CollapseResult, sel: NDArray[np.bool_], lnp: NDArray[np.float64] | None,
               n_boot: int, seed: int, chunk: int = 100) -> dict[str, NDArray[np.float64]]:
    """Bootstrap draws of the verdict statistics, ``Delta``, ``sigma``, offsets and fan slope.

    Two sets of ``n_boot`` draws from one seeded generator. Seeds only (every size's seeds
    resampled with replacement): ``"frac"``, ``"ratio"``, ``"delta"``, ``"sigma"`` (the
    verdict is about the seed noise of this ladder) and the per-size offsets ``"dev"``. Seeds
    and sizes (with three sizes or more): ``"slope"``, the fan slope against ``ln p``, whose
    interval must also cover how single sizes scatter about a straight line.
    """
    rng = np.random.default_rng(seed)
    n, n_max = res.curves.shape[:2]
    w = np.gradient(res.x[sel])
    w = w / w.sum()
    out: dict[str, list] = {k: [] for k in ("frac", "ratio", "delta", "sigma", "dev", "slope")}
    for start in range(0, n_boot, chunk):
        b = min(chunk, n_boot - start)
        picks = np.broadcast_to(np.arange(n), (b, n))
        delta, sigma, dev = _draw_stats(res, sel, picks, rng.random((b, n, n_max)))
        out["frac"].append((delta < sigma) @ w)
        out["ratio"].append(np.median(delta / sigma, axis=1))
        out["delta"].append(delta)
        out["sigma"].append(sigma)
        out["dev"].append(dev)
        if lnp is not None and n >= 3:
            picks = rng.integers(0, n, (b, n))
            dev_s = _draw_stats(res, sel, picks, rng.random((b, n, n_max)))[2]
            u = lnp[picks] - lnp[picks].mean(axis=1, keepdims=True)
            distinct = (np.diff(np.sort(picks, axis=1), axis=1) > 0).sum(axis=1) + 1
            with np.errstate(invalid="ignore", divide="ignore"):
                slope = (u * dev_s).sum(axis=1) / (u * u).sum(axis=1)
            out["slope"].append(np.where(distinct >= 3, slope, np.nan))
        else:
            out["slope"].append(np.full(b, np.nan))
    return {k: np.concatenate(v) for k, v in out.items()}


def _recentre(frac: NDArray[np.float64], ratio: NDArray[np.float64],
              summ: CollapseSummary) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Bootstrap draws of ``frac_below`` and ``median_ratio`` re-centred on the point estimates.

    Resampling a few seeds with replacement biases Delta up and sigma down (repeated seeds), so
    the draws are shifted to the point estimates (median shift; the ratio in log space) before
    intervals and verdicts are read from them."""
    return (np.clip(frac - np.median(frac) + summ.frac_below, 0, 1),
            ratio * summ.median_ratio / np.median(ratio))


def _interval(draws: NDArray[np.float64], value: float, level: float) -> Estimate:
    d = draws[np.isfinite(draws)]
    if d.size == 0:
        return Estimate(float(value), float("nan"), float("nan"))
    lo, hi = np.quantile(d, [(1 - level) / 2, (1 + level) / 2])
    return Estimate(float(value), float(lo), float(hi))


def _horizon(res: CollapseResult, sizes: NDArray[np.float64], L0: float, dev: NDArray,
             slope_draws: NDArray, x_range: tuple[float, float], level: float,
             constant_runs: Any, seed: int) -> HorizonPrescription | None:
    """Fan slope, the two-term reading of it, and (with constant-rate runs) a horizon refit."""
    lnp = np.log(sizes)
    u = lnp - lnp.mean()
    slope = _interval(slope_draws, float(u @ dev / (u @ u)), level)
    exponent_used = float(np.polyfit(lnp, np.log(res.c_star), 1)[0])
    refit = refit_interval = None
    if constant_runs is not None:
        const = as_ladder(constant_runs)
        if not const.sizes_known():
            raise ValueError("constant_runs: a Ladder with its sizes (results.to_ladder(runs))")
        two = fit_two_term({float(p): (const.samples_of(i), L)
                            for i, (p, L) in enumerate(zip(const.sizes, const.losses,
                                                           strict=True))})
        mu, nu = two.mu, two.nu
        source = f"two-term fit to {len(const)} constant-rate runs"
        refit = fit_horizon_law(compute_frontier(const))
        try:  # seed bootstrap of the refit (chapter 2), or its OLS error with one seed
            boot = bootstrap_horizon_law(const, n_bootstrap=100, seed=seed)
            lo, hi = np.quantile(boot.gamma, [(1 - level) / 2, (1 + level) / 2])
        except ValueError:
            z = float(norm.ppf((1 + level) / 2))
            lo, hi = refit.gamma - z * refit.gamma_err, refit.gamma + z * refit.gamma_err
        refit_interval = (float(1 + lo), float(1 + hi))
    else:
        gamma_used = exponent_used - 1
        end = res.reducible[:, :, -1] if np.isclose(res.x[-1], 1) else None
        if end is None or not gamma_used > 0:
            return None
        with np.errstate(invalid="ignore"):
            nu = -float(np.polyfit(lnp, np.log(np.nanmean(end, axis=1)), 1)[0])
        if not nu > 0.05:  # final losses that hardly fall with size: no two-term reading
            return None
        mu = nu / gamma_used
        log_end = np.log(np.nanmean(end, axis=1))
        for _ in range(100):
            # Solve together: dg from the fan given (mu, nu); gamma* = gamma_used - dg; the end
            # losses B p^-nu (1 + r(p)), r(p) = (nu/mu) (p/p_mid)^(-mu dg), give nu; mu = nu/gamma*.
            dg = exponent_error(slope.value, mu, nu, sizes, res.x, x_range)
            if not (np.isfinite(dg) and gamma_used - dg > 0):
                break
            r_p = nu / mu * np.exp(-mu * dg * u)
            nu = -float(np.polyfit(lnp, log_end - np.log1p(r_p), 1)[0])
            if not nu > 0.05:
                return None
            mu, mu_old = nu / (gamma_used - dg), mu
            if abs(mu - mu_old) < 1e-10 * mu:
                break
        source = "the ladder itself (its final losses and horizons)"
    S = fan_sensitivity(mu, nu, sizes, res.x, x_range)
    dg = [exponent_error(v, mu, nu, sizes, res.x, x_range)
          for v in (slope.value, slope.lo, slope.hi)]
    err = Estimate(dg[0], *sorted(dg[1:]))
    suggested = Estimate(exponent_used - err.value, exponent_used - err.hi,
                         exponent_used - err.lo)
    return HorizonPrescription(
        slope=slope, fan=slope.excludes(0.0), mu=mu, nu=nu, source=source, sensitivity=S,
        exponent_used=exponent_used, error=err, suggested=suggested, refit=refit,
        refit_interval=refit_interval)


def _symptoms(res: CollapseResult, sizes: NDArray[np.float64], labels: tuple[str, ...],
              dev: NDArray[np.float64], sigma_size: NDArray[np.float64],
              n_dropped: NDArray[np.int64]) -> tuple[tuple[str, ...], list[str]]:
    """Learning-rate and parameterisation patterns (our heuristics), with their notes."""
    found, notes = [], []
    if np.all(sizes > 0) and len(sizes) >= 2:
        order = np.argsort(sizes)
        end = res.reducible[order][:, :, -1] + res.L0  # final losses, (sizes, seeds)
        m = np.nanmean(end, axis=1)
        se = np.nanstd(end, axis=1) / np.sqrt(np.maximum(res.n_seeds[order], 1))
        worse = [(i, j) for i in range(len(m)) for j in range(i + 1, len(m))
                 if m[j] - m[i] > 2 * np.hypot(se[i], se[j])]
        if worse:
            i, j = max(worse, key=lambda ij: m[ij[1]] - m[ij[0]])
            found.append("parameterisation")
            notes.append(
                f"larger models end worse: {labels[order[j]]} ends at loss {m[j]:.4g}, above "
                f"{labels[order[i]]} at {m[i]:.4g} (beyond 2 standard errors). "
                "The training recipe does not transfer across sizes: check µP (per-layer "
                "learning rates and initialisation must scale with width; rates frozen at a "
                "small width give exactly this), then the base learning rate.")
    big = int(np.nanargmax(sizes)) if np.all(sizes > 0) else len(dev) - 1
    others = np.delete(sigma_size, big)
    noisy = bool(sigma_size[big] >= 1.5 * np.median(others) and sigma_size[big] == sigma_size.max())
    deviates = bool(np.argmax(np.abs(dev)) == big)
    if np.any(n_dropped > 0) or (noisy and deviates and "parameterisation" not in found):
        found.append("lr_too_high")
        why = []
        if np.any(n_dropped > 0):
            why.append(f"seeds diverged ({n_dropped.tolist()} per size)")
        if noisy and deviates:
            why.append(f"the largest size is the noisiest (sigma {100 * sigma_size[big]:.2f}% "
                       f"against a median {100 * np.median(others):.2f}% of the others) and "
                       f"deviates most (offset {100 * dev[big]:+.2f}%)")
        notes.append("learning rate too high: " + " and ".join(why) + ". Lower the base "
                     "learning rate (try a factor 2-4) and check that it transfers (µP).")
    return tuple(found), notes


def _seeds_ok(r: ScalingReport) -> bool:
    return bool(np.all(r.n_seeds >= 2))


def _noise_free(r: ScalingReport) -> list[str]:
    return [lab for lab, s in zip(r.labels, r.sigma_size, strict=True)
            if _seeds_ok(r) and s <= 1e-9]


# Recipe symptoms read from constant-rate runs (analysis/recipe.py): N/R not flat within
# GAIN_SPREAD (the recipe gate), or a horizon shorter than TRANSIENT_RATIO times the step where
# the constant-rate curve bends (a bend at x >= 0.1, next to the summarised range; the recipe gate
# asks for 20, which the book's MLP ladder, a supercollapsing one, misses at its smallest width).
GAIN_SPREAD, TRANSIENT_RATIO = 1.3, 10.0


def _gain_note(r: ScalingReport) -> str:
    g = r.gains
    assert g is not None
    per = ", ".join(f"{lab} {v:.3f}" for lab, v in zip(r.labels, g.ratio, strict=True))
    line = (f"decay gain N/R = (L_const(T/2) - L_decayed(T)) / (L_const(T) - L0) per size: "
            f"{per} (max/min {g.spread:.2f})")
    if "decay_gain" not in r.symptoms:
        return line + ": not flat, but the horizons are off (the refitted law), which changes it too."
    rho = g.tracks(r.deviation)
    line += (f": not flat. The offsets follow it (correlation {rho:.2f}): " if rho > 0.8 else
             ": not flat. ")
    return line + ("the decay removes a different part of the loss at each size, so the "
                   "normalised curves cannot coincide whatever the horizon law. This is the "
                   "recipe's doing, not the law's: tune the peak learning rate (and the µP base "
                   "width, warmup) until N/R is flat across sizes.")


def _transient_note(r: ScalingReport) -> str:
    g = r.gains
    assert g is not None
    short = [f"{lab} (T/t_steep = {q:.1f})"
             for lab, q in zip(r.labels, g.transient_ratio, strict=True) if q < TRANSIENT_RATIO]
    return ("horizons inside the optimiser's transient: the constant-rate curves bend (their "
            "local exponent -dln(L-L0)/dln t reaches 90% of its peak) at x = "
            + ", ".join(f"{x:.2f}" for x in g.x_steep)
            + f" of the horizons, and {', '.join(short)} end within {TRANSIENT_RATIO:g} bends: "
            "those sizes are normalised across the bend and take another shape on the range. "
            "Train them longer (a horizon multiple), or use larger sizes, whose horizons are "
            "long in steps.")


def _fan_note(r: ScalingReport) -> str:
    h = r.horizon
    assert h is not None
    line = (f"the offsets fan with size (slope {100 * h.slope.value:+.2f}% per e-fold of size, "
            f"{100 * r.confidence:.0f}% interval [{100 * h.slope.lo:+.2f}, "
            f"{100 * h.slope.hi:+.2f}])")
    line += (": a size-dependent error, even though the ladder supercollapses. "
             if r.verdict == "supercollapse" else ". ")
    if {"decay_gain", "transient"} & set(r.symptoms):
        agree = (" The horizon law refitted from the constant-rate runs agrees with the "
                 "ladder's exponent." if h.refit_agrees else "")
        return line + ("It is not read as a horizon error, nor as too low a learning rate at "
                       "the large sizes: the recipe treats the sizes differently (the decay "
                       "gain and transient notes below)." + agree)
    if [s for s in r.symptoms if s != "lr_too_low"]:
        return line + "With the symptoms above it is not read as a horizon error."
    if r.decay is False:
        return line + ("Without learning-rate decay it is not read as a horizon error (a "
                       "constant-rate ladder on the right horizon can fan too).")
    if h.refit_agrees:
        line += ("The horizon law refitted from the constant-rate runs agrees with the "
                 "ladder's exponent, so the fan points elsewhere: ")
        return line + ("larger models sit above the mean, under-trained: a learning rate too "
                       "low (raise the base rate; it should transfer by µP)."
                       if h.slope.value > 0 else
                       "check that the learning rate transfers across sizes (µP).")
    line += (f"Read as a horizon error (two-term theory, mu = {h.mu:.3g}, nu = "
             f"{h.nu:.3g} from {h.source}): the exponent 1 + gamma = "
             f"{h.exponent_used:.3f} of the ladder is off by {h.error.value:+.3f} "
             f"[{h.error.lo:+.3f}, {h.error.hi:+.3f}]; use {h.suggested.value:.3f} "
             f"[{h.suggested.lo:.3f}, {h.suggested.hi:.3f}].")
    if h.slope.value > 0 and h.refit_agrees is None:
        line += (" A learning rate that is too low gives a fan of the same sign (larger "
                 "models under-trained): constant-rate runs would tell them apart.")
    return line


def _l0_range(r: ScalingReport) -> tuple[float, float, float, float]:
    fracs = list(r.l0_sensitivity.values())
    return min(fracs), max(fracs), min(r.l0_sensitivity), max(r.l0_sensitivity)


# The notes of a report, in order: (condition, message); a message may be several lines.
NOTES: tuple[tuple[Callable[[ScalingReport], bool],
                   Callable[[ScalingReport], str | Sequence[str]]], ...] = (
    (lambda r: bool(np.any(r.n_merged > 0)),
     lambda r: f"merged repeated compute points (an evaluation logged twice; losses "
               f"averaged): {r.n_merged.tolist()} per size."),
    (lambda r: bool(np.any(r.n_points_dropped > 0)),
     lambda r: f"dropped evaluations with an isolated NaN/inf: {r.n_points_dropped.tolist()} "
               "per size."),
    (lambda r: not _seeds_ok(r),
     lambda r: "fewer than 2 seeds for some size: no noise floor sigma, no verdict. "
               "Train at least 2 (better 3-5) seeds per size."),
    (lambda r: bool(_noise_free(r)),
     lambda r: f"no seed noise: cannot judge. The seeds of {', '.join(_noise_free(r))} are "
               "identical (sigma = 0): are they really different seeds (initialisation "
               "and data order)?"),
    (lambda r: _seeds_ok(r) and not _noise_free(r) and bool(np.any(r.n_seeds < 3)),
     lambda r: "only 2 seeds for some size: sigma is a rough estimate and, as a population "
               "standard deviation, biased low (about 40% for 2 seeds), which makes the "
               "test conservative; 3-5 seeds are better."),
    (lambda r: len(r.labels) == 2,
     lambda r: "only 2 sizes: the verdict rests on one pair (no leave-one-out, no fan, "
               "sizes not resampled); add sizes before trusting it."),
    (lambda r: bool(np.any(r.n_dropped > 0)),
     lambda r: f"dropped diverged seeds (NaN/inf or blown up at the end): "
               f"{r.n_dropped.tolist()} per size."),
    (lambda r: r.decay is False,
     lambda r: "no learning-rate decay: expect collapse at the noise floor (Delta ~ "
               "sigma), not supercollapse; decay the learning rate to zero to test the "
               "recipe sharply."),
    (lambda r: r.decay is None,
     lambda r: "learning-rate schedule unknown: supercollapse needs a decaying schedule."),
    (lambda r: r.verdict == "borderline",
     lambda r: f"the ladder sits within the error bars of the thresholds "
               f"(Delta < sigma on {r.supercollapse_frac:.0%} of the range for supercollapse, "
               f"median Delta/sigma {r.broken_ratio:g} for broken): no hard label. More seeds "
               "narrow the intervals; a wider ladder sharpens the test."),
    (lambda r: r.outlier_flagged and r.summary_without_outlier is not None,
     lambda r: f"{r.labels[r.outlier]} deviates most: without it Delta falls by "
               f"{100 * r.loo_gain[r.outlier]:.0f}% and Delta < sigma on "
               f"{100 * r.summary_without_outlier.frac_below:.0f}% of the range. Check that "
               "size: is its horizon inside the range where the horizon law was fitted, was it "
               "trained long enough, did its learning rate transfer?"),
    (lambda r: True, lambda r: r.symptom_notes),
    (lambda r: r.horizon is not None and r.horizon.fan, _fan_note),
    (lambda r: r.gains is not None and r.gains.spread > GAIN_SPREAD, _gain_note),
    (lambda r: r.gains is not None and bool(np.any(r.gains.transient_ratio < TRANSIENT_RATIO)),
     _transient_note),
    (lambda r: r.horizon is not None and r.horizon.refit_agrees is not None,
     lambda r: f"horizon law refitted from the constant-rate runs: 1 + gamma = "
               f"{1 + r.horizon.refit.gamma:.3f} [{r.horizon.refit_interval[0]:.3f}, "
               f"{r.horizon.refit_interval[1]:.3f}] (seed bootstrap), against "
               f"{r.horizon.exponent_used:.3f} used by the ladder: "
               + ("consistent." if r.horizon.refit_agrees else
                  f"change the exponent by "
                  f"{1 + r.horizon.refit.gamma - r.horizon.exponent_used:+.3f}.")),
    (lambda r: (r.verdict in ("collapse", "broken", "borderline") and not r.symptoms
                and not (r.horizon and r.horizon.fan)),
     lambda r: [
         "check the horizon law c*(P) = kappa P^(1+gamma): refit it from constant-rate runs; "
         "an exponent off by 10% fans the curves out (more so on a wide ladder);",
         "check µP: per-layer learning rates must scale with width (frozen rates break "
         "collapse);",
         "check the base learning rate: too high (noisy, unstable large models) or too low "
         "(under-trained) both break collapse;"]),
    (lambda r: r.verdict != "unknown" and _l0_range(r)[1] - _l0_range(r)[0] > 0.2,
     lambda r: "L0 matters: Delta < sigma on {:.0f}-{:.0f}% of the range for L0 in "
               "[{:.3g}, {:.3g}]; pin L0 down (task knowledge, or a fit of the frontier's end "
               "points).".format(100 * _l0_range(r)[0], 100 * _l0_range(r)[1],
                                 *_l0_range(r)[2:])),
    (lambda r: r.verdict != "unknown" and _l0_range(r)[1] - _l0_range(r)[0] <= 0.2,
     lambda r: "L0 is not critical: L0 in [{:.3g}, {:.3g}] gives Delta < sigma on "
               "{:.0f}-{:.0f}% of the range.".format(*_l0_range(r)[2:], 100 * _l0_range(r)[0],
                                                     100 * _l0_range(r)[1])),
)


def scaling_notes(report: ScalingReport) -> tuple[str, ...]:
    """The findings and what to do: the messages of ``NOTES`` whose condition holds."""
    out: list[str] = []
    for condition, message in NOTES:
        if condition(report):
            m = message(report)
            out += [m] if isinstance(m, str) else list(m)
    return tuple(out)


def check_scaling(
    ladder: LadderLike,
    *,
    L0: float = 0.0,
    c_star: ArrayLike | None = None,
    x_range: tuple[float, float] = (0.2, 1.0),
    constant_runs: Ladder | None = None,
    supercollapse_frac: float = 0.75,
    broken_ratio: float = 1.5,
    outlier_gain: float = 0.25,
    l0_probe: float = 0.1,
    confidence: float = 0.9,
    n_bootstrap: int = 400,
    seed: int = 0,
    n_x: int = 256,
) -> ScalingReport:
    """Does a ladder of runs supercollapse, how sure is that, and what should change?

    Args:
        ladder: a :class:`~supercollapse.analysis.ladder.Ladder`
            (:func:`supercollapse.results.to_ladder` of stored runs: sizes, labels and whether
            the learning rate decayed come with it), or its ``(compute, losses)`` pairs. Each
            size trained to its horizon. Logs are cleaned as
            :func:`~supercollapse.analysis.frontier.clean_curve` says, and the report says
            what was done.
        L0: irreducible loss (0 for a realisable task; else see
            :func:`~supercollapse.analysis.collapse.fit_irreducible_loss`).
        c_star: per-size horizon; ``None`` takes each curve's last point.
        x_range: range of normalised compute ``x`` that is summarised.
        constant_runs: a ladder of constant-learning-rate runs, if any: the two-term model
            that reads the fan is fitted to it, and the horizon law refitted from it.
        supercollapse_frac: ``frac_below`` needed for ``"supercollapse"``.
        broken_ratio: ``median(Delta/sigma)`` above which the verdict is ``"broken"``.
        outlier_gain: leave-one-out gain above which the most deviating size is flagged.
        l0_probe: ``L0`` is also tried at ``L0 -+ l0_probe * min_p R(c*, p)``.
        confidence: level of the intervals, and fraction of bootstrap draws a label needs.
        n_bootstrap, seed: bootstrap draws and the seed of their generator.
        n_x: grid points of ``x``.

    Returns:
        A :class:`ScalingReport`; ``print(report)`` shows the text, ``report.plot()`` a figure.
        The equations are in the module docstring.

    A synthetic ladder: a universal curve times a per-seed factor (noise that the end-point
    normalisation cancels), plus a little independent noise; then one size distorted.

    >>> rng = np.random.default_rng(0)
    >>> x = np.geomspace(0.05, 1, 60)
    >>> def size(p, bend=0.0):
    ...     shape = x ** -0.4 * (1 + bend * (1 - x))          # a distorted size bends
    ...     R = shape * (1 + 0.05 * rng.standard_normal((4, 1)))  # per-seed factor
    ...     R = R * (1 + 0.004 * rng.standard_normal((4, x.size)))
    ...     return x * p ** 1.9, 0.1 * p ** -0.3 * R         # compute, loss (L0 = 0)
    >>> good = [size(p) for p in (1e5, 2e5, 4e5, 8e5)]
    >>> check_scaling(Ladder(good, decay=True), n_bootstrap=100).verdict
    'supercollapse'
    >>> bad = check_scaling(Ladder(good[:2] + [size(4e5, bend=0.3)] + good[3:], decay=True),
    ...                     n_bootstrap=100)
    >>> bad.verdict, bad.outlier, bad.outlier_flagged
    ('broken', 2, True)
    """
    ladder = as_ladder(ladder)
    curves_in, sizes_a, labels_t, decay = list(ladder), ladder.sizes, ladder.labels, ladder.decay
    seeds_in = [L.shape[0] for L in ladder.losses]
    n = len(curves_in)
    if n < 2:
        raise ValueError(f"need at least 2 model sizes, got {n}")
    lo, hi = float(x_range[0]), float(x_range[1])
    if not 0 < lo < hi <= 1:
        raise ValueError("x_range must satisfy 0 < lo < hi <= 1")
    if not 0.5 <= confidence < 1:
        raise ValueError(f"confidence must be in [0.5, 1), got {confidence}")
    if n_bootstrap < 20:
        raise ValueError(f"n_bootstrap must be at least 20, got {n_bootstrap}")
    if np.all(np.isfinite(sizes_a)) and np.unique(sizes_a).size != n:
        raise ValueError(f"sizes must be distinct, got {sizes_a.tolist()}")

    cleaned = [clean_curve(labels_t[i], c, L) for i, (c, L) in enumerate(curves_in)]
    curves = [(cc.compute, cc.losses) for cc in cleaned]
    n_merged = np.array([cc.n_merged for cc in cleaned], dtype=np.int64)
    n_pts = np.array([cc.n_dropped_points for cc in cleaned], dtype=np.int64)

    def metrics(sub: Sequence[int], l0: float) -> CollapseResult:
        cs = None if c_star is None else np.asarray(c_star, dtype=float)[list(sub)]
        return collapse_metrics([curves[i] for i in sub], cs, l0, n_x=n_x)

    everyone = list(range(n))
    res = metrics(everyone, L0)
    summ = _summary(res, (lo, hi))
    n_seeds = res.n_seeds
    n_dropped = np.asarray(seeds_in, dtype=np.int64) - n_seeds
    sel = x_range_mask(res.x, lo, hi)

    # Which size deviates most: leave each out in turn.
    loo = np.full(n, np.nan)
    if n >= 3:
        for i in everyone:
            loo[i] = _mean_delta(metrics([j for j in everyone if j != i], L0), (lo, hi))
    gain = 1.0 - loo / summ.mean_delta
    out = int(np.nanargmax(gain)) if n >= 3 else 0
    flagged = bool(n >= 3 and gain[out] >= outlier_gain)
    without = _summary(metrics([j for j in everyone if j != out], L0), (lo, hi)) if n >= 3 else None

    # Signed offset of each size's mean curve from the ladder mean, averaged over the range.
    E = res.mean_curves.mean(axis=0)
    dev = np.asarray(x_average(res.x, (res.mean_curves - E) / E, lo, hi))
    with np.errstate(invalid="ignore"):
        sigma_size = np.asarray(x_average(res.x, np.nan_to_num(res.sigma_per_size), lo, hi))

    # L0 sensitivity: move L0 by a fraction of the smallest reducible end-point loss.
    red_end = np.nanmin(res.reducible[:, :, -1]) if np.isclose(res.x[-1], 1) else np.nan
    l0s = {float(L0): summ.frac_below}

    seeds_ok = bool(np.all(n_seeds >= 2))
    noise_free = [labels_t[k] for k in range(n) if seeds_ok and sigma_size[k] <= 1e-9]
    enough = seeds_ok and not noise_free
    if enough and np.isfinite(red_end) and l0_probe > 0:
        for sgn in (-1, 1):
            l0 = float(L0 + sgn * l0_probe * red_end)
            l0s[l0] = _summary(metrics(everyone, l0), (lo, hi)).frac_below

    point = _classify(np.array([summ.frac_below]), np.array([summ.median_ratio]),
                      supercollapse_frac, broken_ratio)[0]
    point_verdict = LABELS[int(point)] if enough else "unknown"
    known_sizes = bool(np.all(sizes_a > 0))
    lnp = np.log(sizes_a) if known_sizes else None
    nan2 = np.full((2, int(sel.sum())), np.nan)
    if enough:
        boot = _bootstrap(res, sel, lnp, n_bootstrap, seed)
        boot["frac"], boot["ratio"] = _recentre(boot["frac"], boot["ratio"], summ)
        labels_b = _classify(boot["frac"], boot["ratio"], supercollapse_frac, broken_ratio)
        prob = {lab: float(np.mean(labels_b == k)) for k, lab in enumerate(LABELS)}
        best = max(prob, key=lambda k: prob[k])
        verdict = best if prob[best] >= confidence else "borderline"
        q = [(1 - confidence) / 2, (1 + confidence) / 2]
        frac_e = _interval(boot["frac"], summ.frac_below, confidence)
        ratio_e = _interval(boot["ratio"], summ.median_ratio, confidence)
        delta_band, sigma_band = (np.quantile(boot[k], q, axis=0) for k in ("delta", "sigma"))
        dev_lo, dev_hi = np.quantile(boot["dev"], q, axis=0)
        slope_draws = boot["slope"]
    else:
        verdict, prob = "unknown", dict.fromkeys(LABELS, float("nan"))
        nan = float("nan")
        frac_e, ratio_e = Estimate(summ.frac_below, nan, nan), Estimate(summ.median_ratio, nan, nan)
        delta_band = sigma_band = nan2
        dev_lo = dev_hi = np.full(n, np.nan)
        slope_draws = np.full(1, np.nan)

    horizon = None
    if known_sizes and n >= 3 and enough:
        horizon = _horizon(res, sizes_a, L0, dev, slope_draws, (lo, hi), confidence,
                           constant_runs, seed)
    symptoms, symptom_notes = ((), []) if not enough else _symptoms(
        res, sizes_a, labels_t, dev, sigma_size, n_dropped)

    gains = None
    if constant_runs is not None and known_sizes and decay is not False:
        const = as_ladder(constant_runs)
        try:
            gains = gains_of_curves(curves, sizes_a, list(const), const.sizes, L0)
        except ValueError:  # a constant-rate curve that does not reach below its start
            gains = None
    # the recipe's symptoms, unless the refitted law says the horizons are off (a horizon error
    # changes the decay gain too; fix the exponent first)
    if gains is not None and not (horizon is not None and horizon.refit_agrees is False):
        if gains.spread > GAIN_SPREAD:
            symptoms = (*symptoms, "decay_gain")
        if np.any(gains.transient_ratio < TRANSIENT_RATIO):
            symptoms = (*symptoms, "transient")
    h = horizon
    if (h is not None and h.fan and not symptoms and decay is not False and h.refit_agrees
            and h.slope.value > 0):
        symptoms = (*symptoms, "lr_too_low")
    report = ScalingReport(
        verdict=verdict, point_verdict=point_verdict, verdict_prob=prob, confidence=confidence,
        summary=summ, frac_below=frac_e, median_ratio=ratio_e, result=res,
        x_band=res.x[sel], delta_band=delta_band, sigma_band=sigma_band, labels=labels_t,
        sizes=sizes_a, n_seeds=n_seeds, n_dropped=n_dropped, n_merged=n_merged,
        n_points_dropped=n_pts, decay=decay, deviation=dev, deviation_lo=dev_lo,
        deviation_hi=dev_hi, sigma_size=sigma_size, horizon=horizon, symptoms=symptoms,
        loo_delta=loo, loo_gain=gain, outlier=out, outlier_flagged=flagged,
        summary_without_outlier=without, l0_sensitivity=l0s, L0=float(L0), x_range=(lo, hi),
        n_bootstrap=int(n_bootstrap), supercollapse_frac=supercollapse_frac,
        broken_ratio=broken_ratio, symptom_notes=tuple(symptom_notes), gains=gains,
    )
    return dataclasses.replace(report, notes=scaling_notes(report))


@dataclass(frozen=True)
class Contrast:
    """Two ladders of the same sizes and seeds compared on one paired bootstrap
    (:func:`paired_contrast`): the verdict statistics of each, and their differences.

    ``frac_diff`` is ``frac_below(a) - frac_below(b)``, ``ratio_quotient`` the quotient of the
    median ``Delta/sigma`` of ``a`` over that of ``b``, and ``p_a_higher`` the fraction of draws
    in which ``a`` has the larger ``frac_below``.
    """

    frac_below: tuple[Estimate, Estimate]
    median_ratio: tuple[Estimate, Estimate]
    frac_diff: Estimate
    ratio_quotient: Estimate
    p_a_higher: float
    confidence: float
    n_bootstrap: int

    def __str__(self) -> str:
        (fa, fb), (ra, rb) = self.frac_below, self.median_ratio
        return (f"Delta<sigma: {fa.value:.0%} vs {fb.value:.0%}, difference {self.frac_diff.value:+.0%} "
                f"[{self.frac_diff.lo:+.0%}, {self.frac_diff.hi:+.0%}]; median Delta/sigma "
                f"{ra.value:.2f} vs {rb.value:.2f}, quotient {self.ratio_quotient} "
                f"(paired seed bootstrap, {self.confidence:.0%}; a ahead in "
                f"{self.p_a_higher:.0%} of draws)")


def paired_contrast(a: LadderLike, b: LadderLike, *, L0: float = 0.0,
                    x_range: tuple[float, float] = (0.2, 1.0), confidence: float = 0.9,
                    n_bootstrap: int = 400, seed: int = 0, n_x: int = 256) -> Contrast:
    r"""Is ladder ``a`` more collapsed than ladder ``b``? A paired seed bootstrap.

    ``a`` and ``b`` hold the same sizes, each with the same seeds in the same order (two
    schedules of one sweep, say: seed ``s`` of width ``D`` shares its initialisation, and its
    data under either seed protocol, in both). Each draw resamples the seeds of every size with
    replacement and applies the *same* picks to both ladders, so the draws of

    .. math:: \Delta f = f_a - f_b, \qquad f = \text{fraction of } x \in [x_0, x_1)
       \text{ with } \Delta(x) < \sigma(x),

    and of the quotient of the median :math:`\Delta/\sigma` keep what the two ladders share
    out of the difference. Statistics as :func:`check_scaling` computes them (the same grid of
    ``n_x`` points, each ladder's curves normalised by their own end points, the draws re-centred
    on the point estimates); intervals are percentiles at ``confidence``.
    """
    la, lb = as_ladder(a), as_ladder(b)
    if len(la) != len(lb) or not np.allclose(la.sizes, lb.sizes, equal_nan=True):
        raise ValueError("paired_contrast: the two ladders must have the same sizes")
    if [L.shape[0] for L in la.losses] != [L.shape[0] for L in lb.losses]:
        raise ValueError("paired_contrast: the two ladders must have the same seeds per size")
    if n_bootstrap < 20:
        raise ValueError(f"n_bootstrap must be at least 20, got {n_bootstrap}")
    lo, hi = float(x_range[0]), float(x_range[1])
    def metrics(lad: Ladder) -> CollapseResult:  # cleaned as check_scaling cleans
        cleaned = [clean_curve(lab, c, L) for lab, (c, L) in zip(lad.labels, lad, strict=True)]
        return collapse_metrics([(cc.compute, cc.losses) for cc in cleaned], None, L0, n_x=n_x)

    res = [metrics(la), metrics(lb)]
    if not np.allclose(res[0].x, res[1].x) or np.any(res[0].n_seeds != res[1].n_seeds):
        raise ValueError("paired_contrast: the ladders' grids or kept seeds differ "
                         "(a seed that diverged in one ladder only cannot be paired)")
    if np.any(res[0].n_seeds < 2):
        raise ValueError("paired_contrast: every size needs at least 2 seeds")
    sel = x_range_mask(res[0].x, lo, hi)
    w = np.gradient(res[0].x[sel])
    w = w / w.sum()
    point = [_summary(r, (lo, hi)) for r in res]
    rng = np.random.default_rng(seed)
    n, n_max = res[0].curves.shape[:2]
    frac, ratio = [[], []], [[], []]
    for start in range(0, n_bootstrap, 100):
        size = min(100, n_bootstrap - start)
        picks = np.broadcast_to(np.arange(n), (size, n))
        u = rng.random((size, n, n_max))
        for k in (0, 1):
            delta, sigma, _ = _draw_stats(res[k], sel, picks, u)
            frac[k].append((delta < sigma) @ w)
            ratio[k].append(np.median(delta / sigma, axis=1))
    f, r = zip(*(_recentre(np.concatenate(fk), np.concatenate(rk), p)
                 for fk, rk, p in zip(frac, ratio, point, strict=True)), strict=True)
    return Contrast(
        frac_below=tuple(_interval(f[k], point[k].frac_below, confidence) for k in (0, 1)),
        median_ratio=tuple(_interval(r[k], point[k].median_ratio, confidence) for k in (0, 1)),
        frac_diff=_interval(f[0] - f[1], point[0].frac_below - point[1].frac_below, confidence),
        ratio_quotient=_interval(r[0] / r[1], point[0].median_ratio / point[1].median_ratio,
                                 confidence),
        p_a_higher=float(np.mean(f[0] > f[1])), confidence=confidence, n_bootstrap=n_bootstrap)
