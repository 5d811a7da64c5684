"""Sphinx extension for the single-page build of ``make pdf``: the HTML visitors of every node.

Sphinx looks up the visitors of an extension's nodes by builder name, and falls back to the
builder's format (``html``) only when no extension registered any visitor for that name.
sphinx-exercise registers its nodes for ``singlehtml`` too, so the ``html`` visitors of all other
extensions (myst-nb's ``HideCodeCellNode`` of hidden code cells, sphinx-togglebutton, ...) are
not found and the single-page build fails ("unknown node type"). This extension merges the
``html`` visitors under those registered for ``singlehtml``. Only the PDF build loads it
(``book/_ext/pdf.py`` adds it to ``local_extensions``).
"""

from __future__ import annotations


def _merge(app) -> None:
    handlers = app.registry.translation_handlers
    if app.builder.name == "singlehtml" and "html" in handlers:
        handlers["singlehtml"] = {**handlers["html"], **handlers.get("singlehtml", {})}


def setup(app):
    app.connect("builder-inited", _merge)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
