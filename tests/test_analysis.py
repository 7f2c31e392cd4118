"""The analyzer: normalisation, CJK bigrams, Latin words, offsets."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storage.index import analysis, tantivy_index
from storage.index.analysis import analyze, index_string, normalize, terms, tokenize


def test_whitespace_between_cjk_is_removed() -> None:
    assert normalize("中华人民共和\n国合同法") == "中华人民共和国合同法"
    assert normalize("甲 方 乙 方") == "甲方乙方"
    assert normalize("合同 Contract 条款") == "合同 Contract 条款"


def test_nfkc_and_apostrophes() -> None:
    assert normalize("ＡＢＣ１２３") == "ABC123"
    assert normalize("party’s") == "party's"


def test_cjk_bigrams_and_lone_unigram() -> None:
    assert terms("违约责任") == ["违约", "约责", "责任"]
    assert terms("甲") == ["甲"]
    assert terms("A股") == ["a", "股"]


def test_punctuation_breaks_cjk_runs() -> None:
    assert terms("期，限") == ["期", "限"]
    assert "期限" not in terms("日期，限制")


def test_latin_words_numbers_and_no_stop_words() -> None:
    assert terms("Limitation of Liability") == ["limitation", "of", "liability"]
    assert terms("US$1,000,000.00") == ["us", "1,000,000.00"]
    assert terms("the Party's rights") == ["the", "party's", "rights"]
    assert terms("e-mail a,b 10-Q") == ["e", "mail", "a", "b", "10", "q"]


def test_mixed_text_positions_are_consecutive() -> None:
    toks = analyze("甲方ABC公司 signs 合同")
    assert [t.text for t in toks] == ["甲方", "abc", "公司", "signs", "合同"]
    assert [t.position for t in toks] == [0, 1, 2, 3, 4]


def test_index_string_joins_tokens() -> None:
    assert index_string(normalize("不可抗力 Force")) == "不可 可抗 抗力 force"


@given(st.text(alphabet=st.sampled_from("违约责任甲乙方 ,.'abcXYZ019\n\u3000，。"), max_size=80))
def test_offsets_point_at_the_token_text(text: str) -> None:
    normalized = normalize(text)
    for tok in tokenize(normalized):
        assert normalized[tok.start : tok.end].lower() == tok.text
        assert " " not in tok.text


@given(st.text(max_size=200))
def test_analysis_never_fails_and_is_idempotent_under_normalize(text: str) -> None:
    once = normalize(text)
    assert terms(once) == terms(text)


def _joined_terms(normalized: str) -> str:
    return " ".join(t.text for t in tokenize(normalized))


def _ascii_terms(text: str) -> str:
    """The pure-ASCII way of :func:`analysis.index_text`, its terms joined by single spaces."""
    return " ".join(analysis._ascii_spaced(text).split())


def _any_terms(text: str) -> str:
    """The whole-text-passes way of :func:`analysis.index_text`, joined the same way."""
    return " ".join(analysis._any_spaced(text).split())


# index_string takes one of three ways (pure ASCII; whole-text passes; one run at a time for
# mostly CJK text), chosen by the text: each is checked on its own, on any text.
WAYS = [_any_terms, analysis._loop_terms, index_string]
TRICKY = "违约责任甲乙方・ー ,.':abcXYZ019_\n\u3000，。éΣσςΟİß²①\u0301\u3099Ⅻ½-\x00\x01§—"


@pytest.mark.parametrize("way", WAYS)
@given(text=st.text(alphabet=st.sampled_from(TRICKY), max_size=60))
def test_index_string_is_the_joined_terms_on_tricky_text(
    way: Callable[[str], str], text: str
) -> None:
    # The terms are made by whole-text passes, not token by token: they must be exactly
    # tokenize's (joiners beside letters, digits, CJK and other scripts, lone CJK
    # characters, final sigma, lower-casing that lengthens a word).
    assert way(text) == _joined_terms(text)


@pytest.mark.parametrize("way", WAYS)
@given(text=st.text(max_size=120))
def test_index_string_is_the_joined_terms_on_any_text(way: Callable[[str], str], text: str) -> None:
    assert way(text) == _joined_terms(text)


@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=120))
def test_the_ascii_way_is_the_joined_terms(text: str) -> None:
    assert _ascii_terms(text) == _joined_terms(text)


def test_index_string_is_the_joined_terms_on_the_corpus() -> None:
    root = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus"
    texts = [normalize(p.read_text(errors="replace")) for p in sorted(root.rglob("*.txt"))]
    assert texts, "the corpus has text files"
    for text in texts:
        expected = _joined_terms(text)
        assert index_string(text) == expected
        assert _any_terms(text) == expected
        if text.isascii():
            assert _ascii_terms(text) == expected


def test_index_string_drops_words_longer_than_the_limit() -> None:
    long = "x" * 256
    assert index_string(f"a {long} b {'y' * 255}") == f"a b {'y' * 255}"
    for way in WAYS:
        assert way(f"甲乙 {long}é") == "甲乙"
        assert way("ΟΔΟΣ.ΑΣ ΟΣ") == "οδοσ.ας ος"


def _tantivy_terms(text: str) -> list[str]:
    # The index's own analyzer (whitespace): what a document's text field becomes.
    return list(tantivy_index._analyzer().analyze(text))


@given(text=st.text(max_size=120) | st.text(alphabet=st.sampled_from(TRICKY), max_size=60))
def test_index_text_gives_the_index_the_terms(text: str) -> None:
    """What the writer receives: the terms in order, between runs of ASCII spaces (no other
    whitespace), so the index gets the terms and positions of the joined terms."""
    spaced = analysis.index_text(text)
    assert {c for c in spaced if c.isspace()} <= {" "}
    assert [w for w in spaced.split(" ") if w] == [t.text for t in tokenize(text)]
    assert _tantivy_terms(spaced) == _tantivy_terms(index_string(text))


def test_index_text_on_the_corpus_and_long_words() -> None:
    root = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus"
    texts = [normalize(p.read_text(errors="replace")) for p in sorted(root.rglob("*.txt"))]
    long = "x" * 256
    texts += [f"{long} a", f"a {long}", f"a\t{long} b", f"é {long}", "y" * 255 + " é"]
    for text in texts:
        expected = [t.text for t in tokenize(text)]
        assert _tantivy_terms(analysis.index_text(text)) == expected
