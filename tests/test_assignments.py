"""Acceptance tests of the classroom assignments (assignments/*.ipynb, otter-grader).

Every master notebook is built with ``otter assign`` (assignments/build.py) and graded with its
autograder bundle (hidden tests included) by otter's local grader, the API behind ``otter run``,
in debug mode (a cell that raises fails the grading):

* the master notebook, solutions in, runs top to bottom and scores full marks;
* the student notebook, left blank, runs without raising, scores below full marks and keeps
  every cell of the master that is not a solution or a test;
* no solution line and no hidden test appears in what students get (notebook and tests/);
* public tests check values loosely and carry at most a fifth of the points: a typical wrong
  answer to each question (``WRONG``) fails a public test, in-process and in a wrong-answer
  notebook graded by otter; wrong answers the loose checks let through (``SUBTLE``) fail a
  hidden test; no hidden test's failure message states an answer;
* answers left as ``...`` fail every test with "replace ... with your answer"; NumPy scalars
  (``np.float64``, ``np.int64``) pass.

The whole file takes four to six minutes on two cores, depending on their load (three otter
gradings and one in-process run per assignment, and the guide's commands, which grade Part II
five times; only Part I trains a network, for a few seconds).
"""

from __future__ import annotations

import ast
import importlib.util
import json
import re
import zipfile
from pathlib import Path

import nbformat
import numpy as np
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
    assert {"part1_scaling_laws", "part2_collapse", "part3_noise_model",
            "part6_recipes"} <= set(NAMES)
    assert build.main(["--check"]) == 0, "run: .venv/bin/python assignments/build.py --sync"


@pytest.mark.parametrize("name", NAMES)
def test_master_format(name):
    """At least 4 questions, each with points, a public and a hidden test; tests in files; the
    public tests carry at most a fifth of the points; every hidden assert has a message."""
    path = ROOT / "assignments" / f"{name}.ipynb"
    master = parse_master(path)
    questions = master["questions"]
    assert len(questions) >= 4
    assert all(float(q["points"]) > 0 for q in questions), "points per question"
    hidden = [t for t in master["tests"] if re.search(r"hidden:\s*true", t)]
    assert len(hidden) >= len(questions) and len(master["tests"]) > len(hidden)
    config = nbformat.read(path, as_version=4).cells[2]
    assert config.cell_type == "raw" and "files: true" in _src(config), "tests in files"
    points = [float(re.search(r"points:\s*([0-9.]+)", t).group(1)) for t in master["tests"]]
    public = sum(p for p, t in zip(points, master["tests"], strict=True) if t not in hidden)
    total = sum(float(q["points"]) for q in questions)
    assert sum(points) == total, "the tests' points add up to the questions' points"
    assert public <= 0.2 * total, "public tests carry few points (they check loosely)"
    for t in hidden:  # students see a hidden test's failing line and message (results.json)
        asserts = [n for n in ast.walk(ast.parse(t)) if isinstance(n, ast.Assert)]
        assert asserts and all(a.msg is not None for a in asserts), f"a message per assert:\n{t}"
    coding = [s for s in master["solutions"] if re.search(r"\b(fits|frontier|theory|nm|train|"
                                                          r"check_scaling|collapse_metrics|transfer_from_runs|lr_sensitivity|onset_rate)\b", s)]
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
    """Every master cell outside solutions and tests is in the student notebook, in order (the
    set-up cell pinned to the build), and every question has an answer cell and a check cell."""
    master = parse_master(ROOT / "assignments" / f"{name}.ipynb")
    student = nbformat.read(built[name] / "student" / f"{name}.ipynb", as_version=4)
    cells = [(c.cell_type, _src(c)) for c in student.cells]
    setup = build.sync_setup_cell.canonical_source(ROOT)
    pinned = ("code", build.pinned_setup_source(build.build_ref()))  # the set-up cell, pinned
    kept = [pinned if k == ("code", setup) else k for k in master["kept"]]
    assert pinned in kept
    it = iter(cells)
    missing = [k for k in kept if k not in it]
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


# --- the tests as students meet them: blank, wrong and numpy answers, in-process ------------------
#
# Each master's code cells (set-up, given code and solutions; not the tests) run once in-process;
# then each question's test file (the autograder's, hidden tests included) runs against that
# namespace with the question's answers replaced, the way otter's grader runs it.

