"""Command line: ``python -m supercollapse {sweep,fit-horizon,summary,reproduce,prepare} ...``.

Examples::

    python -m supercollapse sweep horizon --scale full --out results/full/horizon --max-minutes 9
    python -m supercollapse fit-horizon results/full/horizon --out results/full/law.json
    python -m supercollapse sweep collapse --scale full --law results/full/law.json \\
        --out results/full/collapse --max-minutes 9
    python -m supercollapse summary results/full/collapse
    python -m supercollapse prepare text tinystories.txt --out data/tinystories

A sweep writes one file per config and skips configs already done, so the same command
resumes an interrupted sweep. The exit status is 0 when the sweep is complete, 3 when
``--max-minutes`` stopped it early (run it again to continue).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from .results import ResultsError, ladder_curves, load_runs
from .tasks.tokens import TokenDataError
from .train.config import ConfigError
from .train.experiments import EXPERIMENTS, SCALES, Law


def _parse_set(items: list[str]) -> dict:
    """``field=value`` pairs; values parsed as JSON where possible (numbers, lists, null)."""
    out = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"--set expects field=value, got {item!r}")
        k, v = item.split("=", 1)
        try:
            out[k] = json.loads(v)
        except json.JSONDecodeError:
            out[k] = v
    return out


def cmd_sweep(args: argparse.Namespace) -> int:
    law = Law.load(args.law) if args.law else None
    maker = EXPERIMENTS[args.name]
    if law is None and args.name != "horizon":
        raise ConfigError(f"sweep {args.name!r} needs --law (the fitted horizon law JSON)")
    configs = maker(args.scale, law)
    overrides = _parse_set(args.set or [])
    if overrides:
        configs = [c.replace(**overrides) for c in configs]
    from .train.sweep import run_sweep

    report = run_sweep(configs, args.out, max_minutes=args.max_minutes,
                       progress=not args.no_progress)
    print(report.summary())
    return 0 if report.complete else 3


def cmd_fit_horizon(args: argparse.Namespace) -> int:
    from .analysis.frontier import compute_frontier, fit_horizon_law

    runs = load_runs(args.runs)
    fr = compute_frontier([(float(r.n_params), c, L)
                           for r, (c, L) in zip(runs, ladder_curves(runs), strict=True)])
    fit = fit_horizon_law(fr)
    law = {"kappa": fit.kappa, "exponent": 1.0 + fit.gamma, "gamma": fit.gamma,
           "gamma_err": fit.gamma_err, "log_kappa_err": fit.log_kappa_err, "r2_log": fit.r2_log,
           "sizes": fit.sizes.tolist(), "c_star": fit.c_star.tolist(),
           "censored_sizes": fr.sizes[fr.censored].tolist(), "source": str(args.runs)}
    text = json.dumps(law, indent=1)
    Path(args.out).write_text(text + "\n")
    print(text)
    return 0


def cmd_summary(args: argparse.Namespace) -> int:
    runs = load_runs(args.runs)
    print(f"{len(runs)} runs in {args.runs}")
    for r in runs:
        tags = ",".join(f"{k}={v}" for k, v in r.config.tags.items())
        final = r.curves["test_loss"][:, -1]
        print(f"{r.config.run_id()}  D={r.config.width:<5d} P={r.n_params:<9,d} "
              f"steps={r.total_steps:<8d} {r.config.schedule:<12s} {tags:<40s} "
              f"final test loss {final.mean():.4f} ± {final.std():.4f} "
              f"{'DIVERGED ' + str(r.diverged.sum()) if r.diverged.any() else ''} "
              f"({r.meta.get('wall_seconds', 0):.0f} s on {r.meta.get('device_kind', '?')})")
    return 0


def cmd_reproduce(args: argparse.Namespace) -> int:
    """Retrain stored runs from their own configs and compare the curves."""
    from .results import load_run
    from .train.engine import train

    worst = 0.0
    for path in args.files:
        stored = load_run(path)
        fresh = train(stored.config)
        for key in ("train_loss", "test_loss"):
            a, b = stored.curves[key], fresh.curves[key]
            rel = float(np.nanmax(np.abs(a - b) / np.abs(a)))
            worst = max(worst, rel)
            print(f"{path}: {key} max relative difference {rel:.2e} "
                  f"(stored on {stored.meta.get('device_kind')}, now on "
                  f"{fresh.meta.get('device_kind')})")
    ok = worst <= args.rtol
    print(f"{'reproduced' if ok else 'NOT reproduced'} within rtol={args.rtol:g}")
    return 0 if ok else 1


def cmd_prepare(args: argparse.Namespace) -> int:
    """Write train.bin / val.bin / meta.json from a text file or a uint8 image array."""
    from .tasks.tokens import prepare_images, prepare_text

    if args.kind == "text":
        meta = prepare_text(args.input, args.out, val_fraction=args.val_fraction,
                            dtype=args.dtype)
    else:
        meta = prepare_images(args.input, args.out, val_fraction=args.val_fraction,
                              grayscale=args.grayscale, dtype=args.dtype)
    print(json.dumps(meta, indent=1))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The command line's parser (also used by the tests to check documented commands)."""
    ap = argparse.ArgumentParser(prog="python -m supercollapse", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    sw = sub.add_parser("sweep", help="run a named sweep (resumable)")
    sw.add_argument("name", choices=sorted(EXPERIMENTS))
    sw.add_argument("--scale", choices=sorted(SCALES), default="quick")
    sw.add_argument("--out", required=True, help="results directory")
    sw.add_argument("--law", help="horizon law JSON (from fit-horizon)")
    sw.add_argument("--max-minutes", type=float, default=None,
                    help="start no new run after this many minutes")
    sw.add_argument("--set", nargs="*", metavar="FIELD=VALUE",
                    help="override config fields of every run")
    sw.add_argument("--no-progress", action="store_true")
    sw.set_defaults(fn=cmd_sweep)
    fh = sub.add_parser("fit-horizon", help="fit c*(P) = kappa P^(1+gamma) from a sweep")
    fh.add_argument("runs")
    fh.add_argument("--out", required=True)
    fh.set_defaults(fn=cmd_fit_horizon)
    sm = sub.add_parser("summary", help="one line per run of a results directory")
    sm.add_argument("runs")
    sm.set_defaults(fn=cmd_summary)
    rp = sub.add_parser("reproduce", help="retrain stored runs and compare their curves")
    rp.add_argument("files", nargs="+", help="run files (.npz) of a results directory")
    rp.add_argument("--rtol", type=float, default=1e-4)
    rp.set_defaults(fn=cmd_reproduce)
    pp = sub.add_parser("prepare", help="write token files (train.bin, val.bin, meta.json)")
    pp.add_argument("kind", choices=["text", "images"],
                    help="text: a text file, byte-level tokens; images: a uint8 .npy array "
                         "(N, H, W[, C]), pixel tokens")
    pp.add_argument("input")
    pp.add_argument("--out", required=True, help="data folder to write")
    pp.add_argument("--val-fraction", type=float, default=0.1)
    pp.add_argument("--grayscale", action="store_true", help="images: RGB to luma")
    pp.add_argument("--dtype", choices=["uint8", "uint16", "uint32"], default="uint16")
    pp.set_defaults(fn=cmd_prepare)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.fn(args)
    except (ConfigError, ResultsError, TokenDataError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
