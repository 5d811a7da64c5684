r"""Learning-rate transfer across widths: where is the best rate, and what does it cost to
reuse the base width's?

A learning-rate sweep gives, for each width :math:`n` and peak rate :math:`\eta` of a
factor-2 grid, the final test loss :math:`L_n(\eta)` (mean over seeds). A parameterisation
*transfers* when the best rate :math:`\eta^*_n = \arg\min_\eta L_n(\eta)` does not move with
:math:`n` (Yang et al. 2022; Everett et al. 2024). Two numbers say how far it moves:

* the **drift** :math:`s`, the slope of :math:`\log_2 \eta^*_n` against :math:`\log_2 n`
  (least squares over the widths): :math:`0` for perfect transfer, :math:`-1` for a best rate
  :math:`\propto 1/n`. :math:`\eta^*_n` is located between grid points by the vertex of the
  parabola through the grid minimum and its two neighbours in :math:`\log_2 \eta`;
* the **transfer penalty** of width :math:`n`,
  :math:`L_n(\eta^*_{n_0}) / \min_\eta L_n(\eta) - 1`: the excess loss of training width
  :math:`n` at the grid rate that was best at the base width :math:`n_0` (the narrowest), which
  is what a practitioner who tunes small and trains large pays.

Each is computed per seed too (``drift_seeds``), which gives its seed spread. Arrays in,
dataclasses out; no JAX.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike


def refined_argmin(lrs: ArrayLike, losses: ArrayLike) -> tuple[float, bool]:
    r"""The best rate of one width: the vertex of the parabola through the grid minimum and its
    neighbours, in :math:`\log_2 \eta` (clipped to those neighbours), and whether the minimum lies
    at an end of the grid (then the grid point itself is returned). Non-finite losses count as
    worse than any finite one.

    >>> lrs = [1e-3, 2e-3, 4e-3, 8e-3]
    >>> x = np.log2(lrs); loss = (x - np.log2(3e-3)) ** 2 + 1
    >>> best, edge = refined_argmin(lrs, loss)
    >>> round(best * 1e3, 6), edge
    (3.0, False)
    """
    lrs = np.asarray(lrs, dtype=float)
    y = np.where(np.isfinite(losses), np.asarray(losses, dtype=float), np.inf)
    if not np.isfinite(y).any():
        return float("nan"), True
    i = int(np.argmin(y))
    if i == 0 or i == len(lrs) - 1 or not np.isfinite(y[i - 1 : i + 2]).all():
        return float(lrs[i]), i == 0 or i == len(lrs) - 1
    x = np.log2(lrs[i - 1 : i + 2])
    a, b, _ = np.polyfit(x, y[i - 1 : i + 2], 2)
    vertex = float(np.clip(-b / (2 * a), x[0], x[2])) if a > 0 else float(x[1])
    return float(2.0**vertex), False


def drift(widths: ArrayLike, best_lrs: ArrayLike) -> float:
    r"""Slope of :math:`\log_2 \eta^*` against :math:`\log_2 n` (least squares).

    >>> round(drift([16, 32, 64], [4e-3, 2e-3, 1e-3]), 9)
    -1.0
    """
    x, y = np.log2(np.asarray(widths, float)), np.log2(np.asarray(best_lrs, float))
    return float(np.polyfit(x, y, 1)[0])


@dataclass(frozen=True)
class Transfer:
    """Learning-rate transfer of one variant of a sweep.

    Attributes:
        variant: the sweep's label of the recipe (e.g. a parameterisation).
        widths, lrs: the ladder and the rate grid, ascending.
        loss: mean final loss over seeds, shape ``(len(widths), len(lrs))`` (NaN: not run).
        seed_loss: per seed, shape ``(n_seeds, len(widths), len(lrs))``.
        best_lr: per width, :func:`refined_argmin` of ``loss``.
        at_edge: per width, whether the grid minimum lies at an end of the grid.
        drift: :func:`drift` of ``best_lr``; ``drift_seeds``: the same per seed.
        grid_steps: spread of the grid minima across widths, in grid steps.
        penalty: per width, the transfer penalty (module docstring); 0 at the base width.
    """

    variant: str
    widths: tuple[int, ...]
    lrs: tuple[float, ...]
    loss: np.ndarray
    seed_loss: np.ndarray
    best_lr: tuple[float, ...]
    at_edge: tuple[bool, ...]
    drift: float
    drift_seeds: tuple[float, ...]
    grid_steps: int
    penalty: tuple[float, ...]

    @property
    def max_penalty(self) -> float:
        """The largest transfer penalty over the widths."""
        return float(max(self.penalty))

    def line(self) -> str:
        """One line: drift with its seed range, grid spread and largest penalty."""
        lo, hi = min(self.drift_seeds), max(self.drift_seeds)
        return (f"{self.variant:>20s}: drift {self.drift:+.2f} (seeds {lo:+.2f}..{hi:+.2f}), "
                f"grid minima spread {self.grid_steps} step(s), "
                f"penalty at the widest {self.penalty[-1]:.1%}, largest {self.max_penalty:.1%}")


def transfer(variant: str, widths: ArrayLike, lrs: ArrayLike, seed_loss: ArrayLike) -> Transfer:
    """:class:`Transfer` from final losses ``seed_loss[seed, width, lr]`` (NaN or inf where a
    run diverged; such runs count as worse than any finite one)."""
    widths, lrs = np.asarray(widths), np.asarray(lrs, dtype=float)
    per_seed = np.asarray(seed_loss, dtype=float)
    if per_seed.ndim != 3 or per_seed.shape[1:] != (len(widths), len(lrs)):
        raise ValueError(f"seed_loss must have shape (seeds, {len(widths)}, {len(lrs)}), "
                         f"got {per_seed.shape}")
    if np.any(np.diff(widths) <= 0) or np.any(np.diff(lrs) <= 0):
        raise ValueError("widths and lrs must be strictly increasing")
    finite = np.where(np.isfinite(per_seed), per_seed, np.nan)
    mean = np.nanmean(finite, axis=0) if finite.size else finite
    best = [refined_argmin(lrs, row) for row in mean]
    seed_drifts = tuple(drift(widths, [refined_argmin(lrs, row)[0] for row in s])
                        for s in finite)
    grid_min = [int(np.argmin(np.where(np.isfinite(r), r, np.inf))) for r in mean]
    j0 = grid_min[0]
    penalty = tuple(float(r[j0] / np.nanmin(r) - 1) if np.isfinite(r[j0]) else float("inf")
                    for r in mean)
    return Transfer(variant=variant, widths=tuple(int(w) for w in widths),
                    lrs=tuple(float(x) for x in lrs), loss=mean, seed_loss=per_seed,
                    best_lr=tuple(b for b, _ in best), at_edge=tuple(e for _, e in best),
                    drift=drift(widths, [b for b, _ in best]), drift_seeds=seed_drifts,
                    grid_steps=max(grid_min) - min(grid_min), penalty=penalty)


def transfer_from_runs(runs, variant: str) -> Transfer:
    """:func:`transfer` of the runs tagged ``variant`` of a sweep (``RunResult`` objects, e.g.
    :func:`~supercollapse.results.load_runs` of ``results/quick/param``): their widths, rates
    and final test losses per seed (diverged seeds as NaN)."""
    mine = [r for r in runs if r.config.tags.get("variant") == variant]
    if not mine:
        raise ValueError(f"no runs of variant {variant!r}")
    widths = sorted({r.config.width for r in mine})
    lrs = sorted({r.config.lr for r in mine})
    n_seeds = max(len(r.config.seeds) for r in mine)
    out = np.full((n_seeds, len(widths), len(lrs)), np.nan)
    for r in mine:
        final = np.asarray(r.curves["test_loss"], dtype=float)[:, -1].copy()
        final[np.asarray(r.diverged, dtype=bool)] = np.nan
        out[: len(final), widths.index(r.config.width), lrs.index(r.config.lr)] = final
    return transfer(variant, widths, lrs, out)
