"""Serve MathJax from the built book itself, so that formulas render without network.

Sphinx loads MathJax from a CDN by default; a page opened offline then shows every formula as
raw ``\\(...\\)``. ``_config.yml`` sets ``mathjax_path`` to a path relative to ``_static``
(``mathjax/tex-chtml.js``), and this extension copies the MathJax 3 files that the component
needs into ``_static/mathjax`` of every HTML build. The files come from the PyPI package
``django-static-mathjax`` (the MathJax 3 distribution as Python package data; nothing of
Django is used or needed), installed with the book's dependencies (``pip install -e
'.[book]'``; ``make`` does it).

What is copied: the component named by ``mathjax_path`` (``tex-chtml.js``) and the
directories it loads from at run time: ``input/`` (TeX extensions, autoloaded by macros such
as ``\\boldsymbol``), ``output/`` (the CHTML web fonts; the SVG renderer of the menu),
``ui/`` and ``a11y/`` (the context menu, accessibility) and ``sre/`` (speech rule engine of
the accessibility explorer), plus MathJax's licence: about 9 MB instead of the 24 MB of all
components. Files already up to date are not copied again.

A ``mathjax_path`` that is a URL (``https://...`` or ``//...``) is left alone: then nothing is
copied and the reader's browser loads MathJax from there.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path, PurePosixPath

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.util import logging

logger = logging.getLogger(__name__)

# The directories of MathJax's es5 distribution that a component loads files from.
RUNTIME_DIRS = ("input", "output", "ui", "a11y", "sre")
PACKAGE = "django-static-mathjax"


def mathjax_source() -> Path:
    """The ``es5`` directory of the installed MathJax 3 distribution."""
    spec = importlib.util.find_spec("mathjax")
    es5 = None
    if spec is not None and spec.submodule_search_locations:
        es5 = Path(next(iter(spec.submodule_search_locations))) / "static" / "mathjax" / "es5"
    if es5 is None or not (es5 / "tex-chtml.js").is_file():
        raise ExtensionError(
            f"mathjax_offline: the MathJax 3 files were not found; install the Python package "
            f"{PACKAGE!r} (it is in the 'book' dependencies: pip install -e '.[book]', or make)"
        )
    return es5


def is_url(path: str) -> bool:
    return "://" in path or path.startswith("//")


def local_target(mathjax_path: str) -> tuple[PurePosixPath, str] | None:
    """Directory under ``_static`` and component file of a local ``mathjax_path``."""
    if not mathjax_path or is_url(mathjax_path):
        return None
    path = PurePosixPath(mathjax_path)
    if path.is_absolute() or ".." in path.parts or len(path.parts) < 2:
        raise ExtensionError(
            f"mathjax_offline: mathjax_path must be a URL or a path under _static such as "
            f"'mathjax/tex-chtml.js', not {mathjax_path!r}"
        )
    return path.parent, path.name


def _copy_file(src: Path, dst: Path) -> bool:
    """Copy unless ``dst`` already has the size and modification time of ``src``."""
    stat = src.stat()
    if dst.is_file():
        have = dst.stat()
        if have.st_size == stat.st_size and int(have.st_mtime) == int(stat.st_mtime):
            return False
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src, dst)
    return True


def copy_mathjax(source: Path, dest: Path, component: str) -> int:
    """Copy ``component`` and the run-time directories from ``source`` to ``dest``.

    Returns the number of files copied (0 when everything was up to date).
    """
    if not (source / component).is_file():
        available = sorted(p.name for p in source.glob("*.js"))
        raise ExtensionError(
            f"mathjax_offline: MathJax has no component {component!r}; one of {available}"
        )
    files = [(source / component, dest / component)]
    licence = source.parent / "LICENSE"
    if licence.is_file():
        files.append((licence, dest / "LICENSE"))
    for name in RUNTIME_DIRS:
        for src in sorted((source / name).rglob("*")):
            if src.is_file():
                files.append((src, dest / src.relative_to(source)))
    return sum(_copy_file(src, dst) for src, dst in files)


def check_config(app: Sphinx, config) -> None:
    # Fail early (before reading any page) on a bad path or a missing package.
    if local_target(config.mathjax_path) is not None:
        mathjax_source()


def on_build_finished(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    target = local_target(app.config.mathjax_path)
    if target is None:
        return
    subdir, component = target
    dest = Path(app.outdir, "_static", *subdir.parts)
    copied = copy_mathjax(mathjax_source(), dest, component)
    logger.info(f"mathjax_offline: {copied} MathJax files copied to {dest}")


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", check_config)
    app.connect("build-finished", on_build_finished)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
