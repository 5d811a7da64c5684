"""Is ``train(cfg)`` bit for bit the old engine's? Run once with the old package to store runs,
then with the new one to retrain and compare every curve exactly:

    PYTHONPATH=/tmp/old/src python benchmarks/check_bitwise.py store /tmp/oldruns
    python benchmarks/check_bitwise.py compare /tmp/oldruns        # exit status 1 on a difference

The configs: the quick scale at width 8 (12 at the end), 400 steps, 3 seeds, the gradient-noise
trace on, under every schedule, a 20 % decay, a warm-up with µP off, and µP frozen.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from supercollapse.results import load_run, run_files, save_run
from supercollapse.train.config import TrainConfig
from supercollapse.train.engine import train
from supercollapse.train.experiments import SCALES


def configs() -> list[TrainConfig]:
    base = TrainConfig(**{**SCALES["quick"].base, "n_evals": 12}, width=8, samples=64 * 400,
                       seeds=(0, 1, 2), noise_batches=2)
    out = [base.replace(schedule=s) for s in ("constant", "linear", "cosine", "multicosine",
                                              "exponential", "power", "quadratic")]
    return out + [base.replace(schedule="linear", decay_frac=0.2),
                  base.replace(schedule="cosine", warmup_frac=0.1, mup="off", lr=3e-3),
                  base.replace(width=12, mup="frozen", mup_reference_width=6, noise_batches=0)]


def main(mode: str, directory: str) -> int:
    d = Path(directory)
    if mode == "store":
        for i, c in enumerate(configs()):
            save_run(train(c), d / f"{i:02d}.npz")
        return 0
    differ = 0
    for f in run_files(d):
        old = load_run(f)
        new = train(old.config)
        for k, v in old.curves.items():
            if not np.array_equal(v, new.curves[k], equal_nan=True):
                differ += 1
                print(f"{f.name} {old.config.schedule}: {k} differs")
    print("all curves bit for bit equal" if not differ else f"{differ} curves differ")
    return int(differ > 0)


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
