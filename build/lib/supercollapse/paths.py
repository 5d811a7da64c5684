"""Where the book's stored results live.

Chapters load full-scale sweeps from the repository's ``results/`` folder. The folder is found
by walking up from the current directory (a notebook in ``chapters/``, a clone on Colab) and
from the package's source (an editable install), or set explicitly with the environment
variable ``SUPERCOLLAPSE_RESULTS``.
"""

from __future__ import annotations

import os
from pathlib import Path


def results_dir() -> Path:
    """The repository's ``results/`` folder; ``FileNotFoundError`` if there is none.

    >>> results_dir().name
    'results'
    """
    if os.environ.get("SUPERCOLLAPSE_RESULTS"):
        path = Path(os.environ["SUPERCOLLAPSE_RESULTS"])
        if not path.is_dir():
            raise FileNotFoundError(f"SUPERCOLLAPSE_RESULTS={path} is not a directory")
        return path
    starts = [Path.cwd().resolve(), Path(__file__).resolve().parent]
    for start in starts:
        for folder in (start, *start.parents):
            if (folder / "results" / "README.md").is_file():
                return folder / "results"
    raise FileNotFoundError(
        "no results/ folder found above the current directory or the package; clone the "
        "book's repository (results/ is not part of the pip package) or set SUPERCOLLAPSE_RESULTS")
