"""Execute the book's chapters as plain Python scripts, timed, and record what happened.

Each chapter runs in its own Python process: its code cells (read from the notebook's JSON, so
no Jupyter package is needed), in order, in one namespace, with matplotlib's Agg backend and
the live experiments at the scale of ``SUPERCOLLAPSE_SCALE`` (``accelerator`` unless the
environment already sets it). Cells tagged ``skip-execution`` are skipped; the Colab set-up
cell does nothing outside Colab. A chapter passes when every cell runs, i.e. every claim it
asserts holds. One failing chapter does not stop the others.

The JSON written to ``--out`` (rewritten after every chapter, so a killed run keeps what it
finished) holds, per chapter: seconds, ok, error (the failing cell and the exception), the
number of ``assert`` statements executed, per-cell seconds, the tail of its printed output; and
once: the device kind, backend, JAX version, scale and ``SUPERCOLLAPSE_GIT_COMMIT``.

    python benchmarks/run_chapters.py --out benchmarks/results/chapters_h100.json
    SUPERCOLLAPSE_SCALE=quick python benchmarks/run_chapters.py --chapters 00 --out /tmp/x.json
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import platform
import shutil
import subprocess
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = ROOT / "chapters"
SKIP_TAGS = {"skip-execution"}
# Imported by the chapters; a missing one is reported before anything runs.
NEEDED = ("jax", "flax", "optax", "numpy", "scipy", "matplotlib", "pandas", "ipywidgets")
OUTPUT_TAIL = 6_000  # characters of each chapter's printed output kept in the JSON


def code_cells(notebook: Path) -> list[dict]:
    """The notebook's code cells to run: ``{"index", "source", "asserts"}``."""
    nb = json.loads(notebook.read_text(encoding="utf8"))
    cells = []
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code" or SKIP_TAGS & set(cell["metadata"].get("tags", [])):
            continue
        src = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        if not src.strip():
            continue
        n_assert = sum(isinstance(node, ast.Assert) for node in ast.walk(ast.parse(src)))
        cells.append({"index": i, "source": src, "asserts": n_assert})
    return cells


def chapter_of(notebook: Path) -> str:
    """The chapter a notebook is: its name up to the first underscore ("05b_x.ipynb" -> "05b")."""
    return notebook.name.split("_", 1)[0]


def find_chapters(prefixes: list[str] | None) -> list[Path]:
    """Chapter notebooks named by ``prefixes`` (all when None): a chapter ("05" is chapter 5,
    not 5b) or the start of a notebook's name ("05_when")."""
    found = sorted(CHAPTERS.glob("[0-9][0-9]*_*.ipynb"))

    def named(p: Path, x: str) -> bool:
        return chapter_of(p) == x or (len(x) > len(chapter_of(p)) and p.name.startswith(x))

    if prefixes:
        found = [p for p in found if any(named(p, x) for x in prefixes)]
        missing = [x for x in prefixes if not any(named(p, x) for p in found)]
        if missing:
            raise SystemExit(f"no chapter notebook starts with {missing} in {CHAPTERS}")
    return found


def missing_modules() -> list[str]:
    """Modules the chapters import that this Python cannot find (without importing them)."""
    import importlib.util

    return [m for m in NEEDED if importlib.util.find_spec(m) is None]


def _stub_ipywidgets() -> None:
    """A stand-in for ipywidgets (display only): ``interact`` and the sliders do nothing."""
    import types

    mod = types.ModuleType("ipywidgets")

    def _nothing(*args, **kwargs):
        return None

    for name in ("interact", "FloatSlider", "IntSlider", "Dropdown", "Checkbox"):
        setattr(mod, name, _nothing)
    sys.modules["ipywidgets"] = mod


