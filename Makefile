# The two commands a newcomer needs: `make run` and `make test` (and `make demo` for demo people).
#
# Stock Debian/Ubuntu python3 refuses `pip install` outside a virtual environment, so there the Makefile
# makes one in .venv and uses it. An active virtualenv, or a Python that installs packages itself (CI's,
# as root), is used as it is. `make PYTHON=...` overrides the choice.
SYSTEM_PYTHON ?= python3
MANAGED := $(shell $(SYSTEM_PYTHON) -c "import os, sys, sysconfig; print(int(sys.prefix == sys.base_prefix and os.path.exists(os.path.join(sysconfig.get_path('stdlib'), 'EXTERNALLY-MANAGED'))))" 2>/dev/null)
ifeq ($(MANAGED),1)
PYTHON ?= .venv/bin/python
VENV := .venv/bin/python
else
PYTHON ?= $(SYSTEM_PYTHON)
VENV :=
endif

.PHONY: run test demo install install-test browser

.venv/bin/python:
	$(SYSTEM_PYTHON) -m venv .venv || { echo "Install venv support first: sudo apt install python3-venv"; exit 1; }

install: $(VENV)
	$(PYTHON) -m pip install -q -e .

install-test: $(VENV)
	$(PYTHON) -m pip install -q -e '.[test]'

# Browser tests drive Debian's Chromium (Playwright cannot download its own browser here).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq chromium; fi; }

run: install
	$(PYTHON) -m flask --app app run

demo: install
	$(PYTHON) -m flask --app app demo

test: install-test browser
	$(PYTHON) -m ruff check .
	$(PYTHON) -m pytest
