"""Contract tests of the SearchIndex Protocol, run against every backend available."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.errors import ConfigurationError
from storage.index import tantivy_index
from storage.index.analysis import normalize
from storage.index.base import IndexDocument, SearchIndex
from storage.index.engine import make_engine_index
from storage.index.query import parse
from storage.index.tantivy_index import TantivyIndex
from tests.conftest import elasticsearch_overrides, make_settings, opensearch_overrides


def doc(
    i: int,
    text: str,
    *,
    title: str = "",
    customer: str | None = None,
    day: int = 1,
    year: int = 2024,
) -> IndexDocument:
    return IndexDocument(
        id=i,
        sha256=f"{i:064x}",
        title=title or f"contract {i}",
        customer=customer,
        filename=f"{i}.pdf",
        created_at=datetime(year, 1, day, 12, tzinfo=UTC),
        pages=[normalize(p) for p in text.split("\f")],
    )


DOCS = [
    doc(1, "第八条 违约责任 甲方逾期付款的，应支付违约金。", customer="青岛木门有限公司", day=1),
    doc(2, "因不可抗力不能履行合同的，不承担责任。\f第二页 日期，限制", customer="南京房产", day=2),
    doc(
        3,
        "LIMITATION OF LIABILITY. In no event shall the Party's liability exceed US$1,000,000.00.",
        customer="Acme Corp",
        day=3,
    ),
    doc(
        4,
        "Force majeure: neither party is liable. The limitation period is one year.",
        customer="Acme Corp",
        day=4,
        year=2023,
    ),
    doc(5, "租赁合同 期限 lease term", title="房屋租赁合同", customer=None, day=5),
]


def make_index(request: pytest.FixtureRequest, kind: str, tmp_path: Path) -> SearchIndex:
    """A fresh, empty index of ``kind`` (an alias of its own on the session's OpenSearch)."""
    if kind == "tantivy":
        return TantivyIndex(tmp_path / "index")
    if kind == "elasticsearch":
        return make_engine_index(make_settings(tmp_path / "var", **elasticsearch_overrides()))
    url = request.getfixturevalue("opensearch_url")
    return make_engine_index(make_settings(tmp_path / "var", **opensearch_overrides(url)))


@pytest.fixture(
    params=[
        "tantivy",
        pytest.param("opensearch", marks=pytest.mark.opensearch),
        pytest.param("elasticsearch", marks=pytest.mark.elasticsearch),
    ]
)
def index(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SearchIndex]:
    idx = make_index(request, request.param, tmp_path)
    idx.check()
    idx.add(DOCS)
    yield idx
    idx.close()


def ids(index: SearchIndex, q: str, **kw: object) -> set[int]:
    return {h.id for h in index.search(parse(q), limit=100, **kw).hits}  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("违约", {1}),
        ("违约责任", {1}),
        ("责任", {1, 2}),
        ("不可抗力", {2}),
        ("期限", {5}),  # "日期，限制" in doc 2 must not match across the comma
        ("甲", {1}),  # a lone character matches inside bigrams
        ('"limitation of liability"', {3}),
        ("limitation liability", {3}),
        ("limitation", {3, 4}),
        ('"party\'s liability"', {3}),
        ("1,000,000.00", {3}),
        ("liability -majeure", {3}),
        ("majeure OR 违约", {1, 4}),
        ("(majeure OR 违约) -甲方", {4}),
        ('customer:"acme corp"', {3, 4}),
        ("customer:青岛木门", {1}),
        ("title:租赁", {5}),
        ("租赁", {5}),
        ("sha256:" + f"{2:064x}", {2}),
        ("id:4", {4}),
        ("archived:[2024-01-02 TO 2024-01-03]", {2, 3}),
        ("archived:2024-01-04", set()),
        ("archived:2023-01-04", {4}),
        ("year:2023", {4}),
        ("-limitation", {1, 2, 5}),
        ("", {1, 2, 3, 4, 5}),
        ("nothingmatches", set()),
    ],
)
def test_queries(index: SearchIndex, q: str, expected: set[int]) -> None:
    assert ids(index, q) == expected


