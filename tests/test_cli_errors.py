"""Every bad input of the command line gives one line naming what is wrong and how to fix it
(no traceback) and exit status 2; a ``.tmp-*`` file left by a killed write is ignored."""

import shutil

import numpy as np
import pytest

from supercollapse.__main__ import main
from supercollapse.paths import results_dir
from supercollapse.results import RunResult, load_runs, run_files, run_path, save_run
from supercollapse.train.config import TrainConfig

TINY = dict(width=16, depth=1, n_modes=100, n_test=256, eval_batch_size=256, batch_size=32,
            samples=32 * 100, n_evals=6)
LAW = results_dir() / "full" / "law.json"


def fake(cfg: TrainConfig, n_params: int = 1000) -> RunResult:
    step = np.linspace(0, 100, 4).astype(int)
    n = len(cfg.seeds)
    loss = np.outer(np.ones(n), 1.0 + 100.0 / (1.0 + step))
    curves = {"step": step, "samples": step * 32.0, "compute": step * 6.0 * n_params,
              "lr": np.full(4, cfg.lr), "tau": step * cfg.lr, "train_loss": loss,
              "test_loss": loss}
    return RunResult(cfg, n_params, 100, curves, np.zeros(n, bool), {})


def one_line_error(capsys, argv, *words) -> str:
    assert main(argv) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert err.startswith("error: ") and len(err.splitlines()) == 1, err
    for w in words:
        assert w in err, (w, err)
    return err


def test_leftover_tmp_file_is_ignored_by_every_loader(tmp_path, capsys):
    cfg = TrainConfig(**TINY)
    path = save_run(fake(cfg), run_path(tmp_path, cfg))
    (tmp_path / ".tmp-abc123.npz").write_bytes(b"PK\x03\x04 cut short")
    assert run_files(tmp_path) == [path]
    assert [r.config for r in load_runs(tmp_path)] == [cfg]
    assert main(["summary", str(tmp_path)]) == 0
    assert "1 runs" in capsys.readouterr().out


@pytest.mark.parametrize("content", [None, "", "{not json", '{"kappa": 1.0}', "[1, 2]"],
                         ids=["missing", "empty", "not-json", "no-exponent", "not-an-object"])
def test_bad_law_file(tmp_path, capsys, content):
    law = tmp_path / "law.json"
    if content is not None:
        law.write_text(content)
    one_line_error(capsys, ["sweep", "collapse", "--scale", "quick", "--out", str(tmp_path),
                            "--law", str(law), "--dry-run"], str(law), "fit-horizon")


def test_set_seeds_needs_a_list(tmp_path, capsys):
    one_line_error(capsys, ["sweep", "horizon", "--out", str(tmp_path), "--dry-run",
                            "--set", "seeds=3"], "seeds=3", "seeds=[0,1,2]")


def test_sweep_not_defined_at_a_scale(tmp_path, capsys):
    one_line_error(capsys, ["sweep", "ladder", "--scale", "quick", "--out", str(tmp_path),
                            "--law", str(LAW), "--dry-run"], "ladder", "--scale full")


def test_set_that_makes_runs_identical_fails_before_planning(tmp_path, capsys):
    one_line_error(capsys, ["sweep", "horizon", "--out", str(tmp_path), "--dry-run",
                            "--set", "width=7"], "width=7", "identical")


def test_fit_horizon_on_unfit_folders(tmp_path, capsys):
    law = str(tmp_path / "law.json")
    empty = tmp_path / "empty"
    empty.mkdir()
    one_line_error(capsys, ["fit-horizon", str(empty), "--out", law], "no run files",
                   "sweep horizon")
    one = tmp_path / "one"
    save_run(fake(TrainConfig(**TINY)), run_path(one, TrainConfig(**TINY)))
    one_line_error(capsys, ["fit-horizon", str(one), "--out", law], "1 size", "sweep horizon")
    sched = tmp_path / "collapse"
    for w, p in ((8, 1000), (16, 3000)):
        cfg = TrainConfig(**TINY, schedule="linear").replace(width=w)
        save_run(fake(cfg, p), run_path(sched, cfg))
    one_line_error(capsys, ["fit-horizon", str(sched), "--out", law], "constant",
                   "sweep horizon")
    one_line_error(capsys, ["fit-horizon", str(one), "--out", str(tmp_path / "no" / "l.json")],
                   "no such folder")
    # two folders holding runs of one size that differ in more than their length
    other = tmp_path / "other"
    cfg = TrainConfig(**TINY).replace(lr=2 * TrainConfig(**TINY).lr)
    save_run(fake(cfg), run_path(other, cfg))
    one_line_error(capsys, ["fit-horizon", str(one), str(other), "--out", law],
                   "differ in more than their length", "fit them apart")


def test_prepare_with_a_missing_input(tmp_path, capsys):
    one_line_error(capsys, ["prepare", "text", str(tmp_path / "absent.txt"), "--out",
                            str(tmp_path / "data")], "absent.txt", "no such file")


