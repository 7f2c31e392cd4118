# The two commands of the quick start are `make run` and `make test`.
SHELL := /bin/bash
# uv may have been installed by the bootstrap into this private folder
export PATH := $(HOME)/.local/share/contract-archive-tools/bin:$(PATH)

.PHONY: run test install install-test lint typecheck check bench clean

run: install            ## install what is missing and start the archive on embedded defaults
	uv run contract-archive serve

test: install-test      ## install what is missing and run the whole test suite
	uv run pytest

install:
	./scripts/bootstrap.sh

install-test:
	./scripts/bootstrap.sh --test

lint:                   ## ruff, lint and format
	uv run ruff check .
	uv run ruff format --check .

typecheck:
	uv run mypy

check: lint typecheck   ## everything CI would complain about besides the tests

bench:                  ## the benchmarks whose numbers are in the README
	uv run python -m bench.ingest_throughput
	uv run python -m bench.search_latency
	uv run python -m bench.ocr_throughput
	uv run python -m bench.fixity_audit --contracts 30 --size-mb 10

clean:
	rm -rf .pytest_cache .mypy_cache .ruff_cache
