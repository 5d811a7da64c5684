"""book/extending.md is real: its three modules, registered by the registry lines it shows,
train a per-token task with a new model and optimizer."""

import re
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from supercollapse.models import MODELS
from supercollapse.optim import OPTIMIZERS
from supercollapse.tasks import TASKS

PAGE = Path(__file__).parents[1] / "book" / "extending.md"
BLOCK = re.compile(r"```\{code-block\} python\n:caption: (.+?)\n\n(.*?)```", re.S)
REGISTRIES = {"tasks": TASKS, "models": MODELS, "optim": OPTIMIZERS}


def blocks() -> dict[str, str]:
    return dict(BLOCK.findall(PAGE.read_text()))


def test_each_extension_is_one_module_and_one_registry_line(monkeypatch, capsys):
    code = blocks()
    modules = {cap: src for cap, src in code.items() if cap.endswith(".py")}
    registries = {cap: src for cap, src in code.items() if "one new line" in cap}
    assert len(modules) == len(registries) == 3
    for caption, src in modules.items():  # the new modules, imported under their names
        room, name = re.match(r"src/supercollapse/(\w+)/(\w+)\.py", caption).groups()
        module = types.ModuleType(f"supercollapse.{room}.{name}")
        exec(compile(src, caption, "exec"), module.__dict__)
        monkeypatch.setitem(sys.modules, module.__name__, module)
        # the registry line the page shows for this module
        lines = [ln for cap, reg in registries.items() if f"/{room}/" in cap
                 for ln in reg.splitlines() if f": {name}." in ln]
        assert len(lines) == 1, (caption, lines)
        key, attr = re.fullmatch(rf'\s*"(\w+)": {name}\.(\w+),', lines[0]).groups()
        monkeypatch.setitem(REGISTRIES[room], key, getattr(module, attr))

    namespace: dict = {}
    exec(compile(code["training the new task, model and optimizer"], "extending.md", "exec"),
         namespace)
    out = capsys.readouterr().out
    assert out.count("lr=") == 2, out
    for r in namespace["runs"]:
        test = r.curves["test_loss"]
        assert test.shape[0] == 2 and not r.diverged.any()
        assert (test[:, -1] < 0.5 * test[:, 0]).all(), test  # it learns the running mean
        assert np.isfinite(r.curves["trace_pgrad"][:, 1:]).all()
        n_tokens = r.curves["samples"] * 16
        np.testing.assert_allclose(r.curves["compute"], 6.0 * r.n_params * n_tokens)
        assert r.meta["program"]["runs"] == 4  # two learning rates x two seeds, one program


def test_registries_reject_unknown_names():
    from supercollapse.train.config import ConfigError, TrainConfig

    for field in ("task", "model", "optimizer"):
        with pytest.raises(ConfigError, match=field):
            TrainConfig(samples=10**6, **{field: "nope"}).validate()
