"""What the Colab set-up cell does, as plain functions (rendered into the cell; not imported).

``book/_ext/sync_setup_cell.py`` copies everything below this docstring into the first cell of
every chapter, inside ``if "google.colab" in sys.modules:``, followed by one call of
:func:`colab_setup`. The code must therefore be self-contained (standard library only: the
package is not installed yet when the cell runs) and must run on the Python of Colab.

The rule it implements. Colab runtimes come with JAX, and on a TPU runtime that JAX, its
``jaxlib`` and the TPU library ``libtpu`` are a matched set: installing ``jax[tpu]`` (or letting
pip upgrade ``jax`` because a newer Flax asks for it) over them is the known way to break the
backend ("Mismatched PJRT plugin PJRT API version", google/flax#4122). So the cell

* keeps the runtime's JAX whenever it meets the package's floor (``jax>=...`` of
  ``pyproject.toml``, written into the cell by the sync script), by pinning the installed
  versions of ``jax``, ``jaxlib`` and the accelerator plugins in a pip constraints file; pip then
  installs only what is missing (the package, Flax, Optax, its ``colab`` extra) and picks releases
  of them that accept this JAX;
* installs JAX only where that cannot break anything: a runtime without JAX, or a CPU or GPU
  runtime whose JAX is below the floor (``jax`` or ``jax[cuda12]``);
* on a TPU runtime whose JAX is below the floor, installs nothing and stops with what to do
  (``book/how_to_use.md``, "On Google Colab").

``tests/test_colab_setup.py`` runs the rendered cell with a fake Colab, a fake pip and fake
installed versions.
"""

import glob
import importlib.metadata
import os
import shutil
import subprocess
import sys
import tempfile

# Distributions that make up the runtime's JAX; the installed ones are pinned when JAX is kept.
JAX_FAMILY = ("jax", "jaxlib", "libtpu", "libtpu-nightly", "jax-cuda12-plugin",
              "jax-cuda12-pjrt", "jax-cuda13-plugin", "jax-cuda13-pjrt")


def version_tuple(version: str) -> tuple[int, ...]:
    """The numeric release of a version string: '0.7.1' -> (0, 7, 1), '0.5.3+cuda12' -> (0, 5, 3)."""
    release = []
    for part in version.split("+")[0].split("."):
        digits = ""
        for char in part:
            if not char.isdigit():
                break
            digits += char
        if not digits:
            break
        release.append(int(digits))
        if len(digits) < len(part):  # '0rc1': a pre-release of 0.7.0 counts as 0.7.0
            break
    if not release:
        raise ValueError(f"not a version: {version!r}")
    return tuple(release)


def detect_runtime() -> str:
    """'gpu' (an NVIDIA driver), 'tpu' (a TPU device file) or 'cpu'."""
    if shutil.which("nvidia-smi"):
        return "gpu"
    if glob.glob("/dev/accel*") or glob.glob("/dev/vfio/[0-9]*"):
        return "tpu"
    return "cpu"


def installed_versions(names=JAX_FAMILY) -> dict[str, str]:
    """Installed version of each distribution in ``names`` that is installed."""
    found = {}
    for name in names:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    return found


def plan_install(runtime: str, installed: dict[str, str], jax_floor: str):
    """What to add to ``pip install -e <clone>[colab]``: ``(requirements, constraints, note)``.

    ``requirements`` are extra requirement strings (JAX, only where it must be installed);
    ``constraints`` are ``name==version`` lines that keep the runtime's JAX family as it is.
    Raises ``RuntimeError`` on a TPU runtime whose JAX is older than ``jax_floor``.
    """
    if runtime not in ("cpu", "gpu", "tpu"):
        raise ValueError(f"runtime must be 'cpu', 'gpu' or 'tpu', not {runtime!r}")
    jax = installed.get("jax")
    build = {"cpu": "jax", "gpu": "jax[cuda12]", "tpu": "jax[tpu]"}[runtime]
    if jax is None:
        return [f"{build}>={jax_floor}"], [], f"no JAX on this {runtime.upper()} runtime: installing {build}"
    if version_tuple(jax) < version_tuple(jax_floor):
        if runtime == "tpu":
            raise RuntimeError(
                f"This TPU runtime has JAX {jax}; the book needs JAX >= {jax_floor}. The set-up "
                "does not replace a TPU runtime's JAX (jax, jaxlib and libtpu must come from the "
                "same release, or the TPU backend fails with 'Mismatched PJRT plugin PJRT API "
                "version'). Either use the latest Colab runtime (not a pinned or fallback runtime "
                "version), or upgrade all three together in a new cell above this one, "
                f"  !pip install -U 'jax[tpu]>={jax_floor}'  "
                "then Runtime > Restart session and run the notebook again from the top; or use a "
                "GPU runtime. Step by step: 'How to use this book', section 'On Google Colab' "
                "(book/how_to_use.md)."
            )
        return ([f"{build}>={jax_floor}"], [],
                f"JAX {jax} is older than {jax_floor}: upgrading it ({build})")
    keep = {name: v for name, v in installed.items() if name in JAX_FAMILY}
    requirements = []
    if runtime == "gpu" and not any(name.startswith("jax-cuda") for name in keep):
        # A CPU-only jaxlib on a GPU runtime: add the CUDA plugin of the same release.
        requirements.append(f"jax[cuda12]=={jax}")
    constraints = [f"{name}=={v}" for name, v in sorted(keep.items())]
    pins = ", ".join(f"{name} {v}" for name, v in sorted(keep.items()))
    return requirements, constraints, f"keeping the runtime's JAX ({pins})"


def colab_setup(repo_url: str, branch: str, clone: str, jax_floor: str) -> None:
    """Clone the book, install what is missing around the runtime's JAX, cd to chapters/."""
    if not os.path.isdir(clone):
        subprocess.run(["git", "clone", "--depth", "1", "--branch", branch, repo_url, clone],
                       check=True)
    runtime = detect_runtime()
    requirements, constraints, note = plan_install(runtime, installed_versions(), jax_floor)
    print(f"Colab {runtime.upper()} runtime: {note}")
    args = [sys.executable, "-m", "pip", "install", "-q", "-e", f"{clone}[colab]", *requirements]
    if constraints:
        path = os.path.join(tempfile.gettempdir(), "supercollapse-colab-constraints.txt")
        with open(path, "w", encoding="utf8") as f:
            f.write("\n".join(constraints) + "\n")
        args += ["-c", path]
    subprocess.run(args, check=True)
    if requirements and "jax" in sys.modules:
        print("JAX was already imported: Runtime > Restart session, then run this cell again.")
    sys.path.insert(0, f"{clone}/src")  # the editable install is only seen after a restart
    os.chdir(f"{clone}/chapters")  # supercollapse.paths.results_dir() finds ../results
    import jax

    print(f"JAX {jax.__version__}, devices: {jax.devices()}")
