"""The checked numbers do not depend on the CPU: the same with NumPy's SIMD dispatch narrowed.

``make simd`` (part of ``make test``) runs this file. It computes the values of
tests/simd_values.py twice, in fresh interpreters: with the SIMD extensions NumPy found on this
CPU, and with every dispatchable extension disabled (``NPY_DISABLE_CPU_FEATURES``) and OpenBLAS
held to its oldest x86-64 kernels (``OPENBLAS_CORETYPE=Prescott``). A value that moves by more
than a relative 1e-6 (the chapters print at most 4 significant digits) is an estimator whose
answer depends on the last bits of the arithmetic: the kind of bug that makes ``make test``
fail on a reader's machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.simd

HERE = Path(__file__).resolve().parent
RTOL, ATOL = 1e-6, 1e-9


def dispatchable_features() -> list[str]:
    """SIMD targets above NumPy's baseline that this CPU has (the names NumPy accepts)."""
    from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__

    return [f for f in __cpu_dispatch__ if __cpu_features__.get(f)]


def run_values(tmp_path: Path, name: str, env_extra: dict[str, str]) -> dict[str, list[float]]:
    env = {**os.environ, **env_extra}
    out = tmp_path / f"{name}.json"
    proc = subprocess.run([sys.executable, str(HERE / "simd_values.py"), str(out)], env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(out.read_text())


def test_checked_values_do_not_depend_on_simd(tmp_path):
    features = dispatchable_features()
    narrow = {"NPY_DISABLE_CPU_FEATURES": " ".join(features), "OPENBLAS_CORETYPE": "Prescott"}
    default = run_values(tmp_path, "default", {})
    narrowed = run_values(tmp_path, "narrowed", narrow)
    assert default.keys() == narrowed.keys()
    moved = []
    for key, a in default.items():
        a, b = np.array(a, dtype=float), np.array(narrowed[key], dtype=float)
        assert a.shape == b.shape, key
        bad = ~np.isclose(a, b, rtol=RTOL, atol=ATOL, equal_nan=True)
        moved += [f"{key}[{i}]: {a[i]!r} vs {b[i]!r}" for i in np.flatnonzero(bad)]
    assert not moved, (f"values move when NumPy's SIMD ({' '.join(features) or 'none'}) is "
                       "disabled:\n" + "\n".join(moved))


def test_narrowing_is_real():
    """The narrowed interpreter really runs without the extensions (or there are none)."""
    features = dispatchable_features()
    if not features:
        pytest.skip("this CPU has no SIMD extension above NumPy's baseline: nothing to narrow")
    code = ("from numpy._core._multiarray_umath import __cpu_features__ as f; "
            f"print(sum(f[k] for k in {features!r}))")
    env = {**os.environ, "NPY_DISABLE_CPU_FEATURES": " ".join(features)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "0"
