"""The book's own transformer ladders on one device: throughput against runs per program.

    python benchmarks/bench_ladder_programs.py --out benchmarks/results/ladder_programs.json  # GPU
    python benchmarks/bench_ladder_programs.py --tiny                                        # CPU

The engine trains every run of one shape (all seeds and configs of a width with the same
steps: :func:`supercollapse.train.engine.plan_groups`) as one ``vmap``-ed program; the lm-full
collapse sweep packs 20 runs (4 schedules x 5 seeds) per width. For each width of ``--widths``
(default 24, 128, 48, 96 at ``lm-full``: depth 2, head dimension 8, vocabulary 32, sequences of
32 tokens, batch 64, float32) and each number of runs per program in ``--runs`` (default 1, 4,
16, 64, trained as the seeds of one constant-rate config at its compute-optimal horizon under
the stored law ``--law``), one :class:`~supercollapse.train.engine.Trainer` is timed:

* ``setup_s``: building the trainer (task, models, optimiser state, transfers);
* ``compile_segment_s`` / ``compile_eval_s``: the first call of the training segment and of
  the evaluation, less a timed call of the same work (JAX compilation and autotuning);
* ``step_s``: seconds per optimiser step of all runs (median of ``--repeats`` calls of
  ``--steps`` steps), and ``tokens_per_s = runs * batch * seq_len / step_s`` on one device;
* ``call_overhead_s``: a one-step call less ``step_s`` (a segment's dispatch and host sync);
* ``eval_s`` and ``eval_in_steps``: one evaluation (the test loss of every run on the whole
  test set), in seconds and in optimiser steps;
* ``program_s``: the predicted wall time of the program at the sweep's real horizon
  (``setup + compiles + steps * step_s + segments * call_overhead_s + evaluations * (eval_s +
  probe_s)``, the evaluation points of ``n_evals``; ``probe_s`` is 0 unless ``--traces``), and
  ``program_s_per_run``.

With ``data_only`` (the first width), the seconds per step of the language sampler alone for
the same runs (what the step spends drawing its batch, a ``lax.scan`` over the sequence).

Each width runs in its own process (a fresh JAX: compilation is not shared, as between the
processes of a sweep), with the sweep's deterministic GPU reductions (``XLA_FLAGS``
``--xla_gpu_deterministic_ops=true``, as ``python -m supercollapse sweep`` sets by default);
``--nondeterministic W...`` adds the same measurement without that flag at those widths, and
``--cache-check W`` runs width ``W`` twice more (16 runs) with one fresh persistent compilation
cache (``SUPERCOLLAPSE_COMPILE_CACHE``, what ``sweep --compile-cache`` sets: programs that
compile in over a second): the second process's compile times are those a sweep would see
with the cache across processes. ``--draw-ahead W...`` measures those widths (16 runs) once
more with the engine drawing ``--ahead-steps`` steps' batches in one sampler call
(``Trainer(draw_ahead=...)``, ``sweep --draw-ahead``: the same batches). ``--one-hot W...``
measures those widths (16 runs, deterministic reductions) with ``lookup="one_hot"`` (embedding
rows and target logits picked by one-hot products: no scatter-add in the gradient, which
deterministic reductions serialise), once as it is and once with the batches drawn ahead too
(the candidate recipe of the sweeps). ``--traces W...`` measures those widths (16 runs) with
``instability_traces`` on: the probe (the transformer's max attention logit and output
log-partition on a test chunk) runs at every evaluation, ``probe_s`` each and ``probe_share``
of the program. ``--budget`` starts no process after that many seconds and bounds each one
(and each by ``--process-limit``, 150 s: a compilation that stalls, as XLA's 64-run MLP program
once did for minutes, costs only the runs not yet measured, the field ``last_started`` names
its program); the JSON is rewritten after every process, so a run stopped by a time limit keeps
what it finished. Processes run in order of what decides most: the first two widths of
``--widths``, the one-hot widths, the traces widths, the draw-ahead widths, the
cache check, the nondeterministic widths, the other widths.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DETERMINISTIC = "--xla_gpu_deterministic_ops=true"
_PLATFORMS: str | None = None  # JAX_PLATFORMS as this script found it (main sets it to cpu)
TINY = {"scale": "lm-quick", "law": "results/lm-quick/law.json", "widths": [8, 16],
        "runs": [1, 4], "steps": 2, "repeats": 1}


def _median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return sorted(times)[len(times) // 2]


def measure(scale: str, law_path: str, width: int, n_runs: int, steps: int,
            repeats: int, draw_ahead: int = 1, lookup: str = "gather",
            traces: bool = False) -> dict:
    """One width and number of runs per program (in this process): see the module docstring."""
    import jax
    import numpy as np

    from supercollapse.train.engine import Trainer
    from supercollapse.train.experiments import Law, _base
    from supercollapse.train.horizon import eval_steps

    law = Law.load(ROOT / law_path)
    cfg = _base(scale, width=width, samples=None, schedule="constant",
                seeds=tuple(range(n_runs)), **law.fields()).replace(
                    lookup=lookup, instability_traces=traces)
    t0 = time.perf_counter()
    trainer = Trainer(cfg, devices=jax.devices()[:1], draw_ahead=draw_ahead)
    jax.block_until_ready(trainer.params)
    setup = time.perf_counter() - t0
    total = trainer.total_steps
    need = steps * (repeats + 1) + repeats
    if total < need:
        raise ValueError(f"width {width}: horizon of {total} steps < the {need} timed")

    def advance(k: int) -> float:
        t = time.perf_counter()
        trainer.advance(trainer.step + k)  # returns host arrays: the call is synchronised
        return time.perf_counter() - t

    first_segment = advance(steps)
    seg = _median_time(lambda: advance(steps), repeats)
    one = _median_time(lambda: advance(1), repeats)
    t = time.perf_counter()
    trainer.evaluate()
    first_eval = time.perf_counter() - t
    ev = _median_time(trainer.evaluate, repeats)
    probe = compile_probe = 0.0
    if traces:  # the instability probe, run at every evaluation beside it
        t = time.perf_counter()
        trainer.probe()
        first_probe = time.perf_counter() - t
        probe = _median_time(trainer.probe, repeats)
        compile_probe = max(first_probe - probe, 0.0)

    step_s = seg / steps
    overhead = max(one - step_s, 0.0)
    points = eval_steps(total, cfg.n_evals)
    segments = int(np.sum(np.diff(points) > 0))
    compile_seg, compile_eval = max(first_segment - seg, 0.0), max(first_eval - ev, 0.0)
    program = (setup + compile_seg + compile_eval + compile_probe + total * step_s
               + segments * overhead + len(points) * (ev + probe))
    tokens = n_runs * cfg.batch_size * cfg.seq_len
    return {"width": width, "runs": n_runs, "draw_ahead": draw_ahead, "lookup": lookup,
            "n_params": trainer.n_params,
            "horizon_steps": total, "evaluations": len(points), "segments": segments,
            "setup_s": setup, "compile_segment_s": compile_seg, "compile_eval_s": compile_eval,
            "step_s": step_s, "tokens_per_s": tokens / step_s, "call_overhead_s": overhead,
            "eval_s": ev, "eval_in_steps": ev / step_s, "program_s": program,
            "program_s_per_run": program / n_runs,
            "compile_share": (compile_seg + compile_eval + compile_probe) / program,
            "traces": traces, "probe_s": probe, "compile_probe_s": compile_probe,
            "probe_share": len(points) * probe / program}


def data_only(scale: str, n_runs: int, steps: int, repeats: int) -> dict:
    """Seconds per step of the task's sampler alone, ``n_runs`` batches vmapped, in a loop."""
    import jax
    import jax.numpy as jnp

    from supercollapse.tasks import cached_task
    from supercollapse.train.experiments import _base

    cfg = _base(scale, width=_scale_widths(scale)[0], seeds=(0,))
    task = cached_task(cfg.shape_key())
    keys = jax.random.split(jax.random.key(0), n_runs)

    @jax.jit
    def run(keys):
        def body(t, acc):
            x, _ = jax.vmap(lambda k: task.train_batch(jax.random.fold_in(k, t),
                                                       cfg.batch_size))(keys)
            return acc + jnp.sum(x[..., -1])
        return jax.lax.fori_loop(0, steps, body, jnp.zeros((), jnp.int32))

    run(keys).block_until_ready()
    sec = _median_time(lambda: run(keys).block_until_ready(), repeats)
    return {"runs": n_runs, "step_s": sec / steps}


