"""The language sampler: the associative scan of the package against the sequential walk.

    python benchmarks/bench_sampler.py --out benchmarks/results/sampler_cpu.json   # < 2 min on CPU

:meth:`supercollapse.tasks.language.ZipfRulesLanguage.sample` composes the per-position maps of
the vocabulary with an associative scan (``log2 T`` sequential steps, ``method="scan"``, the
default); ``method="walk"`` walks the ``T`` positions one by one in a ``lax.scan`` (the sampler
before the scan, and what ``train_batches`` uses to draw many steps' batches at once). Both
draw the same tokens (checked here too). At the shapes of the ``lm-quick``,
``lm-full`` and ``lm-large`` scales (``train/experiments.py``), each jitted: one batch, a batch
vmapped over 16 keys (16 runs of a sweep), ``BLOCK`` steps' batches drawn at once (one call
for ``BLOCK`` training steps: does drawing ahead amortise the walk's many small rounds?) and, for
the first two scales, the test set (drawn once). Every time is the median of ``--repeats`` timed
samples after a compile call; the ratio is walk time / scan time (above 1: the scan, the
package's default, is faster).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import jax

from supercollapse.provenance import provenance
from supercollapse.tasks.language import ZipfRulesLanguage
from supercollapse.train.experiments import SCALES

SCALE_NAMES = ("lm-quick", "lm-full", "lm-large")
N_KEYS = 16
BLOCK = 64  # training steps whose batches one call draws in the "block" case


def seconds_per_call(fn, arg, repeats: int, target_s: float) -> float:
    """Median over ``repeats`` samples of the time per call, each sample ~``target_s`` long."""
    jax.block_until_ready(fn(arg))  # compile
    t = time.perf_counter()
    jax.block_until_ready(fn(arg))
    calls = max(1, int(target_s / max(time.perf_counter() - t, 1e-6)))
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(calls):
            out = fn(arg)
        jax.block_until_ready(out)
        times.append((time.perf_counter() - t) / calls)
    return statistics.median(times)


def jitted_samplers(lang: ZipfRulesLanguage, n: int, *, vmapped: bool):
    """The scan and the walk (``method="walk"``): ``key -> (n, T+1)`` tokens, jitted
    (``vmapped``: keys ``(16,)`` -> ``(16, n, T+1)``)."""
    def new(k):
        return lang.sample(k, n)

    def ref(k):
        return lang.sample(k, n, method="walk")

    wrap = (lambda f: jax.jit(jax.vmap(f))) if vmapped else jax.jit
    return wrap(new), wrap(ref)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--target-s", type=float, default=0.2, help="length of one timed sample")
    ap.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    args = ap.parse_args()

    prov = provenance()
    print(f"# {prov['device_kind']} ({prov['backend']}), jax {prov['jax_version']}, "
          f"commit {prov['git_commit']}", flush=True)
    out = {"provenance": prov, "repeats": args.repeats, "rows": []}
    print("\n| scale | case | n | sequential ms | associative ms | ratio |")
    print("|---|---|---|---|---|---|")
    for name in SCALE_NAMES:
        c = SCALES[name].base
        lang = ZipfRulesLanguage(vocab_size=c["vocab_size"], seq_len=c["seq_len"],
                                 n_rules=c["n_rules"], branching=c["rule_branching"], n_test=1)
        key, keys = jax.random.key(0), jax.random.split(jax.random.key(1), N_KEYS)
        cases = [("batch", c["batch_size"], key), (f"batch x {N_KEYS} keys", c["batch_size"], keys),
                 (f"{BLOCK} batches at once", BLOCK * c["batch_size"], key)]
        if name != "lm-large":
            cases.append(("test set", c["n_test"], key))
        for case, n, arg in cases:
            new, ref = jitted_samplers(lang, n, vmapped=arg.ndim > 0)
            if not bool((new(arg) == ref(arg)).all()):
                raise AssertionError(f"{name} {case}: the samplers disagree")
            t_ref = seconds_per_call(ref, arg, args.repeats, args.target_s)
            t_new = seconds_per_call(new, arg, args.repeats, args.target_s)
            row = dict(scale=name, case=case, n=n, seq_len=lang.seq_len, vocab=lang.vocab_size,
                       branching=lang.branching, sequential_s=t_ref, associative_s=t_new,
                       ratio=t_ref / t_new, batches=BLOCK if "at once" in case else 1)
            out["rows"].append(row)
            print(f"| {name} | {case} | {n} | {1e3 * t_ref:.3f} | {1e3 * t_new:.3f} | "
                  f"{t_ref / t_new:.2f} |", flush=True)
            if args.out:
                args.out.parent.mkdir(parents=True, exist_ok=True)
                args.out.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
