"""The live experiments' scales: which one a machine gets, and what the accelerator scale trains.

Nothing here trains: the accelerator configs are checked against the stored full-scale runs
they are meant to repeat, and their cost is counted from shapes.
"""

import dataclasses
import importlib.util
import json
import os
from pathlib import Path

import pytest

from supercollapse.results import load_sweep
from supercollapse.train import experiments, live
from supercollapse.train.engine import total_steps

ROOT = Path(__file__).resolve().parents[1]


def test_default_scale_cpu_and_forced(monkeypatch):
    monkeypatch.delenv(experiments.SCALE_ENV, raising=False)
    import jax

    expected = "quick" if jax.default_backend() == "cpu" else "accelerator"
    assert experiments.default_scale() == expected
    monkeypatch.setenv(experiments.SCALE_ENV, "accelerator")
    assert experiments.default_scale() == "accelerator"
    assert experiments.default_scale("lm") == "lm-accelerator"
    monkeypatch.setenv(experiments.SCALE_ENV, " Quick ")
    assert experiments.default_scale() == "quick"
    assert experiments.default_scale("lm") == "lm-quick"


def test_default_scale_bad_input(monkeypatch):
    monkeypatch.setenv(experiments.SCALE_ENV, "full")
    with pytest.raises(ValueError, match="SUPERCOLLAPSE_SCALE"):
        experiments.default_scale()
    with pytest.raises(ValueError, match="family"):
        experiments.default_scale("cnn")
    with pytest.raises(ValueError, match="live experiments"):
        live.law("full")


def _fields(cfg):
    """A config's fields, less those a live twin may change (seeds, length, evaluations)."""
    d = dataclasses.asdict(cfg)
    for k in ("tags", "seeds", "samples", "n_evals"):
        d.pop(k)
    return json.dumps(d, sort_keys=True)


@pytest.fixture(scope="module")
def stored_full():
    """Stored full-scale runs by their fields: ``{fields: [RunResult]}``."""
    runs = {}
    for sweep in ("horizon", "collapse", "breakdown", "noise"):
        for variant in load_sweep(sweep).values():
            for r in variant:
                runs.setdefault(_fields(r.config), []).append(r)
    return runs


def test_accelerator_runs_have_stored_twins(stored_full):
    """Every accelerator run of chapters 3-7 repeats a stored full-scale run (same config, the
    same length and seeds; the learning-rate sweep's x1/4 and x4 are the breakdown sweep's),
    and chapter 1's horizon runs are the first 15,000 steps of stored runs."""
    assert experiments.SCALES["accelerator"].base == experiments.SCALES["full"].base
    for chapter, runs in live.CHAPTER_RUNS.items():
        for cfg in runs("accelerator"):
            twins = stored_full.get(_fields(cfg), [])
            if (chapter in ("02", "09") or (chapter == "01" and cfg.task_exponent != 2.0)
                    or (chapter == "07" and cfg.lr / 1e-3 in (0.5, 2.0))):
                continue  # no stored full-scale runs: the µP and parameterisation sweeps (the
                # quick scale on every device), other tasks, lr x0.5 and x2
            assert twins, f"chapter {chapter}: no stored twin of {cfg.tags} width {cfg.width}"
            twin = twins[0]
            assert set(cfg.seeds) <= set(twin.seeds), (chapter, cfg.seeds, twin.seeds)
            if chapter == "01":
                assert total_steps(cfg) <= twin.total_steps
            else:
                assert total_steps(cfg) == twin.total_steps, (chapter, cfg.width)


def test_accelerator_ladder_inside_the_law_and_frozen_where_stored():
    law = json.loads((ROOT / "results" / "full" / "law.json").read_text())
    sizes = [experiments._n_params("accelerator", w) for w in experiments.SCALES["accelerator"].widths]
    assert min(law["sizes"]) <= min(sizes) and max(sizes) <= max(law["sizes"])
    frozen = live.breakdown_ladder("accelerator", "mup_frozen")
    assert {c.mup_reference_width for c in frozen} == {48}
    assert live.law("accelerator") == experiments.Law.load(ROOT / "results/full/law.json")


