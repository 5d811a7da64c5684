"""Build the classroom assignments with otter-grader, and keep their masters in sync.

Each ``assignments/<name>.ipynb`` is an otter-grader *master notebook* (questions, solutions,
public and hidden tests). ``otter assign`` turns it into, under ``_build/assignments/<name>/``:

* ``student/<name>.ipynb`` -- the notebook to hand out (solutions replaced by ``...``);
* ``student/tests/`` -- its public tests, one file per question (used by ``grader.check``);
* ``autograder/`` -- the notebook with solutions, and ``autograder.zip``, the grading bundle
  with the hidden tests (for ``otter run`` / ``otter grade`` / Gradescope).

**Pinned to the build.** A build records the book's commit it is made from: the tag at ``HEAD``
if there is one, else ``HEAD``'s commit (``--ref`` chooses another). The grading bundle installs
the package at that commit (its ``requirements.txt``), and the student notebook's set-up cell
clones the repository at that commit on Colab, so that students and the grader run the same
code on the same stored results. Push the commit before handing the notebooks out.

Every master starts with two set-up cells that only act on Google Colab: the chapters' set-up
cell (from ``book/_ext/sync_setup_cell.py``, its one canonical source; pinned as above in the
built notebooks) and the otter-grader cell below (its one source here). On Colab the otter cell
installs the otter-grader version of ``constraints.txt`` and builds the public tests with
``--student-only``, which writes the ``student/`` folder and nothing else (no solutions, no
hidden tests).

``--sync`` also writes what is counted from the masters: the "Four questions, 10 points."
sentence of each master's introduction, the "(3 points)" in each question's heading, and the
table of assignments in ``book/instructors.md``. Run from the repository root::

    .venv/bin/python assignments/build.py                  # build every assignment (make assignments)
    .venv/bin/python assignments/build.py part1_scaling_laws --out /tmp/a
    .venv/bin/python assignments/build.py --student-only part1_scaling_laws   # public tests only
    .venv/bin/python assignments/build.py --sync           # write set-up cells, counts and table
    .venv/bin/python assignments/build.py --check          # exit 1 if any of them is out of date

``tests/test_assignments.py`` builds every assignment and grades it.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HERE = ROOT / "assignments"
DEFAULT_OUT = ROOT / "_build" / "assignments"
CONSTRAINTS = ROOT / "constraints.txt"
GUIDE = ROOT / "book" / "instructors.md"

sys.path.insert(0, str(ROOT / "book" / "_ext"))
import sync_setup_cell  # noqa: E402  (the chapters' Colab set-up cell)

# The otter-grader cell of every master notebook ({name} is the assignment, {otter} the version).
# On Colab it installs otter-grader and finds the public tests: a tests/ folder uploaded next to
# the notebook (the instructor's own), else it builds them, and only them, from the master
# notebook in the clone made by the set-up cell above (which works in <clone>/chapters).
# Everywhere it starts otter's checker on the tests/ folder next to the notebook.
OTTER_TEMPLATE = '''\
# Otter-grader set-up (the same in every assignment; written by assignments/build.py, do not edit
# here). On Google Colab only: install otter-grader and fetch this assignment's public tests.
import sys

if "google.colab" in sys.modules:
    import os
    import subprocess

    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "otter-grader=={otter}"], check=True)
    if os.path.isdir("/content/tests"):  # a tests/ folder uploaded next to the notebook
        os.chdir("/content")
    else:  # build the public tests (and nothing else) from the master notebook in the book's clone
        clone = os.path.dirname(os.getcwd())
        build = [sys.executable, f"{{clone}}/assignments/build.py", "--student-only", "{name}"]
        subprocess.run(build, check=True)
        os.chdir(f"{{clone}}/_build/assignments/{name}/student")
import otter

grader = otter.Notebook(tests_dir="tests")
'''
OTTER_MARKER = "written by assignments/build.py"
OTTER_CELL_ID = "otter-setup"

# What a built notebook adds to the chapters' set-up cell, just before its call: a clone of the
# book at the commit (or tag) the assignment was built from; colab_setup() then finds the clone
# and uses it as it is. (git clone --branch takes no commit; git fetch takes both.)
PIN_TEMPLATE = '''
    # Pinned by assignments/build.py: the book at {ref},
    # which this assignment was built from, so that students run the code that grades them.
    if not os.path.isdir("{clone}"):
        subprocess.run(["git", "init", "-q", "{clone}"], check=True)
        subprocess.run(["git", "-C", "{clone}", "fetch", "-q", "--depth", "1",
                        "{url}", "{ref}"], check=True)
        subprocess.run(["git", "-C", "{clone}", "checkout", "-q", "FETCH_HEAD"], check=True)
'''

# "Four questions, 10 points." in a master's introduction; "(3 points)" in a question's heading.
COUNT_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
INTRO_COUNT = re.compile(r"\b(\w+)(\s+)questions?,(\s+)([0-9.]+)(\s+)points?\.")
HEADING = re.compile(r"^\*\*Question (\d+): (.*?) \(([0-9.]+) points?\)\.\*\*", re.S)
TABLE_BEGIN = "% BEGIN assignments table: written by assignments/build.py --sync, do not edit"
TABLE_END = "% END assignments table"


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


def otter_version(constraints: Path = CONSTRAINTS) -> str:
    """The otter-grader version pinned in ``constraints.txt`` (the one ``make venv`` installs)."""
    match = re.search(r"^otter-grader==([^\s;#]+)", constraints.read_text(encoding="utf8"), re.M)
    if not match:
        raise ValueError(f"{constraints}: no 'otter-grader==VERSION' line")
    return match.group(1)


def otter_source(name: str) -> str:
    """The otter-grader set-up cell of assignment ``name``."""
    return OTTER_TEMPLATE.format(name=name, otter=otter_version()).rstrip("\n")


def build_ref(root: Path = ROOT) -> str:
    """The book's tag at ``HEAD`` if there is one, else ``HEAD``'s commit. Warns on stderr when
    the package, the results or the assignments have uncommitted changes (the pin lacks them)."""
    git = ["git", "-C", str(root)]
    tag = subprocess.run([*git, "describe", "--tags", "--exact-match", "HEAD"],
                         capture_output=True, text=True)
    if tag.returncode == 0:
        ref = tag.stdout.strip()
    else:
        head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True)
        if head.returncode != 0:
            raise SystemExit(f"{root} is not a git clone: pass --ref <tag or commit> to pin to")
        ref = head.stdout.strip()
    dirty = subprocess.run([*git, "status", "--porcelain", "--", "src", "results", "assignments",
                            "pyproject.toml"], capture_output=True, text=True).stdout
    if dirty.strip():
        print(f"warning: uncommitted changes, which the pinned {ref} lacks:\n{dirty}",
              file=sys.stderr)
    return ref


def pinned_setup_source(ref: str) -> str:
    """The chapters' set-up cell with, before its call, a clone of the book at ``ref``."""
    url, branch = sync_setup_cell.repository(ROOT)
    name = url.rsplit("/", 1)[-1].removesuffix(".git")
    source = sync_setup_cell.canonical_source(ROOT)
    call = sync_setup_cell.CALL.format(repo_url=url, branch=branch, clone=name,
                                       jax_floor=sync_setup_cell.jax_floor(ROOT)).rstrip("\n")
    if not source.endswith(call):
        raise ValueError("the chapters' set-up cell no longer ends with its call")
    pin = PIN_TEMPLATE.format(ref=ref, clone=f"/content/{name}", url=url).rstrip("\n")
    return source[: -len(call)] + pin + "\n" + call.replace(f'branch="{branch}"', f'branch="{ref}"')


