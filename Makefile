# `make demo`: create .venv if needed, install, run the default study.
# `make test`: the same set-up, then the whole test suite.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-lifelong

.PHONY: demo test bench lint install

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,ray,logging]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/lifelong run

test: $(STAMP)
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks

bench: $(STAMP)
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[bench]'
	$(PY) benchmarks/throughput.py
