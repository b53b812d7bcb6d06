# Build, test and rerun the book. Every target that needs Python first creates .venv
# (python3 -m venv + the pinned dependencies of pyproject.toml, the project installed editable);
# the venv is re-installed only when pyproject.toml changes.
#
#   make test                      ruff, unit tests + every chapter executed (profile ci) + nbval
#                                  + the rendered book in headless Chromium (tests/test_browser.py);
#                                  prints why a test was skipped (-rs; with CI set, missing data
#                                  fails the chapter tests instead of skipping them)
#   make lint                      ruff alone (pinned in pyproject.toml, line length 100)
#   make book                      render the book into _build/html (-W: any warning fails)
#   make chapters PROFILE=quick    re-execute the chapters in place (CHAPTERS="01_setup ..." for some)
#   make assignment                chapter 9's exercises as an otter-grader assignment in
#                                  _build/assignment (student/, autograder/; ASSIGNMENT_PROFILE=ci,
#                                  the solution is run against every test first: needs the data)
#   make benchmarks                run benchmarks/*.py
#   make clean / make distclean    remove build outputs / also the venv

PYTHON ?= python3
VENV ?= .venv
PROFILE ?= quick
CHAPTERS ?=
PYTEST_ARGS ?=
ASSIGNMENT_PROFILE ?= ci

BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: venv lint test book chapters assignment benchmarks clean distclean

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e .
	@# papermill and nbval start the kernel named "python3"; register the venv's own interpreter
	@# under that name inside the venv (found before any user-wide "python3" kernel).
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (nbutils)"
	touch $@

lint: venv
	$(BIN)/ruff check .

test: lint
	$(BIN)/python -m pytest tests -q -rs $(PYTEST_ARGS)

book: venv
	$(BIN)/jupyter-book build . -W -n --keep-going --all

chapters: venv
	$(BIN)/python -m nbutils.pipeline --profile $(PROFILE) $(if $(strip $(CHAPTERS)),--chapters $(CHAPTERS))

assignment: venv
	$(BIN)/python -m nbutils.assignment --profile $(ASSIGNMENT_PROFILE)

benchmarks: venv
	@set -e; found=0; \
	for f in benchmarks/*.py; do \
	  [ -e "$$f" ] || continue; found=1; \
	  echo "== $$f"; $(BIN)/python "$$f"; \
	done; \
	[ $$found = 1 ] || echo "no benchmarks/*.py yet"

clean:
	rm -rf _build .pytest_cache *.egg-info
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