def requirements_text(ref: str) -> str:
    """``requirements.txt`` of the grading bundle: the package at ``ref``, installed editable
    from the book's repository so that it finds the stored ``results/`` of the clone."""
    url, _ = sync_setup_cell.repository(ROOT)
    return (
        f"# Written by assignments/build.py: the book at {ref}, which this bundle was built from.\n"
        f"-e git+{url}@{ref}#egg=supercollapse\n"
    )


def _text(source: str | list[str]) -> str:
    return source if isinstance(source, str) else "".join(source)


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def setup_cells(name: str) -> list[dict]:
    """The two set-up cells of assignment ``name``: the chapters' Colab cell, then otter's."""
    colab = sync_setup_cell.canonical_source(ROOT)
    return [
        {"cell_type": "code", "execution_count": None, "id": sync_setup_cell.CELL_ID,
         "metadata": {"tags": list(sync_setup_cell.CELL_TAGS)}, "outputs": [],
         "source": _lines(colab)},
        {"cell_type": "code", "execution_count": None, "id": OTTER_CELL_ID, "metadata": {},
         "outputs": [], "source": _lines(otter_source(name))},
    ]


def _is_otter_cell(cell: dict) -> bool:
    return cell.get("cell_type") == "code" and OTTER_MARKER in _text(cell.get("source", ""))