# Typical wrong answers, run after the question's solution (one edit each). Each must fail at
# least one *public* test, so that a student sees it before submitting.
WRONG = {
    ("part1_scaling_laws", "q1"): ["b_hat = fit.a"],
    ("part1_scaling_laws", "q2"): ["gamma = 1 + law.gamma", "fr = frontier.compute_frontier("
                                   "dict(zip(sizes[:4], to_ladder(horizon)[:4])))"],
    ("part1_scaling_laws", "q3"): ["compute_factor = 2 ** 0.1", "compute_factor = 0.5 ** (1 / 0.1)"],
    ("part1_scaling_laws", "q4"): ["samples_per_param = run.curves['samples'][-1]",
                                   "final_loss = float(run.curves['test_loss'][0, 0])"],
    ("part2_collapse", "q1"): ["ell_quarter = (2 * 0.25**0.3 + 1) / 3"],
    ("part2_collapse", "q2"): ["ell = model.normalized_curves(X, SIZES, 1.0)",
                               "gamma_star = 0.3 / 0.6"],
    ("part2_collapse", "q3"): ["frac_linear, frac_constant = frac_constant, frac_linear"],
    ("part2_collapse", "q4"): ["outlier_width = report.outlier", "verdict = report"],
    ("part3_noise_model", "q1"): ["tau_ratio = (T - 1) / (2 * T)", "tau = np.cumsum(eta)"],
    ("part3_noise_model", "q2"): ["alpha_B = fit.alpha"],
    ("part3_noise_model", "q3"): [
        "rms_error = float(np.sqrt(np.mean((pred / held_out.loss.mean(axis=0)) ** 2)))"],
    ("part3_noise_model", "q4"): [
        "normalized_noise = np.sqrt(0.02**2 + 0.01**2 + 2 * 0.9 * 0.02 * 0.01)"],
    ("part6_recipes", "q1"): ["penalty_sp_global = t_sp.penalty[0]", "drift_mup = t_sp.drift"],
    ("part6_recipes", "q2"): ["sensitivity_ratio = sens_qk_norm / sens_no_qk_norm"],
    ("part6_recipes", "q3"): ["width_eps = 256 * (1e-4 / 1e-8) ** 1.7",
                              "eps_equivalent = 1e-5 * 1000"],
    ("part6_recipes", "q4"): ["onset_no_qk_norm = onset_rate(LRS, peak_logits('no_qk_norm', 64), 10.0)"],
}
# Wrong answers that pass the loose public tests; the hidden tests must catch them.
SUBTLE = {
    ("part1_scaling_laws", "q3"): ["compute_factor = 1000"],
    ("part2_collapse", "q1"): ["ell_quarter = (0.5 * 0.25**-0.3 + 1) / 1.5"],  # r = mu / nu
    ("part2_collapse", "q4"): ["verdict = 'borderline'"],  # a valid verdict, not this ladder's
    ("part3_noise_model", "q1"): ["tau_ratio = tau[-1] / (ETA0 * T)"],  # misses the last step
    ("part6_recipes", "q2"): [  # width 16 instead of 64
        "sens_qk_norm = lr_sensitivity(final_losses('qk_norm', 16), L_INIT)\n"
        "sens_no_qk_norm = lr_sensitivity(final_losses('no_qk_norm', 16), L_INIT)\n"
        "sensitivity_ratio = sens_no_qk_norm / sens_qk_norm"],
}
REPLACE = "replace ... with your answer"


def _code_cells_of_master(path: Path) -> list[str]:
    """The code a student's completed notebook runs: every code cell but the tests."""
    nb = nbformat.read(path, as_version=4)
    cells, in_tests = [], False
    for cell in nb.cells:
        first = _src(cell).lstrip().splitlines()[0] if _src(cell).strip() else ""
        if cell.cell_type == "raw":
            m = BLOCK.match(first)
            if m and m.group(2).upper() == "TESTS":
                in_tests = m.group(1).upper() == "BEGIN"
        elif cell.cell_type == "code" and not in_tests and cell.get("id") != build.OTTER_CELL_ID:
            cells.append(_src(cell))  # (otter's cell would start a log in the working directory)
    return cells


def answer_names(student: Path) -> list[list[str]]:
    """Per answer cell of a student notebook, in order, the names it leaves as ``name = ...``."""
    cells = [c for c in nbformat.read(student, as_version=4).cells
             if "otter_answer_cell" in c.metadata.get("tags", [])]
    return [re.findall(r"^(\w+) = \.\.\.$", _src(c), flags=re.MULTILINE) for c in cells]


