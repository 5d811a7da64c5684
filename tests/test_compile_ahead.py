"""Compiling ahead: a sweep that compiles the next group's programs in a thread while the
current group trains gets the same curves, and traces each program once."""

import numpy as np

import supercollapse.train.sweep as sweep
from supercollapse.__main__ import main
from supercollapse.paths import results_dir
from supercollapse.results import load_runs
from supercollapse.train.config import TrainConfig
from supercollapse.train.engine import TRACES, Trainer
from supercollapse.train.sweep import run_sweep

# widths no other test uses, so that no program of these shapes is cached before
TINY = dict(depth=1, n_modes=100, n_test=256, eval_batch_size=256, batch_size=32,
            samples=32 * 60, n_evals=4, seeds=(0, 1))


def configs(widths: tuple[int, ...]) -> list[TrainConfig]:
    return [TrainConfig(width=w, **TINY) for w in widths]


def curves(folder) -> dict[str, np.ndarray]:
    return {r.config.run_id(): np.stack([r.curves["train_loss"], r.curves["test_loss"]])
            for r in load_runs(folder)}


def test_compile_fills_the_cache_a_later_trainer_uses():
    trainer = Trainer(configs((11,)))
    assert trainer.compile() > 0
    before = dict(TRACES)
    other = Trainer(configs((11,))[0].replace(lr=3e-3))  # same shapes, another rate
    other.advance(5)
    other.evaluate()
    assert dict(TRACES) == before, "the compiled programs were not reused"


def test_sweep_compiling_ahead_repeats_the_curves(tmp_path, monkeypatch):
    compiled = []

    class Recording(Trainer):
        def compile(self) -> float:
            seconds = super().compile()
            compiled.append(self.cfg.width)
            return seconds

    monkeypatch.setattr(sweep, "Trainer", Recording)
    cfgs = configs((9, 13, 15))
    before = dict(TRACES)
    assert run_sweep(cfgs, tmp_path / "ahead", progress=False, compile_ahead=True).complete
    assert compiled == [13, 15]  # in the thread, each while the group before it trained
    traced = {k: TRACES[k] - before.get(k, 0) for k in ("segment", "evaluate")}
    assert traced == {"segment": 3, "evaluate": 3}, traced  # once per group, none twice
    assert run_sweep(cfgs, tmp_path / "plain", progress=False).complete
    a, b = curves(tmp_path / "ahead"), curves(tmp_path / "plain")
    assert a.keys() == b.keys() and len(a) == 3
    for k in a:  # the same programs: bit for bit
        np.testing.assert_array_equal(a[k], b[k])


def test_the_sweep_command_passes_compile_ahead(tmp_path, monkeypatch):
    seen = {}

    def fake_run_sweep(configs, out, **kwargs):
        seen.update(kwargs)
        return sweep.SweepReport()

    monkeypatch.setattr(sweep, "run_sweep", fake_run_sweep)
    args = ["sweep", "collapse", "--scale", "quick", "--law",
            str(results_dir() / "quick" / "law.json"), "--out", str(tmp_path), "--widths", "6"]
    main(args)
    assert seen["compile_ahead"] is False
    main(args + ["--compile-ahead"])
    assert seen["compile_ahead"] is True
