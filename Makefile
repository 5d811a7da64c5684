# Scaling Collapse: build the book and test everything.
#   make book   build the executable book into _build/html (executes the chapters, cached)
#   make test   ruff, package tests + doctests, the SIMD check, notebook tests (nbval), strict book
#               build, every page of that build in headless Chromium (offline)
#   make test-isa  the chapters with live training, under XLA's CPU code generation narrowed to
#               older instruction sets (SSE4_2, AVX) and NumPy's SIMD narrowed: their claims must
#               hold on any x86-64 CPU (run by .ci/run after make test)
#   make test-min  the same package tests and one chapter with the oldest supported JAX, Flax,
#               Optax, NumPy, ... (the floors of pyproject.toml, pinned in constraints-min.txt)
#   make venv   (re)create .venv; done automatically when pyproject.toml/constraints.txt change
#   make assignments  build the classroom assignments into _build/assignments (otter-grader)
#   make pdf    the whole book as one PDF, _build/pdf/book.pdf (single-page HTML build printed by
#               headless Chromium, offline); make test-pdf also checks it (tests/test_pdf.py)
#   make constraints  rewrite constraints.txt from the environment pip resolved into .venv
#   make constraints-min  re-resolve .venv-min with the floors held, rewrite constraints-min.txt
#   make release VERSION=x.y.z  CHANGELOG.md entry, version, pins of the Colab set-up cell, launch
#               buttons and grading bundle to the tag vx.y.z; commit and annotated tag (not pushed)
#   make clean  remove build products (keeps .venv)
# Only Python >= 3.11 and make are needed; everything is installed into .venv.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CHECK  := _build/check

# Use the kernel spec of .venv even if the user has their own "python3" kernel.
export JUPYTER_PREFER_ENV_PATH := 1

.PHONY: all venv book test test-isa test-min lint unit simd nbval check-book browser assignments pdf test-pdf constraints constraints-min release clean

all: book

venv: $(STAMP)

# Per-cell time limit (seconds) of notebook execution, in the tests and in the book build
# (_config.yml, execute.timeout, has the same value). A chapter must run in about 2 minutes on
# a laptop CPU in total; the limit only catches a hung cell.
CELL_TIMEOUT := 300

# `unit` and `nbval` run in TEST_JOBS processes (pytest-xdist), each test file (each notebook) whole
# in one of them. On a 2-core AMD EPYC, from a fresh clone: unit 395 s and nbval 277 s with 2 jobs,
# 497-615 s and 435-482 s with one; make test 13.9 min in all (17.8-21 before). TEST_JOBS=1: one process.
TEST_JOBS ?= 2
XDIST := $(if $(filter-out 0 1,$(TEST_JOBS)),-n $(TEST_JOBS) --dist loadfile,-p no:xdist)

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

test: lint unit simd nbval check-book browser
	@echo "All checks passed."

lint: $(STAMP)
	$(BIN)/ruff check .

# Package tests (tests/) and the doctests of the package (the browser tests run in `browser`).
unit: $(STAMP)
	$(BIN)/pytest $(XDIST) tests --doctest-modules src/supercollapse -m "not browser and not simd and not pdf"

# The numbers behind the checked cells that only read results/ must not depend on the CPU:
# computed twice, with NumPy's SIMD dispatch as found and narrowed to its baseline, they must
# agree to a relative 1e-6 (tests/test_simd.py).
simd: $(STAMP)
	$(BIN)/pytest tests/test_simd.py -m simd

# Every notebook must run without error; cells tagged `nbval-check-output` must reproduce
# their stored outputs (after the substitutions of tests/nbval_sanitize.cfg).
nbval: $(STAMP)
	$(BIN)/pytest $(XDIST) --nbval-lax --nbval-current-env --nbval-cell-timeout=$(CELL_TIMEOUT) \
		--nbval-sanitize-with tests/nbval_sanitize.cfg chapters/

# The chapters that train live, under other processors: XLA's CPU back end generates code for the
# instruction set it is held to (XLA_FLAGS=--xla_cpu_max_isa=...), which changes the last digits
# of training the way another CPU does, and NumPy's SIMD dispatch is narrowed to its baseline as
# in `simd`. Every assertion on live training must hold under each (tests/README.md, "Live claims
# across processors and seeds"; tests/live_spread.py measures the spread behind the margins).
TEST_ISAS := SSE4_2 AVX
LIVE_CHAPTERS := $(filter-out chapters/00_% chapters/05_%,$(wildcard chapters/[0-9]*.ipynb))

test-isa: $(STAMP)
	@set -e; features="$$($(BIN)/python -c 'from numpy._core._multiarray_umath import __cpu_dispatch__ as d, __cpu_features__ as f; print(" ".join(x for x in d if f.get(x)))')"; \
	for isa in $(TEST_ISAS); do \
		echo "== live chapters with XLA_FLAGS=--xla_cpu_max_isa=$$isa and NumPy SIMD narrowed"; \
		XLA_FLAGS=--xla_cpu_max_isa=$$isa NPY_DISABLE_CPU_FEATURES="$$features" OPENBLAS_CORETYPE=Prescott \
		$(BIN)/pytest $(XDIST) --nbval-lax --nbval-current-env --nbval-cell-timeout=$(CELL_TIMEOUT) \
			--nbval-sanitize-with tests/nbval_sanitize.cfg -q $(LIVE_CHAPTERS); \
	done

