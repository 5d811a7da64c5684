"""The Colab set-up cell of every chapter: its one canonical source, and a script to sync it.

Every notebook in ``chapters/`` starts with the same code cell. On Google Colab, and only there,
it

1. clones the book's repository (``git clone --depth 1``), because chapters read stored results
   from the repository's ``results/`` folder, which is not part of the pip package;
2. installs the package from the clone with what the chapters import and no book toolchain,
   ``pip install -e '<clone>[colab]'`` (the ``colab`` extra of ``pyproject.toml``), keeping the
   runtime's own JAX when it meets the package's floor (its installed ``jax``, ``jaxlib``,
   ``libtpu`` and CUDA plugin versions are pinned in a pip constraints file, so pip installs only
   what is missing: Flax, Optax, pandas, ipywidgets). JAX itself is installed only on a runtime
   without it, or on a CPU/GPU runtime whose JAX is below the floor; on a TPU runtime with an
   older JAX the cell stops and says what to do (a TPU runtime's jaxlib is never reinstalled);
3. changes into the clone's ``chapters/`` folder (so ``supercollapse.paths.results_dir()``, which
   walks up from the current directory, finds ``results/``), and prints the devices JAX sees.

Anywhere else the cell does nothing and prints nothing. The logic of steps 1-3 lives in
``book/_ext/colab_setup.py`` (plain functions, tested by ``tests/test_colab_setup.py``) and is
copied into the cell. The repository URL and branch are read from ``repository.url`` and
``repository.branch`` of ``_config.yml``, the JAX floor from ``jax>=...`` in the dependencies of
``pyproject.toml``: they are set there, and only there.

Chapter authors never copy the cell by hand. After adding or changing a chapter, changing the
repository URL, the JAX floor or ``colab_setup.py``, run from the repository root::

    .venv/bin/python book/_ext/sync_setup_cell.py            # write the cell into every chapter
    .venv/bin/python book/_ext/sync_setup_cell.py --check    # only report chapters that differ

A notebook whose first cell is already a set-up cell has that cell's source replaced (outputs
cleared); any other notebook gets the cell inserted at the top. ``tests/test_book_structure.py``
checks that every chapter starts with exactly this cell.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# The canonical set-up cell: a header, then the code of colab_setup.py (without its docstring)
# indented under the Colab test, then one call. {repo_url}, {branch}, {clone} and {jax_floor}
# are filled in from _config.yml and pyproject.toml. Keep it quiet outside Colab and ruff-clean.
HEADER = """\
# Set-up (the same in every chapter; written by book/_ext/sync_setup_cell.py from
# book/_ext/colab_setup.py, do not edit here). On Google Colab only: clone the book's repository
# (the package and its stored results/), install the package with what the chapters import (its
# colab extra: Flax, Optax, pandas, ipywidgets; not the book toolchain) while keeping the runtime's
# own JAX (a TPU runtime's JAX is never replaced), and work in the clone's chapters/ folder.
# Anywhere else this cell does nothing.
import sys

if "google.colab" in sys.modules:
"""
CALL = """
    colab_setup(
        repo_url="{repo_url}",
        branch="{branch}",
        clone="/content/{clone}",
        jax_floor="{jax_floor}",
    )
"""
LOGIC = Path(__file__).with_name("colab_setup.py")

MARKER = "written by book/_ext/sync_setup_cell.py"
CELL_ID = "colab-setup"
CELL_TAGS = ["remove-cell"]  # left out of the HTML book (how_to_use.md explains it); kept on Colab


def _config(root: Path) -> dict:
    import yaml  # PyYAML, installed with jupyter-book

    return yaml.safe_load((root / "_config.yml").read_text(encoding="utf8"))


def repository(root: Path = ROOT) -> tuple[str, str]:
    """``(url, branch)`` of the book's repository, from ``repository`` of ``_config.yml``."""
    repo = _config(root)["repository"]
    return repo["url"].rstrip("/"), str(repo.get("branch") or "main")


