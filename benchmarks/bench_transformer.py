"""Transformer training throughput: a minimal loop, the package's plain loop and the engine.

    python benchmarks/bench_transformer.py --out benchmarks/results/transformer.json   # GPU
    python benchmarks/bench_transformer.py --tiny                                     # CPU, < 1 min
    python benchmarks/bench_transformer.py --tiny --cpu-quick --widths 16 24 32 48 64  # CPU speed

Measurements, all in one process (each the median of ``--repeats`` timed calls of ``--steps``
optimiser steps, after a compile call), at every width of ``--widths`` (default 256, 512 and
1024 at the ``lm-large`` scale of ``train/experiments.py``: depth 3, head dimension 64,
vocabulary 128, sequences of 256 tokens, batch 64, bf16 compute with float32 parameters and
Adam state):

1. ``ladder``: tokens per second and model FLOP utilisation of

   * **minimal**: a pre-norm decoder of the same shape written here (:func:`minimal_forward`:
     RMSNorm without gains, no QK-norm, no z-loss, GELU MLP x ``mlp_ratio``, causal attention
     by :func:`jax.nn.dot_product_attention` with ``implementation="cudnn"`` on a GPU in bf16,
     residual stream in the compute dtype), plain ``optax.adam`` on float32 parameters, uniform
     random tokens, one ``lax.scan`` over the steps;
   * **plain**: the package's model, task (the synthetic language drawn on the device every
     step) and µP Adam in one bare ``lax.scan`` (:func:`plain_loop`);
   * **engine**: :class:`supercollapse.train.engine.Trainer` (evaluations off);

   and the ratios plain / minimal and engine / plain. MFU is ``(6 P + 6 N T D)`` model FLOPs
   per token (``P`` non-embedding parameters, ``6 N T D`` the attention score and value
   products) times tokens/s over the device's dense bf16 peak.
2. ``attribution`` (at ``--attrib-widths``): where the gap plain / minimal comes from, measured
   from both ends. The package's plain loop with one extra switched off at a time (QK-norm,
   the µP per-layer multipliers, the on-device sampling of the language replaced by uniform
   random tokens, all three at once; float32 compute for comparison; the z-loss only where the
   scale turns it on; the same tokens drawn ahead, a timed call's batches in one vectorised
   sampler call before its steps, as the engine's ``draw_ahead`` does; the residual stream in
   the compute dtype; embedding rows and target logits by one-hot products, ``lookup``), and the minimal loop with one of the package's features switched on at
   a time (QK-norm, a float32 residual stream (the package's precision: norms, residual adds
   and logits in float32), the µP multipliers, the language sampler, all of them). Every row
   gives tokens/s and its ratio to its end's reference (plain or minimal) of the same run; the
   plain rows also their ratio to the minimal loop (``over_minimal``). First come the two rows
   of the issue's target, the plain loop with *every* optional cost off at once (``FLAGS_OFF``:
   QK-norm, z-loss, float32 residual stream), on uniform random tokens (then the same program
   as the minimal loop's: ``tests/test_bench_transformer.py`` trains both bit for bit alike on
   a CPU) and on the language drawn ahead by the walk. ``--rows`` measures only the rows whose
   label contains one of its strings.
3. ``cpu_quick`` (``--cpu-quick``, on a CPU): tokens per second of the plain loop at the quick
   scale (``lm-quick``, its largest width), the number the chapter's live demo depends on.

``--tiny``: a smoke run on a CPU in under a minute (the numbers mean nothing): ``lm-quick``'s
language in bf16 at toy size (``TINY``: depth 1, sequences of 16 tokens, batch 8), width 16,
every column and every attribution row, 2 steps per call.

``--budget SECONDS`` skips what would start after that much wall time; the JSON is rewritten
after every measurement, so a run stopped by a time limit keeps what it finished.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path

import jax
import jax.numpy as jnp
import optax
from bench_engine import median_time  # the same timer (benchmarks/ is the script's folder)
from flax import nnx

from supercollapse.models import build_model
from supercollapse.provenance import provenance
from supercollapse.tasks import build_task
from supercollapse.train.config import TrainConfig

PEAK_BF16 = {"H100": 989e12, "H200": 989e12, "A100": 312e12}  # dense bf16 FLOP/s
DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16}
TINY = {"compute_dtype": "bfloat16", "depth": 1, "seq_len": 16, "batch_size": 8}


# --- the minimal loop ------------------------------------------------------------------------
def attention_implementation(dtype) -> str | None:
    """cuDNN's fused attention on a GPU in bf16/fp16, JAX's default everywhere else."""
    fused = jax.default_backend() == "gpu" and dtype in (jnp.bfloat16, jnp.float16)
    return "cudnn" if fused else None


def minimal_init(cfg: TrainConfig, key: jax.Array, *, qk_norm: bool = False) -> dict:
    """Float32 parameters of the minimal decoder at ``cfg.width``: the package's shapes and
    initialisation (embeddings N(0, 1), hidden matrices N(0, 1/fan-in), attention output, second
    MLP matrix and readout zero); QK gains (ones) only with ``qk_norm``."""
    d, v, t, r = cfg.width, cfg.vocab_size, cfg.seq_len, cfg.mlp_ratio
    keys = iter(jax.random.split(key, 2 + 2 * cfg.depth))
    normal = lambda shape, fan_in: jax.random.normal(next(keys), shape) * fan_in ** -0.5  # noqa: E731
    blocks = []
    for _ in range(cfg.depth):
        blk = {"qkv": normal((d, 3 * d), d), "out": jnp.zeros((d, d)),
               "fc1": normal((d, r * d), d), "fc2": jnp.zeros((r * d, d))}
        if qk_norm:
            blk["q_gain"] = jnp.ones((cfg.head_dim,))
            blk["k_gain"] = jnp.ones((cfg.head_dim,))
        blocks.append(blk)
    return {"tok": normal((v, d), 1), "pos": normal((t, d), 1), "blocks": blocks,
            "readout": jnp.zeros((d, v))}


def minimal_param_count(cfg: TrainConfig, *, qk_norm: bool = False) -> int:
    """Every parameter of the minimal decoder, from its shapes."""
    shapes = jax.eval_shape(lambda: minimal_init(cfg, jax.random.key(0), qk_norm=qk_norm))
    return sum(int(x.size) for x in jax.tree.leaves(shapes))


def _rms(h: jax.Array) -> jax.Array:
    """RMSNorm without a gain, computed in float32 (returned in float32)."""
    h = h.astype(jnp.float32)
    return h * jax.lax.rsqrt(jnp.mean(h * h, axis=-1, keepdims=True) + 1e-6)


def minimal_forward(params: dict, tokens: jax.Array, cfg: TrainConfig, *,
                    f32_residual: bool = False) -> jax.Array:
    """Logits ``(batch, T, V)`` (float32) of the minimal pre-norm decoder.

    Matrix products and attention in ``cfg.compute_dtype``; the residual stream in the compute
    dtype too, or in float32 with ``f32_residual`` (as the package keeps it). Attention logits
    ``q.k / d_h`` (µP, as the package), branch multiplier ``3 / depth``; QK-norm iff the
    parameters hold gains.
    """
    dt = DTYPES[cfg.compute_dtype]
    act = jnp.float32 if f32_residual else dt
    b, t = tokens.shape
    d, hd = cfg.width, cfg.head_dim
    mult = 3.0 / cfg.depth if cfg.depth_multiplier is None else cfg.depth_multiplier
    impl = attention_implementation(dt)
    h = (params["tok"][tokens] + params["pos"][:t]).astype(act)
    for blk in params["blocks"]:
        qkv = (_rms(h).astype(dt) @ blk["qkv"].astype(dt)).reshape(b, t, 3, d // hd, hd)
        q, k, v = qkv[:, :, 0], qkv[:, :, 1], qkv[:, :, 2]
        if "q_gain" in blk:
            q = (_rms(q) * blk["q_gain"]).astype(dt)
            k = (_rms(k) * blk["k_gain"]).astype(dt)
        o = jax.nn.dot_product_attention(q, k, v, scale=1.0 / hd, is_causal=True,
                                         implementation=impl)
        h = h + (mult * (o.reshape(b, t, d) @ blk["out"].astype(dt))).astype(act)
        u = jax.nn.gelu(_rms(h).astype(dt) @ blk["fc1"].astype(dt))
        h = h + (mult * (u @ blk["fc2"].astype(dt))).astype(act)
    return (_rms(h).astype(dt) @ params["readout"].astype(dt)).astype(jnp.float32)


def random_batch(cfg: TrainConfig, key: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Uniform random tokens ``(x, y)`` of the task's shapes (one cheap random draw)."""
    seq = jax.random.randint(key, (cfg.batch_size, cfg.seq_len + 1), 0, cfg.vocab_size)
    return seq[:, :-1], seq[:, 1:]


