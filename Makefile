# Every target bootstraps .venv itself on a machine that has only Python 3.11.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | cksum | cut -d' ' -f1)
PYTEST_WORKERS ?= 2

.PHONY: demo test lint typecheck pytest bench docs clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e ".[cli,test,docs]"
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

# The loss lab: `make demo` is the quick run (under two minutes on 2 cores); `make demo FULL=1` the full one.
DEMO_OUT ?= losskit-demo
demo: $(STAMP)
	$(BIN)/python -m losskit.lab.worked_examples
	$(BIN)/losskit demo $(if $(FULL),,--quick) --out $(DEMO_OUT)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy src/losskit

pytest: $(STAMP)
	$(BIN)/python -m pytest -q -n $(PYTEST_WORKERS) src/losskit tests

test: lint typecheck pytest

bench: $(STAMP)
	@set -e; for b in benchmarks/bench_*.py; do \
		$(BIN)/python -m benchmarks.$$(basename $$b .py) $(BENCH_ARGS); echo; done

# The "choosing a loss" page quotes the lab's numbers: a quick lab run feeds docs/assets/lab first
# (a failed claim is shown on the page, not hidden, so its exit status does not stop the build).
docs: $(STAMP)
	-$(BIN)/losskit demo --quick --out docs/assets/lab
	$(BIN)/python scripts/gen_docs_assets.py
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict -d site

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
