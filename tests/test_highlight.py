"""Highlighting from analyzer offsets."""

from __future__ import annotations

from storage.index.analysis import normalize, terms
from storage.index.highlight import find_spans, highlight_title, lead, mark, snippets
from tests.conftest import corpus_files


def spans(text: str, query: str) -> list[str]:
    n = normalize(text)
    return [n[s.start : s.end] for s in find_spans(n, terms(query))]


def test_cjk_phrase_and_word() -> None:
    assert spans("第八条 违约责任：甲方违约", "违约") == ["违约", "违约"]
    assert spans("第八条 违约责任：甲方违约", "违约责任") == ["违约责任"]
    assert spans("日期，限制", "期限") == []
    assert spans("甲方和乙方", "甲") == ["甲"]


def test_latin_phrase_case_and_word_boundaries() -> None:
    text = "LIMITATION OF LIABILITY. Limitation\nof  liability; limitations of liability"
    assert spans(text, "limitation of liability") == [
        "LIMITATION OF LIABILITY",
        "Limitation\nof  liability",
    ]
    assert spans("nonliability liability", "liability") == ["liability"]


def test_mark_escapes_html() -> None:
    assert mark("<b>a&b</b>", []) == "&lt;b&gt;a&amp;b&lt;/b&gt;"
    text = normalize("x <script> 违约 y")
    found = list(find_spans(text, terms("违约")))
    assert mark(text, found) == "x &lt;script&gt; <mark>违约</mark> y"


def test_snippets_prefer_each_clause_and_name_the_page() -> None:
    pages = [
        normalize("封面"),
        normalize("前文" * 100 + "违约责任" + "后文" * 100),
        normalize("不可抗力条款"),
    ]
    result = snippets(pages, [terms("违约责任"), terms("不可抗力")], width=60, limit=3)
    assert [s.page for s in result] == [2, 3]
    assert "<mark>违约责任</mark>" in result[0].html
    assert result[0].html.startswith("…") and result[0].html.endswith("…")
    assert len(result[0].html) < 60 + 40


def test_lead_when_nothing_to_highlight() -> None:
    assert lead(["", "  first text  "])[0].page == 2
    assert lead([]) == []


def test_title() -> None:
    assert highlight_title("房屋租赁合同", [terms("租赁")]) == "房屋<mark>租赁</mark>合同"


def test_snippets_stop_scanning_without_changing_the_result() -> None:
    """The scan stops once every clause is found and there are enough hits; the snippets are
    those of a scan of every page. A clause that matches nothing keeps the scan going to the
    last page (it is never found), so adding one gives the full scan's snippets to compare."""
    texts = [p.read_text(errors="replace") for p in corpus_files("en-cuad", ".txt")[:6]]
    texts += [p.read_text(errors="replace") for p in corpus_files("zh", ".txt")]
    pages = [normalize(t[i : i + 3000]) for t in texts for i in range(0, len(t), 3000)]
    never = ["zzqxnevermatches"]
    queries = [
        "agreement",
        "the party",
        "合同",
        "违约责任",
        "甲方 乙方",
        "shall 合同",
        "termination",
    ]
    compared = 0
    for query in queries:
        patterns = [terms(word) for word in query.split()]
        for first in range(0, len(pages) - 8, 5):  # contracts of 8 pages
            contract = pages[first : first + 8]
            for limit in (1, 3):
                got = snippets(contract, patterns, width=120, limit=limit)
                assert got == snippets(contract, [*patterns, never], width=120, limit=limit)
                compared += bool(got)
    assert compared > 100
