"""Engine throughput against a plain ``lax.scan`` + Optax loop, measured in the same run.

    python benchmarks/bench_engine.py --out benchmarks/results/engine.json   # on a GPU
    python benchmarks/bench_engine.py --tiny                                # smoke test on CPU

Three measurements (each the median of ``--repeats`` timed calls after a compile call):

1. Training throughput of the paper's MLP (depth 5, batch 4096) at widths 512, 1024, 2048:
   the engine (:class:`supercollapse.train.engine.Trainer`, evaluations off) against a baseline
   written here, the same model, task and Adam in a bare ``lax.scan``. Reported as the
   ratio engine / baseline steps per second, plus model FLOP/s = 6 P B steps/s.
2. The cost of one evaluation (test loss on 100k held-out samples; with and without the
   gradient-noise trace over 16 minibatches), in units of training steps.
3. Multi-seed: 8 seeds in one vmapped program against 8 sequential single-seed runs.
4. The task's target (distinct wave vectors, one fused kernel) against the definition written
   as a matmul over all 10,000 modes, on one batch and on 8 seeds' batches.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import optax
from flax import nnx

from supercollapse.models.mlp import ResidualMLP
from supercollapse.provenance import provenance
from supercollapse.tasks.fourier import PowerLawFourierTask
from supercollapse.train.config import TrainConfig
from supercollapse.train.engine import Trainer

# Dense peak rates by device kind, TFLOP/s: (fp32 on CUDA cores, tf32 on tensor cores).
PEAKS = {"H100": (67.0, 495.0), "H200": (67.0, 495.0), "A100": (19.5, 156.0)}


def median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def baseline_steps_per_s(width: int, depth: int, batch: int, n_steps: int, repeats: int,
                         n_modes: int) -> float:
    """A bare training loop: same model, task and Adam, one ``lax.scan``, nothing else."""
    task = PowerLawFourierTask(n_modes=n_modes, n_test=8)
    graphdef, params = nnx.split(ResidualMLP(8, width, depth=depth, rngs=nnx.Rngs(0)), nnx.Param)
    opt = optax.adam(1e-3, b1=0.9, b2=0.95, eps=1e-20)
    key = jax.random.key(0)

    def loss_fn(p, x, y):
        return jnp.mean(0.5 * (nnx.merge(graphdef, p)(x) - y) ** 2)

    def step(carry, t):
        p, o = carry
        x, y = task.train_batch(jax.random.fold_in(key, t), batch)
        loss, g = jax.value_and_grad(loss_fn)(p, x, y)
        updates, o = opt.update(g, o, p)
        return (optax.apply_updates(p, updates), o), loss

    @jax.jit
    def run(p, o, ts):
        (p, o), losses = jax.lax.scan(step, (p, o), ts)
        return p, o, losses[-1]

    state = [params, opt.init(params)]
    ts = jnp.arange(n_steps)

    def call():
        state[0], state[1], loss = run(state[0], state[1], ts)
        loss.block_until_ready()

    call()  # compile
    return n_steps / median_time(call, repeats)


def naive_target(task: PowerLawFourierTask):
    """The target exactly as defined: a matmul over all modes, then cos, then the weights."""
    def target(x):
        return jnp.sqrt(2.0) * jnp.cos(2 * jnp.pi * (x @ task.k.T) + task.phase) @ task.w
    return target


def target_seconds(target, task: PowerLawFourierTask, batch: int, n_seeds: int,
                   repeats: int, n_steps: int = 100) -> float:
    """Seconds per step to draw ``n_seeds`` batches and evaluate the target on them."""
    keys = jax.random.split(jax.random.key(0), n_seeds)

    @jax.jit
    def run(keys):
        def body(t, acc):
            ys = jax.vmap(lambda k: target(task.sample_inputs(jax.random.fold_in(k, t),
                                                                batch)))(keys)
            return acc + ys.sum()
        return jax.lax.fori_loop(0, n_steps, body, jnp.zeros(()))

    run(keys).block_until_ready()
    return median_time(lambda: run(keys).block_until_ready(), repeats) / n_steps


def engine_trainer(width: int, depth: int, batch: int, seeds, n_modes: int, n_test: int = 8,
                   noise_batches: int = 0) -> Trainer:
    cfg = TrainConfig(width=width, depth=depth, batch_size=batch, samples=batch * 10**7,
                      n_modes=n_modes, seeds=tuple(seeds), n_test=n_test,
                      eval_batch_size=min(8192, n_test), noise_batches=noise_batches)
    return Trainer(cfg)


def engine_steps_per_s(trainer: Trainer, n_steps: int, repeats: int) -> float:
    def call():
        trainer.advance(trainer.step + n_steps)  # returns host numpy: synchronises

    trainer.advance(1)  # compile
    return n_steps / median_time(call, repeats)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tiny", action="store_true", help="small sizes: a CPU smoke test")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    ap.add_argument("--seed-batch", type=int, nargs="+", default=None,
                    help="batches of the multi-seed comparison (default: the throughput batch)")
    ap.add_argument("--only-multi-seed", action="store_true",
                    help="skip the throughput and evaluation measurements")
    args = ap.parse_args()
    tiny = args.tiny
    depth, batch, n_modes = (2, 256, 1000) if tiny else (5, 4096, 10_000)
    widths = {32: 50, 64: 50} if tiny else {512: 2000, 1024: 1000, 2048: 400}
    seed_widths = {16: 50, 32: 50} if tiny else {128: 2000, 256: 2000}
    n_test = 4096 if tiny else 100_000

    prov = provenance()
    kind = prov["device_kind"]
    peak = next((v for k, v in PEAKS.items() if k in kind), None)
    print(f"# {kind} ({prov['backend']}), jax {prov['jax_version']}, "
          f"flax {prov['flax_version']}, optax {prov['optax_version']}", flush=True)
    out = {"provenance": prov, "peak_tflops_fp32_tf32": peak, "throughput": [],
           "evaluation": [], "multi_seed": []}

    def save() -> None:  # after every section: a killed benchmark keeps what it measured
        if args.out:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            tmp = args.out.with_suffix(".tmp")
            tmp.write_text(json.dumps(out, indent=1))
            tmp.replace(args.out)

    print("\n| width | P | baseline steps/s | engine steps/s | ratio | model TFLOP/s |")
    print("|---|---|---|---|---|---|")
    for width, n in ({} if args.only_multi_seed else widths).items():
        base = baseline_steps_per_s(width, depth, batch, n, args.repeats, n_modes)
        tr = engine_trainer(width, depth, batch, (0,), n_modes)
        eng = engine_steps_per_s(tr, n, args.repeats)
        tflops = 6 * tr.n_params * batch * eng / 1e12
        row = dict(width=width, n_params=tr.n_params, baseline_steps_per_s=base,
                   engine_steps_per_s=eng, ratio=eng / base, model_tflops=tflops)
        out["throughput"].append(row)
        print(f"| {width} | {tr.n_params:,} | {base:.1f} | {eng:.1f} | {eng / base:.3f} | "
              f"{tflops:.1f} |", flush=True)

        for nb in (0, 16):
            ev = engine_trainer(width, depth, batch, (0,), n_modes, n_test, noise_batches=nb)
            ev.advance(1)
            ev.evaluate()  # compile
            t_eval = median_time(ev.evaluate, args.repeats)
            out["evaluation"].append(dict(width=width, n_test=n_test, noise_batches=nb,
                                          seconds=t_eval, in_train_steps=t_eval * eng))

    save()
    print("\n| width | noise batches | eval ms | = train steps |")
    print("|---|---|---|---|")
    for r in out["evaluation"]:
        print(f"| {r['width']} | {r['noise_batches']} | {1e3 * r['seconds']:.1f} | "
              f"{r['in_train_steps']:.1f} |")

    print("\n| width | batch | 8 seeds vmapped steps/s | 8 sequential runs steps/s | speed-up "
          "| 1 seed at 8x batch (ceiling) |")
    print("|---|---|---|---|---|---|")
    for seed_batch in args.seed_batch or [batch]:
        for width, n in seed_widths.items():
            tr8 = engine_trainer(width, depth, seed_batch, range(8), n_modes)
            t_vmap = n / engine_steps_per_s(tr8, n, args.repeats)
            singles = [engine_trainer(width, depth, seed_batch, (s,), n_modes) for s in range(8)]
            t_seq = sum(n / engine_steps_per_s(t, n, args.repeats) for t in singles)
            # the same work as one seed with an 8x batch: how fast these FLOPs can go at all
            big = engine_trainer(width, depth, 8 * seed_batch, (0,), n_modes)
            t_big = n / engine_steps_per_s(big, n, args.repeats)
            row = dict(width=width, batch=seed_batch, seconds_vmapped=t_vmap,
                       seconds_sequential=t_seq, seconds_one_seed_8x_batch=t_big,
                       speedup=t_seq / t_vmap, ceiling=t_seq / t_big, steps=n)
            out["multi_seed"].append(row)
            print(f"| {width} | {seed_batch} | {n / t_vmap:.1f} | {n / t_seq:.1f} | "
                  f"{t_seq / t_vmap:.2f}x | {t_seq / t_big:.2f}x |", flush=True)

    save()
    task = PowerLawFourierTask(n_modes=n_modes, n_test=8)
    out["target"] = []
    print(f"\ntarget, {n_modes} modes = {task.n_terms} distinct terms:")
    print("\n| batch | seeds | matmul over all modes, ms/step | task.target, ms/step | speed-up |")
    print("|---|---|---|---|---|")
    for n_seeds in (1, 8):
        naive = target_seconds(naive_target(task), task, batch, n_seeds, args.repeats)
        fused = target_seconds(task.target, task, batch, n_seeds, args.repeats)
        out["target"].append(dict(batch=batch, n_seeds=n_seeds, n_modes=n_modes,
                                  n_terms=task.n_terms, naive_seconds=naive,
                                  task_seconds=fused, speedup=naive / fused))
        print(f"| {batch} | {n_seeds} | {1e3 * naive:.3f} | {1e3 * fused:.3f} | "
              f"{naive / fused:.2f}x |", flush=True)

    if peak and out["throughput"]:
        best = max(r["model_tflops"] for r in out["throughput"])
        print(f"\nbest model FLOP/s {best:.1f} TFLOP/s; device peak {peak[0]} (fp32) / "
              f"{peak[1]} (tf32 tensor cores) TFLOP/s")
    save()


if __name__ == "__main__":
    main()
