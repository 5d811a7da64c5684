"""Supercollapse as a check of a scaling recipe: run it on your own ladder of runs.

A ladder is a set of model sizes, each trained (with several seeds) to the horizon its
scaling recipe gives it. If the recipe is right (compute-optimal horizon law, µP learning
rates that transfer across widths, a good base learning rate, a decaying schedule), the
normalised loss curves of all sizes fall on one curve more tightly than a single size's
curves scatter between seeds (Qiu et al. 2025, Sections 2.5 and 5). :func:`check_scaling`
measures that and says, in words, what to look at when it fails.

Definitions (those of :mod:`supercollapse.analysis.collapse`; ``R = L - L0`` is the reducible loss,
``x = c / c*(p)``)::

    l(x, p, w)   = R(x c*, p, w) / R(c*, p, w)                  normalised curve (Eq. 1)
    Delta(x)     = V_{p,w}[l]^(1/2) / E_{p,w}[l]                collapse deviation (Eq. 2)
    sigma(x, p)  = V_w[R(x c*, p, w)]^(1/2) / E_w[R(x c*, p, w)]  noise floor (Eq. 3)

and, over ``x_range`` (default ``[0.2, 1)``; ``x = 1`` is trivial since ``l(1) = 1``):

* ``frac_below``: the fraction of the range where ``Delta(x) < sigma(x)`` (sigma pooled over
  sizes as an RMS);
* ``median_ratio``: the median of ``Delta(x) / sigma(x)``;
* leave-one-out: ``Delta_{-p}`` is ``Delta`` of the ladder without size ``p``, averaged over the
  range; ``gain_p = 1 - mean Delta_{-p} / mean Delta`` is how much removing ``p`` helps. The
  size with the largest gain is the one whose curve deviates most;
* ``deviation_p``: the signed, ``x``-averaged relative offset of size ``p``'s seed-mean curve
  from the ladder mean, ``(E_w l(x, p) - E_{p,w} l(x)) / E_{p,w} l(x)``. A single size off
  points at that size; offsets that grow steadily with size (a fan) point at something that
  scales with size: the horizon law, the learning-rate transfer (µP), or ``L0``.

Verdict (our thresholds, arguments of :func:`check_scaling`): ``"supercollapse"`` when
``frac_below >= 0.75``; ``"collapse"`` (at the noise floor, the expected result without
learning-rate decay) when ``median_ratio <= 1.5``; ``"broken"`` otherwise; ``"unknown"``
with fewer than two seeds per size (no noise floor).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .collapse import (
    CollapseResult,
    CollapseSummary,
    collapse_metrics,
    summarize_collapse,
    x_average,
)

__all__ = ["ScalingReport", "check_scaling", "ladder_from_runs"]

VERDICTS = ("supercollapse", "collapse", "broken", "unknown")


@dataclass(frozen=True)
class ScalingReport:
    """What :func:`check_scaling` found; ``print(report.report())`` for the text.

    Attributes:
        verdict: ``"supercollapse"``, ``"collapse"``, ``"broken"`` or ``"unknown"``.
        summary: ``Delta`` against ``sigma`` over ``x_range`` (:class:`~supercollapse.analysis.collapse.CollapseSummary`).
        result: the full collapse statistics (:class:`~supercollapse.analysis.collapse.CollapseResult`), for plots.
        labels: one name per size (widths for runs, ``size i`` otherwise).
        sizes: parameter counts (NaN where unknown).
        n_seeds: seeds used per size after dropping diverged ones.
        n_dropped: seeds dropped per size (NaN or inf in the curve).
        decay: whether the learning rate decayed to the end (``None``: not known).
        loo_delta: mean ``Delta`` over the range with each size left out, shape ``(n_sizes,)``.
        loo_gain: ``1 - loo_delta / summary.mean_delta``.
        outlier: index of the size with the largest ``loo_gain``.
        outlier_flagged: ``loo_gain[outlier] >= outlier_gain`` (the threshold used).
        summary_without_outlier: the summary of the ladder without ``outlier`` (``None`` when
            fewer than three sizes).
        deviation: signed ``x``-averaged relative offset of each size's mean curve.
        l0_sensitivity: ``{L0: frac_below}`` at the given ``L0`` and at the probes.
        L0, x_range: the inputs.
        notes: the warnings and the checklist, one line each.
    """

    verdict: str
    summary: CollapseSummary
    result: CollapseResult
    labels: tuple[str, ...]
    sizes: NDArray[np.float64]
    n_seeds: NDArray[np.int64]
    n_dropped: NDArray[np.int64]
    decay: bool | None
    loo_delta: NDArray[np.float64]
    loo_gain: NDArray[np.float64]
    outlier: int
    outlier_flagged: bool
    summary_without_outlier: CollapseSummary | None
    deviation: NDArray[np.float64]
    l0_sensitivity: dict[float, float]
    L0: float
    x_range: tuple[float, float]
    notes: tuple[str, ...] = field(default=())

    def report(self) -> str:
        """The verdict, a table per size and what to check, as plain text."""
        s = self.summary
        lo, hi = self.x_range
        lines = [
            f"Verdict: {self.verdict.upper()}",
            f"  over x in [{lo:g}, {hi:g}): Delta < sigma on {100 * s.frac_below:.0f}% of the "
            f"range; median Delta/sigma = {s.median_ratio:.2f}",
            f"  mean Delta = {s.mean_delta:.3g}, mean sigma = {s.mean_sigma:.3g}, L0 = {self.L0:.4g}",
            "",
            f"  {'size':>12s} {'params':>10s} {'seeds':>5s} {'offset':>8s} {'LOO gain':>9s}",
        ]
        for i, lab in enumerate(self.labels):
            p = "?" if not np.isfinite(self.sizes[i]) else f"{self.sizes[i]:.3g}"
            mark = "  <-- deviates most" if (i == self.outlier and self.outlier_flagged) else ""
            lines.append(f"  {lab:>12s} {p:>10s} {self.n_seeds[i]:5d} "
                         f"{100 * self.deviation[i]:+7.2f}% {100 * self.loo_gain[i]:+8.0f}%{mark}")
        lines += ["", "Notes:"] + [f"  - {n}" for n in self.notes]
        return "\n".join(lines)


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


def check_scaling(
    ladder: Sequence,
    *,
    L0: float = 0.0,
    c_star: ArrayLike | None = None,
    x_range: tuple[float, float] = (0.2, 1.0),
    sizes: ArrayLike | None = None,
    labels: Sequence[str] | None = None,
    decay: bool | None = None,
    supercollapse_frac: float = 0.75,
    broken_ratio: float = 1.5,
    outlier_gain: float = 0.25,
    l0_probe: float = 0.1,
    n_x: int = 256,
) -> ScalingReport:
    """Does a ladder of runs supercollapse, and if not, what is the likely culprit?

    Args:
        ladder: either a list of ``RunResult`` (one per size; sizes, labels and whether the
            learning rate decayed are read from them), or a list of ``(compute, losses)``
            pairs, one per size, ``losses`` of shape ``(n_seeds, n_points)`` (the format of
            :func:`supercollapse.results.ladder_curves`), each trained to its horizon.
        L0: irreducible loss (0 for a realisable task; else see
            :func:`~supercollapse.analysis.collapse.fit_irreducible_loss`).
        c_star: per-size horizon; ``None`` takes each curve's last point.
        x_range: range of normalised compute ``x`` that is summarised.
        sizes, labels: parameter counts and names per size (pairs input only).
        decay: whether the learning rate decayed (pairs input only; ``None`` = not known).
        supercollapse_frac: ``frac_below`` needed for the verdict ``"supercollapse"``.
        broken_ratio: ``median(Delta/sigma)`` above which the verdict is ``"broken"``.
        outlier_gain: leave-one-out gain above which the most deviating size is flagged.
        l0_probe: ``L0`` is also tried at ``L0 -+ l0_probe * min_p R(c*, p)``.
        n_x: grid points of ``x``.

    Returns:
        A :class:`ScalingReport`; ``.report()`` is the text. The equations are in the
        module docstring.

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
    >>> check_scaling(good, decay=True).verdict
    'supercollapse'
    >>> bad = check_scaling(good[:2] + [size(4e5, bend=0.3)] + good[3:], decay=True)
    >>> bad.verdict, bad.outlier, bad.outlier_flagged
    ('broken', 2, True)
    """
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
        curves = [(np.asarray(c, dtype=float), np.atleast_2d(np.asarray(L, dtype=float)))
                  for c, L in items]
        seeds_in = [L.shape[0] for _, L in curves]
    n = len(curves)
    sizes_a = np.full(n, np.nan) if sizes is None else np.asarray(sizes, dtype=float)
    labels_t = tuple(f"size {i}" for i in range(n)) if labels is None else tuple(labels)
    if sizes_a.shape != (n,) or len(labels_t) != n:
        raise ValueError(f"sizes and labels need one entry per size ({n})")
    lo, hi = float(x_range[0]), float(x_range[1])
    if not 0 < lo < hi <= 1:
        raise ValueError("x_range must satisfy 0 < lo < hi <= 1")

    def metrics(sub: Sequence[int], l0: float) -> CollapseResult:
        cs = None if c_star is None else np.asarray(c_star, dtype=float)[list(sub)]
        return collapse_metrics([curves[i] for i in sub], cs, l0, n_x=n_x)

    everyone = list(range(n))
    res = metrics(everyone, L0)
    summ = _summary(res, (lo, hi))
    n_seeds = res.n_seeds
    n_dropped = np.asarray(seeds_in, dtype=np.int64) - n_seeds

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
    dev = x_average(res.x, (res.mean_curves - E) / E, lo, hi)

    # L0 sensitivity: move L0 by a fraction of the smallest reducible end-point loss.
    red_end = np.nanmin(res.reducible[:, :, -1]) if np.isclose(res.x[-1], 1) else np.nan
    l0s = {float(L0): summ.frac_below}
    if np.isfinite(red_end) and l0_probe > 0:
        for sgn in (-1, 1):
            l0 = float(L0 + sgn * l0_probe * red_end)
            l0s[l0] = _summary(metrics(everyone, l0), (lo, hi)).frac_below

    enough = bool(np.all(n_seeds >= 2))
    if not enough:
        verdict = "unknown"
    elif summ.frac_below >= supercollapse_frac:
        verdict = "supercollapse"
    elif summ.median_ratio <= broken_ratio:
        verdict = "collapse"
    else:
        verdict = "broken"

    notes = []
    if not enough:
        notes.append("fewer than 2 seeds for some size: no noise floor sigma, no verdict. "
                     "Train at least 2 (better 3-5) seeds per size.")
    elif np.any(n_seeds < 3):
        notes.append("only 2 seeds for some size: sigma is a rough estimate and, as a population "
                     "standard deviation, biased low (about 40% for 2 seeds), which makes the "
                     "test conservative; 3-5 seeds are better.")
    if np.any(n_dropped > 0):
        notes.append(f"dropped diverged seeds (NaN/inf): {n_dropped.tolist()} per size; a "
                     "learning rate that diverges some seeds is too high.")
    if decay is False:
        notes.append("no learning-rate decay: expect collapse at the noise floor (Delta ~ "
                     "sigma), not supercollapse; decay the learning rate to zero to test the "
                     "recipe sharply.")
    elif decay is None:
        notes.append("learning-rate schedule unknown: supercollapse needs a decaying schedule.")
    if flagged:
        assert without is not None
        notes.append(f"{labels_t[out]} deviates most: without it Delta falls by "
                     f"{100 * gain[out]:.0f}% and Delta < sigma on "
                     f"{100 * without.frac_below:.0f}% of the range. Check that size: is its "
                     "horizon inside the range where the horizon law was fitted, was it "
                     "trained long enough, did its learning rate transfer?")
    if verdict in ("collapse", "broken"):
        trend = np.corrcoef(np.log(sizes_a), dev)[0, 1] if np.all(sizes_a > 0) else np.nan
        if np.isfinite(trend) and abs(trend) > 0.8:
            notes.append(f"the offsets change steadily with size (correlation with log size "
                         f"{trend:+.2f}): a fan, the signature of a size-dependent error.")
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
        verdict=verdict, summary=summ, result=res, labels=labels_t, sizes=sizes_a,
        n_seeds=n_seeds, n_dropped=n_dropped, decay=decay, loo_delta=loo, loo_gain=gain,
        outlier=out, outlier_flagged=flagged, summary_without_outlier=without, deviation=dev,
        l0_sensitivity=l0s, L0=float(L0), x_range=(lo, hi), notes=tuple(notes),
    )