def run_child(notebook: Path, result_path: Path) -> int:
    """Run one chapter's cells here (in the child process) and write its result JSON."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    os.chdir(notebook.parent)  # as Jupyter does: the chapter finds ../results from here
    sys.path.insert(0, str(ROOT / "src"))
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        _stub_ipywidgets()
    result: dict = {"cells": [], "ok": False, "error": None, "asserts": 0}
    namespace: dict = {"__name__": "__main__"}
    start = time.perf_counter()
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        plt = None
    try:
        for cell in code_cells(notebook):
            t0 = time.perf_counter()
            # Progress so far, so that a chapter killed by the timeout still says where it was.
            result_path.write_text(json.dumps(result | {"running": cell["index"]}, indent=1))
            try:
                exec(compile(cell["source"], f"{notebook.name}[cell {cell['index']}]", "exec"),
                     namespace)
            except BaseException as exc:
                result["error"] = {"cell": cell["index"], "type": type(exc).__name__,
                                   "message": str(exc)[:2000],
                                   "traceback": traceback.format_exc()[-4000:]}
                raise
            finally:
                result["cells"].append({"index": cell["index"],
                                        "seconds": round(time.perf_counter() - t0, 3)})
                if plt is not None:
                    plt.close("all")
            result["asserts"] += cell["asserts"]
        result["ok"] = True
    except BaseException:
        traceback.print_exc()
    finally:
        result["seconds"] = round(time.perf_counter() - start, 3)
        try:
            import jax

            dev = jax.devices()[0]
            result["device"] = {"backend": jax.default_backend(), "device_kind": dev.device_kind,
                                "device_count": jax.device_count(), "jax": jax.__version__}
        except Exception as exc:  # noqa: BLE001 - recorded, not raised
            result["device"] = {"error": repr(exc)}
        result_path.write_text(json.dumps(result, indent=1))
    return 0 if result["ok"] else 1


def run_chapter(notebook: Path, timeout: float, env: dict) -> dict:
    """Run one chapter in a fresh Python process; its record for the JSON."""
    result_path = Path(env["TMPDIR"]) / f"{notebook.stem}.result.json"
    result_path.unlink(missing_ok=True)
    t0 = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, __file__, "--_child", str(notebook),
                               str(result_path)], env=env, capture_output=True, text=True,
                              timeout=timeout)
        output, status = proc.stdout + proc.stderr, proc.returncode
    except subprocess.TimeoutExpired as exc:
        output = (exc.stdout or b"").decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        status = None
    wall = time.perf_counter() - t0
    rec = {"chapter": chapter_of(notebook), "notebook": notebook.name, "wall_seconds": round(wall, 1)}
    if result_path.is_file() and status is not None:
        child = json.loads(result_path.read_text())
        rec |= {"seconds": child["seconds"], "ok": child["ok"], "error": child["error"],
                "asserts_run": child["asserts"], "cells": child["cells"],
                "device": child.get("device")}
    elif result_path.is_file():  # killed by the timeout: the cells it finished, and where it was
        child = json.loads(result_path.read_text())
        rec |= {"seconds": round(wall, 1), "ok": False,
                "error": {"message": f"timed out after {timeout:.0f} s in cell "
                                     f"{child.get('running')}"},
                "asserts_run": child["asserts"], "cells": child["cells"], "device": None}
    else:
        why = f"timed out after {timeout:.0f} s" if status is None else f"exit status {status}"
        rec |= {"seconds": round(wall, 1), "ok": False, "error": {"message": why},
                "asserts_run": None, "cells": [], "device": None}
    rec["output_tail"] = output[-OUTPUT_TAIL:]
    return rec


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chapters", nargs="*", help="chapters, e.g. 01 04 05b (default: all)")
    parser.add_argument("--out", type=Path, help="where to write the JSON (required)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per chapter")
    parser.add_argument("--budget", type=float, default=None,
                        help="total seconds: chapters that would start after it are skipped")
    parser.add_argument("--_child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args._child:
        return run_child(Path(args._child[0]), Path(args._child[1]))
    if args.out is None:
        parser.error("--out is required")

    env = dict(os.environ)
    env.setdefault("SUPERCOLLAPSE_SCALE", "accelerator")
    env.setdefault("MPLBACKEND", "Agg")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    args.out = args.out.resolve()  # the chapters run in chapters/: a relative path would move
    tmp = args.out.parent / ".run_chapters_tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    env["TMPDIR"] = str(tmp)
    missing = missing_modules()
    report = {"scale": env["SUPERCOLLAPSE_SCALE"], "git_commit": os.environ.get(
        "SUPERCOLLAPSE_GIT_COMMIT"), "python": platform.python_version(),
        "host": platform.node(), "missing_modules": missing, "started": time.strftime(
            "%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "chapters": []}
    if [m for m in missing if m != "ipywidgets"]:
        print(f"missing modules: {missing}; chapters that import them will fail", flush=True)
    t_start = time.perf_counter()
    for nb in find_chapters(args.chapters):
        left = None if args.budget is None else args.budget - (time.perf_counter() - t_start)
        if left is not None and left <= 0:
            report["chapters"].append({"chapter": chapter_of(nb), "notebook": nb.name, "ok": None,
                                       "error": {"message": "skipped: --budget spent"}})
            continue
        rec = run_chapter(nb, args.timeout if left is None else min(args.timeout, left), env)
        report["chapters"].append(rec)
        if rec.get("device") and "device" not in report:
            report["device"] = rec["device"]
        report["total_seconds"] = round(time.perf_counter() - t_start, 1)
        args.out.write_text(json.dumps(report, indent=1))
        err = "" if rec["ok"] else f"  FAILED: {rec['error']}"
        print(f"{nb.name}: {rec['seconds']:.1f} s, ok={rec['ok']}, "
              f"asserts run {rec['asserts_run']}{err}", flush=True)
    report["total_seconds"] = round(time.perf_counter() - t_start, 1)
    args.out.write_text(json.dumps(report, indent=1))
    for f in tmp.glob("*.result.json"):
        f.unlink()
    shutil.rmtree(tmp, ignore_errors=True)
    ok = all(c["ok"] for c in report["chapters"])
    print(f"{sum(bool(c['ok']) for c in report['chapters'])} of {len(report['chapters'])} "
          f"chapters passed in {report['total_seconds']:.0f} s -> {args.out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
