# secureline — the two commands are `make demo` and `make test`; both set everything up first.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The desk's browser assets: npm ci into node_modules, then copied where the node serves them.
ASSETS := src/secureline/interfaces/desk/static/vendor
ASSET_STAMP := node_modules/.installed
PG_URL ?= postgresql://127.0.0.1/test

.PHONY: setup demo test lint unit-sqlite unit-postgres bench openapi clean

setup: $(STAMP) $(ASSET_STAMP) /usr/bin/chromium

# Like the venv: npm ci runs again only when the lock changed. --include=dev even under
# NODE_ENV=production: axe-core (a devDependency) is what the browser tests check pages with.
$(ASSET_STAMP): package-lock.json package.json
	npm ci --include=dev --ignore-scripts --no-audit --no-fund
	mkdir -p $(ASSETS)
	cp node_modules/htmx.org/dist/htmx.min.js $(ASSETS)/htmx.min.js
	touch $(ASSET_STAMP)

# The browser tests drive Debian's chromium (Playwright's own browser download is not used).
/usr/bin/chromium:
	apt-get install -y chromium || (apt-get update && apt-get install -y chromium)

# Re-installs only when the lock or the project metadata changed, so a second run takes seconds.
$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

demo: setup
	$(BIN)/secureline demo

lint: setup
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

unit-sqlite: setup
	$(BIN)/pytest -q

unit-postgres: setup
	SECURELINE_TEST_DATABASE_URL=$(PG_URL) $(BIN)/pytest -q

# The two stores run side by side (one core each); --output-sync keeps each run's output whole.
test: lint
	$(MAKE) --no-print-directory -j2 --output-sync=target unit-sqlite unit-postgres

bench: setup
	$(BIN)/python bench/line.py 20000

openapi: setup
	$(BIN)/python -m secureline.interfaces.api.openapi > docs/openapi.json

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
