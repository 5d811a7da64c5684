"""The pinned environments: ``constraints.txt`` (``make constraints``, book/_ext/constraints.py)
and ``constraints-min.txt``.

* Neither pins a distribution twice, and every line is ``name==version`` or a comment.
* ``constraints.txt`` is current: in an environment installed for ``make venv`` (the package with
  the extras of constraints.py's ``EXTRAS``, which must be those of the Makefile), it is exactly
  what the generator writes, i.e. every pin is the installed version and every dependency of
  the package and its extras, direct or not, is pinned. (Skipped in other environments, e.g.
  ``make test-min``'s ``.venv-min``, which has no book extras.)
* ``constraints-min.txt`` (``make constraints-min``) holds every floor that ``make test-min``
  resolves with (``constraints.py --floors``: the runtime dependencies and pandas) at the floor,
  and, inside ``.venv-min`` (JAX at its floor, no book extras), is exactly what ``--min`` writes.
"""

from __future__ import annotations

import importlib.metadata as md
import importlib.util
import re
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("constraints_gen", ROOT / "book/_ext/constraints.py")
GEN = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(GEN)


def pins(text: str) -> list[tuple[str, str]]:
    """``(name, version)`` of every pin line; an error for any other non-comment line."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)", line)
        assert match, f"line {number}: {line!r} is not 'name==version'"
        found.append((match[1], match[2]))
    return found


def duplicates(text: str) -> list[str]:
    names = [canonicalize_name(name) for name, _ in pins(text)]
    return sorted({n for n in names if names.count(n) > 1})


def test_duplicates_are_found():
    assert duplicates("a==1\nb==2\n") == []
    assert duplicates("widgetsnbextension==4.0.16\nx==1\nWidgetsNBExtension==4.0.16\n") == [
        "widgetsnbextension"]
    assert duplicates("Foo_Bar==1\nfoo-bar==1\n") == ["foo-bar"]


@pytest.mark.parametrize("name", ["constraints.txt", "constraints-min.txt"])
def test_no_distribution_is_pinned_twice(name):
    assert duplicates((ROOT / name).read_text(encoding="utf8")) == [], name


def test_extras_are_those_of_make_venv():
    makefile = (ROOT / "Makefile").read_text(encoding="utf8")
    match = re.search(r"pip install -c constraints\.txt -e '\.\[([^\]]*)\]'", makefile)
    assert match, "the Makefile no longer installs .venv with constraints.txt"
    assert tuple(match[1].split(",")) == GEN.EXTRAS


def test_closure_follows_markers_extras_and_transitive_dependencies():
    # jax -> jaxlib -> ml_dtypes, scipy; all installed wherever the package is.
    found = GEN.closure([Requirement("jax")])
    for name in ("jax", "jaxlib", "ml_dtypes", "numpy", "scipy"):
        assert canonicalize_name(name) in {canonicalize_name(n) for n in found}, name
        assert found[next(n for n in found if canonicalize_name(n) == canonicalize_name(name))] \
            == md.version(name)
    assert list(found) == sorted(found, key=canonicalize_name)
    assert GEN.closure([Requirement('jax; python_version < "3"')]) == {}
    with pytest.raises(LookupError, match="not installed"):
        GEN.closure([Requirement("surely-not-an-installed-distribution-xyz")])
    with pytest.raises(LookupError, match="is installed"):
        GEN.closure([Requirement("numpy<1")])


def _installed_for_make_venv() -> bool:
    try:
        GEN.closure(GEN.project_requirements(ROOT))
    except LookupError:
        return False
    return True


@pytest.mark.skipif(not _installed_for_make_venv(),
                    reason="this environment lacks the extras of make venv (e.g. .venv-min)")
def test_constraints_txt_is_current():
    text = (ROOT / "constraints.txt").read_text(encoding="utf8")
    expected = GEN.generate(ROOT)
    stale = sorted(set(pins(text)) ^ set(pins(expected)))
    assert text == expected, (
        "constraints.txt is not what `make constraints` writes from this environment; pins "
        f"that differ (file or environment): {stale[:20]}"
    )


def test_floors_are_pinned_in_constraints_min():
    from packaging.version import Version

    pinned = {canonicalize_name(n): v for n, v in pins(
        (ROOT / "constraints-min.txt").read_text(encoding="utf8"))}
    floors = GEN.floors(ROOT)
    assert {"jax", "flax", "pandas"} <= set(floors)
    for name, floor in floors.items():
        version = pinned.get(canonicalize_name(name))
        assert version is not None, f"constraints-min.txt does not pin {name} (floor {floor})"
        assert Version(version) == Version(floor), f"{name}: floor {floor}, pinned {version}"


def _is_min_environment() -> bool:
    floors = GEN.floors(ROOT)
    try:
        md.version("jupyter-book")
        return False
    except md.PackageNotFoundError:
        pass
    try:
        return md.version("jax") == floors["jax"]
    except md.PackageNotFoundError:
        return False


@pytest.mark.skipif(not _is_min_environment(),
                    reason="not the environment of make test-min (.venv-min)")
def test_constraints_min_is_current():
    text = (ROOT / "constraints-min.txt").read_text(encoding="utf8")
    expected = GEN.generate_min(ROOT)
    stale = sorted(set(pins(text)) ^ set(pins(expected)))
    assert text == expected, (
        "constraints-min.txt is not what `make constraints-min` writes from .venv-min; pins that "
        f"differ (file or environment): {stale[:20]}"
    )
