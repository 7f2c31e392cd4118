"""Elasticsearch and OpenSearch: one DSL, pinned by golden files, and failing fast.

* ``tests/golden/search_dsl.json`` pins the bodies the shared compiler produces. Both client
  libraries are checked to put exactly those bytes on the wire (a request recorder on
  127.0.0.1 captures them; it stands in for no search behaviour, it only records). This is the
  Elasticsearch path's check when ``ARCHIVE_TEST_ELASTICSEARCH_URL`` is not set; when it is,
  the index contract tests of tests/test_index.py run against it live as well.
* OpenSearch runs live on osmem: misconfigurations are reported at start-up naming the setting.

Regenerate the golden file after an intended change with ``UPDATE_GOLDEN=1 pytest <this file>``
and review the diff.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from opensearchpy import OpenSearch
from typer.testing import CliRunner

from contract_archive.cli import app
from core.errors import ConfigurationError
from core.settings import reset_settings
from storage.index import search_dsl
from storage.index.base import INDEX_VERSION, IndexDocument
from storage.index.engine import (
    ElasticsearchClient,
    EngineIndex,
    OpenSearchClient,
    make_engine_index,
)
from storage.index.query import parse
from tests.conftest import ROOT, elasticsearch_overrides, make_settings, opensearch_overrides
from tests.servers import free_ports

GOLDEN = ROOT / "tests" / "golden" / "search_dsl.json"
SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "zh_two_char_word": ("违约", {}),
    "zh_phrase": ("违约责任", {}),
    "zh_lone_character": ("甲", {}),
    "en_phrase": ('"limitation of liability"', {}),
    "en_words_and_number": ("indemnify 1,000,000.00", {}),
    "or_group_with_exclusion": ("(warranty OR warranties) -draft", {}),
    "only_exclusions": ("-草稿 NOT draft", {}),
    "customer_and_title": ('customer:"Acme Corp" title:租赁', {}),
    "keywords": (
        f"id:12 year:2024 status:archived classification:confidential sha256:{SHA}",
        {},
    ),
    "date_ranges": ("archived:[2024-01-01 TO 2024-12-31] -archived:[* TO 2023-12-31]", {}),
    "one_day": ("archived:2024-03-05", {}),
    "clauses": ("clause:non_compete -clause:cap_on_liability", {}),
    "everything_newest_with_facets": ("", {"sort": "newest", "facets": True, "limit": 20}),
    "page_three_oldest": ("不可抗力 OR force", {"sort": "oldest", "offset": 40, "limit": 20}),
}

DOC = IndexDocument(
    id=7,
    sha256=SHA,
    title="房屋租赁合同 Ｌｅａｓｅ",
    customer="青岛木门有限公司",
    filename="lease.pdf",
    created_at=datetime(2024, 3, 5, 8, 30, 15, 123456, tzinfo=UTC),
    pages=["第一条 租赁期限", "LIMITATION OF LIABILITY"],
    classification="confidential",
    clauses=("force_majeure", "non_compete"),
)


def current_golden() -> dict[str, Any]:
    return {
        "index": search_dsl.index_body(),
        "bulk_add": [
            {"index": {"_id": "7", "_index": "contracts"}},
            search_dsl.to_source(DOC),
        ],
        "searches": {
            name: {"query": q, "options": kw, "body": search_dsl.search_body(parse(q), **kw)}
            for name, (q, kw) in CASES.items()
        },
    }


@pytest.fixture(scope="module")
def golden() -> dict[str, Any]:
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(
            json.dumps(current_golden(), ensure_ascii=False, indent=1, sort_keys=True) + "\n"
        )
    return dict(json.loads(GOLDEN.read_text()))


def test_the_compiler_produces_the_golden_dsl(golden: dict[str, Any]) -> None:
    now = current_golden()
    assert now["index"] == golden["index"]
    assert now["bulk_add"] == golden["bulk_add"]
    assert set(now["searches"]) == set(golden["searches"])
    for name, case in golden["searches"].items():
        assert now["searches"][name] == case, name


def test_the_golden_dsl_says_what_the_design_says(golden: dict[str, Any]) -> None:
    """Spot checks on the pinned DSL itself, so a careless regeneration is caught."""
    index = golden["index"]
    assert index["settings"]["analysis"]["analyzer"]["archive"] == {
        "type": "custom",
        "tokenizer": "standard",
        "filter": ["cjk_width", "lowercase", "cjk_bigram"],
    }
    assert index["mappings"]["dynamic"] == "strict"
    assert index["mappings"]["_meta"]["archive_index_version"] == INDEX_VERSION == 3
    assert index["mappings"]["properties"]["pages"]["index_options"] == "offsets"
    searches = golden["searches"]
    assert all(s["body"]["track_total_hits"] is True for s in searches.values())
    phrase = searches["zh_phrase"]["body"]["query"]["bool"]["should"][0]
    assert phrase == {
        "match_phrase": {"pages": {"query": "违约 约责 责任", "analyzer": "whitespace"}}
    }
    assert "aggs" in searches["everything_newest_with_facets"]["body"]


# --- the wire -----------------------------------------------------------------------------------
class Recorder(ThreadingHTTPServer):
    """Records every request; answers just enough for a client to go on. Not a search engine."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[tuple[str, str, Any]] = []
        self.aliases: dict[str, str] = {}
        self.mappings: dict[str, Any] = {}
        self.version: dict[str, str] = {"number": "9.1.0", "build_flavor": "default"}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: Recorder

    def log_message(self, *args: object) -> None:
        return

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode() if length else ""
        if not raw:
            return None
        if self.path.split("?")[0].endswith("_bulk"):
            return [json.loads(line) for line in raw.splitlines() if line.strip()]
        return json.loads(raw)

    def _answer(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Elastic-Product", "Elasticsearch")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _handle(self) -> None:
        body = self._body()
        path = self.path.split("?")[0]
        self.server.requests.append((self.command, path, body))
        parts = [p for p in path.split("/") if p]
        missing = {"error": {"type": "index_not_found_exception", "reason": "no such index"}}
        if not parts:
            self._answer(200, {"version": self.server.version})
        elif parts[0] == "_alias":
            index = self.server.aliases.get(parts[1])
            if index is None:
                self._answer(404, {"error": f"alias [{parts[1]}] missing", "status": 404})
            else:
                self._answer(200, {index: {"aliases": {parts[1]: {}}}})
        elif parts[0] == "_bulk":
            self._answer(200, {"errors": False, "items": []})
        elif len(parts) == 1 and self.command == "PUT":
            for alias in (body or {}).get("aliases", {}):
                self.server.aliases[alias] = parts[0]
            self.server.mappings[parts[0]] = (body or {}).get("mappings", {})
            self._answer(200, {"acknowledged": True, "index": parts[0]})
        elif len(parts) == 1 and self.command == "HEAD":
            self._answer(200 if parts[0] in self.server.mappings else 404, missing)
        elif parts[-1] == "_mapping":
            self._answer(200, {parts[0]: {"mappings": self.server.mappings[parts[0]]}})
        elif parts[-1] == "_search":
            self._answer(200, {"hits": {"total": {"value": 0, "relation": "eq"}, "hits": []}})
        else:
            self._answer(404, missing)

    do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = _handle


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    server = Recorder()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("client_class", [ElasticsearchClient, OpenSearchClient])
def test_both_clients_send_the_golden_bodies(
    recorder: Recorder, golden: dict[str, Any], client_class: type
) -> None:
    if client_class is OpenSearchClient:
        recorder.version = {"number": "3.1.0", "distribution": "opensearch"}
    index = EngineIndex(client_class(recorder.url), alias="contracts", url=recorder.url)
    index.check()
    created = [r for r in recorder.requests if r[0] == "PUT"]
    expected_index = dict(golden["index"], aliases={"contracts": {}})
    assert created == [("PUT", f"/contracts-v{INDEX_VERSION}-0", expected_index)]

    recorder.requests.clear()
    index.add([DOC])
    assert recorder.requests == [("PUT", "/_bulk", golden["bulk_add"])] or recorder.requests == [
        ("POST", "/_bulk", golden["bulk_add"])
    ]

    for name, case in golden["searches"].items():
        recorder.requests.clear()
        index.search(parse(case["query"]), **case["options"])
        assert recorder.requests == [("POST", "/contracts/_search", case["body"])], name


# --- OpenSearch, live ---------------------------------------------------------------------------


@pytest.fixture
def settings_for(opensearch_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    def make(name: str | None = None, **extra: object):  # type: ignore[no-untyped-def]
        return make_settings(
            tmp_path / "var", **opensearch_overrides(opensearch_url, name), **extra
        )

    return make


@pytest.mark.opensearch
def test_unreachable_index_server(tmp_path: Path) -> None:
    (port,) = free_ports(1)
    settings = make_settings(
        tmp_path / "var", index_backend="opensearch", index_url=f"http://127.0.0.1:{port}"
    )
    with pytest.raises(ConfigurationError, match="ARCHIVE_INDEX_URL=http://127.0.0.1"):
        make_engine_index(settings).check()
    with pytest.raises(ConfigurationError, match="needs ARCHIVE_INDEX_URL"):
        make_engine_index(make_settings(tmp_path / "var", index_backend="elasticsearch"))


@pytest.mark.opensearch
def test_an_index_of_another_mapping_version_is_refused_then_reindexed(
    opensearch_url: str, settings_for, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_for()
    alias = settings.index_name
    old = search_dsl.index_body()
    old["mappings"]["_meta"]["archive_index_version"] = 0
    old["aliases"] = {alias: {}}
    raw = OpenSearch(hosts=[opensearch_url])
    raw.indices.create(index=f"{alias}-v0-0", body=old)
    with pytest.raises(ConfigurationError, match="has mapping version 0") as info:
        make_engine_index(settings).check()
    assert f"ARCHIVE_INDEX_NAME={alias}" in info.value.message
    assert "contract-archive reindex" in (info.value.hint or "")

    # The hint works: reindex replaces it, and the old index is gone.
    for name, value in settings.model_dump().items():
        if value is not None:
            monkeypatch.setenv(f"ARCHIVE_{name.upper()}", str(value))
    reset_settings()
    result = CliRunner().invoke(app, ["reindex"])
    assert result.exit_code == 0, result.output
    make_engine_index(settings).check()
    assert list(raw.indices.get_alias(name=alias)) != [f"{alias}-v0-0"]
    assert not raw.indices.exists(index=f"{alias}-v0-0")


@pytest.mark.opensearch
def test_a_plain_index_under_the_alias_name_is_refused(opensearch_url: str, settings_for) -> None:
    settings = settings_for()
    OpenSearch(hosts=[opensearch_url]).indices.create(index=settings.index_name, body={})
    with pytest.raises(ConfigurationError, match="names an index, not an alias"):
        make_engine_index(settings).check()


@pytest.mark.opensearch
def test_an_index_the_archive_did_not_make_is_refused(opensearch_url: str, settings_for) -> None:
    settings = settings_for()
    alias = settings.index_name
    OpenSearch(hosts=[opensearch_url]).indices.create(
        index=f"{alias}-other", body={"aliases": {alias: {}}}
    )
    with pytest.raises(ConfigurationError, match="has mapping version none"):
        make_engine_index(settings).check()


@pytest.mark.opensearch
def test_the_elasticsearch_backend_refuses_an_opensearch_server(
    opensearch_url: str, tmp_path: Path
) -> None:
    settings = make_settings(
        tmp_path / "var", index_backend="elasticsearch", index_url=opensearch_url
    )
    with pytest.raises(ConfigurationError, match="ARCHIVE_INDEX_BACKEND=elasticsearch") as info:
        make_engine_index(settings).check()
    assert "opensearch" in (info.value.hint or "")


@pytest.mark.opensearch
def test_the_mapping_is_strict(opensearch_url: str, settings_for) -> None:
    settings = settings_for()
    make_engine_index(settings).check()
    raw = OpenSearch(hosts=[opensearch_url])
    response = raw.bulk(
        body=[{"index": {"_index": settings.index_name, "_id": "1"}}, {"id": 1, "surprise": 1}]
    )
    assert response["errors"]
    assert "strict_dynamic_mapping_exception" in json.dumps(response)


@pytest.mark.opensearch
def test_two_processes_creating_the_first_index_agree(settings_for) -> None:
    settings = settings_for()
    first, second = make_engine_index(settings), make_engine_index(settings)
    first.check()
    second.check()  # the index exists already: used, not created twice
    first.add([DOC])
    assert second.ids() == {7}


# --- Elasticsearch, live when ARCHIVE_TEST_ELASTICSEARCH_URL is set -----------------------------
@pytest.mark.elasticsearch
def test_elasticsearch_wrong_credentials(tmp_path: Path) -> None:
    overrides = elasticsearch_overrides()
    overrides.update(index_username="elastic", index_password="certainly-not-the-password")
    with pytest.raises(ConfigurationError, match="refused the credentials") as info:
        make_engine_index(make_settings(tmp_path / "var", **overrides)).check()
    assert "ARCHIVE_INDEX_PASSWORD" in (info.value.hint or "")


@pytest.mark.elasticsearch
def test_elasticsearch_runs_the_golden_searches(tmp_path: Path, golden: dict[str, Any]) -> None:
    index = make_engine_index(make_settings(tmp_path / "var", **elasticsearch_overrides()))
    index.check()
    index.add([DOC])
    for case in golden["searches"].values():
        index.search(parse(case["query"]), **case["options"])  # the server accepts every body
    assert {h.id for h in index.search(parse("租赁")).hits} == {7}
    assert {h.id for h in index.search(parse('"limitation of liability"')).hits} == {7}


@pytest.mark.opensearch
def test_concurrent_requests_share_a_pool_of_connections(
    opensearch_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A server's threads and ingest's jobs call the search server at once: they share kept
    connections instead of opening one per request and discarding it (opensearch-py keeps one
    by default, and urllib3 then warned "Connection pool is full" on every ingest --jobs 2)."""
    client = OpenSearchClient(opensearch_url)
    barrier = threading.Barrier(8)
    failures: list[BaseException] = []

    def calls() -> None:
        try:
            barrier.wait(timeout=30)
            for _ in range(10):
                client.info()
        except BaseException as exc:  # reported below
            failures.append(exc)

    with caplog.at_level("WARNING", logger="urllib3.connectionpool"):
        threads = [threading.Thread(target=calls) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert failures == []
    assert [r.getMessage() for r in caplog.records if "pool is full" in r.getMessage()] == []
