# The two commands a new user needs: `make run` and `make test`. Only Python 3 has to be on the machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q

# .env is phony so `make run` always asks config.dotenv, which adds settings an older .env lacks.
.PHONY: run test test-fast lint format bench browser-deps clean .env

$(VENV)/.runtime: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt $(VENV)/.runtime
	$(PIP) install -r requirements-dev.txt
	touch $@

.env:
	$(PYTHON) -m config.dotenv

## Install, then start the Visma sandbox, the background worker and the web server (Ctrl-C stops all).
run: $(VENV)/.runtime .env
	$(PY) manage.py migrate --noinput -v0
	$(PY) manage.py collectstatic --noinput -v0
	$(PY) manage.py run_demo

## Install the development tools and run the whole test suite.
test: $(VENV)/.dev browser-deps
	$(PY) -m pytest

## Headless Chromium for the browser tests (Debian package); the tests skip loudly if it cannot be installed.
browser-deps:
	@command -v chromium >/dev/null 2>&1 || ( \
	  echo "Installing Debian's chromium for the browser tests…"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  ($$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null) \
	  || echo "WARNING: could not install chromium; browser tests will be SKIPPED." )

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.dev
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

## Benchmarks (bench/README.md): all, or `make bench BENCH="ratelimit fairness"`; DATABASE_URL and REDIS_URL as the
## portal reads them (each benchmark makes and drops a database of its own, and uses Redis database 14).
bench: $(VENV)/.dev
	$(PY) -m bench $(BENCH)

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache
