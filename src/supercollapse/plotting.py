"""Plot helpers for the book's recurring figures, in one consistent style.

Every helper draws on an existing Axes (or makes one) and returns it, so chapters can compose
panels. Model sizes are coloured with one colour map and explained by a colour bar.
Works headless: import matplotlib with the Agg backend before pyplot when no display exists.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import LogNorm
from numpy.typing import ArrayLike

from .fits import PowerLawFit

__all__ = [
    "STYLE",
    "delta_sigma",
    "loss_vs_compute",
    "normalized_curves",
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


def size_colors(sizes: ArrayLike, ax: Axes | None = None, label: str = "parameters"):
    """Colours for ``sizes`` on a log colour scale; adds a colour bar to ``ax`` if given."""
    sizes = np.asarray(sizes, dtype=float)
    norm = LogNorm(sizes.min(), sizes.max() if sizes.max() > sizes.min() else sizes.min() * 1.01)
    sm = mpl.cm.ScalarMappable(norm=norm, cmap=CMAP)
    if ax is not None:
        ax.figure.colorbar(sm, ax=ax, label=label)
    return [sm.to_rgba(s) for s in sizes]


def loss_vs_compute(
    curves: Sequence[tuple[ArrayLike, ArrayLike]], sizes: ArrayLike, *,
    fit: PowerLawFit | None = None, ax: Axes | None = None,
) -> Axes:
    """Loss against compute (log-log), one curve per size, with the fitted frontier law.

    >>> c = np.logspace(10, 14, 20)
    >>> ax = loss_vs_compute([(c, c ** -0.1), (c, 1.1 * c ** -0.1)], [1e6, 4e6])
    >>> ax.get_xscale()
    'log'
    >>> plt.close("all")
    """
    ax = _ax(ax)
    for (c, L), col in zip(curves, size_colors(sizes, ax), strict=True):
        L = np.asarray(L, dtype=float)
        ax.plot(c, L.mean(axis=0) if L.ndim == 2 else L, color=col, lw=1.2)
    if fit is not None:
        cc = np.geomspace(min(np.min(c) for c, _ in curves), max(np.max(c) for c, _ in curves))
        ax.plot(cc, fit.predict(cc), "k--",
                label=f"${fit.a:.3g}\\,c^{{-{fit.b:.3f}}} + {fit.L0:.3g}$")
        ax.legend()
    ax.set(xscale="log", yscale="log", xlabel="compute (FLOPs)", ylabel="loss")
    return ax


def normalized_curves(
    x: ArrayLike, curves: ArrayLike, sizes: ArrayLike, *, ax: Axes | None = None,
    band: ArrayLike | None = None,
) -> Axes:
    """Normalised curves ``l(x, p)`` (rows of ``curves``), optionally with a ``+-band`` per row."""
    ax = _ax(ax)
    x, curves = np.asarray(x), np.asarray(curves)
    for i, col in enumerate(size_colors(sizes, ax)):
        ax.plot(x, curves[i], color=col, lw=1.2)
        if band is not None:
            b = np.asarray(band)[i]
            ax.fill_between(x, curves[i] - b, curves[i] + b, color=col, alpha=0.2, lw=0)
    ax.set(xlabel="normalized compute $x = c/c^*$", ylabel="normalized loss $\\ell$", yscale="log")
    return ax


def delta_sigma(
    x: ArrayLike, delta: ArrayLike, sigma: ArrayLike, *, ax: Axes | None = None,
    label: str = "", color: str | None = None,
) -> Axes:
    """Collapse deviation ``Delta(x)`` (solid) and noise floor ``sigma(x)`` (dashed)."""
    ax = _ax(ax)
    (line,) = ax.plot(x, delta, color=color, label=f"$\\Delta$ {label}".strip())
    ax.plot(x, sigma, "--", color=line.get_color(), label=f"$\\sigma$ {label}".strip())
    ax.set(xlabel="normalized compute $x$", ylabel="deviation", yscale="log")
    ax.legend()
    return ax


def schedule_predictions(
    runs: Sequence[tuple[str, ArrayLike, ArrayLike, ArrayLike]], *, ax: Axes | None = None,
) -> Axes:
    """Observed (solid) vs predicted (dashed) loss per schedule: ``(name, t, observed, predicted)``.

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
