"""The chapters' live experiments, one size table per scale.

Each chapter trains a few small sweeps "live", at the scale that
:func:`~supercollapse.train.experiments.default_scale` picks for the machine:

``quick`` (a CPU): the 2-D quick task and tiny widths, about a minute per chapter on two cores.

``accelerator`` (a GPU or TPU): the *full* scale's task, model, optimiser and horizon law
(``results/full/law.json``) on a short ladder (widths 64-96, inside the law's fitted range),
so that every live run has a stored twin in ``results/full/`` (the same config, fewer
widths or a shorter run). The live run then reproduces the stored claim on the reader's own
accelerator. Each chapter's accelerator experiment is sized for about a minute of one H100
and a few minutes of a Colab T4 (``book/how_to_use.md``;
:func:`~supercollapse.train.engine.training_flops` counts them).

Set ``SUPERCOLLAPSE_SCALE=quick`` or ``=accelerator`` to force a scale.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from ..paths import results_dir
from .config import TrainConfig
from .engine import training_flops
from .experiments import (
    INSTABILITY_FIELDS,
    INSTABILITY_VARIANTS,
    LIVE_SCALES,
    PARAM_VARIANTS,
    SCALES,
    Law,
    _base,
    breakdown,
    collapse,
    horizon_fit,
    rate_grid_runs,
)

MLP_SCALES = LIVE_SCALES["mlp"]  # ("quick", "accelerator")
# Which stored horizon law a scale's collapse ladders are trained with.
LAW_SOURCE = {"quick": "quick", "accelerator": "full"}
# Chapter 1: the widths of the live horizon sweep (quick: all seven; with every other width the
# frontier lost its fit range for 3 of 4 seed sets, tests/README.md), and the task-exponent demo
# (the width it trains, its steps and seeds).
HORIZON_DEMO_WIDTHS = {"quick": SCALES["quick"].horizon_widths,
                       "accelerator": SCALES["accelerator"].horizon_widths}
TASK_EXPONENT_DEMO = {"quick": dict(width=32, steps=1_500, seeds=(0, 1), n_evals=30),
                      "accelerator": dict(width=64, steps=3_000, seeds=(0, 1), n_evals=30)}
# Chapter 2: the µP learning-rate sweep (a deliberately easy 8-D task, depth 2, base width 48).
MUP_DEMO = {"quick": dict(batch_size=64, steps=400, seeds=(0, 1)),
            "accelerator": dict(batch_size=512, steps=1_000, seeds=(0, 1, 2))}
MUP_WIDTHS = (16, 48, 144)
MUP_LRS = tuple(1.25e-4 * 2.0 ** np.arange(7))
# Chapter 6: the noise-model demo. Quick: a width-32 depth-2 network on a 1000-mode task, all
# three schedules to one fixed horizon. Accelerator: the stored noise sweep's width-64 runs.
NOISE_DEMO_QUICK = TrainConfig(width=32, depth=2, base_width=32, n_modes=1_000, batch_size=128,
                               lr=4e-3, samples=1_300 * 128, n_evals=40, n_test=2_048,
                               eval_batch_size=2_048, noise_batches=8, seeds=(0, 1, 2))
NOISE_DEMO_WIDTH = {"accelerator": 64}
# Chapter 7: the learning-rate multipliers of the live sweep at the widest width of the ladder.
LR_MULTS = (0.25, 0.5, 1.0, 2.0, 4.0)
# Chapter 9: a small learning-rate transfer sweep under each parameterisation, at the quick scale
# on every device (the MLP is tiny, and the claims are about the rules, not the scale): the base
# width and 8x it, three rates a factor 4 apart, two seeds, linear decay over a fixed run.
PARAM_LIVE = dict(widths=(16, 128), steps=1_000, lrs=(2.5e-3, 1e-2, 4e-2), seeds=(0, 1))
PARAM_LIVE_VARIANTS = ("sp_global", "standard", "ntk", "mup", "mean_field", "mean_field_atan2")
# Chapter 9: the gradient scale that Adam's epsilon competes with, under µP and mean-field at
# three widths (peak rate 1e-2, 200 steps of a 2,000-step linear decay, one seed).
GRADIENT_SCALE_LIVE = dict(widths=(16, 64, 256), steps=200, of_steps=2_000, lr=1e-2,
                           variants=("mup", "mean_field"), parameter="blocks/0/fc1/kernel")
# Chapter 10: the quick-scale transformer (lm-quick) at width 32 and a peak rate of 0.3, three to
# ten times its best, 600 steps, with and without QK-norm, the instability traces on (any device).
INSTABILITY_LIVE = dict(width=32, lr=0.3, steps=600, seeds=(0,))


def check_scale(scale: str) -> str:
    """``scale`` if it is a scale of the live experiments, else a clear error."""
    if scale not in MLP_SCALES:
        raise ValueError(f"live experiments run at {MLP_SCALES}, not {scale!r}")
    return scale


def law(scale: str) -> Law:
    """The horizon law of the scale's collapse ladders (``results/<source>/law.json``)."""
    return Law.load(results_dir() / LAW_SOURCE[check_scale(scale)] / "law.json")


