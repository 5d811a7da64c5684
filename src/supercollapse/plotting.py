"""Plot helpers for the book's recurring figures, in one consistent style.

Every helper draws on an existing Axes (or makes one) and returns it, so chapters can compose
panels. Model sizes are coloured with one colour map and explained by a colour bar.
Works headless: import matplotlib with the Agg backend before pyplot when no display exists.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import LogNorm
from numpy.typing import ArrayLike

from .analysis.diagnose import ScalingReport
from .analysis.fits import PowerLawFit
from .analysis.frontier import Frontier

__all__ = [
    "STYLE",
    "PlainLogFormatter",
    "delta_sigma",
    "loss_vs_compute",
    "normalized_curves",
    "plain_log_ticks",
    "scaling_report",
    "schedule_predictions",
    "size_colors",
    "style",
]

STYLE: dict[str, object] = {
    "figure.dpi": 110,
    "figure.figsize": (5.0, 3.6),
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.25,
    "font.size": 10,
    "legend.frameon": False,
    "lines.linewidth": 1.6,
}
CMAP = "viridis"


@contextmanager
def style() -> Iterator[None]:
    """Context manager applying the book's rcParams.

    >>> with style():
    ...     fig, ax = plt.subplots()
    >>> plt.close(fig)
    """
    with mpl.rc_context(STYLE):
        yield


def _ax(ax: Axes | None) -> Axes:
    return plt.subplots()[1] if ax is None else ax


def size_colors(sizes: ArrayLike, ax: Axes | None = None, label: str = "parameters") -> list:
    """Colours for ``sizes`` on a log colour scale (``viridis``); adds a colour bar to ``ax``.

    >>> cols = size_colors([1e6, 4e6, 1.6e7])
    >>> len(cols), len(cols[0])
    (3, 4)
    """
    sizes = np.asarray(sizes, dtype=float)
    norm = LogNorm(sizes.min(), sizes.max() if sizes.max() > sizes.min() else sizes.min() * 1.01)
    sm = mpl.cm.ScalarMappable(norm=norm, cmap=CMAP)
    if ax is not None:
        ax.figure.colorbar(sm, ax=ax, label=label)
    return [sm.to_rgba(s) for s in sizes]


class PlainLogFormatter(mpl.ticker.LogFormatterSciNotation):
    r"""Matplotlib's log-axis labels, written as plain numbers: 6, 10, 20 rather than
    ``6 x 10^0``, ``10^1``, ``2 x 10^1``.

    The same ticks are labelled as by matplotlib's default (all decades; on an axis spanning about
    a decade or less also some ticks in between, which is where ``a x 10^k`` labels come from).
    The notation is plain where the whole axis lies within ``[1e-3, 1e4]``; an axis reaching
    beyond (compute in FLOPs, parameter counts) keeps powers of ten, so one axis never mixes both.

    >>> f = PlainLogFormatter()
    >>> f.axis = type("A", (), {"get_view_interval": lambda self: (0.05, 300.0)})()
    >>> f.set_locs([0.1, 1.0, 10.0, 100.0])
    >>> [f(x) for x in (0.1, 1.0, 10.0, 100.0)]
    ['$\\mathdefault{0.1}$', '$\\mathdefault{1}$', '$\\mathdefault{10}$', '$\\mathdefault{100}$']
    """

    PLAIN_RANGE = (1e-3, 1e4)

    def set_locs(self, locs: Any = None) -> None:
        super().set_locs(locs)
        lo, hi = sorted(self.axis.get_view_interval()) if self.axis is not None else (0.0, 0.0)
        self._plain = self.PLAIN_RANGE[0] * (1 - 1e-9) <= lo and hi <= self.PLAIN_RANGE[1] * (1 + 1e-9)

    def __call__(self, x: float, pos: int | None = None) -> str:
        label = super().__call__(x, pos)
        if label and getattr(self, "_plain", False):  # an empty label: a tick left unlabelled
            return f"$\\mathdefault{{{x:g}}}$"
        return label


def plain_log_ticks(axes: Axes | Iterable[Axes], axis: str = "both") -> Any:
    """Label the log-scaled axes of ``axes`` (one Axes, or several: ``fig.axes``, colour bars
    included) with :class:`PlainLogFormatter`: plain numbers such as 2, 6, 10, 20, 0.05 rather
    than ``2 x 10^0``. ``axis`` is ``"x"``, ``"y"`` or ``"both"``; linear axes are left alone.
    Minor ticks left unlabelled on purpose (a ``NullFormatter``) stay unlabelled.
    The book's one tick helper: call it once the scales are set (``set_yscale`` installs
    matplotlib's formatters again), e.g. ``plain_log_ticks(fig.axes)`` before ``plt.show()``;
    the limits may still change afterwards. Returns ``axes``.

    >>> fig, ax = plt.subplots()
    >>> ax.set(yscale="log", ylim=(0.5, 7)) and None
    >>> fig.canvas.draw()
    >>> any("10^" in t.get_text() for t in ax.get_yticklabels(which="both"))  # matplotlib's
    True
    >>> _ = plain_log_ticks(fig.axes)
    >>> fig.canvas.draw()
    >>> [t.get_text() for t in ax.get_yticklabels(which="both") if "10^" in t.get_text()]
    []
    >>> plt.close("all")
    """
    if axis not in ("x", "y", "both"):
        raise ValueError(f"axis must be 'x', 'y' or 'both', not {axis!r}")
    for ax in [axes] if isinstance(axes, Axes) else np.ravel(np.asarray(axes, dtype=object)):
        for name in ("x", "y") if axis == "both" else (axis,):
            target = ax.xaxis if name == "x" else ax.yaxis
            if target.get_scale() == "log":
                target.set_major_formatter(PlainLogFormatter())
                if not isinstance(target.get_minor_formatter(), mpl.ticker.NullFormatter):
                    target.set_minor_formatter(PlainLogFormatter(labelOnlyBase=False))
    return axes


def loss_vs_compute(
    curves: Sequence[tuple[ArrayLike, ArrayLike]], sizes: ArrayLike, *,
    fit: PowerLawFit | None = None, frontier: Frontier | None = None, ax: Axes | None = None,
) -> Axes:
    """Loss against compute (log-log), one curve per size, with the fitted frontier law.

    ``curves`` holds ``(compute, loss)`` per size (2-D losses are seed-averaged). ``fit`` adds
    the law ``L0 + a c^(-b)`` (dashed); ``frontier`` adds the lower envelope ``L*(c)`` (grey)
    and marks each size's ``c*(p)`` (censored sizes hollow).

    >>> from supercollapse.analysis.frontier import compute_frontier
    >>> c = np.logspace(0, 6, 50)
    >>> sizes = [1.0, 4.0, 16.0, 64.0]
    >>> curves = [(c, (c / (6 * p)) ** -0.5 + p ** -0.5) for p in sizes]
    >>> fr = compute_frontier(dict(zip(sizes, curves)))
    >>> ax = loss_vs_compute(curves, sizes, frontier=fr)
    >>> ax.get_xscale(), len(ax.lines)
    ('log', 9)
    >>> plt.close("all")
    """
    ax = _ax(ax)
    cols = size_colors(sizes, ax)
    by_size = dict(zip(np.asarray(sizes, dtype=float).tolist(), cols, strict=True))
    for (c, L), col in zip(curves, cols, strict=True):
        L = np.asarray(L, dtype=float)
        ax.plot(c, np.nanmean(L, axis=0) if L.ndim == 2 else L, color=col, lw=1.2)
    if frontier is not None:
        ax.plot(frontier.compute, frontier.loss, color="0.4", lw=3, alpha=0.35, zorder=0,
                label="frontier")
        for i, cs in enumerate(frontier.c_star):
            if np.isfinite(cs):
                Ls = np.interp(np.log(cs), np.log(frontier.compute), frontier.loss)
                col = by_size.get(float(frontier.sizes[i]), "k")
                ax.plot(cs, Ls, "o", ms=5, mec=col, mfc="none" if frontier.censored[i] else col)
    if fit is not None:
        pos = [np.asarray(c, dtype=float) for c, _ in curves]
        pos = [c[c > 0] for c in pos]
        cc = np.geomspace(min(c.min() for c in pos), max(c.max() for c in pos))
        ax.plot(cc, fit.predict(cc), "k--",
                label=f"${fit.a:.3g}\\,c^{{-{fit.b:.3f}}} + {fit.L0:.3g}$")
    if fit is not None or frontier is not None:
        ax.legend()
    ax.set(xscale="log", yscale="log", xlabel="compute (FLOPs)", ylabel="loss")
    return plain_log_ticks(ax)


def normalized_curves(
    x: ArrayLike, curves: ArrayLike, sizes: ArrayLike, *, ax: Axes | None = None,
    band: ArrayLike | None = None, lower: ArrayLike | None = None, upper: ArrayLike | None = None,
    colors: Sequence | None = None,
) -> Axes:
    """Normalised curves ``l(x, p)`` (rows of ``curves``) coloured by size.

    Shading: ``band`` gives ``l +- band`` per row; ``lower``/``upper`` give explicit limits,
    e.g. the seed percentiles of :meth:`~supercollapse.analysis.collapse.CollapseResult.seed_band`
    (the paper shades a 90% interval). ``colors``: one per row, e.g. a subset of
    :func:`size_colors` of a larger ladder so that several panels share one scale (then no
    colour bar is drawn); default: :func:`size_colors` of ``sizes``, with its colour bar.

    >>> x = np.linspace(0.1, 1, 5)
    >>> ax = normalized_curves(x, np.vstack([x ** -0.3, x ** -0.31]), [1e6, 4e6], band=0.01 * x)
    >>> len(ax.lines), ax.get_yscale()
    (2, 'log')
    >>> plt.close("all")
    """
    ax = _ax(ax)
    x, curves = np.asarray(x), np.asarray(curves)
    if colors is not None and len(colors) != len(curves):
        raise ValueError(f"{len(colors)} colours for {len(curves)} curves")
    for i, col in enumerate(size_colors(sizes, ax) if colors is None else colors):
        ax.plot(x, curves[i], color=col, lw=1.2)
        if band is not None:
            b = np.broadcast_to(np.asarray(band), curves.shape)[i]
            ax.fill_between(x, curves[i] - b, curves[i] + b, color=col, alpha=0.2, lw=0)
        if lower is not None and upper is not None:
            ax.fill_between(x, np.asarray(lower)[i], np.asarray(upper)[i], color=col, alpha=0.2,
                            lw=0)
    ax.set(xlabel="normalised compute $x = c/c^*$", ylabel="normalised loss $\\ell$", yscale="log")
    return plain_log_ticks(ax)


def delta_sigma(
    x: ArrayLike, delta: ArrayLike, sigma: ArrayLike | None = None, *, ax: Axes | None = None,
    label: str = "", color: str | None = None, sigma_per_size: ArrayLike | None = None,
    sizes: ArrayLike | None = None,
) -> Axes:
    """Collapse deviation ``Delta(x)`` (solid) and noise floor ``sigma(x)`` (dashed).

    With ``sigma_per_size`` (shape ``(n_sizes, n_x)``) and ``sizes``, the per-model floors
    ``sigma(x, p)`` are drawn as thin dotted lines coloured by size, as in the paper's
    Figure 1c. Supercollapse is where the solid line lies below the dashed one.

    >>> x = np.linspace(0.1, 1, 5)
    >>> ax = delta_sigma(x, 0.01 * (1 - x), np.full(5, 0.005), label="linear")
    >>> len(ax.lines), ax.get_yscale()
    (2, 'log')
    >>> plt.close("all")
    """
    ax = _ax(ax)
    (line,) = ax.plot(x, delta, color=color, label=f"$\\Delta$ {label}".strip())
    if sigma is not None:
        ax.plot(x, sigma, "--", color=line.get_color(), label=f"$\\sigma$ {label}".strip())
    if sigma_per_size is not None:
        if sizes is None:
            raise ValueError("sizes are needed to colour sigma_per_size")
        for row, col in zip(np.asarray(sigma_per_size), size_colors(sizes, ax), strict=True):
            ax.plot(x, row, ":", color=col, lw=1.0)
    ax.set(xlabel="normalised compute $x$", ylabel="relative deviation", yscale="log")
    ax.legend()
    return plain_log_ticks(ax)


def schedule_predictions(
    runs: Sequence[tuple[str, ArrayLike, ArrayLike, ArrayLike]], *, ax: Axes | None = None,
) -> Axes:
    """Observed (solid) vs predicted (dashed) loss per schedule: ``(name, t, observed, predicted)``.

    ``t`` is any time axis (training fraction by default label); smooth noisy curves first
    with :func:`~supercollapse.analysis.noise_model.ema`, as the paper does.

    >>> t = np.linspace(0, 1, 5)
    >>> ax = schedule_predictions([("linear", t, 2 - t, 2 - t)])
    >>> len(ax.lines)
    2
    >>> plt.close("all")
    """
    ax = _ax(ax)
    colors = plt.get_cmap("tab10")
    for k, (name, t, obs, pred) in enumerate(runs):
        ax.plot(t, obs, color=colors(k), label=name)
        ax.plot(t, pred, "--", color=colors(k), lw=1.0)
    ax.set(xlabel="training fraction", ylabel="loss")
    ax.legend(title="solid: observed, dashed: predicted", fontsize=8)
    return ax


def scaling_report(report: ScalingReport, axes: Sequence[Axes] | None = None) -> Any:
    """The figure of a :func:`~supercollapse.analysis.diagnose.check_scaling` report.

    Left: ``Delta(x)`` and ``sigma(x)`` with their bootstrap bands over the summarised range.
    Right: each size's offset with its interval against ``ln p`` (or the size's index),
    with the fitted fan and the mean noise floor ``+- sigma`` as a band. Returns the figure.
    """
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    else:
        fig = axes[0].figure
    ax0, ax1 = axes
    res = report.result
    ax0.plot(res.x, res.delta, color="C3", label=r"$\Delta$")
    ax0.plot(res.x, res.sigma, "k--", lw=1.2, label=r"$\sigma$")
    ax0.fill_between(report.x_band, *report.delta_band, color="C3", alpha=0.2, lw=0)
    ax0.fill_between(report.x_band, *report.sigma_band, color="0.5", alpha=0.25, lw=0)
    ax0.axvspan(0, report.x_range[0], color="0.85", alpha=0.5, lw=0)
    ax0.set(xlim=(0, 1), yscale="log", xlabel="normalised compute $x = c/c^*$",
            ylabel="relative deviation", title=report.headline().replace("Verdict: ", ""))
    ax0.title.set_fontsize(8)
    ax0.legend(fontsize=8)
    known = bool(np.all(report.sizes > 0))
    pos = report.sizes if known else np.arange(len(report.labels), dtype=float)
    err = np.vstack([report.deviation - report.deviation_lo, report.deviation_hi - report.deviation])
    ax1.errorbar(pos, 100 * report.deviation, yerr=100 * err, fmt="o", color="C0", capsize=3,
                 label=f"offset ({100 * report.confidence:.0f}% interval)")
    sig = 100 * report.summary.mean_sigma
    ax1.axhspan(-sig, sig, color="0.5", alpha=0.2, lw=0, label=r"$\pm$ mean $\sigma$")
    ax1.axhline(0, color="0.5", lw=0.8)
    if report.horizon is not None and known:
        u = np.log(report.sizes) - np.log(report.sizes).mean()
        ax1.plot(report.sizes, 100 * report.horizon.slope.value * u, color="C1", lw=1,
                 label="fan (slope against ln p)")
    if known:
        ax1.set_xscale("log")
    ax1.set(xlabel="parameters $p$" if known else "size", ylabel="offset from ladder mean (%)",
            title="per-size offsets")
    if not known:
        ax1.set_xticks(pos, report.labels)
    ax1.legend(fontsize=8)
    plain_log_ticks(fig.axes)
    fig.tight_layout()
    return fig
