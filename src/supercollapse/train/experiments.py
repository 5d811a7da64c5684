"""The book's named sweeps (``EXPERIMENTS``) at its scales (``SCALES``).

Every sweep is a plain list of :class:`~supercollapse.train.config.TrainConfig`, built by
``EXPERIMENTS[name](scale, law)``; run one with ``python -m supercollapse sweep NAME --scale S
--out DIR`` (``--help`` lists the sweeps and scales). Sweeps that train to the compute-optimal
horizon read the fitted law ``c*(P) = kappa * P**exponent`` written by ``fit-horizon``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import ConfigError, TrainConfig
from .horizon import kappa_from_paper

# The paper's MLP law c* = 1e15 (P/scale)^exponent: the prior that sets the horizon fit's runs.
PRIOR_LAW = dict(scale=1_346_251.6, exponent=2.0409)
PAPER_PRIOR = (kappa_from_paper(**PRIOR_LAW), PRIOR_LAW["exponent"])
# Horizon-fit run lengths: each width runs HORIZON_MARGIN times past its optimum under the
# scale's prior law, clipped to its horizon_steps, so every width is overtaken by the next.
HORIZON_MARGIN = 3.0


@dataclass(frozen=True)
class Scale:
    """One scale of the sweeps: the base config of every run and the ladders built on it.

    ``family``: ``"mlp"`` or ``"lm"`` (the transformer); ``base``: TrainConfig fields;
    ``widths``: the collapse ladder; ``horizon_widths``: the horizon fit's ladder, whose runs
    go ``HORIZON_MARGIN`` times past the optimum of the ``prior`` law ``(kappa, exponent)``,
    clipped to ``horizon_steps``; ``mup_frozen_at``: the width where ``mup_frozen`` freezes the
    rates (default the narrowest); ``breakdown``: the breakdown variants kept (default all);
    ``ladder_widths``: the exponent ladder (empty: not defined); ``live_width``,
    ``live_overrides``, ``live_law``: chapter 8's live runs (``live_schedules``).
    """

    family: str
    about: str
    base: Mapping[str, Any]
    widths: tuple[int, ...]
    horizon_widths: tuple[int, ...]
    horizon_steps: tuple[int, int]
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    prior: tuple[float, float] = PAPER_PRIOR
    mup_frozen_at: int | None = None
    breakdown: tuple[str, ...] | None = None
    ladder_widths: tuple[int, ...] = ()
    live_width: int | None = None
    live_overrides: Mapping[str, Any] = field(default_factory=dict)
    live_law: str | None = None

    def replace(self, **changes: Any) -> Scale:
        return dataclasses.replace(self, **changes)


_QUICK = dict(input_dim=2, n_modes=500, batch_size=64, depth=2, n_test=2_048,
              eval_batch_size=2_048, n_evals=60, lr=1e-2, base_width=16)
_FULL = dict(batch_size=1024, depth=5, n_modes=10_000, n_test=32_768, eval_batch_size=8_192,
             n_evals=200, lr=1e-3, base_width=128)
# The transformer on the synthetic language (tasks/language.py); a sample is a sequence of
# seq_len tokens, compute is 6 P tokens with P the non-embedding parameters.
_LM_QUICK = dict(task="language", model="transformer", vocab_size=32, seq_len=32, n_rules=256,
                 rule_branching=4, zipf_exponent=1.5, head_dim=8, depth=2, mlp_ratio=4,
                 batch_size=32, n_test=512, eval_batch_size=512, n_evals=40, lr=1e-2,
                 base_width=16)
_LM_FULL = dict(_LM_QUICK, batch_size=64, n_test=2048, eval_batch_size=2048, n_evals=100)
LM_FULL = Scale(
    "lm", "transformer, the GPU ladder of Part V (results/lm-full)", _LM_FULL,
    widths=(24, 32, 48, 64, 96, 128), horizon_widths=(16, 24, 32, 48, 64, 96, 128),
    horizon_steps=(20_000, 80_000), prior=(38.18, 2.304),  # the law of results/lm-quick
    breakdown=("mup_frozen", "lr_4x"))  # the transformer keeps the two clearest failures
SCALES: dict[str, Scale] = {
    "quick": Scale(
        "mlp", "MLP, small enough for a chapter on two CPU cores (about a minute)", _QUICK,
        widths=(6, 8, 12, 16, 24), horizon_widths=(4, 6, 8, 12, 16, 24, 32),
        # six seeds: the live claims' margins need them (tests/README.md); the horizon fit
        # and the exponent ladder use the first three
        horizon_steps=(4_000, 4_000), seeds=(0, 1, 2, 3, 4, 5)),
    "full": Scale(
        "mlp", "MLP, the GPU sweeps behind the book's figures (results/full)", _FULL,
        widths=(48, 64, 80, 96, 128, 160, 200),
        horizon_widths=(48, 64, 80, 96, 128, 160, 200, 256, 320),
        horizon_steps=(60_000, 100_000),
        # widths 32-564 (P = 10.5k-3.2M, 303x), 4x below and 8x above the law's fit range
        ladder_widths=(32, 48, 72, 108, 160, 240, 360, 564)),
    # the chapters' live runs on a GPU or TPU: full's task, model and law on a short ladder
    # inside the law's fitted range, each run with a stored twin in results/full (live.py)
    "accelerator": Scale(
        "mlp", "MLP, the chapters' live runs on a GPU or TPU (full's task, widths 64-96)",
        _FULL, widths=(64, 80, 96), horizon_widths=(48, 64, 96, 128),
        horizon_steps=(15_000, 15_000), mup_frozen_at=48),
    "lm-quick": Scale(
        "lm", "transformer on the synthetic language, CPU (about a minute per width)",
        _LM_QUICK, widths=(16, 24, 32, 48, 64), horizon_widths=(8, 16, 24, 32, 48, 64, 96),
        horizon_steps=(3_000, 3_000), seeds=(0, 1, 2), live_width=16,
        # CPU: fewer evaluations, six seeds (the live claims' margins, tests/README.md)
        live_overrides=dict(n_evals=20, seeds=tuple(range(6))), live_law="lm-quick/law.json"),
    "lm-full": LM_FULL,
    # chapter 8's live runs on a GPU or TPU: lm-full's width 64 to the lm-full law's horizon
    "lm-accelerator": LM_FULL.replace(
        about="transformer, chapter 8's live runs on a GPU or TPU", breakdown=None,
        live_width=64, live_law="lm-full/law.json"),
    # bf16, head dimension 64, depth 3 as in the paper: throughput and real token corpora
    "lm-large": Scale(
        "lm", "transformer, bf16, for the throughput benchmark and real token corpora",
        dict(task="language", model="transformer", vocab_size=128, seq_len=256, n_rules=8192,
             rule_branching=4, zipf_exponent=1.5, head_dim=64, depth=3, mlp_ratio=4,
             batch_size=64, n_test=4096, eval_batch_size=512, n_evals=200, lr=1e-2,
             base_width=256, compute_dtype="bfloat16", warmup_frac=0.01),
        widths=(256, 384, 512, 640, 768, 1024),
        horizon_widths=(192, 256, 384, 512, 640, 768, 1024, 1280, 1536),
        horizon_steps=(40_000, 40_000)),
}
# Schedules of the collapse sweep: (label, schedule, decay_frac); the transformer's: the paper's four.
COLLAPSE_SCHEDULES = (("constant", "constant", 1.0), ("linear", "linear", 1.0),
                      ("cosine", "cosine", 1.0), ("multicosine", "multicosine", 1.0),
                      ("decay20", "linear", 0.2))
LM_COLLAPSE_SCHEDULES = (("constant", "constant", 1.0), ("linear", "linear", 1.0),
                         ("cosine", "cosine", 1.0), ("wsd", "linear", 0.2))


# The horizon-law file of ``fit-horizon`` (:meth:`~supercollapse.analysis.frontier.HorizonLaw.to_json`):
# field -> kind; ``kappa`` and ``exponent`` are required, the fit's details are optional.
LAW_SCHEMA = {"kappa": "a number", "exponent": "a number", "gamma": "a number",
              "gamma_err": "a number", "log_kappa_err": "a number", "r2_log": "a number",
              "sizes": "a list of numbers", "c_star": "a list of numbers",
              "censored_sizes": "a list of numbers", "source": "a string"}


def _is(v: Any, kind: str) -> bool:
    def number(x: Any) -> bool:  # NaN allowed: the errors of a two-size fit
        return isinstance(x, int | float) and not isinstance(x, bool)

    if kind == "a number":
        return number(v)
    if kind == "a list of numbers":
        return isinstance(v, list) and all(number(x) for x in v)
    return isinstance(v, str)


@dataclass(frozen=True)
class Law:
    """A compute-optimal horizon law ``c*(P) = kappa * P**exponent`` (exponent = 1 + gamma)."""

    kappa: float
    exponent: float

    @classmethod
    def from_json(cls, d: Any, where: str = "law") -> Law:
        """The law of a ``fit-horizon`` record (``LAW_SCHEMA``); ConfigError naming ``where``."""
        fix = "write one with: python -m supercollapse fit-horizon RUNS --out FILE"
        if not isinstance(d, dict):
            raise ConfigError(f"{where}: not a JSON object; {fix}")
        for k, kind in LAW_SCHEMA.items():
            if k in d and not _is(d[k], kind):
                raise ConfigError(f"{where}: {k!r} must be {kind}, got {d[k]!r}; {fix}")
        for k in ("kappa", "exponent"):
            if k not in d or not 0 < d[k] < math.inf:
                raise ConfigError(f"{where}: needs a positive {k!r}; {fix}")
        if "gamma" in d and not math.isclose(d["exponent"], 1.0 + d["gamma"]):
            raise ConfigError(f"{where}: exponent {d['exponent']} is not 1 + gamma "
                              f"({d['gamma']}); {fix}")
        return cls(float(d["kappa"]), float(d["exponent"]))

    @classmethod
    def load(cls, path: str | Path) -> Law:
        """The law stored at ``path`` by ``fit-horizon`` (:meth:`from_json`)."""
        path = Path(path)
        fix = "write one with: python -m supercollapse fit-horizon RUNS --out FILE"
        if not path.is_file():
            raise ConfigError(f"{path}: no such law file; {fix}")
        try:
            d = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise ConfigError(f"{path}: not JSON ({e}); {fix}") from None
        return cls.from_json(d, str(path))

    def fields(self, mult: float = 1.0) -> dict:
        return dict(horizon_kappa=self.kappa, horizon_exponent=self.exponent, horizon_mult=mult)

    def with_exponent(self, exponent: float, anchor_params: float) -> Law:
        """The law with another exponent, equal to this one at ``anchor_params``."""
        return Law(self.kappa * anchor_params ** (self.exponent - exponent), exponent)

    def with_gamma_scaled(self, factor: float, anchor_params: float) -> Law:
        """``gamma -> factor * gamma`` (the data exponent), pinned at ``anchor_params``."""
        return self.with_exponent(1.0 + factor * (self.exponent - 1.0), anchor_params)

    def with_exponent_scaled(self, factor: float, anchor_params: float) -> Law:
        """``1 + gamma -> factor * (1 + gamma)`` (the horizon exponent), pinned likewise."""
        return self.with_exponent(factor * self.exponent, anchor_params)


# A chapter's live experiment runs at "quick" scale on a CPU and at "accelerator" scale when JAX
# sees a GPU or TPU (at most about 5 minutes on one Colab GPU); this variable forces either.
SCALE_ENV = "SUPERCOLLAPSE_SCALE"
LIVE_SCALES = {"mlp": ("quick", "accelerator"), "lm": ("lm-quick", "lm-accelerator")}


def default_scale(family: str = "mlp") -> str:
    """The scale of a chapter's live experiment for the model ``family`` ("mlp" or "lm").

    ``quick`` on a CPU, ``accelerator`` on a GPU or TPU (``lm-quick`` / ``lm-accelerator`` for
    the transformer). Set the environment variable ``SUPERCOLLAPSE_SCALE`` to ``quick`` or
    ``accelerator`` to force one.
    """
    if family not in LIVE_SCALES:
        raise ValueError(f"unknown model family {family!r}; choose one of {sorted(LIVE_SCALES)}")
    quick, accel = LIVE_SCALES[family]
    forced = os.environ.get(SCALE_ENV, "").strip().lower()
    if forced:
        if forced not in ("quick", "accelerator"):
            raise ValueError(f"{SCALE_ENV}={forced!r}: use 'quick' or 'accelerator'")
        return quick if forced == "quick" else accel
    import jax

    return quick if jax.default_backend() == "cpu" else accel


def _scale(scale: str) -> Scale:
    if scale not in SCALES:
        raise ConfigError(f"unknown scale {scale!r}; choose one of {sorted(SCALES)}")
    return SCALES[scale]


def _base(scale: str, **kw) -> TrainConfig:
    sc = _scale(scale)
    return TrainConfig(samples=1, seeds=sc.seeds, **sc.base).replace(**kw)


def horizon_fit_samples(scale: str, width: int) -> int:
    """Length of the constant-rate run of ``width`` in the horizon fit (samples)."""
    sc = _scale(scale)
    batch, tokens_per_sample = sc.base["batch_size"], sc.base.get("seq_len", 1)
    kappa, exponent = sc.prior
    prior_tokens = kappa * _n_params(scale, width) ** (exponent - 1) / 6.0  # c*/(6P)
    lo, hi = sc.horizon_steps
    steps = min(hi, max(lo, math.ceil(HORIZON_MARGIN * prior_tokens / tokens_per_sample / batch)))
    return steps * batch


def horizon_fit(scale: str, law: Law | None = None) -> list[TrainConfig]:
    """Constant learning rate, every width, run well past its optimum (for the frontier)."""
    del law
    return [_base(scale, width=w, samples=horizon_fit_samples(scale, w), schedule="constant",
                  seeds=_scale(scale).seeds[:3], tags={"experiment": "horizon"})
            for w in _scale(scale).horizon_widths]


def collapse(scale: str, law: Law) -> list[TrainConfig]:
    """Every width to its compute-optimal horizon, under each schedule of the paper."""
    sc = _scale(scale)
    schedules = LM_COLLAPSE_SCHEDULES if sc.family == "lm" else COLLAPSE_SCHEDULES
    return [_base(scale, width=w, samples=None, schedule=sched, decay_frac=frac,
                  tags={"experiment": "collapse", "variant": label}, **law.fields())
            for label, sched, frac in schedules for w in sc.widths]


def live_schedules(scale: str, law: Law, schedules: tuple[str, ...] | None = None,
                   ) -> list[TrainConfig]:
    """The live transformer runs of chapter 8: the scale's ``live_width`` under each schedule.

    The configurations of :func:`noise_runs` for one width at its compute-optimal horizon
    (``schedules``: labels of ``LM_COLLAPSE_SCHEDULES``, all four by default; the
    gradient-noise trace over 8 minibatches; the scale's ``live_overrides`` on top), which the
    engine trains together in one compiled program.
    """
    live = sorted(k for k, v in SCALES.items() if v.live_width)
    if scale not in live:
        raise ValueError(f"no live transformer runs at scale {scale!r}; choose one of {live}")
    sc = SCALES[scale]
    known = [label for label, _, _ in LM_COLLAPSE_SCHEDULES]
    if unknown := [s for s in (schedules or ()) if s not in known]:
        raise ValueError(f"unknown schedules {unknown}; choose from {known}")
    return [_base(scale, width=sc.live_width, samples=None, schedule=sched,
                  decay_frac=frac, noise_batches=8,
                  tags={"experiment": "noise", "variant": label, "horizon": 1.0}, **law.fields(),
                  **sc.live_overrides)
            for label, sched, frac in LM_COLLAPSE_SCHEDULES
            if schedules is None or label in schedules]


def _n_params(scale: str, width: int) -> int:
    """Parameter count of the scale's model at ``width`` (from its shapes)."""
    from ..models import param_count  # JAX: imported when a sweep is built, not for --help

    return param_count(_base(scale, width=width))


def breakdown(scale: str, law: Law) -> list[TrainConfig]:
    """Suboptimal scaling, with linear decay: horizon exponent, µP and learning rate off.

    The horizon is mis-set two ways, both pinned to the optimum at the middle width: the
    compute exponent ``1 + gamma`` at 0.9x and 1.1x (the paper's breakdown), and the milder
    error of ``gamma`` alone at 0.9x and 1.1x.
    """
    sc = _scale(scale)
    widths = sc.widths
    anchor = _n_params(scale, widths[len(widths) // 2])
    variants = {
        "gamma_0.9x": ({}, law.with_gamma_scaled(0.9, anchor)),
        "gamma_1.1x": ({}, law.with_gamma_scaled(1.1, anchor)),
        "exponent_0.9x": ({}, law.with_exponent_scaled(0.9, anchor)),
        "exponent_1.1x": ({}, law.with_exponent_scaled(1.1, anchor)),
        "mup_frozen": ({"mup": "frozen",
                        "mup_reference_width": sc.mup_frozen_at or widths[0]}, law),
        "lr_4x": ({"lr": 4 * sc.base["lr"]}, law),
        "lr_0.25x": ({"lr": sc.base["lr"] / 4}, law),
    }
    variants = {k: v for k, v in variants.items() if k in (sc.breakdown or variants)}
    return [_base(scale, width=w, samples=None, schedule="linear",
                  tags={"experiment": "breakdown", "variant": name}, **extra, **lw.fields())
            for name, (extra, lw) in variants.items() for w in widths]


def noise_runs(scale: str, law: Law) -> list[TrainConfig]:
    """Schedules at a few widths and horizons, with the gradient-noise trace logged."""
    widths = _scale(scale).widths
    mid = widths[len(widths) // 2]
    cases = [(w, 1.0) for w in (widths[1], mid, widths[-2])] + [(mid, 0.5), (mid, 2.0)]
    schedules = COLLAPSE_SCHEDULES
    if SCALES[scale].family == "lm":  # the transformer: two widths at their optimum (GPU time)
        cases, schedules = [(widths[1], 1.0), (mid, 1.0)], LM_COLLAPSE_SCHEDULES
    return [_base(scale, width=w, samples=None, schedule=sched, decay_frac=frac,
                  noise_batches=16 if scale == "full" else 8,
                  tags={"experiment": "noise", "variant": label, "horizon": mult},
                  **law.fields(mult))
            for w, mult in cases for label, sched, frac in schedules]


# The horizon-exponent test of Part II on a ladder spanning 300x in parameters (issue 19): at
# the full scale, widths 32-564 (P = 10.5k-3.2M, 303x), whose compute-optimal horizons
# extrapolate the law (fitted on P = 42k-402k) by 4x below and 8x above that range. Stored in
# results/full/ladder; chapter 5 ("The 300x ladder, measured") reads it.
LADDER_SEEDS = 3


def _ladder_widths(scale: str, sweep: str) -> tuple[int, ...]:
    widths = _scale(scale).ladder_widths
    if not widths:
        raise ConfigError(f"sweep {sweep!r} is not defined at scale {scale!r}; use "
                          + " or ".join(f"--scale {k}" for k in sweep_scales(sweep)))
    return widths


def exponent_ladder(scale: str, law: Law) -> list[TrainConfig]:
    """Linear decay on a ladder of >= 300x in P, to horizons at the fitted exponent and at
    0.9x and 1.1x of it, each pinned to the fitted law at the ladder's geometric middle size."""
    widths = _ladder_widths(scale, "ladder")
    anchor = math.sqrt(_n_params(scale, widths[0]) * _n_params(scale, widths[-1]))
    variants = {"exponent_1.0x": law, "exponent_0.9x": law.with_exponent_scaled(0.9, anchor),
                "exponent_1.1x": law.with_exponent_scaled(1.1, anchor)}
    return [_base(scale, width=w, samples=None, schedule="linear",
                  seeds=_scale(scale).seeds[:LADDER_SEEDS],
                  tags={"experiment": "ladder", "variant": name}, **lw.fields())
            for name, lw in variants.items() for w in widths]


# The transformer's learning-rate transfer sweep (issue 29; chapter 8, results/lm-full/lr): peak
# rates on a factor-2 grid at µP base width 128, constant and linear decay, 3 seeds, every run to
# LR_HORIZON times the stored law's horizon (constant and linear of one width in one program);
# recipe knobs at the central rate; and, for the refitted horizon law, constant-rate runs of the
# widths outside the lr ladder (16: 3x, long enough to be overtaken; 128: 1x, the censored top).
LR_GRID = (2.5e-3, 5e-3, 1e-2, 2e-2, 4e-2)
LR_WIDTHS = (24, 32, 48, 64, 96)
LR_HORIZON, LR_BASE_WIDTH = 1.5, 128
LR_KNOBS = {"base16": dict(base_width=16, lr=8e-2), "warmup": dict(warmup_frac=0.02),
            "embed0.5": dict(embed_multiplier=0.5)}
LR_KNOB_WIDTHS = {"base16": (24, 48), "warmup": (24, 48), "embed0.5": (24, 48)}
LR_EXTRA = ((16, 3.0, LR_GRID), (128, 1.0, LR_GRID[1:4]))

# "lm-tuned": lm-full's language and model under the rate the gates of results/lm-full/lr favour
# (chapter 8: peak lr 1e-2 at base width 128, the lowest rate with a flat decay gain): a horizon
# sweep (lm-full's widths and run lengths, and width 160), its law (results/lm-tuned/law.json,
# which locates widths 32-128, 15.5x in P) and a collapse ladder of widths 32-128 inside that
# range, with width 24 (censored, in the optimisation transient) beside it. The first ladder,
# widths 24-96 at the law fitted before width 160 ran, is results/lm-tuned/collapse-first.
SCALES["lm-tuned"] = LM_FULL.replace(
    about="transformer, lm-full under the recipe chosen in chapter 8",
    base=dict(_LM_FULL, lr=1e-2, base_width=LR_BASE_WIDTH), widths=(24, 32, 40, 48, 64, 96, 128),
    # width 160 overtakes 128 inside the data, so that the law locates width 128 too
    horizon_widths=LM_FULL.horizon_widths + (160,))

def lr_transfer(scale: str, law: Law) -> list[TrainConfig]:
    """Learning-rate transfer under µP: the peak-rate grid per width, then knobs, then the
    constant-rate runs that complete the horizon-fit ladder at each rate."""
    seeds, scheds = _scale(scale).seeds[:3], ("constant", "linear")

    def run(w: int, mult: float, sched: str, variant: str, **kw) -> TrainConfig:
        kw = dict(dict(lr=1e-2, base_width=LR_BASE_WIDTH), **kw)
        return _base(scale, width=w, samples=None, schedule=sched, seeds=seeds, **kw,
                     tags={"experiment": "lr", "variant": variant, "horizon": mult},
                     **law.fields(mult))

    grid = [run(w, LR_HORIZON, s, f"lr={x:g}", lr=x) for w in LR_WIDTHS[:-1] for x in LR_GRID
            for s in scheds]
    top = [run(LR_WIDTHS[-1], LR_HORIZON, s, f"lr={x:g}", lr=x) for x in LR_GRID for s in scheds]
    knobs = [run(w, LR_HORIZON, s, k, **kw) for k, kw in LR_KNOBS.items()
             for w in LR_KNOB_WIDTHS[k] for s in scheds]
    extra = [run(w, m, "constant", f"lr={x:g}", lr=x) for w, m, xs in LR_EXTRA for x in xs]
    # cheapest programs first, so that a time-limited sweep keeps whole widths
    return grid + knobs[:-4] + extra[:5] + top + extra[5:] + knobs[-4:]


# A horizon law over the whole 300x ladder (issue 30, item 3). The law of results/full/law.json
# was fitted on widths 64-200 (10x) and sets the ladder's horizons 4x below and 8x above that
# range; chapter 5 finds the constant-rate curves' local time exponent falling beyond it. Two
# sweeps: constant-rate runs at every ladder width, long enough to read the local time exponent
# on [T/2, 2T] (and, with ladder_horizon_long below for the large widths, to locate each size's
# optimum); then the ladder again, at the horizons of the law refitted from them, with 5 seeds
# under each seed protocol. Commands: results/README.md, "A law over the whole ladder".
LADDER_HORIZON_MARGIN = 2.0  # each constant-rate run goes to twice its horizon under --law
LADDER_HORIZON_MIN_STEPS = 20_000  # and at least this far (the small widths cost little)
LADDER_SEEDS_SEEDS = 5


def _constant_to_horizon(scale: str, law: Law, widths: tuple[int, ...], margin: float,
                         min_steps: int, experiment: str) -> list[TrainConfig]:
    """Constant-rate runs of ``widths``, ``LADDER_SEEDS`` seeds, each to ``margin`` times its
    horizon under ``law`` and to at least ``min_steps`` steps."""
    batch = SCALES[scale].base["batch_size"]
    out = []
    for w in widths:
        p = _n_params(scale, w)
        steps = math.ceil(margin * law.kappa * p ** (law.exponent - 1) / 6.0 / batch)
        out.append(_base(scale, width=w, samples=max(min_steps, steps) * batch,
                         schedule="constant", seeds=SCALES[scale].seeds[:LADDER_SEEDS],
                         tags={"experiment": experiment}))
    return out


def ladder_horizon(scale: str, law: Law) -> list[TrainConfig]:
    """Constant learning rate at every width of the exponent ladder, 3 seeds, each run to
    ``LADDER_HORIZON_MARGIN`` times its horizon under ``law`` (the law of ``--law``), and to at
    least ``LADDER_HORIZON_MIN_STEPS`` steps: for a horizon law fitted over the whole ladder."""
    return _constant_to_horizon(scale, law, _ladder_widths(scale, "ladder-horizon"),
                                LADDER_HORIZON_MARGIN, LADDER_HORIZON_MIN_STEPS, "ladder-horizon")


# On the full ladder (widths grow 1.5x, P 2.25x) a size is overtaken by its successor at about
# 2.15x its horizon if the law holds (frontier.overtakes), so twice the horizon was too short for
# the larger sizes: at widths 160, 240 and 360 the successor was still 0.5-2% behind at the
# end of the runs of results/full/ladder-horizon, and the frontier could not locate them. The
# second sweep runs those widths (the three below the largest) on to four times the horizon;
# fit-horizon reads both folders and keeps the longer run of a size.
LADDER_LONG_MARGIN = 4.0
LADDER_LONG_N = 3  # the widths below the largest that get the longer runs


def ladder_horizon_long(scale: str, law: Law) -> list[TrainConfig]:
    """:func:`ladder_horizon`'s constant-rate runs again for the ``LADDER_LONG_N`` widths below
    the largest, to ``LADDER_LONG_MARGIN`` times their horizon under ``law`` (the law of
    ``--law``, the same as ``ladder-horizon``'s): long enough for each one's successor to
    overtake it inside the data."""
    widths = _ladder_widths(scale, "ladder-horizon-long")[-1 - LADDER_LONG_N:-1]
    return _constant_to_horizon(scale, law, widths, LADDER_LONG_MARGIN, 0, "ladder-horizon-long")


def ladder_seeds(scale: str, law: Law) -> list[TrainConfig]:
    """The exponent ladder with linear decay to the horizons of ``law`` (the law refitted over
    the whole ladder from :func:`ladder_horizon`), ``LADDER_SEEDS_SEEDS`` seeds, under both seed
    protocols: variants ``independent`` (each seed its own data stream) and ``shared_data``
    (the paper's: one data order). Seeds 0 of the two variants train on the same batches."""
    widths = _ladder_widths(scale, "ladder-seeds")
    return [_base(scale, width=w, samples=None, schedule="linear", seed_protocol=protocol,
                  seeds=SCALES[scale].seeds[:LADDER_SEEDS_SEEDS],
                  tags={"experiment": "ladder-seeds", "variant": protocol}, **law.fields())
            for protocol in ("independent", "shared_data") for w in widths]


# Chapter 9 (issue 36): learning-rate transfer under each parameterisation of the registry
# (Everett et al. 2024). Every width trains a fixed number of steps with linear decay (the
# horizon law is not used: a transfer test holds the data fixed), at each rate of a factor-2
# grid, 2 seeds. Variants: each parameterisation with its per-layer rates (mup="on"); standard
# with one global rate (mup="off": SP as it is usually run); and Adam's epsilon at width, where
# the multipliers shrink the trained parameters' gradients: NTK and mean-field with the common
# eps = 1e-8 beside the package's 1e-20, and mean-field under Adam-atan2 (no epsilon at all).
PARAM_VARIANTS: dict[str, dict[str, Any]] = {
    "sp_global": dict(parameterisation="standard", mup="off"),
    "standard": dict(parameterisation="standard"),
    "mup": dict(parameterisation="mup"),
    "ntk": dict(parameterisation="ntk"),
    "mean_field": dict(parameterisation="mean_field"),
    "ntk_eps1e-8": dict(parameterisation="ntk", eps=1e-8),
    "mean_field_eps1e-8": dict(parameterisation="mean_field", eps=1e-8),
    "mean_field_atan2": dict(parameterisation="mean_field", optimizer="adam_atan2"),
}
# per scale: widths (the first is the base width), steps, and the peak-rate grid
PARAM_LADDERS: dict[str, dict[str, Any]] = {
    "quick": dict(widths=(16, 32, 64, 128, 256), steps=2_000,
                  lrs=tuple(1.25e-3 * 2 ** k for k in range(7))),
    "full": dict(widths=(128, 256, 512, 1024), steps=5_000,
                 lrs=tuple(1.25e-4 * 2 ** k for k in range(7))),
}
PARAM_SEEDS = 2


def rate_grid_runs(scale: str, experiment: str, variants: dict[str, dict[str, Any]],
                   widths: Sequence[int], steps: int, lrs: Sequence[float], seeds: Sequence[int],
                   **fields: Any) -> list[TrainConfig]:
    """One fixed run of ``steps`` steps per width, variant and peak rate (in that order), all
    ``seeds``, with the scale's base config, ``fields`` and the variant's fields (which win where
    both set one); tags ``experiment``, ``variant`` and ``lr``. The grids of chapters 9 and 10,
    stored and live."""
    batch = _scale(scale).base["batch_size"]
    return [_base(scale, width=w, samples=steps * batch, lr=x, seeds=tuple(seeds), **{**fields, **kw},
                  tags={"experiment": experiment, "variant": v, "lr": x})
            for w in widths for v, kw in variants.items() for x in lrs]


def param_transfer(scale: str, law: Law | None = None) -> list[TrainConfig]:
    """Learning-rate transfer per parameterisation: each one (and Adam's epsilon) at every rate
    of a factor-2 grid and every width, fixed steps, linear decay, 2 seeds (no --law).

    The variants are ``PARAM_VARIANTS``, the widths, steps and rates ``PARAM_LADDERS[scale]``
    (base width the narrowest); tags ``variant`` and ``lr``."""
    del law
    lad = PARAM_LADDERS[scale]
    return rate_grid_runs(scale, "param", PARAM_VARIANTS, lad["widths"], lad["steps"], lad["lrs"],
                          _scale(scale).seeds[:PARAM_SEEDS], base_width=lad["widths"][0],
                          schedule="linear")


# Where Adam's epsilon breaks transfer (chapter 9): the per-layer recipes whose hidden-layer
# gradients shrink fastest with width (mean-field, then µP) with epsilon raised until it meets the
# gradient scale of the ladder's wide models (Adam's update is unchanged when the loss and epsilon
# are scaled together, so a large epsilon at a small width is a small one at a large width); the
# same recipes with epsilon 1e-20, 1e-8 and Adam-atan2 are those of PARAM_VARIANTS (quick/param).
PARAM_EPS_VARIANTS: dict[str, dict[str, Any]] = {
    "mean_field_eps1e-5": dict(parameterisation="mean_field", eps=1e-5),
    "mean_field_eps1e-4": dict(parameterisation="mean_field", eps=1e-4),
    "mean_field_eps1e-3": dict(parameterisation="mean_field", eps=1e-3),
    "mup_eps1e-3": dict(parameterisation="mup", eps=1e-3),
}


def param_eps(scale: str, law: Law | None = None) -> list[TrainConfig]:
    """The grid of :func:`param_transfer` under the large-epsilon recipes of
    ``PARAM_EPS_VARIANTS`` (no --law)."""
    del law
    lad = PARAM_LADDERS[scale]
    return rate_grid_runs(scale, "param-eps", PARAM_EPS_VARIANTS, lad["widths"], lad["steps"],
                          lad["lrs"], _scale(scale).seeds[:PARAM_SEEDS],
                          base_width=lad["widths"][0], schedule="linear")


# Supercollapse as the verdict on a parameterisation (chapter 9): the scale's collapse ladder with
# linear decay to the horizons of its law, under each variant of PARAM_COLLAPSE_VARIANTS, with the
# base width moved to the narrowest width of the ladder, so that every parameterisation has the
# same rates there (the rate tuned at the base width is everyone's; SP and NTK differ from the
# others only in their fan-in readout) and they differ in how they scale away from it.
PARAM_COLLAPSE_VARIANTS = ("sp_global", "standard", "mup", "ntk", "mean_field")


def param_collapse(scale: str, law: Law) -> list[TrainConfig]:
    """Collapse per parameterisation: the collapse ladder with linear decay under each one,
    base width the narrowest width (variants ``PARAM_COLLAPSE_VARIANTS``)."""
    sc = _scale(scale)
    return [_base(scale, width=w, base_width=sc.widths[0], samples=None, schedule="linear",
                  **PARAM_VARIANTS[v], tags={"experiment": "param-collapse", "variant": v},
                  **law.fields())
            for v in PARAM_COLLAPSE_VARIANTS for w in sc.widths]


# Each recipe's collapse at its own best rate, not only at the scale's: the param-collapse
# ladders again at these multiples of the scale's peak rate (chapter 9).
PARAM_COLLAPSE_LR_MULTS = (0.25, 0.5, 1.0, 2.0, 4.0)


def param_collapse_lr(scale: str, law: Law) -> list[TrainConfig]:
    """:func:`param_collapse` at ``PARAM_COLLAPSE_LR_MULTS`` times the scale's peak rate (the
    same variants; the multiple in ``tags["lr_mult"]``, the rate in ``lr``): the rates of one
    width and recipe train in one program. At the multiple 1 the runs are
    :func:`param_collapse`'s."""
    return [c.replace(lr=m * c.lr, tags={**c.tags, "experiment": "param-collapse-lr",
                                         "lr_mult": m})
            for c in param_collapse(scale, law) for m in PARAM_COLLAPSE_LR_MULTS]


# Chapter 10 (issue 36): small-scale proxies for training instabilities (Wortsman et al. 2023).
# The transformer at peak rates from well below to far above its best, with linear decay after a
# 5% warmup over a fixed run, logging the max attention logit and the output log-partition
# (instability_traces): as the package trains it (QK-norm on), without QK-norm, and without
# QK-norm but with the z-loss. Per scale: widths, steps and rates.
INSTABILITY_VARIANTS: dict[str, dict[str, Any]] = {
    "qk_norm": dict(qk_norm=True),
    "no_qk_norm": dict(qk_norm=False),
    "no_qk_norm_zloss": dict(qk_norm=False, z_loss=1e-4),
}
INSTABILITY_LADDERS: dict[str, dict[str, Any]] = {
    "lm-quick": dict(widths=(16, 32, 64), steps=1_000, lrs=(1e-2, 3e-2, 1e-1, 3e-1, 1.0),
                     seeds=(0,)),
    "lm-full": dict(widths=(32, 64, 128), steps=5_000, lrs=(1e-2, 3e-2, 1e-1, 3e-1, 1.0),
                    seeds=(0, 1)),
}
# the schedule and logging of every instability run (the sweep's and chapter 10's live runs)
INSTABILITY_FIELDS = dict(schedule="linear", warmup_frac=0.05, n_evals=20, instability_traces=True)


def instability(scale: str, law: Law | None = None) -> list[TrainConfig]:
    """Instabilities at high learning rates: each variant of ``INSTABILITY_VARIANTS`` (QK-norm
    on, off, off with the z-loss) at every rate and width of ``INSTABILITY_LADDERS[scale]``,
    linear decay after a 5% warmup, the attention-logit and log-partition traces on (no --law)."""
    del law
    lad = INSTABILITY_LADDERS[scale]
    return rate_grid_runs(scale, "instability", INSTABILITY_VARIANTS, lad["widths"], lad["steps"],
                          lad["lrs"], lad["seeds"], **INSTABILITY_FIELDS)


# Warmup and weight decay (chapter 10, Wortsman et al. 2023, sections 3.2-3.3): the runs of
# ``instability`` with no warmup or a 25% one (QK-norm on and off), and with QK-norm and
# decoupled weight decay, independent of the rate (1e-3 per step) or coupled to it (1e-2 times each
# layer's rate: the same decay as independent at a rate of 0.1), at the same widths and rates.
INSTABILITY_RECIPES: dict[str, dict[str, Any]] = {
    "qk_norm_warmup0": dict(qk_norm=True, warmup_frac=0.0),
    "no_qk_norm_warmup0": dict(qk_norm=False, warmup_frac=0.0),
    "qk_norm_warmup25": dict(qk_norm=True, warmup_frac=0.25),
    "no_qk_norm_warmup25": dict(qk_norm=False, warmup_frac=0.25),
    "qk_norm_wd_independent": dict(qk_norm=True, weight_decay=1e-3),
    "qk_norm_wd_coupled": dict(qk_norm=True, weight_decay=1e-2, weight_decay_mode="coupled"),
}


def instability_recipe(scale: str, law: Law | None = None) -> list[TrainConfig]:
    """The ``instability`` grid (``INSTABILITY_LADDERS[scale]``) under the warmup and weight-decay
    variations of ``INSTABILITY_RECIPES`` (their fields override ``INSTABILITY_FIELDS``; no --law)."""
    del law
    lad = INSTABILITY_LADDERS[scale]
    return rate_grid_runs(scale, "instability-recipe", INSTABILITY_RECIPES, lad["widths"],
                          lad["steps"], lad["lrs"], lad["seeds"], **INSTABILITY_FIELDS)


# An instability that comes late (chapter 10): width 32 of lm-quick at a constant rate (after a 2%
# warmup) for 6,000 steps, with and without QK-norm, at three rates that train well for the first
# thousand steps; the instability traces on.
LATE_LADDER = dict(width=32, steps=6_000, lrs=(0.03, 0.06, 0.1), seeds=(0,))
LATE_FIELDS = dict(schedule="constant", warmup_frac=0.02, n_evals=60, instability_traces=True)


def instability_late(scale: str, law: Law | None = None) -> list[TrainConfig]:
    """Long constant-rate runs of ``LATE_LADDER`` (QK-norm on and off; no --law), for
    instabilities that develop late in training."""
    del law
    lad = LATE_LADDER
    return rate_grid_runs(scale, "instability-late",
                          {v: INSTABILITY_VARIANTS[v] for v in ("qk_norm", "no_qk_norm")},
                          (lad["width"],), lad["steps"], lad["lrs"], lad["seeds"], **LATE_FIELDS)


# Weight decay over a longer run (chapter 10): width 32 of lm-quick, 6,000 steps (six times the
# instability grid) at its five rates, QK-norm on, without decay and with the two decays of
# INSTABILITY_RECIPES, schedule and traces of INSTABILITY_FIELDS.
DECAY_LADDER = dict(width=32, steps=6_000, seeds=(0,))
DECAY_VARIANTS = ("qk_norm", "qk_norm_wd_independent", "qk_norm_wd_coupled")


def instability_decay(scale: str, law: Law | None = None) -> list[TrainConfig]:
    """``DECAY_VARIANTS`` at every rate of ``INSTABILITY_LADDERS[scale]``, width and length of
    ``DECAY_LADDER`` (no --law)."""
    del law
    lad, variants = DECAY_LADDER, {**INSTABILITY_VARIANTS, **INSTABILITY_RECIPES}
    return rate_grid_runs(scale, "instability-decay", {v: variants[v] for v in DECAY_VARIANTS},
                          (lad["width"],), lad["steps"], INSTABILITY_LADDERS[scale]["lrs"],
                          lad["seeds"], **INSTABILITY_FIELDS)


# The output log-partition over a long run at the highest rates (chapter 10): width 32 of lm-quick
# at a constant rate (after a 2% warmup) for 6,000 steps, QK-norm on (so that only the output
# logits can drift), in bfloat16 (the precision in which large models meet the divergence), with
# and without the z-loss; the instability traces on.
LOGZ_LADDER = dict(width=32, steps=6_000, lrs=(0.3, 1.0), seeds=(0,))
LOGZ_VARIANTS: dict[str, dict[str, Any]] = {
    "qk_norm_bf16": dict(qk_norm=True, compute_dtype="bfloat16"),
    "qk_norm_bf16_zloss": dict(qk_norm=True, compute_dtype="bfloat16", z_loss=1e-4),
}


def instability_logz(scale: str, law: Law | None = None) -> list[TrainConfig]:
    """Long constant-rate runs of ``LOGZ_LADDER`` under ``LOGZ_VARIANTS`` (bfloat16, QK-norm on,
    z-loss off and on; no --law), for a drift of the output log-partition that costs loss."""
    del law
    lad = LOGZ_LADDER
    return rate_grid_runs(scale, "instability-logz", LOGZ_VARIANTS, (lad["width"],), lad["steps"],
                          lad["lrs"], lad["seeds"], **{**LATE_FIELDS, "n_evals": 30})


# Collapse as an alarm on unstable runs (chapter 10): the tuned transformer recipe at width 32 (inside
# the fitted range of the law it is run at) to its horizon with linear decay, one seed, as the
# ladder of results/lm-tuned/collapse-first trains it, and the same without QK-norm at the same
# rate and at 3, 10 and 30 times it; the instability traces on.
ALARM_WIDTH, ALARM_MULTS = 32, (1.0, 3.0, 10.0, 30.0)


def instability_alarm(scale: str, law: Law) -> list[TrainConfig]:
    """Unstable runs for the alarm: the scale's recipe at width ``ALARM_WIDTH`` to its horizon
    under ``law``, linear decay, seed 0, with QK-norm (variant ``reference``) and without it at
    ``ALARM_MULTS`` times the peak rate (variants ``no_qk_norm_x<m>``)."""
    base = _base(scale, width=ALARM_WIDTH, samples=None, schedule="linear", seeds=(0,),
                 instability_traces=True, **law.fields())
    out = [base.replace(tags={"experiment": "alarm", "variant": "reference"})]
    return out + [base.replace(qk_norm=False, lr=m * base.lr,
                               tags={"experiment": "alarm", "variant": f"no_qk_norm_x{m:g}"})
                  for m in ALARM_MULTS]


# Late trouble for the alarm: the same width and horizon with a linear warmup over 10 % or 30 %
# of training, so that the peak rate arrives after the first tenth the alarm forecasts from;
# without QK-norm at ALARM_LATE_MULTS times the recipe's rate, and with it at the largest (the
# twin each unstable run is compared with).
ALARM_LATE_WARMUPS, ALARM_LATE_MULTS = (0.1, 0.3), (2.0, 3.0)


def instability_alarm_late(scale: str, law: Law) -> list[TrainConfig]:
    """:func:`instability_alarm`'s run with a warmup of ``ALARM_LATE_WARMUPS`` of training:
    with QK-norm at ``max(ALARM_LATE_MULTS)`` times the peak rate (variants
    ``qk_norm_x<m>_warmup<w>``) and without it at each of ``ALARM_LATE_MULTS`` times
    (``no_qk_norm_x<m>_warmup<w>``)."""
    base = instability_alarm(scale, law)[0]  # its reference run; the tags are replaced
    out, top = [], max(ALARM_LATE_MULTS)
    for w in ALARM_LATE_WARMUPS:
        out.append(base.replace(lr=top * base.lr, warmup_frac=w, tags={
            "experiment": "alarm-late", "variant": f"qk_norm_x{top:g}_warmup{w:g}"}))
        out += [base.replace(qk_norm=False, lr=m * base.lr, warmup_frac=w, tags={
                    "experiment": "alarm-late", "variant": f"no_qk_norm_x{m:g}_warmup{w:g}"})
                for m in ALARM_LATE_MULTS]
    return out


# Parameterisations of the transformer (chapter 9): the recipes of PARAM_VARIANTS that train
# different networks (NTK and mean-field are SP's and µP's twins under per-layer Adam rates, as
# chapter 9 shows for the MLP) on the instability grid of lm-quick (widths 16-64, rates 1e-2 to 1,
# 1,000 steps, linear decay after a 5% warmup; QK-norm on), 2 seeds: does the best rate transfer?
PARAM_LM_VARIANTS = ("sp_global", "standard", "mup")


def param_lm(scale: str, law: Law | None = None) -> list[TrainConfig]:
    """Learning-rate transfer of the transformer per parameterisation: ``PARAM_LM_VARIANTS``
    at every rate and width of ``INSTABILITY_LADDERS[scale]``, its schedule and warmup, base
    width the narrowest, ``PARAM_SEEDS`` seeds (no --law; no traces)."""
    del law
    lad = INSTABILITY_LADDERS[scale]
    fields = {k: v for k, v in INSTABILITY_FIELDS.items() if k != "instability_traces"}
    return rate_grid_runs(scale, "param-lm", {v: PARAM_VARIANTS[v] for v in PARAM_LM_VARIANTS},
                          lad["widths"], lad["steps"], lad["lrs"],
                          _scale(scale).seeds[:PARAM_SEEDS], base_width=lad["widths"][0], **fields)


EXPERIMENTS: dict[str, Callable[..., list[TrainConfig]]] = {
    "horizon": horizon_fit, "collapse": collapse, "breakdown": breakdown, "noise": noise_runs,
    "ladder": exponent_ladder, "ladder-horizon": ladder_horizon,
    "ladder-horizon-long": ladder_horizon_long, "ladder-seeds": ladder_seeds,
    "lr": lr_transfer, "param": param_transfer, "param-eps": param_eps,
    "param-collapse": param_collapse, "param-collapse-lr": param_collapse_lr,
    "instability": instability,
    "instability-recipe": instability_recipe, "instability-late": instability_late,
    "instability-decay": instability_decay, "instability-logz": instability_logz,
    "alarm": instability_alarm,
    "alarm-late": instability_alarm_late, "param-lm": param_lm,
}

LAWLESS_SWEEPS = ("horizon", "param", "param-eps", "param-lm", "instability", "instability-recipe",
                  "instability-late", "instability-decay",
                  "instability-logz")  # sweeps that need no --law
SWEEP_SCALES = {"lr": ("lm-full",), "param": tuple(PARAM_LADDERS), "param-eps": tuple(PARAM_LADDERS),
                "param-collapse": ("quick", "full"), "param-collapse-lr": ("quick",),
                "instability": tuple(INSTABILITY_LADDERS),
                "instability-recipe": tuple(INSTABILITY_LADDERS), "instability-late": ("lm-quick",),
                "instability-decay": ("lm-quick",), "instability-logz": ("lm-quick",),
                "alarm": ("lm-tuned",),
                "alarm-late": ("lm-tuned",), "param-lm": tuple(INSTABILITY_LADDERS)}  # sweeps limited to some scales (default: every scale)


def sweep_scales(name: str) -> list[str]:
    """The scales sweep ``name`` is defined at."""
    if name in ("ladder", "ladder-horizon", "ladder-horizon-long", "ladder-seeds"):
        return sorted(k for k, v in SCALES.items() if v.ladder_widths)
    return sorted(SWEEP_SCALES.get(name, SCALES))


def sweeps_at(scale: str) -> list[str]:
    """The sweeps defined at ``scale``."""
    return [k for k in EXPERIMENTS if scale in sweep_scales(k)]