def horizon_ladder(scale: str) -> list[TrainConfig]:
    """Chapter 1: constant-rate runs of a few widths, long enough to trace the frontier."""
    widths = HORIZON_DEMO_WIDTHS[check_scale(scale)]
    return [c for c in horizon_fit(scale) if c.width in widths]


def task_exponent_runs(scale: str, exponents: Sequence[float]) -> dict[float, TrainConfig]:
    """Chapter 1: one width of the horizon ladder, on tasks of several spectral exponents."""
    demo = TASK_EXPONENT_DEMO[check_scale(scale)]
    base = next(c for c in horizon_ladder(scale) if c.width == demo["width"])
    return {nu: base.replace(task_exponent=nu, samples=base.batch_size * demo["steps"],
                             seeds=demo["seeds"], n_evals=demo["n_evals"])
            for nu in exponents}


def mup_base(scale: str) -> TrainConfig:
    """Chapter 2: the learning-rate sweep's config (width and lr are set per run)."""
    d = MUP_DEMO[check_scale(scale)]
    return TrainConfig(input_dim=8, n_modes=500, task_exponent=4.0, depth=2,
                       batch_size=d["batch_size"], base_width=48,
                       samples=d["batch_size"] * d["steps"], n_test=2_048,
                       eval_batch_size=2_048, seeds=d["seeds"])


def collapse_ladder(scale: str, variants: Sequence[str]) -> dict[str, list[TrainConfig]]:
    """Chapters 3-5, 7: the scale's ladder to its compute-optimal horizons, per schedule."""
    configs = collapse(check_scale(scale), law(scale))
    return {v: [c for c in configs if c.tags["variant"] == v] for v in variants}


def breakdown_ladder(scale: str, variant: str) -> list[TrainConfig]:
    """Chapter 5b: one variant of the breakdown sweep (e.g. ``"mup_frozen"``)."""
    return [c for c in breakdown(check_scale(scale), law(scale)) if c.tags["variant"] == variant]


def noise_demo(scale: str) -> dict[str, TrainConfig]:
    """Chapter 6: constant, linear and cosine runs with the gradient-noise trace logged."""
    schedules = {"constant": ("constant", 1.0), "linear": ("linear", 1.0),
                 "cosine": ("cosine", 1.0)}
    if check_scale(scale) == "quick":
        base = NOISE_DEMO_QUICK
    else:  # the stored noise sweep's runs of this width at their optimal horizon
        base = _base(scale, width=NOISE_DEMO_WIDTH[scale], samples=None, noise_batches=16,
                     **law(scale).fields())
    return {name: base.replace(schedule=s, decay_frac=f) for name, (s, f) in schedules.items()}


def lr_sweep(scale: str) -> tuple[list[TrainConfig], dict[float, TrainConfig]]:
    """Chapter 7: the linear-decay ladder below the widest width, and a learning-rate sweep
    (``LR_MULTS`` times the tuned rate) at the widest width."""
    linear = collapse_ladder(scale, ["linear"])["linear"]
    target = linear[-1]
    return linear[:-1], {m: target.replace(lr=m * target.lr) for m in LR_MULTS}