def jax_floor(root: Path = ROOT) -> str:
    """The version in ``jax>=...`` of the dependencies of ``root/pyproject.toml``."""
    import re
    import tomllib

    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf8"))["project"]
    for requirement in project["dependencies"]:
        match = re.fullmatch(r"jax\s*>=\s*([0-9][0-9.]*)\s*(,.*)?", requirement.strip())
        if match:
            return match.group(1)
    raise ValueError(f"{root / 'pyproject.toml'}: no 'jax>=VERSION' in project.dependencies")


def _logic_code(path: Path = LOGIC) -> str:
    """The code of ``colab_setup.py`` after its module docstring."""
    import ast

    text = path.read_text(encoding="utf8")
    body = ast.parse(text).body
    if not (body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)):
        raise ValueError(f"{path} must start with a docstring")
    return "\n".join(text.splitlines()[body[0].end_lineno:]).strip("\n")


def canonical_source(root: Path = ROOT) -> str:
    """The source of the set-up cell, for the repository named in ``root/_config.yml``."""
    url, branch = repository(root)
    clone = url.rsplit("/", 1)[-1].removesuffix(".git")
    code = "\n".join(f"    {line}" if line else "" for line in _logic_code().splitlines())
    call = CALL.format(repo_url=url, branch=branch, clone=clone, jax_floor=jax_floor(root))
    return (HEADER + code + "\n" + call).rstrip("\n")


def _text(source) -> str:
    return source if isinstance(source, str) else "".join(source)


def is_setup_cell(cell: dict) -> bool:
    """Whether ``cell`` is a (possibly outdated) set-up cell, to be replaced rather than kept."""
    src = _text(cell.get("source", ""))
    return cell.get("cell_type") == "code" and (
        MARKER in src or '"google.colab" in sys.modules' in src
    )


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def sync(path: Path, source: str, check: bool = False) -> bool:
    """Make the first cell of notebook ``path`` the set-up cell; return whether it changed."""
    nb = json.loads(path.read_text(encoding="utf8"))
    cells = nb.setdefault("cells", [])
    first = cells[0] if cells else None
    if first is not None and is_setup_cell(first):
        metadata = first.get("metadata", {})
        tags = metadata.get("tags", [])
        if (
            _text(first["source"]) == source
            and not first.get("outputs")
            and all(t in tags for t in CELL_TAGS)
        ):
            return False
        if check:
            return True
        first["source"] = _lines(source)
        first["outputs"] = []
        metadata["tags"] = tags + [t for t in CELL_TAGS if t not in tags]
        first["metadata"] = metadata
    else:
        if check:
            return True
        cell = {
            "cell_type": "code",
            "execution_count": None,
            "metadata": {"tags": list(CELL_TAGS)},
            "outputs": [],
            "source": _lines(source),
        }
        if (nb.get("nbformat"), nb.get("nbformat_minor", 0)) >= (4, 5):
            ids = {c.get("id") for c in cells}
            cell["id"] = CELL_ID if CELL_ID not in ids else f"{CELL_ID}-0"
        cells.insert(0, cell)
    for cell in cells[1:]:
        if "google.colab" in _text(cell.get("source", "")):
            print(f"warning: {path}: another cell mentions google.colab; remove any old set-up cell")
    # The layout of nbformat.write (and hence of Jupyter), so that diffs stay minimal.
    path.write_text(
        json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False) + "\n", encoding="utf8"
    )
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "notebooks", nargs="*", type=Path, help="notebooks to sync (default: chapters/*.ipynb)"
    )
    parser.add_argument(
        "--check", action="store_true", help="change nothing; exit 1 if a notebook is out of date"
    )
    args = parser.parse_args(argv)
    notebooks = args.notebooks or sorted((ROOT / "chapters").glob("*.ipynb"))
    source = canonical_source(ROOT)
    changed = [p for p in notebooks if sync(p, source, check=args.check)]
    for path in changed:
        print(f"{'out of date' if args.check else 'updated'}: {path}")
    if args.check and changed:
        print("run: .venv/bin/python book/_ext/sync_setup_cell.py", file=sys.stderr)
        return 1
    if not changed:
        print(f"set-up cell up to date in {len(notebooks)} notebook(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
