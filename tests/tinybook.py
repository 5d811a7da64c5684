"""A tiny book built with the real _config.yml and references.bib (about 2 s a build), shared by
the tests of the book's conventions (test_book_structure.py) and of its exercises
(test_exercises.py)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parents[1]


def write_config(tmp_path: Path, local_extensions: dict | None = None, **sphinx_config) -> None:
    """The book's config with execution off, these local extensions (none by default) and
    these Sphinx settings, with its bibliography, written into ``tmp_path``."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf8"))
    config["execute"] = {"execute_notebooks": "off"}
    config.pop("exclude_patterns", None)
    config["sphinx"].pop("local_extensions", None)
    if local_extensions:
        config["sphinx"]["local_extensions"] = local_extensions
    config["sphinx"]["config"].update(sphinx_config)
    (tmp_path / "book").mkdir()
    for bib in config["bibtex_bibfiles"]:
        shutil.copy(ROOT / bib, tmp_path / bib)
    (tmp_path / "_config.yml").write_text(yaml.safe_dump(config), encoding="utf8")


def build(tmp_path: Path) -> tuple[int, str]:
    """Strict build (-W -n) of the book in ``tmp_path``: exit status and log; skips the test
    where jupyter-book is not installed."""
    exe = shutil.which("jupyter-book", path=str(Path(sys.executable).parent)) or shutil.which(
        "jupyter-book"
    )
    if exe is None:
        pytest.skip("jupyter-book is not installed")
    result = subprocess.run(
        [exe, "build", str(tmp_path), "-W", "-n", "--keep-going", "--quiet"],
        capture_output=True, text=True, timeout=300,
    )
    return result.returncode, result.stdout + result.stderr
