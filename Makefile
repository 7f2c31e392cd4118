# The two commands of the quick start are `make run` and `make test`.
SHELL := /bin/bash
# uv may have been installed by the bootstrap into this private folder
export PATH := $(HOME)/.local/share/contract-archive-tools/bin:$(PATH)

.PHONY: run test test-fast install install-test lint typecheck check bench clean

run: install            ## install what is missing and start the archive on embedded defaults
	uv run contract-archive serve

# The suite runs in one worker process per core (pytest-xdist); a test file stays in one worker
# (--dist loadfile), so module-scoped fixtures (a PostgreSQL schema, an archive) are made once.
PYTEST_PARALLEL := -n auto --dist loadfile
# pytest keeps its assertion-rewritten test modules in __pycache__ only where Python may write
# bytecode: with PYTHONDONTWRITEBYTECODE set (it is on the development machine) every worker
# rewrote all 110 test files again on every run (12 s of CPU a worker, 2026-12-07).
PYTEST_ENV := PYTHONDONTWRITEBYTECODE=

test: install-test      ## install what is missing and run the whole test suite
	$(PYTEST_ENV) uv run pytest $(PYTEST_PARALLEL)

test-fast:              ## the edit loop: the suite without slow, browser, OCR, S3, OpenSearch tests (<= 60 s)
	$(PYTEST_ENV) uv run pytest $(PYTEST_PARALLEL) -m "not slow and not browser and not ocr and not s3 and not opensearch and not postgres"

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

# What `make bench` runs, in order (each prints its machine, load average and the bare tool's
# figure from the same run): ingest throughput against pypdf; search latency and bulk index
# build at 10,000 contracts against bare tantivy + the same snippets; OCR against tesseract (and
# where an OCR page's CPU goes);
# fixity against sha256sum; CLI start-up; the evidence ledger; one edit as one
# unit of work; clause detection; OCR quality (CER) and extraction on CUAD (whole contracts,
# every term clause CUAD quotes, and every contract's parties and dates, with the scans); the load test (16 clients, 80 % search / 20 % upload, 2 workers) against the same searches alone;
# scale-out: the same ingest, OCR, search and audit
# on PostgreSQL + SeaweedFS (S3) + osmem (OpenSearch API) beside the embedded engines, with the
# sizing projection (docs/sizing.md).
BENCH := "ingest_throughput --rounds 2 --stages" search_latency ocr_throughput ocr_page_cost "fixity_audit --contracts 30 --size-mb 10" \
	startup "ledger --leaves 20000" "unit_of_work --edits 30" clauses ocr_quality ocr_degraded extraction_eval expiry_clauses party_clauses load \
	scaleout

bench:                  ## the benchmarks whose numbers are in the README (lists what it runs)
	@for b in $(BENCH); do echo "== python -m bench.$$b"; done
	@set -e; start=$$(date +%s); for b in $(BENCH); do \
		echo "== python -m bench.$$b (load average $$(cut -d' ' -f1-3 /proc/loadavg))"; t=$$(date +%s); \
		uv run python -m bench.$$b; echo "== bench.$$b took $$(( $$(date +%s) - t )) s"; done; \
		echo "== make bench took $$(( $$(date +%s) - start )) s in all (load average $$(cut -d' ' -f1-3 /proc/loadavg))"

clean:
	rm -rf .pytest_cache .mypy_cache .ruff_cache
