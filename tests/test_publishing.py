"""Publishing: the forge's workflows (CI and the GitHub Pages deployment) and the repository URL.

* ``.github/workflows/ci.yml`` runs ``.ci/run`` on every push and pull request, on a Debian
  image with Python >= 3.11 as root (so that ``.ci/run`` can apt-get chromium).
* ``.github/workflows/pages.yml`` builds the book with ``make book`` and deploys ``_build/html``
  with the official ``actions/upload-pages-artifact`` and ``actions/deploy-pages``.
* The repository URL is written once, as ``repository.url`` of ``_config.yml``: a link to the
  repository's owner on GitHub in a workflow or the README must start with it.
"""

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"


def _workflow(name: str) -> dict:
    return yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf8"))


def _triggers(workflow: dict) -> dict:
    # YAML 1.1 (PyYAML) reads the bare key `on` as the boolean True.
    on = workflow.get("on", workflow.get(True))
    if isinstance(on, str):
        return {on: None}
    if isinstance(on, list):
        return dict.fromkeys(on)
    return dict(on or {})


def _steps(workflow: dict) -> list[dict]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def _runs(workflow: dict) -> str:
    return "\n".join(str(step.get("run", "")) for step in _steps(workflow))


def _uses(workflow: dict) -> list[str]:
    return [str(step["uses"]) for step in _steps(workflow) if "uses" in step]


def _repo_url() -> str:
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf8"))
    return config["repository"]["url"].rstrip("/")


def _python_version(image_or_version: str) -> tuple[int, int]:
    match = re.search(r"(\d+)\.(\d+)", image_or_version)
    assert match, f"no Python version in {image_or_version!r}"
    return int(match[1]), int(match[2])


def test_triggers_helper_reads_yaml_on_key():
    assert _triggers(yaml.safe_load("on: [push, pull_request]")) == {"push": None,
                                                                      "pull_request": None}
    assert _triggers(yaml.safe_load("on: push")) == {"push": None}


def test_ci_runs_the_ci_entry_point_on_push_and_pull_request():
    ci = _workflow("ci.yml")
    triggers = _triggers(ci)
    assert "push" in triggers and "pull_request" in triggers, triggers
    assert re.search(r"(^|\s)(bash\s+)?\.ci/run(\s|$)", _runs(ci)), "ci.yml does not run .ci/run"
    assert "actions/checkout" in " ".join(_uses(ci))
    (job,) = ci["jobs"].values()
    assert re.match(r"(ubuntu|debian)", str(job["runs-on"])), job["runs-on"]
    # .ci/run installs chromium with apt-get only as root: a Debian container runs as root.
    container = job.get("container")
    image = container.get("image") if isinstance(container, dict) else container
    if image:
        assert re.search(r"(debian|bookworm|trixie|bullseye)", image), image
        assert _python_version(image) >= (3, 11) or image.startswith("debian")
    else:
        assert "sudo" in _runs(ci), "without a root container, .ci/run must run under sudo"


def test_pages_builds_with_make_book_and_deploys_build_html():
    pages = _workflow("pages.yml")
    triggers = _triggers(pages)
    assert "push" in triggers, triggers
    assert re.search(r"(^|\s)make\s+book(\s|$)", _runs(pages)), "pages.yml does not run make book"
    uses = _uses(pages)
    assert any(u.startswith("actions/upload-pages-artifact@") for u in uses), uses
    assert any(u.startswith("actions/deploy-pages@") for u in uses), uses
    (upload,) = [s for s in _steps(pages)
                 if str(s.get("uses", "")).startswith("actions/upload-pages-artifact@")]
    assert str(upload["with"]["path"]).rstrip("/") in ("_build/html", "./_build/html")
    permissions = pages["permissions"]
    assert permissions["pages"] == "write" and permissions["id-token"] == "write", permissions
    deploy_jobs = [j for j in pages["jobs"].values()
                   if any(str(s.get("uses", "")).startswith("actions/deploy-pages@")
                          for s in j.get("steps", []))]
    assert deploy_jobs and deploy_jobs[0]["environment"]["name"] == "github-pages"
    for step in _steps(pages):
        if str(step.get("uses", "")).startswith("actions/setup-python@"):
            assert _python_version(str(step["with"]["python-version"])) >= (3, 11)


