# SealRoom: `make run` sets up and serves; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
WHEELS := build/wheels

.PHONY: setup run test bench clean chromium lock audit nginx i18n

setup: $(VENV)/.installed node_modules/.installed $(WHEELS)/.built build/vendor/.built build/bytecode/.built

# Every package, direct or not, comes from requirements.lock at a pinned
# version with its hashes (`make lock` rewrites it after requirements*.txt change).
$(VENV)/.installed: requirements.lock pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --require-hashes -r requirements.lock
	$(PIP) install --quiet --no-deps -e .  # the sealroom-admin command
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

# pyaes is published as an sdist only, so every browser package is built as a
# wheel here; PyScript unpacks them from the app's own /wheels/ route.
$(WHEELS)/.built: Makefile requirements-browser.lock $(VENV)/.installed
	rm -rf $(WHEELS) && mkdir -p $(WHEELS)
	$(PIP) wheel --quiet --no-deps --require-hashes --wheel-dir $(WHEELS) -r requirements-browser.lock
	touch $@

# Pyodide and PyScript under versioned paths, each compressible file with a .gz beside it,
# Pyodide's memory snapshot with the wheels imported, and PyScript's bytecode (made under Node).
build/vendor/.built: node_modules/.installed server/vendor.py server/vendor.mjs $(WHEELS)/.built $(VENV)/.installed
	$(PY) -m server.vendor
	touch $@

# The client's bytecode for its current source; the server ships it only with that exact source.
build/bytecode/.built: build/vendor/.built $(shell find pyclient -name '*.py')
	$(PY) -m server.vendor pyclient
	touch $@

run: setup
	$(PY) -m server

# Noto Color Emoji: without it Chromium draws emoji (reactions, names, screenshots) as empty boxes.
EMOJI_FONT := /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf
chromium:
	@test -x /usr/bin/chromium -a -e $(EMOJI_FONT) || { apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-color-emoji; }

# tests/test_deploy.py runs deploy/nginx.conf in front of two processes.
nginx:
	@test -x /usr/sbin/nginx || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx; }

test: setup chromium nginx audit
	$(PY) -m pytest $(PYTEST_ARGS)

# Fails only on a high or critical advisory (tools/audit.py says why); about 10 s.
audit: setup
	$(PY) tools/audit.py

LOCK_FLAGS := --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links
lock: $(VENV)/.installed
	$(PY) -m piptools compile $(LOCK_FLAGS) -o requirements.lock requirements-test.txt
	$(PY) -m piptools compile $(LOCK_FLAGS) -o requirements-browser.lock requirements-browser.txt

# Translations (server/i18n.py): every string marked with _() or ngettext() in the
# template, pyclient/browser, server/ and search_index (babel.cfg) is extracted into
# web/i18n/messages.pot and merged into each language's .po; then translate the
# entries left empty or marked "#, fuzzy". tests/test_i18n.py fails until all are.
I18N_DIR := web/i18n
i18n: $(VENV)/.installed
	$(VENV)/bin/pybabel -q extract -F babel.cfg --add-location=file --sort-output --no-wrap \
	    --project=SealRoom --header-comment="# The strings SealRoom shows, extracted by 'make i18n'." \
	    -o $(I18N_DIR)/messages.pot .
	$(VENV)/bin/pybabel -q update -i $(I18N_DIR)/messages.pot -d $(I18N_DIR) -D messages \
	    --no-wrap --ignore-obsolete
	@# No dates in the catalogs: the same strings give the same files (no diffs, no merge conflicts).
	sed -i '/^"POT-Creation-Date: /d; /^"PO-Revision-Date: /d' $(I18N_DIR)/messages.pot $(I18N_DIR)/*/LC_MESSAGES/messages.po

bench: setup chromium
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) node_modules build
