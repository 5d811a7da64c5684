"""The book serves its own MathJax and writes each script once (book/_ext/mathjax_offline.py,
book/_ext/unique_scripts.py); tests/test_browser.py checks the built pages in a browser."""

import importlib.util
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml")
pytest.importorskip("sphinx")  # the book extras (not in make test-min's environment)

ROOT = Path(__file__).resolve().parents[1]


def _load(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "book/_ext" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


mathjax_offline = _load("mathjax_offline")
unique_scripts = _load("unique_scripts")


def test_config_serves_mathjax_from_the_build():
    sphinx = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf8"))["sphinx"]
    assert {"mathjax_offline", "unique_scripts"} <= set(sphinx["local_extensions"])
    path = sphinx["config"]["mathjax_path"]
    assert mathjax_offline.local_target(path) is not None, f"mathjax_path {path!r} is a URL"


def test_local_target():
    assert mathjax_offline.local_target("https://cdn.example/mathjax/tex-chtml.js") is None
    assert mathjax_offline.local_target("//cdn.example/tex-chtml.js") is None
    subdir, component = mathjax_offline.local_target("mathjax/tex-chtml.js")
    assert (str(subdir), component) == ("mathjax", "tex-chtml.js")
    for bad in ("tex-chtml.js", "/mathjax/tex-chtml.js", "../mathjax/tex-chtml.js"):
        with pytest.raises(Exception, match="mathjax_path"):
            mathjax_offline.local_target(bad)


def test_copy_mathjax(tmp_path):
    source = mathjax_offline.mathjax_source()
    dest = tmp_path / "_static/mathjax"
    copied = mathjax_offline.copy_mathjax(source, dest, "tex-chtml.js")
    assert (dest / "tex-chtml.js").is_file() and (dest / "LICENSE").is_file()
    assert list((dest / "output/chtml/fonts/woff-v2").glob("*.woff")), "no CHTML web fonts"
    assert (dest / "input/tex/extensions/boldsymbol.js").is_file(), "no autoloaded extensions"
    assert not (dest / "tex-svg.js").exists(), "only the configured component is copied"
    assert copied == sum(1 for p in dest.rglob("*") if p.is_file())
    assert mathjax_offline.copy_mathjax(source, dest, "tex-chtml.js") == 0, "copied again"
    with pytest.raises(Exception, match="no component"):
        mathjax_offline.copy_mathjax(source, dest, "tex-nothing.js")


def test_unique_scripts():
    from sphinx.builders.html._assets import _JavaScript

    body = "const THEBE_JS_URL = 'x'"
    scripts = [
        _JavaScript("_static/a.js"),
        _JavaScript(None, body=body),
        _JavaScript("", body=body),  # what Sphinx 7.4 adds again
        _JavaScript("_static/a.js"),
        _JavaScript("_static/a.js", **{"async": "async"}),
    ]
    kept = unique_scripts.unique(scripts)
    assert kept == [scripts[0], scripts[1], scripts[4]]
