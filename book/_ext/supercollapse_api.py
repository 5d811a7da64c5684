"""Sphinx extension: the module list of the API reference, in one place and robust.

A page (``book/api.md``) lists the package's modules, one per line, in a block::

    ```{supercollapse-api}
    config
    tasks
    ```

Before the page is parsed, the block is replaced by one section per module: a heading and an
``automodule`` directive (members are taken from ``autodoc_default_options`` in ``_config.yml``).

* A module whose source file does not exist (yet) is skipped, with an INFO line in the build
  log and a note on the page; this lets the book build while the package is being written.
* A module that exists but fails to import is NOT skipped: autodoc warns, so the warnings-as-
  errors check build of ``make test`` fails, as it should.
* Pages holding the block are re-read on every build, so a newly added module appears without
  touching the page.
"""

from __future__ import annotations

import importlib.util
import re

from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

PACKAGE = "supercollapse"
_BLOCK = re.compile(r"^```\{supercollapse-api\}[^\n]*\n(?P<body>.*?)^```[ \t]*$", re.M | re.S)
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


def _module_exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(f"{PACKAGE}.{name}") is not None
    except ModuleNotFoundError:  # the package itself is not installed
        return False


def _render(body: str, docname: str) -> str:
    names = [line.strip() for line in body.splitlines()]
    names = [n for n in names if n and not n.startswith("#")]
    parts: list[str] = []
    missing: list[str] = []
    for name in names:
        if not _NAME.match(name):
            logger.warning(
                "supercollapse-api: %r is not a module name",
                name,
                location=docname,
                type="supercollapse_api",
            )
            continue
        if not _module_exists(name):
            missing.append(name)
            continue
        parts.append(
            f"(api-{name})=\n## `{PACKAGE}.{name}`\n\n"
            f"```{{eval-rst}}\n.. automodule:: {PACKAGE}.{name}\n```\n"
        )
    if missing:
        logger.info(
            "supercollapse-api: modules not written yet, left out of %s: %s",
            docname,
            ", ".join(missing),
        )
        listed = ", ".join(f"`{PACKAGE}.{n}`" for n in missing)
        parts.append(
            ":::{note}\nNot yet part of the package, so not documented here yet: "
            f"{listed}.\n:::\n"
        )
    return "\n".join(parts)


def _source_read(app: Sphinx, docname: str, source: list[str]) -> None:
    text = source[0]
    if "{supercollapse-api}" not in text:
        return
    docs = getattr(app.env, "supercollapse_api_docs", set())
    docs.add(docname)
    app.env.supercollapse_api_docs = docs
    source[0] = _BLOCK.sub(lambda m: _render(m.group("body"), docname), text)


def _always_reread(app: Sphinx, env, added, changed, removed) -> list[str]:
    return sorted(getattr(env, "supercollapse_api_docs", set()) - set(removed))


def setup(app: Sphinx) -> dict:
    app.connect("source-read", _source_read)
    app.connect("env-get-outdated", _always_reread)
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
