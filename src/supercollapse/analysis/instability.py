r"""Small-scale proxies for training instabilities (Wortsman et al. 2023, arXiv 2309.14322).

Two measurements on a learning-rate sweep of final losses :math:`L(\eta)` over a grid
:math:`\eta_1 < \dots < \eta_K`:

* the **learning-rate sensitivity**

  .. math:: S = \frac{1}{K} \sum_{k} \Big[\min\big(L(\eta_k),\, L_\text{init}\big) - \min_j L(\eta_j)\Big],

  the expected excess of the final loss over the best one when the rate is drawn from the grid
  (uniform in :math:`\log\eta`), each loss capped at the loss at initialisation
  :math:`L_\text{init}` so that a diverged run counts as "learned nothing", not as infinity;
* the **onset rate** of a trace: the smallest rate of the grid at which the largest value of a
  logged diagnostic (the max attention logit, say) over training exceeds a threshold.

Arrays in, numbers out; no JAX.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def lr_sensitivity(final_losses: ArrayLike, initial_loss: float) -> float:
    r"""Wortsman et al.'s learning-rate sensitivity :math:`S` (module docstring) of one sweep.

    ``final_losses``: the final loss at each rate of the grid (NaN or inf for a diverged run,
    counted as ``initial_loss``).

    >>> lr_sensitivity([3.0, 2.0, 2.5, 9.0], initial_loss=4.0)
    0.875
    """
    y = np.asarray(final_losses, dtype=float)
    if y.ndim != 1 or y.size == 0:
        raise ValueError(f"final_losses must be a non-empty 1-D array, got shape {y.shape}")
    y = np.where(np.isfinite(y), np.minimum(y, initial_loss), initial_loss)
    return float(np.mean(y - y.min()))


def onset_rate(lrs: ArrayLike, peaks: ArrayLike, threshold: float) -> float:
    """The smallest rate of ``lrs`` whose ``peaks`` (the largest value of a trace over training,
    one per rate) exceed ``threshold``; NaN when none does.

    >>> onset_rate([0.01, 0.1, 1.0], [4.0, 60.0, 2000.0], threshold=50.0)
    0.1
    """
    lrs, peaks = np.asarray(lrs, dtype=float), np.asarray(peaks, dtype=float)
    if lrs.shape != peaks.shape:
        raise ValueError(f"lrs {lrs.shape} and peaks {peaks.shape} must have one value per rate")
    order = np.argsort(lrs)
    above = np.nonzero(np.nan_to_num(peaks[order], nan=np.inf) > threshold)[0]
    return float(lrs[order][above[0]]) if above.size else float("nan")