def _sampler(cfg: TrainConfig, data: str) -> Callable:
    if data == "random":
        return lambda k: random_batch(cfg, k)
    if data == "task":
        task = build_task(cfg)
        return lambda k: task.train_batch(k, cfg.batch_size)
    raise ValueError(f"data={data!r}: 'random' or 'task'")


def _adam_update(loss_fn: Callable, opt) -> Callable:
    """One optimiser step on a given batch, for ``lax.scan``: ``(carry, (x, y))`` with carry
    ``(params, opt_state, t)``; returns the step's loss."""
    def update(carry, xy):
        p, o, t = carry
        loss, g = jax.value_and_grad(loss_fn)(p, *xy)
        updates, o = opt.update(g, o, p)
        return (optax.apply_updates(p, updates), o, t + 1), loss

    return update


def _adam_step(loss_fn: Callable, sample: Callable, key, opt) -> Callable:
    """One training step for ``lax.scan``: carry ``(params, opt_state, t)``, batch ``t`` drawn
    from ``fold_in(key, t)``; returns the step's loss."""
    update = _adam_update(loss_fn, opt)

    def step(carry, _):
        return update(carry, sample(jax.random.fold_in(key, carry[2])))

    return step


def _scan_loop(step: Callable, n_steps: int) -> Callable:
    @jax.jit
    def run(state):
        return jax.lax.scan(step, state, None, length=n_steps)

    return run