@pytest.fixture(scope="module")
def solved() -> dict[str, dict]:
    """Each master's namespace after running its code, solutions included (Part I trains)."""
    out = {}
    for path in MASTERS:
        env: dict = {"__name__": "__main__"}
        for src in _code_cells_of_master(path):
            exec(compile(src, str(path), "exec"), env)  # noqa: S102 (the book's own notebooks)
        out[path.stem] = env
    return out


def run_question(built: dict[str, Path], name: str, question: str, env: dict):
    """Run the autograder's tests of ``question`` on ``env``: ``(public, hidden)`` results."""
    from otter.test_files.exception_test import ExceptionTestFile

    tests = ExceptionTestFile.from_file(str(built[name] / "autograder" / "tests" / f"{question}.py"))
    tests.run(env)
    results = tests.test_case_results
    return ([r for r in results if not r.test_case.hidden], [r for r in results if r.test_case.hidden])


def _questions(name: str) -> list[str]:
    return [q["name"] for q in parse_master(ROOT / "assignments" / f"{name}.ipynb")["questions"]]


def _answers(built, name) -> dict[str, list[str]]:
    student = built[name] / "student" / f"{name}.ipynb"
    return dict(zip(_questions(name), answer_names(student), strict=True))


NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?:e[-+]?\d+)?(?![\w.])")


def _numbers(env: dict, names: list[str]) -> list[float]:
    out = []
    for n in names:
        v = env[n]
        if isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool):
            out.append(float(v))
    return out


def assert_states_no_answer(message: str, answers: list[float], solutions: list[str]) -> None:
    """A failure message (the failing line and the assertion's text) must not give the answer:
    no line of a solution, no number within 0.01% of an answer (numbers 0 and 1 aside)."""
    text = re.sub(r"Error at line \d+ in test \w+", "", message)
    leaked = [line for line in solutions if line in text]
    assert not leaked, f"a solution line in a failure message: {leaked[0]!r}\n{message}"
    for token in NUMBER.findall(text):
        value = float(token)
        close = [a for a in answers if a not in (0.0, 1.0) and np.isclose(value, a, rtol=1e-4)]
        assert not close, f"the answer {close[0]} in a failure message:\n{message}"


def _solutions(name: str) -> list[str]:
    master = parse_master(ROOT / "assignments" / f"{name}.ipynb")
    return [line for s in master["solutions"] for line in _solution_lines(s)]


@pytest.mark.parametrize("name", NAMES)
def test_solutions_pass_in_process(name, built, solved):
    for q, names in _answers(built, name).items():
        assert names, f"{name} {q}: no 'name = ...' in its answer cell"
        public, hidden = run_question(built, name, q, dict(solved[name]))
        failed = [r.message for r in public + hidden if not r.passed]
        assert not failed, f"{name} {q}: {failed[0]}"


@pytest.mark.parametrize("name", NAMES)
def test_blank_answers_say_replace(name, built, solved):
    """With its answers left as ``...``, every test of every question (public and hidden) fails
    first with "replace ... with your answer", not with a TypeError or a misleading hint."""
    for q, names in _answers(built, name).items():
        env = dict(solved[name]) | {n: ... for n in names}
        public, hidden = run_question(built, name, q, env)
        assert public and hidden
        for r in public + hidden:
            assert not r.passed and REPLACE in r.message and "AssertionError" in r.message, (
                f"{name} {q}: {r.message}")


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("kind", ["float64", "int64"])
def test_numpy_scalars_are_accepted(name, kind, built, solved):
    """Numeric answers given as NumPy scalars pass every test: ``np.float64`` for every number,
    ``np.int64`` for every whole number (such as a compute factor of 1024)."""
    converted = 0
    for q, names in _answers(built, name).items():
        env = dict(solved[name])
        for n in names:
            v = env[n]
            if not isinstance(v, int | float | np.integer | np.floating) or isinstance(v, bool):
                continue
            if kind == "float64":
                env[n] = np.float64(v)
            elif float(v).is_integer():
                env[n] = np.int64(v)
            else:
                continue
            converted += 1
        public, hidden = run_question(built, name, q, env)
        failed = [r.message for r in public + hidden if not r.passed]
        assert not failed, f"{name} {q} with {kind} answers: {failed[0]}"
    assert converted >= (2 if kind == "float64"
                         else name not in ("part3_noise_model", "part6_recipes"))  # no whole numbers


