# Two entry points for a fresh machine (see README.md):
#   make run   - create .venv, install the project, run the main job on built-in defaults
#   make test  - create .venv, install the project with its dev extras, lint and test
#
# torch is installed first and pinned, so pip takes the CPU wheel available here
# instead of resolving a multi-GB CUDA build.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TORCH_VERSION ?= 2.13.0
PIP := $(BIN)/python -m pip --disable-pip-version-check

.PHONY: run test setup setup-dev lint format clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.torch: | $(BIN)/python
	$(PIP) install "torch==$(TORCH_VERSION)"
	touch $@

$(VENV)/.core: pyproject.toml $(VENV)/.torch
	$(PIP) install -e ".[bench]"
	touch $@

$(VENV)/.dev: pyproject.toml $(VENV)/.torch
	$(PIP) install -e ".[dev]"
	touch $@ $(VENV)/.core

setup: $(VENV)/.core
setup-dev: $(VENV)/.dev

run: setup
	$(BIN)/code-synthesis train --agent actor-critic --model tiny --tasks builtin --out runs/main

test: setup-dev lint
	$(BIN)/python -m pytest -q

lint: setup-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