def questions(nb: dict) -> list[dict]:
    """The questions of a master: ``name``, ``points`` (float), ``title`` (from its heading) and
    ``heading``, the index of the Markdown cell after ``# BEGIN QUESTION``."""
    out = []
    cells = nb["cells"]
    for i, cell in enumerate(cells):
        src = _text(cell["source"])
        if cell["cell_type"] == "raw" and src.lstrip().startswith("# BEGIN QUESTION"):
            config = dict(line.split(":", 1) for line in src.splitlines()[1:] if ":" in line)
            j = next(k for k in range(i + 1, len(cells)) if cells[k]["cell_type"] == "markdown")
            match = HEADING.match(_text(cells[j]["source"]))
            if not match:
                raise ValueError(f"question {config['name'].strip()}: its Markdown cell must start "
                                 "with **Question N: title (P points).**")
            out.append({"name": config["name"].strip(), "points": float(config["points"]),
                        "title": " ".join(match.group(2).split()), "heading": j})
    return out


def _points(x: float) -> str:
    return f"{x:g}"


def _intro(nb: dict) -> int:
    """Index of the master's introduction: the first Markdown cell."""
    return next(i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "markdown")


def _sync_counts(nb: dict) -> None:
    """Write the question count and points into the introduction and the headings."""
    qs = questions(nb)
    total = sum(q["points"] for q in qs)
    intro = nb["cells"][_intro(nb)]
    text = _text(intro["source"])
    if not INTRO_COUNT.search(text):
        raise ValueError("the introduction must say 'N questions, P points.'")
    count = COUNT_WORDS[len(qs)] if len(qs) < len(COUNT_WORDS) else str(len(qs))
    text = INTRO_COUNT.sub(lambda m: f"{count.capitalize() if m.group(1)[0].isupper() else count}"
                           f"{m.group(2)}question{'s' * (len(qs) != 1)},{m.group(3)}"
                           f"{_points(total)}{m.group(5)}points.", text, count=1)
    intro["source"] = _lines(text)
    for q in qs:
        cell = nb["cells"][q["heading"]]
        head = _text(cell["source"])
        fixed = re.sub(r"\(([0-9.]+) points?\)\.\*\*", f"({_points(q['points'])} point"
                       f"{'s' * (q['points'] != 1)}).**", head, count=1)
        cell["source"] = _lines(fixed)


def sync(path: Path, check: bool = False) -> bool:
    """Make the first two cells of ``path`` its set-up cells (replacing outdated ones), and the
    counts of its introduction and headings those of its questions.

    Returns whether the notebook changed (with ``check``: would change, and nothing is written).
    """
    text = path.read_text(encoding="utf8")
    nb = json.loads(text)
    cells = nb["cells"]
    old = 0
    while old < min(2, len(cells)) and (
        sync_setup_cell.is_setup_cell(cells[old]) or _is_otter_cell(cells[old])
    ):
        old += 1
    nb["cells"] = setup_cells(path.stem) + cells[old:]
    _sync_counts(nb)
    new = json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False) + "\n"
    if json.loads(new) == json.loads(text):
        return False
    if not check:
        path.write_text(new, encoding="utf8")
    return True


def guide_table(paths: list[Path]) -> str:
    """The table of assignments of ``book/instructors.md``, from the masters."""
    rows = ["| assignment | book | questions (points) | points |", "|---|---|---|---|"]
    for path in paths:
        nb = json.loads(path.read_text(encoding="utf8"))
        intro = " ".join(_text(nb["cells"][_intro(nb)]["source"]).split())
        part = re.search(r"(Part [IVX]+) of the book, (chapters? .*?)\.", intro)
        qs = questions(nb)
        listed = "; ".join(f"{i}. {q['title']} ({_points(q['points'])})" for i, q in
                           enumerate(qs, 1))
        book = f"{part.group(1)}, {part.group(2)}" if part else ""
        rows.append(f"| `{path.stem}` | {book} | {listed} | "
                    f"{_points(sum(q['points'] for q in qs))} |")
    return "\n".join(rows)


