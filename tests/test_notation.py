"""One notation (book/notation.md): the clashes fixed so far must not come back.

* The Fourier task's exponent is zeta (chapters 0-2); nu is only the size exponent of the
  two-term law (chapters 3 and 5), whose coefficients are A_t and A_p (B is the batch size).
* D_base lists the base widths the book's runs really use.
* The book's prose spells "normalised" (code identifiers such as ``normalized_curves`` aside).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from supercollapse.results import load_run, run_files
from supercollapse.train import experiments

ROOT = Path(__file__).resolve().parents[1]
NOTATION = (ROOT / "book" / "notation.md").read_text(encoding="utf8")
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
PAGES = sorted((ROOT / "book").glob("*.md"))


def _cells(path, kind=None):
    cells = json.loads(path.read_text(encoding="utf8"))["cells"]
    return ["".join(c["source"]) for c in cells if kind is None or c["cell_type"] == kind]


def _row(symbol: str) -> str:
    """The text of the notation table's row for ``symbol`` (up to the next row)."""
    i = NOTATION.index(f"* - {symbol}")
    j = NOTATION.find("\n* - ", i + 1)
    return NOTATION[i:j if j > 0 else None]


TASK_CHAPTERS = [p for p in CHAPTERS if p.name[:2] in ("00", "01", "02")]


@pytest.mark.parametrize("path", TASK_CHAPTERS, ids=lambda p: p.name)
def test_task_exponent_is_zeta(path):
    text = "\n".join(_cells(path))
    assert "\\nu" not in text, f"{path.name}: the task exponent is zeta (nu is the size exponent)"


def test_nu_is_the_size_exponent():
    assert "$\\zeta$" in NOTATION and "$\\mu$, $\\nu$" in NOTATION
    ch03 = "\n".join(_cells(ROOT / "chapters" / "03_scaling_collapse.ipynb", "markdown"))
    assert "A_p\\,p^{-\\nu}" in ch03


@pytest.mark.parametrize("name", ["03_scaling_collapse", "05_when_collapse_breaks"])
def test_b_is_only_the_batch_size(name):
    """The two-term law's coefficients are A_t and A_p: no bare A or B in the formulas."""
    for text in _cells(ROOT / "chapters" / f"{name}.ipynb", "markdown"):
        for math in re.findall(r"\$\$.*?\$\$|\$[^$\n]+\$", text, re.S):
            assert not re.search(r"(?<![\\\w])[AB](?![_\w])", math), f"{name}: {math[:80]}"


def _base_width(folder: str) -> int:
    return load_run(next(iter(run_files(ROOT / "results" / folder)))).config.base_width


def test_base_width_row_lists_the_widths_used():
    row = _row("$D_{\\text{base}}$")
    used = {_base_width("full/collapse"), _base_width("lm-full/collapse"),
            experiments._QUICK["base_width"]}
    for w in used:
        assert re.search(rf"\b{w}\b", row), f"D_base row omits {w}: {row!r}"


def _prose(text: str) -> str:
    """Text without code spans, code blocks and roles' targets."""
    text = re.sub(r"```.*?```", " ", text, flags=re.S)
    return re.sub(r"`[^`]*`", " ", text)


@pytest.mark.parametrize("path", [*CHAPTERS, *PAGES], ids=lambda p: p.name)
def test_prose_spells_normalised(path):
    texts = _cells(path, "markdown") if path.suffix == ".ipynb" else [path.read_text("utf8")]
    hits = [m for t in texts for m in re.findall(r"\w*normaliz\w*", _prose(t), re.I)]
    assert not hits, f"{path.name}: {hits}; the book spells 'normalised'"


MATH = re.compile(r"\$\$.*?\$\$|\$[^$\n]+\$", re.S)
# Part V writes P for the parameter count, as Chinchilla does (notation.md says so).
PART_V = {"08_transformers.ipynb", "synthetic_language.md", "notation.md"}


@pytest.mark.parametrize("path", [p for p in [*CHAPTERS, *PAGES] if p.name not in PART_V],
                         ids=lambda p: p.name)
def test_parameter_count_is_p(path):
    """P is Adam's preconditioner (P^{1/2}, P^{-1/2}); the parameter count is p."""
    texts = _cells(path, "markdown") if path.suffix == ".ipynb" else [path.read_text("utf8")]
    for text in texts:
        for math in MATH.findall(text):
            bare = re.search(r"(?<![\\\w])P(?![\w]|\^\{-?1/2\})", math)
            assert not bare, f"{path.name}: {math[:80]!r}: the parameter count is p"


def test_d_is_the_width_in_chapter_6():
    """Adam's diagonal is Lambda in chapter 6; D is the width."""
    for text in _cells(ROOT / "chapters" / "06_noise_model.ipynb", "markdown"):
        for math in MATH.findall(text):
            assert not re.search(r"(?<![\\\w])D(?![\w])", math), math[:80]
