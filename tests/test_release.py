"""Releases (book/_ext/release.py, ``make release VERSION=x.y.z``) and the version pins.

* A release of a temporary ``git clone`` of this repository writes the CHANGELOG section, sets
  the three version strings, pins ``repository.branch``, every chapter's and assignment's set-up
  cell and the repository links to the tag, commits, and makes an annotated tag; the grading
  bundle built from the tagged commit installs the tag.
* It refuses a malformed version, a dirty tree and an existing tag (exit status 1, a message).
* In this repository, the version strings agree, and every chapter's set-up cell installs the
  released tag of the package version (or the development branch, while that version is not
  released yet).
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
RELEASE = ROOT / "book" / "_ext" / "release.py"
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _versions(root: Path) -> dict[str, str]:
    pyproject = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf8"))
    init = (root / "src/supercollapse/__init__.py").read_text(encoding="utf8")
    cff = yaml.safe_load((root / "CITATION.cff").read_text(encoding="utf8"))
    return {
        "pyproject.toml": pyproject["project"]["version"],
        "__version__": re.search(r'^__version__\s*=\s*"([^"]*)"', init, re.M).group(1),
        "CITATION.cff": str(cff["version"]),
    }


def _branch(root: Path) -> str:
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf8"))
    return str(config["repository"].get("branch") or "main")


def _setup_ref(path: Path) -> str:
    """The ``branch=`` that the set-up cell (first cell) of notebook ``path`` clones."""
    first = json.loads(path.read_text(encoding="utf8"))["cells"][0]
    source = "".join(first["source"])
    match = re.search(r'^\s*branch="([^"]+)",$', source, re.M)
    assert match, f"{path.name}: no branch=... in the set-up cell"
    return match.group(1)


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True,
                          text=True).stdout


def _release(root: Path, version: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(RELEASE), version, "--root", str(root),
                           "--date", "2030-01-02"], capture_output=True, text=True)


@pytest.fixture(scope="module")
def clone(tmp_path_factory):
    """A clone of this repository's committed HEAD, with a committer identity."""
    path = tmp_path_factory.mktemp("release") / "book"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(path)], check=True)
    _git(path, "config", "user.name", "Release Test")
    _git(path, "config", "user.email", "release-test@example.org")
    for tag in _git(path, "tag", "--list", "v*").split():  # release from a clean slate of tags
        _git(path, "tag", "-d", tag)
    return path


@pytest.fixture(scope="module")
def released(clone):
    """The clone after ``release 7.8.9``, and the commit it was released from."""
    before = _git(clone, "rev-parse", "HEAD").strip()
    subjects = _git(clone, "log", "--format=%s", "-3").splitlines()
    proc = _release(clone, "7.8.9")
    assert proc.returncode == 0, proc.stderr
    return clone, before, subjects


def test_release_sets_the_versions(released):
    clone, _, _ = released
    assert set(_versions(clone).values()) == {"7.8.9"}, _versions(clone)
    cff = yaml.safe_load((clone / "CITATION.cff").read_text(encoding="utf8"))
    assert str(cff["date-released"]) == "2030-01-02"


def test_release_writes_the_changelog(released):
    clone, _, subjects = released
    text = (clone / "CHANGELOG.md").read_text(encoding="utf8")
    assert text.startswith("# Changelog\n")
    assert "## [7.8.9] - 2030-01-02" in text
    for subject in subjects:  # the latest commits before the release, as items
        assert f"- {subject} (" in text, subject


def test_release_pins_setup_cells_launch_buttons_and_links(released):
    clone, _, _ = released
    assert _branch(clone) == "v7.8.9"  # launch buttons and the set-up cell read it
    sync = _load("sync_setup_cell_clone", clone / "book/_ext/sync_setup_cell.py")
    source = sync.canonical_source(clone)
    assert 'branch="v7.8.9"' in source
    for path in sorted((clone / "chapters").glob("*.ipynb")):
        first = json.loads(path.read_text(encoding="utf8"))["cells"][0]
        assert "".join(first["source"]) == source, path.name
        text = path.read_text(encoding="utf8")
        assert "/blob/main/" not in text, f"{path.name} still links into main"
    for path in sorted((clone / "assignments").glob("*.ipynb")):
        assert _setup_ref(path) == "v7.8.9", path.name
    assert subprocess.run([sys.executable, str(clone / "book/_ext/sync_setup_cell.py"), "--check"],
                          cwd=clone, capture_output=True).returncode == 0


