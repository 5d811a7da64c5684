"""A sweep of equal runs on every GPU of a host against one GPU of the same host, in one run.

    python benchmarks/bench_devices.py --out benchmarks/results/devices_h100x4.json   # on a GPU host
    XLA_FLAGS=--xla_force_host_platform_device_count=4 python benchmarks/bench_devices.py --tiny

The runs are those of a learning-rate sweep of the paper's MLP (full scale: depth 5, batch 1024,
the 10,000-mode task): ``n_lrs`` learning rates x ``n_seeds`` seeds of one width, which the engine
trains as one program (:class:`supercollapse.train.engine.Trainer`). With one device every run is
vmapped on it; with all devices the ``runs`` axis of the mesh spreads them, one group of runs per
device (:func:`supercollapse.train.engine.layout`). The work per step is the same, so the ratio of
steps per second is the speed-up of the sweep (target on 4 GPUs: >= 3.5x). Each number is the
median of ``--repeats`` timed calls after a compile call.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import jax

from supercollapse.provenance import provenance
from supercollapse.train.config import TrainConfig
from supercollapse.train.engine import Trainer
from supercollapse.train.experiments import SCALES


def steps_per_s(trainer: Trainer, n_steps: int, repeats: int) -> float:
    trainer.advance(trainer.step + 1)  # compile (a no-op after the first call)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        trainer.advance(trainer.step + n_steps)  # returns host numpy: synchronises
        times.append(time.perf_counter() - t)
    return n_steps / statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tiny", action="store_true", help="CPU smoke test (fake devices)")
    ap.add_argument("--widths", type=int, nargs="+", default=[128, 256, 512])
    ap.add_argument("--n-lrs", type=int, default=4)
    ap.add_argument("--n-seeds", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    devices = jax.devices()
    base = dict(SCALES["full"].base, n_test=8, eval_batch_size=8)
    widths, n_steps = ([8, 16], 20) if args.tiny else (args.widths, None)
    if args.tiny:
        base.update(n_modes=100, depth=2, batch_size=64)
    out = {"provenance": provenance(devices), "n_devices": len(devices), "rows": []}
    print(f"# {len(devices)} x {devices[0].device_kind}; {args.n_lrs} learning rates x "
          f"{args.n_seeds} seeds per width")
    print("| width | runs | mesh (runs x data) | 1 device steps/s | all devices steps/s | speed-up |")
    print("|---:|---:|---|---:|---:|---:|")
    for width in widths:
        cfgs = [TrainConfig(**base, width=width, samples=base["batch_size"] * 10**7,
                            seeds=tuple(range(args.n_seeds))).replace(lr=1e-3 * 2.0 ** (k - 1))
                for k in range(args.n_lrs)]
        one = Trainer(cfgs, devices=devices[:1])
        n = n_steps or max(50, int(2.0 * steps_per_s(one, 20, 1)))  # about 2 s a timed call
        s1 = steps_per_s(one, n, args.repeats)
        del one
        every = Trainer(cfgs, devices=devices)
        mesh = dict(every.mesh.shape)
        sn = steps_per_s(every, n, args.repeats)
        del every
        row = dict(width=width, runs=len(cfgs) * args.n_seeds, mesh=mesh, steps=n,
                   one_device_steps_per_s=s1, all_devices_steps_per_s=sn, speedup=sn / s1)
        out["rows"].append(row)
        print(f"| {width} | {row['runs']} | {mesh['runs']} x {mesh['data']} | {s1:.1f} | "
              f"{sn:.1f} | {sn / s1:.2f}x |", flush=True)
        if args.out:  # after every width: a killed benchmark keeps what it measured
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
