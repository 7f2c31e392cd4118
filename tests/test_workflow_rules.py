"""The rules of the approval workflow and of borrowing, as plain functions (core.workflows): each
rule type selects what it should, bad rules are refused with the rule and the fault named."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.errors import InvalidRequest, Unprocessable
from core.workflows import Facts, Step, parse_rules, select_chain, valid_days

RULES = parse_rules(
    {
        "rules": [
            {"name": "sales", "when": {"classification": ["xs"]}, "steps": [{"groups": ["m"]}]},
            {
                "name": "big",
                "when": {"amount_over": 1_000_000, "currency": "CNY"},
                "steps": [{"users": ["cfo"]}],
            },
            {
                "name": "risky",
                "when": {"customer_flag": ["High-Risk"]},
                "steps": [{"roles": ["legal"], "mode": "all"}],
            },
            {"name": "dept", "when": {"department": ["法务部"]}, "steps": [{"users": ["counsel"]}]},
            {
                "name": "also sales",
                "when": {"classification": ["XS"]},
                "steps": [{"groups": ["m"]}],
            },
        ]
    }
)


def names(facts: Facts) -> list[str]:
    return select_chain(RULES, facts)[0]


def test_classification() -> None:
    assert names(Facts(classification="XS")) == ["sales", "also sales"]
    _, steps = select_chain(RULES, Facts(classification="XS"))
    assert steps == [Step(groups=("m",))]  # the same step twice is kept once
    assert names(Facts(classification="CG")) == []


def test_amount_threshold_and_currency() -> None:
    assert names(Facts(amount=Decimal("1000000.01"), currency="CNY")) == ["big"]
    assert names(Facts(amount=Decimal("1000000.00"), currency="CNY")) == []  # over, not at
    assert names(Facts(amount=Decimal("5000000"), currency="USD")) == []
    assert names(Facts(amount=None, currency="CNY")) == []


def test_customer_flag_and_department() -> None:
    assert names(Facts(customer_flags=frozenset({"high-risk"}))) == ["risky"]
    assert names(Facts(customer_flags=frozenset({"other"}))) == []
    assert names(Facts(department="法务部")) == ["dept"]
    both = Facts(classification="XS", department="法务部", amount=Decimal("2e6"), currency="CNY")
    assert names(both) == ["sales", "big", "dept", "also sales"]


def test_step_qualifies_by_user_role_or_group() -> None:
    step = Step(users=("ann",), roles=("legal",), groups=("m",))
    assert step.qualifies("ann", (), ())
    assert step.qualifies("bob", ("legal",), ())
    assert step.qualifies("cy", (), ("m",))
    assert not step.qualifies("dan", ("auditor",), ("x",))


@pytest.mark.parametrize(
    ("rules", "error", "words"),
    [
        ([{"name": "a", "steps": [{"mode": "any"}]}], Unprocessable, "selects no one"),
        ([{"name": "a", "steps": []}], Unprocessable, "at least one step"),
        ([{"name": "a", "steps": [{"users": ["x"], "mode": "most"}]}], InvalidRequest, "mode"),
        ([{"name": "a", "steps": [{"roles": ["wizard"]}]}], InvalidRequest, "unknown role"),
        (
            [{"name": "a", "when": {"colour": 1}, "steps": [{"users": ["x"]}]}],
            InvalidRequest,
            "unknown condition",
        ),
        (
            [{"name": "a", "when": {"amount_over": "lots"}, "steps": [{"users": ["x"]}]}],
            InvalidRequest,
            "a number",
        ),
        (
            [
                {"name": "a", "steps": [{"users": ["x"]}]},
                {"name": "a", "steps": [{"users": ["y"]}]},
            ],
            InvalidRequest,
            "two rules",
        ),
    ],
)
def test_bad_rules_name_the_rule_and_the_fault(rules: list, error: type, words: str) -> None:
    with pytest.raises(error) as caught:
        parse_rules({"rules": rules})
    assert words in caught.value.message and "'a'" in caught.value.message


def test_borrowing_days() -> None:
    assert valid_days(7, 365) == 7
    for bad in (0, -1, 366, 3650):
        with pytest.raises(Unprocessable, match="1 to 365 days"):
            valid_days(bad, 365)
