"""Scaling of the synthetic language at small scale: test loss against tokens, per width.

    python benchmarks/lm_scaling.py --widths 16 32 64 --steps 2400 --segment 300

Trains the ``lm-quick`` transformer (µP Adam at a constant learning rate, the plain loop of
``bench_transformer.py``) on the ``lm-quick`` language at each width, evaluates the test loss
every ``--segment`` steps, and prints the excess over the exact optimal test loss
(:meth:`~supercollapse.tasks.language.ZipfRulesLanguage.test_bayes_loss`) with log-log slopes
in tokens (per width) and in parameters (at the last point). ``book/synthetic_language.md``
reports its output.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

sys.path.insert(0, str(Path(__file__).parent))
from bench_transformer import plain_loop  # noqa: E402

from supercollapse.models import param_count  # noqa: E402
from supercollapse.train.experiments import _base  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--widths", type=int, nargs="+", default=[16, 32, 64])
    ap.add_argument("--steps", type=int, default=2400)
    ap.add_argument("--segment", type=int, default=300)
    ap.add_argument("--set", nargs="*", default=[], metavar="FIELD=VALUE")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    overrides = {k: json.loads(v) for k, v in (s.split("=", 1) for s in args.set)}
    rows = []
    for width in args.widths:
        cfg = _base("lm-quick", width=width, seeds=(0,), **overrides)
        run, state, task, graphdef = plain_loop(cfg, args.segment)
        test_loss = jax.jit(lambda p, task=task, graphdef=graphdef: jnp.mean(
            task.loss(nnx.merge(graphdef, p)(task.test_set()[0]), task.test_set()[1])))
        losses, t0 = [], time.time()
        for _ in range(args.steps // args.segment):
            state, _ = run(state)
            losses.append(float(test_loss(state[0])))
        seconds = time.time() - t0
        tokens = np.arange(1, len(losses) + 1) * args.segment * cfg.batch_size * cfg.seq_len
        rows.append({"width": width, "params": param_count(cfg), "tokens": tokens.tolist(),
                     "test_loss": losses, "tokens_per_s": float(tokens[-1] / seconds)})
        print(json.dumps(rows[-1]), flush=True)
    floor = task.test_bayes_loss()
    print(f"exact optimal test loss L0 = {floor:.4f} nats; initial loss log V = "
          f"{np.log(cfg.vocab_size):.4f}")
    for r in rows:
        excess = np.asarray(r["test_loss"]) - floor
        half = len(excess) // 2
        slope = np.polyfit(np.log(r["tokens"][half:]), np.log(excess[half:]), 1)[0]
        print(f"width {r['width']:4d}  P = {r['params']:7d}  final L - L0 = {excess[-1]:.4f}  "
              f"d log(L - L0) / d log tokens (second half) = {slope:.3f}")
    if len(rows) > 1:
        p = np.log([r["params"] for r in rows])
        e = np.log([r["test_loss"][-1] - floor for r in rows])
        print(f"d log(L - L0) / d log P at the last point = {np.polyfit(p, e, 1)[0]:.3f}")
    if args.out:
        Path(args.out).write_text(json.dumps({"floor": floor, "runs": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
