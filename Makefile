# The two commands of the README's quickstart are `make demo` and `make test`;
# both set up what they need first (scripts/setup.sh, idempotent).
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup demo test lint unit integration bench clean

setup:
	@bash scripts/setup.sh

## demo: doctor, then build, verify and smoke-test the bundled example, then its sizes
demo: setup
	$(BIN)/relbuild doctor
	$(BIN)/relbuild build
	$(BIN)/relbuild verify dist
	$(BIN)/relbuild test dist
	$(BIN)/relbuild size dist
	@echo "demo: dist/ holds every target's artifacts; dist/manifest.json describes them"

## bench: relbuild build and verify against their direct baselines
bench: setup
	$(BIN)/python bench/build_bench.py
	$(BIN)/python bench/verify_bench.py

## test: lint, type-check and run the whole test suite (unit + integration)
test: setup lint
	$(BIN)/pytest

lint: setup
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

unit: setup
	$(BIN)/pytest tests/unit

integration: setup
	$(BIN)/pytest tests/integration

clean:
	rm -rf $(VENV) dist .relbuild examples/*/target