def test_totals_paging_and_sorting(index: SearchIndex) -> None:
    result = index.search(parse(""), limit=2, offset=0, sort="newest")
    assert result.total == 5
    assert [h.id for h in result.hits] == [5, 3]  # doc 4 is from 2023
    page2 = index.search(parse(""), limit=2, offset=2, sort="newest")
    assert [h.id for h in page2.hits] == [2, 1]
    oldest = index.search(parse(""), limit=1, sort="oldest")
    assert [h.id for h in oldest.hits] == [4]


def test_hits_carry_text_for_highlighting(index: SearchIndex) -> None:
    hit = index.search(parse("不可抗力"), limit=1).hits[0]
    assert hit.id == 2 and len(hit.pages) == 2
    assert "不可抗力" in hit.pages[0]
    assert hit.customer == "南京房产"
    assert hit.score > 0


def test_facets(index: SearchIndex) -> None:
    result = index.search(parse("liability OR 责任"), facets=True)
    customers = {f.value: f.count for f in result.facets["customer"]}
    assert customers == {"Acme Corp": 1, "青岛木门有限公司": 1, "南京房产": 1}
    years = {f.value: f.count for f in result.facets["year"]}
    assert years == {"2024": 3}
    assert {f.value for f in result.facets["status"]} == {"archived"}


def test_replace_and_delete(index: SearchIndex) -> None:
    index.add([doc(1, "完全不同的文本", customer="新客户")])
    assert ids(index, "违约") == set()
    assert ids(index, "完全") == {1}
    assert index.count() == 5
    index.delete([1, 2])
    assert index.ids() == {3, 4, 5}


def test_rebuild_swaps_atomically(index: SearchIndex) -> None:
    session = index.rebuild()
    session.add([doc(9, "新的索引")])
    assert ids(index, "") == {1, 2, 3, 4, 5}  # the old index still serves
    session.commit()
    assert index.ids() == {9}
    aborted = index.rebuild()
    aborted.add([doc(10, "x")])
    aborted.abort()
    assert index.ids() == {9}


def test_second_reader_sees_writes(tmp_path: Path) -> None:
    a = TantivyIndex(tmp_path / "i")
    b = TantivyIndex(tmp_path / "i")
    a.check()
    b.check()
    assert b.search(parse("合同")).total == 0  # b's reader is open on the empty index
    a.add([doc(1, "合同")])
    assert {h.id for h in b.search(parse("合同")).hits} == {1}  # reloaded: meta.json changed
    a.add([doc(3, "合同")])
    a.delete([1])
    assert {h.id for h in b.search(parse("合同")).hits} == {3}
    session = a.rebuild()
    session.add([doc(2, "合同")])
    session.commit()
    assert {h.id for h in b.search(parse("合同")).hits} == {2}


