# Scaling Collapse: build the book and test everything.
#   make book   build the executable book into _build/html (executes the chapters, cached)
#   make test   ruff, package tests + doctests, notebook tests (nbval), strict book build
#   make venv   (re)create .venv; done automatically when pyproject.toml/constraints.txt change
#   make assignments  build the classroom assignments into _build/assignments (otter-grader)
#   make clean  remove build products (keeps .venv)
# Only Python >= 3.11 and make are needed; everything is installed into .venv.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CHECK  := _build/check

# Use the kernel spec of .venv even if the user has their own "python3" kernel.
export JUPYTER_PREFER_ENV_PATH := 1

.PHONY: all venv book test lint unit nbval check-book assignments clean

all: book

venv: $(STAMP)

# Per-cell time limit (seconds) of notebook execution, in the tests and in the book build
# (_config.yml, execute.timeout, has the same value). A chapter must run in about 2 minutes on
# a laptop CPU in total; the limit only catches a hung cell.
CELL_TIMEOUT := 300

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python >= 3.11 is needed; run e.g. make PYTHON=python3.12 ..." >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -c constraints.txt -e '.[book,dev,classroom]'
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (ipykernel)"
	touch $@

book: $(STAMP)
	$(BIN)/jupyter-book build .
	@test -f _build/html/index.html
	@echo "Book built: _build/html/index.html"

test: lint unit nbval check-book
	@echo "All checks passed."

lint: $(STAMP)
	$(BIN)/ruff check .

# Package tests (tests/) and the doctests of the package.
unit: $(STAMP)
	$(BIN)/pytest tests --doctest-modules src/supercollapse

# Every notebook must run without error; cells marked "# NBVAL_CHECK_OUTPUT" must reproduce
# their stored outputs (after the substitutions of tests/nbval_sanitize.cfg).
nbval: $(STAMP)
	$(BIN)/pytest --nbval-lax --nbval-current-env --nbval-cell-timeout=$(CELL_TIMEOUT) \
		--nbval-sanitize-with tests/nbval_sanitize.cfg chapters/

# Strict, non-executing build: any warning (broken cross-reference, unknown citation key,
# missing toc entry, autodoc import failure, ...) is an error.
check-book: $(STAMP)
	rm -rf $(CHECK)
	$(BIN)/python book/_ext/check_config.py _config.yml $(CHECK)/_config.yml
	$(BIN)/jupyter-book build . --config $(CHECK)/_config.yml --path-output $(CHECK) \
		-W -n --keep-going --quiet

# Student notebooks, public tests and autograder bundles of assignments/*.ipynb, one folder each
# under _build/assignments/ (book/instructors.md). `make test` builds and grades them too
# (tests/test_assignments.py, part of `unit`).
assignments: $(STAMP)
	$(BIN)/python assignments/build.py --out _build/assignments

clean:
	rm -rf _build .jupyter_cache .pytest_cache .ruff_cache
