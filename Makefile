# The two commands of the README's quickstart are `make demo` and `make test`;
# both set up what they need first (scripts/setup.sh, idempotent).
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup demo test lint unit integration bench clean

setup:
	@bash scripts/setup.sh

## demo: check the pinned toolchains, then build the bundled example for every target
demo: setup
	$(BIN)/relbuild doctor
	$(BIN)/relbuild build
	cd dist && sha256sum -c --quiet SHA256SUMS && sha512sum -c --quiet SHA512SUMS
	@echo "demo: dist/ holds every target's artifacts; dist/manifest.json describes them"

## bench: time relbuild build against the same commands run directly
bench: setup
	$(BIN)/python bench/build_bench.py

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
