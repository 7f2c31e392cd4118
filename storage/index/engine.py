"""Elasticsearch and OpenSearch index backends: one implementation, two client libraries.

Layout on the server::

    <name>                 an alias: what every read and write goes through
    <name>-v1-0            the first index, field layout version 1
    <name>-v1-<time_ns>    an index built by `contract-archive reindex`

The mapping records the layout version in ``_meta.archive_index_version``; an index of another
version refuses to open (``check``) until ``contract-archive reindex`` rebuilt it. A rebuild
fills a new index beside the live one, then moves the alias in one atomic ``_aliases`` call and
deletes the old index: readers never see a half-built index and there is no downtime.

Requests are built by ``storage.index.search_dsl`` (the same bodies for both engines); the two
clients are wrapped by :class:`OpenSearchClient` and :class:`ElasticsearchClient`, which turn
their exceptions into :class:`EngineError` kinds so that the index names the setting to fix.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from core.errors import ConfigurationError
from core.settings import Settings
from storage.errors import StorageError
from storage.index import search_dsl
from storage.index.base import INDEX_VERSION, IndexDocument, IndexResult, SortOrder
from storage.index.query import Node

BULK_CHUNK = 500
IDS_PAGE = 5000
ErrorKind = Literal["unreachable", "credentials", "not_found", "exists", "refused", "product"]


class EngineError(StorageError):
    """A failure of the search server, with what kind of failure it was."""

    def __init__(self, kind: ErrorKind, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status


# --- the two clients --------------------------------------------------------------------------
class _ClientBase:
    """The handful of calls the index makes, on either client library."""

    client: Any
    flavour: str

    def _call(self, what: str, fn: Any, /, **kwargs: Any) -> Any:
        raise NotImplementedError

    def info(self) -> dict[str, Any]:
        return dict(self._call("reading the server's version", self.client.info))

    def create_index(self, name: str, body: dict[str, Any]) -> None:
        self._call(f"creating index {name}", self.client.indices.create, index=name, body=body)

    def delete_index(self, name: str) -> None:
        self._call(f"deleting index {name}", self.client.indices.delete, index=name)

    def alias_targets(self, alias: str) -> list[str]:
        """The indexes behind ``alias``; [] when there is no such alias."""
        # HEAD first: a GET of a missing alias is logged as a failed request by the clients.
        if not self._call(
            f"looking for alias {alias}", self.client.indices.exists_alias, name=alias
        ):
            return []
        try:
            found = self._call(f"reading alias {alias}", self.client.indices.get_alias, name=alias)
        except EngineError as exc:
            if exc.kind == "not_found":  # removed in between
                return []
            raise
        return sorted(dict(found))

    def index_exists(self, name: str) -> bool:
        return bool(self._call(f"looking for {name}", self.client.indices.exists, index=name))

    def mapping(self, index: str) -> dict[str, Any]:
        found = dict(
            self._call(
                f"reading the mapping of {index}", self.client.indices.get_mapping, index=index
            )
        )
        return dict(found.get(index, {}).get("mappings", {}))

    def update_aliases(self, actions: list[dict[str, Any]]) -> None:
        self._call(
            "moving the alias", self.client.indices.update_aliases, body={"actions": actions}
        )

    def refresh(self, index: str) -> None:
        self._call(f"refreshing {index}", self.client.indices.refresh, index=index)

    def bulk(self, operations: list[dict[str, Any]], *, refresh: bool) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"body": operations}
        if refresh:
            kwargs["refresh"] = "wait_for"
        return dict(self._call("bulk indexing", self.client.bulk, **kwargs))

    def search(self, index: str, body: dict[str, Any]) -> dict[str, Any]:
        return dict(self._call("searching", self.client.search, index=index, body=body))

    def count(self, index: str) -> int:
        found = self._call("counting", self.client.count, index=index)
        return int(found["count"])

    def close(self) -> None:
        try:
            self.client.close()
        except Exception:  # noqa: BLE001 - closing a pool must not fail a shutdown
            return


POOL_SIZE = 16
"""Connections kept open to the search server per client (the S3 client keeps as many)."""


def _auth(username: str | None, password: str | None) -> tuple[str, str] | None:
    return (username, password or "") if username else None


class OpenSearchClient(_ClientBase):
    flavour = "opensearch"

    def __init__(
        self,
        url: str,
        *,
        username: str | None = None,
        password: str | None = None,
        ca_bundle: Path | None = None,
        timeout: float = 30.0,
    ) -> None:
        from opensearchpy import OpenSearch

        kwargs: dict[str, Any] = {
            "hosts": [url],
            "timeout": timeout,
            "max_retries": 1,
            # opensearch-py keeps urllib3's default of one connection: concurrent requests
            # (a server's threads, ingest --jobs, the index's group commit) each opened a new
            # connection and logged "Connection pool is full, discarding connection"
            "pool_maxsize": POOL_SIZE,
        }
        if (auth := _auth(username, password)) is not None:
            kwargs["http_auth"] = auth
        if url.startswith("https://"):
            kwargs["verify_certs"] = True
            if ca_bundle:
                kwargs["ca_certs"] = str(ca_bundle)
        self.client = OpenSearch(**kwargs)

    def _call(self, what: str, fn: Any, /, **kwargs: Any) -> Any:
        from opensearchpy import exceptions as ex

        try:
            return fn(**kwargs)
        except ex.ConnectionError as exc:  # SSLError and timeouts are ConnectionErrors too
            raise EngineError("unreachable", f"{what}: {exc.info or exc}") from exc
        except ex.TransportError as exc:
            raise _from_status(what, exc.status_code, exc.error, exc.info) from exc


class ElasticsearchClient(_ClientBase):
    flavour = "elasticsearch"

    def __init__(
        self,
        url: str,
        *,
        username: str | None = None,
        password: str | None = None,
        ca_bundle: Path | None = None,
        timeout: float = 30.0,
    ) -> None:
        from elasticsearch import Elasticsearch

        kwargs: dict[str, Any] = {
            "hosts": [url],
            "request_timeout": timeout,
            "max_retries": 1,
            "connections_per_node": POOL_SIZE,
        }
        if (auth := _auth(username, password)) is not None:
            kwargs["basic_auth"] = auth
        if url.startswith("https://") and ca_bundle:
            kwargs["ca_certs"] = str(ca_bundle)
        self.client = Elasticsearch(**kwargs)

    def _call(self, what: str, fn: Any, /, **kwargs: Any) -> Any:
        import elastic_transport
        import elasticsearch

        try:
            return fn(**kwargs)
        except elasticsearch.UnsupportedProductError as exc:
            raise EngineError("product", f"{what}: {exc}") from exc
        except elasticsearch.ApiError as exc:
            raise _from_status(what, exc.meta.status, exc.error, exc.body) from exc
        except elastic_transport.TransportError as exc:  # connection, TLS, timeouts
            raise EngineError("unreachable", f"{what}: {exc}") from exc


def _from_status(what: str, status: Any, error: Any, info: Any) -> EngineError:
    reason = error
    if isinstance(info, dict) and isinstance(info.get("error"), dict):
        detail = info["error"]
        reason = f"{detail.get('type')}: {detail.get('reason')}"
    code = int(status) if isinstance(status, int) else None
    kind: ErrorKind = "refused"
    if code in (401, 403):
        kind = "credentials"
    elif code == 404:
        kind = "not_found"
    elif code == 400 and "already_exists" in str(reason):
        kind = "exists"
    return EngineError(kind, f"{what}: HTTP {status} {reason}", status=code)


# --- the index --------------------------------------------------------------------------------
def _bulk_errors(response: dict[str, Any]) -> list[str]:
    if not response.get("errors"):
        return []
    problems = []
    for item in response.get("items", []):
        for action in item.values():
            error = action.get("error")
            if error:
                problems.append(f"{action.get('_id')}: {error.get('type')}: {error.get('reason')}")
    return problems


def _index_ops(index: str | None, docs: Sequence[IndexDocument]) -> list[dict[str, Any]]:
    ops: list[dict[str, Any]] = []
    for doc in docs:
        action: dict[str, Any] = {"_id": str(doc.id)}
        if index is not None:
            action["_index"] = index
        ops.append({"index": action})
        ops.append(search_dsl.to_source(doc))
    return ops


class EngineIndex:
    """A SearchIndex on Elasticsearch or OpenSearch, behind an alias."""

    def __init__(self, client: _ClientBase, *, alias: str, url: str) -> None:
        self.client = client
        self.alias = alias
        self.url = url
        self.name = client.flavour
        self._checked = False

    # -- errors ----------------------------------------------------------------------------
    def _config_error(self, exc: EngineError) -> ConfigurationError:
        if exc.kind == "unreachable":
            return ConfigurationError(
                f"cannot reach the search server at ARCHIVE_INDEX_URL={self.url}: {exc.message}",
                hint="check ARCHIVE_INDEX_URL (and ARCHIVE_INDEX_CA_BUNDLE for https) and that "
                "the server is running",
            )
        if exc.kind == "credentials":
            return ConfigurationError(
                f"the search server at {self.url} refused the credentials: {exc.message}",
                hint="check ARCHIVE_INDEX_USERNAME and ARCHIVE_INDEX_PASSWORD",
            )
        if exc.kind == "product":
            return ConfigurationError(
                f"ARCHIVE_INDEX_BACKEND={self.name} but the server at ARCHIVE_INDEX_URL is not "
                f"{self.name}: {exc.message}",
                hint="set ARCHIVE_INDEX_BACKEND to the server's kind (opensearch or elasticsearch)",
            )
        return ConfigurationError(
            f"the search server at {self.url} failed: {exc.message}",
            hint="check ARCHIVE_INDEX_URL and ARCHIVE_INDEX_NAME",
        )

    # -- lifecycle -------------------------------------------------------------------------
    def check(self) -> None:
        """Reach the server, create the first index if there is none, refuse another layout."""
        try:
            self._check_product(self.client.info())
            targets = self.client.alias_targets(self.alias)
            if not targets:
                if self.client.index_exists(self.alias):
                    raise ConfigurationError(
                        f"ARCHIVE_INDEX_NAME={self.alias} names an index, not an alias: the "
                        "archive keeps its indexes behind an alias",
                        hint="choose another ARCHIVE_INDEX_NAME, or delete that index",
                    )
                self._create_first()
                targets = self.client.alias_targets(self.alias)
            for index in targets:
                version = search_dsl.mapping_version(self.client.mapping(index))
                if version != INDEX_VERSION:
                    raise ConfigurationError(
                        f"the search index {index} behind ARCHIVE_INDEX_NAME={self.alias} has "
                        f"mapping version {version if version is not None else 'none'}; this "
                        f"version of the archive needs {INDEX_VERSION}",
                        hint="run `contract-archive reindex` to rebuild it from the records",
                    )
        except EngineError as exc:
            raise self._config_error(exc) from exc
        self._checked = True

    def _check_product(self, info: dict[str, Any]) -> None:
        """The server is the engine ARCHIVE_INDEX_BACKEND says (the client libraries differ)."""
        version = info.get("version") or {}
        found = "opensearch" if version.get("distribution") == "opensearch" else "elasticsearch"
        if found != self.name:
            raise EngineError(
                "product",
                f"it says it is {found} {version.get('number', '')}".rstrip(),
            )

    def _create_first(self) -> None:
        body = search_dsl.index_body()
        body["aliases"] = {self.alias: {}}
        try:
            self.client.create_index(f"{self.alias}-v{INDEX_VERSION}-0", body)
        except EngineError as exc:
            if exc.kind != "exists":  # another process created it first: use theirs
                raise

    def close(self) -> None:
        self.client.close()

    # -- writes ----------------------------------------------------------------------------
    def _bulk(self, ops: list[dict[str, Any]], *, refresh: bool) -> None:
        if not ops:
            return
        problems = _bulk_errors(self.client.bulk(ops, refresh=refresh))
        if problems:
            raise StorageError(
                f"the search server refused {len(problems)} entries: {problems[0]}",
                hint="if the mapping changed, run `contract-archive reindex`",
                details={"errors": problems[:10]},
            )

    def add(self, docs: Sequence[IndexDocument]) -> None:
        for start in range(0, len(docs), BULK_CHUNK):
            chunk = docs[start : start + BULK_CHUNK]
            last = start + BULK_CHUNK >= len(docs)
            self._bulk(_index_ops(self.alias, chunk), refresh=last)

    def delete(self, ids: Sequence[int]) -> None:
        ops = [{"delete": {"_index": self.alias, "_id": str(int(i))}} for i in ids]
        if not ops:
            return
        response = self.client.bulk(ops, refresh=True)
        problems = [p for p in _bulk_errors(response) if "not_found" not in p and "404" not in p]
        if problems:
            raise StorageError(f"the search server refused to delete: {problems[0]}")

    # -- reads -----------------------------------------------------------------------------
    def search(
        self,
        query: Node,
        *,
        limit: int = 10,
        offset: int = 0,
        sort: SortOrder = "relevance",
        facets: bool = False,
    ) -> IndexResult:
        body = search_dsl.search_body(query, limit=limit, offset=offset, sort=sort, facets=facets)
        return search_dsl.parse_response(self.client.search(self.alias, body), sort=sort)

    def ids(self) -> set[int]:
        found: set[int] = set()
        after: list[Any] | None = None
        while True:
            body: dict[str, Any] = {
                "query": {"match_all": {}},
                "size": IDS_PAGE,
                "sort": [{"id": {"order": "asc"}}],
                "_source": False,
                "track_total_hits": False,
            }
            if after is not None:
                body["search_after"] = after
            hits = self.client.search(self.alias, body).get("hits", {}).get("hits", [])
            if not hits:
                return found
            found.update(int(h["_id"]) for h in hits)
            after = hits[-1].get("sort")
            if len(hits) < IDS_PAGE or after is None:
                return found

    def count(self) -> int:
        return self.client.count(self.alias)

    # -- rebuild ---------------------------------------------------------------------------
    def rebuild(self) -> EngineRebuild:
        return EngineRebuild(self)


class EngineRebuild:
    """A new index beside the live one; commit() moves the alias to it in one atomic call."""

    def __init__(self, owner: EngineIndex) -> None:
        self.owner = owner
        self.index = f"{owner.alias}-v{INDEX_VERSION}-{time.time_ns()}"
        try:
            owner.client.create_index(self.index, search_dsl.index_body())
        except EngineError as exc:
            raise owner._config_error(exc) from exc
        self.done = False

    def add(self, docs: Sequence[IndexDocument]) -> None:
        for start in range(0, len(docs), BULK_CHUNK):
            self.owner._bulk(
                _index_ops(self.index, docs[start : start + BULK_CHUNK]), refresh=False
            )

    def commit(self) -> None:
        client = self.owner.client
        client.refresh(self.index)
        old = client.alias_targets(self.owner.alias)
        actions: list[dict[str, Any]] = [
            {"remove": {"index": name, "alias": self.owner.alias}} for name in old
        ]
        actions.append({"add": {"index": self.index, "alias": self.owner.alias}})
        client.update_aliases(actions)
        self.done = True
        for name in old:
            if name != self.index:
                try:
                    client.delete_index(name)
                except EngineError as exc:  # readers are already on the new index
                    if exc.kind != "not_found":
                        raise

    def abort(self) -> None:
        if self.done:
            return
        try:
            self.owner.client.delete_index(self.index)
        except EngineError:
            return


def make_engine_index(settings: Settings) -> EngineIndex:
    """The Elasticsearch or OpenSearch index the settings describe."""
    if not settings.index_url:
        raise ConfigurationError(
            f"ARCHIVE_INDEX_BACKEND={settings.index_backend} needs ARCHIVE_INDEX_URL",
            hint="see 'Running at scale' in the README",
        )
    password = settings.index_password.get_secret_value() if settings.index_password else None
    cls = ElasticsearchClient if settings.index_backend == "elasticsearch" else OpenSearchClient
    client = cls(
        settings.index_url,
        username=settings.index_username,
        password=password,
        ca_bundle=settings.index_ca_bundle,
    )
    return EngineIndex(client, alias=settings.index_name, url=settings.index_url)
