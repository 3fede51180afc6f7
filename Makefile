# The commands the README gives. Everything installs into .venv in the repo root.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: serve test lint screenshots bench bench-ingest bench-parsers bench-query clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	touch $@

$(TEST_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

serve: $(STAMP)
	$(BIN)/millpond serve

test: $(TEST_STAMP)
	$(BIN)/python -m pytest

lint: $(TEST_STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy

# Rewrites the web UI's screenshots in docs/screenshots/ (needs /usr/bin/chromium).
screenshots: $(TEST_STAMP)
	UI_SCREENSHOTS=1 $(BIN)/python -m pytest -q tests/ui/test_ui_screenshots.py

# `make bench` runs all three; BENCH_QUERY_ARGS passes options to the search benchmark, e.g.
# `make bench-query BENCH_QUERY_ARGS="--keep /var/tmp/millpond-10m"` to load 10M events once.
bench: bench-ingest bench-parsers bench-query

bench-ingest: $(TEST_STAMP)
	$(BIN)/python benchmarks/run.py

# uploadLogs with parser=accessLog and parser=json against the same bodies unparsed.
bench-parsers: $(TEST_STAMP)
	$(BIN)/python benchmarks/run.py --scenario parse-access --scenario parse-json

bench-query: $(TEST_STAMP)
	$(BIN)/python benchmarks/query_bench.py $(BENCH_QUERY_ARGS)

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