def test_concurrent_writes_share_commits_and_each_is_visible_on_return(tmp_path: Path) -> None:
    """Threads writing at once (a server worker's uploads) are committed together, and each
    add returns only once its document is searchable, in this process and in another."""
    writer, reader = TantivyIndex(tmp_path / "i"), TantivyIndex(tmp_path / "i")
    writer.check()
    seen: dict[int, bool] = {}

    def upload(i: int) -> None:
        writer.add([doc(i, f"合同 word{i}")])
        seen[i] = reader.search(parse(f"word{i}")).total == 1
        if i % 4 == 0:
            writer.delete([i])

    threads = [threading.Thread(target=upload, args=(i,)) for i in range(1, 25)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == {i: True for i in range(1, 25)}
    assert reader.ids() == {i for i in range(1, 25) if i % 4}


def test_tantivy_refuses_an_index_of_another_version(tmp_path: Path) -> None:
    idx = TantivyIndex(tmp_path / "i")
    idx.check()
    current = (tmp_path / "i" / "CURRENT").read_text()
    (tmp_path / "i" / current / "VERSION").write_text("0")
    with pytest.raises(ConfigurationError, match="field layout version 0") as info:
        TantivyIndex(tmp_path / "i").check()
    assert "contract-archive reindex" in (info.value.hint or "")


def _bulk_docs(n: int) -> list[IndexDocument]:
    texts = [d.pages for d in DOCS]
    return [
        doc(i, "\f".join(texts[i % len(texts)]) + f" word{i}", customer=f"c{i % 3}", day=1 + i % 28)
        for i in range(1, n + 1)
    ]


def _hits(index: TantivyIndex, q: str) -> list[tuple[int, float]]:
    # Every hit, sorted: the order of equal scores follows the segments, which the writer's
    # threads fill in their own order.
    return sorted((h.id, round(h.score, 4)) for h in index.search(parse(q), limit=1000).hits)


def test_rebuild_with_analysis_processes_is_the_same_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bulk build whose analysis runs in worker processes (started once a rebuild has done
    BULK_POOL_AFTER contracts itself) makes the index that one process makes."""
    monkeypatch.setattr(tantivy_index, "BULK_POOL_AFTER", 100)
    docs = _bulk_docs(400)
    indexes = {}
    for processes in (0, 2):
        index = TantivyIndex(tmp_path / f"p{processes}")
        index.check()
        session = tantivy_index.TantivyRebuild(index, processes=processes)
        for i in range(0, len(docs), 150):
            session.add(docs[i : i + 150])
        assert (session.pool is not None) == (processes > 0)
        session.commit()
        assert session.pool is None  # the workers are gone
        indexes[processes] = index
    one, pooled = indexes[0], indexes[2]
    assert pooled.ids() == one.ids() == set(range(1, 401))
    for q in ("违约", '"limitation of liability"', "word399", "1,000,000.00", "合同 -责任"):
        assert _hits(pooled, q) == _hits(one, q)
    facets = pooled.search(parse("liability"), facets=True).facets
    assert facets == one.search(parse("liability"), facets=True).facets


def test_an_aborted_pooled_rebuild_keeps_the_old_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tantivy_index, "BULK_POOL_AFTER", 64)
    index = TantivyIndex(tmp_path / "i")
    index.check()
    index.add([doc(1, "旧的索引")])
    session = tantivy_index.TantivyRebuild(index, processes=2)
    session.add(_bulk_docs(300))  # chunks still out in the workers
    assert session.pool is not None
    session.abort()
    assert session.pool is None
    assert index.ids() == {1}
    assert not session.path.exists()
    assert [p.name for p in (tmp_path / "i").glob("gen-*")] == [index._current_name()]


def test_facets_beside_the_search_when_every_facet_thread_is_busy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A search's facets are computed in a thread beside it; when the facet threads are all
    busy (other searches' facets), the search computes its own instead of queueing: the same
    counts either way, and the counts of a search stay those of its reader."""
    monkeypatch.setattr(tantivy_index, "FACET_THREADS", 1)
    index = TantivyIndex(tmp_path / "index")
    index.check()
    index.add(DOCS)
    free = index.search(parse("liability OR 责任"), facets=True)
    expected = {name: list(values) for name, values in free.facets.items()}
    assert {f.value: f.count for f in expected["customer"]} == {
        "Acme Corp": 1,
        "青岛木门有限公司": 1,
        "南京房产": 1,
    }
    release = threading.Event()
    blocker = index._facet_pool().submit(release.wait, 30)  # the one facet thread, busy
    try:
        busy = index.search(parse("liability OR 责任"), facets=True)
        index.add([doc(6, "liability again", customer="Globex")])  # a later write
        assert busy.facets == expected
        assert not blocker.done()  # computed by the search itself, not by the pool
    finally:
        release.set()
    later = index.search(parse("liability OR 责任"), facets=True).facets
    assert {f.value: f.count for f in later["customer"]}["Globex"] == 1
    index.close()
