"""Write ``constraints.txt`` from the installed environment: ``make constraints``.

The pins are the *resolved* environment: what pip's resolver installed into ``.venv`` for
``pip install -e '.[book,dev,classroom]'`` (``make venv``). This script walks the requirement
graph of the package from its ``pyproject.toml`` (the dependencies and the requested extras),
through the metadata of every installed distribution (``importlib.metadata``: ``Requires-Dist``
with its environment markers and extras evaluated for this interpreter), and writes one
``name==version`` line per distribution reached, sorted by normalised name, each once. The
package itself is not pinned. Run it with the environment's own Python, from the repository root::

    .venv/bin/python book/_ext/constraints.py                 # write constraints.txt
    .venv/bin/python book/_ext/constraints.py --check         # exit 1 if it would change

To move a pin, install the version wanted into ``.venv`` (or change ``pyproject.toml`` and let
pip resolve again: ``.venv/bin/pip install -U -e '.[book,dev,classroom]'``), then run
``make constraints``. ``tests/test_constraints.py`` fails if ``constraints.txt`` has a duplicate,
or if it differs from what this script writes from the environment the tests run in (every pin is
the installed version, every dependency of the package and its extras is pinned).
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import sys
import tomllib
from pathlib import Path

try:  # not needed for --floors, which the system Python runs before a venv exists
    from packaging.markers import default_environment
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name
except ImportError:
    pass

ROOT = Path(__file__).resolve().parents[2]
EXTRAS = ("book", "dev", "classroom")  # what `make venv` installs
HEADER = """\
# Pinned CPU environment of the book (Python 3.11), used by 'make venv' and environment.yml:
#   pip install -c constraints.txt -e '.[{extras}]'
# Written by `make constraints` (book/_ext/constraints.py) from the environment pip resolved for
# that install: every distribution the package and those extras depend on, at its installed
# version. Do not edit by hand; tests/test_constraints.py checks that it is current.
# GPU/TPU and Colab installations do not use these pins.
"""


# The oldest supported environment of `make test-min` (constraints-min.txt): the package with its
# `dev` extra and a Jupyter kernel, every direct dependency at its floor (lowest-direct).
MIN_EXTRAS = ("dev",)
MIN_MORE = ("ipykernel",)
# Held at their floors too: the libraries of the extras that the package itself imports
# (pandas: results.to_frame). Tools (pytest, ruff, nbval, selenium) resolve to what pip picks.
MIN_LIBRARIES = ("pandas",)
MIN_HEADER = """\
# The oldest supported environment (Python 3.11), used by `make test-min`:
#   pip install -c constraints-min.txt -e '.[dev]' ipykernel
# Written by `make constraints-min` (book/_ext/constraints.py --min): pip resolved that install
# with every runtime dependency of pyproject.toml and pandas held at its floor (lowest-direct;
# constraints.py --floors), and this is everything it installed, each at its version
# (tests/test_min_versions.py checks that floors and pins agree; tests/test_constraints.py that
# the file is current inside .venv-min). Evidence for each floor: tests/README.md ("Oldest
# supported versions"). Do not edit by hand.
"""


def floors(root: Path = ROOT) -> dict[str, str]:
    """``{name: floor}`` of the runtime dependencies (``name>=floor``) of ``pyproject.toml`` and
    of the ``MIN_LIBRARIES`` of its ``MIN_EXTRAS``: what ``make test-min`` holds at the floor."""
    import re

    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf8"))["project"]
    optional = project.get("optional-dependencies", {})
    lines = list(project.get("dependencies", [])) + [
        line for extra in MIN_EXTRAS for line in optional[extra]
        if re.match(r"\s*([A-Za-z0-9._-]+)", line)[1] in MIN_LIBRARIES]
    found = {}
    for line in lines:
        line = line.split("#")[0]
        match = re.fullmatch(r"\s*([A-Za-z0-9._-]+)\s*>=\s*([0-9][^,;\s]*)\s*", line)
        if not match:
            raise ValueError(f"pyproject.toml: dependency {line!r} has no single '>=' floor")
        found[match[1]] = match[2]
    return found


def project_requirements(root: Path = ROOT, extras=EXTRAS, more=()) -> list[Requirement]:
    """The dependencies of ``root/pyproject.toml`` and of its ``extras``."""
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf8"))["project"]
    optional = project.get("optional-dependencies", {})
    unknown = [e for e in extras if e not in optional]
    if unknown:
        raise ValueError(f"pyproject.toml has no extra(s) {unknown}")
    lines = list(project.get("dependencies", []))
    for extra in extras:
        lines += optional[extra]
    return [Requirement(line) for line in [*lines, *more]]


def _applies(req: Requirement, extras: set[str]) -> bool:
    if req.marker is None:
        return True
    env = default_environment()
    return any(req.marker.evaluate({**env, "extra": e}) for e in (extras or {""}))


# Not pinned: the package itself, and the installer's own tools (as `pip freeze` leaves them out;
# a pin of the venv's setuptools would also fight the build requirements of pyproject.toml).
EXCLUDE = ("supercollapse", "pip", "setuptools", "wheel")


def closure(requirements: list[Requirement], exclude=EXCLUDE) -> dict[str, str]:
    """``{name: installed version}`` of every distribution reached from ``requirements``.

    A requirement whose distribution is not installed is an error (the environment does not
    satisfy the package); so is an installed version that the requirement excludes.
    """
    pins: dict[str, tuple[str, str]] = {}  # canonical name -> (name, version)
    seen: set[tuple[str, frozenset[str]]] = set()
    stack = [(req, set()) for req in requirements]
    skip = {canonicalize_name(n) for n in exclude}
    while stack:
        req, parent_extras = stack.pop()
        if not _applies(req, parent_extras):
            continue
        key = canonicalize_name(req.name)
        if key in skip:
            continue
        try:
            dist = md.distribution(req.name)
        except md.PackageNotFoundError:
            raise LookupError(f"{req} is required but {req.name} is not installed") from None
        version = dist.version
        if req.specifier and not req.specifier.contains(version, prereleases=True):
            raise LookupError(f"{req} is required but {req.name} {version} is installed")
        pins[key] = (dist.metadata["Name"], version)
        state = (key, frozenset(req.extras))
        if state in seen:
            continue
        seen.add(state)
        for line in dist.requires or []:
            stack.append((Requirement(line), set(req.extras)))
    return {name: version for name, version in sorted(pins.values(),
                                                      key=lambda p: canonicalize_name(p[0]))}


def render(pins: dict[str, str], header: str) -> str:
    """The text of a constraints file."""
    return header + "".join(f"{name}=={version}\n" for name, version in pins.items())


def generate(root: Path = ROOT, extras=EXTRAS) -> str:
    """``constraints.txt`` for ``root``'s package and ``extras``, from this environment."""
    return render(closure(project_requirements(root, extras)),
                  HEADER.format(extras=",".join(extras)))


