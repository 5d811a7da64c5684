"""Conventions of the book's chapters that no build tool checks by itself.

* Every notebook in chapters/ is listed in _toc.yml (with ``only_build_toc_files`` an unlisted
  chapter would silently be left out of the book).
* Every chapter starts with the canonical Colab set-up cell (book/_ext/sync_setup_cell.py writes
  it from book/_ext/colab_setup.py), which clones the repository named in _config.yml (the
  repository URL is set there, in one place) and installs the package from the clone.
* Chapters are committed with outputs (nbval compares cells marked ``# NBVAL_CHECK_OUTPUT``).
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))

# The canonical set-up cell and its sync script (book/_ext/sync_setup_cell.py).
_spec = importlib.util.spec_from_file_location("sync_setup_cell", ROOT / "book/_ext/sync_setup_cell.py")
SETUP = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(SETUP)


def _toc_files(entries) -> set[str]:
    files: set[str] = set()
    for entry in entries or []:
        if "file" in entry:
            files.add(str(Path(entry["file"]).with_suffix("")))
        for key in ("parts", "chapters", "sections"):
            files |= _toc_files(entry.get(key))
    return files


def _toc() -> set[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf8"))
    return {toc["root"]} | _toc_files(toc.get("parts")) | _toc_files(toc.get("chapters"))


def _repo_url() -> str:
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf8"))
    return config["repository"]["url"].rstrip("/")


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf8"))["cells"]


def _source(cell: dict) -> str:
    src = cell["source"]
    return src if isinstance(src, str) else "".join(src)


def test_there_are_chapters():
    assert CHAPTERS, "no notebooks in chapters/"


def test_toc_entries_exist():
    for name in _toc():
        candidates = [ROOT / f"{name}{ext}" for ext in (".md", ".ipynb")]
        assert any(p.exists() for p in candidates), f"_toc.yml lists {name}, which does not exist"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_is_in_toc(path):
    assert f"chapters/{path.stem}" in _toc(), f"{path.name} is not listed in _toc.yml"


def test_setup_cell_uses_the_configured_repository():
    """What the cell does is tested by running it on a fake Colab (tests/test_colab_setup.py)."""
    source = SETUP.canonical_source(ROOT)
    assert f'repo_url="{_repo_url()}"' in source
    assert '"google.colab" in sys.modules' in source, "the set-up cell must only act on Colab"
    assert '"git", "clone", "--depth", "1"' in source, "results/ is not in the pip package"
    assert '"-e", f"{clone}[book]"' in source
    assert 'os.chdir(f"{clone}/chapters")' in source


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_starts_with_colab_setup_cell(path):
    first = _cells(path)[0]
    assert first["cell_type"] == "code", "the first cell must be the set-up code cell"
    assert _source(first) == SETUP.canonical_source(ROOT), (
        f"the first cell of {path.name} is not the canonical set-up cell (or its repository URL "
        "differs from repository.url of _config.yml); run "
        "`.venv/bin/python book/_ext/sync_setup_cell.py`"
    )
    assert not first.get("outputs"), "outside Colab the set-up cell must print nothing"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_is_committed_with_outputs(path):
    code = [c for c in _cells(path)[1:] if c["cell_type"] == "code" and _source(c).strip()]
    assert all(c.get("execution_count") for c in code), (
        f"{path.name} has unexecuted code cells; run "
        f"`.venv/bin/jupyter execute --inplace chapters/{path.name}`"
    )


def test_cell_timeouts_agree():
    """nbval (Makefile) and the book build (_config.yml) give a cell the same time."""
    import re

    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf8"))
    make = re.search(r"^CELL_TIMEOUT\s*:?=\s*(\d+)", (ROOT / "Makefile").read_text(), re.M)
    assert make, "Makefile defines no CELL_TIMEOUT"
    assert int(make.group(1)) == config["execute"]["timeout"]
    assert config["execute"]["execute_notebooks"] == "cache", "a second build must be fast"


# The strict build of `make test` (warnings are errors) must fail on an unknown citation key and
# on a table-of-contents entry without a file. Checked on a tiny book that uses the real
# configuration and bibliography (about two seconds per build, no notebooks, no autodoc).


def _strict_build(tmp_path: Path, page: str, toc_extra: str = "") -> tuple[int, str]:
    import shutil
    import subprocess
    import sys

    exe = shutil.which("jupyter-book", path=str(Path(sys.executable).parent)) or shutil.which(
        "jupyter-book"
    )
    if exe is None:
        pytest.skip("jupyter-book is not installed")
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf8"))
    config["execute"] = {"execute_notebooks": "off"}
    config.pop("exclude_patterns", None)
    config["sphinx"].pop("local_extensions", None)
    (tmp_path / "book").mkdir()
    for bib in config["bibtex_bibfiles"]:
        shutil.copy(ROOT / bib, tmp_path / bib)
    (tmp_path / "_config.yml").write_text(yaml.safe_dump(config), encoding="utf8")
    (tmp_path / "_toc.yml").write_text(f"format: jb-book\nroot: index\n{toc_extra}", "utf8")
    (tmp_path / "index.md").write_text(f"# Test\n\n{page}\n\n```{{bibliography}}\n```\n", "utf8")
    (tmp_path / "chapter.md").write_text("# Chapter\n\nText.\n", encoding="utf8")
    result = subprocess.run(
        [exe, "build", str(tmp_path), "-W", "-n", "--keep-going", "--quiet"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    return result.returncode, result.stdout + result.stderr


def test_strict_build_of_a_tiny_book_passes(tmp_path):
    rc, log = _strict_build(
        tmp_path,
        "As {cite:t}`qiu2025scaling` show; see {doc}`chapter`.",
        "chapters:\n  - file: chapter\n",
    )
    assert rc == 0, log


def test_strict_build_fails_on_unknown_citation_key(tmp_path):
    rc, log = _strict_build(tmp_path, "As {cite:t}`qiu2025scalingg` show.")
    assert rc != 0 and "qiu2025scalingg" in log, log


def test_strict_build_fails_on_missing_toc_entry(tmp_path):
    rc, log = _strict_build(
        tmp_path, "As {cite:t}`qiu2025scaling` show.", "chapters:\n  - file: no_such_chapter\n"
    )
    assert rc != 0 and "no_such_chapter" in log, log
