# Every target bootstraps .venv itself on a machine that has only Python 3.11.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PYTEST_WORKERS ?= 2

# One .venv, installed in layers: `make demo` installs losskit with the `lab` extra only (torch, numpy,
# scikit-learn, matplotlib, rich); `make test` adds the `test` and `docs` extras (peers, pytest, ruff,
# mypy; a test builds the site) and `make docs` the `docs` extra, each on top of what is already there.
# Each layer has its own stamp, named after a checksum of pyproject.toml and constraints.txt, so editing
# either re-runs the layers you use.
HASH := $(shell cat pyproject.toml constraints.txt | cksum | cut -d' ' -f1)
LAB_STAMP  := $(VENV)/.installed-lab-$(HASH)
TEST_STAMP := $(VENV)/.installed-test-$(HASH)
DOCS_STAMP := $(VENV)/.installed-docs-$(HASH)

.PHONY: demo test lint typecheck pytest bench docs clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(LAB_STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install -q -c constraints.txt -e ".[lab]"
	rm -f $(VENV)/.installed-lab-*
	touch $@

$(TEST_STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install -q -c constraints.txt -e ".[lab,test,docs]"
	rm -f $(VENV)/.installed-test-*
	touch $@

$(DOCS_STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install -q -c constraints.txt -e ".[lab,docs]"
	rm -f $(VENV)/.installed-docs-*
	touch $@

# The loss lab: `make demo` is the quick run (under two minutes on 2 cores); `make demo FULL=1` the full one.
DEMO_OUT ?= losskit-demo
demo: $(LAB_STAMP)
	$(BIN)/python -m losskit.lab.worked_examples
	$(BIN)/losskit demo $(if $(FULL),,--quick) --out $(DEMO_OUT)

# ruff format --check fails on any file the formatter would change: run `.venv/bin/ruff format` to fix.
LINT_PATHS := src tests benchmarks scripts docs
lint: $(TEST_STAMP)
	$(BIN)/ruff format --check $(LINT_PATHS)
	$(BIN)/ruff check $(LINT_PATHS)

typecheck: $(TEST_STAMP)
	$(BIN)/mypy src/losskit

pytest: $(TEST_STAMP)
	$(BIN)/python -m pytest -q -n $(PYTEST_WORKERS) src/losskit tests

test: lint typecheck pytest

# The benchmarks also write docs/assets/bench/<family>.json, which `make docs` turns into the Benchmarks page.
bench: $(TEST_STAMP)
	@mkdir -p docs/assets/bench
	@set -e; for b in benchmarks/bench_*.py; do n=$$(basename $$b .py); \
		$(BIN)/python -m benchmarks.$$n --json docs/assets/bench/$${n#bench_}.json $(BENCH_ARGS); echo; done

# The "choosing a loss" page quotes the lab's numbers: a quick lab run feeds docs/assets/lab first
# (a failed claim is shown on the page, not hidden, so its exit status does not stop the build).
docs: $(DOCS_STAMP)
	-$(BIN)/losskit demo --quick --out docs/assets/lab
	$(BIN)/python scripts/gen_docs_assets.py
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict -d site

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
