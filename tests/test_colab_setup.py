"""The Colab set-up cell (book/_ext/colab_setup.py, rendered by book/_ext/sync_setup_cell.py).

The rule: keep the runtime's JAX when it meets the package's floor (pip gets the installed jax,
jaxlib, libtpu and CUDA plugin versions as constraints and no JAX requirement); install JAX only
where it is missing, or too old on a CPU/GPU runtime; on a TPU runtime with too old a JAX install
nothing and say what to do. The rendered cell is executed here as it is on Colab, with a fake
``google.colab`` module, a fake pip (``subprocess.run``), fake installed versions and a fake
``jax``.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import re
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


LOGIC = _load("colab_setup", ROOT / "book/_ext/colab_setup.py")
SYNC = _load("sync_setup_cell", ROOT / "book/_ext/sync_setup_cell.py")
FLOOR = SYNC.jax_floor(ROOT)
NEW, OLD = "99.0.0", "0.1.0"  # certainly above / below any floor

# --- the pure rule ---------------------------------------------------------------------------


def test_version_tuple():
    assert LOGIC.version_tuple("0.7.1") == (0, 7, 1)
    assert LOGIC.version_tuple("0.4.38") > LOGIC.version_tuple("0.4.4")
    assert LOGIC.version_tuple("0.10.0") > LOGIC.version_tuple("0.9.2")
    assert LOGIC.version_tuple("0.5.3+cuda12.cudnn9") == (0, 5, 3)
    assert LOGIC.version_tuple("0.9.0.1") == (0, 9, 0, 1)
    assert LOGIC.version_tuple("0.7.0rc1") == (0, 7, 0)
    with pytest.raises(ValueError, match="not a version"):
        LOGIC.version_tuple("latest")


def test_tpu_runtime_with_new_enough_jax_keeps_it():
    installed = {"jax": NEW, "jaxlib": NEW, "libtpu": "0.0.40"}
    requirements, constraints, note = LOGIC.plan_install("tpu", installed, FLOOR)
    assert requirements == []
    assert constraints == [f"jax=={NEW}", f"jaxlib=={NEW}", "libtpu==0.0.40"]
    assert "keeping" in note


def test_tpu_runtime_with_old_jax_stops_with_instructions():
    with pytest.raises(RuntimeError) as info:
        LOGIC.plan_install("tpu", {"jax": OLD, "jaxlib": OLD, "libtpu": "0.0.1"}, FLOOR)
    message = str(info.value)
    assert f"JAX {OLD}" in message and f">= {FLOOR}" in message
    assert "Mismatched PJRT plugin" in message and "Restart session" in message
    assert f"jax[tpu]>={FLOOR}" in message


def test_cpu_runtime_installs_jax_only_when_missing_or_old():
    assert LOGIC.plan_install("cpu", {}, FLOOR)[:2] == ([f"jax>={FLOOR}"], [])
    assert LOGIC.plan_install("cpu", {"jax": OLD, "jaxlib": OLD}, FLOOR)[:2] == ([f"jax>={FLOOR}"], [])
    requirements, constraints, _ = LOGIC.plan_install("cpu", {"jax": NEW, "jaxlib": NEW}, FLOOR)
    assert requirements == [] and constraints == [f"jax=={NEW}", f"jaxlib=={NEW}"]


def test_gpu_runtime_keeps_cuda_jax_and_completes_a_cpu_only_one():
    cuda = {"jax": NEW, "jaxlib": NEW, "jax-cuda12-plugin": NEW, "jax-cuda12-pjrt": NEW}
    requirements, constraints, _ = LOGIC.plan_install("gpu", cuda, FLOOR)
    assert requirements == []
    assert f"jax-cuda12-plugin=={NEW}" in constraints and f"jaxlib=={NEW}" in constraints
    # JAX without its CUDA plugin: add the plugin of the same release, keep jax/jaxlib pinned.
    requirements, constraints, _ = LOGIC.plan_install("gpu", {"jax": NEW, "jaxlib": NEW}, FLOOR)
    assert requirements == [f"jax[cuda12]=={NEW}"] and f"jax=={NEW}" in constraints
    assert LOGIC.plan_install("gpu", {"jax": OLD}, FLOOR)[0] == [f"jax[cuda12]>={FLOOR}"]


def test_plan_rejects_an_unknown_runtime():
    with pytest.raises(ValueError, match="runtime must be"):
        LOGIC.plan_install("ipu", {}, FLOOR)


# --- the rendered cell, executed on a fake Colab ------------------------------------------------


class FakeColab:
    """Patches what the cell touches; records the commands it runs."""

    def __init__(self, monkeypatch, tmp_path, *, runtime: str, installed: dict[str, str]):
        self.commands: list[list[str]] = []
        self.chdir: list[str] = []
        self.constraints: list[str] | None = None
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
        fake_jax = types.ModuleType("jax")
        fake_jax.__version__ = installed.get("jax", NEW)
        fake_jax.devices = lambda: [f"Fake{runtime.upper()}Device(id=0)"]
        monkeypatch.setitem(sys.modules, "jax", fake_jax)
        monkeypatch.setattr("subprocess.run", self.run)
        monkeypatch.setattr("os.chdir", self.chdir.append)
        monkeypatch.setattr("os.path.isdir", lambda path: False)  # not cloned yet
        monkeypatch.setattr(sys, "path", list(sys.path))
        monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
        monkeypatch.setattr("shutil.which", lambda cmd: "/usr/bin/nvidia-smi" if runtime == "gpu" else None)
        devices = {"tpu": ["/dev/vfio/0"]}.get(runtime, [])
        monkeypatch.setattr("glob.glob", lambda pattern: devices if "vfio" in pattern else [])

        def version(name):
            if name in installed:
                return installed[name]
            raise importlib.metadata.PackageNotFoundError(name)

        monkeypatch.setattr("importlib.metadata.version", version)

    def run(self, args, check=False, **kwargs):
        self.commands.append(list(args))
        if "-c" in args:
            self.constraints = Path(args[args.index("-c") + 1]).read_text().split()
        return types.SimpleNamespace(returncode=0)

    @property
    def pip(self) -> list[str]:
        (pip,) = [c for c in self.commands if c[1:4] == ["-m", "pip", "install"]]
        return pip

    def requirements(self) -> list[str]:
        """The requirements pip is asked for, besides the package itself."""
        args = self.pip[self.pip.index("-e") + 2:]
        return args[: args.index("-c")] if "-c" in args else args


def _run_cell():
    exec(compile(SYNC.canonical_source(ROOT), "<set-up cell>", "exec"), {"__name__": "__main__"})


def _mentions_jax(requirements: list[str]) -> bool:
    return any(re.match(r"(jax|jaxlib)\b", r) for r in requirements)


def test_cell_on_tpu_runtime_with_new_enough_jax_installs_no_jax(monkeypatch, tmp_path, capsys):
    installed = {"jax": NEW, "jaxlib": NEW, "libtpu": "0.0.40"}
    colab = FakeColab(monkeypatch, tmp_path, runtime="tpu", installed=installed)
    _run_cell()
    clone = colab.commands[0][-1]
    assert colab.commands[0][:4] == ["git", "clone", "--depth", "1"]
    assert colab.pip[colab.pip.index("-e") + 1] == f"{clone}[colab]"
    assert not _mentions_jax(colab.requirements())
    assert sorted(colab.constraints) == [f"jax=={NEW}", f"jaxlib=={NEW}", "libtpu==0.0.40"]
    assert colab.chdir == [f"{clone}/chapters"] and sys.path[0] == f"{clone}/src"
    out = capsys.readouterr().out
    assert "Colab TPU runtime: keeping the runtime's JAX" in out
    assert "FakeTPUDevice(id=0)" in out


def test_cell_on_tpu_runtime_with_old_jax_stops_before_pip(monkeypatch, tmp_path):
    colab = FakeColab(monkeypatch, tmp_path, runtime="tpu", installed={"jax": OLD, "jaxlib": OLD})
    with pytest.raises(RuntimeError, match=f"needs JAX >= {re.escape(FLOOR)}"):
        _run_cell()
    assert [c[:2] for c in colab.commands] == [["git", "clone"]]  # no pip


def test_cell_on_cpu_runtime_without_jax_installs_it(monkeypatch, tmp_path, capsys):
    colab = FakeColab(monkeypatch, tmp_path, runtime="cpu", installed={})
    _run_cell()
    assert colab.requirements() == [f"jax>={FLOOR}"] and colab.constraints is None
    assert "FakeCPUDevice(id=0)" in capsys.readouterr().out


def test_cell_on_gpu_runtime_keeps_cuda_jax(monkeypatch, tmp_path):
    installed = {"jax": NEW, "jaxlib": NEW, "jax-cuda12-plugin": NEW, "jax-cuda12-pjrt": NEW}
    colab = FakeColab(monkeypatch, tmp_path, runtime="gpu", installed=installed)
    _run_cell()
    assert not _mentions_jax(colab.requirements())
    assert f"jax-cuda12-plugin=={NEW}" in colab.constraints


def test_cell_does_nothing_outside_colab(monkeypatch, capsys):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    calls = []
    monkeypatch.setattr("subprocess.run", lambda *a, **k: calls.append(a))
    _run_cell()
    assert calls == [] and capsys.readouterr().out == ""


def test_cell_floor_is_the_floor_of_pyproject():
    import tomllib

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert f"jax>={FLOOR}" in deps
    assert f'jax_floor="{FLOOR}"' in SYNC.canonical_source(ROOT)
