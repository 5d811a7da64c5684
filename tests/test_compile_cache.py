"""The opt-in persistent compilation cache of sweeps (issue 34): ``use_compile_cache`` sets
JAX's cache folder, and a second process reuses what the first compiled."""

import json
import os
import subprocess
import sys
from pathlib import Path

import jax
import pytest

from supercollapse.__main__ import build_parser
from supercollapse.train.sweep import COMPILE_CACHE_ENV, use_compile_cache

SRC = Path(__file__).resolve().parents[1] / "src"

# One engine training segment and evaluation of a tiny MLP, with the cache of argv[1];
# prints how many compilations the cache served and how many it was asked for.
CHILD = """
import json, sys
import jax
counts = {"hits": 0, "requests": 0}
def listen(event, **kw):
    if event == "/jax/compilation_cache/cache_hits":
        counts["hits"] += 1
    if event == "/jax/compilation_cache/compile_requests_use_cache":
        counts["requests"] += 1
jax.monitoring.register_event_listener(listen)
from supercollapse.train.sweep import use_compile_cache
use_compile_cache(sys.argv[1], min_compile_seconds=0.0)
from supercollapse.train.config import TrainConfig
from supercollapse.train.engine import Trainer
t = Trainer(TrainConfig(width=8, depth=1, input_dim=2, n_modes=8, batch_size=8, samples=80,
                        n_test=16, eval_batch_size=16, n_evals=2))
t.advance(10)
t.evaluate()
print(json.dumps(counts))
"""


@pytest.fixture
def restore_jax_cache():
    from jax.experimental.compilation_cache import compilation_cache

    before = jax.config.jax_compilation_cache_dir
    yield
    jax.config.update("jax_compilation_cache_dir", before)
    compilation_cache.reset_cache()


def test_off_unless_asked(monkeypatch):
    monkeypatch.delenv(COMPILE_CACHE_ENV, raising=False)
    before = jax.config.jax_compilation_cache_dir
    assert use_compile_cache() is None and use_compile_cache("") is None
    assert jax.config.jax_compilation_cache_dir == before


def test_folder_from_argument_or_environment(tmp_path, monkeypatch, restore_jax_cache):
    assert use_compile_cache(tmp_path / "a") == (tmp_path / "a").resolve()
    assert jax.config.jax_compilation_cache_dir == str((tmp_path / "a").resolve())
    monkeypatch.setenv(COMPILE_CACHE_ENV, str(tmp_path / "b"))
    assert use_compile_cache() == (tmp_path / "b").resolve()
    assert jax.config.jax_compilation_cache_dir == str((tmp_path / "b").resolve())
    assert (tmp_path / "b").is_dir()


def test_sweep_flag():
    args = build_parser().parse_args(["sweep", "collapse", "--out", "x", "--compile-cache", "c"])
    assert args.compile_cache == "c"
    assert build_parser().parse_args(["sweep", "collapse", "--out", "x"]).compile_cache is None


def test_second_process_reuses_the_cache(tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (str(SRC), os.environ.get("PYTHONPATH")) if p))
    env.pop(COMPILE_CACHE_ENV, None)
    env.pop("JAX_COMPILATION_CACHE_DIR", None)

    def run() -> dict:
        out = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path / "cache")], env=env,
                             capture_output=True, text=True, timeout=300, check=True)
        return json.loads(out.stdout.strip().splitlines()[-1])

    first = run()
    # The first process compiles (JAX 0.7 may also serve a repeated program from the cache
    # it has just written); the second is served everything from the cache.
    assert first["requests"] > first["hits"]
    assert any((tmp_path / "cache").iterdir())
    second = run()
    assert second["hits"] == second["requests"] == first["requests"]
