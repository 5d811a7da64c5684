"""Supercollapse as a check of a scaling recipe: run it on your own ladder of runs.

A ladder is a set of model sizes, each trained (with several seeds) to the horizon its
scaling recipe gives it. If the recipe is right (compute-optimal horizon law, µP learning
rates that transfer across widths, a good base learning rate, a decaying schedule), the
normalised loss curves of all sizes fall on one curve more tightly than a single size's
curves scatter between seeds (Qiu et al. 2025, Sections 2.5 and 5). :func:`check_scaling`
measures that, says how sure it is, and when it fails says what to change.

Definitions (those of :mod:`supercollapse.analysis.collapse`; ``R = L - L0`` is the reducible loss,
``x = c / c*(p)``)::

    l(x, p, w)   = R(x c*, p, w) / R(c*, p, w)                  normalised curve (Eq. 1)
    Delta(x)     = V_{p,w}[l]^(1/2) / E_{p,w}[l]                collapse deviation (Eq. 2)
    sigma(x, p)  = V_w[R(x c*, p, w)]^(1/2) / E_w[R(x c*, p, w)]  noise floor (Eq. 3)

and, over ``x_range`` (default ``[0.2, 1)``; ``x = 1`` is trivial since ``l(1) = 1``):

* ``frac_below``: the fraction of the range where ``Delta(x) < sigma(x)`` (sigma pooled over
  sizes as an RMS);
* ``median_ratio``: the median of ``Delta(x) / sigma(x)``;
* ``deviation_p`` (the *offset* of size ``p``): the signed, ``x``-averaged relative offset of
  its seed-mean curve from the ladder mean, ``(E_w l(x, p) - E_{p,w} l(x)) / E_{p,w} l(x)``;
* the *fan*: the slope ``s`` of the offsets against ``ln p`` (least squares; the offsets sum
  to zero). Offsets that grow steadily with size point at something that scales with size;
* leave-one-out: ``gain_p = 1 - mean Delta_{-p} / mean Delta`` (``Delta_{-p}``: the ladder
  without size ``p``); the size with the largest gain deviates most.

**Certainty.** The statistics are bootstrapped (``n_bootstrap`` draws, seeded). The verdict
statistics, ``Delta`` and ``sigma`` and the per-size offsets come from draws that resample every
size's seeds with replacement (the verdict is about the seed noise of this ladder); the fan slope
from draws that also resample the sizes (with three sizes or more), so that its interval covers
how single sizes scatter about a straight line. Resampling a few seeds with replacement biases
``Delta`` up and ``sigma`` down, so the draws of ``frac_below`` and ``median_ratio`` are
re-centred on the point estimates (a median shift; the ratio in log space). Intervals are
percentile intervals at level ``confidence``. Each draw is classified by the thresholds
(``"supercollapse"`` when ``frac_below >= 0.75``, else ``"collapse"`` when ``median_ratio <=
1.5``, else ``"broken"``: our choices, arguments of :func:`check_scaling`), and the verdict is
the label of at least a fraction ``confidence`` of the draws, or ``"borderline"`` (the report
names the labels in play and their shares). It is ``"unknown"`` without a noise floor (fewer
than two seeds, or identical seeds).

**Prescription.** A fan is read with the two-term theory of chapter 5 (paper, Eqs. 5-7): for
``L = A t^-mu + B p^-nu`` the horizon ``t*(p) ∝ p^gamma`` with ``gamma = nu / mu`` balances the
two terms at the ratio ``r = nu / mu``; a horizon exponent off by ``dg`` makes the ratio drift,
``r(p) = r (p / p_mid)^(-mu dg)``, and the normalised curves fan out,
``l(x, p) = (r(p) x^-mu + 1) / (r(p) + 1)``. The fan slope this predicts, ``s(dg)``
(:func:`fan_slope`), is inverted: the estimated exponent error solves ``s(dg) = s`` measured,
and the ends of the interval of ``s`` give its interval. ``mu`` and ``nu`` come from a two-term
fit to constant-rate runs when given (``constant_runs``; these also give a refit of the horizon
law), else from the ladder itself: its final losses ``B p^-nu (1 + r(p))`` give ``nu``, and
``mu = nu / gamma*`` with ``gamma* = gamma_used - dg``, solved together with ``dg``. The
learning-rate and parameterisation symptoms are named by patterns (our heuristics): larger
models ending *worse* than smaller ones (a learning rate that does not transfer across widths:
µP), and the largest model both the noisiest and the most deviating, or diverged seeds (a
learning rate too high).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
)
from .frontier import (
    HorizonLaw,
    bootstrap_horizon_law,
    clean_curve,
    compute_frontier,
    fit_horizon_law,
)
from .theory import fit_two_term

__all__ = [
    "Estimate",
    "HorizonPrescription",
    "ScalingReport",
    "check_scaling",
    "exponent_error",
    "fan_sensitivity",
    "fan_slope",
    "ladder_from_runs",
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
            horizon law the constant-rate runs confirm).
        loo_delta: mean ``Delta`` over the range with each size left out, shape ``(n_sizes,)``.
        loo_gain: ``1 - loo_delta / summary.mean_delta``.
        outlier: index of the size with the largest ``loo_gain``.
        outlier_flagged: ``loo_gain[outlier] >= outlier_gain`` (the threshold used).
        summary_without_outlier: the summary of the ladder without ``outlier`` (``None`` when
            fewer than three sizes).
        l0_sensitivity: ``{L0: frac_below}`` at the given ``L0`` and at the probes.
        L0, x_range, n_bootstrap: the inputs.
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
        """One summary figure: ``Delta`` and ``sigma`` against ``x``, and the per-size offsets.

        Left: ``Delta(x)`` and ``sigma(x)`` with their bootstrap bands over the summarised range.
        Right: each size's offset with its interval against ``ln p`` (or the size's index),
        with the fitted fan and the mean noise floor ``+- sigma`` as a band. Returns the figure.
        """
        import matplotlib.pyplot as plt

        if axes is None:
            fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
        else:
            fig = axes[0].figure
        ax0, ax1 = axes
        res = self.result
        ax0.plot(res.x, res.delta, color="C3", label=r"$\Delta$")
        ax0.plot(res.x, res.sigma, "k--", lw=1.2, label=r"$\sigma$")
        ax0.fill_between(self.x_band, *self.delta_band, color="C3", alpha=0.2, lw=0)
        ax0.fill_between(self.x_band, *self.sigma_band, color="0.5", alpha=0.25, lw=0)
        ax0.axvspan(0, self.x_range[0], color="0.85", alpha=0.5, lw=0)
        ax0.set(xlim=(0, 1), yscale="log", xlabel="normalised compute $x = c/c^*$",
                ylabel="relative deviation", title=self.headline().replace("Verdict: ", ""))
        ax0.title.set_fontsize(8)
        ax0.legend(fontsize=8)
        known = bool(np.all(self.sizes > 0))
        pos = self.sizes if known else np.arange(len(self.labels), dtype=float)
        err = np.vstack([self.deviation - self.deviation_lo, self.deviation_hi - self.deviation])
        ax1.errorbar(pos, 100 * self.deviation, yerr=100 * err, fmt="o", color="C0", capsize=3,
                     label=f"offset ({100 * self.confidence:.0f}% interval)")
        sig = 100 * self.summary.mean_sigma
        ax1.axhspan(-sig, sig, color="0.5", alpha=0.2, lw=0, label=r"$\pm$ mean $\sigma$")
        ax1.axhline(0, color="0.5", lw=0.8)
        if self.horizon is not None and known:
            u = np.log(self.sizes) - np.log(self.sizes).mean()
            ax1.plot(self.sizes, 100 * self.horizon.slope.value * u, color="C1", lw=1,
                     label="fan (slope against ln p)")
        if known:
            ax1.set_xscale("log")
        ax1.set(xlabel="parameters $p$" if known else "size", ylabel="offset from ladder mean (%)",
                title="per-size offsets")
        if not known:
            ax1.set_xticks(pos, self.labels)
        ax1.legend(fontsize=8)
        fig.tight_layout()
        return fig


def ladder_from_runs(runs: Sequence) -> tuple[list[tuple[NDArray, NDArray]], dict]:
    """Curves ``[(compute, test_loss[seeds, evals])]`` and facts from a list of ``RunResult``.

    The facts: ``labels`` (``width=...``), ``sizes`` (parameter counts) and ``decay`` (the
    logged learning rate ends below half its peak, in every run). Runs are sorted by size.
    """
    runs = sorted(runs, key=lambda r: r.n_params)
    curves = [(np.asarray(r.curves["compute"])[1:], np.asarray(r.curves["test_loss"])[:, 1:])
              for r in runs]
    lr = [np.asarray(r.curves["lr"], dtype=float) for r in runs]
    decay = all(v[-1] < 0.5 * v.max() for v in lr)
    return curves, dict(labels=[f"width={r.config.width}" for r in runs],
                        sizes=[float(r.n_params) for r in runs], decay=decay)


def _is_run(obj: object) -> bool:
    return hasattr(obj, "curves") and hasattr(obj, "n_params") and hasattr(obj, "config")


def _summary(res: CollapseResult, x_range: tuple[float, float]) -> CollapseSummary:
    """:func:`summarize_collapse`, or (no seed spread: ``sigma`` is NaN) ``Delta`` alone."""
    lo, hi = x_range
    if np.any(np.isfinite(res.sigma)):
        return summarize_collapse(res, x_min=lo, x_max=hi)
    sel = (res.x >= lo) & (res.x <= hi) & (res.x < 1 - 1e-9)
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


def _interval(draws: NDArray[np.float64], value: float, level: float) -> Estimate:
    d = draws[np.isfinite(draws)]
    if d.size == 0:
        return Estimate(float(value), float("nan"), float("nan"))
    lo, hi = np.quantile(d, [(1 - level) / 2, (1 + level) / 2])
    return Estimate(float(value), float(lo), float(hi))


def _as_ladder(ladder: Any, sizes: ArrayLike | None, labels: Sequence[str] | None,
               decay: bool | None) -> tuple[list, list[int], NDArray, tuple[str, ...], bool | None]:
    """Curves, seeds given per size, sizes, labels and decay from any accepted ladder form."""
    if isinstance(ladder, Mapping):
        if sizes is not None:
            raise ValueError("a dict ladder {size: (compute, losses)} carries its sizes; "
                             "do not pass sizes")
        keys = sorted(ladder)
        for k in keys:
            if not (np.isscalar(k) and float(k) > 0):
                raise ValueError(f"dict ladder keys must be positive sizes, got {k!r}")
        items = [ladder[k] for k in keys]
        sizes = [float(k) for k in keys]
        labels = [f"p={k:.3g}" for k in sizes] if labels is None else labels
    else:
        items = list(ladder)
    if len(items) < 2:
        raise ValueError(f"need at least 2 model sizes, got {len(items)}")
    if all(_is_run(r) for r in items):
        if sizes is not None or labels is not None or decay is not None:
            raise ValueError("sizes, labels and decay are read from the runs; do not pass them")
        seeds_in = [len(r.config.seeds) for r in sorted(items, key=lambda r: r.n_params)]
        curves, facts = ladder_from_runs(items)
        labels, sizes, decay = facts["labels"], facts["sizes"], facts["decay"]
    elif any(_is_run(r) for r in items):
        raise ValueError("mix of RunResult and (compute, losses) pairs")
    else:
        curves = []
        for i, item in enumerate(items):
            if not (isinstance(item, Sequence | tuple) and len(item) == 2):
                raise ValueError(f"size {i}: expected a (compute, losses) pair")
            curves.append(item)
        seeds_in = []
        for _, L in curves:
            try:
                seeds_in.append(np.atleast_2d(np.asarray(L, dtype=float)).shape[0])
            except ValueError:
                seeds_in.append(len(L))
    n = len(curves)
    sizes_a = np.full(n, np.nan) if sizes is None else np.asarray(sizes, dtype=float)
    labels_t = tuple(f"size {i}" for i in range(n)) if labels is None else tuple(labels)
    if sizes_a.shape != (n,) or len(labels_t) != n:
        raise ValueError(f"sizes and labels need one entry per size ({n})")
    return curves, seeds_in, sizes_a, labels_t, decay


def _constant_curves(runs: Any) -> tuple[dict, dict]:
    """``{p: (compute, losses)}`` and ``{p: (samples, losses)}`` of constant-rate runs."""
    if isinstance(runs, Mapping):
        comp = {float(p): (np.asarray(c, dtype=float), np.asarray(L, dtype=float))
                for p, (c, L) in runs.items()}
        samp = {p: (c / (6 * p), L) for p, (c, L) in comp.items()}
        return comp, samp
    runs = list(runs)
    if not all(_is_run(r) for r in runs):
        raise ValueError("constant_runs must be RunResults or a dict {size: (compute, losses)}")
    comp = {float(r.n_params): (np.asarray(r.curves["compute"]), np.asarray(r.curves["test_loss"]))
            for r in runs}
    samp = {float(r.n_params): (np.asarray(r.curves["samples"]), np.asarray(r.curves["test_loss"]))
            for r in runs}
    return comp, samp


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
        comp, samp = _constant_curves(constant_runs)
        two = fit_two_term(samp)
        mu, nu = two.mu, two.nu
        source = f"two-term fit to {len(samp)} constant-rate runs"
        refit = fit_horizon_law(compute_frontier(comp))
        try:  # seed bootstrap of the refit (chapter 2), or its OLS error with one seed
            boot = bootstrap_horizon_law(comp, n_bootstrap=100, seed=seed)
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


def check_scaling(
    ladder: Sequence | Mapping,
    *,
    L0: float = 0.0,
    c_star: ArrayLike | None = None,
    x_range: tuple[float, float] = (0.2, 1.0),
    sizes: ArrayLike | None = None,
    labels: Sequence[str] | None = None,
    decay: bool | None = None,
    constant_runs: Any = None,
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
        ladder: a list of ``RunResult`` (one per size; sizes, labels and whether the learning
            rate decayed are read from them); or a list of ``(compute, losses)`` pairs, one per
            size, ``losses`` of shape ``(n_seeds, n_points)`` (the format of
            :func:`supercollapse.results.ladder_curves`); or a dict ``{size: (compute,
            losses)}``. Each size trained to its horizon. Logs are cleaned as
            :func:`~supercollapse.analysis.frontier.clean_curve` says (repeated compute points
            merged, isolated NaN evaluations dropped, diverged seeds dropped), and the report
            says what was done.
        L0: irreducible loss (0 for a realisable task; else see
            :func:`~supercollapse.analysis.collapse.fit_irreducible_loss`).
        c_star: per-size horizon; ``None`` takes each curve's last point.
        x_range: range of normalised compute ``x`` that is summarised.
        sizes, labels: parameter counts and names per size (list of pairs only).
        decay: whether the learning rate decayed (pairs only; ``None`` = not known).
        constant_runs: constant-learning-rate runs of several sizes (``RunResult`` list or
            ``{size: (compute, losses)}``), if any: the two-term model that reads the fan is
            fitted to them, and the horizon law refitted from them.
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
    >>> check_scaling(good, decay=True, n_bootstrap=100).verdict
    'supercollapse'
    >>> bad = check_scaling(good[:2] + [size(4e5, bend=0.3)] + good[3:], decay=True,
    ...                     n_bootstrap=100)
    >>> bad.verdict, bad.outlier, bad.outlier_flagged
    ('broken', 2, True)
    """
    curves_in, seeds_in, sizes_a, labels_t, decay = _as_ladder(ladder, sizes, labels, decay)
    n = len(curves_in)
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
    sel = (res.x >= lo) & (res.x <= hi) & (res.x < 1 - 1e-9)

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
        # Resampling a few seeds with replacement biases Delta up and sigma down (repeated seeds);
        # re-centre the draws of the verdict statistics on the point estimates (median shift;
        # the ratio in log space) before reading intervals and the verdict from them.
        boot["frac"] = np.clip(boot["frac"] - np.median(boot["frac"]) + summ.frac_below, 0, 1)
        boot["ratio"] = boot["ratio"] * summ.median_ratio / np.median(boot["ratio"])
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

    notes = []
    if np.any(n_merged > 0):
        notes.append(f"merged repeated compute points (an evaluation logged twice; losses "
                     f"averaged): {n_merged.tolist()} per size.")
    if np.any(n_pts > 0):
        notes.append(f"dropped evaluations with an isolated NaN/inf: {n_pts.tolist()} per size.")
    if not seeds_ok:
        notes.append("fewer than 2 seeds for some size: no noise floor sigma, no verdict. "
                     "Train at least 2 (better 3-5) seeds per size.")
    elif noise_free:
        notes.append(f"no seed noise: cannot judge. The seeds of {', '.join(noise_free)} are "
                     "identical (sigma = 0): are they really different seeds (initialisation "
                     "and data order)?")
    elif np.any(n_seeds < 3):
        notes.append("only 2 seeds for some size: sigma is a rough estimate and, as a population "
                     "standard deviation, biased low (about 40% for 2 seeds), which makes the "
                     "test conservative; 3-5 seeds are better.")
    if n == 2:
        notes.append("only 2 sizes: the verdict rests on one pair (no leave-one-out, no fan, "
                     "sizes not resampled); add sizes before trusting it.")
    if np.any(n_dropped > 0):
        notes.append(f"dropped diverged seeds (NaN/inf or blown up at the end): "
                     f"{n_dropped.tolist()} per size.")
    if decay is False:
        notes.append("no learning-rate decay: expect collapse at the noise floor (Delta ~ "
                     "sigma), not supercollapse; decay the learning rate to zero to test the "
                     "recipe sharply.")
    elif decay is None:
        notes.append("learning-rate schedule unknown: supercollapse needs a decaying schedule.")
    if verdict == "borderline":
        notes.append(f"the ladder sits within the error bars of the thresholds "
                     f"(Delta < sigma on {supercollapse_frac:.0%} of the range for supercollapse, "
                     f"median Delta/sigma {broken_ratio:g} for broken): no hard label. More seeds "
                     "narrow the intervals; a wider ladder sharpens the test.")
    if flagged:
        assert without is not None
        notes.append(f"{labels_t[out]} deviates most: without it Delta falls by "
                     f"{100 * gain[out]:.0f}% and Delta < sigma on "
                     f"{100 * without.frac_below:.0f}% of the range. Check that size: is its "
                     "horizon inside the range where the horizon law was fitted, was it "
                     "trained long enough, did its learning rate transfer?")
    notes += symptom_notes
    h = horizon
    refit_ok = None  # does the refitted horizon law agree with the ladder's exponent?
    if h is not None and h.refit is not None and h.refit_interval is not None:
        rlo, rhi = h.refit_interval
        refit_ok = bool(rlo <= h.exponent_used <= rhi)
    if h is not None and h.fan:
        line = (f"the offsets fan with size (slope {100 * h.slope.value:+.2f}% per e-fold of size, "
                f"{100 * confidence:.0f}% interval [{100 * h.slope.lo:+.2f}, "
                f"{100 * h.slope.hi:+.2f}])")
        line += (": a size-dependent error, even though the ladder supercollapses. "
                 if verdict == "supercollapse" else ". ")
        if symptoms:
            line += "With the symptoms above it is not read as a horizon error."
        elif decay is False:
            line += ("Without learning-rate decay it is not read as a horizon error (a "
                     "constant-rate ladder on the right horizon can fan too).")
        elif refit_ok:
            line += ("The horizon law refitted from the constant-rate runs agrees with the "
                     "ladder's exponent, so the fan points elsewhere: ")
            if h.slope.value > 0:
                symptoms = (*symptoms, "lr_too_low")
                line += ("larger models sit above the mean, under-trained: a learning rate too "
                         "low (raise the base rate; it should transfer by µP).")
            else:
                line += "check that the learning rate transfers across sizes (µP)."
        else:
            line += (f"Read as a horizon error (two-term theory, mu = {h.mu:.3g}, nu = "
                     f"{h.nu:.3g} from {h.source}): the exponent 1 + gamma = "
                     f"{h.exponent_used:.3f} of the ladder is off by {h.error.value:+.3f} "
                     f"[{h.error.lo:+.3f}, {h.error.hi:+.3f}]; use {h.suggested.value:.3f} "
                     f"[{h.suggested.lo:.3f}, {h.suggested.hi:.3f}].")
            if h.slope.value > 0 and refit_ok is None:
                line += (" A learning rate that is too low gives a fan of the same sign (larger "
                         "models under-trained): constant-rate runs would tell them apart.")
        notes.append(line)
    if h is not None and h.refit is not None and h.refit_interval is not None:
        e, (rlo, rhi) = 1 + h.refit.gamma, h.refit_interval
        notes.append(f"horizon law refitted from the constant-rate runs: 1 + gamma = {e:.3f} "
                     f"[{rlo:.3f}, {rhi:.3f}] (seed bootstrap), against {h.exponent_used:.3f} "
                     "used by the ladder: "
                     + ("consistent." if refit_ok else
                        f"change the exponent by {e - h.exponent_used:+.3f}."))
    if verdict in ("collapse", "broken", "borderline") and not symptoms and not (h and h.fan):
        notes += [
            "check the horizon law c*(P) = kappa P^(1+gamma): refit it from constant-rate runs; "
            "an exponent off by 10% fans the curves out (more so on a wide ladder);",
            "check µP: per-layer learning rates must scale with width (frozen rates break "
            "collapse);",
            "check the base learning rate: too high (noisy, unstable large models) or too low "
            "(under-trained) both break collapse;",
        ]
    fracs = list(l0s.values())
    if enough and max(fracs) - min(fracs) > 0.2:
        notes.append(f"L0 matters: Delta < sigma on {100 * min(fracs):.0f}-{100 * max(fracs):.0f}% "
                     f"of the range for L0 in [{min(l0s):.3g}, {max(l0s):.3g}]; "
                     "pin L0 down (task knowledge, or a fit of the frontier's end points).")
    elif enough:
        notes.append(f"L0 is not critical: L0 in [{min(l0s):.3g}, {max(l0s):.3g}] gives "
                     f"Delta < sigma on {100 * min(fracs):.0f}-{100 * max(fracs):.0f}% of the range.")
    return ScalingReport(
        verdict=verdict, point_verdict=point_verdict, verdict_prob=prob, confidence=confidence,
        summary=summ, frac_below=frac_e, median_ratio=ratio_e, result=res,
        x_band=res.x[sel], delta_band=delta_band, sigma_band=sigma_band, labels=labels_t,
        sizes=sizes_a, n_seeds=n_seeds, n_dropped=n_dropped, n_merged=n_merged,
        n_points_dropped=n_pts, decay=decay, deviation=dev, deviation_lo=dev_lo,
        deviation_hi=dev_hi, sigma_size=sigma_size, horizon=horizon, symptoms=symptoms,
        loo_delta=loo, loo_gain=gain, outlier=out, outlier_flagged=flagged,
        summary_without_outlier=without, l0_sensitivity=l0s, L0=float(L0), x_range=(lo, hi),
        n_bootstrap=int(n_bootstrap), notes=tuple(notes),
    )
