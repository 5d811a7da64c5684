"""The floors of pyproject.toml are the versions that ``make test-min`` tests.

``constraints-min.txt`` must pin every runtime dependency at exactly its floor (``jax>=0.7.1`` ->
``jax==0.7.1``), so that raising or lowering a floor without testing it fails here.
"""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _release(version: str) -> tuple[int, ...]:
    parts = [int(p) for p in version.split(".")]
    while len(parts) > 1 and parts[-1] == 0:  # 2.2 == 2.2.0
        parts.pop()
    return tuple(parts)


def _floors() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf8"))["project"]
    floors = {}
    for requirement in project["dependencies"]:
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)\s*>=\s*([0-9.]+)", requirement.strip())
        assert match, f"pyproject.toml: dependency {requirement!r} has no single '>=' floor"
        floors[match.group(1).lower()] = match.group(2)
    return floors


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints-min.txt").read_text(encoding="utf8").splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"constraints-min.txt: {line!r} is not 'name==version'"
            pins[name.strip().lower().replace("_", "-")] = version.strip()
    return pins


def test_every_floor_is_pinned_in_constraints_min():
    pins = _pins()
    for name, floor in _floors().items():
        assert name in pins, f"constraints-min.txt does not pin {name} (floor {floor})"
        assert _release(pins[name]) == _release(floor), (
            f"{name}: pyproject.toml says >={floor}, constraints-min.txt tests {pins[name]}"
        )


def test_jaxlib_is_pinned_with_jax():
    pins = _pins()
    assert pins.get("jaxlib") == pins["jax"], "make test-min must test jaxlib of jax's release"
