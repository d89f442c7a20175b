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

.PHONY: run test demo install install-test browser supabase-cli

.venv/bin/python:
	$(SYSTEM_PYTHON) -m venv .venv || { echo "Install venv support first: sudo apt install python3-venv"; exit 1; }

install: $(VENV)
	$(PYTHON) -m pip install -q -e .

install-test: $(VENV)
	$(PYTHON) -m pip install -q -e '.[test]'

# Browser tests drive Debian's Chromium (Playwright cannot download its own browser here). `supabase db lint`
# needs the plpgsql_check extension in the PostgreSQL server the tests use (Debian's package for 15).
browser:
	@missing=""; command -v chromium >/dev/null 2>&1 || missing="chromium"; \
	dpkg -s postgresql-15-plpgsql-check >/dev/null 2>&1 || missing="$$missing postgresql-15-plpgsql-check"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq $$missing; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq $$missing; fi; fi

# The Supabase CLI, pinned, from npm into .tools/ (tests/test_migration_history.py runs it; SUPABASE_CLI overrides).
SUPABASE_CLI_VERSION := 2.117.0
SUPABASE_CLI := .tools/node_modules/.bin/supabase
supabase-cli:
	@[ "$$($(SUPABASE_CLI) --version 2>/dev/null)" = "$(SUPABASE_CLI_VERSION)" ] || \
	  npm install --silent --no-save --no-audit --no-fund --prefix .tools supabase@$(SUPABASE_CLI_VERSION)

run: install
	$(PYTHON) -m flask --app app run

demo: install
	$(PYTHON) -m flask --app app demo

test: install-test browser supabase-cli
	$(PYTHON) -m ruff check .
	$(PYTHON) -m pytest
