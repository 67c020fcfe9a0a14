# tusk: the README names `make run` and `make test`; the rest are for developers.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
ADDRESS ?= localhost:30650
PYTEST_ARGS ?=

.PHONY: install run test interop protos protos-check lint bench bench-tiny clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install -qq --disable-pip-version-check -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

install: $(STAMP)

protos: install
	$(PY) scripts/gen_protos.py

# Fails when the committed generated code differs from what `make protos` makes.
protos-check: install
	$(PY) scripts/gen_protos.py --check

run: install protos
	$(VENV)/bin/tusk serve --address $(ADDRESS)

NODE_DEPS := tests/compat/node/node_modules/.installed

# The Node.js interop test needs @grpc/grpc-js; skipped (with a reason) where npm is missing.
$(NODE_DEPS): tests/compat/node/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
	  cd tests/compat/node && npm ci --no-audit --no-fund --loglevel=error && touch node_modules/.installed; \
	else echo "npm not found: the Node.js interop test will be skipped"; fi

# The suite runs on TEST_WORKERS processes (pytest-xdist); all the tests of a file run on the same
# one (--dist loadfile), so a module's shared server or Dask cluster starts once, and the files
# are handed out in collection order (--no-loadscope-reorder), which puts the files of long
# (`slow`) tests first (tests/conftest.py). Each worker has its own tmp dirs and, when its tests
# ask, its own session PostgreSQL and SeaweedFS; every server listens on a free loopback port.
# TEST_WORKERS=0 runs the suite in one process.
TEST_WORKERS ?= 3

test: install protos $(NODE_DEPS)
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder $(PYTEST_ARGS)

# Pachyderm's official SDK test suite (kept in ../shared/interop) against a fresh server.
interop: install protos
	scripts/interop.sh

# lint-imports: the layer contracts of pyproject.toml ([tool.importlinter]; docs/architecture.md).
lint: install
	$(VENV)/bin/ruff check server client tests bench scripts
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache --no-logo

bench: install protos
	$(PY) bench/run.py

bench-tiny: install protos
	$(PY) bench/run.py --tiny

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
