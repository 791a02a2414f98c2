# The two commands: `make run` (whole system, embedded) and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: run test lint bench chromium extension clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11+ is required")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/storepulse dev

# Browser tests need Debian's Chromium; install it when missing and we may (root or sudo).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; }

lint: $(STAMP)
	$(BIN)/ruff check .

test: $(STAMP) chromium lint
	$(BIN)/pytest

# Starts its own embedded stack; writes docs/benchmarks.md and docs/img/*.png (~4 min).
bench: $(STAMP)
	$(BIN)/python -m loadtests.bench

# The theme app extension ships the widget minified (a unit test checks it is current).
extension: $(STAMP)
	$(BIN)/python -m rjsmin < widget/storepulse.js > extensions/storepulse-embed/assets/storepulse.js

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache test-artifacts