def test_quick_live_runs_unchanged():
    """The quick scale's live runs are the configs the chapters trained before the table."""
    assert live.HORIZON_DEMO_WIDTHS["quick"] == (4, 6, 8, 12, 16, 24, 32)
    nu = live.task_exponent_runs("quick", (1.5,))[1.5]
    assert (nu.width, nu.samples, nu.seeds, nu.n_evals) == (32, 64 * 1_500, (0, 1), 30)
    base = live.mup_base("quick")
    assert (base.batch_size, base.samples, base.seeds, base.depth) == (64, 64 * 400, (0, 1), 2)
    assert live.noise_demo("quick")["linear"] == live.NOISE_DEMO_QUICK.replace(schedule="linear")
    ladder, sweep = live.lr_sweep("quick")
    assert [c.width for c in ladder] == [6, 8, 12, 16] and sweep[4.0].width == 24
    # chapter 7 trains the rates one after another: they must share one compiled program
    for scale in live.MLP_SCALES:
        rates = live.lr_sweep(scale)[1]
        assert len({c.shape_key() for c in rates.values()}) == 1, scale


def test_accelerator_costs():
    """Each chapter's accelerator experiment costs at most 3e14 model FLOPs (about a minute
    of a T4 at 5 TFLOP/s) and 10x to 1e4x its quick experiment; chapter 9 trains its quick
    sweep on every device."""
    quick, accel = live.chapter_flops("quick"), live.chapter_flops("accelerator")
    assert set(quick) == set(accel) == {"01", "02", "03", "04", "05b", "06", "07", "09"}
    for ch in accel:
        assert accel[ch] < 3e14, (ch, accel[ch])
        if ch == "09":
            assert accel[ch] == quick[ch]
        else:
            assert 10 < accel[ch] / quick[ch] < 1e4, (ch, accel[ch] / quick[ch])


def _run_chapters():
    spec = importlib.util.spec_from_file_location("run_chapters",
                                                  ROOT / "benchmarks" / "run_chapters.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _run_code_cells(tmp_path, name: str, sources: list[str], timeout: float) -> dict:
    """A notebook of these code cells, run by run_chapters in its own process: its record."""
    nb = {"cells": [{"cell_type": "code", "metadata": {}, "source": src} for src in sources],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path = tmp_path / name
    path.write_text(json.dumps(nb))
    env = dict(os.environ, TMPDIR=str(tmp_path), MPLBACKEND="Agg")
    return _run_chapters().run_chapter(path, timeout=timeout, env=env)


def test_run_chapters_reads_cells(tmp_path):
    mod = _run_chapters()
    nb = {"cells": [
        {"cell_type": "markdown", "metadata": {}, "source": "# x"},
        {"cell_type": "code", "metadata": {}, "source": ["x = 1\n", "assert x == 1\n"]},
        {"cell_type": "code", "metadata": {"tags": ["skip-execution"]}, "source": "1 / 0"},
        {"cell_type": "code", "metadata": {}, "source": "assert x\nassert not 0"},
    ], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path = tmp_path / "99_test.ipynb"
    path.write_text(json.dumps(nb))
    cells = mod.code_cells(path)
    assert [(c["index"], c["asserts"]) for c in cells] == [(1, 1), (3, 2)]
    assert [p.name[:2] for p in mod.find_chapters(["00", "07"])] == ["00", "07"]
    assert [mod.chapter_of(p) for p in mod.find_chapters(["05", "05b"])] == ["05", "05b"]
    assert [p.name for p in mod.find_chapters(["05_when"])] == ["05_when_collapse_breaks.ipynb"]
    with pytest.raises(SystemExit, match="99"):
        mod.find_chapters(["99"])


def test_run_chapters_records_a_failing_claim(tmp_path):
    """A chapter whose claim fails is recorded as failed, with its cell, and the run goes on."""
    rec = _run_code_cells(tmp_path, "98_fails.ipynb",
                          ["print('loss 0.5')\nx = 1", "assert x == 2, 'the claim'"], timeout=120)
    assert rec["ok"] is False and rec["chapter"] == "98"
    assert rec["error"]["cell"] == 1 and rec["error"]["type"] == "AssertionError"
    assert "the claim" in rec["error"]["message"] and "loss 0.5" in rec["output_tail"]
    assert [c["index"] for c in rec["cells"]] == [0, 1]


def test_run_chapters_says_where_a_timeout_struck(tmp_path):
    """A chapter killed by the timeout keeps the cells it finished and names the cell it was in."""
    rec = _run_code_cells(tmp_path, "97_slow.ipynb", ["x = 1", "import time\ntime.sleep(60)"],
                          timeout=15)
    assert rec["ok"] is False and rec["error"]["message"] == "timed out after 15 s in cell 1"
    assert [c["index"] for c in rec["cells"]] == [0]
