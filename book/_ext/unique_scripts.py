"""Write each ``<script>`` of a page once.

Sphinx 7.4 puts an inline script added with ``app.add_js_file(None, body=...)`` after the
builder started on every page twice: once as given (file name ``None``) and once more, from
its registry, with the file name ``""`` (``StandaloneHTMLBuilder.prepare_writing``), and the
two do not compare equal. sphinx-thebe (loaded by Jupyter Book) adds its configuration that
way, ``const THEBE_JS_URL = ...``, so every page declared that constant twice and the browser
console showed ``SyntaxError: Identifier 'THEBE_JS_URL' has already been declared``
(``tests/test_browser.py`` fails on console errors). This drops such duplicates from the
page's ``script_files``, keeping the first.
"""

from __future__ import annotations

from sphinx.application import Sphinx


def _key(script) -> tuple:
    filename = getattr(script, "filename", script) or ""
    attributes = getattr(script, "attributes", {}) or {}
    return (str(filename), getattr(script, "priority", 500), *sorted(attributes.items()))


def unique(scripts: list) -> list:
    seen: set[tuple] = set()
    kept = []
    for script in scripts:
        key = _key(script)
        if key not in seen:
            seen.add(key)
            kept.append(script)
    return kept


def on_html_page_context(app: Sphinx, pagename, templatename, context, doctree) -> None:
    if "script_files" in context:
        context["script_files"] = unique(context["script_files"])


def setup(app: Sphinx) -> dict:
    # After every other handler, so that scripts added for this page are seen too.
    app.connect("html-page-context", on_html_page_context, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
