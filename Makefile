# Two entry points: `make demo` (the main job) and `make test` (the suite). Both build .venv themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv test lint typecheck check demo bench soak fuzz audit clean postgres chromium

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

postgres:
	@bash scripts/ensure-postgres.sh

chromium:
	@bash scripts/ensure-chromium.sh

test: $(STAMP) postgres chromium
	$(BIN)/ruff check .
	$(BIN)/mypy
	bash scripts/run-pytest.sh $(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

demo: $(STAMP)
	$(BIN)/python -m examples.demo

bench: $(STAMP)
	$(BIN)/python -m bench.run

soak: $(STAMP)
	$(BIN)/python -m bench.soak

fuzz: $(STAMP)
	FUZZ_EXAMPLES=5000 FUZZ_RANDOM=1 $(BIN)/pytest tests/fuzz --timeout=0

audit: $(STAMP)
	bash .ci/audit.sh

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache shadow.db demo-out
