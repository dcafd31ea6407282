# SealRoom: `make run` sets up and serves; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
WHEELS := build/wheels
BROWSER_WHEELS := rsa==4.9.1 pyasn1==0.6.5 pyaes==1.6.1 segno==1.6.6

.PHONY: setup run test bench clean chromium nginx

setup: $(VENV)/.installed node_modules/.installed $(WHEELS)/.built

$(VENV)/.installed: requirements.txt requirements-test.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements-test.txt
	$(PIP) install --quiet --no-deps -e .  # the sealroom-admin command
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

# pyaes is published as an sdist only, so every browser package is built as a
# wheel here; PyScript unpacks them from the app's own /wheels/ route.
$(WHEELS)/.built: Makefile $(VENV)/.installed
	rm -rf $(WHEELS) && mkdir -p $(WHEELS)
	$(PIP) wheel --quiet --no-deps --wheel-dir $(WHEELS) $(BROWSER_WHEELS)
	touch $@

run: setup
	$(PY) -m server

chromium:
	@test -x /usr/bin/chromium || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

# tests/test_deploy.py runs deploy/nginx.conf in front of two processes.
nginx:
	@test -x /usr/sbin/nginx || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx; }

test: setup chromium nginx
	$(PY) -m pytest $(PYTEST_ARGS)

bench: setup chromium
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) node_modules build