@pytest.mark.parametrize("name", ["README.md", ".github/workflows/ci.yml",
                                  ".github/workflows/pages.yml"])
def test_repository_url_lives_in_config(name):
    """A link to the book's repository outside _config.yml agrees with repository.url."""
    url = _repo_url()
    owner = url.rsplit("/", 2)[-2]
    text = (ROOT / name).read_text(encoding="utf8")
    for link in re.findall(rf"https://github\.com/{re.escape(owner)}/[^\s)\]\"'>]*", text):
        assert link.rstrip("/.") == url or link.startswith(f"{url}/"), (
            f"{name}: {link} disagrees with repository.url ({url}) of _config.yml"
        )
    for link in re.findall(rf"https://{re.escape(owner)}\.github\.io/[^\s)\]\"'>]*", text):
        repo = url.rsplit("/", 1)[-1]
        assert link.startswith(f"https://{owner}.github.io/{repo}"), (
            f"{name}: {link} is not the Pages site of {url}"
        )


# --- Citation and licences -------------------------------------------------------------------

# The SPDX identifiers of the two licences: text under CC BY 4.0, code under MIT (LICENSE).
TEXT_LICENCE, CODE_LICENCE = "CC-BY-4.0", "MIT"
PAPER_TITLE = (
    "Scaling Collapse Reveals Universal Dynamics in Compute-Optimally Trained Neural Networks"
)
PAPER_AUTHORS = ["Qiu", "Xiao", "Wilson", "Pennington", "Agarwala"]


def _citation() -> dict:
    return yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf8"))


def _person_ok(person: dict) -> bool:
    return bool(person.get("name") or person.get("family-names"))


def test_citation_cff_is_valid_cff_1_2_0():
    """The keys CFF 1.2.0 requires, with the types its schema gives them (no schema offline)."""
    cff = _citation()
    assert cff["cff-version"] == "1.2.0"
    for key in ("message", "title"):
        assert isinstance(cff[key], str) and cff[key].strip(), key
    assert cff["authors"] and all(_person_ok(a) for a in cff["authors"]), cff["authors"]
    assert cff.get("type", "software") in ("software", "dataset")
    licences = cff["license"] if isinstance(cff["license"], list) else [cff["license"]]
    assert set(licences) == {TEXT_LICENCE, CODE_LICENCE}, licences
    for ref in cff["references"]:
        assert isinstance(ref["type"], str) and ref["title"], ref
        assert ref["authors"] and all(_person_ok(a) for a in ref["authors"]), ref
    allowed = {"cff-version", "message", "title", "authors", "abstract", "commit", "contact",
               "date-released", "doi", "identifiers", "keywords", "license", "license-url",
               "preferred-citation", "references", "repository", "repository-artifact",
               "repository-code", "type", "url", "version"}
    assert set(cff) <= allowed, set(cff) - allowed


def test_citation_names_the_paper():
    (paper,) = [r for r in _citation()["references"] if r["title"] == PAPER_TITLE]
    assert [a["family-names"] for a in paper["authors"]] == PAPER_AUTHORS
    assert paper["year"] == 2025 and "ICML" in paper["conference"]["name"]
    assert "2507.02119" in paper["url"]
    assert any("2507.02119" in str(i["value"]) for i in paper["identifiers"])


def test_citation_agrees_with_config_and_package():
    """repository-code is repository.url of _config.yml; version is pyproject.toml's."""
    import tomllib

    cff = _citation()
    assert cff["repository-code"].rstrip("/") == _repo_url()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf8"))["project"]
    assert str(cff["version"]) == project["version"]


