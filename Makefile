# The two commands of the README's quickstart are `make demo` and `make test`;
# both set up what they need first (scripts/setup.sh, idempotent).
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup demo test lint unit integration clean

setup:
	@bash scripts/setup.sh

## demo: check the pinned toolchains, then run the bundled example's own tests
demo: setup
	$(BIN)/pytest -q tests/integration/test_example.py
	$(BIN)/relbuild doctor

## test: lint, type-check and run the whole test suite (unit + integration)
test: setup lint
	$(BIN)/pytest

lint: setup
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy

unit: setup
	$(BIN)/pytest tests/unit

integration: setup
	$(BIN)/pytest tests/integration

clean:
	rm -rf $(VENV) dist .relbuild examples/*/target
