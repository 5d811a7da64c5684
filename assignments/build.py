"""Build the classroom assignments with otter-grader, and keep their set-up cells in sync.

Each ``assignments/<name>.ipynb`` is an otter-grader *master notebook* (questions, solutions,
public and hidden tests). ``otter assign`` turns it into, under ``_build/assignments/<name>/``:

* ``student/<name>.ipynb`` -- the notebook to hand out (solutions replaced by ``...``);
* ``student/tests/`` -- its public tests, one file per question (used by ``grader.check``);
* ``autograder/`` -- the notebook with solutions, and ``autograder.zip``, the grading bundle
  with the hidden tests (for ``otter run`` / ``otter grade``).

Every master starts with two set-up cells that only act on Google Colab: the chapters' set-up
cell (from ``book/_ext/sync_setup_cell.py``, its one canonical source) and the otter-grader cell
below (its one source here). Run from the repository root::

    .venv/bin/python assignments/build.py                  # build every assignment (make assignments)
    .venv/bin/python assignments/build.py part1_scaling_laws --out /tmp/a
    .venv/bin/python assignments/build.py --sync           # write the set-up cells into every master
    .venv/bin/python assignments/build.py --check          # exit 1 if a master's set-up is out of date

``tests/test_assignments.py`` builds every assignment and grades it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HERE = ROOT / "assignments"
DEFAULT_OUT = ROOT / "_build" / "assignments"

sys.path.insert(0, str(ROOT / "book" / "_ext"))
import sync_setup_cell  # noqa: E402  (the chapters' Colab set-up cell)

# The otter-grader cell of every master notebook ({name} is the assignment). On Colab it installs
# otter-grader and finds the public tests: a tests/ folder uploaded next to the notebook (the
# instructor's own), else it builds them from the master notebook in the clone made by the
# set-up cell above (which works in <clone>/chapters). Everywhere it starts otter's checker on the
# tests/ folder next to the notebook.
OTTER_TEMPLATE = '''\
# Otter-grader set-up (the same in every assignment; written by assignments/build.py, do not edit
# here). On Google Colab only: install otter-grader and fetch this assignment's public tests.
import sys

if "google.colab" in sys.modules:
    import os
    import subprocess

    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "otter-grader"], check=True)
    if os.path.isdir("/content/tests"):  # a tests/ folder uploaded next to the notebook
        os.chdir("/content")
    else:  # build the public tests from the master notebook in the book's clone
        clone = os.path.dirname(os.getcwd())
        subprocess.run([sys.executable, f"{{clone}}/assignments/build.py", "{name}"], check=True)
        os.chdir(f"{{clone}}/_build/assignments/{name}/student")
import otter

grader = otter.Notebook(tests_dir="tests")
'''
OTTER_MARKER = "written by assignments/build.py"
REQUIREMENTS = HERE / "requirements.txt"
OTTER_CELL_ID = "otter-setup"


def masters(names: list[str] | None = None) -> list[Path]:
    """The master notebooks ``assignments/<name>.ipynb`` (all of them by default)."""
    found = sorted(HERE.glob("*.ipynb"))
    if not names:
        return found
    by_name = {p.stem: p for p in found}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise SystemExit(f"unknown assignment(s) {unknown}; known: {sorted(by_name)}")
    return [by_name[n] for n in names]


def otter_source(name: str) -> str:
    """The otter-grader set-up cell of assignment ``name``."""
    return OTTER_TEMPLATE.format(name=name).rstrip("\n")


def _text(source: str | list[str]) -> str:
    return source if isinstance(source, str) else "".join(source)


def setup_cells(name: str) -> list[dict]:
    """The two set-up cells of assignment ``name``: the chapters' Colab cell, then otter's."""
    colab = sync_setup_cell.canonical_source(ROOT)
    return [
        {"cell_type": "code", "execution_count": None, "id": sync_setup_cell.CELL_ID,
         "metadata": {"tags": list(sync_setup_cell.CELL_TAGS)}, "outputs": [],
         "source": colab.splitlines(keepends=True)},
        {"cell_type": "code", "execution_count": None, "id": OTTER_CELL_ID, "metadata": {},
         "outputs": [], "source": otter_source(name).splitlines(keepends=True)},
    ]


def _is_otter_cell(cell: dict) -> bool:
    return cell.get("cell_type") == "code" and OTTER_MARKER in _text(cell.get("source", ""))


def sync(path: Path, check: bool = False) -> bool:
    """Make the first two cells of ``path`` its set-up cells (replacing outdated ones).

    Returns whether the notebook changed (with ``check``: would change, and nothing is written).
    """
    nb = json.loads(path.read_text(encoding="utf8"))
    cells = nb["cells"]
    old = 0
    while old < min(2, len(cells)) and (
        sync_setup_cell.is_setup_cell(cells[old]) or _is_otter_cell(cells[old])
    ):
        old += 1
    want = setup_cells(path.stem)
    if [(_text(c["source"]), c.get("outputs"), c["metadata"]) for c in cells[:old]] == [
        (_text(c["source"]), c["outputs"], c["metadata"]) for c in want
    ]:
        return False
    if not check:
        nb["cells"] = want + cells[old:]
        path.write_text(json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False) + "\n",
                        encoding="utf8")
    return True


def requirements_text() -> str:
    """``requirements.txt`` of the grading image (``otter grade``, Docker): the package, installed
    editable from the book's repository so that it finds the stored ``results/`` of the clone."""
    url, branch = sync_setup_cell.repository(ROOT)
    return (
        "# Written by assignments/build.py --sync from repository: in _config.yml; do not edit.\n"
        f"-e git+{url}@{branch}#egg=supercollapse\n"
    )


