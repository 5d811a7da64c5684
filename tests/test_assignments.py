"""Acceptance tests of the classroom assignments (assignments/*.ipynb, otter-grader).

Every master notebook is built with ``otter assign`` (assignments/build.py) and graded with its
autograder bundle (hidden tests included) by otter's local grader, the API behind ``otter run``,
in debug mode (a cell that raises fails the grading):

* the master notebook, solutions in, runs top to bottom and scores full marks;
* the student notebook, left blank, runs without raising, scores below full marks and keeps
  every cell of the master that is not a solution or a test;
* no solution line and no hidden test appears in what students get (notebook and tests/).

The whole file takes one to three minutes on two cores, depending on their load (two executions
per assignment; only Part I trains a network, for a few seconds).
"""

from __future__ import annotations

import importlib.util
import re
import zipfile
from pathlib import Path

import nbformat
import pytest

otter_api = pytest.importorskip("otter.api", reason="otter-grader is in the 'classroom' extra")

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("assignments_build", ROOT / "assignments" / "build.py")
build = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build)

MASTERS = build.masters()
NAMES = [p.stem for p in MASTERS]
BLOCK = re.compile(r"#\s*(BEGIN|END)\s+(QUESTION|SOLUTION|TESTS)\b", re.IGNORECASE)


def _src(cell) -> str:
    return cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])


def parse_master(path: Path) -> dict:
    """Questions, solution cells, test cells and the remaining ('kept') cells of a master."""
    nb = nbformat.read(path, as_version=4)
    questions, solutions, tests, kept = [], [], [], []
    state = None  # None, "solution" or "tests"
    for cell in nb.cells:
        src = _src(cell)
        first = src.lstrip().splitlines()[0] if src.strip() else ""
        if cell.cell_type == "raw":
            if first.startswith("# ASSIGNMENT CONFIG"):
                continue
            m = BLOCK.match(first)
            assert m, f"{path.name}: unexpected raw cell {first!r}"
            kind, what = m.group(1).upper(), m.group(2).upper()
            if what == "QUESTION" and kind == "BEGIN":
                questions.append(dict(line.split(": ", 1) for line in src.splitlines()[1:]))
            elif what in ("SOLUTION", "TESTS"):
                state = what.lower() if kind == "BEGIN" else None
            continue
        if state == "solution":
            solutions.append(src)
        elif state == "tests":
            tests.append(src)
        else:
            kept.append((cell.cell_type, src))
    return {"questions": questions, "solutions": solutions, "tests": tests, "kept": kept}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("assignments")
    return {p.stem: build.build(p, out) for p in MASTERS}


def grade(notebook: Path, bundle: Path):
    """Grade ``notebook`` with the autograder zip, not ignoring errors (``otter run --debug``)."""
    return otter_api.grade_submission(str(notebook), str(bundle), quiet=True, debug=True)


def test_three_parts_and_setup_cells_in_sync():
    assert {"part1_scaling_laws", "part2_collapse", "part3_noise_model"} <= set(NAMES)
    assert build.main(["--check"]) == 0, "run: .venv/bin/python assignments/build.py --sync"


@pytest.mark.parametrize("name", NAMES)
def test_master_format(name):
    """At least 4 questions, each with points, a public and a hidden test; tests in files."""
    path = ROOT / "assignments" / f"{name}.ipynb"
    master = parse_master(path)
    questions = master["questions"]
    assert len(questions) >= 4
    assert all(float(q["points"]) > 0 for q in questions), "points per question"
    hidden = [t for t in master["tests"] if re.search(r"hidden:\s*true", t)]
    assert len(hidden) >= len(questions) and len(master["tests"]) > len(hidden)
    config = nbformat.read(path, as_version=4).cells[2]
    assert config.cell_type == "raw" and "files: true" in _src(config), "tests in files"
    coding = [s for s in master["solutions"] if re.search(r"\b(fits|frontier|theory|nm|train|"
                                                          r"check_scaling|collapse_metrics)\b", s)]
    assert len(coding) >= 2, "at least two coding questions that use the package"


@pytest.mark.parametrize("name", NAMES)
def test_master_scores_full_marks(name, built, tmp_path):
    """The master notebook runs top to bottom (debug grading) and its solutions pass every test.

    The master is graded as it is, plus the assignment name that otter assign writes into the
    metadata of the notebooks it generates (the grader checks it).
    """
    master = nbformat.read(ROOT / "assignments" / f"{name}.ipynb", as_version=4)
    master.metadata["otter"] = {"assignment_name": name}
    nbformat.write(master, tmp_path / f"{name}.ipynb")
    res = grade(tmp_path / f"{name}.ipynb", built[name] / "autograder" / "autograder.zip")
    assert res.possible >= 8
    assert res.total == pytest.approx(res.possible), res.summary()


