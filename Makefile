# `make demo`: create .venv if needed, install, run the default study.
# `make test`: the same set-up, then the whole test suite.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-lifelong

.PHONY: demo test bench lint install browser

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,ray,logging,mujoco,offline]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/lifelong run

# Two test processes (pytest-xdist), one file at a time each: a file's fixtures stay shared.
test: $(STAMP) browser
	$(PY) -m pytest -q -n 2 --dist loadfile

# Debian's chromium for the report's browser test; the test skips without it (fails in CI).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get install -y -q chromium >/dev/null 2>&1 || \
	    { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }; \
	  else echo "note: install Debian's chromium to run the report's browser test"; fi; }

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks

bench: $(STAMP)
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[bench]'
	$(PY) benchmarks/throughput.py
