# MapIdeas: build, run and test. The work is done by the scripts in scripts/.
SHELL := /bin/bash
ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help setup test run bench replica-demo load lint format messages clean distclean

help:
	@echo "make setup      install system packages, .venv and node_modules (idempotent)"
	@echo "make test       make lint, then pytest on SpatiaLite and on PostGIS (ARGS='-k x' for pytest)"
	@echo "make run        migrate, load the demo city if empty, serve on http://127.0.0.1:\$${PORT:-8000}/"
	@echo "make bench      time re-routing and point lookups against bare SQL (BENCH_IDEAS=200000 for a smaller city)"
	@echo "make replica-demo  two app servers, a PostgreSQL primary and a streaming replica: pins in, reads from the replica (docs/operations/scaling.md)"
	@echo "make load       LOAD_SECONDS (600) of mixed traffic (Locust) against the server as make run starts it; PASS: no 5xx, one row per acknowledged pin"
	@echo "make lint       ruff (check and format), import contracts (import-linter), types (mypy)"
	@echo "make format     ruff format + ruff check --fix"
	@echo "make messages   update locale/*/LC_MESSAGES/*.po from the code's strings (then translate, make setup compiles)"
	@echo "make clean      remove var/ (databases, private PostgreSQL cluster) and staticfiles/"
	@echo "make distclean  clean, and remove .venv and node_modules"

setup:
	@bash scripts/setup.sh

test: setup
	@bash scripts/test.sh $(ARGS)

run: setup
	@bash scripts/run.sh

bench: setup
	@bash scripts/bench.sh

replica-demo: setup
	@bash scripts/replica_demo.sh

load: setup
	@.venv/bin/python scripts/load_run.py

lint: setup
	@bash scripts/lint.sh

format: setup
	.venv/bin/ruff format .
	.venv/bin/ruff check --fix .

messages: setup
	@bash scripts/messages.sh

clean:
	@bash scripts/postgis.sh stop || true
	rm -rf var staticfiles .pytest_cache .ruff_cache test-results

distclean: clean
	rm -rf .venv node_modules *.egg-info
