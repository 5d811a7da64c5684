"""One notation (book/notation.md): the clashes fixed so far must not come back.

* The Fourier task's exponent is zeta (chapters 0-2); nu is only the size exponent of the
  two-term law (chapters 3 and 5), whose coefficients are A_t and A_p (B is the batch size).
* D_base lists the base widths the book's runs really use.
* The book's prose and figure labels spell "normalised" (code identifiers such as
  ``normalized_curves`` aside).
* alpha is only the noise model's constant: the PLRF data complexity is chi (with beta its target
  complexity; Adam's decay rates are beta_1, beta_2), the synthetic language's Zipf exponent z.
* B is the batch size, never a coefficient; the fits' exponent b is never negated by a chapter
  (both fits return the decay exponent).
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


def _stem(path: Path) -> str:
    """``06_noise_model.ipynb`` -> ``noise_model`` (robust to renumbered chapters)."""
    return re.sub(r"^\d+_", "", path.stem)


def _shown_text(path: Path) -> str:
    """What a page shows of its notation: Markdown, the string literals of code cells (figure
    labels, printed text) and the figures' alt texts and captions."""
    if path.suffix != ".ipynb":
        return path.read_text("utf8")
    cells = json.loads(path.read_text("utf8"))["cells"]
    parts = []
    for c in cells:
        src = "".join(c["source"])
        parts.append(src if c["cell_type"] == "markdown"
                     else "\n".join(re.findall(r"\"[^\"\n]*\"|'[^'\n]*'", src)))
        mystnb = c.get("metadata", {}).get("mystnb", {})
        parts += [mystnb.get("image", {}).get("alt", ""), mystnb.get("figure", {}).get("caption", "")]
    return "\n".join(parts)


# alpha is the constant of the noise model only (chapters 6 and 8, and the pages that list it).
ALPHA_PAGES = {"noise_model", "transformers", "notation", "instructors"}
ALPHA = re.compile(r"\\{1,2}alpha\b|α|\balpha\b(?! ?=)")


def test_alpha_pattern_can_fail():
    assert ALPHA.search(r"data complexity $\alpha$") and ALPHA.search("data complexity alpha")
    assert not ALPHA.search("ax.fill_between(x, lo, hi, alpha=0.2)")


@pytest.mark.parametrize("path", [p for p in [*CHAPTERS, *PAGES] if _stem(p) not in ALPHA_PAGES],
                         ids=lambda p: p.name)
def test_alpha_is_only_the_noise_constant(path):
    """The PLRF data complexity is chi, the Zipf exponent z: alpha nowhere else."""
    hits = ALPHA.findall(_shown_text(path))
    assert not hits, f"{path.name} writes {hits}: alpha is the noise constant (notation.md)"


def test_plrf_and_zipf_symbols():
    for name in ("01_scaling_laws", "03_scaling_collapse"):
        text = _shown_text(ROOT / "chapters" / f"{name}.ipynb")
        assert "\\chi" in text and "\\beta" in text, name
    assert "k^{-z}" in (ROOT / "book" / "synthetic_language.md").read_text("utf8")
    assert "$\\chi$, $\\beta$" in NOTATION and "k^{-z}" in NOTATION


# Bare beta is the PLRF target complexity; Adam's decay rates are beta_1 and beta_2.
PLRF_PAGES = {"scaling_laws", "scaling_collapse", "notation"}


@pytest.mark.parametrize("path", [p for p in [*CHAPTERS, *PAGES] if _stem(p) not in PLRF_PAGES],
                         ids=lambda p: p.name)
def test_bare_beta_is_only_plrf(path):
    hits = re.findall(r"\\{1,2}beta(?!_)\b.{0,20}", _shown_text(path))
    assert not hits, f"{path.name}: {hits}; Adam's are beta_1, beta_2 (notation.md)"


@pytest.mark.parametrize("path", [*CHAPTERS, *PAGES], ids=lambda p: p.name)
def test_b_is_not_a_coefficient(path):
    """B is the batch size: never a coefficient of a law such as A/N^a + B/D^b."""
    for math in MATH.findall(_shown_text(path)):
        assert not re.search(r"(?<![\\\w])B\s*(?:/|\\,)\s*[A-Za-z]\^|\\frac\{B\}", math), math[:80]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_fit_exponents_are_not_negated(path):
    """Both fits return the decay exponent b (L ∝ x^(-b)): no chapter flips its sign."""
    code = "\n".join(_cells(path, "code"))
    hits = re.findall(r"-\s*fit_(?:pure_power_law|power_law_offset)\(", code)
    assert not hits, f"{path.name} negates a fit's b: {hits}"


@pytest.mark.parametrize("path", [*CHAPTERS, ROOT / "src/supercollapse/plotting.py"],
                         ids=lambda p: p.name)
def test_figure_labels_spell_normalised(path):
    text = (_shown_text(path) if path.suffix == ".ipynb"
            else "\n".join(re.findall(r"\"[^\"\n]*\"", path.read_text("utf8"))))
    hits = re.findall(r"\bnormaliz\w*", text.replace("\\n", " "))
    hits = [h for h in hits if "_" not in h]  # identifiers such as normalized_curves
    assert not hits, f"{path.name}: {hits}; labels spell 'normalised'"


def test_tokens_are_t_in_chapter_8():
    """D is the width (notation.md); chapter 8 counts tokens with t, so c = 6Pt, not 6PD."""
    for text in _cells(ROOT / "chapters" / "08_transformers.ipynb"):
        for math in MATH.findall(text):
            assert not re.search(r"(?<![\\\w])D(?![\w])", math), math[:80]
    assert "chapter 8 writes $D$" not in NOTATION
