"""The book's one exercise mechanism, and that it protects the student's answer.

A coding exercise is, in this order (book/how_to_use.md describes it for readers):

1. a markdown cell with an ``{exercise}`` block and its ``:label: ex-...``;
2. the student's cell, ``name = None  # your answer: ...`` (committed empty);
3. a gated solution, ``{solution-start} ex-...`` ... ``{solution-end}``, whose code cells compute
   the reference under its own name (``ref_...``) and never assign the student's variable;
4. a visible check cell, ``check("ex-...", name, ref_...)`` (``supercollapse.exercises.check``).

Conceptual exercises have only 1 and 3. The tests below read the notebooks (no execution) and
fail when a check cell could pass on an empty answer: its answer argument is not a student
variable committed as ``None``, or a solution or any later cell assigns that variable, or a code
cell outside the gate sits between the student's cell and the check. A tiny book built with
``hide_solutions: true`` shows that the gated solutions, code cells included, leave the page.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import tinybook

from supercollapse.exercises import check

yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))

_EXERCISE = re.compile(r"^(`{3,})\{exercise\}[^\n]*\n:label: (?P<label>ex-[\w-]+)", re.M)
_GATE = re.compile(r"\{solution-start\} (?P<label>\S+)|\{solution-end\}")


def _source(cell: dict) -> str:
    src = cell["source"]
    return src if isinstance(src, str) else "".join(src)


def _assigned(tree: ast.AST) -> set[str]:
    """Names a piece of code binds at any level (assignments, defs, imports, loop targets...)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return names


@dataclass
class Cell:
    index: int
    kind: str
    source: str
    gated: bool  # inside a solution-start ... solution-end gate
    tree: ast.AST | None = None


@dataclass
class Notebook:
    name: str
    cells: list[Cell]
    exercises: dict[str, int] = field(default_factory=dict)  # label -> cell index
    solutions: dict[str, int] = field(default_factory=dict)  # label -> index of solution-start
    errors: list[str] = field(default_factory=list)


def parse(path: Path) -> Notebook:
    """The cells of a chapter with their gate state, exercises and solutions."""
    nb = Notebook(path.name, [])
    open_label = None
    for i, raw in enumerate(json.loads(path.read_text(encoding="utf8"))["cells"]):
        src = _source(raw)
        gated = open_label is not None
        if raw["cell_type"] == "markdown":
            if re.search(r"^`{3,}\{solution\}", src, re.M):
                nb.errors.append(f"cell {i}: a plain {{solution}} block; use solution-start/-end")
            for m in _EXERCISE.finditer(src):
                nb.exercises[m.group("label")] = i
            for m in _GATE.finditer(src):
                if m.group("label"):
                    if open_label is not None:
                        nb.errors.append(f"cell {i}: solution-start inside the gate of {open_label}")
                    open_label = m.group("label")
                    nb.solutions[open_label] = i
                    if open_label not in nb.exercises:
                        nb.errors.append(f"cell {i}: solution of unknown exercise {open_label}")
                elif open_label is None:
                    nb.errors.append(f"cell {i}: solution-end without solution-start")
                else:
                    open_label = None
            nb.cells.append(Cell(i, "markdown", src, gated))
        else:
            tree = ast.parse(src) if i else None  # cell 0 is the Colab set-up cell
            nb.cells.append(Cell(i, "code", src, gated, tree))
    if open_label is not None:
        nb.errors.append(f"the gate of {open_label} is never closed")
    return nb


@dataclass
class CheckCall:
    cell: Cell
    label: str
    answer: ast.expr
    reference: ast.expr


