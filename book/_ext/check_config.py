"""Write the configuration of the strict check build run by ``make test``.

The check build is the book's own ``_config.yml`` with notebook execution turned off (the
notebooks are committed with their outputs, and ``pytest --nbval-lax`` executes them
separately). Paths that Jupyter Book resolves relative to the configuration file are made
absolute, so that the copy can live in the build directory.

Usage: python book/_ext/check_config.py _config.yml _build/check/_config.yml
"""

import sys
from pathlib import Path

import yaml


def main(src: str, dst: str) -> None:
    root = Path(src).resolve().parent
    config = yaml.safe_load(Path(src).read_text(encoding="utf8"))
    config.setdefault("execute", {})["execute_notebooks"] = "off"
    sphinx = config.get("sphinx") or {}
    for name, path in (sphinx.get("local_extensions") or {}).items():
        sphinx["local_extensions"][name] = str((root / path).resolve())
    Path(dst).parent.mkdir(parents=True, exist_ok=True)
    Path(dst).write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf8")


if __name__ == "__main__":
    main(*sys.argv[1:3])
