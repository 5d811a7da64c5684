"""Release the book and its package: ``make release VERSION=x.y.z``.

A release is one commit and one annotated tag ``vx.y.z`` on it. The commit

1. adds a section ``## [x.y.z] - YYYY-MM-DD`` to ``CHANGELOG.md`` (written if missing), one item
   per commit subject since the last ``v*`` tag (or since the first commit);
2. sets the version in ``pyproject.toml`` (``[project] version``), in
   ``src/supercollapse/__init__.py`` (``__version__``) and in ``CITATION.cff`` (``version``,
   ``date-released``);
3. pins what readers and graders install to the tag instead of a moving branch:
   ``repository.branch`` of ``_config.yml`` becomes ``vx.y.z``, which is what the launch buttons
   (Colab, Binder) and the chapters' Colab set-up cell (``book/_ext/sync_setup_cell.py``, run
   here on every chapter: it clones ``--branch vx.y.z``) use; the assignments' masters get the
   same cell (``assignments/build.py --sync``); links to files of the repository
   (``<url>/blob/<branch>/...``) in the chapters and ``book/*.md`` point at the tag; and the
   grading bundle, built from the tagged commit by ``make assignments``, installs the package at
   the tag (``assignments/build.py`` pins a build to the tag at ``HEAD``).

It refuses, with a message and exit status 1, a version that is not ``x.y.z``, a working tree
with uncommitted or untracked changes, and a tag that already exists. Nothing is pushed: push the
commit and the tag (``git push origin HEAD vx.y.z``) yourself. Run from the repository root::

    .venv/bin/python book/_ext/release.py 0.2.0        # (what make release VERSION=0.2.0 runs)

``tests/test_release.py`` releases a temporary clone and checks all of the above.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VERSION = re.compile(r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)")
CHANGELOG_HEADER = """\
# Changelog

Each release of the book and of its package `supercollapse` is a git tag `vX.Y.Z`; the chapters'
Colab set-up cell, the launch buttons and the assignments' grading bundle of a release install
that tag. Sections are written by `make release VERSION=X.Y.Z` (book/_ext/release.py) from the
commit subjects since the previous release.
"""


class ReleaseError(Exception):
    """A release that must not be made (the message says why)."""


def _git(root: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise ReleaseError(f"git {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc


def check_version(version: str) -> str:
    """``version`` if it is ``MAJOR.MINOR.PATCH`` (no leading zeros, no prefix), else an error."""
    if not VERSION.fullmatch(version or ""):
        raise ReleaseError(f"malformed version {version!r}: expected MAJOR.MINOR.PATCH, e.g. 0.2.0")
    return version


def check_tree(root: Path, tag: str) -> None:
    """Refuse a dirty working tree and an existing tag."""
    status = _git(root, "status", "--porcelain").stdout
    if status.strip():
        raise ReleaseError(f"the working tree has uncommitted or untracked changes; commit or "
                           f"remove them first:\n{status.rstrip()}")
    if _git(root, "rev-parse", "-q", "--verify", f"refs/tags/{tag}", check=False).returncode == 0:
        raise ReleaseError(f"tag {tag} already exists")


def last_tag(root: Path) -> str | None:
    """The latest ``v*`` tag reachable from ``HEAD``, or None."""
    proc = _git(root, "describe", "--tags", "--abbrev=0", "--match", "v*", check=False)
    return proc.stdout.strip() if proc.returncode == 0 else None


def changelog_section(root: Path, version: str, date: str) -> str:
    """The CHANGELOG section of ``version``: the commit subjects since the last tag."""
    since = last_tag(root)
    log = _git(root, "log", "--no-merges", "--format=%h%x09%s",
               *([f"{since}..HEAD"] if since else ["HEAD"])).stdout
    items = []
    for line in log.splitlines():
        commit, _, subject = line.partition("\t")
        items.append(f"- {subject.strip()} ({commit})")
    origin = f"since {since}" if since else "since the first commit"
    body = "\n".join(items) if items else "- No changes."
    return f"## [{version}] - {date}\n\nChanges {origin}:\n\n{body}\n"


def write_changelog(root: Path, section: str) -> None:
    path = root / "CHANGELOG.md"
    text = path.read_text(encoding="utf8") if path.exists() else CHANGELOG_HEADER
    match = re.search(r"^## \[", text, re.M)
    at = match.start() if match else len(text)
    head = text[:at].rstrip("\n") + "\n\n"
    rest = text[at:]
    path.write_text(head + section + ("\n" + rest if rest else ""), encoding="utf8")


def _sub(path: Path, pattern: str, repl: str, flags: int = re.M) -> None:
    text = path.read_text(encoding="utf8")
    new, n = re.subn(pattern, repl, text, count=1, flags=flags)
    if n != 1:
        raise ReleaseError(f"{path}: no match for {pattern!r}")
    path.write_text(new, encoding="utf8")


def set_versions(root: Path, version: str, date: str) -> None:
    """``version`` into pyproject.toml, the package's ``__version__`` and CITATION.cff."""
    _sub(root / "pyproject.toml", r'(^\[project\][^\[]*?^version\s*=\s*)"[^"]*"',
         rf'\g<1>"{version}"', re.M | re.S)
    _sub(root / "src/supercollapse/__init__.py", r'^__version__\s*=\s*"[^"]*"',
         f'__version__ = "{version}"')
    cff = root / "CITATION.cff"
    _sub(cff, r"^version:.*$", f"version: {version}")
    if re.search(r"^date-released:", cff.read_text(encoding="utf8"), re.M):
        _sub(cff, r"^date-released:.*$", f'date-released: "{date}"')
    else:
        _sub(cff, r"^(version:.*)$", f'\\1\ndate-released: "{date}"')


