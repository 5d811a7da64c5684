"""One flat, validated configuration for a training run.

A run is fully described by a :class:`TrainConfig`: which task and model, how they are
optimised, how long they train, what is logged, and which seeds are trained together.
The config is flat (no nesting) so that sweeps can override any field by name, results
can be stored as plain JSON, and a run's identity is the hash of its fields.

Every field is checked by :meth:`TrainConfig.validate` *before* any compute, and a bad
value raises :class:`ConfigError` naming the field.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any

SCHEDULES = ("constant", "linear", "cosine", "multicosine", "exponential", "power", "quadratic")
MUP_MODES = ("on", "off", "frozen")
COMPUTE_DTYPES = ("float32", "bfloat16")
# How token ids select embedding rows and target logits (see TrainConfig.lookup).
LOOKUPS = ("gather", "one_hot")
# How the seeds of a run draw their training data (see TrainConfig.seed_protocol).
SEED_PROTOCOLS = ("independent", "shared_data")
# How weight decay meets the learning rate (see TrainConfig.weight_decay).
WEIGHT_DECAY_MODES = ("independent", "coupled")
HORIZON_FIELDS = ("samples", "tokens_per_param", "horizon_kappa")
# Fields that change no array shape and no constant of the compiled program: the engine passes
# them as traced inputs (or uses them on the host), so configs that differ only here share one
# compilation and can be trained side by side in one vmapped program.
SHAPE_FREE_FIELDS = ("lr", "schedule", "decay_frac", "warmup_frac", "mup", "base_width",
                     "mup_reference_width", "train_seed", *HORIZON_FIELDS, "horizon_exponent",
                     "horizon_mult", "n_evals", "seeds", "seed_protocol", "tags")
# Version of the run-id scheme (see TrainConfig.run_id); bump it only to rename every run.
RUN_ID_SCHEMA = 2


class ConfigError(ValueError):
    """An invalid configuration; the message names the offending field."""


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run (defaults: the paper's MLP settings).

    Horizon: set exactly one of ``samples``, ``tokens_per_param`` or ``horizon_kappa``.
    With ``horizon_kappa`` the run is trained to the compute-optimal horizon
    ``c*(P) = horizon_kappa * P ** horizon_exponent`` FLOPs (``horizon_exponent = 1 + gamma``),
    i.e. for ``c*(P) / (6 P)`` samples, times ``horizon_mult``.

    Seeds: every seed ``s`` in ``seeds`` initialises its own model (from ``key(s)``). Its
    training batches depend on ``seed_protocol`` (:func:`~supercollapse.train.engine.data_key`):

    * ``"independent"`` (the default, and how every stored run was made): seed ``s`` draws its
      batches from its own stream ``fold_in(key(train_seed), s)``, so the spread over seeds
      holds initialisation *and* data-order (SGD sampling) noise;
    * ``"shared_data"`` (the paper's protocol): every seed sees the same batches, the stream
      ``fold_in(key(train_seed), 0)`` (seed 0's under ``"independent"``), so the spread over
      seeds is initialisation noise alone, and the noise floor sigma is smaller.
    """

    # --- task -----------------------------------------------------------------------
    task: str = "fourier"
    input_dim: int = 8
    n_modes: int = 10_000
    task_exponent: float = 2.0  # power-law exponent of the wave-vector magnitudes
    target_seed: int = 42
    train_seed: int = 43
    test_seed: int = 44
    # --- model ----------------------------------------------------------------------
    model: str = "mlp"
    width: int = 128
    depth: int = 5
    depth_multiplier: float | None = None  # None: the model's own (MLP 6 / depth, transformer 3 / depth)
    embed_multiplier: float = 1.0
    readout_multiplier: float = 1.0
    # --- next-token prediction: transformer, synthetic language, token files -------------
    vocab_size: int = 64  # tokens; a token file's vocabulary must fit
    seq_len: int = 64  # predicted tokens per sequence (context length)
    head_dim: int = 64  # fixed per-head dimension; heads = width / head_dim
    mlp_ratio: int = 4  # hidden width of the transformer's MLP, in units of width
    qk_norm: bool = True  # RMSNorm of queries and keys, with a learned gain
    z_loss: float = 0.0  # coefficient of the z-loss (logsumexp^2) in the training loss
    compute_dtype: str = "float32"  # "float32" | "bfloat16" (parameters stay float32)
    residual_dtype: str = "float32"  # the residual stream: "float32" or "compute" (its dtype)
    # how token ids select embedding rows and target logits: "gather" (indexing; its gradient
    # is a scatter-add, slow under deterministic GPU reductions) or "one_hot" (products with
    # one-hot vectors: the same forward values, gradients summed in another order, no scatter)
    lookup: str = "gather"
    n_rules: int = 1024  # language: number of hidden rules
    rule_branching: int = 4  # language: successors of a token under one rule
    zipf_exponent: float = 1.5  # language: rule k is used with probability ~ k^-exponent
    data_dir: str | None = None  # tokens: folder with train.bin, val.bin, meta.json
    # --- optimiser ------------------------------------------------------------------
    lr: float = 1e-3
    b1: float = 0.9
    b2: float = 0.95
    eps: float = 1e-20
    mup: str = "on"  # "on" | "off" | "frozen" (learning rates frozen at mup_reference_width)
    # how init, multipliers and rates scale with width: a name in
    # supercollapse.parameterisations.PARAMETERISATIONS ("mup", "standard", "ntk", "mean_field")
    parameterisation: str = "mup"
    base_width: int = 128
    mup_reference_width: int | None = None
    optimizer: str = "adam"  # a name in supercollapse.optim.OPTIMIZERS
    schedule: str = "constant"
    decay_frac: float = 1.0  # decay over the last fraction of training
    warmup_frac: float = 0.0  # linear warmup over the first fraction of training
    # decoupled weight decay of the weight matrices (not gains or biases), lambda per step times
    # the schedule g(t): "independent" of the rate (Wortsman et al. 2023) or "coupled" to each
    # layer's peak rate (AdamW as PyTorch and Optax write it); 0 = off (no term in the program)
    weight_decay: float = 0.0
    weight_decay_mode: str = "independent"
    # --- horizon --------------------------------------------------------------------
    batch_size: int = 4096
    samples: int | None = None
    tokens_per_param: float | None = None
    horizon_kappa: float | None = None
    horizon_exponent: float = 2.0
    horizon_mult: float = 1.0
    # --- logging --------------------------------------------------------------------
    n_evals: int = 100
    n_test: int = 16_384
    eval_batch_size: int = 8192
    noise_batches: int = 0  # minibatches per evaluation for the gradient-noise trace; 0 = off
    # log the model's instability diagnostics at each evaluation (the transformer: max attention
    # logit and output log-partition, curves "max_attn_logit" and "log_partition"); off keeps
    # the logged curves and the run id as they were
    instability_traces: bool = False
    # --- seeds ----------------------------------------------------------------------
    seeds: tuple[int, ...] = (0,)
    seed_protocol: str = "independent"  # "independent" | "shared_data" (one data order)
    # --- free-form label (not part of the run's identity) ---------------------------
    tags: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.seeds, list | range):  # keep the config hashable
            object.__setattr__(self, "seeds", tuple(self.seeds))

    # ---------------------------------------------------------------------------------
    def validate(self) -> TrainConfig:
        """Check every field; raise :class:`ConfigError` naming the first bad one.

        Nothing is computed: the horizon check (at least one optimiser step) reads the
        parameter count from the model's shapes only. A config that passed is not checked again.
        """
        if self.__dict__.get("_valid"):
            return self

        def need(cond: bool, name: str, why: str) -> None:
            if not cond:
                raise ConfigError(f"TrainConfig.{name}={getattr(self, name)!r}: {why}")

        def integer(v: Any) -> bool:
            return isinstance(v, int) and not isinstance(v, bool)

        def real(v: Any) -> bool:
            return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)

        # the registries import JAX and the builders; loading a stored config does not need them
        from ..models import MODELS, param_count
        from ..tasks import TASKS

        need(self.task in TASKS, "task", f"unknown task; choose one of {sorted(TASKS)}")
        need(self.model in MODELS, "model", f"unknown model; choose one of {sorted(MODELS)}")
        from ..optim import OPTIMIZERS

        need(self.optimizer in OPTIMIZERS, "optimizer",
             f"unknown optimizer; choose one of {sorted(OPTIMIZERS)}")
        for name in ("input_dim", "n_modes", "width", "depth", "base_width", "batch_size",
                     "n_test", "eval_batch_size", "n_evals"):
            need(integer(getattr(self, name)) and getattr(self, name) > 0, name,
                 "must be a positive integer")
        for name in ("target_seed", "train_seed", "test_seed"):
            need(integer(getattr(self, name)) and getattr(self, name) >= 0, name,
                 "must be a non-negative integer")
        for name in ("task_exponent", "lr", "b1", "b2", "eps", "decay_frac", "warmup_frac",
                     "embed_multiplier", "readout_multiplier", "horizon_exponent",
                     "horizon_mult"):
            need(real(getattr(self, name)), name, "must be a finite number")
        need(self.task_exponent > 0, "task_exponent", "must be positive")
        need(self.lr > 0, "lr", "must be positive")
        need(0 <= self.b1 < 1, "b1", "must lie in [0, 1)")
        need(0 <= self.b2 < 1, "b2", "must lie in [0, 1)")
        need(self.eps >= 0, "eps", "must be non-negative")
        need(self.mup in MUP_MODES, "mup", f"unknown µP mode; choose one of {MUP_MODES}")
        from ..parameterisations import PARAMETERISATIONS

        need(self.parameterisation in PARAMETERISATIONS, "parameterisation",
             f"unknown parameterisation; choose one of {sorted(PARAMETERISATIONS)}")
        if self.mup == "frozen":
            need(integer(self.mup_reference_width) and self.mup_reference_width > 0,
                 "mup_reference_width", "must be a positive integer width when mup='frozen'")
        need(self.schedule in SCHEDULES, "schedule",
             f"unknown schedule; choose one of {SCHEDULES}")
        need(0.0 <= self.decay_frac <= 1.0, "decay_frac", "must lie in [0, 1]")
        need(0.0 <= self.warmup_frac < 1.0, "warmup_frac", "must lie in [0, 1)")
        need(real(self.weight_decay) and self.weight_decay >= 0, "weight_decay",
             "must be a non-negative number")
        need(self.weight_decay_mode in WEIGHT_DECAY_MODES, "weight_decay_mode",
             f"choose one of {WEIGHT_DECAY_MODES}")
        need(self.depth_multiplier is None
             or (real(self.depth_multiplier) and self.depth_multiplier > 0), "depth_multiplier",
             "must be positive (or None for the model's default)")
        # next-token fields (used by the transformer and the language and tokens tasks)
        for name in ("vocab_size", "seq_len", "head_dim", "mlp_ratio", "n_rules",
                     "rule_branching"):
            need(integer(getattr(self, name)) and getattr(self, name) > 0, name,
                 "must be a positive integer")
        need(self.vocab_size >= 2, "vocab_size", "must be at least 2")
        need(isinstance(self.qk_norm, bool), "qk_norm", "must be True or False")
        need(real(self.z_loss) and self.z_loss >= 0, "z_loss", "must be a non-negative number")
        need(self.compute_dtype in COMPUTE_DTYPES, "compute_dtype",
             f"choose one of {COMPUTE_DTYPES}")
        need(self.residual_dtype in ("float32", "compute"), "residual_dtype",
             "'float32' (the residual stream adds in float32) or 'compute' (in compute_dtype)")
        need(self.lookup in LOOKUPS, "lookup", f"choose one of {LOOKUPS}")
        need(real(self.zipf_exponent) and self.zipf_exponent > 0, "zipf_exponent",
             "must be positive")
        need(self.rule_branching <= self.vocab_size, "rule_branching",
             f"successors are distinct tokens: at most vocab_size={self.vocab_size}")
        need(self.data_dir is None or isinstance(self.data_dir, str), "data_dir",
             "must be a folder path or None")
        if self.task == "tokens":
            need(self.data_dir is not None, "data_dir", "the tokens task needs a data folder")
        if self.model == "transformer":
            need(self.width % self.head_dim == 0, "width",
                 f"must be a multiple of head_dim={self.head_dim}")
            need(self.base_width % self.head_dim == 0, "base_width",
                 f"must be a multiple of head_dim={self.head_dim}")
        set_horizons = [n for n in HORIZON_FIELDS if getattr(self, n) is not None]
        if len(set_horizons) != 1:
            raise ConfigError("TrainConfig: set exactly one of samples, tokens_per_param, "
                              f"horizon_kappa (got {set_horizons or 'none'})")
        for name in set_horizons + ["horizon_exponent", "horizon_mult"]:
            need(real(getattr(self, name)) and getattr(self, name) > 0, name,
                 "must be a positive number")
        need(integer(self.noise_batches) and (self.noise_batches == 0 or self.noise_batches >= 2),
             "noise_batches", "must be 0 (off) or at least 2 (a covariance needs two samples)")
        need(isinstance(self.seeds, tuple) and len(self.seeds) >= 1
             and all(integer(s) and s >= 0 for s in self.seeds)
             and len(set(self.seeds)) == len(self.seeds), "seeds",
             "must be a non-empty tuple of distinct non-negative integers")
        need(self.seed_protocol in SEED_PROTOCOLS, "seed_protocol",
             f"unknown seed protocol; choose one of {SEED_PROTOCOLS}")
        need(isinstance(self.instability_traces, bool), "instability_traces",
             "must be True or False")
        if self.instability_traces:
            from ..models import has_instability_probe

            need(has_instability_probe(self), "instability_traces",
                 f"the model {self.model!r} has no instability_probe (the transformer has)")

        self.horizon_steps(param_count(self))  # raises if shorter than one step
        object.__setattr__(self, "_valid", True)  # frozen: it stays valid
        return self

    # ---------------------------------------------------------------------------------
    def horizon_samples(self, n_params: int, tokens_per_sample: int = 1) -> float:
        """Number of training samples the config asks for, for a model of ``n_params``.

        The horizon is a number of tokens (compute is ``6 P tokens``); a sample holds
        ``tokens_per_sample`` of them (1 for the Fourier task, the sequence length for a
        language task). ``samples`` is a number of samples.

        >>> TrainConfig(horizon_kappa=6.0, horizon_exponent=2.0).horizon_samples(1000)
        1000.0
        >>> TrainConfig(tokens_per_param=20.0).horizon_samples(1000, tokens_per_sample=10)
        2000.0
        """
        if self.samples is not None:
            t = float(self.samples)
        elif self.tokens_per_param is not None:
            t = self.tokens_per_param * n_params / tokens_per_sample
        else:
            t = (self.horizon_kappa * n_params ** self.horizon_exponent / (6.0 * n_params)
                 / tokens_per_sample)
        return t * self.horizon_mult

    def horizon_steps(self, n_params: int, tokens_per_sample: int = 1) -> int:
        """Optimiser steps: ``ceil(samples / batch_size)``; at least one, or ConfigError.

        >>> TrainConfig(samples=1000, batch_size=64).horizon_steps(1000)
        16
        """
        t = self.horizon_samples(n_params, tokens_per_sample)
        steps = math.ceil(t / self.batch_size - 1e-9)
        if t < self.batch_size:
            name = next(n for n in HORIZON_FIELDS if getattr(self, n) is not None)
            raise ConfigError(f"TrainConfig.{name}={getattr(self, name)!r}: the horizon "
                              f"({t:.4g} samples for P={n_params}, "
                              f"horizon_mult={self.horizon_mult}) is shorter than one step of "
                              f"batch_size={self.batch_size}")
        return steps

    # ---------------------------------------------------------------------------------
    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with some fields changed (unknown field names raise ConfigError)."""
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise ConfigError(f"TrainConfig has no field(s) {sorted(unknown)}")
        if "seeds" in changes:
            if not isinstance(changes["seeds"], list | tuple | range):
                raise ConfigError(f"TrainConfig.seeds={changes['seeds']!r}: must be a list of "
                                  "seeds, e.g. seeds=[0,1,2]")
            changes["seeds"] = tuple(int(s) for s in changes["seeds"])
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["seeds"] = list(self.seeds)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ConfigError(f"TrainConfig has no field(s) {sorted(unknown)}")
        d = dict(d)
        if "seeds" in d:
            d["seeds"] = tuple(int(s) for s in d["seeds"])
        return cls(**d)

    def shape_key(self) -> TrainConfig:
        """The config with every shape-free field at its default: configs with equal keys
        share one compiled program (``SHAPE_FREE_FIELDS``).

        >>> a = TrainConfig(samples=10, lr=1e-2, schedule="cosine", seeds=(0, 1))
        >>> a.shape_key() == TrainConfig(samples=99, width=128).shape_key()
        True
        >>> a.shape_key() == a.replace(width=64).shape_key()
        False
        """
        defaults = {f.name: (f.default_factory() if f.default_factory is not dataclasses.MISSING
                             else f.default) for f in dataclasses.fields(self)}
        return dataclasses.replace(self, **{k: defaults[k] for k in SHAPE_FREE_FIELDS})

    def run_id(self) -> str:
        """A short stable identity: a hash of the fields that differ from their defaults.

        Hashed: ``{"schema": RUN_ID_SCHEMA, field: value, ...}`` over the non-default fields
        (``tags`` excluded), as sorted JSON. A new field with a default therefore keeps every
        existing id, and so does the order of the fields.

        >>> TrainConfig(samples=1000).run_id() == TrainConfig(samples=1000, tags={"a": 1}).run_id()
        True
        >>> TrainConfig(samples=1000).run_id() == TrainConfig(samples=1000, lr=2e-3).run_id()
        False
        """
        blob = json.dumps({"schema": RUN_ID_SCHEMA, **self.non_default_fields()},
                          sort_keys=True).encode()
        return hashlib.sha1(blob).hexdigest()[:12]

    def non_default_fields(self) -> dict[str, Any]:
        """The fields (as in ``to_dict``, without ``tags``) that differ from the defaults."""
        d = self.to_dict()
        d.pop("tags")
        base = type(self)().to_dict()
        return {k: v for k, v in d.items() if v != base[k]}