def _scan_loop_ahead(loss_fn: Callable, sample_many: Callable, key, opt,
                     n_steps: int) -> Callable:
    """As ``_scan_loop(_adam_step(...))``, but the call's ``n_steps`` batches are drawn first, in
    one call of ``sample_many(keys)`` (batch ``t`` still from ``fold_in(key, t)``: the same
    tokens), and the scan runs over them: the sampler's sequential rounds are paid once per
    call (the engine's ``draw_ahead``)."""
    @jax.jit
    def run(state):
        ts = state[2] + jnp.arange(n_steps)
        batches = sample_many(jax.vmap(lambda t: jax.random.fold_in(key, t))(ts))
        return jax.lax.scan(_adam_update(loss_fn, opt), state, batches)

    return run


def minimal_loop(cfg: TrainConfig, n_steps: int, *, qk_norm: bool = False,
                 f32_residual: bool = False, mup: bool = False, data: str = "random"):
    """The minimal training loop: ``run(state) -> (state, losses)`` trains ``n_steps`` steps.

    Plain ``optax.adam(cfg.lr, cfg.b1, cfg.b2, cfg.eps)`` on float32 parameters; ``mup`` adds the
    package's per-layer µP multipliers (``base_width / width`` on every non-embedding matrix)
    as one more elementwise pass; ``data="task"`` draws the package's language instead of
    uniform random tokens. Returns ``(run, state)``.
    """
    params = minimal_init(cfg, jax.random.key(0), qk_norm=qk_norm)
    opt = optax.adam(cfg.lr, b1=cfg.b1, b2=cfg.b2, eps=cfg.eps)
    if mup:
        ratio = cfg.base_width / cfg.width
        mults = jax.tree_util.tree_map_with_path(
            lambda path, x: 1.0 if (x.ndim != 2 or str(path[0].key) in ("tok", "pos")) else ratio,
            params)
        opt = optax.chain(opt, optax.GradientTransformation(
            lambda p: optax.EmptyState(),
            lambda u, s, p=None: (jax.tree.map(jnp.multiply, u, mults), s)))
    sample, key = _sampler(cfg, data), jax.random.key(cfg.train_seed)

    def loss_fn(p, x, y):
        logits = minimal_forward(p, x, cfg, f32_residual=f32_residual)
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

    state = (params, opt.init(params), jnp.zeros((), jnp.int32))
    return _scan_loop(_adam_step(loss_fn, sample, key, opt), n_steps), state


# --- the package's plain loop ----------------------------------------------------------------
def mup_multipliers(cfg: TrainConfig, params):
    """base_fan_in / fan_in per parameter, from the model's own ``mup_fan_in``."""
    model = nnx.eval_shape(lambda: build_model(cfg, jax.random.key(0)))
    base = nnx.eval_shape(lambda: build_model(cfg, jax.random.key(0), cfg.base_width))
    base_shapes = {p: v.shape for p, v in
                   jax.tree_util.tree_flatten_with_path(nnx.state(base, nnx.Param))[0]}

    def mult(path, leaf):
        names = tuple(str(getattr(k, "key", getattr(k, "idx", k))) for k in path)
        fan = model.mup_fan_in(names, leaf.shape)
        return 1.0 if fan is None else model.mup_fan_in(names, base_shapes[path]) / fan

    return jax.tree_util.tree_map_with_path(mult, params)


