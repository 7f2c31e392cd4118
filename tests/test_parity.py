"""Parity: tantivy and OpenSearch return the same contracts for the same query.

The same documents, made from the corpus's real contract texts (CUAD English agreements and the
Chinese model contracts, split into contracts of a few pages, some bilingual), go into both
backends; every query below must give identical result sets, totals and facets, and identical
order when sorted by date. Chinese and English phrases, two-character Chinese words, a lone
character, exclusions, OR groups, field filters, date ranges and facets are all covered.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from storage.index.analysis import normalize
from storage.index.base import IndexDocument, SearchIndex
from storage.index.engine import make_engine_index
from storage.index.query import parse
from storage.index.tantivy_index import TantivyIndex
from tests.conftest import corpus_files, make_settings, opensearch_overrides

pytestmark = pytest.mark.opensearch

PAGE_CHARS = 3000
CUSTOMERS = ["Acme Corp", "青岛木门有限公司", "南京房产经纪有限公司", "Globex LLC", None]
CLASSES = ["confidential", "internal", None]
CLAUSE_SETS = [
    ("non_compete", "cap_on_liability"),
    ("cap_on_liability",),
    (),
    ("liability_for_breach",),
]


def _pages(text: str) -> list[str]:
    text = text.strip()
    return [text[i : i + PAGE_CHARS] for i in range(0, len(text), PAGE_CHARS)] or [""]


def corpus_documents() -> list[IndexDocument]:
    english = corpus_files("en-cuad", ".txt")
    chinese = [p for p in corpus_files("zh", ".txt") if p.stat().st_size > 1000]
    assert len(english) >= 25 and len(chinese) >= 3
    contracts: list[tuple[str, list[str]]] = []
    for path in english:
        contracts.append((path.stem[:80], _pages(path.read_text(errors="replace"))[:12]))
    for path in chinese:
        pages = _pages(path.read_text(errors="replace"))
        for start in range(0, len(pages), 2):  # several contracts of two pages each
            contracts.append((f"{path.stem} 第{start // 2 + 1}部分", pages[start : start + 2]))
    # Bilingual contracts: a Chinese part and an English part.
    for i in range(6):
        zh_title, zh_pages = contracts[len(english) + i]
        _, en_pages = contracts[i]
        contracts.append((f"{zh_title} / bilingual", zh_pages[:1] + en_pages[:2]))
    base = datetime(2022, 1, 3, 9, 0, tzinfo=UTC)
    return [
        IndexDocument(
            id=i + 1,
            sha256=f"{i + 1:064x}",
            title=title,
            customer=CUSTOMERS[i % len(CUSTOMERS)],
            filename=f"{i + 1}.pdf",
            created_at=base + timedelta(days=17 * i, minutes=i),
            pages=[normalize(p) for p in pages],
            classification=CLASSES[i % len(CLASSES)],
            clauses=CLAUSE_SETS[i % len(CLAUSE_SETS)],
        )
        for i, (title, pages) in enumerate(contracts)
    ]


QUERIES = [
    # two-character Chinese words, and longer runs matched as phrases of bigrams
    "违约",
    "合同",
    "买卖",
    "定金",
    "交付",
    "价款",
    "期限",
    "仲裁",
    "出卖人",
    "违约金",
    # Chinese phrases
    "违约责任",
    "不可抗力",
    "商品房买卖合同",
    "逾期交付",
    '"买受人应当"',
    # lone characters match inside bigrams
    "甲",
    "乙",
    # English words and phrases
    "indemnify",
    "confidential",
    "royalty",
    '"limitation of liability"',
    '"governing law"',
    '"force majeure"',
    '"intellectual property"',
    '"in witness whereof"',
    '"terminate this agreement"',
    '"thirty (30) days"',
    # exclusions and OR groups
    "合同 -房屋",
    "agreement -franchise -license",
    "-agreement",
    "(warranty OR warranties) damages",
    "仲裁 OR arbitration",
    "NOT 合同 NOT agreement",
    # field filters and date ranges
    'customer:"Acme Corp"',
    "customer:青岛木门",
    "title:买卖",
    "title:agreement -title:license",
    "year:2023",
    "archived:[2023-01-01 TO 2023-06-30]",
    "archived:[* TO 2022-06-30] 合同",
    "classification:confidential agreement",
    "status:archived 违约",
    "id:5 OR id:40",
    # mixed
    "合同 agreement",
    "payment year:2024",
    # clause types found in a contract (several per contract)
    "clause:non_compete",
    "-clause:cap_on_liability",
    "clause:cap_on_liability -clause:non_compete agreement",
    "clause:违约责任 OR clause:non_compete",
]
FACETED = [
    "",
    "违约",
    "agreement",
    "合同 OR agreement",
    "customer:青岛木门",
    "year:2024",
    "-clause:non_compete",
]
SORTED = ["agreement", "合同", "", "-agreement"]


@pytest.fixture(scope="module")
def backends(
    tmp_path_factory: pytest.TempPathFactory, opensearch_url: str
) -> Iterator[tuple[SearchIndex, SearchIndex, int]]:
    docs = corpus_documents()
    base = tmp_path_factory.mktemp("parity")
    tantivy = TantivyIndex(base / "index")
    opensearch = make_engine_index(
        make_settings(base / "var", **opensearch_overrides(opensearch_url))
    )
    for index in (tantivy, opensearch):
        index.check()
        index.add(docs)
    yield tantivy, opensearch, len(docs)
    tantivy.close()
    opensearch.close()


def result_ids(index: SearchIndex, q: str) -> tuple[int, set[int]]:
    result = index.search(parse(q), limit=1000)
    return result.total, {h.id for h in result.hits}


def test_the_corpus_is_indexed_alike(backends) -> None:
    tantivy, opensearch, n = backends
    assert n >= 40
    assert tantivy.count() == opensearch.count() == n
    assert tantivy.ids() == opensearch.ids() == set(range(1, n + 1))


@pytest.mark.parametrize("q", QUERIES)
def test_identical_result_sets(backends, q: str) -> None:
    tantivy, opensearch, _ = backends
    assert result_ids(opensearch, q) == result_ids(tantivy, q)


def test_the_queries_discriminate(backends) -> None:
    """A parity suite of queries that match all or nothing would prove little."""
    tantivy, _, n = backends
    sizes = [result_ids(tantivy, q)[0] for q in QUERIES]
    assert len(QUERIES) >= 30
    assert sum(1 for s in sizes if 0 < s < n) >= 30, sizes
    assert sum(1 for q, s in zip(QUERIES, sizes, strict=True) if s and q[0] >= "\u4e00") >= 10


@pytest.mark.parametrize("q", FACETED)
def test_identical_facets(backends, q: str) -> None:
    tantivy, opensearch, _ = backends
    a = tantivy.search(parse(q), limit=5, facets=True)
    b = opensearch.search(parse(q), limit=5, facets=True)
    assert a.total == b.total
    for name in a.facets:
        assert {(f.value, f.count) for f in b.facets[name]} == {
            (f.value, f.count) for f in a.facets[name]
        }, name
    assert set(a.facets) == set(b.facets)


@pytest.mark.parametrize("sort", ["newest", "oldest"])
@pytest.mark.parametrize("q", SORTED)
def test_identical_order_by_date(backends, q: str, sort: str) -> None:
    tantivy, opensearch, _ = backends
    for offset in (0, 7):
        a = tantivy.search(parse(q), limit=15, offset=offset, sort=sort)  # type: ignore[arg-type]
        b = opensearch.search(parse(q), limit=15, offset=offset, sort=sort)  # type: ignore[arg-type]
        assert [h.id for h in b.hits] == [h.id for h in a.hits]
        assert [h.pages for h in b.hits] == [h.pages for h in a.hits]


def test_hits_carry_the_same_texts_for_highlighting(backends) -> None:
    tantivy, opensearch, _ = backends
    a = {h.id: h for h in tantivy.search(parse("违约责任"), limit=100).hits}
    b = {h.id: h for h in opensearch.search(parse("违约责任"), limit=100).hits}
    assert a.keys() == b.keys() and a
    for cid, hit in a.items():
        assert (b[cid].title, b[cid].customer, b[cid].pages) == (hit.title, hit.customer, hit.pages)
