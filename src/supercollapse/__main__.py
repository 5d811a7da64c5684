"""Command line: ``python -m supercollapse {sweep,fit-horizon,summary,verdicts,reproduce,migrate-ids,prepare} ...``.

Examples::

    python -m supercollapse sweep horizon --scale full --out results/full/horizon --max-minutes 9
    python -m supercollapse fit-horizon results/full/horizon --out results/full/law.json
    python -m supercollapse sweep collapse --scale full --law results/full/law.json \\
        --out results/full/collapse --max-minutes 9
    python -m supercollapse summary results/full/collapse
    python -m supercollapse verdicts results/full/collapse results/full/breakdown
    python -m supercollapse migrate-ids results
    python -m supercollapse prepare text tinystories.txt --out data/tinystories

A sweep writes one file per config and skips configs already done, so the same command
resumes an interrupted sweep. The exit status is 0 when the sweep is complete, 3 when
``--max-minutes`` stopped it early (run it again to continue).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .results import ResultsError, load_ladders, load_runs, longest_per_size, run_files, to_ladder
from .train.config import ConfigError
from .train.experiments import EXPERIMENTS, LAWLESS_SWEEPS, SCALES, Law, sweeps_at


class InputError(ValueError):
    """A command-line input that cannot be used; the message says which and how to fix it."""


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
    if law is None and args.name not in LAWLESS_SWEEPS:
        raise ConfigError(f"sweep {args.name!r} needs --law (the fitted horizon law JSON)")
    configs = _only(maker(args.scale, law), args.widths, _width, "--widths", f"sweep {args.name}")
    configs = _only(configs, args.variants, lambda c: c.tags.get("variant"), "--variants",
                    f"sweep {args.name}")
    overrides = _parse_set(args.set or [])
    if overrides:
        configs = [c.replace(**overrides) for c in configs]
        if len({c.run_id() for c in configs}) < len(configs):
            raise ConfigError(f"--set {' '.join(args.set)} makes runs of the sweep identical; "
                              "override only fields that leave every run distinct")
    from .train.sweep import plan, run_sweep, use_compile_cache

    shard = _shard(args.shard) if args.shard else None
    if args.dry_run:
        groups = plan(configs, shard)
        for g in groups:
            print(f"width {g.configs[0].width:5d}  {g.steps:8d} steps  {len(g.configs):3d} run(s)  "
                  f"{g.flops:.2e} FLOPs  ~{g.seconds / 60:5.1f} H100-min  {', '.join(g.variants)}")
        minutes = [g.seconds / 60 for g in groups]
        print(f"{sum(len(g.configs) for g in groups)} run(s), {sum(g.flops for g in groups):.3g} "
              f"model FLOPs in all; estimated {sum(minutes):.1f} H100-minutes alone on one GPU, "
              f"the longest group {max(minutes, default=0):.1f} "
              "(supercollapse.train.sweep.estimated_seconds)")
        return 0
    use_compile_cache(args.compile_cache)
    report = run_sweep(configs, args.out, max_minutes=args.max_minutes,
                       progress=not args.no_progress, shard=shard, draw_ahead=args.draw_ahead,
                       compile_ahead=args.compile_ahead)
    print(report.summary())
    return 0 if report.complete else 3


def _only(items: list, wanted: list | None, key: Callable[[Any], Any], flag: str,
          what: str) -> list:
    """The items whose ``key`` is in ``wanted`` (all if ``None``); a wanted value that no item
    has is named, with the values there are. ``--widths`` keys configs (or runs) by width;
    ``--variants`` by ``tags["variant"]``, which splits a group whose variants train together
    (e.g. ``ladder-seeds``' two seed protocols) into shorter programs that write the same run
    files (their curves equal the shared program's to float32 rounding: a program of another
    size may sum in another order)."""
    if wanted is None:
        return items
    have = [key(x) for x in items]
    if missing := sorted(set(wanted) - set(have)):
        listed = " ".join(map(str, sorted({h for h in have if h is not None}))) or "none"
        raise ConfigError(f"{what}: {flag} {' '.join(map(str, missing))} not in it "
                          f"(its {flag.removeprefix('--')}: {listed})")
    return [x for x, h in zip(items, have, strict=True) if h in wanted]


def _width(item: Any) -> int:
    return getattr(item, "config", item).width


def cmd_fit_horizon(args: argparse.Namespace) -> int:
    from .analysis.frontier import compute_frontier, fit_horizon_law

    out = Path(args.out)
    if not out.parent.is_dir():
        raise InputError(f"--out {out}: no such folder {out.parent}; create it first")
    where = " ".join(map(str, args.runs))
    runs = [r for folder in args.runs for r in load_runs(folder)]
    runs = _only(runs, args.widths, _width, "--widths", f"fit-horizon {where}")
    fix = f"fit-horizon reads a horizon sweep (python -m supercollapse sweep horizon --out {args.runs[0]})"
    if not runs:
        raise InputError(f"{where}: no run files; {fix}")
    if schedules := sorted({r.config.schedule for r in runs} - {"constant"}):
        raise InputError(f"{where}: runs with schedule {', '.join(schedules)}; the frontier "
                         f"needs constant learning rates: {fix}")
    try:
        runs = longest_per_size(runs)
    except ResultsError as e:
        raise InputError(f"{where}: {e}; fit them apart") from None
    if (n := len(runs)) < 2:
        raise InputError(f"{where}: {n} size; the frontier needs at least 2: {fix}")
    try:
        fr = compute_frontier(to_ladder(runs))
        fit = fit_horizon_law(fr)
    except ValueError as e:
        raise InputError(f"{where}: cannot fit the horizon law ({e}); {fix}") from None
    text = json.dumps(fit.to_json(fr.sizes[fr.censored], where), indent=1)
    out.write_text(text + "\n")
    print(text)
    return 0


def cmd_summary(args: argparse.Namespace) -> int:
    folders = sorted({f.parent for f in run_files(args.runs, recursive=True)})
    if not folders:
        raise InputError(f"{args.runs}: no run files (.npz) in it or its sub-folders")
    for k, folder in enumerate(folders):
        _summarise(folder, blank=k > 0)
    return 0


def _summarise(folder: Path, blank: bool) -> None:
    runs = load_runs(folder)
    print(f"{chr(10) if blank else ''}{len(runs)} runs in {folder}")
    for r in runs:
        tags = ",".join(f"{k}={v}" for k, v in r.config.tags.items())
        final = r.curves["test_loss"][:, -1]
        print(f"{r.config.run_id()}  D={r.config.width:<5d} P={r.n_params:<9,d} "
              f"steps={r.total_steps:<8d} {r.config.schedule:<12s} {tags:<40s} "
              f"final test loss {final.mean():.4f} ± {final.std():.4f} "
              f"{'DIVERGED ' + str(r.diverged.sum()) if r.diverged.any() else ''} "
              f"({r.meta.get('wall_seconds', 0):.0f} s on {r.meta.get('device_kind', '?')})")


def cmd_verdicts(args: argparse.Namespace) -> int:
    """Markdown table of Delta < sigma per variant: all sizes, and without the smallest."""
    from .analysis.collapse import verdict_table

    drops = sorted(set(args.drop))
    head = " | ".join(f"{k} dropped: Δ<σ | median Δ/σ" for k in drops)
    print(f"| sweep | variant | {head} |")
    print("|---|---|" + "---:|---:|" * len(drops))
    for directory in args.runs:
        ladders = load_ladders(directory)
        L0 = args.L0
        if L0 is None:  # 0 is right for a realisable task only; say so rather than assume it
            tasks = {r.config.task for r in load_runs(directory)}
            if tasks - {"fourier"}:
                raise InputError(f"{directory}: runs of the task(s) {sorted(tasks)}, whose "
                                 "irreducible loss is not 0: give it with --L0 (1.153 for the "
                                 "book's synthetic language, lm-full)")
            L0 = 0.0
        for name, curves in ladders.items():
            if len(curves) - drops[-1] < 2:
                raise InputError(f"{directory}: variant {name} has {len(curves)} size(s), too "
                                 f"few to drop {drops[-1]} and keep 2 (Delta compares sizes); "
                                 "lower --drop or give a ladder of more sizes")
        table = verdict_table(ladders, drop_smallest=drops, x_min=args.x_min, L0=L0)
        for name, curves in ladders.items():
            cells = " | ".join(f"{table[name, len(curves) - k].frac_below:.2f} | "
                               f"{table[name, len(curves) - k].median_ratio:.2f}" for k in drops)
            print(f"| {Path(directory).name} | {name} ({len(curves)} sizes) | {cells} |")
    return 0


def deterministic_gpu_ops() -> None:
    """Ask XLA for deterministic GPU reductions (bitwise reruns), before JAX's backend starts.

    XLA reads ``XLA_FLAGS`` when the backend is created, on the first computation; the flag
    is recorded in every run's provenance (``meta["xla_flags"]``). No effect on CPU or TPU.
    """
    flag = "--xla_gpu_deterministic_ops=true"
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_gpu_deterministic_ops" not in flags:
        os.environ["XLA_FLAGS"] = f"{flags} {flag}".strip()


def _shard(text: str) -> tuple[int, int]:
    """``"I/N"`` -> ``(I, N)``: shard I of N (N processes, e.g. one per GPU)."""
    try:
        index, count = (int(x) for x in text.split("/"))
    except ValueError:
        raise ConfigError(f"--shard expects I/N (e.g. 0/4), got {text!r}") from None
    if not 0 <= index < count:
        raise ConfigError(f"--shard {text}: need 0 <= I < N")
    return index, count


def cmd_reproduce(args: argparse.Namespace) -> int:
    from .train.reproduce import deal_programs, reproduce, stored_files

    files = stored_files(args.paths, args.sample, args.seed)
    if args.shard:
        files = deal_programs(files, *_shard(args.shard))
    failed = reproduce(files, rtol=args.rtol, sigma_tol=args.sigma_tol,
                       log=Path(args.log) if args.log else None)
    return 0 if not failed else 1


def cmd_migrate_ids(args: argparse.Namespace) -> int:
    """Rename stored run files to their configs' current run ids (idempotent)."""
    from .results import migrate_ids

    renamed = migrate_ids(args.directory)
    for old, new in renamed.items():
        print(f"{old} -> {new}")
    print(f"{len(renamed)} file(s) renamed")
    return 0


def cmd_prepare(args: argparse.Namespace) -> int:
    """Write train.bin / val.bin / meta.json from a text file or a uint8 image array."""
    from .tasks.tokens import prepare_images, prepare_text

    if not Path(args.input).is_file():
        raise InputError(f"{args.input}: no such file; give the {args.kind} input to prepare "
                         "(a text file, or a uint8 .npy array of images)")
    if args.kind == "text":
        meta = prepare_text(args.input, args.out, val_fraction=args.val_fraction,
                            dtype=args.dtype)
    else:
        meta = prepare_images(args.input, args.out, val_fraction=args.val_fraction,
                              grayscale=args.grayscale, dtype=args.dtype)
    print(json.dumps(meta, indent=1))
    return 0


def _first_sentence(doc: str | None) -> str:
    text = " ".join((doc or "").split("\n\n")[0].split())
    return text.split(". ")[0].rstrip(".") + "."


def build_parser() -> argparse.ArgumentParser:
    """The command line's parser (also used by the tests to check documented commands)."""
    ap = argparse.ArgumentParser(prog="python -m supercollapse", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    sweeps = "\n".join(textwrap.fill(f"{k:10s} {_first_sentence(f.__doc__)}", 88,
                                      initial_indent="  ", subsequent_indent=" " * 13)
                        for k, f in sorted(EXPERIMENTS.items()))
    scales = "\n".join(f"  {k:15s} {SCALES[k].about}\n  {'':15s} sweeps: "
                        f"{', '.join(sweeps_at(k))}" for k in sorted(SCALES))
    sw = sub.add_parser("sweep", help="run a named sweep (resumable)",
                        formatter_class=argparse.RawDescriptionHelpFormatter,
                        epilog=f"sweeps:\n{sweeps}\n\nscales:\n{scales}")
    sw.add_argument("name", choices=sorted(EXPERIMENTS), help="the sweep (listed below)")
    sw.add_argument("--scale", choices=sorted(SCALES), default="quick",
                    help="model, task and ladder (listed below; default quick)")
    sw.add_argument("--out", required=True, help="results directory")
    sw.add_argument("--law", help="horizon law JSON (from fit-horizon); every sweep but "
                                  "horizon, param and instability needs one")
    sw.add_argument("--max-minutes", type=float, default=None,
                    help="start no new run after this many minutes")
    sw.add_argument("--set", nargs="*", metavar="FIELD=VALUE",
                    help="override config fields of every run")
    sw.add_argument("--no-progress", action="store_true", help="no progress bars")
    sw.add_argument("--shard", metavar="I/N",
                    help="train only shard I of N (one process per GPU, same --out)")
    sw.add_argument("--dry-run", action="store_true",
                    help="print the groups (steps, runs, model FLOPs) and train nothing")
    sw.add_argument("--nondeterministic", action="store_true",
                    help="on GPU, keep XLA's faster non-deterministic reductions")
    sw.add_argument("--widths", type=int, nargs="+", metavar="D",
                    help="train only the runs of these widths")
    sw.add_argument("--variants", nargs="+", metavar="V",
                    help="train only the runs of these variants (a sweep's tags; splits a "
                         "group into shorter programs that write the same run files)")
    sw.add_argument("--compile-cache", metavar="DIR", default=None,
                    help="JAX's persistent compilation cache in DIR, shared by sweep processes "
                         "(default: $SUPERCOLLAPSE_COMPILE_CACHE; neither: off)")
    sw.add_argument("--draw-ahead", type=int, default=1, metavar="N",
                    help="draw the training batches N steps at a time (the same batches and "
                         "curves; pays where sampling is many small rounds, e.g. the language "
                         "task on a GPU; default 1: each step draws its own)")
    sw.add_argument("--compile-ahead", action="store_true",
                    help="while a group trains, compile the next group's programs in a thread "
                         "(the same programs and curves; hides each compilation but the first)")
    sw.set_defaults(fn=cmd_sweep)
    fh = sub.add_parser("fit-horizon", help="fit c*(P) = kappa P^(1+gamma) from a sweep")
    fh.add_argument("runs", nargs="+", help="results directory of a horizon sweep (constant "
                    "rates); several: the longest run of each size")
    fh.add_argument("--out", required=True, help="law JSON to write (its folder must exist)")
    fh.add_argument("--widths", type=int, nargs="+", metavar="D",
                    help="fit only the runs of these widths (default: every run)")
    fh.set_defaults(fn=cmd_fit_horizon)
    sm = sub.add_parser("summary", help="one line per run of a results directory and its "
                                        "sub-folders")
    sm.add_argument("runs", help="results directory")
    sm.set_defaults(fn=cmd_summary)
    vd = sub.add_parser("verdicts", help="Delta < sigma per variant of scheduled sweeps "
                                         "(the Key numbers table of results/README.md)")
    vd.add_argument("runs", nargs="+", help="results directories (runs trained to their horizons)")
    vd.add_argument("--drop", type=int, nargs="+", default=[0, 1], metavar="K",
                    help="also summarise each ladder without its K smallest sizes")
    vd.add_argument("--x-min", type=float, default=0.2, help="summarise over x_min <= x < 1")
    vd.add_argument("--L0", type=float, default=None,
                    help="irreducible loss of the normalisation (default: 0, allowed only for "
                         "the realisable Fourier task; required for a language task)")
    vd.set_defaults(fn=cmd_verdicts)
    rp = sub.add_parser("reproduce", help="retrain stored runs and compare their curves")
    rp.add_argument("paths", nargs="+", help="run files (.npz) or results directories")
    rp.add_argument("--sample", type=int, default=None, metavar="N",
                    help="rerun only N randomly chosen runs of those given")
    rp.add_argument("--seed", type=int, default=0, help="seed of --sample's choice")
    rp.add_argument("--sigma-tol", type=float, default=0.1,
                    help="largest difference allowed, in units of the run's seed spread")
    rp.add_argument("--rtol", type=float, default=1e-4,
                    help="largest relative difference allowed for single-seed runs")
    rp.add_argument("--nondeterministic", action="store_true",
                    help="on GPU, keep XLA's faster non-deterministic reductions")
    rp.add_argument("--shard", default=None, metavar="I/N",
                    help="check only shard I of N (whole programs, dealt by stored wall "
                         "time): N processes, e.g. one per GPU, check a directory together")
    rp.add_argument("--log", default=None, metavar="FILE",
                    help="append one JSON line per compared run; runs already there are "
                         "skipped (resume)")
    rp.set_defaults(fn=cmd_reproduce)
    mi = sub.add_parser("migrate-ids", help="rename run files to their configs' current ids")
    mi.add_argument("directory", help="results directory (recursively)")
    mi.set_defaults(fn=cmd_migrate_ids)
    pp = sub.add_parser("prepare", help="write token files (train.bin, val.bin, meta.json)")
    pp.add_argument("kind", choices=["text", "images"],
                    help="text: a text file, byte-level tokens; images: a uint8 .npy array "
                         "(N, H, W[, C]), pixel tokens")
    pp.add_argument("input", help="the text file or .npy image array")
    pp.add_argument("--out", required=True, help="data folder to write")
    pp.add_argument("--val-fraction", type=float, default=0.1,
                    help="share of the data held out as val.bin (default 0.1)")
    pp.add_argument("--grayscale", action="store_true", help="images: RGB to luma")
    pp.add_argument("--dtype", choices=["uint8", "uint16", "uint32"], default="uint16",
                    help="integer type of the token files (default uint16)")
    pp.set_defaults(fn=cmd_prepare)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command in ("sweep", "reproduce") and not args.nondeterministic:
        deterministic_gpu_ops()
    errors: tuple[type[Exception], ...] = (ConfigError, InputError, ResultsError)
    try:
        return args.fn(args)
    except ValueError as e:
        tokens = sys.modules.get("supercollapse.tasks.tokens")  # imported only when used
        if not isinstance(e, errors + ((tokens.TokenDataError,) if tokens else ())):
            raise
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
