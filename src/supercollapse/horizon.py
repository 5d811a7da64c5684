r"""How long a run trains: samples, steps and compute.

Compute is counted as :math:`c = 6\,P\,t` FLOPs for :math:`P` parameters and :math:`t`
samples (tokens). A horizon can be given three ways (:class:`~supercollapse.config.TrainConfig`):

* ``samples`` directly;
* ``tokens_per_param``: :math:`t = r P`;
* a compute-optimal law :math:`c^*(P) = \kappa P^{1+\gamma}` (``horizon_kappa``,
  ``horizon_exponent = 1 + gamma``): :math:`t = c^*(P) / (6P) = (\kappa/6) P^{\gamma}`.

``horizon_mult`` scales the result (e.g. 3x past the optimum for a frontier fit).
"""

from __future__ import annotations

import math

import numpy as np

from .config import HORIZON_FIELDS, ConfigError, TrainConfig


def compute_flops(n_params: int | np.ndarray, samples) -> np.ndarray:
    """Training compute :math:`c = 6 P t`."""
    return 6.0 * np.asarray(n_params, dtype=np.float64) * np.asarray(samples, dtype=np.float64)


def horizon_samples(cfg: TrainConfig, n_params: int) -> float:
    """Number of training samples the config asks for, for a model of ``n_params``.

    >>> from supercollapse.config import TrainConfig
    >>> horizon_samples(TrainConfig(horizon_kappa=6.0, horizon_exponent=2.0), 1000)
    1000.0
    """
    if cfg.samples is not None:
        t = float(cfg.samples)
    elif cfg.tokens_per_param is not None:
        t = cfg.tokens_per_param * n_params
    else:
        t = cfg.horizon_kappa * n_params ** cfg.horizon_exponent / (6.0 * n_params)
    return t * cfg.horizon_mult


def horizon_steps(cfg: TrainConfig, n_params: int) -> int:
    """Optimiser steps: ``ceil(samples / batch_size)``; at least one, or ConfigError.

    >>> from supercollapse.config import TrainConfig
    >>> horizon_steps(TrainConfig(samples=1000, batch_size=64), 1000)
    16
    """
    t = horizon_samples(cfg, n_params)
    steps = math.ceil(t / cfg.batch_size - 1e-9)
    if t < cfg.batch_size:
        name = next(n for n in HORIZON_FIELDS if getattr(cfg, n) is not None)
        raise ConfigError(f"TrainConfig.{name}={getattr(cfg, name)!r}: the horizon "
                          f"({t:.4g} samples for P={n_params}, horizon_mult={cfg.horizon_mult})"
                          f" is shorter than one step of batch_size={cfg.batch_size}")
    return steps


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
