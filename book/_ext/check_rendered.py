"""No test scaffolding on the page: the words a reader must never see in the rendered book.

Test machinery belongs in cell tags (``nbval-check-output``, ``remove-cell``, ...), never in the
text of a page. Two checks share the list of forbidden words below:

* ``scan_html(folder)`` reads every page of a built book and looks at the text a reader sees
  (scripts, styles and attribute values such as a search box's ``placeholder="..."`` are not
  text); ``make check-book`` runs it on the strict build::

      python book/_ext/check_rendered.py _build/check/_build/html

* ``rendered_cell_text(cell)`` gives the part of a notebook cell that the book shows (source
  unless tagged ``remove-cell``/``remove-input``, outputs unless ``remove-cell``/``remove-output``);
  ``tests/test_book_structure.py`` checks it statically on every chapter, without a build.
"""

from __future__ import annotations

import re
import sys
from html.parser import HTMLParser
from pathlib import Path

# (name, pattern): "NBVAL" as nbval's comment markers write it; "placeholder" in any case.
FORBIDDEN = (("NBVAL", re.compile(r"NBVAL")), ("placeholder", re.compile(r"placeholder", re.I)))

_SOURCE_HIDDEN = {"remove-cell", "remove-input"}
_OUTPUT_HIDDEN = {"remove-cell", "remove-output"}


def forbidden_words(text: str) -> list[str]:
    """The forbidden words that occur in ``text``.

    >>> forbidden_words("# NBVAL_CHECK_OUTPUT\\nprint(1)"), forbidden_words("a Placeholder cell")
    (['NBVAL'], ['placeholder'])
    >>> forbidden_words("nbval-check-output is a cell tag")
    []
    """
    return [name for name, pattern in FORBIDDEN if pattern.search(text)]


class _TextOf(HTMLParser):
    """Collects the text of an HTML page, leaving out scripts, styles and attribute values."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def page_text(html: str) -> str:
    """The text a reader sees on an HTML page.

    >>> page_text('<input placeholder="Search"><script>var NBVAL;</script><p>Hello</p>')
    'Hello'
    """
    parser = _TextOf()
    parser.feed(html)
    parser.close()
    return "".join(parser.parts)


def scan_html(folder: str | Path) -> dict[str, list[str]]:
    """``{page: forbidden words on it}`` for every ``*.html`` page under ``folder``."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"no built book at {folder}; build it first (make check-book)")
    hits = {}
    for page in sorted(folder.rglob("*.html")):
        words = forbidden_words(page_text(page.read_text(encoding="utf8", errors="replace")))
        if words:
            hits[str(page.relative_to(folder))] = words
    return hits


def _text(value) -> str:
    return value if isinstance(value, str) else "".join(value)


def rendered_cell_text(cell: dict) -> str:
    """The source and outputs of a notebook cell that the book renders, as one string."""
    tags = set(cell.get("metadata", {}).get("tags", []))
    parts = []
    if not tags & _SOURCE_HIDDEN:
        parts.append(_text(cell.get("source", "")))
    if not tags & _OUTPUT_HIDDEN:
        for out in cell.get("outputs", []):
            parts.append(_text(out.get("text", "")))
            for mime, data in out.get("data", {}).items():
                if mime.startswith("text/"):
                    parts.append(_text(data))
    return "\n".join(parts)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python book/_ext/check_rendered.py BUILT_HTML_FOLDER", file=sys.stderr)
        return 2
    hits = scan_html(argv[0])
    for page, words in hits.items():
        print(f"{page}: the rendered page contains {', '.join(map(repr, words))}", file=sys.stderr)
    if hits:
        print("Test scaffolding is visible on the page: use cell tags (nbval-check-output, "
              "remove-cell, ...) instead of comments or placeholder cells.", file=sys.stderr)
        return 1
    print(f"no test scaffolding on the {sum(1 for _ in Path(argv[0]).rglob('*.html'))} pages")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