# Strict, non-executing build: any warning (broken cross-reference, unknown citation key,
# missing toc entry, autodoc import failure, ...) is an error. Then no page may show test
# scaffolding ("NBVAL", "placeholder"; book/_ext/check_rendered.py).
check-book: $(STAMP)
	rm -rf $(CHECK)
	$(BIN)/python book/_ext/check_config.py _config.yml $(CHECK)/_config.yml
	$(BIN)/jupyter-book build . --config $(CHECK)/_config.yml --path-output $(CHECK) \
		-W -n --keep-going --quiet
	$(BIN)/python book/_ext/check_rendered.py $(CHECK)/_build/html

# Student notebooks, public tests and autograder bundles of assignments/*.ipynb, one folder each
# under _build/assignments/ (book/instructors.md). `make test` builds and grades them too
# (tests/test_assignments.py, part of `unit`).
assignments: $(STAMP)
	$(BIN)/python assignments/build.py --out _build/assignments

# Every page of the strict build, opened offline in headless Chromium (tests/test_browser.py):
# formulas typeset by the book's own MathJax, images loaded, no console error, solutions
# closed, Colab links; screenshots in _build/browser/. Needs Debian's chromium and
# chromium-driver (skipped with a hint where they are missing; .ci/run installs them as root).
browser: check-book
	rm -rf _build/browser
	$(BIN)/pytest -m browser tests/test_browser.py

# The oldest supported versions: a separate .venv-min with only the package, its dev tools and
# a Jupyter kernel (no book extras), installed with constraints-min.txt; then the package tests
# and the first chapter. Keeps the floors in pyproject.toml honest (tests/README.md).
VENV_MIN  := .venv-min
MIN_STAMP := $(VENV_MIN)/.installed
MIN_CHAPTER := chapters/00_quickstart.ipynb

$(MIN_STAMP): pyproject.toml constraints-min.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python >= 3.11 is needed; run e.g. make PYTHON=python3.12 ..." >&2; exit 1; }
	rm -rf $(VENV_MIN)
	$(PYTHON) -m venv $(VENV_MIN)
	$(VENV_MIN)/bin/python -m pip install -q --upgrade pip
	$(VENV_MIN)/bin/python -m pip install -q -c constraints-min.txt -e '.[dev]' ipykernel
	touch $@

test-min: $(MIN_STAMP)
	$(VENV_MIN)/bin/python -c 'import jax, flax, optax, numpy, scipy; \
		print("oldest supported: jax", jax.__version__, "flax", flax.__version__, \
		"optax", optax.__version__, "numpy", numpy.__version__, "scipy", scipy.__version__)'
	$(VENV_MIN)/bin/pytest tests --doctest-modules src/supercollapse -m "not browser and not simd and not pdf" \
		--ignore=tests/test_assignments.py
	$(VENV_MIN)/bin/pytest --nbval-lax --nbval-current-env --nbval-cell-timeout=$(CELL_TIMEOUT) \
		--nbval-sanitize-with tests/nbval_sanitize.cfg $(MIN_CHAPTER)
	@echo "Oldest supported versions pass."

# constraints-min.txt from a resolver: .venv-min re-created with only the floors held (lowest-direct:
# the runtime dependencies and pandas at their floors in pyproject.toml, `constraints.py --floors`;
# everything else as pip's resolver picks it), then every distribution it installed pinned
# (book/_ext/constraints.py --min; tests/test_constraints.py checks it inside .venv-min).
constraints-min:
	rm -rf $(VENV_MIN)
	$(PYTHON) -m venv $(VENV_MIN)
	$(VENV_MIN)/bin/python -m pip install -q --upgrade pip
	$(PYTHON) book/_ext/constraints.py --floors > $(VENV_MIN)/floors.txt
	$(VENV_MIN)/bin/python -m pip install -q -c $(VENV_MIN)/floors.txt -e '.[dev]' ipykernel
	$(VENV_MIN)/bin/python book/_ext/constraints.py --min
	touch $(MIN_STAMP)

# The whole book as one PDF (book/_ext/pdf.py): Jupyter Book's single-page HTML build (not executing
# the notebooks: their committed outputs, as in check-book), printed by Debian's headless Chromium
# once MathJax has typeset every formula. Needs chromium and chromium-driver, as `browser` does.
pdf: $(STAMP)
	$(BIN)/python book/_ext/pdf.py

# Page count, no raw TeX in the PDF's text, MathJax fonts and every figure embedded (about two
# minutes in all, so not part of `make test`; .ci/run runs it after make test).
test-pdf: pdf
	$(BIN)/pytest -m pdf tests/test_pdf.py

# constraints.txt: every distribution that the package and the extras of `make venv` depend on, at
# the version pip's resolver installed into .venv (book/_ext/constraints.py; tests/test_constraints.py
# fails when it is not current). It reads .venv as it is (no reinstall first). After changing
# dependencies in pyproject.toml: .venv/bin/pip install -U -e '.[book,dev,classroom]' && make constraints
constraints:
	@test -x $(BIN)/python || { echo "no $(VENV): run make venv first" >&2; exit 1; }
	$(BIN)/python book/_ext/constraints.py

# A release (book/_ext/release.py): refuses a malformed VERSION, a dirty tree or an existing tag.
release: $(STAMP)
	@test -n "$(VERSION)" || { echo "usage: make release VERSION=x.y.z" >&2; exit 1; }
	$(BIN)/python book/_ext/release.py "$(VERSION)"

clean:
	rm -rf _build .jupyter_cache .pytest_cache .ruff_cache