def _wrong_cases(table):
    return [(n, q, code) for (n, q), codes in table.items() for code in codes]


def test_every_question_has_a_wrong_answer():
    assert {(n, q) for n in NAMES for q in _questions(n)} <= set(WRONG)


@pytest.mark.parametrize("name,question,code", _wrong_cases(WRONG))
def test_wrong_answer_fails_a_public_test(name, question, code, built, solved):
    """A typical wrong answer fails at least one public test (the student sees it in
    ``grader.check``), and the hidden tests' messages do not state the answer."""
    env = dict(solved[name])
    answers = _numbers(env, _answers(built, name)[question])
    exec(code, env)  # noqa: S102
    public, hidden = run_question(built, name, question, env)
    assert any(not r.passed for r in public), f"{name} {question}: {code!r} passes the public tests"
    for r in hidden:
        if not r.passed:
            assert_states_no_answer(r.message, answers, _solutions(name))


@pytest.mark.parametrize("name,question,code", _wrong_cases(SUBTLE))
def test_subtle_wrong_answer_fails_a_hidden_test(name, question, code, built, solved):
    """Wrong answers that the loose public tests let through fail a hidden test, whose message
    says what to check without stating the answer."""
    env = dict(solved[name])
    answers = _numbers(env, _answers(built, name)[question])
    exec(code, env)  # noqa: S102
    public, hidden = run_question(built, name, question, env)
    assert all(r.passed for r in public), [r.message for r in public if not r.passed]
    failed = [r for r in hidden if not r.passed]
    assert failed, f"{name} {question}: {code!r} passes the hidden tests"
    for r in failed:
        assert_states_no_answer(r.message, answers, _solutions(name))


@pytest.mark.parametrize("name", NAMES)
def test_wrong_answer_notebook(name, built, solved, tmp_path):
    """The student notebook with a typical wrong answer to every question (its solution, then the
    first edit of ``WRONG``), graded by otter: every question loses points and shows a failed
    public test, and no hidden test's failure message (in ``results.json``) states an answer."""
    master = parse_master(ROOT / "assignments" / f"{name}.ipynb")
    questions = _questions(name)
    assert len(master["solutions"]) == len(questions), "one solution cell per question"
    nb = nbformat.read(built[name] / "student" / f"{name}.ipynb", as_version=4)
    answer_cells = [c for c in nb.cells if "otter_answer_cell" in c.metadata.get("tags", [])]
    for cell, solution, q in zip(answer_cells, master["solutions"], questions, strict=True):
        cell.source = solution + "\n" + WRONG[(name, q)][0] + "\n"
    nbformat.write(nb, tmp_path / f"{name}.ipynb")
    res = grade(tmp_path / f"{name}.ipynb", built[name] / "autograder" / "autograder.zip")
    answers = _answers(built, name)
    for q in questions:
        results = res.get_result(q).test_case_results
        assert res.get_score(q) < res.get_result(q).possible, f"{q} keeps full marks"
        assert any(not r.passed for r in results if not r.test_case.hidden), f"{q}: public pass"
        for r in results:
            if r.test_case.hidden and not r.passed:
                assert_states_no_answer(r.message, _numbers(solved[name], answers[q]),
                                        _solutions(name))


# --- pinned builds, what Colab builds, counts generated from the masters -----------------------


def test_built_notebooks_and_bundles_pin_the_build(built):
    """The student notebook's set-up cell and the grading bundle both install the book at the
    commit (or tag) the build was made from, not a branch; otter-grader is pinned."""
    ref = build.build_ref()
    assert re.fullmatch(r"[0-9a-f]{40}", ref) or not re.fullmatch(r"main|master", ref)
    for name in NAMES:
        cells = nbformat.read(built[name] / "student" / f"{name}.ipynb", as_version=4).cells
        assert _src(cells[0]) == build.pinned_setup_source(ref)
        assert f'"{ref}"' in _src(cells[0]) and 'branch="main"' not in _src(cells[0])
        assert f'"otter-grader=={build.otter_version()}"' in _src(cells[1])
        with zipfile.ZipFile(built[name] / "autograder" / "autograder.zip") as z:
            env = z.read("environment.yml").decode()
        assert f"@{ref}#egg=supercollapse" in env and "@main" not in env
        assert f"otter-grader[grading,plugins]=={build.otter_version()}" in env


