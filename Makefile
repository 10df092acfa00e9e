# One entry point for humans and CI. `make run` and `make test` install what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
COMPOSE_SCHEMA := $(VENV)/share/compose-spec.json

.PHONY: system-deps install run chat test lint typecheck unit clean bench-classify bench

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	$(BIN)/bot validate --env-file /nonexistent  # trains the intent head, fills the caches: later starts take ~2 s
	touch $(STAMP)

install: $(STAMP)

system-deps:
	bash scripts/system-deps.sh

.env:
	cp .env.example .env
	@echo "created .env from .env.example (development values; edit it for a real number)"

run: $(STAMP) .env
	$(BIN)/bot serve

chat: $(STAMP)
	$(BIN)/bot chat

lint: $(STAMP)
	$(BIN)/ruff check bot tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

$(COMPOSE_SCHEMA): | $(STAMP)  # the Compose Specification's schema, for tests/test_deploy.py
	bash scripts/compose-schema.sh $@ $(BIN)/python

unit: $(STAMP) system-deps $(COMPOSE_SCHEMA)  # one pytest worker per core, at most 4 (pytest-xdist), a test file's tests on one worker, in order
	$(BIN)/pytest -q -n auto --maxprocesses 4 --dist loadfile

test: lint typecheck unit

bench-classify: $(STAMP)
	$(BIN)/python -m bench.classify

bench: $(STAMP)  # every benchmark of the README's Benchmarks section, about 6 minutes (12 on a busy machine)
	bash scripts/system-deps.sh redis
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
