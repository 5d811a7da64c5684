"""Does a faster recipe train the same runs? Compare two folders of the same sweep, run by run.

    python benchmarks/compare_recipes.py results/lm-full/collapse /tmp/c34 --ignore lookup

Runs are paired by their config with the ``--ignore`` fields (e.g. ``lookup``, a change of how
the program computes, not of what it trains) set to their defaults. For each pair, with the same
seeds, the largest difference of a seed's test loss between the two, in units of the seed
spread of the first folder's run at the same evaluation,

.. math:: \\max_{s,t} |L^{b}_{s}(t) - L^{a}_{s}(t)| \\,/\\, \\sigma_a(t),

(:math:`\\sigma_a` the standard deviation over seeds, ``ddof=1``; evaluations after step 0), with
the median of the same ratio and the largest relative difference :math:`|L^b - L^a| / L^a`, and
each folder's program wall time per width (``meta["program"]["wall_seconds"]``, one program per
width and run length: counted once) and device. Exit status 1 if a pair differs by more than
``--tol`` (default 0.1) or a run of the first folder has no partner. ``--json FILE`` writes the
table, the times and both folders' provenance (devices, commits) to ``FILE``. ``--verdicts``
also compares what the book concludes from each folder: the supercollapse verdict of every
ladder (``supercollapse.verdicts.runs_verdicts``) in both, side by side.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

import numpy as np

from supercollapse.results import load_run, run_files
from supercollapse.train.config import TrainConfig

DEFAULT = TrainConfig()  # every field at its default
FIELDS = {f.name for f in dataclasses.fields(TrainConfig)}


def pair_key(cfg: TrainConfig, ignore: tuple[str, ...]) -> str:
    """The run id of ``cfg`` with the ``ignore`` fields at their defaults."""
    return cfg.replace(**{f: getattr(DEFAULT, f) for f in ignore}).run_id()


def sigma_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``|b - a| / sigma_a`` per seed and evaluation after the first (``(seeds, evals)`` arrays
    of the same seeds; needs two seeds or more)."""
    sigma = a[:, 1:].std(axis=0, ddof=1)
    return np.abs(b[:, 1:] - a[:, 1:]) / sigma


def max_sigma_distance(a: np.ndarray, b: np.ndarray) -> float:
    """``max |b - a| / sigma_a`` over seeds and evaluations after the first."""
    return float(np.max(sigma_distances(a, b)))


def program_seconds(runs: list) -> dict[int, float]:
    """Wall seconds of the programs per width, each program (its ``run_ids``) counted once."""
    seen, out = set(), {}
    for r in runs:
        prog = r.meta.get("program", {})
        key = tuple(prog.get("run_ids", ()))
        if key and key not in seen and "wall_seconds" in prog:
            seen.add(key)
            out[r.config.width] = out.get(r.config.width, 0.0) + prog["wall_seconds"]
    return dict(sorted(out.items()))


