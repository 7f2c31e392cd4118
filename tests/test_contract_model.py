"""The contract and customer model (issue 6) through ``archive.contracts``: ingest suggestions,
confirmation, customers, lifecycle with history, filing (档号), holds and disposal, payments,
the classification scheme, and the expiring/overdue queries. SQLite always, PostgreSQL when
configured."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import text

from core.errors import ArchiveError, Conflict, InvalidRequest, NotFound
from services.archive import Archive
from storage.records.models import Base
from tests.conftest import CORPUS, SharedParses, copy_empty_archive, make_settings

ZH_SOFTWARE = CORPUS / "zh" / "contracttools-example" / "肇新合同管理系统源码销售合同.pdf"
ZH_CAR = CORPUS / "zh" / "samr-model-contracts" / "新疆维吾尔自治区汽车买卖合同.pdf"
ZH_HOUSE = CORPUS / "zh" / "samr-model-contracts" / "南京市存量房买卖合同.pdf"
TODAY = date(2026, 6, 1)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('model') / 'archive.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


KEEP = ("alembic_version", "classification_schemes", "classification_codes")


@pytest.fixture
def model(
    db_url: str, tmp_path: Path, _empty_archive_template: Path, shared_parses: SharedParses
) -> Iterator[Archive]:
    """A new archive (a copy of the session's empty one) on the module's database; the three
    contracts below, ingested 30 times in this module, are read by the PDF reader once each
    (``SharedParses``): what is tested here is what the model makes of them."""
    data = copy_empty_archive(_empty_archive_template, tmp_path / "var")
    settings = make_settings(data, database_url=db_url, fonds_code="Z001")
    with shared_parses.install(Archive(settings, parser_workers=1)).open() as a:
        yield a
        # the database is shared by the module: empty it, keep the seeded scheme version 1
        with a.records.engine.begin() as conn:  # type: ignore[attr-defined]
            for table in reversed(Base.metadata.sorted_tables):
                if table.name not in KEEP:
                    conn.execute(table.delete())
            conn.execute(text("DELETE FROM classification_codes WHERE scheme_version > 1"))
            conn.execute(text("DELETE FROM classification_schemes WHERE version > 1"))


def ingest(a: Archive, path: Path, customer: str | None = None) -> int:
    result = a.ingest_path(path, customer=customer, user="local:test")
    assert result.status == "archived", result.reason
    assert result.id is not None
    return result.id


def test_ingest_makes_suggestions_with_evidence_and_links_the_customer(model: Archive) -> None:
    cid = ingest(model, ZH_SOFTWARE, customer="山西肇新科技有限公司")
    view = model.contracts.view(cid, today=TODAY)
    # suggestions and confirmed values are apart; nothing is confirmed by extraction
    assert view.confirmed.classification is None
    assert view.confirmed.amount is None
    amounts = view.suggested["amount"]
    best = amounts[0]
    assert best.value["amount"] == "58000.00" and best.value["currency"] == "CNY"
    assert best.evidence is not None and best.evidence.page >= 1
    assert best.evidence.end > best.evidence.start
    assert 0 < best.confidence <= 1
    assert view.suggested["classification"]
    # the customer given at upload became a customer, linked to the contract
    customer = model.contracts.resolve_customer("山西肇新科技有限公司")
    assert view.confirmed.customer_id == customer.id
    # a variant of the name (legal form left out) is the same customer
    cid2 = ingest(model, ZH_CAR, customer="山西肇新科技")
    assert model.contracts.view(cid2).confirmed.customer_id == customer.id
    assert "山西肇新科技" in model.contracts.resolve_customer(customer.id).aliases
    kinds = [e.kind for e in model.contracts.events(cid)]
    assert "created" in kinds and "customer_linked" in kinds


def test_accepting_a_suggestion_confirms_it_and_records_who(model: Archive) -> None:
    cid = ingest(model, ZH_SOFTWARE)
    view = model.contracts.view(cid)
    amount = view.suggested["amount"][0]
    model.contracts.accept_suggestion(cid, amount.id, actor="local:alice")
    after = model.contracts.view(cid)
    assert after.confirmed.amount == Decimal("58000.00") and after.confirmed.currency == "CNY"
    assert [s.state for s in after.suggested["amount"] if s.id == amount.id] == ["accepted"]
    with pytest.raises(Conflict):
        model.contracts.accept_suggestion(cid, amount.id, actor="local:alice")
    events = [e for e in model.contracts.events(cid) if e.actor == "local:alice"]
    assert any(e.data.get("field") == "amount" for e in events)
    # a correction by a person replaces the value; search filters use it
    model.contracts.confirm(cid, {"classification": "js"}, actor="local:bob", reason="源码许可")
    assert model.get(cid).classification == "JS"
    with pytest.raises(InvalidRequest):
        model.contracts.confirm(cid, {"classification": "NOPE"}, actor="local:bob")
    with pytest.raises(InvalidRequest):
        model.contracts.confirm(cid, {"archival_code": "X"}, actor="local:bob")


def test_lifecycle_follows_rules_and_keeps_history(model: Archive) -> None:
    cid = ingest(model, ZH_CAR)
    assert model.get(cid).status == "signed"
    model.contracts.transition(cid, "active", actor="local:a", reason="生效")
    with pytest.raises(Conflict) as info:
        model.contracts.transition(cid, "draft", actor="local:a")
    assert "cannot become draft" in info.value.message
    model.contracts.transition(cid, "terminated", actor="local:a", reason="协商解除", today=TODAY)
    assert model.contracts.view(cid).confirmed.ended_on == TODAY
    # leaving the rules needs a reason, and is recorded as a correction
    with pytest.raises(InvalidRequest):
        model.contracts.transition(cid, "active", actor="local:a", force=True)
    model.contracts.transition(cid, "active", actor="local:a", force=True, reason="误操作")
    history = [
        (e.kind, e.from_value, e.to_value, e.actor, e.reason)
        for e in model.contracts.events(cid)
        if e.kind in ("transition", "correction")
    ]
    assert history == [
        ("transition", "signed", "active", "local:a", "生效"),
        ("transition", "active", "terminated", "local:a", "协商解除"),
        ("correction", "terminated", "active", "local:a", "误操作"),
    ]
    with pytest.raises(InvalidRequest):
        model.contracts.transition(cid, "flying", actor="local:a")


def test_filing_assigns_archival_codes_once_and_gap_free(model: Archive) -> None:
    a = ingest(model, ZH_SOFTWARE)
    b = ingest(model, ZH_CAR)
    c = ingest(model, ZH_HOUSE)
    with pytest.raises(Conflict):  # no confirmed classification yet
        model.contracts.file(a, actor="local:a")
    for cid in (a, b, c):
        model.contracts.confirm(
            cid, {"classification": "XS", "sign_date": date(2025, 3, 1)}, actor="local:a"
        )
    codes = [model.contracts.file(cid, actor="local:a").archival_code for cid in (a, b, c)]
    assert codes == [
        "Z001-HT·2025-D30-XS-0001",
        "Z001-HT·2025-D30-XS-0002",
        "Z001-HT·2025-D30-XS-0003",
    ]
    with pytest.raises(Conflict):
        model.contracts.file(a, actor="local:a")
    # the code is part of the record and never changes: not even through confirm
    with pytest.raises(Conflict):
        model.contracts.confirm(a, {"fonds_code": "Z999"}, actor="local:a")
    assert model.contracts.view(a).archival.archival_code == codes[0]
    filed = [e for e in model.contracts.events(a) if e.kind == "filed"]
    assert [e.to_value for e in filed] == [codes[0]]


def test_concurrent_filing_gives_distinct_consecutive_numbers(model: Archive) -> None:
    ids = [ingest(model, p) for p in (ZH_SOFTWARE, ZH_CAR, ZH_HOUSE)]
    for cid in ids:
        model.contracts.confirm(
            cid, {"classification": "CG", "sign_date": date(2024, 5, 1)}, actor="local:a"
        )
    codes: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(ids))

    def file(cid: int) -> None:
        try:
            barrier.wait()
            terms = model.contracts.file(cid, actor="local:a")
            assert terms.archival_code is not None
            codes.append(terms.archival_code)
        except BaseException as exc:  # collected and re-raised below
            errors.append(exc)

    threads = [threading.Thread(target=file, args=(cid,)) for cid in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(int(c.rsplit("-", 1)[1]) for c in codes) == [1, 2, 3]


def test_holds_block_disposal_and_retention_counts(model: Archive) -> None:
    cid = ingest(model, ZH_CAR)
    model.contracts.confirm(
        cid,
        {"classification": "FW", "sign_date": date(2000, 1, 5), "expiry_date": date(2001, 1, 4)},
        actor="local:a",
    )
    model.contracts.transition(cid, "active", actor="local:a")
    model.contracts.transition(cid, "expired", actor="local:a")
    terms = model.contracts.file(cid, actor="local:a")
    assert terms.retention == "D10"  # the default retention of FW
    # later of: 2001-01-01 + 10 years (2011-01-01) and the end + 3 years (2004-01-04)
    assert terms.disposal_due == date(2011, 1, 1)
    assert [d["id"] for d in model.contracts.disposal_due(today=TODAY)] == [cid]
    model.contracts.assert_disposable(cid, today=TODAY)
    hold = model.contracts.place_hold(cid, "诉讼保全", actor="local:legal")
    with pytest.raises(Conflict):
        model.contracts.assert_disposable(cid, today=TODAY)
    assert model.contracts.disposal_due(today=TODAY)[0]["held"] is True
    with pytest.raises(InvalidRequest):
        model.contracts.release_hold(cid, hold.id, " ", actor="local:legal")
    model.contracts.release_hold(cid, hold.id, "结案", actor="local:legal")
    model.contracts.assert_disposable(cid, today=TODAY)


def test_payments_and_the_receivables_queries(model: Archive) -> None:
    cid = ingest(model, ZH_SOFTWARE, customer="四川客户有限公司")
    other = ingest(model, ZH_CAR, customer="四川客户有限公司")
    model.contracts.confirm(
        cid,
        {"expiry_date": date(2026, 7, 15), "amount": Decimal("58000"), "currency": "CNY"},
        actor="local:a",
    )
    model.contracts.transition(cid, "active", actor="local:a")
    item = model.contracts.add_payment(
        cid, actor="local:a", due_date=date(2026, 3, 1), amount=Decimal("30000"), currency="CNY"
    )
    model.contracts.add_payment(
        cid, actor="local:a", due_date=date(2026, 12, 1), amount=Decimal("28000"), currency="CNY"
    )
    with pytest.raises(InvalidRequest):
        model.contracts.add_payment(
            cid,
            actor="local:a",
            due_date=date(2026, 3, 1),
            amount=Decimal("10"),
            paid_amount=Decimal("20"),
        )
    flt = model.contracts.contract_filter(overdue_payments=True, today=TODAY)
    assert [c.id for c in model.contracts.list_contracts(flt).items] == [cid]
    flt = model.contracts.contract_filter(expiring_within="60d", today=TODAY)
    assert [c.id for c in model.contracts.list_contracts(flt).items] == [cid]
    flt = model.contracts.contract_filter(expiring_within="30d", today=TODAY)
    assert model.contracts.list_contracts(flt).items == []
    model.contracts.record_payment(
        cid, item.id, paid_amount=Decimal("30000"), paid_date=date(2026, 5, 30), actor="local:a"
    )
    flt = model.contracts.contract_filter(overdue_payments=True, today=TODAY)
    assert model.contracts.list_contracts(flt).items == []
    view = model.contracts.customer_view("四川客户有限公司", today=TODAY)
    assert {c.id for c in view.contracts} == {cid, other}
    assert view.totals.contracts == 2
    assert [(m.currency, m.amount) for m in view.totals.outstanding] == [
        ("CNY", Decimal("28000.00"))
    ]
    with pytest.raises(InvalidRequest):
        model.contracts.contract_filter(expiring_within="soon")
    with pytest.raises(InvalidRequest):
        model.contracts.contract_filter(status="flying")


def test_expired_without_renewal(model: Archive) -> None:
    old = ingest(model, ZH_CAR, customer="续签客户")
    new = ingest(model, ZH_HOUSE, customer="续签客户")
    lone = ingest(model, ZH_SOFTWARE, customer="续签客户")
    for cid in (old, lone):
        model.contracts.confirm(cid, {"expiry_date": date(2026, 1, 1)}, actor="local:a")
        model.contracts.transition(cid, "active", actor="local:a")
        model.contracts.transition(cid, "expired", actor="local:a")
    model.contracts.confirm(new, {"master_id": old, "relation": "renewal"}, actor="local:a")
    flt = model.contracts.contract_filter(expired_unrenewed=True, today=TODAY)
    assert [c.id for c in model.contracts.list_contracts(flt).items] == [lone]
    assert model.contracts.customer_view("续签客户", today=TODAY).totals.expired_unrenewed == 1
    assert [r.id for r in model.contracts.view(old).related] == [new]
    with pytest.raises(InvalidRequest):
        model.contracts.confirm(old, {"master_id": new, "relation": "amendment"}, actor="local:a")


def test_scheme_is_versioned_and_editable(model: Archive) -> None:
    first = model.contracts.scheme()
    assert {c.code for c in first.codes} >= {"XS", "CG", "LD", "ZL", "FW", "BM", "JK", "GC"}
    assert next(c for c in first.codes if c.code == "LD").retention == "Y"
    changed = model.contracts.set_code(
        "HZ",
        name_zh="合作",
        name_en="cooperation",
        retention="D30",
        keywords=["合作协议"],
        actor="local:admin",
    )
    assert changed.version == first.version + 1
    assert model.contracts.scheme(first.version).version == first.version
    with pytest.raises(InvalidRequest):
        model.contracts.set_code(
            "H-Z", name_zh="x", name_en="x", retention="D30", keywords=[], actor="local:admin"
        )
    with pytest.raises(Conflict):
        model.contracts.retire_code("QT", actor="local:admin")
    retired = model.contracts.retire_code("HZ", actor="local:admin")
    assert "HZ" not in {c.code for c in retired.codes}
    with pytest.raises(NotFound):
        model.contracts.retire_code("HZ", actor="local:admin")


def test_customers_registration_and_merge(model: Archive) -> None:
    with pytest.raises(InvalidRequest):
        model.contracts.create_customer(
            "坏号码公司", registration_no="91110000600037341X", actor="local:a"
        )
    good = model.contracts.create_customer(
        "北京某某有限公司",
        registration_no="91350100M000100Y43",
        aliases=["北京某某"],
        actor="local:a",
    )
    assert good.registration_kind == "uscc"
    other = model.contracts.create_customer("Acme Corp.", registration_no="C-123", actor="local:a")
    assert other.registration_kind == "other"
    with pytest.raises(Conflict):
        model.contracts.create_customer("北京某某", actor="local:a")
    merged = model.contracts.merge_customers(good.id, other.id, actor="local:a")
    assert "Acme Corp." in merged.aliases
    with pytest.raises(NotFound):
        model.contracts.resolve_customer(other.id)
    assert model.contracts.resolve_customer("ACME corp").id == good.id
    assert isinstance(NotFound("x"), ArchiveError)


# --- reminders, calendar, import ------------------------------------------------------------
def test_reminder_job_moves_renews_reminds_and_never_repeats(model: Archive) -> None:
    from services.contracts.reminders import calendar, run_reminders

    auto = ingest(model, ZH_SOFTWARE, customer="提醒客户")
    manual = ingest(model, ZH_CAR, customer="提醒客户")
    ending = ingest(model, ZH_HOUSE, customer="提醒客户")
    model.contracts.confirm(
        auto,
        {
            "effective_date": date(2025, 1, 1),
            "expiry_date": date(2026, 5, 1),
            "renewal_type": "automatic",
            "renewal_term_months": 12,
            "notice_days": 30,
        },
        actor="local:a",
    )
    model.contracts.confirm(
        manual,
        {
            "effective_date": date(2025, 8, 1),
            "expiry_date": date(2026, 7, 31),
            "renewal_type": "manual",
            "notice_days": 30,
        },
        actor="local:a",
    )
    model.contracts.confirm(
        ending,
        {"effective_date": date(2025, 1, 1), "expiry_date": date(2026, 3, 31)},
        actor="local:a",
    )
    model.contracts.add_payment(
        ending, actor="local:a", due_date=date(2026, 4, 1), amount=Decimal("100"), currency="CNY"
    )
    result = run_reminders(model.contracts, today=TODAY)
    # automatic renewal rolled forward one term and recorded it
    assert model.contracts.view(auto).confirmed.expiry_date == date(2027, 5, 1)
    assert model.get(auto).status == "renewed"
    assert any(e.kind == "auto_renewal" for e in model.contracts.events(auto))
    assert result.renewed == [f"{auto}: 2026-05-01 → 2027-05-01"]
    # manual: 60 days left, within the 60-day tier; the notice deadline (2026-07-01) at 30
    assert model.get(manual).status == "expiring"
    kinds = {(r.contract_id, r.kind, r.tier_days) for r in result.reminders}
    assert (manual, "expiry", 60) in kinds
    assert (manual, "notice", 30) in kinds
    # the one that ended: expired, 到期未续签, and its unpaid receivable flagged
    assert model.get(ending).status == "expired"
    assert (ending, "expired_unrenewed", None) in kinds
    assert (ending, "payment_overdue", None) in kinds
    assert result.emailed == 0 and result.email_error is None  # no SMTP configured
    # a rerun the same day makes nothing new
    again = run_reminders(model.contracts, today=TODAY)
    assert again.reminders == [] and again.transitions == [] and again.renewed == []
    # the calendar feed has the expiries and the unpaid item, folded per RFC 5545
    ics = calendar(model.contracts)
    assert ics.startswith("BEGIN:VCALENDAR\r\n") and ics.endswith("END:VCALENDAR\r\n")
    assert "DTSTART;VALUE=DATE:20270501" in ics
    assert "DTSTART;VALUE=DATE:20260701" in ics  # the notice deadline
    assert all(len(line.encode()) <= 75 for line in ics.split("\r\n"))


def suggest_renewal(a: Archive, cid: int, sentence: str) -> int:
    """The renewal suggestion the English rules make of ``sentence``, as the contract's one
    open suggestion; its id."""
    from ingest.extraction import extract_terms
    from storage.records.terms_base import NewSuggestion

    (found,) = [
        f for f in extract_terms([sentence], title="agreement").found if f.field == "renewal"
    ]
    (saved,) = a.records.replace_suggestions(
        cid,
        [NewSuggestion(found.field, found.value, found.display, found.confidence, found.method)],
        version="test",
    )
    return saved.id


def test_accepting_a_renewal_suggestion_keeps_the_number_of_renewals(model: Archive) -> None:
    cid = ingest(model, ZH_CAR)
    two = suggest_renewal(
        model,
        cid,
        "This Agreement shall automatically renew for up to two additional one-year terms "
        "unless either party gives 60 days written notice of non-renewal.",
    )
    terms = model.contracts.accept_suggestion(cid, two, actor="local:a")
    assert (terms.renewal_type, terms.renewal_term_months, terms.notice_days) == (
        "automatic",
        12,
        60,
    )
    assert terms.renewal_max_count == 2 and terms.renewal_count is None
    assert model.contracts.view(cid).confirmed.renewal_max_count == 2
    recorded = [
        e for e in model.contracts.events(cid) if e.data.get("field") == "renewal_max_count"
    ]
    assert [(e.to_value, e.reason) for e in recorded] == [("2", f"accepted suggestion {two}")]
    # a text that renews without end: accepting it takes the limit away
    endless = suggest_renewal(
        model,
        cid,
        "This Agreement shall automatically renew for successive one-year periods unless either "
        "party gives 60 days written notice.",
    )
    assert (
        model.contracts.accept_suggestion(cid, endless, actor="local:a").renewal_max_count is None
    )
    # a person sets and corrects it with a reason; a value out of range is refused, not stored
    model.contracts.confirm(cid, {"renewal_max_count": 3}, actor="local:a", reason="原件第5条")
    for bad in (-1, 101, "two", 2.5, True):
        with pytest.raises(InvalidRequest, match="renewal_max_count must be a whole number"):
            model.contracts.confirm(cid, {"renewal_max_count": bad}, actor="local:a")
    with pytest.raises(InvalidRequest, match="renewal_count"):
        model.contracts.confirm(cid, {"renewal_count": 1000}, actor="local:a")
    assert model.contracts.view(cid).confirmed.renewal_max_count == 3
    last = [e for e in model.contracts.events(cid) if e.data.get("field") == "renewal_max_count"]
    assert (last[-1].kind, last[-1].to_value, last[-1].reason) == ("confirmed", "3", "原件第5条")


def test_an_automatic_renewal_renews_as_often_as_it_may_then_expires(model: Archive) -> None:
    from services.contracts.reminders import calendar, run_reminders

    twice = ingest(model, ZH_CAR, customer="续期客户")
    model.contracts.confirm(
        twice,
        {
            "effective_date": date(2024, 5, 1),
            "expiry_date": date(2025, 5, 1),
            "renewal_type": "automatic",
            "renewal_term_months": 12,
            "notice_days": 30,
            "renewal_max_count": 2,
        },
        actor="local:a",
    )
    first = run_reminders(model.contracts, today=date(2025, 6, 1))
    assert first.renewed == [f"{twice}: 2025-05-01 → 2026-05-01"]
    second = run_reminders(model.contracts, today=date(2026, 6, 1))
    assert second.renewed == [f"{twice}: 2026-05-01 → 2027-05-01"]
    terms = model.contracts.view(twice).confirmed
    assert (terms.expiry_date, terms.renewal_count) == (date(2027, 5, 1), 2)
    assert model.get(twice).status == "renewed"
    renewals = [e.reason for e in model.contracts.events(twice) if e.kind == "auto_renewal"]
    assert renewals == [
        "automatic renewal 1 of 2: expiry 2025-05-01 rolled forward 1 × 12 months to 2026-05-01",
        "automatic renewal 2 of 2: expiry 2026-05-01 rolled forward 1 × 12 months to 2027-05-01",
    ]
    # its renewals used up: reminded of as a contract that expires, no notice deadline to keep
    before = run_reminders(model.contracts, today=date(2027, 3, 1))
    assert model.get(twice).status == "expiring"
    mine = [r for r in before.reminders if r.contract_id == twice]
    assert [(r.kind, r.tier_days) for r in mine] == [("expiry", 90)]
    assert "expires on 2027-05-01" in mine[0].message
    ics = calendar(model.contracts)
    assert "DTSTART;VALUE=DATE:20270501" in ics and "DTSTART;VALUE=DATE:20270401" not in ics
    # and at its expiry it expires: not renewed a third time, 到期未续签
    after = run_reminders(model.contracts, today=date(2027, 6, 1))
    assert after.renewed == []
    assert model.get(twice).status == "expired"
    terms = model.contracts.view(twice).confirmed
    assert (terms.expiry_date, terms.ended_on, terms.renewal_count) == (
        date(2027, 5, 1),
        date(2027, 5, 1),
        2,
    )
    assert [r.kind for r in after.reminders if r.contract_id == twice] == ["expired_unrenewed"]
    assert run_reminders(model.contracts, today=date(2028, 6, 1)).renewed == []


def test_a_late_run_renews_no_more_than_the_limit_and_counts_unlimited_ones(
    model: Archive,
) -> None:
    from services.contracts.reminders import run_reminders

    limited = ingest(model, ZH_CAR)
    endless = ingest(model, ZH_HOUSE)
    start = {"effective_date": date(2022, 5, 1), "expiry_date": date(2023, 5, 1)}
    auto = {"renewal_type": "automatic", "renewal_term_months": 12}
    model.contracts.confirm(
        limited, {**start, **auto, "renewal_max_count": 3, "renewal_count": 1}, actor="local:a"
    )
    model.contracts.confirm(endless, {**start, **auto}, actor="local:a")
    # three years late (TODAY 2026-06-01): two renewals were left, then it expired
    result = run_reminders(model.contracts, today=TODAY)
    assert result.renewed == [
        f"{limited}: 2023-05-01 → 2025-05-01",
        f"{endless}: 2023-05-01 → 2027-05-01",
    ]
    assert f"{limited}: renewed → expired" in result.transitions
    done = model.contracts.view(limited).confirmed
    assert (done.renewal_count, done.ended_on, model.get(limited).status) == (
        3,
        date(2025, 5, 1),
        "expired",
    )
    # no limit stated: renews as before, and the renewals are counted
    going = model.contracts.view(endless).confirmed
    assert (going.expiry_date, going.renewal_count, going.renewal_max_count) == (
        date(2027, 5, 1),
        4,
        None,
    )
    assert model.get(endless).status == "renewed"


def test_reminders_are_mailed_through_smtp(model: Archive, tmp_path: Path) -> None:
    from services.contracts.reminders import run_reminders
    from tests.smtp_sink import SmtpSink

    cid = ingest(model, ZH_CAR)
    model.contracts.confirm(
        cid,
        {"effective_date": date(2025, 1, 1), "expiry_date": date(2026, 6, 20)},
        actor="local:a",
    )
    with SmtpSink() as sink:
        model.contracts.settings = model.settings.model_copy(
            update={
                "smtp_host": "127.0.0.1",
                "smtp_port": sink.port,
                "smtp_starttls": False,
                "reminder_email_to": "legal@example.com",
            }
        )
        result = run_reminders(model.contracts, today=TODAY)
    assert result.emailed == 1 and result.email_error is None
    assert len(sink.messages) == 1
    assert "legal@example.com" in sink.messages[0]["to"]
    assert "expires on 2026-06-20" in sink.messages[0]["body"]
    assert model.contracts.store.unsent_reminders() == []


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    import csv

    with open(path, "w", newline="", encoding="utf-8-sig") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_legacy_import_dry_run_errors_and_all_or_nothing(model: Archive, tmp_path: Path) -> None:
    import shutil

    from services.contracts.importer import import_metadata

    folder = tmp_path / "legacy"
    folder.mkdir()
    shutil.copy(ZH_CAR, folder / "car.pdf")
    shutil.copy(ZH_HOUSE, folder / "house.pdf")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4\nthis is not a PDF at all\n")
    good = [
        {
            "file": "car.pdf",
            "customer": "旧档客户有限公司",
            "classification": "XS",
            "amount": "120000",
            "sign_date": "2015-04-01",
            "expiry_date": "2016-03-31",
            "renewal_type": "automatic",
            "renewal_max_count": "3",
            "renewal_count": "1",
            "status": "archived",
            "archival_code": "Z001-HT·2015-D30-XS-0007",
            "paper_location": "档案室 3 柜 2 层",
        },
        {
            "file": "house.pdf",
            "customer": "旧档客户",
            "classification": "ZL",
            "sign_date": "2016-01-01",
            "status": "expired",
        },
    ]
    bad = [
        dict(good[0]),
        {**good[1], "sign_date": "2016-13-01", "classification": "NOPE"},
        {"file": "missing.pdf", "status": "flying"},
    ]
    report = import_metadata(model.contracts, write_csv(folder / "bad.csv", bad), dry_run=True)
    lines = {e.line: e.message for e in report.errors}
    assert set(lines) == {3, 4}, lines
    assert "NOPE" in lines[3] or "2016-13-01" in lines[3]
    assert "missing.pdf" in lines[4]
    too_many = [{**good[1], "renewal_max_count": "101"}]
    report = import_metadata(
        model.contracts, write_csv(folder / "many.csv", too_many), dry_run=True
    )
    assert [(e.line, e.message) for e in report.errors] == [
        (2, "renewal_max_count '101' is not a whole number from 0 to 100")
    ]
    assert model.records.count_contracts() == 0
    # a real run with a bad row writes nothing either
    report = import_metadata(model.contracts, folder / "bad.csv")
    assert not report.ok and model.records.count_contracts() == 0
    # a file the PDF reader refuses, after good rows: everything is taken back
    broken = [*good, {"file": "broken.pdf"}]
    report = import_metadata(model.contracts, write_csv(folder / "broken.csv", broken))
    assert not report.ok and report.errors[0].line == 4
    assert model.records.count_contracts() == 0
    assert model.contracts.list_customers().total == 0
    assert model.index.count() == 0
    # the good file imports, keeps its legacy archival code, and the series goes on after it
    report = import_metadata(model.contracts, write_csv(folder / "good.csv", good))
    assert report.ok and len(report.imported) == 2
    assert report.filed == ["Z001-HT·2015-D30-XS-0007"]
    first = model.contracts.view(report.imported[0])
    assert first.status == "archived"
    assert first.confirmed.paper_location == "档案室 3 柜 2 层"
    assert (first.confirmed.renewal_max_count, first.confirmed.renewal_count) == (3, 1)
    assert model.contracts.view(report.imported[1]).confirmed.customer_id == (
        first.confirmed.customer_id
    )
    nxt = ingest(model, ZH_SOFTWARE)
    model.contracts.confirm(
        nxt, {"classification": "XS", "sign_date": date(2015, 6, 1)}, actor="local:a"
    )
    assert model.contracts.file(nxt, actor="local:a").archival_code == "Z001-HT·2015-D30-XS-0008"
    # importing the same code again is refused before anything is written
    again = import_metadata(model.contracts, write_csv(folder / "again.csv", [good[0]]))
    assert not again.ok and "belongs to contract" in again.errors[0].message


def test_classifier_training_and_reextraction_keep_decisions(model: Archive) -> None:
    ids = [ingest(model, p) for p in (ZH_SOFTWARE, ZH_CAR, ZH_HOUSE)]
    with pytest.raises(Conflict):  # nothing confirmed yet
        model.contracts.train_classifier(actor="local:a")
    for cid, code in zip(ids, ("JS", "XS", "XS"), strict=True):
        model.contracts.confirm(cid, {"classification": code}, actor="local:a")
    trained = model.contracts.train_classifier(actor="local:a")
    assert trained.examples == 3 and trained.labels == ["JS", "XS"]
    assert trained.in_use is False  # fewer than ARCHIVE_CLASSIFIER_MIN_EXAMPLES
    assert model.contracts.classifier() == trained
    # new text (OCR) re-runs extraction: open suggestions are replaced, decisions are kept
    view = model.contracts.view(ids[0])
    amount = view.suggested["amount"][0]
    model.contracts.reject_suggestion(ids[0], amount.id, actor="local:a")
    model.package_changed(ids[0])
    again = model.contracts.view(ids[0])
    assert [s.state for s in again.suggested["amount"] if s.id == amount.id] == ["rejected"]
    assert again.confirmed.classification == "JS"
    assert model.get(ids[0]).classification == "JS"