def test_release_commits_and_tags(released):
    clone, before, _ = released
    assert _git(clone, "status", "--porcelain") == ""
    assert _git(clone, "rev-parse", "HEAD~1").strip() == before
    assert _git(clone, "log", "-1", "--format=%s").strip() == "Release v7.8.9"
    assert _git(clone, "cat-file", "-t", "v7.8.9").strip() == "tag"  # annotated
    assert _git(clone, "rev-parse", "v7.8.9^{commit}") == _git(clone, "rev-parse", "HEAD")
    # The grading bundle built from the tagged commit installs the package at the tag.
    build = _load("assignments_build_clone", clone / "assignments/build.py")
    assert build.build_ref(clone) == "v7.8.9"
    assert "@v7.8.9#egg=supercollapse" in build.requirements_text(build.build_ref(clone))


def test_release_refuses_an_existing_tag(released):
    clone, _, _ = released
    proc = _release(clone, "7.8.9")
    assert proc.returncode == 1 and "already exists" in proc.stderr, proc.stderr


def test_next_release_lists_only_the_new_commits(released):
    clone, _, _ = released
    (clone / "NEW.txt").write_text("x\n", encoding="utf8")
    _git(clone, "add", "NEW.txt")
    _git(clone, "commit", "-q", "-m", "A change after 7.8.9")
    proc = _release(clone, "7.9.0")
    assert proc.returncode == 0, proc.stderr
    text = (clone / "CHANGELOG.md").read_text(encoding="utf8")
    new, old = text.index("## [7.9.0]"), text.index("## [7.8.9]")
    assert new < old
    section = text[new:old]
    assert "since v7.8.9" in section and "- A change after 7.8.9 (" in section
    assert "Release v7.8.9" not in section
    assert _setup_ref(clone / "chapters" / CHAPTERS[0].name) == "v7.9.0"


@pytest.mark.parametrize("version", ["1.2", "v1.2.3", "1.2.3.4", "01.2.3", "1.2.x", ""])
def test_release_refuses_a_malformed_version(clone, version):
    proc = _release(clone, version)
    assert proc.returncode == 1 and "malformed version" in proc.stderr, proc.stderr


def test_release_refuses_a_dirty_tree(tmp_path):
    path = tmp_path / "book"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(path)], check=True)
    (path / "README.md").write_text("changed\n", encoding="utf8")
    head = _git(path, "rev-parse", "HEAD")
    proc = _release(path, "9.9.9")
    assert proc.returncode == 1 and "uncommitted" in proc.stderr, proc.stderr
    assert _git(path, "rev-parse", "HEAD") == head and "v9.9.9" not in _git(path, "tag")
    (path / "README.md").unlink()
    _git(path, "checkout", "README.md")
    (path / "stray.txt").write_text("untracked\n", encoding="utf8")
    proc = _release(path, "9.9.9")
    assert proc.returncode == 1 and "untracked" in proc.stderr, proc.stderr


# --- this repository ------------------------------------------------------------------------


def test_versions_agree():
    versions = _versions(ROOT)
    assert len(set(versions.values())) == 1, versions


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_setup_cell_installs_the_package_version(path):
    """The set-up cell clones the tag of the package version, or, while that version has no
    release (no CHANGELOG section), the development branch."""
    import supercollapse

    version = _versions(ROOT)["pyproject.toml"]
    assert supercollapse.__version__ == version
    ref = _setup_ref(path)
    changelog = ROOT / "CHANGELOG.md"
    released = changelog.exists() and f"## [{version}]" in changelog.read_text(encoding="utf8")
    if released or ref.startswith("v"):
        assert ref == f"v{version}", (
            f"{path.name}: the set-up cell clones {ref}, the package is {version}; release with "
            "`make release VERSION=...` (book/_ext/release.py)")
    else:
        assert ref == "main", f"{path.name}: the set-up cell clones {ref}"
    assert ref == _branch(ROOT), f"{path.name}: {ref} is not repository.branch of _config.yml"
