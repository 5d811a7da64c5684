"""Results files and sweeps: atomic saves, clear errors for corrupt files, resume after a
kill, diverged runs recorded while the sweep goes on."""

import io
import json
import shutil

import numpy as np
import pytest

import supercollapse.results as results
import supercollapse.train.sweep as sweep
from supercollapse.results import (
    ResultsError,
    RunResult,
    load_run,
    load_runs,
    run_path,
    save_run,
    select_runs,
    to_frame,
)
from supercollapse.train.config import TrainConfig
from supercollapse.train.engine import TRACES, train, train_many

TINY = dict(width=16, depth=1, n_modes=100, n_test=256, eval_batch_size=256, batch_size=32,
            samples=32 * 100, n_evals=6)


def tiny(**kw) -> TrainConfig:
    return TrainConfig(**{**TINY, **kw})


def fake_result(cfg: TrainConfig, n_evals: int = 4) -> RunResult:
    """A result with the right shapes, without training (for file and sweep logic)."""
    step = np.linspace(0, 100, n_evals).astype(int)
    n = len(cfg.seeds)
    curves = {"step": step, "samples": step * 32.0, "compute": step * 1e3,
              "lr": np.full(n_evals, cfg.lr), "tau": step * cfg.lr,
              "train_loss": np.full((n, n_evals), 0.4), "test_loss": np.full((n, n_evals), 0.5)}
    return RunResult(cfg, 1000, 100, curves, np.zeros(n, bool), {"note": "fake"})


class Recorder:
    """Stands in for ``sweep.train_many``: fakes (or really runs) training a group of
    configs; can die at the n-th config."""

    def __init__(self, real: bool = False, die_on: int | None = None):
        self.calls, self.real, self.die_on = [], real, die_on

    def __call__(self, cfgs, **kwargs):
        for cfg in cfgs:
            self.calls.append(cfg.run_id())
            if len(self.calls) == self.die_on:
                raise KeyboardInterrupt("simulated kill")
        return train_many(cfgs) if self.real else [fake_result(c) for c in cfgs]


def test_save_load_round_trip(tmp_path):
    r = fake_result(tiny(seeds=(0, 1)))
    r.diverged[1] = True
    path = save_run(r, run_path(tmp_path, r.config))
    assert path.name == f"{r.config.run_id()}.npz"
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left
    back = load_run(path)
    assert back.config == r.config and back.n_params == 1000 and back.total_steps == 100
    assert back.diverged.tolist() == [False, True] and back.meta == {"note": "fake"}
    for k, v in r.curves.items():
        np.testing.assert_array_equal(back.curves[k], v)
    frame = to_frame(load_runs(tmp_path))
    assert len(frame) == 2 * 4 and set(frame["seed"]) == {0, 1}
    assert frame.groupby("seed")["diverged"].first().tolist() == [False, True]


def test_save_is_atomic(tmp_path, monkeypatch):
    r = fake_result(tiny())

    def killed(*args, **kwargs):
        raise KeyboardInterrupt("killed while writing")

    monkeypatch.setattr(results.np, "savez_compressed", killed)
    with pytest.raises(KeyboardInterrupt):
        save_run(r, run_path(tmp_path, r.config))
    assert list(tmp_path.iterdir()) == []  # neither a partial file nor a temporary one


