"""Run the chapters' live training under other processors and other seeds; report every claim.

The chapters train small models live and assert scientific claims about them. Those runs differ
in their last digits from one CPU to another (XLA generates other code for other instruction
sets), and a tiny network amplifies last-digit differences the way a new seed does. A claim's
margin must therefore hold over the spread of its statistic across seeds *and* processors. This
script measures that spread: it executes the live chapters (errors allowed, so every claim is
reached) under

* ``--isa``: XLA's CPU code generation narrowed with ``XLA_FLAGS=--xla_cpu_max_isa=ISA``
  (``SSE4_2``, ``AVX``, ``AVX2``, ``AVX512``; ``native`` = as found) together with NumPy's
  SIMD dispatch narrowed (``NPY_DISABLE_CPU_FEATURES``, ``OPENBLAS_CORETYPE=Prescott``);
* ``--offsets``: every live config's seeds shifted by ``k`` (``seeds + k``, through an IPython
  start-up file that wraps the engine; nothing in the package or the chapters changes).

For each chapter and setting it prints the failed assertions and the stream output of the live
cells (those not tagged ``nbval-check-output``), where each claim prints its statistic; the
values seen are recorded in ``tests/README.md`` ("Live claims across processors and seeds").

    .venv/bin/python tests/live_spread.py --isa native SSE4_2 AVX --offsets 0 3 6 --out _build/spread

``make test-isa`` is the pass/fail version of the same idea (nbval under narrowed ISAs).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIVE_CHAPTERS = ("01", "02", "03", "04", "05b", "06", "07", "08", "09", "10")

# Shifts the seeds of every config the engine trains (train and train_many share _train_group).
STARTUP = """\
import os as _os
import supercollapse.train.engine as _engine

_OFFSET = int(_os.environ["SUPERCOLLAPSE_TEST_SEED_OFFSET"])
_inner = _engine._train_group


def _shifted(cfgs, **kw):
    return _inner([c.replace(seeds=tuple(s + _OFFSET for s in c.seeds)) for c in cfgs], **kw)


_engine._train_group = _shifted
"""


def narrowed_env(isa: str) -> dict[str, str]:
    """Environment that narrows XLA's CPU code generation and NumPy's SIMD to ``isa``."""
    if isa == "native":
        return {}
    from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__

    features = " ".join(f for f in __cpu_dispatch__ if __cpu_features__.get(f))
    return {"XLA_FLAGS": f"--xla_cpu_max_isa={isa}", "NPY_DISABLE_CPU_FEATURES": features,
            "OPENBLAS_CORETYPE": "Prescott"}


# Where Jupyter is not installed (the GPU machine's image), ``--runner exec`` runs the code cells
# in one namespace in a fresh interpreter, each cell's error recorded and the next one run, and
# writes the outputs back into a copy of the notebook: the same report, without a kernel.
EXEC_RUNNER = """\
import contextlib, io, json, sys, traceback
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
plt.show = lambda *a, **k: plt.close("all")
src, dst, startup = sys.argv[1], sys.argv[2], sys.argv[3]
exec(startup, {})  # the seed offset, if any (as the IPython start-up file does)
nb = json.load(open(src))
ns = {"__name__": "__main__"}
for cell in nb["cells"]:
    if cell["cell_type"] != "code":
        continue
    out = io.StringIO()
    cell["outputs"] = []
    try:
        with contextlib.redirect_stdout(out):
            exec(compile("".join(cell["source"]), "<cell>", "exec"), ns)
    except Exception as e:
        cell["outputs"].append({"output_type": "error", "ename": type(e).__name__,
                                "evalue": str(e), "traceback": traceback.format_exc().splitlines()})
    if out.getvalue():
        cell["outputs"].insert(0, {"output_type": "stream", "name": "stdout", "text": out.getvalue()})
json.dump(nb, open(dst, "w"))
"""


def run_chapter(notebook: Path, out_dir: Path, env: dict[str, str], timeout: int,
                runner: str = "jupyter") -> dict:
    """Execute one chapter (errors allowed); return its failed assertions and live outputs."""
    out_dir.mkdir(parents=True, exist_ok=True)
    start = time.time()
    if runner == "jupyter":
        cmd = [sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
               "--allow-errors", f"--ExecutePreprocessor.timeout={timeout}",
               "--output-dir", str(out_dir), "--output", notebook.stem, str(notebook)]
    else:
        startup = STARTUP if env.get("SUPERCOLLAPSE_TEST_SEED_OFFSET") else ""
        cmd = [sys.executable, "-c", EXEC_RUNNER, str(notebook), str(out_dir / notebook.name),
               startup]
    proc = subprocess.run(cmd, env=env, cwd=ROOT / "chapters", capture_output=True, text=True,
                          timeout=timeout * 4)
    if proc.returncode != 0:
        raise RuntimeError(f"{notebook.name} did not run: {proc.stderr[-2000:]}")
    nb = json.loads((out_dir / notebook.name).read_text())
    errors, live = [], {}
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        outputs = cell.get("outputs", [])
        errors += [f"cell {i}: {o['ename']}: {o['evalue']}" for o in outputs
                   if o.get("output_type") == "error"]
        tags = cell.get("metadata", {}).get("tags", [])
        text = "".join("".join(o.get("text", "")) for o in outputs
                       if o.get("output_type") == "stream")
        if text and "nbval-check-output" not in tags and "remove-cell" not in tags:
            live[i] = text
    return {"seconds": round(time.time() - start), "errors": errors, "live": live}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--isa", nargs="+", default=["native"])
    ap.add_argument("--offsets", nargs="+", type=int, default=[0])
    ap.add_argument("--chapters", nargs="+", default=list(LIVE_CHAPTERS))
    ap.add_argument("--out", type=Path, default=ROOT / "_build" / "live_spread")
    ap.add_argument("--timeout", type=int, default=900)
    ap.add_argument("--runner", choices=("jupyter", "exec"), default="jupyter",
                    help="exec: no Jupyter needed (the code cells run in one namespace)")
    args = ap.parse_args(argv)
    notebooks = [next((ROOT / "chapters").glob(f"{c}_*.ipynb")) for c in args.chapters]
    report = {}
    for isa in args.isa:
        for offset in args.offsets:
            env = {**os.environ, **narrowed_env(isa)}
            with tempfile.TemporaryDirectory() as ipython_dir:
                if offset:
                    startup = Path(ipython_dir) / "profile_default" / "startup"
                    startup.mkdir(parents=True)
                    (startup / "00-seed-offset.py").write_text(STARTUP)
                    env |= {"IPYTHONDIR": ipython_dir,
                            "SUPERCOLLAPSE_TEST_SEED_OFFSET": str(offset)}
                for nb in notebooks:
                    key = f"{isa}/seeds+{offset}/{nb.stem}"
                    report[key] = run_chapter(nb, args.out / isa / f"seeds{offset}", env,
                                              args.timeout, args.runner)
                    r = report[key]
                    print(f"=== {key} ({r['seconds']} s): "
                          f"{len(r['errors'])} failed claim(s)", flush=True)
                    for e in r["errors"]:
                        print(f"  FAILED {e[:300]}")
                    for i, text in r["live"].items():
                        print(f"  [cell {i}] " + text.rstrip().replace("\n", "\n            "))
            (args.out / "report.json").write_text(json.dumps(report, indent=1))
    failed = [k for k, r in report.items() if r["errors"]]
    print(f"\n{len(report)} chapter runs, {len(failed)} with failed claims: {failed}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
