"""Every ``python -m supercollapse ...`` command written in the book, the READMEs and the
chapters must be accepted by the package's command line (so the docs cannot drift from it)."""

import json
import re
import shlex
from pathlib import Path

import pytest

from supercollapse.__main__ import build_parser

ROOT = Path(__file__).resolve().parents[1]
COMMAND = re.compile(r"python -m supercollapse ([^`\n\"\\|]+)")


def _texts():
    for path in [ROOT / "README.md", ROOT / "results" / "README.md", *ROOT.glob("book/*.md")]:
        yield path.name, path.read_text()
    for nb in sorted(ROOT.glob("chapters/*.ipynb")):
        for cell in json.loads(nb.read_text())["cells"]:
            yield nb.name, "".join(cell["source"])


def _commands():
    found = set()
    for name, text in _texts():
        for match in COMMAND.finditer(text):
            args = shlex.split(match.group(1).strip().rstrip(".,;:)"))
            if "--help" not in args:
                found.add((name, tuple(args)))
    return sorted(found)


COMMANDS = _commands()


def test_commands_were_found():
    assert len(COMMANDS) >= 10, COMMANDS


@pytest.mark.parametrize("where,args", COMMANDS, ids=lambda v: " ".join(v) if isinstance(v, tuple) else v)
def test_documented_command_parses(where, args):
    try:
        build_parser().parse_args(list(args))
    except SystemExit as e:  # argparse exits on an unknown option or a missing argument
        pytest.fail(f"{where}: `python -m supercollapse {' '.join(args)}` is rejected ({e})")
