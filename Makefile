# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3

.PHONY: run test install install-test browser

install:
	$(PYTHON) -m pip install -q -e .

install-test:
	$(PYTHON) -m pip install -q -e '.[test]'

# Browser tests drive Debian's Chromium (Playwright cannot download its own browser here).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq chromium; fi; }

run: install
	$(PYTHON) -m flask --app app run

test: install-test browser
	$(PYTHON) -m pytest