def _scale_widths(scale: str) -> tuple[int, ...]:
    from supercollapse.train.experiments import SCALES

    return SCALES[scale].widths


def child(args: argparse.Namespace) -> None:
    """Measure one width at every ``--runs`` (one JSON line each, printed as it is done)."""
    import jax

    from supercollapse.train.sweep import COMPILE_CACHE_ENV, use_compile_cache

    use_compile_cache()  # the sweep command's opt-in (--compile-cache), off unless set

    print(json.dumps({"device_kind": jax.devices()[0].device_kind,
                      "backend": jax.default_backend(),
                      "xla_flags": os.environ.get("XLA_FLAGS", ""),
                      "cache": os.environ.get(COMPILE_CACHE_ENV)}), flush=True)
    for n in args.runs:
        print(json.dumps({"starting": n}), flush=True)
        print(json.dumps(measure(args.scale, args.law, args.child, n, args.steps,
                                 args.repeats, args.ahead, args.lookup, args.trace)),
              flush=True)
    if args.data_only:
        for n in args.runs:
            print(json.dumps({"data_only": data_only(args.scale, n, args.steps,
                                                     args.repeats)}), flush=True)


def spawn(args: argparse.Namespace, width: int, runs: list[int], *, deterministic: bool,
          data: bool, timeout: float, env: dict | None = None, ahead: int = 1,
          lookup: str = "gather", traces: bool = False) -> dict:
    """Run :func:`child` in a fresh process; collect its lines (also those printed before a
    timeout)."""
    e = dict(os.environ, **(env or {}))
    e.pop("JAX_PLATFORMS")
    if _PLATFORMS is not None:
        e["JAX_PLATFORMS"] = _PLATFORMS
    flags = e.get("XLA_FLAGS", "").replace(DETERMINISTIC, "").strip()
    e["XLA_FLAGS"] = f"{flags} {DETERMINISTIC}".strip() if deterministic else flags
    e["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT / "src"), e.get("PYTHONPATH")) if p)
    cmd = ([sys.executable, __file__, "--child", str(width), "--scale", args.scale,
           "--law", args.law, "--steps", str(args.steps), "--repeats", str(args.repeats),
           "--runs", *map(str, runs), "--ahead", str(ahead), "--lookup", lookup]
           + (["--data-only"] if data else []) + (["--trace"] if traces else []))
    t0 = time.perf_counter()
    status = "ok"
    try:
        p = subprocess.run(cmd, env=e, capture_output=True, text=True, timeout=timeout)
        stdout, stderr = p.stdout, p.stderr
        if p.returncode:
            status = f"exit {p.returncode}: {stderr.strip()[-600:]}"
    except subprocess.TimeoutExpired as exc:
        stdout = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        status = f"stopped after {timeout:.0f} s (budget or --process-limit)"
    lines = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    out = {"status": status, "process_s": time.perf_counter() - t0,
           "deterministic": deterministic, "draw_ahead": ahead, "lookup": lookup,
           "traces": traces,
           "cache_dir": (env or {}).get(
               "SUPERCOLLAPSE_COMPILE_CACHE"), "measurements": [], "data_only": []}
    for line in lines:
        if "starting" in line:
            out["last_started"] = line["starting"]
        elif "device_kind" in line:
            out.update(line)
        elif "data_only" in line:
            out["data_only"].append(line["data_only"])
        else:
            out["measurements"].append(line)
            m = line
            print(f"width {m['width']:4d} x{m['runs']:3d} runs: {m['tokens_per_s']:.4g} tok/s, "
                  f"step {1e3 * m['step_s']:.3f} ms, compile {m['compile_segment_s']:.1f}"
                  f"+{m['compile_eval_s']:.1f} s, eval {m['eval_in_steps']:.1f} steps, program "
                  f"{m['program_s']:.0f} s ({m['program_s_per_run']:.1f} s/run)"
                  f"{'' if deterministic else ' [nondeterministic]'}"
                  f"{f' [drawn {ahead} steps ahead]' if ahead > 1 else ''}"
                  f"{f' [lookup {lookup}]' if lookup != 'gather' else ''}"
                  f"{' [traces: probe {:.1%} of the program]'.format(m['probe_share']) if traces else ''}",
                  flush=True)
    if status != "ok":
        print(f"width {width}: {status} (in the program of {out.get('last_started')} runs)",
              flush=True)
    return out


def main(argv: list[str] | None = None) -> dict | None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tiny", action="store_true", help="CPU smoke run (lm-quick, toy sizes)")
    ap.add_argument("--scale", default="lm-full")
    ap.add_argument("--law", default="results/lm-full/law.json",
                    help="horizon law (relative to the repository) that sets each horizon")
    ap.add_argument("--widths", type=int, nargs="+", default=None,
                    help="widths, measured in this order (default 24 128 48 96)")
    ap.add_argument("--runs", type=int, nargs="+", default=None,
                    help="runs per program, in this order (default 1 4 16 64)")
    ap.add_argument("--steps", type=int, default=50, help="steps per timed call")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--nondeterministic", type=int, nargs="*", default=[], metavar="W",
                    help="widths measured again without deterministic GPU reductions")
    ap.add_argument("--cache-check", type=int, default=None, metavar="W",
                    help="width run twice (16 runs) with one persistent compilation cache")
    ap.add_argument("--draw-ahead", type=int, nargs="*", default=[], metavar="W",
                    help="widths measured again (16 runs) with batches drawn --ahead-steps ahead")
    ap.add_argument("--one-hot", type=int, nargs="*", default=[], metavar="W",
                    help="widths measured again (16 runs) with lookup='one_hot', alone and with "
                         "the batches drawn ahead")
    ap.add_argument("--traces", type=int, nargs="*", default=[], metavar="W",
                    help="widths measured again (16 runs) with instability_traces on: the "
                         "probe's time at every evaluation")
    ap.add_argument("--ahead-steps", type=int, default=None,
                    help="steps whose batches one sampler call draws (with --draw-ahead; "
                         "default --steps, so that a timed call draws no batch it does not use)")
    ap.add_argument("--budget", type=float, default=None, help="seconds for the whole run")
    ap.add_argument("--process-limit", type=float, default=150.0,
                    help="seconds one width's process may take (a compilation that stalls "
                         "costs only its own program: the runs are measured in --runs order)")
    ap.add_argument("--out", default=None)
    ap.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--data-only", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--ahead", type=int, default=1, help=argparse.SUPPRESS)
    ap.add_argument("--lookup", default="gather", help=argparse.SUPPRESS)
    ap.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child is not None:
        child(args)
        return None
    if args.tiny:  # toy defaults; --widths and --runs still choose
        args.scale, args.law = TINY["scale"], TINY["law"]
        args.widths, args.runs = args.widths or TINY["widths"], args.runs or TINY["runs"]
        args.steps, args.repeats = TINY["steps"], TINY["repeats"]
        args.process_limit = 1e5  # a shared CPU may be slow; the budget still applies
    args.widths, args.runs = args.widths or [24, 128, 48, 96], args.runs or [1, 4, 16, 64]
    args.ahead_steps = args.ahead_steps or args.steps

    # this process only spawns and collects: it must not start the GPU, or its memory
    # preallocation would take what the measured processes need (they get JAX_PLATFORMS back)
    global _PLATFORMS
    _PLATFORMS = os.environ.get("JAX_PLATFORMS")
    os.environ["JAX_PLATFORMS"] = "cpu"
    import jax

    from supercollapse.provenance import provenance

    t_start = time.perf_counter()
    out = {"provenance": provenance(jax.devices()), "scale": args.scale, "law": args.law,
           "steps_per_call": args.steps, "repeats": args.repeats, "processes": []}

    def left() -> float:
        return 1e6 if args.budget is None else args.budget - (time.perf_counter() - t_start)

    def save():
        out["seconds"] = time.perf_counter() - t_start
        if args.out:
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            Path(args.out).write_text(json.dumps(out, indent=1, default=str) + "\n")

    # in order of what decides most: the first two widths of --widths, the one-hot widths, the
    # traces widths, the draw-ahead widths, the cache check, the nondeterministic widths, then the
    # other widths (a budget cut drops the end)
    sixteen = [16] if 16 in args.runs else args.runs[-1:]

    def job(width: int, runs: list[int] = sixteen, **kw) -> dict:  # spawn's arguments
        return {"width": width, "runs": runs, "deterministic": True, "data": False, **kw}

    jobs = [job(w, args.runs, data=i == 0) for i, w in enumerate(args.widths)]
    extra = [job(w, deterministic=False) for w in args.nondeterministic]
    if args.cache_check is not None:
        cache = tempfile.mkdtemp(prefix="jax-cache-")
        env = {"SUPERCOLLAPSE_COMPILE_CACHE": cache}  # as `sweep --compile-cache` sets it
        extra = [job(args.cache_check, env=env)] * 2 + extra
    extra = [job(w, ahead=args.ahead_steps) for w in args.draw_ahead] + extra
    extra = [job(w, traces=True) for w in args.traces] + extra
    extra = [job(w, ahead=ahead, lookup="one_hot")
             for w in args.one_hot for ahead in (1, args.ahead_steps)] + extra
    jobs = jobs[:2] + extra + jobs[2:]
    for j in jobs:
        if left() <= 5:
            out["processes"].append({"width": j["width"], "runs": j["runs"],
                                     "deterministic": j["deterministic"],
                                     "status": "skipped (budget)"})
            continue
        out["processes"].append({"width": j["width"], **spawn(
            args, **j, timeout=min(left(), args.process_limit))})
        if "device_kind" in out["processes"][-1]:  # the measured device, not this process's
            out["provenance"]["device_kind"] = out["processes"][-1]["device_kind"]
            out["provenance"]["backend"] = out["processes"][-1]["backend"]
        save()
    if args.cache_check is not None:
        shutil.rmtree(cache, ignore_errors=True)
    save()
    return out


if __name__ == "__main__":
    main()
