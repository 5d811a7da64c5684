"""Transformer training throughput: the engine against a plain ``lax.scan`` + Optax loop.

    python benchmarks/bench_transformer.py --out benchmarks/results/transformer.json   # GPU
    python benchmarks/bench_transformer.py --tiny                                     # CPU

Measurements (each the median of ``--repeats`` timed calls after a compile call):

1. Steps per second of the engine (:class:`supercollapse.train.engine.Trainer`, evaluations
   off) and of a baseline written here (the same model, task and µP Adam in one bare
   ``lax.scan``), at every width of the ladder; the ratio engine / baseline. Skipped, with a
   note, while the engine cannot train the transformer task.
2. Model FLOP utilisation of the baseline in bf16 at the largest width:
   ``(6 P + 6 N T D) * tokens / s`` over the device's dense bf16 peak (``P`` the
   non-embedding parameters, ``6 N T D`` per token the attention score and value products).
3. Tokens per second at the quick scale (``lm-quick`` of ``train/experiments.py``) on this
   machine's CPU: the number the chapter's live demo depends on.
"""

from __future__ import annotations

import argparse
import json
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


def plain_loop(cfg: TrainConfig, n_steps: int):
    """A bare training loop: model, task, µP Adam, ``lax.scan`` over ``n_steps`` steps.

    Returns ``(run, state)``: ``run(state) -> (state, losses)`` trains ``n_steps`` more steps.
    """
    task = build_task(cfg)
    graphdef, params = nnx.split(build_model(cfg, jax.random.key(0)), nnx.Param)
    mults = mup_multipliers(cfg, params)
    opt = optax.chain(optax.scale_by_adam(b1=cfg.b1, b2=cfg.b2, eps=cfg.eps),
                      optax.scale(-cfg.lr),
                      optax.GradientTransformation(
                          lambda p: optax.EmptyState(),
                          lambda u, s, p=None: (jax.tree.map(jnp.multiply, u, mults), s)))
    key = jax.random.key(cfg.train_seed)

    def loss_fn(p, x, y):
        return jnp.mean(task.training_loss(nnx.merge(graphdef, p)(x), y))

    def step(carry, _):
        p, o, t = carry
        x, y = task.train_batch(jax.random.fold_in(key, t), cfg.batch_size)
        loss, g = jax.value_and_grad(loss_fn)(p, x, y)
        updates, o = opt.update(g, o, p)
        return (optax.apply_updates(p, updates), o, t + 1), loss

    @jax.jit
    def run(state):
        state, losses = jax.lax.scan(step, state, None, length=n_steps)
        return state, losses

    return run, (params, opt.init(params), jnp.zeros((), jnp.int32)), task, graphdef


def baseline_tokens_per_s(cfg: TrainConfig, n_steps: int, repeats: int) -> dict:
    run, state, task, _ = plain_loop(cfg, n_steps)
    box = [state]

    def call():
        box[0], losses = run(box[0])
        losses.block_until_ready()

    call()  # compile
    sec = median_time(call, repeats)
    tokens = n_steps * cfg.batch_size * cfg.seq_len
    return {"tokens_per_s": tokens / sec, "steps_per_s": n_steps / sec}


def engine_tokens_per_s(cfg: TrainConfig, n_steps: int, repeats: int) -> dict | str:
    """The engine's throughput, or the reason it cannot train this config yet."""
    try:
        from supercollapse.train.engine import Trainer

        trainer = Trainer(cfg.replace(samples=cfg.batch_size * n_steps * (repeats + 2)))
    except Exception as e:  # the generic engine path is not there yet
        return f"engine cannot train this config: {type(e).__name__}: {str(e)[:200]}"
    trainer.advance(n_steps)  # compile
    stop = [n_steps]

    def call():
        stop[0] += n_steps
        trainer.advance(stop[0])

    sec = median_time(call, repeats)
    tokens = n_steps * cfg.batch_size * cfg.seq_len
    return {"tokens_per_s": tokens / sec, "steps_per_s": n_steps / sec}


def model_flops_per_token(cfg: TrainConfig) -> float:
    """6 P (non-embedding) + 6 N T D (attention scores and values, forward and backward)."""
    model = nnx.eval_shape(lambda: build_model(cfg, jax.random.key(0)))
    return 6.0 * model.compute_params() + 6.0 * cfg.depth * cfg.seq_len * cfg.width


def main() -> None:
    from supercollapse.train.experiments import SCALES, _base

    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tiny", action="store_true", help="CPU smoke run: quick scale only")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    scale = "lm-quick" if args.tiny else "lm-large"
    widths = SCALES[scale].widths
    out = {"provenance": provenance(jax.devices()), "scale": scale, "ladder": {}}
    for width in widths:
        cfg = _base(scale, width=width, seeds=(0,))
        row = {"baseline": baseline_tokens_per_s(cfg, args.steps, args.repeats),
               "engine": engine_tokens_per_s(cfg, args.steps, args.repeats),
               "flops_per_token": model_flops_per_token(cfg)}
        if isinstance(row["engine"], dict):
            row["ratio"] = row["engine"]["tokens_per_s"] / row["baseline"]["tokens_per_s"]
        out["ladder"][width] = row
        print(f"width {width}: {json.dumps(row)}", flush=True)

    top = _base(scale, width=widths[-1], seeds=(0,), compute_dtype="bfloat16")
    bf16 = baseline_tokens_per_s(top, args.steps, args.repeats)
    flops = model_flops_per_token(top) * bf16["tokens_per_s"]
    kind = jax.devices()[0].device_kind
    peak = next((v for k, v in PEAK_BF16.items() if k in kind), None)
    out["bf16_largest"] = {"width": widths[-1], **bf16, "model_flops_per_s": flops,
                           "mfu": flops / peak if peak else None, "device_kind": kind}
    print("bf16 at the largest width:", json.dumps(out["bf16_largest"]), flush=True)

    quick = _base("lm-quick", width=SCALES["lm-quick"].widths[-1], seeds=(0,))
    out["cpu_quick"] = baseline_tokens_per_s(quick, args.steps, args.repeats) \
        if jax.devices()[0].platform == "cpu" else "run with --tiny on a CPU"
    print("quick scale (largest width):", json.dumps(out["cpu_quick"]), flush=True)
    del SCALES
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(out, indent=1, default=str) + "\n")


if __name__ == "__main__":
    main()