def pin(root: Path, tag: str) -> None:
    """Point ``repository.branch``, the set-up cells and the repository links at ``tag``."""
    sys.path.insert(0, str(root / "book" / "_ext"))
    import sync_setup_cell

    url, old = sync_setup_cell.repository(root)
    config = root / "_config.yml"
    _sub(config, r"(^repository:\n(?:[ \t]+.*\n)*?[ \t]+branch:[ \t]*)\S+", rf"\g<1>{tag}")
    if sync_setup_cell.repository(root)[1] != tag:
        raise ReleaseError(f"{config}: repository.branch was not set to {tag}")
    source = sync_setup_cell.canonical_source(root)
    chapters = sorted((root / "chapters").glob("*.ipynb"))
    for path in chapters:
        sync_setup_cell.sync(path, source)
    files = chapters + sorted((root / "book").glob("*.md")) + sorted(
        (root / "assignments").glob("*.ipynb"))
    for path in files:
        text = path.read_text(encoding="utf8")
        new = text.replace(f"{url}/blob/{old}/", f"{url}/blob/{tag}/")
        if new != text:
            path.write_text(new, encoding="utf8")
    subprocess.run([sys.executable, str(root / "assignments/build.py"), "--sync"], check=True,
                   cwd=root, stdout=subprocess.DEVNULL)


def release(version: str, root: Path = ROOT, date: str | None = None) -> str:
    """Make the release commit and the annotated tag ``v<version>``; return the tag."""
    tag = "v" + check_version(version)
    check_tree(root, tag)
    date = date or dt.date.today().isoformat()
    section = changelog_section(root, version, date)
    write_changelog(root, section)
    set_versions(root, version, date)
    pin(root, tag)
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", f"Release {tag}")
    _git(root, "tag", "-a", tag, "-m", f"supercollapse {version}\n\n{section}")
    return tag


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("version", help="MAJOR.MINOR.PATCH, e.g. 0.2.0")
    parser.add_argument("--root", type=Path, default=ROOT,
                        help="the repository to release (default: this one)")
    parser.add_argument("--date", help="release date, YYYY-MM-DD (default: today)")
    args = parser.parse_args(argv)
    try:
        tag = release(args.version, args.root.resolve(), args.date)
    except ReleaseError as err:
        print(f"release refused: {err}", file=sys.stderr)
        return 1
    print(f"Released {tag}: CHANGELOG.md, versions and pins committed, tag {tag} created.\n"
          f"Push both: git push origin HEAD {tag}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
