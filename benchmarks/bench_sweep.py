"""Compilations and wall time of the quick collapse sweep, for the engine before and after
traced hyperparameters (issue 13). Runs against whichever ``supercollapse`` is importable:

    python benchmarks/bench_sweep.py --label after --out benchmarks/results/sweep_cpu.json
    # the old engine: a checkout of commit 2814326 in /tmp/old, same script
    PYTHONPATH=/tmp/old/src python benchmarks/bench_sweep.py --label before \\
        --out benchmarks/results/sweep_cpu.json
    python benchmarks/bench_sweep.py --tiny          # smoke test (two widths, short runs)

The sweep is ``experiments.collapse("quick", law)`` with the stored quick law
(``results/quick/law.json``): 5 widths x 5 schedules, 3 seeds each, every run to its
compute-optimal horizon, written by ``run_sweep`` to a fresh temporary directory.
Compilations are counted from JAX's compile log (``jax_log_compiles``): the engine's
training and evaluation programs by name, and every XLA compilation in total (small
eager operations included). Results are merged into ``--out`` under ``--label``.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import tempfile
import time
from collections import Counter
from pathlib import Path

import jax

from supercollapse.provenance import provenance
from supercollapse.train import experiments
from supercollapse.train.experiments import Law
from supercollapse.train.sweep import run_sweep

ROOT = Path(__file__).resolve().parents[1]
# the engine's two programs: old names (one_seed_*) and new ones (one_run_*)
PROGRAMS = {"segment": re.compile(r"one_(seed|run)_segment"),
            "evaluate": re.compile(r"one_(seed|run)_eval")}


class CompileLog(logging.Handler):
    """Counts XLA compilations from JAX's log, by the name of the compiled function."""

    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.names: Counter = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        m = re.search(r"Finished XLA compilation of (\S+)", record.getMessage())
        if m:
            self.names[m.group(1)] += 1

    def programs(self) -> dict[str, int]:
        return {k: sum(n for name, n in self.names.items() if pat.search(name))
                for k, pat in PROGRAMS.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--label", default="after")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--law", type=Path, default=ROOT / "results" / "quick" / "law.json")
    ap.add_argument("--tiny", action="store_true", help="two widths, 200 steps (smoke test)")
    args = ap.parse_args()

    configs = experiments.collapse("quick", Law.load(args.law))
    if args.tiny:
        configs = [c.replace(samples=c.batch_size * 200, horizon_kappa=None)
                   for c in configs if c.width in (6, 8)]
    shapes = len({(c.width, c.depth, c.batch_size) for c in configs})

    log = CompileLog()
    logging.getLogger("jax").addHandler(log)  # JAX's loggers propagate to this one
    logging.getLogger("jax").setLevel(logging.DEBUG)
    jax.config.update("jax_log_compiles", True)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        report = run_sweep(configs, tmp, progress=False)
        wall = time.perf_counter() - t0
    jax.config.update("jax_log_compiles", False)
    assert report.complete and len(report.done) == len(configs), report.summary()

    programs = log.programs()
    row = {"runs": len(configs), "seeds_per_run": len(configs[0].seeds),
           "distinct_shapes": shapes, "wall_seconds": round(wall, 2),
           "engine_compilations": programs, "xla_compilations_total": sum(log.names.values()),
           "tiny": args.tiny, "provenance": provenance(jax.devices())}
    print(json.dumps({args.label: row}, indent=1))
    if args.out:
        data = json.loads(args.out.read_text()) if args.out.exists() else {}
        data[args.label] = row
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(data, indent=1) + "\n")


if __name__ == "__main__":
    main()
