r"""How long a run trains: samples, steps and compute.

Compute is counted as :math:`c = 6\,P\,t` FLOPs for :math:`P` parameters and :math:`t`
samples (tokens). A horizon can be given three ways (:class:`~supercollapse.train.config.TrainConfig`,
whose :meth:`~supercollapse.train.config.TrainConfig.horizon_samples` and
:meth:`~supercollapse.train.config.TrainConfig.horizon_steps` do the arithmetic):

* ``samples`` directly;
* ``tokens_per_param``: :math:`t = r P`;
* a compute-optimal law :math:`c^*(P) = \kappa P^{1+\gamma}` (``horizon_kappa``,
  ``horizon_exponent = 1 + gamma``): :math:`t = c^*(P) / (6P) = (\kappa/6) P^{\gamma}`.

``horizon_mult`` scales the result (e.g. 3x past the optimum for a frontier fit).
"""

from __future__ import annotations

import numpy as np


def compute_flops(n_params: int | np.ndarray, samples) -> np.ndarray:
    """Training compute :math:`c = 6 P t`."""
    return 6.0 * np.asarray(n_params, dtype=np.float64) * np.asarray(samples, dtype=np.float64)


def kappa_from_paper(scale: float, exponent: float) -> float:
    r"""Convert the paper's form :math:`c^* = 10^{15} (P/\mathrm{scale})^{e}` to
    :math:`\kappa` in :math:`c^* = \kappa P^{e}`.

    >>> round(kappa_from_paper(1.0, 2.0))
    1000000000000000
    """
    return 1e15 * scale ** (-exponent)


def eval_steps(total_steps: int, n_evals: int) -> np.ndarray:
    """Evaluation points: half linearly, half geometrically spaced in ``[1, total]``.

    Always includes step 0 (the initial loss) and the final step.

    >>> eval_steps(100, 6).tolist()
    [0, 1, 10, 33, 67, 100]
    """
    n_lin = n_evals // 2
    n_geo = n_evals - n_lin
    lin = np.linspace(0, total_steps, n_lin + 1)[1:]
    geo = np.geomspace(1, total_steps, n_geo)
    steps = np.unique(np.round(np.concatenate([[0], lin, geo, [total_steps]])).astype(int))
    return steps
