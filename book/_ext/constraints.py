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

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

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


def project_requirements(root: Path = ROOT, extras=EXTRAS) -> list[Requirement]:
    """The dependencies of ``root/pyproject.toml`` and of its ``extras``."""
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf8"))["project"]
    optional = project.get("optional-dependencies", {})
    unknown = [e for e in extras if e not in optional]
    if unknown:
        raise ValueError(f"pyproject.toml has no extra(s) {unknown}")
    lines = list(project.get("dependencies", []))
    for extra in extras:
        lines += optional[extra]
    return [Requirement(line) for line in lines]


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


def render(pins: dict[str, str], extras=EXTRAS) -> str:
    """The text of ``constraints.txt``."""
    body = "".join(f"{name}=={version}\n" for name, version in pins.items())
    return HEADER.format(extras=",".join(extras)) + body


def generate(root: Path = ROOT, extras=EXTRAS) -> str:
    """``constraints.txt`` for ``root``'s package and ``extras``, from this environment."""
    return render(closure(project_requirements(root, extras)), extras)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "constraints.txt")
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 if the file is not what would be written")
    args = parser.parse_args(argv)
    text = generate()
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
