"""The PDF of the whole book (``make pdf``: book/_ext/pdf.py), read back without a PDF library.

Run by ``make test-pdf`` (after ``make pdf``; marker ``pdf``, not part of ``make test``: the
single-page build and the print take about two minutes). The PDF's text is extracted by the
small reader of book/_ext/pdf.py (its fonts' ToUnicode maps, standard library only; no PDF
package is a dependency of the book). Checks:

* it has more than ``MIN_PAGES`` pages, and every chapter's title is on a page after the
  contents (the print did not stop early);
* no formula is left as raw TeX in the text outside code (``$$``, ``\\frac``, ``\\begin{``, ``\\(``): MathJax
  typeset them before the print, and its fonts (``MathJax_*``) are embedded;
* every figure of the single-page build is embedded as an image.

``BOOK_PDF`` points at another PDF (default ``_build/pdf/book.pdf``).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PDF_PATH = Path(os.environ.get("BOOK_PDF", ROOT / "_build/pdf/book.pdf"))
HTML = PDF_PATH.parent / "_build" / "singlehtml" / "book.html"
MIN_PAGES = 150  # 269 pages on A4 (December 2026); far fewer means pages are missing
RAW_TEX = re.compile(r"\$\$|\\frac|\\begin\{|\\\(|\\\[|\\mathrm|\\sum_")

_spec = importlib.util.spec_from_file_location("pdf_tool", ROOT / "book/_ext/pdf.py")
PDFTOOL = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(PDFTOOL)


def test_raw_tex_pattern():
    for raw in ("$$L = 1$$", r"\frac{a}{b}", r"\begin{aligned}", r"\(x\)", r"\[x\]"):
        assert RAW_TEX.search(raw), raw
    for typeset in ("L(t) = a t^{-b}", "x ∈ ℝ", "Δ < σ", "$5 per hour"):
        assert not RAW_TEX.search(typeset), typeset


@pytest.fixture(scope="module")
def pdf():
    if not PDF_PATH.exists():
        pytest.skip(f"no {PDF_PATH}: run `make pdf` first (or `make test-pdf`)")
    return PDFTOOL.PDF(PDF_PATH.read_bytes())


@pytest.fixture(scope="module")
def pages(pdf):
    return pdf.text()


@pytest.fixture(scope="module")
def prose(pdf):
    """The text outside code: code cells and their printed outputs are set in a monospace font,
    and hold TeX on purpose (matplotlib labels such as r"$\\Delta$")."""
    return pdf.text(skip_fonts="Mono")


def _titles() -> list[str]:
    titles = []
    for path in sorted((ROOT / "chapters").glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf8"))["cells"]
        for cell in cells:
            source = "".join(cell["source"])
            match = re.search(r"^# (.+)$", source, re.M) if cell["cell_type"] == "markdown" else None
            if match:
                titles.append(match[1].strip())
                break
    return titles


@pytest.mark.pdf
def test_page_count(pdf):
    assert len(pdf.pages()) > MIN_PAGES, f"{PDF_PATH}: only {len(pdf.pages())} pages"


@pytest.mark.pdf
def test_every_chapter_is_printed(pages):
    body = " ".join(" ".join(page.split()) for page in pages[1:])  # after the contents
    missing = [t for t in _titles() if t not in body]
    assert not missing, f"chapter titles not in the PDF's body: {missing}"
    assert body.count("supercollapse") > 100


@pytest.mark.pdf
def test_no_raw_tex(pdf, pages, prose):
    found = [(i + 1, m.group(0), page[max(0, m.start() - 40): m.end() + 40])
             for i, page in enumerate(prose) for m in RAW_TEX.finditer(page)]
    assert not found, f"raw TeX in the PDF's prose (page, match, context): {found[:10]}"
    assert sum(map(len, prose)) > sum(map(len, pages)) / 3, "most text is not in code"
    joined = "".join(prose)  # runs split across text objects
    assert "$$" not in joined and "\\frac" not in joined
    fonts = {name for name in pdf.font_names() if name.startswith("MathJax_")}
    assert {"MathJax_Main-Regular", "MathJax_Math-Italic"} <= fonts, (
        f"MathJax's fonts are not embedded (formulas not typeset?): {sorted(pdf.font_names())}")


@pytest.mark.pdf
def test_figures_are_embedded(pdf):
    if not HTML.exists():
        pytest.skip(f"no {HTML}: run `make pdf`")
    figures = set(re.findall(r'<img[^>]*\bsrc="(_images/[^"]+)"', HTML.read_text(encoding="utf8")))
    assert len(figures) >= 30, f"only {len(figures)} figures in {HTML}"
    large = [size for size in pdf.images() if min(size) >= 100]
    assert len(large) >= len(figures), (
        f"{len(figures)} figures on the page, {len(large)} images of at least 100 px in the PDF")


@pytest.mark.pdf
def test_reader_sees_raw_tex_and_code_in_a_printed_page(tmp_path):
    """The checks can fail: a page with raw TeX, printed by the same Chromium, is caught, and
    its code (monospace) is told apart from its prose."""
    import subprocess

    chromium = PDFTOOL._executable("CHROMIUM", "chromium", "chromium-browser", "google-chrome")
    if not chromium:
        pytest.skip("no Chromium")
    page = tmp_path / "raw.html"
    page.write_text("<html><body><p>Untypeset: $$\\frac{a}{b}$$ and supercollapse.</p>"
                    "<pre>label = r'$\\Delta_\\mathrm{x}$'</pre></body></html>", encoding="utf8")
    out = tmp_path / "raw.pdf"
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu",
                    "--no-pdf-header-footer", f"--print-to-pdf={out}", page.as_uri()],
                   check=True, capture_output=True, timeout=120)
    printed = PDFTOOL.PDF(out.read_bytes())
    prose = "".join(printed.text(skip_fonts="Mono"))
    assert RAW_TEX.search(prose) and "supercollapse" in prose, prose
    assert "mathrm" not in prose and "mathrm" in "".join(printed.text()), printed.text()
    assert len(printed.pages()) == 1
