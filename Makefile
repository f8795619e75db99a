# The README's commands. Everything the project needs is installed from here (uv + uv.lock).
SHELL := /bin/bash
UV ?= $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
RUN := $(UV) run --frozen

.PHONY: install demo serve test test-fast check lint typecheck contracts bench bench-quick docs clean

install:
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet 'uv>=0.5'
	@$(UV) sync --frozen --all-extras --quiet
	@bash scripts/install-system-deps.sh

demo: install
	$(RUN) steward demo

serve: install
	$(RUN) steward serve

# Every tier: unit, integration (SQLite and a throwaway PostgreSQL), end-to-end processes.
test: install
	$(RUN) pytest -n 2 --dist loadgroup tests

test-fast: install
	$(RUN) pytest -n 2 tests/unit

lint:
	$(RUN) ruff check src tests bench scripts
	$(RUN) ruff format --check src tests bench scripts

typecheck:
	$(RUN) mypy

contracts:
	$(RUN) lint-imports

check: install lint typecheck contracts
	$(RUN) pytest -n 2 --dist loadgroup tests

# Every benchmark at the scale its issue names (tens of minutes on two cores); each prints its figures.
bench: install
	$(RUN) python bench/registry_scale.py
	$(RUN) python bench/ledger.py
	$(RUN) python bench/gates.py
	$(RUN) python bench/workflow.py
	$(RUN) python bench/ui.py
	$(RUN) python bench/vs_mlflow.py

# The same benchmarks at a small scale, to check they run (their figures mean little).
bench-quick: install
	$(RUN) python bench/registry_scale.py --quick
	$(RUN) python bench/ledger.py --quick
	$(RUN) python bench/gates.py --decisions 100 --rows 100000
	$(RUN) python bench/workflow.py --path-versions 20 --versions 500 --samples 30
	$(RUN) python bench/ui.py --quick
	$(RUN) python bench/vs_mlflow.py --versions 300 --queries 30

docs: install
	$(RUN) python scripts/gen_docs.py

clean:
	rm -rf .venv .pytest_cache .mypy_cache .ruff_cache test-artifacts
