"""``benchmarks/bench_ladder_programs.py`` (issue 34) measures what it says, on a toy ladder:
the arithmetic of its fields, not their values (nothing is timed against a bar here)."""

import pytest
from benchmark_modules import benchmark_module


@pytest.fixture(scope="module")
def bench():
    with benchmark_module("bench_ladder_programs") as module:
        yield module


def test_measure_fields(bench):
    from supercollapse.train.experiments import Law, _base
    from supercollapse.train.horizon import eval_steps

    m = bench.measure("lm-quick", "results/lm-quick/law.json", 8, 2, steps=2, repeats=1)
    law = Law.load(bench.ROOT / "results/lm-quick/law.json")
    cfg = _base("lm-quick", width=8, samples=None, **law.fields())
    assert m["runs"] == 2 and m["horizon_steps"] > 5
    assert m["evaluations"] == len(eval_steps(m["horizon_steps"], cfg.n_evals))
    assert m["segments"] == m["evaluations"] - 1  # step 0 is evaluated before any training
    assert m["tokens_per_s"] == pytest.approx(2 * cfg.batch_size * cfg.seq_len / m["step_s"])
    assert m["eval_in_steps"] == pytest.approx(m["eval_s"] / m["step_s"])
    parts = (m["setup_s"] + m["compile_segment_s"] + m["compile_eval_s"]
             + m["horizon_steps"] * m["step_s"] + m["segments"] * m["call_overhead_s"]
             + m["evaluations"] * m["eval_s"])
    assert m["program_s"] == pytest.approx(parts)
    assert m["program_s_per_run"] == pytest.approx(m["program_s"] / 2)
    assert 0 < m["compile_share"] < 1


def test_measure_records_the_lookup_and_the_probe(bench):
    m = bench.measure("lm-quick", "results/lm-quick/law.json", 8, 2, steps=2, repeats=1,
                      lookup="one_hot", traces=True)
    assert m["lookup"] == "one_hot" and m["tokens_per_s"] > 0 and m["traces"]
    assert m["probe_s"] > 0 and 0 < m["probe_share"] < 1
    parts = (m["setup_s"] + m["compile_segment_s"] + m["compile_eval_s"] + m["compile_probe_s"]
             + m["horizon_steps"] * m["step_s"] + m["segments"] * m["call_overhead_s"]
             + m["evaluations"] * (m["eval_s"] + m["probe_s"]))
    assert m["program_s"] == pytest.approx(parts)
