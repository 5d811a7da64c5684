"""The package's rooms: results and analysis import without JAX; no import cycles."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "supercollapse"
JAX_FREE = ["supercollapse.results", "supercollapse.train.config", "supercollapse.analysis.fits",
            "supercollapse.analysis.frontier", "supercollapse.analysis.collapse",
            "supercollapse.analysis.diagnose", "supercollapse.analysis.forecast",
            "supercollapse.analysis.noise_model", "supercollapse.analysis.theory",
            "supercollapse.analysis.seeds",
            "supercollapse.plotting", "supercollapse.exercises", "supercollapse.runtime"]


@pytest.mark.parametrize("module", JAX_FREE)
def test_imports_without_jax(module):
    code = (f"import sys, {module}; heavy = sorted(m for m in ('jax', 'flax', 'optax') "
            "if m in sys.modules); print(heavy); sys.exit(bool(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, f"{module} imports {out.stdout.strip()} {out.stderr[-500:]}"


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Package modules imported at module level (not inside functions, not TYPE_CHECKING)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if mod.startswith("supercollapse"):
                found.add(mod)
                found.update(f"{mod}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("supercollapse"))
    return found


def test_no_import_cycles():
    modules = {_module_name(p): p for p in SRC.rglob("*.py")}
    graph = {m: {i for i in _imports(p) if i in modules and i != m} for m, p in modules.items()}
    state: dict[str, int] = {}

    def visit(m, stack):
        state[m] = 1
        for n in graph[m]:
            if state.get(n) == 1:
                raise AssertionError("import cycle: " + " -> ".join(stack + [m, n]))
            if n not in state:
                visit(n, stack + [m])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [])
