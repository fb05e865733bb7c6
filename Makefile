# Self-documenting: `make help`.
VENV   ?= .venv
PYTHON ?= python3
BIN    := $(VENV)/bin
export MLFLOW_DISABLE_TELEMETRY := true

.PHONY: help install demo test lint bench clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[dev]"
	@# The browser tests drive Debian's Chromium (Playwright's own download cannot work here).
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium) \
		|| echo "chromium is not installed (apt-get install -y chromium, as root): the browser tests will fail"
	touch $@

install: $(BIN)/.installed  ## create .venv and install the project with its dev tools

demo: install  ## the main job on embedded defaults: generate, train, score, then serve
	$(BIN)/segmentation demo

test: install  ## run the whole test suite (needs PostgreSQL on 127.0.0.1:5432, database test)
	$(BIN)/pytest -q

lint: install  ## ruff and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy segmentation models api training data_contracts

bench: install  ## full-size benchmarks (7.2 M citizens; see bench/README.md)
	$(BIN)/python bench/bench_pipeline.py

clean:  ## remove the virtual environment and local state
	rm -rf $(VENV) .segmentation data/demo data/demo-out