def test_pinned_setup_cells_on_colab(built, monkeypatch, tmp_path):
    """The student notebook's two set-up cells, run as on Colab (fake ``google.colab``, pip and
    git recorded, not run): the book is fetched at the pinned commit, otter-grader installed at
    its pinned version, and the public tests built with ``--student-only``."""
    import os
    import subprocess
    import sys
    import types

    name = "part2_collapse"
    cells = nbformat.read(built[name] / "student" / f"{name}.ipynb", as_version=4).cells
    ref, calls, chdirs = build.build_ref(), [], []
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    fake_jax = types.SimpleNamespace(__version__="fake", devices=lambda: ["cpu"])
    monkeypatch.setitem(sys.modules, "jax", fake_jax)
    monkeypatch.setattr(subprocess, "run", lambda args, **kw: calls.append(list(args)))
    monkeypatch.setattr(os, "chdir", chdirs.append)
    clone = "/content/scaling-collapse-book"  # there once `git init` has run, not /content/tests
    monkeypatch.setattr(os.path, "isdir", lambda path: path == clone and ["git", "init", "-q",
                                                                          clone] in calls)
    monkeypatch.setattr(sys, "path", list(sys.path))
    for cell in cells[:2]:
        exec(compile(_src(cell), name, "exec"), {"__name__": "__main__"})  # noqa: S102
    git = [c for c in calls if c[0] == "git"]
    assert len(git) == 3, f"colab_setup() should find the pinned clone, not clone again: {git}"
    assert git[0] == ["git", "init", "-q", clone]
    assert git[1][-2:] == [build.sync_setup_cell.repository(ROOT)[0], ref]
    assert git[2][-3:] == ["checkout", "-q", "FETCH_HEAD"]
    pip = [c for c in calls if c[1:4] == ["-m", "pip", "install"]]
    assert any(f"{clone}[colab]" in c for c in pip), pip
    assert pip[-1][-1] == f"otter-grader=={build.otter_version()}"
    assert calls[-1][-2:] == ["--student-only", name]
    assert chdirs[0] == f"{clone}/chapters" and chdirs[-1].endswith(f"/{name}/student")
    # The recorded git commands, run for real against this repository: they check out the
    # pinned commit (a commit, which git clone --branch cannot take).
    monkeypatch.undo()
    url, local = build.sync_setup_cell.repository(ROOT)[0], tmp_path / "clone"
    for args in git:
        args = [str(local) if a == clone else f"file://{ROOT}" if a == url else a for a in args]
        subprocess.run(args, check=True, capture_output=True)
    head = subprocess.run(["git", "-C", str(local), "rev-parse", "HEAD"], capture_output=True,
                          text=True, check=True).stdout.strip()
    expected = subprocess.run(["git", "-C", str(ROOT), "rev-parse", f"{ref}^{{commit}}"],
                              capture_output=True, text=True, check=True).stdout.strip()
    assert head == expected and (local / "results" / "README.md").is_file()


def test_student_only_build_writes_no_solution(tmp_path):
    """``build.py --student-only`` (what the Colab cell runs) leaves only ``student/``: no
    solutions notebook, no hidden test, no bundle, anywhere under its output folder."""
    name = "part2_collapse"
    assert build.main(["--student-only", name, "--out", str(tmp_path)]) == 0
    files = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert files == [f"{name}/student/{name}.ipynb"] + [
        f"{name}/student/tests/{q}.py" for q in sorted(_questions(name))]
    text = "\n".join((tmp_path / f).read_text(encoding="utf8") for f in files)
    master = parse_master(ROOT / "assignments" / f"{name}.ipynb")
    hidden = [re.match(r"def (\w+)", h).group(1) for h in _test_functions(master["tests"], True)]
    assert not [n for n in hidden if n in text] and "hidden=True" not in text
    assert not [line for line in _solutions(name) if line in text]


