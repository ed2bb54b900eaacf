# VendorSelect: `make run` for the app with demo data, `make test` for the whole suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/vendorselect
# The PostgreSQL server to use: DATABASE_URL when set, else the embedded one (deploy/localdb.py,
# started on first use, data under var/pgdata, a socket only; `make stop-db` stops it).
LOCAL_DB = $$($(PY) deploy/localdb.py url "$${DATABASE_URL:-}")
RUN_ENV := DJANGO_DEBUG=1 ALLOWED_HOSTS=$(HOST),localhost

.PHONY: install install-dev assets migrate seed run worker stop-db test lint check-deploy load multihost clean

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -qq --upgrade pip
	$(PIP) install -qq -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt requirements.txt $(VENV)/.installed
	$(PIP) install -qq -r requirements-dev.txt
	touch $@

$(VENV)/.installed-bench: benchmarks/requirements.txt requirements.txt $(VENV)/.installed
	$(PIP) install -qq -r benchmarks/requirements.txt
	touch $@

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

install: $(VENV)/.installed node_modules/.package-lock.json
install-dev: $(VENV)/.installed-dev node_modules/.package-lock.json
assets: node_modules/.package-lock.json

migrate: install
	$(RUN_ENV) DATABASE_URL=$(LOCAL_DB) $(PY) manage.py migrate --noinput -v 0

seed: migrate
	$(RUN_ENV) DATABASE_URL=$(LOCAL_DB) $(PY) manage.py seed_demo

# Embedded PostgreSQL, migrations, demo data, web, a real Celery worker and its beat (file-system broker
# under var/): no servers to install. Ctrl-C stops all of them, the database included (deploy/run.py).
run: install
	@$(PY) deploy/run.py --host $(HOST) --port $(PORT)

worker: install
	$(RUN_ENV) DATABASE_URL=$(LOCAL_DB) $(VENV)/bin/celery -A vendorselect worker --loglevel=info

stop-db:
	@[ ! -x $(PY) ] || $(PY) deploy/localdb.py stop

# In parallel with pytest-xdist (each worker its own test database); tests/conftest.py keeps the
# real-worker tests on one worker and spreads the browser journeys by module. One worker more than
# CPUs: much of the suite waits on Chromium, worker processes and the database (2 vCPUs: 3 workers,
# 8 min 12 s for 1,044 tests, against 9 min 16 s with 4). PYTEST_XDIST=<n> sets the workers, PYTEST_XDIST=0 runs
# serially: `make test PYTEST_XDIST=0 PYTEST_ARGS=tests/x.py`.
PYTEST_XDIST ?= $(shell echo $$(( $$(nproc) + 1 )))
test: install-dev
	DATABASE_URL=$$($(PY) deploy/localdb.py url "$(TEST_DATABASE_URL)") $(PY) -m pytest \
	  $(if $(filter 0,$(PYTEST_XDIST)),-p no:xdist,-n $(PYTEST_XDIST) --dist loadgroup) --durations=15 $(PYTEST_ARGS)

lint: install-dev
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(VENV)/bin/lint-imports  # the layers (pyproject.toml [tool.importlinter], docs/architecture.md)
	DJANGO_DEBUG=1 $(VENV)/bin/mypy  # engine, core, services and selectors (pyproject.toml [tool.mypy])

check-deploy: install
	SECRET_KEY=$$(head -c 48 /dev/urandom | base64) ALLOWED_HOSTS=vendorselect.example.com \
	DATABASE_URL=$(TEST_DATABASE_URL) $(PY) manage.py check --deploy --fail-level WARNING

# Mixed-journey load test (locust -> gunicorn -> PostgreSQL, throwaway database), about 3 minutes:
# `make load LOAD_ARGS="--users 40 --duration 60"`. Figures and how to read them: docs/performance.md.
load: install $(VENV)/.installed-bench
	$(PY) benchmarks/load.py $(LOAD_ARGS)

# Two web instances, two workers and beat sharing only PostgreSQL, Redis and an S3 server (moto) on
# loopback, locust across both; every packet downloaded from the instance that did not render it.
multihost: install-dev $(VENV)/.installed-bench
	$(PY) benchmarks/multihost.py $(MULTIHOST_ARGS)

clean: stop-db
	rm -rf $(VENV) node_modules var
