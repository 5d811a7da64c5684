"""Put under each chapter's title the line saying what it runs on and how long it takes.

The text is :func:`supercollapse.runtime.chapter_runtime_line` of the chapter's notebook (its
recorded execution time, and the GPU time of the stored results its code reads): generated at
build time from the records, never typed into the notebooks. It is a paragraph of class
``chapter-runtime`` right after the page's first heading, on the pages under ``chapters/``.
"""

from __future__ import annotations

import re
from pathlib import Path

from docutils import nodes
from sphinx.application import Sphinx

_INLINE = re.compile(r"(\*\*[^*]+\*\*|`[^`]+`)")


def paragraph(markdown: str) -> nodes.paragraph:
    """A paragraph of ``markdown`` that uses only ``**strong**`` and ```literal```."""
    para = nodes.paragraph(classes=["chapter-runtime"])
    for part in _INLINE.split(markdown):
        if part.startswith("**") and part.endswith("**") and len(part) > 4:
            para += nodes.strong(part[2:-2], part[2:-2])
        elif part.startswith("`") and part.endswith("`") and len(part) > 2:
            para += nodes.literal(part[1:-1], part[1:-1])
        elif part:
            para += nodes.Text(part)
    return para


def on_doctree_read(app: Sphinx, doctree: nodes.document) -> None:
    docname = app.env.docname
    if not docname.startswith("chapters/"):
        return
    source = Path(app.env.doc2path(docname))
    if source.suffix != ".ipynb":
        return
    from supercollapse.runtime import chapter_runtime_line

    line = chapter_runtime_line(source, Path(app.srcdir) / "results")
    section = next(iter(doctree.findall(nodes.section)), None)
    if section is None or not section.children or not isinstance(section[0], nodes.title):
        return
    section.insert(1, paragraph(line))


def setup(app: Sphinx) -> dict:
    app.connect("doctree-read", on_doctree_read)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