def test_counts_and_guide_table_follow_the_masters(tmp_path, monkeypatch):
    """The "Four questions, 10 points." sentence, each heading's points and the guide's table
    are written from the questions' configs (``--sync``); ``--check`` fails when they differ."""
    master = tmp_path / "part2_collapse.ipynb"
    text = (ROOT / "assignments" / master.name).read_text(encoding="utf8")
    master.write_text(text.replace('"points: 2"', '"points: 4"', 1), encoding="utf8")
    assert build.sync(master, check=True)
    assert build.sync(master) and not build.sync(master, check=True)
    nb = nbformat.read(master, as_version=4)
    assert "Four questions, 12 points." in _src(nb.cells[3])
    assert "(4 points).**" in _src(nb.cells[6])
    monkeypatch.setattr(build, "masters", lambda names=None: [master])
    assert "| `part2_collapse` |" in build.guide_table([master])
    assert "1. the universal curve of a two-term model (4)" in build.guide_table([master])
    assert "| 12 |" in build.guide_table([master])
    guide = tmp_path / "instructors.md"
    guide.write_text((ROOT / "book" / "instructors.md").read_text(encoding="utf8"), encoding="utf8")
    assert build.sync_guide(check=True, guide=guide)


# --- book/instructors.md: every command, as written ---------------------------------------------

GUIDE = ROOT / "book" / "instructors.md"
# Commands the guide names in passing and does not run here: `make venv` and `make test` are
# what CI itself runs.
NOT_RUN_HERE = {"make venv", "make test"}


def guide_blocks() -> list[str]:
    """The ```bash blocks of the instructors' guide, dedented, in order."""
    import textwrap

    text = GUIDE.read_text(encoding="utf8")
    return [textwrap.dedent(m.group(2)) for m in
            re.finditer(r"^( *)```bash\n(.*?)^\1```", text, flags=re.M | re.S)]


def _scratch_clone(root: Path) -> None:
    """A clone of the book in ``root`` for the guide's commands: the files they read or write,
    committed (the build pins a commit), ``tests/`` linked, and a ``.venv`` whose entries link
    to this interpreter's environment, with a fresh install stamp so that make keeps it."""
    import shutil
    import subprocess
    import sys

    for name in ["assignments", "book"]:
        shutil.copytree(ROOT / name, root / name, copy_function=shutil.copy2,
                        ignore=shutil.ignore_patterns("__pycache__", "_build"))
    for name in ["_config.yml", "pyproject.toml", "constraints.txt", "Makefile", ".gitignore"]:
        shutil.copy2(ROOT / name, root / name)
    (root / "tests").symlink_to(ROOT / "tests")
    venv = Path(sys.prefix)
    (root / ".venv").mkdir()
    for entry in venv.iterdir():
        if entry.name != ".installed":
            (root / ".venv" / entry.name).symlink_to(entry)
    (root / ".venv" / ".installed").touch()
    git = ["git", "-c", "user.name=guide", "-c", "user.email=guide@example.org", "-C", str(root)]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "scratch"]):
        subprocess.run([*git, *args], check=True)


