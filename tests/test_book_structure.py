"""Conventions of the book's chapters that no build tool checks by itself.

* Every notebook in chapters/ is listed in _toc.yml (with ``only_build_toc_files`` an unlisted
  chapter would silently be left out of the book).
* Every chapter starts with the canonical Colab set-up cell (book/_ext/sync_setup_cell.py writes
  it from book/_ext/colab_setup.py), which clones the repository named in _config.yml (the
  repository URL is set there, in one place) and installs the package from the clone.
* Chapters are committed with outputs (nbval compares the cells tagged ``nbval-check-output``).
* No test scaffolding on the page: no rendered cell or page shows "NBVAL" or "placeholder"
  (book/_ext/check_rendered.py; ``make check-book`` also scans the built HTML), and nbval is
  steered by cell tags, whose names are checked here.
* Links into the book's repository use ``repository.url`` of _config.yml.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import tinybook

yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))

# The canonical set-up cell and its sync script (book/_ext/sync_setup_cell.py).
_spec = importlib.util.spec_from_file_location("sync_setup_cell", ROOT / "book/_ext/sync_setup_cell.py")
SETUP = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(SETUP)

# The scan for test scaffolding on the page (book/_ext/check_rendered.py).
_spec = importlib.util.spec_from_file_location("check_rendered", ROOT / "book/_ext/check_rendered.py")
RENDERED = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(RENDERED)
CHECK_HTML = ROOT / "_build" / "check" / "_build" / "html"  # the strict build of `make check-book`


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
    assert '"-e", f"{clone}[colab]"' in source
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
    tinybook.write_config(tmp_path)
    (tmp_path / "_toc.yml").write_text(f"format: jb-book\nroot: index\n{toc_extra}", "utf8")
    (tmp_path / "index.md").write_text(f"# Test\n\n{page}\n\n```{{bibliography}}\n```\n", "utf8")
    (tmp_path / "chapter.md").write_text("# Chapter\n\nText.\n", encoding="utf8")
    return tinybook.build(tmp_path)


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


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_no_scaffolding_in_rendered_cells(path):
    """No cell the book shows (source or output) contains "NBVAL" or "placeholder"."""
    for i, cell in enumerate(_cells(path)):
        words = RENDERED.forbidden_words(RENDERED.rendered_cell_text(cell))
        assert not words, (
            f"{path.name}, cell {i}, shows {words} on the page: steer nbval with cell tags "
            "(nbval-check-output, nbval-ignore-output, nbval-skip) and remove or tag "
            "(remove-cell) placeholder cells"
        )


def test_no_scaffolding_in_book_pages():
    for page in sorted((ROOT / "book").glob("*.md")):
        words = RENDERED.forbidden_words(page.read_text(encoding="utf8"))
        assert not words, f"{page.name} shows {words} on the page"


def test_nbval_tags_are_known_to_nbval():
    """A misspelt nbval tag would silently do nothing."""
    plugin = pytest.importorskip("nbval.plugin")
    for path in CHAPTERS:
        for i, cell in enumerate(_cells(path)):
            for tag in cell.get("metadata", {}).get("tags", []):
                if tag.startswith("nbval"):
                    assert tag in plugin.metadata_tags, f"{path.name}, cell {i}: unknown tag {tag}"
    assert any(
        "nbval-check-output" in c.get("metadata", {}).get("tags", [])
        for path in CHAPTERS for c in _cells(path)
    ), "no chapter cell is tagged nbval-check-output: nbval would compare nothing"


def test_rendered_html_has_no_scaffolding():
    """The strict build's pages (made by `make check-book`, which also runs this scan)."""
    if not CHECK_HTML.is_dir():
        pytest.skip(f"no strict build at {CHECK_HTML.relative_to(ROOT)}; `make check-book` builds "
                    "it and scans it (python book/_ext/check_rendered.py _build/check/_build/html)")
    assert not RENDERED.scan_html(CHECK_HTML)


def test_html_scan_reads_text_not_markup(tmp_path):
    (tmp_path / "ok.html").write_text(
        '<input placeholder="Search..."><script>const NBVAL = 1;</script><p>Loss curves</p>'
    )
    assert RENDERED.scan_html(tmp_path) == {}
    (tmp_path / "bad.html").write_text("<pre><span># NBVAL_CHECK_OUTPUT</span></pre><p>setup "
                                       "<b>placeholder</b></p>")
    assert RENDERED.scan_html(tmp_path) == {"bad.html": ["NBVAL", "placeholder"]}


def test_links_into_the_repository_use_the_configured_url():
    """Links to files of the repository (not part of the website) start with repository.url."""
    import re

    url = _repo_url()
    owner = url.rsplit("/", 2)[-2]
    branch = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf8"))["repository"].get(
        "branch", "main")
    texts = {p.name: "\n".join(_source(c) for c in _cells(p)) for p in CHAPTERS}
    texts |= {p.name: p.read_text(encoding="utf8") for p in (ROOT / "book").glob("*.md")}
    for name, text in texts.items():
        for link in re.findall(rf"https://github\.com/{re.escape(owner)}/[^\s)\]\"'>]+", text):
            assert link.startswith(f"{url}/blob/{branch}/") or link == url, (
                f"{name}: {link} does not point into {url} (branch {branch})"
            )
            path = link.removeprefix(f"{url}/blob/{branch}/")
            assert link == url or (ROOT / path).exists(), f"{name}: {path} is not in the repository"
