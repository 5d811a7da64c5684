"""Where a result came from: package, JAX and Flax versions, device, git commit."""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
from pathlib import Path

import flax
import jax
import optax

from . import __version__


def git_commit() -> str:
    """The commit of the source tree this package runs from (``+dirty`` if modified)."""
    if os.environ.get("SUPERCOLLAPSE_GIT_COMMIT"):  # set when the tree is copied without .git
        return os.environ["SUPERCOLLAPSE_GIT_COMMIT"]
    here = Path(__file__).resolve().parent
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True,
                             text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "."], cwd=here,
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return sha + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def provenance(devices=None) -> dict:
    devices = list(jax.devices() if devices is None else devices)
    return {
        "supercollapse_version": __version__,
        "jax_version": jax.__version__,
        "flax_version": flax.__version__,
        "optax_version": optax.__version__,
        "python_version": platform.python_version(),
        "backend": jax.default_backend(),
        "device_kind": devices[0].device_kind,
        "n_devices": len(devices),
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
        "git_commit": git_commit(),
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