def param_live() -> list[TrainConfig]:
    """Chapter 9: every variant of ``PARAM_LIVE_VARIANTS`` (``experiments.PARAM_VARIANTS``) at
    every rate and width of ``PARAM_LIVE``, base width the narrowest (the quick scale's task and
    model on any device); tags ``variant`` and ``lr``."""
    lad = PARAM_LIVE
    return rate_grid_runs("quick", "param", {v: PARAM_VARIANTS[v] for v in PARAM_LIVE_VARIANTS},
                          lad["widths"], lad["steps"], lad["lrs"], lad["seeds"],
                          base_width=lad["widths"][0], schedule="linear", n_evals=10)


def gradient_scales() -> dict[tuple[str, int], float]:
    """Chapter 9: ``{(variant, width): sqrt(v_hat)}`` of the first hidden matrix after the first
    ``steps`` steps of ``GRADIENT_SCALE_LIVE`` (quick scale, base width the narrowest;
    :func:`~supercollapse.optim.optimizers.gradient_scale`)."""
    from ..optim.optimizers import gradient_scale
    from .engine import Trainer

    lad = GRADIENT_SCALE_LIVE
    out = {}
    for cfg in rate_grid_runs("quick", "gradient-scale",
                              {v: PARAM_VARIANTS[v] for v in lad["variants"]}, lad["widths"],
                              lad["of_steps"], (lad["lr"],), (0,), base_width=lad["widths"][0],
                              schedule="linear"):
        trainer = Trainer(cfg)
        trainer.advance(lad["steps"])
        out[cfg.tags["variant"], cfg.width] = gradient_scale(trainer.opt_state, cfg,
                                                             run=0)[lad["parameter"]]
    return out


def instability_live() -> dict[str, TrainConfig]:
    """Chapter 10: ``{"qk_norm": cfg, "no_qk_norm": cfg}``, the runs of ``INSTABILITY_LIVE``
    (linear decay after a 5% warmup, as the sweep ``instability``), on every device."""
    lad = INSTABILITY_LIVE
    runs = rate_grid_runs("lm-quick", "instability",
                          {v: INSTABILITY_VARIANTS[v] for v in ("qk_norm", "no_qk_norm")},
                          (lad["width"],), lad["steps"], (lad["lr"],), lad["seeds"],
                          **INSTABILITY_FIELDS)
    return {c.tags["variant"]: c for c in runs}


# --- what the live experiments cost ---

def _chapter_01(scale: str) -> list[TrainConfig]:
    return horizon_ladder(scale) + list(task_exponent_runs(scale, (1.5, 2.0, 3.0)).values())


def _chapter_02(scale: str) -> list[TrainConfig]:
    base = mup_base(scale)
    runs = [base.replace(width=16, lr=1e-3, n_evals=4)] * 2  # the helper check: twice
    for mup in ("on", "off"):
        for w in MUP_WIDTHS:
            if not (mup == "off" and w == base.base_width):
                runs += [base.replace(width=w, mup=mup, lr=float(lr), n_evals=8) for lr in MUP_LRS]
    return runs


def _chapter_07(scale: str) -> list[TrainConfig]:
    ladder, sweep = lr_sweep(scale)
    return ladder + list(sweep.values())


# The configs each chapter trains live (chapters 0 and 8 are not here: 0 trains nothing,
# 8 and 10 are the transformer's; chapter 9 trains the same quick-scale sweep on every device).
CHAPTER_RUNS: dict[str, Callable[[str], list[TrainConfig]]] = {
    "01": _chapter_01,
    "02": _chapter_02,
    "03": lambda s: collapse_ladder(s, ["constant"])["constant"],
    "04": lambda s: sum(collapse_ladder(s, ["constant", "linear"]).values(), []),
    "05b": lambda s: collapse_ladder(s, ["linear"])["linear"][-4:]
    + breakdown_ladder(s, "mup_frozen")[-4:],
    "06": lambda s: list(noise_demo(s).values()),
    "07": _chapter_07,
    "09": lambda s: param_live(),
}


def chapter_flops(scale: str) -> dict[str, float]:
    """Model FLOPs of each chapter's live training at ``scale``
    (:func:`~supercollapse.train.engine.training_flops`)."""
    return {ch: math.fsum(training_flops(c) for c in runs(scale))
            for ch, runs in CHAPTER_RUNS.items()}
