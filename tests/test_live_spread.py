"""tests/live_spread.py: the tool behind the live claims' margins reports what it should.

A tiny notebook stands in for a chapter (no training: the seed offset is checked on the engine's
wrapped entry point), run with the kernel-free runner so the test is fast.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
spec = importlib.util.spec_from_file_location("live_spread", HERE / "live_spread.py")
live_spread = importlib.util.module_from_spec(spec)
spec.loader.exec_module(live_spread)


def tiny_chapter(path: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("import supercollapse.train.engine as engine\n"
                                  "print('entry', engine._train_group.__name__)"),
        nbformat.v4.new_code_cell("print('checked')", metadata={"tags": ["nbval-check-output"]}),
        nbformat.v4.new_code_cell("assert 1 + 1 == 3, 'a claim that fails'"),
        nbformat.v4.new_code_cell("print('after the failure')"),
    ]
    nbformat.write(nb, path)
    return path


def test_report_lists_failed_claims_and_live_outputs(tmp_path):
    nb = tiny_chapter(tmp_path / "99_tiny.ipynb")
    env = {**live_spread.os.environ}
    r = live_spread.run_chapter(nb, tmp_path / "out", env, timeout=120, runner="exec")
    assert r["errors"] == ["cell 2: AssertionError: a claim that fails"]
    assert r["live"] == {0: "entry _train_group\n", 3: "after the failure\n"}  # checked cell left out


def test_seed_offset_wraps_the_engine(tmp_path):
    nb = tiny_chapter(tmp_path / "99_tiny.ipynb")
    env = {**live_spread.os.environ, "SUPERCOLLAPSE_TEST_SEED_OFFSET": "3"}
    r = live_spread.run_chapter(nb, tmp_path / "out", env, timeout=120, runner="exec")
    assert r["live"][0] == "entry _shifted\n"


def test_narrowed_env():
    assert live_spread.narrowed_env("native") == {}
    env = live_spread.narrowed_env("SSE4_2")
    assert env["XLA_FLAGS"] == "--xla_cpu_max_isa=SSE4_2"
    assert env["OPENBLAS_CORETYPE"] == "Prescott" and "NPY_DISABLE_CPU_FEATURES" in env