def plain_loop(cfg: TrainConfig, n_steps: int, *, mup: bool = True, data: str = "task"):
    """A bare training loop of the package's model: task, µP Adam, ``lax.scan`` over steps.

    ``mup=False`` drops the per-layer multipliers; ``data="random"`` replaces the task's
    sampler by uniform random tokens (the loss is still the task's ``training_loss``);
    ``data="ahead"`` draws the same tokens, every call's batches at once before its steps.
    Returns ``(run, state, task, graphdef)``: ``run(state) -> (state, losses)``.
    """
    task = build_task(cfg)
    graphdef, params = nnx.split(build_model(cfg, jax.random.key(0)), nnx.Param)
    parts = [optax.scale_by_adam(b1=cfg.b1, b2=cfg.b2, eps=cfg.eps), optax.scale(-cfg.lr)]
    if mup:
        mults = mup_multipliers(cfg, params)
        parts.append(optax.GradientTransformation(
            lambda p: optax.EmptyState(),
            lambda u, s, p=None: (jax.tree.map(jnp.multiply, u, mults), s)))
    opt = optax.chain(*parts)
    key = jax.random.key(cfg.train_seed)

    def loss_fn(p, x, y):
        return jnp.mean(task.training_loss(nnx.merge(graphdef, p)(x), y))

    state = (params, opt.init(params), jnp.zeros((), jnp.int32))
    if data == "ahead":
        run = _scan_loop_ahead(loss_fn, lambda ks: task.train_batches(ks, cfg.batch_size), key,
                               opt, n_steps)
    else:
        sample = (lambda k: task.train_batch(k, cfg.batch_size)) if data == "task" \
            else _sampler(cfg, data)
        run = _scan_loop(_adam_step(loss_fn, sample, key, opt), n_steps)
    return run, state, task, graphdef


# --- timing ------------------------------------------------------------------------------
def time_loop(run: Callable, state, cfg: TrainConfig, n_steps: int, repeats: int) -> dict:
    """Tokens and steps per second of ``run`` (compile call first; median of ``repeats``);
    ``compile_s``: the first call's extra time over a timed call."""
    box = [state]

    def call():
        box[0], losses = run(box[0])
        losses.block_until_ready()

    t0 = time.perf_counter()
    call()
    first = time.perf_counter() - t0
    sec = median_time(call, repeats)
    tokens = n_steps * cfg.batch_size * cfg.seq_len
    return {"tokens_per_s": tokens / sec, "steps_per_s": n_steps / sec,
            "compile_s": max(first - sec, 0.0)}


def baseline_tokens_per_s(cfg: TrainConfig, n_steps: int, repeats: int, **kw) -> dict:
    """The package's plain loop (:func:`plain_loop`)."""
    run, state, _, _ = plain_loop(cfg, n_steps, **kw)
    return time_loop(run, state, cfg, n_steps, repeats)


def minimal_tokens_per_s(cfg: TrainConfig, n_steps: int, repeats: int, **kw) -> dict:
    """The minimal loop (:func:`minimal_loop`)."""
    run, state = minimal_loop(cfg, n_steps, **kw)
    return time_loop(run, state, cfg, n_steps, repeats)


def engine_tokens_per_s(cfg: TrainConfig, n_steps: int, repeats: int) -> dict | str:
    """The engine's throughput, or the reason it cannot train this config."""
    try:
        from supercollapse.train.engine import Trainer

        trainer = Trainer(cfg.replace(samples=cfg.batch_size * n_steps * (repeats + 2)))
    except Exception as e:  # report, do not stop the benchmark
        return f"engine cannot train this config: {type(e).__name__}: {str(e)[:200]}"
    t0 = time.perf_counter()
    trainer.advance(n_steps)  # compile
    first = time.perf_counter() - t0
    stop = [n_steps]

    def call():
        stop[0] += n_steps
        trainer.advance(stop[0])

    sec = median_time(call, repeats)
    tokens = n_steps * cfg.batch_size * cfg.seq_len
    return {"tokens_per_s": tokens / sec, "steps_per_s": n_steps / sec,
            "compile_s": max(first - sec, 0.0)}