def sync_requirements(check: bool = False) -> bool:
    """Write ``assignments/requirements.txt``; return whether it changed (would change)."""
    text = requirements_text()
    if REQUIREMENTS.is_file() and REQUIREMENTS.read_text(encoding="utf8") == text:
        return False
    if not check:
        REQUIREMENTS.write_text(text, encoding="utf8")
    return True


def build(master: Path, out: Path = DEFAULT_OUT) -> Path:
    """Run ``otter assign`` on ``master`` into ``out/<name>``; return that folder.

    The autograder bundle is renamed from otter's time-stamped name to ``autograder.zip``.
    Tests are not run here (``tests/test_assignments.py`` grades every assignment).
    """
    dest = Path(out).resolve() / master.stem
    if dest.exists():
        shutil.rmtree(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "otter", "assign", "--no-run-tests", str(master), str(dest)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=master.parent)
    if proc.returncode != 0:
        raise RuntimeError(f"otter assign failed on {master.name}:\n{proc.stdout}\n{proc.stderr}")
    zips = sorted((dest / "autograder").glob("*.zip"))
    if len(zips) != 1:
        raise RuntimeError(f"{master.name}: expected one autograder zip, found {zips}")
    zips[0].rename(dest / "autograder" / "autograder.zip")
    return dest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="assignments to build (default: all)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    parser.add_argument("--sync", action="store_true", help="write the set-up cells and stop")
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 if a master's set-up cells are out of date")
    args = parser.parse_args(argv)
    paths = masters(args.names)
    if args.sync or args.check:
        stale = [p for p in paths if sync(p, check=args.check)]
        if sync_requirements(check=args.check):
            stale.append(REQUIREMENTS)
        for p in stale:
            print(f"{'out of date' if args.check else 'updated'}: {p.relative_to(ROOT)}")
        if args.check and stale:
            print("run: .venv/bin/python assignments/build.py --sync", file=sys.stderr)
            return 1
        return 0
    for p in paths:
        dest = build(p, args.out)
        print(f"{p.stem}: {dest}/student/{p.name}, {dest}/autograder/autograder.zip")
    return 0


if __name__ == "__main__":
    sys.exit(main())