def test_verdicts_on_a_one_size_ladder(tmp_path, capsys):
    cfg = TrainConfig(**TINY, schedule="linear")
    save_run(fake(cfg), run_path(tmp_path, cfg))
    one_line_error(capsys, ["verdicts", str(tmp_path)], "1 size", "--drop")


def test_text_file_named_npz(tmp_path, capsys):
    (tmp_path / "notes.npz").write_text("some text, not a run\n")
    err = one_line_error(capsys, ["summary", str(tmp_path)], "notes.npz", "not an .npz archive")
    assert "pickled" not in err


def test_summary_recurses_into_sub_folders(tmp_path, capsys):
    src = results_dir() / "full" / "ladder"
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        for f in run_files(src)[:2]:
            shutil.copy(f, tmp_path / sub / f.name)
    assert main(["summary", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.count("2 runs in") == 2  # one block per folder


def test_help_is_fast_and_imports_no_jax():
    import subprocess
    import sys

    code = ("import sys, time; t = time.time(); from supercollapse.__main__ import build_parser; "
            "build_parser().format_help(); "
            "print(sorted(m for m in ('jax', 'flax', 'optax') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_every_argument_has_help_and_every_scale_lists_its_sweeps(capsys):
    from supercollapse.__main__ import build_parser
    from supercollapse.train.experiments import SCALES

    parser = build_parser()
    for name, sub in parser._subparsers._group_actions[0].choices.items():
        assert all(a.help for a in sub._actions), name
    with pytest.raises(SystemExit):
        main(["sweep", "--help"])
    out = capsys.readouterr().out
    assert all(f"  {s} " in out for s in SCALES) and "sweeps: horizon" in out


def test_reproduce_on_another_device_kind_reports_the_verdict(tmp_path, capsys):
    """A rerun outside the seed-spread tolerance on another device kind passes when the
    verdict of its ladder is unchanged, and says so; on the same device kind it fails."""
    import json

    from supercollapse.results import load_run
    from supercollapse.train.engine import train

    cfgs = [TrainConfig(**TINY, seeds=(0, 1, 2), schedule="linear").replace(width=w)
            for w in (8, 16)]
    paths = [save_run(train(c), run_path(tmp_path, c)) for c in cfgs]
    stored = load_run(paths[1])
    stored.curves["test_loss"] = stored.curves["test_loss"] * (1 + 1e-3)  # about 0.5 sigma
    save_run(stored, paths[1])
    assert main(["reproduce", str(paths[1]), "--sigma-tol", "0.01"]) == 1  # same device kind
    capsys.readouterr()
    stored.meta["device_kind"] = "another GPU"
    save_run(stored, paths[1])
    log = tmp_path / "log.jsonl"
    assert main(["reproduce", str(paths[1]), "--sigma-tol", "0.01", "--log", str(log)]) == 0
    out = capsys.readouterr().out
    assert "another device kind; the verdict of" in out and "is unchanged" in out, out
    rec = json.loads(log.read_text())
    assert rec["passed"] and rec["verdicts"]["same"] and len(rec["verdicts"]["frac_below"]) == 2


def test_widths_selects_runs_and_names_a_missing_width(tmp_path, capsys):
    """``--widths`` trains (or fits) only those widths; one the sweep lacks is named."""
    assert main(["sweep", "collapse", "--scale", "quick", "--law", str(LAW), "--out",
                 str(tmp_path), "--widths", "8", "16", "--dry-run"]) == 0
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("width")]
    assert {int(ln.split()[1]) for ln in lines} == {8, 16}
    one_line_error(capsys, ["sweep", "collapse", "--scale", "quick", "--law", str(LAW), "--out",
                            str(tmp_path), "--widths", "7", "--dry-run"], "--widths 7",
                   "its widths: 6 8 12 16 24")
    horizon = results_dir() / "lm-tuned" / "horizon"
    one_line_error(capsys, ["fit-horizon", str(horizon), "--widths", "24", "200", "--out",
                            str(tmp_path / "law.json")], "--widths 200")


def test_variants_split_a_group_and_name_a_missing_variant(tmp_path, capsys):
    """``--variants`` keeps only those variants' runs (one seed protocol of ``ladder-seeds``'
    shared group); a variant the sweep lacks is named with the ones it has."""
    law = results_dir() / "full" / "ladder-law.json"
    args = ["sweep", "ladder-seeds", "--scale", "full", "--law", str(law), "--out",
            str(tmp_path), "--widths", "564", "--dry-run"]
    assert main(args) == 0
    both = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("width")]
    assert len(both) == 1 and both[0].endswith("independent, shared_data")
    assert main(args + ["--variants", "shared_data"]) == 0
    one = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("width")]
    assert len(one) == 1 and one[0].endswith("shared_data") and "independent" not in one[0]
    one_line_error(capsys, args + ["--variants", "paper"], "--variants paper",
                   "its variants: independent shared_data")