def sync_guide(check: bool = False, guide: Path = GUIDE) -> bool:
    """Write the table of assignments into ``guide``; return whether it changed (would change)."""
    text = guide.read_text(encoding="utf8")
    begin, end = text.find(TABLE_BEGIN), text.find(TABLE_END)
    if begin < 0 or end < begin:
        raise ValueError(f"{guide}: no '{TABLE_BEGIN}' ... '{TABLE_END}' block")
    new = text[: begin + len(TABLE_BEGIN)] + "\n" + guide_table(masters()) + "\n" + text[end:]
    if new == text:
        return False
    if not check:
        guide.write_text(new, encoding="utf8")
    return True


def _stage(master: Path, stage: Path, ref: str | None) -> Path:
    """A copy of ``master`` in ``stage``, its set-up cell pinned to ``ref``, with the bundle's
    ``requirements.txt`` (what ``requirements:`` of the assignment config names)."""
    nb = json.loads(master.read_text(encoding="utf8"))
    if ref is not None:
        first = nb["cells"][0]
        if not sync_setup_cell.is_setup_cell(first):
            raise ValueError(f"{master.name}: run assignments/build.py --sync first")
        first["source"] = _lines(pinned_setup_source(ref))
    (stage / "requirements.txt").write_text(requirements_text(ref or "main"), encoding="utf8")
    copy = stage / master.name
    copy.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf8")
    return copy


def build(master: Path, out: Path = DEFAULT_OUT, ref: str | None = None,
          student_only: bool = False) -> Path:
    """Run ``otter assign`` on ``master`` into ``out/<name>``; return that folder.

    ``ref`` (default: :func:`build_ref`) is the book's commit or tag that the set-up cell and
    the bundle install. With ``student_only``, only ``student/`` is written (the rest is built in
    a temporary folder and deleted) and nothing is pinned. The autograder bundle is renamed from
    otter's time-stamped name to ``autograder.zip``. Tests are not run here
    (``tests/test_assignments.py`` grades every assignment).
    """
    dest = Path(out).resolve() / master.stem
    if dest.exists():
        shutil.rmtree(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if ref is None and not student_only:
        ref = build_ref()
    with tempfile.TemporaryDirectory(prefix="assign-") as tmp:
        stage = Path(tmp) / "master"
        stage.mkdir()
        copy = _stage(master, stage, ref)
        target = Path(tmp) / "out" if student_only else dest
        cmd = [sys.executable, "-m", "otter", "assign", "--no-run-tests", str(copy), str(target)]
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=stage)
        if proc.returncode != 0:
            raise RuntimeError(f"otter assign failed on {master.name}:\n{proc.stdout}\n{proc.stderr}")
        if student_only:
            shutil.copytree(target / "student", dest / "student")
            return dest
    zips = sorted((dest / "autograder").glob("*.zip"))
    if len(zips) != 1:
        raise RuntimeError(f"{master.name}: expected one autograder zip, found {zips}")
    zips[0].rename(dest / "autograder" / "autograder.zip")
    return dest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="assignments to build (default: all)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    parser.add_argument("--ref", help="the book's tag or commit to pin to (default: the tag at "
                        "HEAD, else HEAD's commit)")
    parser.add_argument("--student-only", action="store_true",
                        help="write only the student notebooks and their public tests")
    parser.add_argument("--sync", action="store_true",
                        help="write the set-up cells, counts and the guide's table, and stop")
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 if --sync would change something")
    args = parser.parse_args(argv)
    paths = masters(args.names)
    if args.sync or args.check:
        stale = [p for p in paths if sync(p, check=args.check)]
        if sync_guide(check=args.check):
            stale.append(GUIDE)
        for p in stale:
            print(f"{'out of date' if args.check else 'updated'}: {p.relative_to(ROOT)}")
        if args.check and stale:
            print("run: .venv/bin/python assignments/build.py --sync", file=sys.stderr)
            return 1
        return 0
    ref = args.ref or (None if args.student_only else build_ref())
    for p in paths:
        dest = build(p, args.out, ref=ref, student_only=args.student_only)
        if args.student_only:
            print(f"{p.stem}: {dest}/student/{p.name} (public tests only)")
        else:
            print(f"{p.stem}: {dest}/student/{p.name}, {dest}/autograder/autograder.zip "
                  f"(pinned to {ref})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
