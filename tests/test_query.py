"""The query language: parsing and the errors it gives."""

from __future__ import annotations

from datetime import date

import pytest

from core.errors import QuerySyntaxError
from storage.index.query import (
    And,
    DateRange,
    Keyword,
    MatchAll,
    Not,
    Or,
    Text,
    parse,
    positive_texts,
)


def t(raw: str, field: str | None = None, quoted: bool = False) -> Text:
    from storage.index.analysis import terms

    return Text(raw=raw, terms=tuple(terms(raw)), field=field, quoted=quoted)


def test_words_phrases_and_implicit_and() -> None:
    assert parse("违约") == t("违约")
    assert parse('"limitation of liability"') == t("limitation of liability", quoted=True)
    assert parse("force majeure") == And((t("force"), t("majeure")))
    assert parse("违约责任").terms == ("违约", "约责", "责任")  # type: ignore[union-attr]


def test_or_not_and_grouping() -> None:
    assert parse("a OR b") == Or((t("a"), t("b")))
    assert parse("a -b") == And((t("a"), Not(t("b"))))
    assert parse("a NOT b") == And((t("a"), Not(t("b"))))
    assert parse("(a OR b) c") == And((Or((t("a"), t("b"))), t("c")))
    assert parse("a AND b") == And((t("a"), t("b")))
    assert parse("a or b") == And((t("a"), t("or"), t("b")))  # lower-case or is a word
    assert parse("non-compete") == t("non-compete")


def test_fields() -> None:
    assert parse('customer:"Acme Corp"') == t("Acme Corp", field="customer", quoted=True)
    assert parse("title:lease") == t("lease", field="title")
    assert parse("sha256:" + "A" * 64) == Keyword("sha256", "a" * 64)
    assert parse("id:12") == Keyword("id", "12")
    assert parse("archived:[2024-01-01 TO 2024-12-31]") == DateRange(
        "archived", date(2024, 1, 1), date(2024, 12, 31)
    )
    assert parse("archived:[* TO 2024-12-31]") == DateRange("archived", None, date(2024, 12, 31))
    assert parse("archived:2024-03-05") == DateRange("archived", date(2024, 3, 5), date(2024, 3, 5))
    assert parse("甲方:张三") == t("甲方:张三")
    assert parse("Note: text") == And((t("Note:"), t("text")))


def test_empty_and_punctuation_only() -> None:
    assert parse("") == MatchAll()
    assert parse("   ") == MatchAll()
    assert parse("§ 违约") == t("违约")
    assert parse("-") == MatchAll()
    assert parse("a -") == t("a")


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ('"unclosed', "quotation mark is not closed"),
        ("(a OR b", "parenthesis is not closed"),
        ("a)", "closing parenthesis has no opening"),
        ("()", "empty parentheses"),
        ("a OR", "OR needs something on both sides"),
        ("OR a", "expression is missing"),
        ("foo:bar", "unknown field 'foo'"),
        ("customer:", "needs a value"),
        ("customer: acme", "needs a value"),
        ("sha256:abc", "64 hexadecimal digits"),
        ("id:x", "whole number"),
        ("archived:[2024-13-01 TO 2024-12-31]", "is not a date"),
        ("archived:[2025-01-01 TO 2024-12-31]", "starts after it ends"),
        ("archived:[2024-01-01 2024-12-31]", "range must look like"),
        ('""', "has no words"),
        ("[2024-01-01 TO 2024-02-01]", "needs a field"),
        ("title:[2024-01-01 TO 2024-02-01]", "does not take a range"),
        ("a" * 2001, "longer than"),
        (" ".join(["w"] * 65), "more than 64 terms"),
        ("-§", "no words"),
    ],
)
def test_malformed_queries_name_the_problem(query: str, message: str | None) -> None:
    with pytest.raises(QuerySyntaxError) as info:
        parse(query)
    assert info.value.code == "invalid_query"
    assert info.value.hint
    if message:
        assert message in info.value.message


def test_positive_texts_skip_negations_and_fields() -> None:
    node = parse('违约 -draft customer:acme ("force majeure" OR 不可抗力)')
    assert [x.raw for x in positive_texts(node)] == ["违约", "force majeure", "不可抗力"]
