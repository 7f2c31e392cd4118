"""API fuzzing: schemathesis generates requests for every operation of the OpenAPI schema.

Every response must be below 500 and conform to the schema (status code documented, body
matching its model, headers, content type). The app runs in-process over ASGI on a small real
archive (two contracts), so ids, searches and downloads hit real data. The number of examples
per operation is ARCHIVE_TEST_FUZZ_EXAMPLES (default 40; CI keeps it small for time).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import hypothesis
import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from search_api.app import create_app
from services.archive import Archive
from tests.access_helpers import auth_headers
from tests.conftest import corpus_files, make_settings

EXAMPLES = int(os.environ.get("ARCHIVE_TEST_FUZZ_EXAMPLES", "40"))
CHECKS = (
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
)


@pytest.fixture(scope="module")
def fuzz_app():
    with tempfile.TemporaryDirectory(prefix="fuzz-") as tmp:
        # Configured as a deployment is: filing needs a fonds code (全宗号). argon2id at
        # OWASP's minimum cost, as the suite's conftest sets it for every test: a module
        # fixture is made before that function-scoped setting applies, and with the default
        # cost the fuzzer's log-ins and password changes and resets were a sixth of the run.
        settings = make_settings(
            Path(tmp) / "var",
            fonds_code="Z001",
            password_hash_memory_mib=19,
            password_hash_time_cost=2,
        )
        archive = Archive(settings, parser_workers=1).open()
        try:
            for path in corpus_files("zh/samr-model-contracts", ".pdf")[:2]:
                assert archive.ingest_path(path).status == "archived"
            yield archive, create_app(archive)
        finally:
            archive.close()


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_every_operation_answers_by_its_schema(fuzz_app) -> None:
    archive, app = fuzz_app
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 7
    failures: dict[str, str] = {}
    calls: dict[str, int] = {}
    answered: dict[str, int] = {}
    """Per operation, the responses that got past authentication (not 401)."""
    auth: dict[str, dict[str, str]] = {}
    for operation in operations:
        # As an admin, so that the fuzzer reaches each route's own code, not only the guard;
        # a fresh token per operation, in case the fuzzer revoked the last one.
        auth["headers"] = auth_headers(archive, "admin", username="fuzz-admin")

        @hypothesis.given(case=operation.as_strategy())
        @hypothesis.settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(hypothesis.HealthCheck),
            derandomize=True,
            database=None,
        )
        def fuzz(case) -> None:  # type: ignore[no-untyped-def]
            calls[case.operation.label] = calls.get(case.operation.label, 0) + 1
            response = case.call_and_validate(headers=auth["headers"], checks=CHECKS)
            if response.status_code != 401:
                label = case.operation.label
                answered[label] = answered.get(label, 0) + 1

        try:
            fuzz()
        except Exception as exc:
            # A FlakyFailure (an ExceptionGroup) says only "failed on the first call": name
            # what failed, so that a failure seen once under load can be understood.
            inner = "; ".join(
                f"{type(e).__name__}: {str(e)[:1500]}" for e in getattr(exc, "exceptions", ())
            )
            failures[operation.label] = f"{type(exc).__name__}: {str(exc)[:3000]}" + (
                f" [{inner}]" if inner else ""
            )
    assert failures == {}, "\n\n".join(f"{k}: {v}" for k, v in failures.items())
    assert set(calls) == {op.label for op in operations}
    assert sum(calls.values()) >= 5 * len(operations), calls
    # authentication worked: nearly every operation was answered by its own code at least once
    # (the log-in routes and the like may answer 401 to every generated body)
    reached = {label for label, n in answered.items() if n}
    assert len(reached) >= 0.9 * len(operations), sorted(set(calls) - reached)
