"""Is a training recipe fit for a collapse test? Three gates, measured on the runs themselves.

A ladder can only supercollapse if the recipe treats every size alike. Chapter 8 (issue 29)
states three gates and measures them on a learning-rate sweep with constant and linear-decay
runs of each width to one horizon ``T``:

1. **Transfer.** The best peak learning rate (lowest final loss of the linear-decay runs)
   is the same at every width, within one step of the rate grid (µP's promise).
2. **Flat decay gain.** The decay gain

   .. math:: N/R = \\frac{L_\\text{const}(T/2) - L_\\text{lin}(T)}{L_\\text{const}(T) - L_0}

   (``N``: the noise part of the loss that the decay removes; ``R``: the reducible loss of the
   constant-rate run at ``T``) varies across the ladder by at most ``max_gain_ratio`` (1.3):
   the normalised curves ``l(x) = R(x)/R(1)`` of sizes whose decay removes different
   fractions of their loss cannot coincide.
3. **Past the transient.** Every horizon is at least ``min_transient_ratio`` (20) times the
   step where the size's constant-rate curve becomes steepest as a power law, i.e. where its
   local exponent ``-d ln(L - L0)/d ln t`` first reaches 90% of its peak (``t_steep``): the
   curve bends there from the optimiser's transient into its power-law tail, and a size normalised across that bend
   (at ``x = t_steep/T`` of order 0.1 or more) has a different shape on ``[0.2, 1)`` than one
   that is long past it.

:func:`steepest_step` and :func:`decay_gain` are the measurements; :func:`lr_table` and
:func:`recipe_gates` apply them to a sweep of :class:`~supercollapse.results.RunResult`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["MIN_TRANSIENT_RATIO", "DecayGain", "LadderGains", "LrCell", "RecipeGates", "decay_gain",
           "gains_of_curves", "ladder_gains", "lr_table", "recipe_gates", "steepest_step"]

MIN_TRANSIENT_RATIO = 20.0  # gate 3: every horizon at least this many times t_steep


def steepest_step(steps: ArrayLike, losses: ArrayLike, L0: float, *, window: float = 0.5,
                  n_grid: int = 400, frac: float = 0.9) -> float:
    """Step where the seed-mean reducible loss ``L - L0`` bends into its steepest fall in log-log.

    ``ln(L - L0)`` of the mean curve, from the first evaluation where it has made half of its
    descent (first to last evaluation, ``t > 0``; so that an early loss spike and its recovery
    do not count), is interpolated linearly in ``ln t`` onto ``n_grid`` log-spaced points and
    differenced over ``+-window/2`` in ``ln t``; returned is the first step where the local
    exponent ``-d ln(L - L0) / d ln t`` reaches ``frac`` (0.9) of its largest value: the onset
    of the tail (a pure power-law tail has a flat local exponent, whose argmax alone is noise).

    A flat start that bends at ``t = 300`` into a power law ``t^-1/2``, above a noise floor
    0.05 (which the local exponent sees fall away again):

    >>> t = np.geomspace(1, 1e5, 300)
    >>> L = 1 + 2 * (1 + (t / 300) ** 2) ** -0.25 + 0.05
    >>> round(float(np.log10(steepest_step(t, L, L0=1.0))), 1)
    3.1
    """
    t = np.asarray(steps, dtype=float)
    L = np.asarray(losses, dtype=float)
    if L.ndim == 2:
        L = np.nanmean(L, axis=0)
    ok = (t > 0) & np.isfinite(L) & (L > L0)
    t, L = t[ok], L[ok]
    # only the second half of the descent: an early spike and its recovery (a high rate
    # without warmup) are not the bend into the tail
    start = int(np.argmax(L <= L[0] - 0.5 * (L[0] - L[-1])))
    lt, L = np.log(t[start:]), np.log(L[start:] - L0)
    grid = np.linspace(lt[0], lt[-1], n_grid)
    Lg = np.interp(grid, lt, L)
    h = max(1, int(round(window / 2 / (grid[1] - grid[0]))))
    slope = -(Lg[2 * h:] - Lg[:-2 * h]) / (grid[2 * h:] - grid[:-2 * h])
    return float(np.exp(grid[h + int(np.argmax(slope >= frac * slope.max()))]))


@dataclass(frozen=True)
class DecayGain:
    """``N = L_const(T/2) - L_lin(T)``, ``R = L_const(T) - L0`` and their ratio (seed means)."""

    N: float
    R: float

    @property
    def ratio(self) -> float:
        return self.N / self.R


def decay_gain(const_steps: ArrayLike, const_losses: ArrayLike, linear_final: ArrayLike,
               horizon: float, L0: float) -> DecayGain:
    """Decay gain of one size from its constant-rate curve and its linear-decay final loss.

    ``const_losses``: ``(seeds, evals)`` or 1-D; the constant curve must reach ``horizon``
    steps. ``L_const(T/2)`` is interpolated linearly in ``ln t``.

    >>> t = np.array([1.0, 50.0, 100.0]); L = np.array([3.0, 1.6, 1.5])
    >>> g = decay_gain(t, L, [1.2], horizon=100, L0=1.0)
    >>> round(g.N, 3), round(g.R, 3), round(g.ratio, 3)
    (0.4, 0.5, 0.8)
    """
    t = np.asarray(const_steps, dtype=float)
    L = np.asarray(const_losses, dtype=float)
    if L.ndim == 2:
        L = np.nanmean(L, axis=0)
    if t[-1] < horizon * (1 - 1e-9):
        raise ValueError(f"the constant-rate curve ends at {t[-1]:g} < horizon {horizon:g}")
    ok = t > 0
    at = np.interp(np.log([horizon / 2, horizon]), np.log(t[ok]), L[ok])
    lin = float(np.nanmean(np.asarray(linear_final, dtype=float)))
    return DecayGain(N=float(at[0] - lin), R=float(at[1] - L0))


@dataclass(frozen=True)
class LrCell:
    """Final test losses (over seeds) of one run of a sweep."""

    width: int
    n_params: int
    variant: str
    schedule: str
    lr: float
    steps: int
    mean: float
    sd: float
    n_seeds: int


def lr_table(runs: Sequence) -> list[LrCell]:
    """One :class:`LrCell` per run (diverged seeds count as NaN and are left out)."""
    cells = []
    for r in runs:
        final = np.asarray(r.curves["test_loss"], dtype=float)[:, -1]
        final = final[np.isfinite(final) & ~np.asarray(r.diverged, dtype=bool)]
        cells.append(LrCell(width=r.config.width, n_params=r.n_params,
                            variant=str(r.config.tags.get("variant", "")),
                            schedule=r.config.schedule, lr=r.config.lr, steps=r.total_steps,
                            mean=float(final.mean()) if final.size else float("nan"),
                            sd=float(final.std()) if final.size else float("nan"),
                            n_seeds=int(final.size)))
    return sorted(cells, key=lambda c: (c.width, c.variant, c.schedule))


@dataclass(frozen=True)
class RecipeGates:
    """The three gates of one recipe (a peak rate) on a ladder of widths.

    Attributes:
        widths, n_params, steps: per width, sorted by width; ``steps`` is the horizon ``T``.
        best_lr: per width, the rate with the lowest mean final linear-decay loss.
        lr: the rate the gains and transients are measured at.
        gain: per width, :class:`DecayGain` at ``lr``.
        t_steep: per width, :func:`steepest_step` of the constant-rate curve at ``lr``.
        grid_steps: largest distance between best rates, in steps of the rate grid.
        gain_spread: ``max N/R / min N/R``.
        transient_ratio: per width, ``T / t_steep``.
        transfer, flat_gain, past_transient: the three gates; ``passed``: all three.
    """

    widths: tuple[int, ...]
    n_params: tuple[int, ...]
    steps: tuple[int, ...]
    best_lr: tuple[float, ...]
    lr: float
    gain: tuple[DecayGain, ...]
    t_steep: tuple[float, ...]
    grid_steps: int
    gain_spread: float
    transient_ratio: tuple[float, ...]
    transfer: bool
    flat_gain: bool
    past_transient: bool

    @property
    def passed(self) -> bool:
        return self.transfer and self.flat_gain and self.past_transient

    def lines(self) -> list[str]:
        """The gates in words, one line each."""
        mark = {True: "PASS", False: "FAIL"}
        return [
            f"transfer: best lr per width {dict(zip(self.widths, self.best_lr, strict=True))}"
            f" -> spread {self.grid_steps} grid step(s) [{mark[self.transfer]}]",
            f"flat decay gain at lr {self.lr:g}: N/R = "
            + ", ".join(f"{g.ratio:.3f}" for g in self.gain)
            + f" -> max/min {self.gain_spread:.2f} [{mark[self.flat_gain]}]",
            "past the transient: T/t_steep = "
            + ", ".join(f"{v:.0f}" for v in self.transient_ratio)
            + f" [{mark[self.past_transient]}]",
        ]


def recipe_gates(runs: Sequence, L0: float, *, lr: float | None = None,
                 variant_of=None, max_grid_steps: int = 1, max_gain_ratio: float = 1.3,
                 min_transient_ratio: float = MIN_TRANSIENT_RATIO) -> RecipeGates:
    """Measure the three gates on a learning-rate sweep.

    ``runs``: constant and linear-decay runs of several widths and peak rates, one horizon per
    width, the constant run of each (width, rate) as long as its linear one. ``variant_of``
    picks the grid runs (default: tag ``variant`` starting with ``"lr="``). ``lr``: the rate
    at which gains and transients are measured (default: the most common best rate, ties to
    the larger).
    """
    pick = variant_of or (lambda r: str(r.config.tags.get("variant", "")).startswith("lr="))
    grid = [r for r in runs if pick(r)]
    by = {(r.config.width, r.config.lr, r.config.schedule): r for r in grid}
    widths = sorted({w for w, _, s in by if s == "linear"})
    rates = sorted({x for _, x, _ in by})
    best = []
    for w in widths:
        finals = {x: np.nanmean(by[w, x, "linear"].curves["test_loss"][:, -1])
                  for x in rates if (w, x, "linear") in by}
        best.append(min(finals, key=lambda x: (np.nan_to_num(finals[x], nan=np.inf), x)))
    idx = [rates.index(b) for b in best]
    if lr is None:
        counts = {x: best.count(x) for x in best}
        lr = max(counts, key=lambda x: (counts[x], x))
    gains, steep, steps, params = [], [], [], []
    for w in widths:
        c, lin = by[w, lr, "constant"], by[w, lr, "linear"]
        T = lin.total_steps
        gains.append(decay_gain(c.curves["step"], c.curves["test_loss"],
                                lin.curves["test_loss"][:, -1], T, L0))
        steep.append(steepest_step(c.curves["step"], c.curves["test_loss"], L0))
        steps.append(T)
        params.append(lin.n_params)
    ratios = np.array([g.ratio for g in gains])
    spread = float(ratios.max() / ratios.min()) if np.all(ratios > 0) else float("inf")
    trans = tuple(float(T / s) for T, s in zip(steps, steep, strict=True))
    return RecipeGates(
        widths=tuple(widths), n_params=tuple(params), steps=tuple(steps), best_lr=tuple(best),
        lr=float(lr), gain=tuple(gains), t_steep=tuple(steep), grid_steps=max(idx) - min(idx),
        gain_spread=spread, transient_ratio=trans, transfer=max(idx) - min(idx) <= max_grid_steps,
        flat_gain=spread <= max_gain_ratio, past_transient=min(trans) >= min_transient_ratio)


@dataclass(frozen=True)
class LadderGains:
    """Decay gains and transient positions of a decayed ladder, per size (sorted by size).

    Attributes:
        sizes: parameter count of each decayed run.
        horizon: its horizon ``T``, in steps (:func:`ladder_gains`) or in compute
            (:func:`gains_of_curves`); ``t_steep`` is in the same unit.
        gain: :class:`DecayGain` against the constant-rate run of the same size.
        t_steep: :func:`steepest_step` of that constant-rate run; ``x_steep = t_steep / T``.
    """

    sizes: tuple[float, ...]
    horizon: tuple[float, ...]
    gain: tuple[DecayGain, ...]
    t_steep: tuple[float, ...]

    @property
    def ratio(self) -> np.ndarray:
        return np.array([g.ratio for g in self.gain])

    @property
    def x_steep(self) -> np.ndarray:
        return np.array(self.t_steep) / np.array(self.horizon)

    @property
    def transient_ratio(self) -> np.ndarray:
        """``T / t_steep`` per size; gate 3 asks for at least ``MIN_TRANSIENT_RATIO``."""
        return np.array(self.horizon) / np.array(self.t_steep)

    def past_transient(self, min_ratio: float = MIN_TRANSIENT_RATIO) -> np.ndarray:
        """Per size, whether its horizon passes gate 3 (``transient_ratio >= min_ratio``)."""
        return self.transient_ratio >= min_ratio

    @property
    def spread(self) -> float:
        r = self.ratio
        return float(r.max() / r.min()) if np.all(r > 0) else float("inf")

    def tracks(self, offsets: ArrayLike) -> float:
        """Correlation over sizes between ``offsets`` (a ladder's x-averaged offsets) and N/R."""
        o = np.asarray(offsets, dtype=float)
        if o.size != len(self.gain) or o.size < 3:
            return float("nan")
        return float(np.corrcoef(o, self.ratio)[0, 1])


def gains_of_curves(decayed: Sequence, sizes: ArrayLike, constant: Sequence,
                    constant_sizes: ArrayLike, L0: float) -> LadderGains | None:
    """:class:`LadderGains` from ``(compute, losses)`` pairs: each decayed curve (its last point
    is its horizon) against the constant-rate curve of the same size that reaches it, time in
    compute. ``None`` if some size has no such constant-rate curve."""
    cs = np.asarray(constant_sizes, dtype=float)
    rows = []
    for p, (c, L) in sorted(zip(np.asarray(sizes, dtype=float), decayed, strict=True),
                            key=lambda t: t[0]):
        k = np.flatnonzero(np.isclose(cs, p, rtol=1e-6))
        if k.size == 0:
            return None
        cc, LL = (np.asarray(a, dtype=float) for a in constant[int(k[0])])
        c_end = float(np.asarray(c, dtype=float)[-1])
        if cc[-1] < c_end * (1 - 1e-6):
            return None
        final = np.asarray(L, dtype=float)
        final = final[:, -1] if final.ndim == 2 else final[-1:]
        rows.append((float(p), c_end, decay_gain(cc, LL, final, c_end, L0),
                     steepest_step(cc, LL, L0)))
    if not rows:
        return None
    sizes_, horizon, gains, steep = zip(*rows, strict=True)
    return LadderGains(sizes=sizes_, horizon=horizon, gain=gains, t_steep=steep)


def ladder_gains(decayed: Sequence, constant: Sequence, L0: float) -> LadderGains | None:
    """:class:`LadderGains` of decayed runs (:class:`~supercollapse.results.RunResult`), each
    paired with the longest constant-rate run of the same parameter count, time in steps
    (``None`` if some size has none that reaches its horizon)."""
    const = {}
    for r in constant:
        if r.config.schedule == "constant":
            best = const.get(r.n_params)
            if best is None or r.total_steps > best.total_steps:
                const[r.n_params] = r
    rows = []
    for d in sorted(decayed, key=lambda r: r.n_params):
        c = const.get(d.n_params)
        if c is None or c.curves["step"][-1] < d.total_steps * (1 - 1e-9):
            return None
        gain = decay_gain(c.curves["step"], c.curves["test_loss"],
                          d.curves["test_loss"][:, -1], d.total_steps, L0)
        rows.append((float(d.n_params), float(d.total_steps), gain,
                     steepest_step(c.curves["step"], c.curves["test_loss"], L0)))
    if not rows:
        return None
    sizes, horizon, gains, steep = zip(*rows, strict=True)
    return LadderGains(sizes=sizes, horizon=horizon, gain=gains, t_steep=steep)