def test_readme_and_footer_state_both_licences():
    license_text = (ROOT / "LICENSE").read_text(encoding="utf8")
    assert license_text.startswith("MIT License"), "LICENSE is the code's MIT licence"
    readme = (ROOT / "README.md").read_text(encoding="utf8")
    licence_section = readme.split("## Licence", 1)[1].split("\n## ", 1)[0]
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf8"))
    footer = config["html"]["extra_footer"]
    for name, text in (("README.md (## Licence)", licence_section), ("extra_footer", footer)):
        assert re.search(r"CC BY 4\.0", text), f"{name} does not state CC BY 4.0 for the text"
        assert re.search(r"\bMIT\b", text), f"{name} does not state MIT for the code"
        flat = text.replace("\n", " ")
        assert re.search(r"[Tt]ext.{0,200}?CC BY 4\.0", flat), f"{name}: text is not CC BY 4.0"
        assert re.search(r"[Cc]ode.{0,200}?MIT", flat), f"{name}: code is not MIT"
    assert "CITATION.cff" in readme


# --- The slim `colab` extra ------------------------------------------------------------------

# Import names whose distribution is named otherwise (none of the chapters' imports today).
DISTRIBUTION_OF = {"sklearn": "scikit-learn", "PIL": "pillow", "yaml": "pyyaml",
                   "IPython": "ipython", "orbax": "orbax-checkpoint"}
# The book toolchain stays in `book`: the slim extra must not pull it in.
TOOLCHAIN = ("jupyter-book", "sphinx", "sphinx-exercise", "sphinx-togglebutton",
             "sphinxcontrib-bibtex", "django-static-mathjax", "myst-nb")


def _project() -> dict:
    import tomllib

    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf8"))["project"]


def _requirement_name(requirement: str) -> str:
    name = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)[1]
    return re.sub(r"[-_.]+", "-", name).lower()


def _top_level_imports(source: str) -> set[str]:
    import ast

    # IPython magics and shell escapes are not Python.
    lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
    tree = ast.parse("\n".join(lines))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _chapter_imports() -> set[str]:
    import json
    import sys

    names: set[str] = set()
    for path in sorted((ROOT / "chapters").glob("*.ipynb")):
        for cell in json.loads(path.read_text(encoding="utf8"))["cells"]:
            if cell["cell_type"] == "code":
                source = cell["source"] if isinstance(cell["source"], str) else "".join(
                    cell["source"])
                names |= _top_level_imports(source)
    return {n for n in names if n not in sys.stdlib_module_names and n != "supercollapse"}


def test_import_scan_sees_imports():
    assert _top_level_imports("import jax.numpy as jnp\nfrom scipy import optimize\n"
                              "%matplotlib inline\nfrom . import x") == {"jax", "scipy"}


def test_colab_extra_covers_every_chapter_import():
    project = _project()
    extras = project["optional-dependencies"]
    covered = {_requirement_name(r) for r in project["dependencies"] + extras["colab"]}
    imports = _chapter_imports()
    assert {"jax", "flax", "optax", "numpy"} <= imports, imports
    missing = {n for n in imports
               if _requirement_name(DISTRIBUTION_OF.get(n, n)) not in covered}
    assert not missing, (
        f"chapters import {sorted(missing)}, which neither the dependencies nor the `colab` extra "
        "of pyproject.toml install"
    )


def test_colab_extra_is_slim_and_agrees_with_book():
    extras = _project()["optional-dependencies"]
    colab = {_requirement_name(r): r for r in extras["colab"]}
    assert not set(colab) & set(TOOLCHAIN), sorted(set(colab) & set(TOOLCHAIN))
    # A package in both extras has the same floor in both (constraints-min.txt pins one).
    book = {_requirement_name(r): r for r in extras["book"]}
    for name in set(colab) & set(book):
        assert colab[name].replace(" ", "") == book[name].replace(" ", ""), (colab[name],
                                                                             book[name])