def _bash(block: str, cwd: Path) -> str:
    import subprocess

    proc = subprocess.run(["bash", "-euo", "pipefail", "-c", block], cwd=cwd, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, f"`{block}` failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout + proc.stderr


def test_guide_commands_are_all_in_blocks():
    """Every command the guide writes inline is one of its ```bash blocks (run below)."""
    text = GUIDE.read_text(encoding="utf8")
    blocks = "\n".join(guide_blocks())
    inline = {m for m in re.findall(r"`((?:make|\.venv/bin/)[^`]*)`", text)}
    loose = [c for c in inline if c not in NOT_RUN_HERE and c not in blocks
             and not re.fullmatch(r"\.venv/bin/python assignments/build\.py --ref <tag>", c)]
    assert not loose, f"commands of the guide that no block runs: {loose}"
    assert len(guide_blocks()) == 5


def test_guide_commands_work_as_written(built, tmp_path, monkeypatch):
    """The guide's commands, run in order in a scratch clone, as an instructor would: build,
    grade one submission (alice, correct), grade a folder (alice, and bob with a wrong answer to
    every question) into a CSV, grade in Docker (containers replaced by otter run's grader), then
    sync, build and test as after writing a question. The output the guide quotes is checked."""
    import shlex

    import otter.cli
    import otter.grade

    build_block, one, folder, docker, new_question = guide_blocks()
    root = tmp_path / "book"
    root.mkdir()
    _scratch_clone(root)
    assert build_block.split("#")[0].strip() == "make assignments"
    out = _bash(build_block, root)
    assert "pinned to" in out
    name = "part2_collapse"
    built_here = root / "_build" / "assignments" / name
    (root / "submissions").mkdir()
    (root / "submissions" / "alice.ipynb").write_bytes(
        (built_here / "autograder" / f"{name}.ipynb").read_bytes())
    nb = nbformat.read(built_here / "student" / f"{name}.ipynb", as_version=4)
    master = parse_master(ROOT / "assignments" / f"{name}.ipynb")
    answer_cells = [c for c in nb.cells if "otter_answer_cell" in c.metadata.get("tags", [])]
    for cell, solution, q in zip(answer_cells, master["solutions"], _questions(name), strict=True):
        cell.source = solution + "\n" + WRONG[(name, q)][0] + "\n"
    nbformat.write(nb, root / "submissions" / "bob.ipynb")

    out = _bash(one, root)
    quoted = re.search(r"```bash\n.*?otter run -a.*?```\n.*?```text\n(.*?)```",
                       GUIDE.read_text(encoding="utf8"), flags=re.S).group(1)
    for line in quoted.splitlines():
        assert " ".join(line.split()) in " ".join(out.split()), f"the guide quotes {line!r}:\n{out}"
    result = json.loads((root / "grades" / "alice" / "results.json").read_text())
    assert all(t["score"] == t["max_score"] for t in result["tests"] if t.get("max_score"))

    out = _bash(folder, root)
    rows = dict(line.split(",", 1) for line in out.split() if line.count(",") == 2)
    assert rows["alice"] == "10.0,10.0", out
    assert float(rows["bob"].split(",")[0]) < 10 - 4, out

    mkdir, grade_cmd = docker.split("\n", 1)
    _bash(mkdir, root)
    args = shlex.split(grade_cmd.replace("\\\n", " "))
    assert args[:2] == [".venv/bin/otter", "grade"] and "-n" in args

    def containers(autograder, submission_paths, **kwargs):
        scores = []
        for path in submission_paths:
            res = otter_api.grade_submission(path, autograder, quiet=True)
            res.file = Path(path).name
            scores.append(res)
        return scores

    monkeypatch.chdir(root)
    monkeypatch.setattr(otter.grade, "launch_containers", containers)
    otter.cli.cli.main(args[1:], standalone_mode=False)
    grades = (root / "grades-docker" / "final_grades.csv").read_text().splitlines()
    assert len(grades) == 1 + 1 + 2, grades  # header, points possible, two submissions

    sync, make, pytest_line = new_question.strip().splitlines()
    _bash(sync, root)
    status = _bash("git status --porcelain -- assignments book", root)
    assert not status.strip(), f"the guide's --sync changed the masters: {status}"
    _bash(make, root)
    assert pytest_line == ".venv/bin/pytest tests/test_assignments.py"
    # Running it here would run this test again: collect it only.
    out = _bash(pytest_line + " --collect-only -q -p no:cacheprovider", root)
    assert re.search(r"test_assignments\.py(::test_guide_commands_work_as_written|: \d+)", out), out


def test_build_ref_prefers_a_tag_and_ref_option(tmp_path):
    """The pin is the tag at HEAD when there is one, else HEAD's commit; ``--ref`` overrides it
    in the set-up cell and the bundle."""
    import subprocess

    repo = tmp_path / "repo"
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "-C", str(repo)]
    repo.mkdir()
    (repo / "f").write_text("x")
    for args in (["init", "-q"], ["add", "f"], ["commit", "-q", "-m", "x"]):
        subprocess.run([*git, *args], check=True)
    sha = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True).stdout
    assert build.build_ref(repo) == sha.strip()
    subprocess.run([*git, "tag", "v9.9.9"], check=True)
    assert build.build_ref(repo) == "v9.9.9"
    with pytest.raises(SystemExit, match="not a git clone"):
        build.build_ref(tmp_path)
    out = tmp_path / "out"
    assert build.main(["part2_collapse", "--ref", "v9.9.9", "--out", str(out)]) == 0
    cell = nbformat.read(out / "part2_collapse" / "student" / "part2_collapse.ipynb", 4).cells[0]
    assert '"v9.9.9"], check=True)' in _src(cell)
    with zipfile.ZipFile(out / "part2_collapse" / "autograder" / "autograder.zip") as z:
        assert "@v9.9.9#egg=supercollapse" in z.read("environment.yml").decode()
