"""Shared fixtures: the corpus, fresh archives, and real database servers.

Real servers are used, never mocks. PostgreSQL runs when ARCHIVE_TEST_POSTGRES_URL is set
(``.ci/run`` sets it); each test module gets a schema of its own, dropped afterwards.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import pytest
from sqlalchemy import create_engine, text

from core.settings import Settings, reset_settings
from services.archive import Archive
from tests import servers
from tests.servers import SeaweedS3

ROOT = Path(__file__).resolve().parent.parent
CORPUS = (ROOT.parent / "shared" / "corpus").resolve()
POSTGRES_URL = os.environ.get("ARCHIVE_TEST_POSTGRES_URL")


def corpus_files(folder: str, *suffixes: str) -> list[Path]:
    base = CORPUS / folder
    wanted = tuple(s.lower() for s in suffixes)
    return sorted(p for p in base.rglob("*") if p.is_file() and p.name.lower().endswith(wanted))


# --- no process left behind ---------------------------------------------------------------------
# multiprocessing's forkserver and resource tracker are one per interpreter and end with it: they
# are not counted, but every process they started (pool workers) is.
_SINGLETONS = ("multiprocessing.forkserver import main", "multiprocessing.resource_tracker import")


def _process_table() -> dict[int, tuple[int, str, str]]:
    """pid -> (parent pid, state, command line) for every live process, read from /proc."""
    table: dict[int, tuple[int, str, str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:  # it ended while we looked
            continue
        # the command name in parentheses may hold spaces: the fields after the last ')'
        state, ppid = stat[stat.rindex(")") + 2 :].split()[:2]
        cmd = cmdline.replace(b"\0", b" ").decode(errors="replace").strip()
        table[int(entry.name)] = (int(ppid), state, cmd or stat[: stat.rindex(")") + 1])
    return table


def surviving_children(root: int) -> list[str]:
    """The live descendants of ``root`` (zombies and the multiprocessing singletons aside), as
    ``pid: command line``."""
    table = _process_table()
    children: dict[int, list[int]] = {}
    for pid, (ppid, _state, _cmd) in table.items():
        children.setdefault(ppid, []).append(pid)
    found: list[str] = []
    todo = list(children.get(root, []))
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, []))
        _ppid, state, cmd = table[pid]
        if state == "Z" or any(s in cmd for s in _SINGLETONS):
            continue
        found.append(f"{pid}: {cmd[:200]}")
    return sorted(found)


@pytest.fixture(scope="session", autouse=True)
def _no_process_left_behind() -> Iterator[None]:
    """At the end of the session (of each xdist worker), no process that the tests started may
    still run: a pool that was not shut down, a server that was not stopped."""
    yield
    deadline = time.monotonic() + 10  # what is being shut down gets a moment to finish
    while (left := surviving_children(os.getpid())) and time.monotonic() < deadline:
        time.sleep(0.2)
    if left:
        pytest.fail(
            "the test session left processes running:\n  " + "\n  ".join(left), pytrace=False
        )


@pytest.fixture(scope="session")
def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.fail(f"the test corpus is missing: expected it at {CORPUS}")
    return CORPUS


@pytest.fixture(autouse=True)
def _isolated_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test sees the developer's ARCHIVE_* environment or .env file."""
    for key in list(os.environ):
        if key.startswith("ARCHIVE_") and not key.startswith("ARCHIVE_TEST_"):
            monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("ARCHIVE_LOG_LEVEL", "warning")
    reset_settings()
    yield
    reset_settings()


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    return Settings(data_dir=data_dir, _env_file=None, **overrides)  # type: ignore[call-arg]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "var")


@pytest.fixture
def archive(settings: Settings) -> Iterator[Archive]:
    with Archive(settings, parser_workers=1).open() as a:
        yield a


# --- PostgreSQL ---------------------------------------------------------------------------------
def postgres_schema_url(base_url: str, schema: str) -> str:
    sep = "&" if "?" in base_url else "?"
    return f"{base_url}{sep}options={quote(f'-csearch_path={schema}')}"


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A fresh schema on the test PostgreSQL server, as a URL whose search_path points there."""
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL tests need ARCHIVE_TEST_POSTGRES_URL (set by .ci/run)")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = create_engine(POSTGRES_URL)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield postgres_schema_url(POSTGRES_URL, schema)
    finally:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


# --- S3 (SeaweedFS) and OpenSearch (osmem): started once per session -------------------------
@pytest.fixture(scope="session")
def s3_server() -> Iterator[SeaweedS3]:
    """A SeaweedFS S3 server on free ports with a fresh data directory, stopped at the end."""
    with servers.seaweedfs() as server:
        yield server


@pytest.fixture
def s3_bucket(s3_server: SeaweedS3) -> str:
    """A new bucket with versioning and Object Lock for one test."""
    return s3_server.make_bucket()


def s3_overrides(server: SeaweedS3, bucket: str) -> dict[str, object]:
    return {
        "object_store": "s3",
        "s3_endpoint": server.endpoint,
        "s3_access_key": server.access_key,
        "s3_secret_key": server.secret_key,
        "s3_bucket": bucket,
        "s3_part_size_mb": 5,
    }


@pytest.fixture(scope="session")
def opensearch_url() -> Iterator[str]:
    """An osmem OpenSearch-compatible server for the session; tests use their own alias."""
    with servers.osmem() as url:
        yield url


def opensearch_overrides(url: str, name: str | None = None) -> dict[str, object]:
    return {
        "index_backend": "opensearch",
        "index_url": url,
        "index_name": name or f"t-{uuid.uuid4().hex[:16]}",
    }


ELASTICSEARCH_URL = os.environ.get("ARCHIVE_TEST_ELASTICSEARCH_URL")


def elasticsearch_overrides(name: str | None = None) -> dict[str, object]:
    """Settings for the live Elasticsearch of ARCHIVE_TEST_ELASTICSEARCH_URL (user:password@ in
    the URL become ARCHIVE_INDEX_USERNAME/PASSWORD; ARCHIVE_TEST_ELASTICSEARCH_CA_BUNDLE is the
    CA file for https)."""
    if not ELASTICSEARCH_URL:
        pytest.skip("live Elasticsearch tests need ARCHIVE_TEST_ELASTICSEARCH_URL")
    parts = urlsplit(ELASTICSEARCH_URL)
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    overrides: dict[str, object] = {
        "index_backend": "elasticsearch",
        "index_url": urlunsplit((parts.scheme, netloc, parts.path, "", "")),
        "index_name": name or f"t-{uuid.uuid4().hex[:16]}",
    }
    if parts.username:
        overrides["index_username"] = unquote(parts.username)
        overrides["index_password"] = unquote(parts.password or "")
    if ca := os.environ.get("ARCHIVE_TEST_ELASTICSEARCH_CA_BUNDLE"):
        overrides["index_ca_bundle"] = ca
    return overrides