@pytest.mark.parametrize("name", NAMES)
def test_blank_student_notebook(name, built):
    """Left blank, the student notebook runs without raising and scores below full marks."""
    student = built[name] / "student" / f"{name}.ipynb"
    n_cells = len(nbformat.read(student, as_version=4).cells)
    res = grade(student, built[name] / "autograder" / "autograder.zip")
    assert res.total < res.possible
    sources = [_src(c) for c in res.notebook.cells]
    kept = [_src(c) for c in nbformat.read(student, as_version=4).cells]
    it = iter(sources)
    missing = [s for s in kept if not any(s in t for t in it)]
    assert not missing and len(kept) == n_cells, f"cells lost in grading: {missing[:2]}"


@pytest.mark.parametrize("name", NAMES)
def test_student_notebook_keeps_every_cell(name, built):
    """Every master cell outside solutions and tests is in the student notebook, in order,
    and every question has an answer cell and a check cell."""
    master = parse_master(ROOT / "assignments" / f"{name}.ipynb")
    student = nbformat.read(built[name] / "student" / f"{name}.ipynb", as_version=4)
    cells = [(c.cell_type, _src(c)) for c in student.cells]
    it = iter(cells)
    missing = [k for k in master["kept"] if k not in it]
    assert not missing, f"lost cells: {missing[:2]}"
    answers = [c for c in student.cells if "otter_answer_cell" in c.metadata.get("tags", [])]
    assert len(answers) == len(master["questions"])
    for q in master["questions"]:
        assert ("code", f'grader.check("{q["name"]}")') in cells
        assert (built[name] / "student" / "tests" / f"{q['name']}.py").is_file()


def _solution_lines(solution: str) -> list[str]:
    """The lines of a solution cell that students must not see (not the '...' prompts)."""
    out, prompt = [], False
    for line in solution.splitlines():
        s = line.strip()
        if s.endswith("# BEGIN PROMPT") or s.endswith("# END PROMPT"):
            prompt = s.endswith("# BEGIN PROMPT")
            continue
        if prompt or len(s) < 8 or s.startswith("#") or s.endswith("..."):
            continue
        out.append(re.sub(r"\s*#\s*SOLUTION\s*$", "", s))
    return out


def _test_functions(tests: list[str], hidden: bool) -> list[str]:
    return [t.split("# END TEST CONFIG", 1)[-1].strip() for t in tests
            if bool(re.search(r"hidden:\s*true", t)) == hidden]


@pytest.mark.parametrize("name", NAMES)
def test_no_solution_or_hidden_test_leaks(name, built):
    master = parse_master(ROOT / "assignments" / f"{name}.ipynb")
    student_dir = built[name] / "student"
    files = [student_dir / f"{name}.ipynb", *sorted((student_dir / "tests").glob("*.py"))]
    shipped = "\n".join(f.read_text(encoding="utf8") for f in files)
    shipped_code = "\n".join(
        [_src(c) for c in nbformat.read(files[0], as_version=4).cells]
        + [f.read_text(encoding="utf8") for f in files[1:]])
    secret = [line for s in master["solutions"] for line in _solution_lines(s)]
    assert len(secret) >= len(master["questions"])
    leaked = [line for line in secret if line in shipped_code]
    assert not leaked, f"solution text in the student files: {leaked[:3]}"
    hidden = _test_functions(master["tests"], hidden=True)
    names = [re.match(r"def (\w+)", h).group(1) for h in hidden]
    assert len(names) >= len(master["questions"])
    assert not [n for n in names if n in shipped], "a hidden test is in the student files"
    assert "hidden=True" not in shipped
    public = [re.match(r"def (\w+)", h).group(1) for h in _test_functions(master["tests"], False)]
    assert all(n in shipped for n in public), "public tests ship with the student notebook"
    with zipfile.ZipFile(built[name] / "autograder" / "autograder.zip") as z:
        bundled = "\n".join(z.read(n).decode() for n in z.namelist() if n.startswith("tests/"))
    assert all(n in bundled for n in names + public), "the autograder bundle has every test"
