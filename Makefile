# The two commands of the README's quickstart are `make demo` and `make test`;
# both set up what they need first (scripts/setup.sh demo|test, idempotent).
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup setup-demo demo test lint unit fuzz integration bench clean wheel

## setup: everything the tests need; setup-demo: only what the demo's main job needs
## (no test-only tool: no cosign, actionlint, chromium, disorderfs, dev tools)
setup:
	@bash scripts/setup.sh test

setup-demo:
	@bash scripts/setup.sh demo

## demo: doctor, then build, verify and smoke-test the bundled example, then its sizes
demo: setup-demo
	$(BIN)/relbuild doctor
	$(BIN)/relbuild build
	$(BIN)/relbuild verify dist
	$(BIN)/relbuild test dist
	$(BIN)/relbuild size dist
	@echo "demo: dist/ holds every target's artifacts; dist/manifest.json describes them"

## wheel: relbuild's wheel, for `pipx install wheelhouse/relbuild-*.whl` (README.md)
wheel: setup
	$(BIN)/python -m build --wheel --outdir wheelhouse

## bench: relbuild build and verify against their direct baselines
bench: setup
	$(BIN)/python bench/build_bench.py
	$(BIN)/python bench/verify_bench.py
	$(BIN)/python bench/hostile_bench.py

## test: lint, type-check and run the whole test suite (unit + integration)
test: setup lint
	$(BIN)/pytest

lint: setup
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

unit: setup
	$(BIN)/pytest tests/unit

## fuzz: the property tests over every reader of hostile input (a fixed, bounded set
## of examples; RELBUILD_FUZZ_SCALE=50 RELBUILD_FUZZ_RANDOM=1 for a long run)
fuzz: setup
	$(BIN)/pytest tests/fuzz

integration: setup
	$(BIN)/pytest tests/integration

clean:
	rm -rf $(VENV) dist wheelhouse .relbuild examples/*/target