def model_flops_per_token(cfg: TrainConfig) -> float:
    """6 P (non-embedding) + 6 N T D (attention scores and values, forward and backward)."""
    model = nnx.eval_shape(lambda: build_model(cfg, jax.random.key(0)))
    return 6.0 * model.compute_params() + 6.0 * cfg.depth * cfg.seq_len * cfg.width


def peak_flops() -> float | None:
    kind = jax.devices()[0].device_kind
    return next((v for k, v in PEAK_BF16.items() if k in kind), None)


# Every optional cost of the package's model off: what is left is the minimal loop's program.
FLAGS_OFF = {"qk_norm": False, "residual_dtype": "compute", "z_loss": 0.0}

# Attribution rows, in the order they are measured (the issue's target first, then what
# explains most, so that a budget cut drops the combinations and the float32 comparison):
# (end, label, keyword arguments of the loop, config changes). "plain": the package's loop with
# one extra off; "minimal": the minimal loop with one of the package's features on.
ATTRIBUTION = (
    ("plain", "every optional cost off, random tokens (the minimal loop's program)",
     {"data": "random"}, FLAGS_OFF),
    ("plain", "every optional cost off, batches drawn ahead by the walk", {"data": "ahead"},
     FLAGS_OFF),
    ("plain", "random tokens (no language sampler)", {"data": "random"}, {}),
    ("plain", "batches drawn ahead by the walk (one sampler call per timed call)",
     {"data": "ahead"}, {}),
    ("minimal", "+ language sampler", {"data": "task"}, {}),
    ("minimal", "+ float32 residual stream", {"f32_residual": True}, {}),
    ("plain", "QK-norm off", {}, {"qk_norm": False}),
    ("plain", "residual stream in the compute dtype", {}, {"residual_dtype": "compute"}),
    ("plain", "one-hot lookups (no scatter in the gradient)", {}, {"lookup": "one_hot"}),
    ("minimal", "+ QK-norm", {"qk_norm": True}, {}),
    ("plain", "µP multipliers off", {"mup": False}, {}),
    ("minimal", "+ µP multipliers", {"mup": True}, {}),
    ("plain", "all three off", {"mup": False, "data": "random"}, {"qk_norm": False}),
    ("minimal", "+ all four", {"qk_norm": True, "f32_residual": True, "mup": True,
                               "data": "task"}, {}),
    ("plain", "float32 compute (for comparison)", {}, {"compute_dtype": "float32"}),
)


def attribution(cfg: TrainConfig, n_steps: int, repeats: int, plain_ref: float,
                minimal_ref: float, skip: Callable[[], bool],
                only: list[str] | None = None) -> dict:
    """Tokens/s of each row of ``ATTRIBUTION``, with the ratio to its end's reference tokens/s
    (``plain_ref``, ``minimal_ref``, measured in the same run): ``over_plain``,
    ``over_minimal`` (the plain rows have both). The z-loss is switched off first where the
    scale turns it on. ``only``: measure just the rows whose label contains one of these
    strings (``--rows``)."""
    rows: dict = {"plain": {}, "minimal": {}}
    todo = list(ATTRIBUTION)
    if cfg.z_loss:
        todo.insert(2, ("plain", "z-loss off", {}, {"z_loss": 0.0}))
    else:
        rows["plain"]["z-loss off"] = "z_loss is 0 at this scale: nothing to switch off"
    refs = {"plain": plain_ref, "minimal": minimal_ref}
    for end, label, kw, changes in todo:
        if only is not None and not any(s in label for s in only):
            rows[end][label] = "not asked for (--rows)"
            continue
        if skip():
            rows[end][label] = "skipped (budget)"
            continue
        timer = baseline_tokens_per_s if end == "plain" else minimal_tokens_per_s
        r = timer(cfg.replace(**changes), n_steps, repeats, **kw)
        ratios = {f"over_{e}": r["tokens_per_s"] / refs[e] for e in ("plain", "minimal")
                  if e == end or end == "plain"}
        rows[end][label] = {**r, **ratios}
        print(f"  {end}, {label}: {r['tokens_per_s']:.4g} tok/s ("
              + ", ".join(f"{v:.3f}x {k[5:]}" for k, v in ratios.items()) + ")", flush=True)
    return rows


