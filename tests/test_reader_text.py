"""What a reader sees: no project-internal words on the pages of the book.

The book's pages (``book/*.md``) and the text the chapters render (sources and outputs, by their
``remove-*`` tags) must not speak of the project's own bookkeeping: issues, earlier runs that
were replaced, how a cell is tested.
"""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("check_rendered", ROOT / "book/_ext/check_rendered.py")
RENDERED = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(RENDERED)

INTERNAL = re.compile(
    r"named in the issue|the issue's|\b(?:in|of) the issue\b|non-deterministic runs|"
    r"earlier,? \(?non-deterministic|checked through its assertions|regenerated ones",
    re.I)

PAGES = sorted((ROOT / "book").glob("*.md"))
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))


def test_the_pattern_can_fail():
    assert INTERNAL.search("The alternatives named in the issue were not implemented")
    assert INTERNAL.search("# the earlier, non-deterministic runs of the same ladder")
    assert INTERNAL.search("The bar of the issue that started this section is not reached")
    assert not INTERNAL.search("Open an issue on GitHub if a cell fails.")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_no_internal_words_on_book_pages(page):
    hits = INTERNAL.findall(page.read_text(encoding="utf8"))
    assert not hits, f"{page.name} shows project-internal words {hits}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_no_internal_words_in_chapters(path):
    cells = json.loads(path.read_text(encoding="utf8"))["cells"]
    for i, cell in enumerate(cells):
        hits = INTERNAL.findall(RENDERED.rendered_cell_text(cell))
        assert not hits, f"{path.name}, cell {i}, shows project-internal words {hits}"


# The L0 of the MLP task is said one way (book/notation.md): the true L0 is 0, the task being
# realisable; free fits of the frontier give about 0.02. Not "the fitted L0 is about zero".
FITTED_L0_ZERO = re.compile(
    r"fitted irreducible loss of (?:this|the) MLP(?: task)? is (?:about|close to) zero|"
    r"regression task \$L_0 \\approx 0\$", re.I)


def test_l0_pattern_can_fail():
    assert FITTED_L0_ZERO.search("the fitted irreducible loss of this\nMLP is about zero".replace("\n", " "))


@pytest.mark.parametrize("path", [*PAGES, *CHAPTERS], ids=lambda p: p.name)
def test_mlp_l0_is_stated_one_way(path):
    text = path.read_text(encoding="utf8")
    if path.suffix == ".ipynb":
        text = "\n".join("".join(c["source"]) for c in json.loads(text)["cells"])
    text = re.sub(r"\s+", " ", text)
    hits = FITTED_L0_ZERO.findall(text)
    assert not hits, f"{path.name}: {hits}; say 'the true L0 is 0; free fits give about 0.02'"