def generate_min(root: Path = ROOT) -> str:
    """``constraints-min.txt``, from the environment of ``make test-min`` (``.venv-min``)."""
    return render(closure(project_requirements(root, MIN_EXTRAS, MIN_MORE)), MIN_HEADER)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, help="default: constraints.txt (constraints-min.txt "
                        "with --min)")
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 if the file is not what would be written")
    parser.add_argument("--min", action="store_true",
                        help="write constraints-min.txt (run with .venv-min's Python)")
    parser.add_argument("--floors", action="store_true",
                        help="print the floors of the runtime dependencies as name==floor pins")
    args = parser.parse_args(argv)
    if args.floors:
        print("".join(f"{name}=={floor}\n" for name, floor in floors().items()), end="")
        return 0
    if args.out is None:
        args.out = ROOT / ("constraints-min.txt" if args.min else "constraints.txt")
    text = generate_min() if args.min else generate()
    old = args.out.read_text(encoding="utf8") if args.out.exists() else ""
    if args.check:
        if old != text:
            print(f"{args.out} is not current; run: make constraints", file=sys.stderr)
            return 1
        print(f"{args.out} is current")
        return 0
    if old != text:  # keep the time stamp otherwise (make venv depends on it)
        args.out.write_text(text, encoding="utf8")
    print(f"{'updated' if old != text else 'unchanged'}: {args.out} ({text.count('==')} pins)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