def check_calls(nb: Notebook) -> list[CheckCall]:
    calls = []
    for cell in nb.cells:
        if cell.tree is None:
            continue
        for node in ast.walk(cell.tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and (
                node.func.id == "check"
            ):
                assert len(node.args) >= 3, f"{nb.name} cell {cell.index}: check(label, answer, ref)"
                label = node.args[0]
                assert isinstance(label, ast.Constant) and isinstance(label.value, str), (
                    f"{nb.name} cell {cell.index}: the label of check() must be a string literal"
                )
                calls.append(CheckCall(cell, label.value, node.args[1], node.args[2]))
    return calls


def _exercise_of(nb: Notebook, label: str) -> str:
    """The exercise a check label refers to ("ex-05-loo (loo_gains)" -> "ex-05-loo")."""
    matches = [ex for ex in nb.exercises if label == ex or label.startswith(ex + " ")]
    assert matches, f"{nb.name}: check label {label!r} names no exercise of the chapter"
    return matches[0]


NOTEBOOKS = {path.name: parse(path) for path in CHAPTERS}


def test_there_are_coding_exercises():
    assert sum(len(check_calls(nb)) for nb in NOTEBOOKS.values()) >= 6


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_solutions_are_gated(name):
    """Every solution is a solution-start/-end gate of an exercise of the chapter."""
    nb = NOTEBOOKS[name]
    assert not nb.errors, nb.errors
    assert set(nb.solutions) == set(nb.exercises), (
        f"exercises without a solution: {sorted(set(nb.exercises) - set(nb.solutions))}"
    )
    for cell in nb.cells:
        if cell.tree is not None and not cell.gated:
            refs = sorted(n for n in _assigned(cell.tree) if n.startswith("ref_"))
            assert not refs, (
                f"{name} cell {cell.index} computes {refs} outside a solution gate: reference "
                "answers belong inside solution-start ... solution-end"
            )


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_check_cells_test_the_students_answer(name):
    """A check cell can only pass on an answer the student wrote."""
    nb = NOTEBOOKS[name]
    code = [c for c in nb.cells if c.tree is not None]
    for call in check_calls(nb):
        where = f"{name} cell {call.cell.index} ({call.label})"
        exercise = _exercise_of(nb, call.label)
        assert not call.cell.gated, f"{where}: the check cell must be outside the solution gate"
        assert isinstance(call.answer, ast.Name), f"{where}: the answer must be a variable"
        var = call.answer.id
        # the student's cell: the last cell before the check that sets the variable to None
        students = [
            c for c in code
            if c.index < call.cell.index and any(
                isinstance(s, ast.Assign) and isinstance(s.value, ast.Constant)
                and s.value.value is None
                and any(isinstance(t, ast.Name) and t.id == var for t in s.targets)
                for s in c.tree.body
            )
        ]
        assert students, f"{where}: no cell commits `{var} = None` before the check"
        student = students[-1]
        assert not student.gated, f"{where}: the student's cell is inside a solution gate"
        assert nb.exercises[exercise] < student.index < nb.solutions[exercise] < call.cell.index, (
            f"{where}: the order must be exercise, student cell, solution, check"
        )
        others = [
            c.index for c in code
            if c is not student and (c.gated or c.index > student.index) and var in _assigned(c.tree)
        ]
        assert not others, f"{where}: `{var}` is also assigned in cells {others}"
        between = [c.index for c in code if student.index < c.index < call.cell.index and not c.gated]
        assert between in ([], [call.cell.index]), (
            f"{where}: code cells {between} sit between the student's cell and the check "
            "outside the solution gate"
        )
        ref_names = {n.id for n in ast.walk(call.reference) if isinstance(n, ast.Name)}
        assert var not in ref_names, f"{where}: the reference must not be the student's answer"
        assert any(n.startswith("ref_") for n in ref_names), (
            f"{where}: the reference should be the solution's ref_... value, got "
            f"{ast.unparse(call.reference)}"
        )


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_committed_checks_report_not_answered(name, capsys):
    """Every check fails softly on an empty answer, and the committed outputs show it."""
    path = ROOT / "chapters" / name
    cells = json.loads(path.read_text(encoding="utf8"))["cells"]
    for call in check_calls(NOTEBOOKS[name]):
        assert check(call.label, None, object()) is False
        assert "not answered yet" in capsys.readouterr().out
        outputs = "".join(
            "".join(o.get("text", "")) for o in cells[call.cell.index].get("outputs", [])
        )
        assert f"{call.label}: not answered yet" in outputs, (
            f"{name} cell {call.cell.index}: the committed output should say that "
            f"{call.label} is not answered yet (re-execute the chapter)"
        )
        assert f"{call.label}: correct" not in outputs


def _demo(tmp_path: Path, solution_code: str, before_gate: str | None = None) -> str:
    """Parse a one-exercise notebook (optionally with a code cell just before the gate)."""
    code = lambda s: {"cell_type": "code", "source": s, "metadata": {}}  # noqa: E731
    md = lambda s: {"cell_type": "markdown", "source": s}  # noqa: E731
    cells = [code("# set-up"), md("```{exercise}\n:label: ex-00-demo\n\nDo it.\n```"),
             code("x = None")]
    cells += [code(before_gate)] if before_gate else []
    cells += [md("````{solution-start} ex-00-demo\n````"), code(solution_code),
              md("````{solution-end}\n````"), code('check("ex-00-demo", x, ref_x)')]
    path = tmp_path / "demo.ipynb"
    path.write_text(json.dumps({"cells": cells}), encoding="utf8")
    NOTEBOOKS[path.name] = parse(path)
    return path.name


def test_structure_tests_fail_on_the_old_layouts(tmp_path):
    """The tests above fail on a solution that overwrites the answer or sits outside the gate."""
    try:
        name = _demo(tmp_path, "ref_x = 1")
        test_solutions_are_gated(name)
        test_check_cells_test_the_students_answer(name)  # the good layout passes
        name = _demo(tmp_path, "ref_x = 1\nx = ref_x")
        with pytest.raises(AssertionError, match="also assigned"):
            test_check_cells_test_the_students_answer(name)
        name = _demo(tmp_path, "y = 2", before_gate="ref_x = 1")
        with pytest.raises(AssertionError, match="outside a solution gate"):
            test_solutions_are_gated(name)
        with pytest.raises(AssertionError, match="sit between"):
            test_check_cells_test_the_students_answer(name)
    finally:
        NOTEBOOKS.pop("demo.ipynb", None)


# hide_solutions: true must remove gated solutions, code cells included, from the HTML. Checked on
# a tiny book with the real configuration (sphinx-exercise alone would leave the code cells on the
# page and fail on the left-over solution-end node; book/_ext/hide_gated_solutions.py fixes it).


def _tiny_book(tmp_path: Path, hide: bool) -> str:
    tinybook.write_config(tmp_path, {"hide_gated_solutions": str(ROOT / "book" / "_ext")},
                          hide_solutions=hide)
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: index\nchapters:\n  - file: ch\n")
    (tmp_path / "index.md").write_text("# Test\n\n```{bibliography}\n```\n", encoding="utf8")
    md = lambda s: {"cell_type": "markdown", "metadata": {}, "source": s}  # noqa: E731
    cells = [
        md("# Chapter\n\n```{exercise}\n:label: ex-00-demo\n\nCompute x.\n```"),
        {"cell_type": "code", "metadata": {}, "execution_count": 1, "outputs": [],
         "source": "x = None  # your answer"},
        md("````{solution-start} ex-00-demo\n:class: dropdown\n````\n\nSOLUTIONPROSE"),
        {"cell_type": "code", "metadata": {}, "execution_count": 2, "outputs": [],
         "source": "ref_x = 'SOLUTIONCODE'"},
        md("````{solution-end}\n````"),
        {"cell_type": "code", "metadata": {}, "execution_count": 3, "outputs": [],
         "source": "check('ex-00-demo', x, ref_x)  # CHECKCELL"},
    ]
    nb = {"cells": cells, "nbformat": 4, "nbformat_minor": 4, "metadata": {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"}}}
    (tmp_path / "ch.ipynb").write_text(json.dumps(nb), encoding="utf8")
    rc, log = tinybook.build(tmp_path)
    assert rc == 0, log
    return (tmp_path / "_build" / "html" / "ch.html").read_text(encoding="utf8")


def test_hide_solutions_removes_gated_solution_code(tmp_path):
    html = _tiny_book(tmp_path, hide=True)
    assert "SOLUTIONCODE" not in html and "SOLUTIONPROSE" not in html
    assert "CHECKCELL" in html and "ex-00-demo" in html  # exercise and check stay


def test_solutions_are_dropdowns_by_default(tmp_path):
    html = _tiny_book(tmp_path, hide=False)
    assert "SOLUTIONCODE" in html and "SOLUTIONPROSE" in html
    body = html[html.index("SOLUTIONPROSE") - 3000 : html.index("SOLUTIONPROSE")]
    assert "dropdown" in body, "the solution should be folded in a dropdown"
