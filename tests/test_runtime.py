"""The line at the top of each chapter page (what it runs on, how long it takes) comes from the
records: the notebook's execution timestamps and the stored results' program wall times
(supercollapse.runtime; book/_ext/chapter_runtime.py puts it on the page)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import tinybook

from supercollapse.results import load_run, run_files
from supercollapse.runtime import (
    GpuTime,
    chapter_runtime_line,
    gpu_time,
    notebook_cpu_seconds,
    runtime_line,
    sweeps_read,
)

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))


def _cell(start: str, end: str) -> dict:
    return {"cell_type": "code", "source": "x = 1",
            "metadata": {"execution": {"iopub.execute_input": start, "shell.execute_reply": end}}}


def test_cpu_seconds_span_first_start_to_last_reply():
    nb = {"cells": [_cell("2026-01-01T00:00:10.5Z", "2026-01-01T00:00:12Z"),
                    {"cell_type": "markdown", "source": "", "metadata": {}},
                    _cell("2026-01-01T00:00:12Z", "2026-01-01T00:02:10.5Z")]}
    assert notebook_cpu_seconds(nb) == pytest.approx(120.0)
    unrun = [{"cell_type": "code", "source": "  \n", "metadata": {}},
             {"cell_type": "code", "source": "x = 1", "metadata": {"tags": ["skip-execution"]}}]
    assert notebook_cpu_seconds({"cells": nb["cells"] + unrun}) == pytest.approx(120.0)


def test_cpu_seconds_are_none_without_a_record():
    nb = {"cells": [_cell("2026-01-01T00:00:00Z", "2026-01-01T00:00:01Z"),
                    {"cell_type": "code", "source": "y = 2", "metadata": {}}]}
    assert notebook_cpu_seconds(nb) is None
    assert notebook_cpu_seconds({"cells": []}) is None


def test_sweeps_read_finds_every_form():
    code = ('horizon = load_sweep("horizon")["constant"]\n'
            'sweep = load_sweep("collapse", scale="lm-full")\n'
            'LM = results_dir() / "lm-full"\n'
            'lr_runs = load_runs(LM / "lr")\n'
            'x = load_ladders(results_dir() / "full" / "ladder")\n'
            'again = load_sweep("horizon")\n'
            'other = load_runs(somewhere / "noise")\n')
    assert sweeps_read(code) == ["full/horizon", "lm-full/collapse", "lm-full/lr", "full/ladder"]


def _write_run(path: Path, meta: dict) -> None:
    np.savez_compressed(path, header=np.array(json.dumps({"meta": meta})))


def test_gpu_time_sums_programs_once_and_skips_cpu(tmp_path):
    d = tmp_path / "full" / "collapse"
    d.mkdir(parents=True)
    program = {"run_ids": ["a", "b"], "wall_seconds": 100.0}
    _write_run(d / "a.npz", {"backend": "gpu", "device_kind": "NVIDIA H100 80GB HBM3",
                             "wall_seconds": 50.0, "program": program})
    _write_run(d / "b.npz", {"backend": "gpu", "device_kind": "NVIDIA H100 80GB HBM3",
                             "wall_seconds": 50.0, "program": program})
    _write_run(d / "c.npz", {"backend": "gpu", "device_kind": "NVIDIA H200", "wall_seconds": 30.0})
    q = tmp_path / "quick" / "horizon"
    q.mkdir(parents=True)
    _write_run(q / "d.npz", {"backend": "cpu", "device_kind": "cpu", "wall_seconds": 60.0})
    got = gpu_time(tmp_path, ["full/collapse", "quick/horizon"])
    assert got == GpuTime(130.0, ("H100", "H200"), ("full/collapse",))


def test_runtime_line_states_both_times():
    line = runtime_line(150.0, GpuTime(2340.0, ("H100",), ("full/collapse", "full/horizon")))
    assert "CPU in about 2.5 min" in line and "39 min of GPU time" in line
    assert "`full/collapse`, `full/horizon`" in line and "(H100)" in line
    assert "no results trained on a GPU" in runtime_line(8.0, None)
    assert "not recorded" in runtime_line(None, None)


def test_full_collapse_time_matches_results_readme():
    """results/README.md gives 9.3 min for full/collapse (sum over its programs)."""
    got = gpu_time(ROOT / "results", ["full/collapse"])
    assert round(got.seconds / 60, 1) == 9.3 and got.devices == ("H100",)
    kinds = {load_run(f).meta["device_kind"] for f in run_files(ROOT / "results/full/collapse")}
    assert kinds == {"NVIDIA H100 80GB HBM3"}


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_every_chapter_has_recorded_timings(path):
    """Committed chapters keep the execution timestamps (nbconvert --execute writes them)."""
    line = chapter_runtime_line(path, ROOT / "results")
    assert re.search(r"a CPU in about [\d.]+ (s|min|h)\b", line), f"{path.name}: {line}"


def test_the_extension_puts_the_line_under_the_title(tmp_path):
    tinybook.write_config(tmp_path, {"chapter_runtime": str(ROOT / "book" / "_ext")})
    (tmp_path / "_toc.yml").write_text(
        "format: jb-book\nroot: index\nchapters:\n  - file: chapters/ch\n", "utf8")
    (tmp_path / "index.md").write_text("# Test\n\nIntro.\n", "utf8")
    (tmp_path / "chapters").mkdir()
    nb = {"cells": [{"cell_type": "markdown", "metadata": {}, "source": "# A chapter\n\nText."},
                    {**_cell("2026-01-01T00:00:00Z", "2026-01-01T00:00:42Z"),
                     "execution_count": 1, "outputs": [],
                     "source": 'runs = load_sweep("collapse")'}],
          "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                      "language": "python"}},
          "nbformat": 4, "nbformat_minor": 5}
    (tmp_path / "chapters" / "ch.ipynb").write_text(json.dumps(nb), "utf8")
    d = tmp_path / "results" / "full" / "collapse"
    d.mkdir(parents=True)
    _write_run(d / "a.npz", {"backend": "gpu", "device_kind": "NVIDIA H100 80GB HBM3",
                             "program": {"run_ids": ["a"], "wall_seconds": 300.0}})
    rc, log = tinybook.build(tmp_path)
    assert rc == 0, log
    html = (tmp_path / "_build" / "html" / "chapters" / "ch.html").read_text("utf8")
    title, rest = html.split("</h1>", 1)
    para = re.search(r'<p class="chapter-runtime">(.*?)</p>', rest, re.S)
    assert para and rest.index('class="chapter-runtime"') < rest.index("Text.")
    text = re.sub(r"<[^>]+>", "", para.group(1))
    assert "a CPU in about 42 s" in text and "5.0 min of GPU time" in text, text
    assert "chapter-runtime" not in (tmp_path / "_build" / "html" / "index.html").read_text("utf8")