def _corruptions(good: bytes) -> dict:
    def npz(**arrays) -> bytes:
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        return buf.getvalue()

    with np.load(io.BytesIO(good)) as data:
        header = json.loads(str(data["header"]))
        curves = {k: data[k] for k in data.files if k != "header"}
    return {
        "empty": (b"", "not a readable"),
        "garbage": (b"this is not an npz file" * 10, "not a readable"),
        "truncated": (good[: len(good) // 2], "not a readable"),
        "no header": (npz(**curves), "not a readable"),
        "header not json": (npz(header=np.array("{oops"), **curves), "not a readable"),
        "future format": (npz(header=np.array(json.dumps({**header, "format_version": 99})),
                              **curves), "format_version"),
        "bad config": (npz(header=np.array(json.dumps({**header, "config": {"widht": 1}})),
                           **curves), "invalid header"),
        "missing curve": (npz(header=np.array(json.dumps(header)),
                              **{k: v for k, v in curves.items() if k != "test_loss"}),
                          "missing curve 'test_loss'"),
        "bad shape": (npz(header=np.array(json.dumps(header)),
                          **{**curves, "test_loss": curves["test_loss"][:, :2]}), "shape"),
    }


def test_corrupt_results_file_gives_a_clear_error_naming_it(tmp_path):
    good = save_run(fake_result(tiny()), tmp_path / "good.npz").read_bytes()
    for name, (data, why) in _corruptions(good).items():
        path = tmp_path / f"{name.replace(' ', '_')}.npz"
        path.write_bytes(data)
        with pytest.raises(ResultsError) as err:
            load_run(path)
        assert str(path) in str(err.value) and why in str(err.value), (name, err.value)
    with pytest.raises(ResultsError, match="no such results file"):
        load_run(tmp_path / "absent.npz")
    with pytest.raises(ResultsError, match="no such results directory"):
        load_runs(tmp_path / "absent")


def test_sweep_names_a_corrupt_finished_file_before_training(tmp_path, monkeypatch):
    cfgs = [tiny(), tiny(width=8)]
    run_path(tmp_path, cfgs[0]).write_bytes(b"\x00" * 100)
    fake = Recorder()
    monkeypatch.setattr(sweep, "train_many", fake)
    with pytest.raises(ResultsError, match=cfgs[0].run_id()):
        sweep.run_sweep(cfgs, tmp_path, progress=False)
    assert fake.calls == []


def test_sweep_resumes_after_a_kill(tmp_path, monkeypatch):
    cfgs = [tiny(), tiny(width=8), tiny(width=8, schedule="cosine")]  # two groups: 1 + 2
    ids = [c.run_id() for c in cfgs]
    dying = Recorder(real=True, die_on=2)  # the first group really trains, the second dies
    monkeypatch.setattr(sweep, "train_many", dying)
    with pytest.raises(KeyboardInterrupt):
        sweep.run_sweep(cfgs, tmp_path, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{ids[0]}.npz"]  # no partial file
    first = load_run(run_path(tmp_path, cfgs[0]))
    assert first.config == cfgs[0] and np.isfinite(first.curves["test_loss"]).all()

    again = Recorder()
    monkeypatch.setattr(sweep, "train_many", again)
    report = sweep.run_sweep(cfgs, tmp_path, progress=False)
    assert again.calls == ids[1:]  # only the remaining runs are trained
    assert report.skipped == ids[:1] and report.done == ids[1:] and report.complete
    assert sweep.run_sweep(cfgs, tmp_path, progress=False).skipped == ids
    assert len(load_runs(tmp_path)) == 3


def test_sweep_time_limit_leaves_the_rest_for_later(tmp_path, monkeypatch):
    cfgs = [tiny(), tiny(width=8)]
    monkeypatch.setattr(sweep, "train_many", Recorder())
    report = sweep.run_sweep(cfgs, tmp_path, max_minutes=0.0, progress=False)
    assert report.done == [] and report.remaining == [c.run_id() for c in cfgs]
    assert not report.complete and "resume" in report.summary()
    with pytest.raises(ValueError, match="identical configs"):
        sweep.run_sweep([cfgs[0], cfgs[0].replace(tags={"x": 1})], tmp_path, progress=False)


def test_diverged_run_is_saved_and_the_sweep_goes_on(tmp_path):
    bad, good = tiny(mup="off", lr=1e20, seeds=(0, 1)), tiny()
    report = sweep.run_sweep([bad, good], tmp_path, progress=False)
    assert report.done == [bad.run_id(), good.run_id()] and report.complete
    assert report.diverged == [bad.run_id()]
    assert "1 with diverged seeds" in report.summary()
    r_bad, r_good = load_run(run_path(tmp_path, bad)), load_run(run_path(tmp_path, good))
    assert r_bad.diverged.tolist() == [True, True]
    assert r_bad.meta["steps_trained"] < r_bad.total_steps
    assert not r_good.diverged.any() and np.isfinite(r_good.curves["test_loss"]).all()
    # a stored diverged run is finished: it is not trained again
    shutil.copytree(tmp_path, tmp_path.parent / "copy")
    assert sweep.run_sweep([bad, good], tmp_path.parent / "copy", progress=False).skipped == \
        [bad.run_id(), good.run_id()]


def test_cli_summary_and_reproduce(tmp_path, capsys):
    """``python -m supercollapse summary`` lists a run; ``reproduce`` retrains it and matches
    (bit for bit on CPU), and reports a mismatch when the stored curve was altered."""
    from supercollapse.__main__ import main

    cfg = tiny(seeds=(0, 1))
    path = save_run(train(cfg), run_path(tmp_path, cfg))
    assert main(["summary", str(tmp_path)]) == 0
    assert cfg.run_id() in capsys.readouterr().out
    assert main(["reproduce", str(path), "--rtol", "1e-6"]) == 0
    out = capsys.readouterr().out
    assert "test_loss bitwise equal" in out and "reproduced: 1 run(s)" in out

    # a whole directory, sampled: the same run again
    assert main(["reproduce", str(tmp_path), "--sample", "1"]) == 0
    assert "reproduced: 1 run(s)" in capsys.readouterr().out

    altered = load_run(path)
    altered.curves["test_loss"] = altered.curves["test_loss"] * 1.01
    save_run(altered, path)
    assert main(["reproduce", str(path), "--sigma-tol", "0.01"]) == 1
    assert "NOT reproduced (1 of 1 runs)" in capsys.readouterr().out


def test_cli_reproduce_shards_and_resumes_from_its_log(tmp_path, capsys):
    """``reproduce --shard I/N`` splits a directory's programs between N processes (together
    every run once); ``--log`` records each compared run and a second call retrains none."""
    import json

    from supercollapse.__main__ import main

    cfgs = [tiny(seeds=(0, 1)), tiny(seeds=(0, 1), width=8)]
    paths = [save_run(train(c), run_path(tmp_path, c)) for c in cfgs]
    log = tmp_path / "check.jsonl"
    seen = []
    for i in range(2):
        assert main(["reproduce", str(tmp_path), "--shard", f"{i}/2", "--log", str(log)]) == 0
        out = capsys.readouterr().out
        seen += [str(p) for p in paths if f"{p}: test_loss bitwise equal" in out]
    assert sorted(seen) == sorted(map(str, paths))
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert sorted(r["path"] for r in records) == sorted(map(str, paths))
    assert all(r["passed"] and r["curves"]["test_loss"]["bitwise"] for r in records)
    # resume: everything is in the log, nothing is retrained; a torn last line is ignored
    with open(log, "a") as f:
        f.write('{"path": "cut sh')
    assert main(["reproduce", str(tmp_path), "--log", str(log)]) == 0
    out = capsys.readouterr().out
    assert "bitwise equal" not in out and out.count("passed (from") == 2
    assert "unreadable line" in out and "reproduced: 2 run(s)" in out
    assert main(["reproduce", str(tmp_path), "--shard", "2/2"]) == 2
    assert "--shard 2/2" in capsys.readouterr().err


def test_cli_bad_input_names_the_problem(tmp_path, capsys):
    from supercollapse.__main__ import main

    assert main(["summary", str(tmp_path / "missing")]) == 2
    assert "missing" in capsys.readouterr().err
    assert main(["sweep", "collapse", "--out", str(tmp_path)]) == 2
    assert "--law" in capsys.readouterr().err


def test_compare_curves_in_seed_spreads():
    """The rerun criterion: bitwise, or a small fraction of the seed spread at every point."""
    from supercollapse.results import compare_curves

    a = np.array([[1.0, 0.50, 0.40, np.nan], [1.0, 0.52, 0.44, 0.3]])
    same = compare_curves(a, a.copy())
    assert same.bitwise and same.passes(0.0, 0.0)
    near = compare_curves(a, a + np.array([0.0, 2e-4, -2e-4, 0.0]))  # sigma = 0.0141, 0.0283
    assert not near.bitwise and abs(near.max_sigma - 2e-4 / np.std([0.50, 0.52], ddof=1)) < 1e-9
    assert near.passes(0.0, 0.1) and not near.passes(0.0, 0.01)
    moved_start = compare_curves(a, a + np.array([1e-6, 0.0, 0.0, 0.0]))  # seeds agree at x=0
    assert moved_start.max_sigma == np.inf and not moved_start.passes(1.0, 10.0)
    lost = a.copy()
    lost[1, 3] = np.nan  # a seed diverged in the rerun only
    assert not compare_curves(a, lost).passes(1.0, 10.0)
    single = compare_curves(a[:1, :3], a[:1, :3] * (1 + 1e-5))
    assert np.isnan(single.max_sigma) and single.passes(1e-4, 0.1) and not single.passes(1e-6, 0.1)


def test_sweep_compiles_once_per_shape_and_reproduces_its_groups(tmp_path, capsys):
    """Configs differing only in learning rate, schedule or seeds share one program; a run
    file of a group is reproduced (bit for bit) by retraining its group."""
    from supercollapse.__main__ import main

    cfgs = [tiny(width=w, lr=lr, schedule=s, seeds=(0, 1))
            for w in (10, 14) for lr, s in ((1e-3, "linear"), (3e-3, "cosine"))]
    before = TRACES["segment"]
    report = sweep.run_sweep(cfgs, tmp_path, progress=False)
    assert report.complete and len(report.done) == 4
    assert TRACES["segment"] - before == 2  # two widths, two compilations
    runs = {r.config.run_id(): r for r in load_runs(tmp_path)}
    one = runs[cfgs[1].run_id()]
    assert one.meta["program"]["run_ids"] == [cfgs[0].run_id(), cfgs[1].run_id()]
    assert one.meta["program"]["runs"] == 4
    solo = train(cfgs[1])
    np.testing.assert_allclose(solo.curves["test_loss"], one.curves["test_loss"], rtol=1e-4)
    assert main(["reproduce", str(run_path(tmp_path, cfgs[1])), "--rtol", "0"]) == 0
    assert "max relative difference 0.00e+00" in capsys.readouterr().out


def test_sweep_checkpoints_long_groups_and_deletes_them(tmp_path, monkeypatch):
    seen = []
    real = sweep.train_many

    def spy(cfgs, **kw):
        seen.append(kw["checkpoint_dir"])
        return real(cfgs, **kw)

    monkeypatch.setattr(sweep, "train_many", spy)
    report = sweep.run_sweep([tiny()], tmp_path, progress=False, checkpoint_min_steps=1,
                             checkpoint_every=2)
    assert report.complete and seen == [tmp_path / sweep.CHECKPOINTS]
    assert [p.name for p in tmp_path.iterdir()] == [f"{tiny().run_id()}.npz"]


def _verdict_rows(capsys, *dirs: str) -> dict[tuple[str, str], list[str]]:
    """{(sweep, variant): cells} as `python -m supercollapse verdicts DIRS` prints them."""
    from supercollapse.__main__ import main
    from supercollapse.paths import results_dir

    assert main(["verdicts", *(str(results_dir() / "full" / d) for d in dirs)]) == 0
    printed = {}
    for line in capsys.readouterr().out.splitlines()[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        printed[cells[0], cells[1].split(" (")[0]] = cells[2:]
    return printed


def _readme_rows(sweeps: str) -> list[tuple[str, str, str]]:
    import re

    from supercollapse.paths import results_dir

    readme = (results_dir() / "README.md").read_text()
    return re.findall(rf"^\| ({sweeps}) \| ([^|]+) \|(.*)\|$", readme, re.M)


def test_readme_key_numbers_are_what_the_verdicts_command_prints(capsys):
    """results/README.md's tables of Delta < sigma must be the output of the documented commands
    (`python -m supercollapse verdicts results/full/collapse results/full/breakdown`, and
    `... verdicts results/full/ladder`)."""
    names = {"exponent 0.9×": "exponent_0.9x", "exponent 1.1×": "exponent_1.1x",
             "γ 0.9×": "gamma_0.9x", "γ 1.1×": "gamma_1.1x", "µP frozen at width 48": "mup_frozen",
             "lr 4×": "lr_4x", "lr 0.25×": "lr_0.25x",
             "exponent 1.0× (the fitted law)": "exponent_1.0x"}
    for dirs, sweeps, count in ((("collapse", "breakdown"), "collapse|breakdown", 12),
                                (("ladder",), "ladder", 3)):
        printed = _verdict_rows(capsys, *dirs)
        rows = _readme_rows(sweeps)
        assert len(rows) == len(printed) == count, dirs
        for sweep_name, variant, numbers in rows:
            key = (sweep_name, names.get(variant.strip(), variant.strip()))
            assert [c.strip().strip("*") for c in numbers.split("|")] == printed[key], key


def test_stored_reproduce_records_cover_the_stored_runs():
    """results/reproduce/*.jsonl are the logs of `reproduce --log` on an H100: each record names
    a stored run that exists and passed; every run of `full/` (its five sweeps, the ladder
    included) and of `lm-full/` (four) is there, so a stored file replaced without a new check
    fails here."""
    from supercollapse.paths import results_dir

    root = results_dir()
    checked = {}
    for log in sorted((root / "reproduce").glob("*.jsonl")):
        for line in log.read_text(encoding="utf8").splitlines():
            rec = json.loads(line)
            assert (root.parent / rec["path"]).is_file(), (log.name, rec["path"])
            assert rec["passed"] and "xla_gpu_deterministic_ops=true" in rec["xla_flags"], rec
            checked[rec["path"]] = rec
    sweeps = ("horizon", "collapse", "breakdown", "noise")
    for scale, names, count in (("full", (*sweeps, "ladder"), 142), ("lm-full", sweeps, 51)):
        stored = {f"results/{p.relative_to(root).as_posix()}"
                  for sweep_name in names for p in (root / scale / sweep_name).glob("*.npz")}
        assert len(stored) == count and stored <= set(checked), sorted(stored - set(checked))[:5]


def test_select_runs_cuts_a_variant_to_widths():
    runs = [fake_result(tiny(width=w, tags={"variant": v}))
            for w in (16, 24, 32) for v in ("linear", "constant")]
    for r, w in zip(runs, (16, 16, 24, 24, 32, 32), strict=True):
        r.n_params = w * 100
    lin = select_runs(runs, "linear")
    assert [r.config.width for r in lin] == [16, 24, 32]
    assert all(r.config.tags["variant"] == "linear" for r in lin)
    assert [r.config.width for r in select_runs(runs[::-1], "constant", (32, 16))] == [16, 32]
    with pytest.raises(ResultsError, match="no runs of widths \\[48\\]"):
        select_runs(runs, "linear", (16, 48))
    with pytest.raises(ResultsError, match="several runs"):
        select_runs(runs + runs[:1], "linear")


def test_longest_per_size_keeps_the_continued_run():
    """Two sweeps hold one size at two lengths (a horizon run continued further): the longer is
    kept, one run per size, sorted by size; a run that differs in more than its length is refused."""
    def run(width: int, n_params: int, steps: int, **kw) -> RunResult:
        cfg = TrainConfig(**TINY).replace(width=width, samples=32 * steps, **kw)
        step = np.arange(steps + 1)
        curves = {"step": step, "test_loss": np.ones((1, steps + 1))}
        return RunResult(cfg, n_params, steps, curves, np.zeros(1, bool), {})

    short, long_, other = run(16, 1000, 100), run(16, 1000, 400), run(8, 300, 100)
    kept = results.longest_per_size([short, other, long_])
    assert [r.n_params for r in kept] == [300, 1000] and kept[1] is long_
    with pytest.raises(ResultsError, match="differ in more than their length"):
        results.longest_per_size([short, run(16, 1000, 400, lr=2 * short.config.lr)])