def compare_verdicts(runs_a: list, runs_b: list) -> list[dict]:
    """The verdict rows of both folders' ladders, printed side by side (``Delta<sigma``
    fraction, median ``Delta/sigma``, verdict)."""
    from supercollapse.verdicts import runs_verdicts

    va, vb = runs_verdicts(runs_a, "a"), runs_verdicts(runs_b, "b")
    out = []
    print(f"{'ladder':>24s}  {'Delta<sigma a / b':>17s}  {'median D/s a / b':>16s}  verdicts")
    for ra, rb in zip(va, vb, strict=True):
        assert (ra.variant, ra.schedule) == (rb.variant, rb.schedule), (ra, rb)
        print(f"{ra.variant + ', ' + ra.schedule:>24s}  {ra.frac_below[0]:8.3f} {rb.frac_below[0]:8.3f}"
              f"  {ra.median_ratio:7.3f} {rb.median_ratio:8.3f}  {ra.verdict} / {rb.verdict}")
        out.append({"variant": ra.variant, "schedule": ra.schedule,
                    "frac_below": [ra.frac_below, rb.frac_below],
                    "median_ratio": [ra.median_ratio, rb.median_ratio],
                    "verdict": [ra.verdict, rb.verdict]})
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("a", help="the reference folder (e.g. the stored sweep)")
    ap.add_argument("b", help="the folder of the new recipe")
    ap.add_argument("--ignore", nargs="*", default=["lookup"],
                    help="config fields that may differ (set to their defaults to pair)")
    ap.add_argument("--tol", type=float, default=0.1, help="largest distance in seed sigmas")
    ap.add_argument("--json", default=None, metavar="FILE", help="also write the comparison here")
    ap.add_argument("--widths", type=int, nargs="*", default=None, metavar="D",
                    help="compare only the runs of these widths (e.g. a same-device rerun of one width)")
    ap.add_argument("--verdicts", action="store_true",
                    help="also compare the collapse verdicts of every ladder of both folders")
    args = ap.parse_args(argv)
    ignore = tuple(args.ignore)
    unknown = [f for f in ignore if f not in FIELDS]
    if unknown:
        ap.error(f"--ignore: not TrainConfig fields: {unknown}")
    keep = (lambda r: True) if args.widths is None else (lambda r: r.config.width in args.widths)
    runs_a = [r for r in map(load_run, run_files(Path(args.a))) if keep(r)]
    runs_b = {pair_key(r.config, ignore): r for r in map(load_run, run_files(Path(args.b))) if keep(r)}
    worst, missing, rows = 0.0, 0, []
    print(f"{'width':>5s} {'run':>12s} {'max |dL| / sigma':>17s} {'median':>7s} {'max |dL| / L':>12s}")
    for ra in sorted(runs_a, key=lambda r: (r.config.width, r.config.run_id())):
        rb = runs_b.get(pair_key(ra.config, ignore))
        label = ra.config.tags.get("variant", ra.config.schedule)
        if rb is None:
            missing += 1
            print(f"{ra.config.width:5d} {label:>12s} {'no partner':>17s}")
            continue
        if not np.array_equal(ra.curves["step"], rb.curves["step"]):
            raise SystemExit(f"{ra.config.run_id()}: the two runs have different evaluation steps")
        la, lb = ra.curves["test_loss"], rb.curves["test_loss"]
        ds = sigma_distances(la, lb)
        d, med, rel = float(ds.max()), float(np.median(ds)), float(np.max(np.abs(lb / la - 1)))
        worst = max(worst, d)
        rows.append({"width": ra.config.width, "run": label, "run_id": ra.config.run_id(),
                     "max_sigma": d, "median_sigma": med, "max_rel": rel})
        print(f"{ra.config.width:5d} {label:>12s} {d:17.3f} {med:7.3f} {rel:12.1e}")
    sa, sb = program_seconds(runs_a), program_seconds(list(runs_b.values()))
    print("program wall seconds per width (a / b):")
    for w in sorted(set(sa) | set(sb)):
        print(f"  {w:5d} {sa.get(w, float('nan')):8.1f} {sb.get(w, float('nan')):8.1f}")
    ta, tb = sum(sa.values()), sum(sb.values())
    print(f"total {ta:.1f} s / {tb:.1f} s: {ta / tb:.2f}x" if tb else "no program times")
    print(f"largest distance {worst:.3f} sigma (tolerance {args.tol}); {missing} without partner")
    verdicts = compare_verdicts(runs_a, list(runs_b.values())) if args.verdicts else None
    if args.json:
        def prov(runs: list) -> dict:
            return {k: sorted({str(r.meta.get(k)) for r in runs}) for k in
                    ("device_kind", "git_commit", "jax_version", "xla_flags")}
        out = {"a": args.a, "b": args.b, "ignore": list(ignore), "widths": args.widths,
               "tol": args.tol, "pairs": rows,
               "program_seconds": {"a": sa, "b": sb}, "total_seconds": [ta, tb],
               "largest_sigma": worst, "missing": missing, "verdicts": verdicts,
               "provenance": {"a": prov(runs_a), "b": prov(list(runs_b.values()))}}
        Path(args.json).write_text(json.dumps(out, indent=1) + "\n")
    return int(worst > args.tol or missing > 0)


if __name__ == "__main__":
    sys.exit(main())