def main(argv: list[str] | None = None) -> dict:
    from supercollapse.train.experiments import _base

    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tiny", action="store_true",
                    help="CPU smoke run: lm-quick's language in bf16 at toy size (TINY)")
    ap.add_argument("--cpu-quick", action="store_true",
                    help="also time the plain loop at lm-quick's largest width (CPU only)")
    ap.add_argument("--widths", type=int, nargs="+", default=None)
    ap.add_argument("--attrib-widths", type=int, nargs="*", default=None,
                    help="widths of the attribution profile (default: the first and last)")
    ap.add_argument("--rows", nargs="+", default=None, metavar="TEXT",
                    help="attribution rows to measure: those whose label contains one of these "
                         "strings (default: every row)")
    ap.add_argument("--no-engine", action="store_true", help="skip the engine's column")
    ap.add_argument("--steps", type=int, default=None, help="steps per timed call (default 20)")
    ap.add_argument("--repeats", type=int, default=None, help="timed calls (default 5)")
    ap.add_argument("--budget", type=float, default=None,
                    help="seconds: start nothing new after this much wall time")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    t_start = time.perf_counter()
    skip = lambda: args.budget is not None and time.perf_counter() - t_start > args.budget  # noqa: E731
    if args.tiny:
        scale, extra = "lm-quick", dict(TINY)
        widths, steps, repeats = args.widths or [16], args.steps or 2, args.repeats or 1
    else:
        scale, extra = "lm-large", {}
        widths, steps, repeats = args.widths or [256, 512, 1024], args.steps or 20, \
            args.repeats or 5
    attrib = [widths[0], widths[-1]] if args.attrib_widths is None else args.attrib_widths
    peak = peak_flops()
    out: dict = {"provenance": provenance(jax.devices()), "scale": scale, "overrides": extra,
                 "steps_per_call": steps, "repeats": repeats, "peak_bf16_flops": peak,
                 "ladder": {}, "attribution": {}}

    def save():
        if args.out:
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            Path(args.out).write_text(json.dumps(out, indent=1, default=str) + "\n")

    def with_mfu(r: dict, flops: float) -> dict:
        mfu = flops * r["tokens_per_s"] / peak if peak else None
        return {**r, "mfu": mfu}

    for width in widths:
        if skip():
            out["ladder"][width] = "skipped (budget)"
            continue
        cfg = _base(scale, width=width, seeds=(0,), **extra)
        flops = model_flops_per_token(cfg)
        row = {"config": {k: getattr(cfg, k) for k in (
                   "width", "depth", "head_dim", "vocab_size", "seq_len", "batch_size",
                   "compute_dtype", "qk_norm", "z_loss")},
               "flops_per_token": flops,
               "minimal": with_mfu(minimal_tokens_per_s(cfg, steps, repeats), flops),
               "plain": with_mfu(baseline_tokens_per_s(cfg, steps, repeats), flops)}
        row["plain_over_minimal"] = row["plain"]["tokens_per_s"] / row["minimal"]["tokens_per_s"]
        engine = "skipped (--no-engine)" if args.no_engine else \
            engine_tokens_per_s(cfg, steps, repeats)
        row["engine"] = with_mfu(engine, flops) if isinstance(engine, dict) else engine
        if isinstance(engine, dict):
            row["engine_over_plain"] = engine["tokens_per_s"] / row["plain"]["tokens_per_s"]
            row["engine_over_minimal"] = engine["tokens_per_s"] / row["minimal"]["tokens_per_s"]
        out["ladder"][width] = row
        print(f"width {width}: minimal {row['minimal']['tokens_per_s']:.4g}, plain "
              f"{row['plain']['tokens_per_s']:.4g} tok/s (plain/minimal "
              f"{row['plain_over_minimal']:.3f}), engine/plain "
              f"{row.get('engine_over_plain', float('nan')):.3f}", flush=True)
        save()
        if width in attrib:
            out["attribution"][width] = attribution(
                cfg, steps, repeats, row["plain"]["tokens_per_s"],
                row["minimal"]["tokens_per_s"], skip, args.rows)
            save()

    if not args.cpu_quick:
        out["cpu_quick"] = "not asked for (--cpu-quick)"
    elif jax.devices()[0].platform == "cpu" and not skip():
        from supercollapse.train.experiments import SCALES

        quick = _base("lm-quick", width=SCALES["lm-quick"].widths[-1], seeds=(0,))
        out["cpu_quick"] = baseline_tokens_per_s(quick, steps, repeats)
    else:
        out["cpu_quick"] = "run with --tiny on a CPU"
    out["seconds"] = time.perf_counter() - t_start
    save()
    return out


if __name__ == "__main__":
    main()
