"""``contract-archive import metadata.csv``: legacy (paper) archives, one row per file.

The CSV is UTF-8 (a BOM is allowed) with a header row. Columns (only ``file`` is required;
unknown columns are an error, so a typo is not silently dropped):

========================  ====================================================================
file                      the scan or PDF, relative to the CSV's folder (or absolute)
title                     the title (default: the file name)
customer                  the counterparty, matched to a customer (created when new)
registration_no           the customer's 统一社会信用代码 or foreign number (new customers)
contract_no               合同编号
classification            a code of the current scheme (XS, CG, ...)
amount, currency          e.g. ``58000.00`` and ``CNY`` (currency defaults to CNY)
sign_date, effective_date, expiry_date
                          ``YYYY-MM-DD``
renewal_type              automatic, manual or none
renewal_term_months, notice_days
                          whole numbers
renewal_max_count         how many times it may renew (0 to 100; empty: no limit)
renewal_count             how many times it has renewed already (0 to 100)
owner, department, paper_location
                          free text (paper_location: where the paper original is kept)
status                    the lifecycle state to record (default: signed)
archival_code             a legacy 档号 ``全宗号-HT·年度-保管期限-分类-件号``, kept as it was
retention                 Y, D30 or D10 (a filed contract's default: its code's retention)
========================  ====================================================================

Every row is checked before anything is written. A dry run (``--dry-run``) reports every bad
row and writes nothing; a real run with a bad row writes nothing either. If a file is then
refused while archiving (a damaged PDF), or any later step fails, every contract and customer
this run created is removed again: nothing is half-imported.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import ArchiveError, InvalidRequest
from core.names import name_key
from core.rules import (
    CURRENCIES,
    FILABLE_STATES,
    MAX_RENEWALS,
    RENEWAL_TYPES,
    RETENTIONS,
    STATES,
)
from ingest.extraction.numbers import MAX_AMOUNT, bounded_amount
from ingest.linking import link_customer

if TYPE_CHECKING:
    from services.contracts.service import ContractService

COLUMNS = (
    "file",
    "title",
    "customer",
    "registration_no",
    "contract_no",
    "classification",
    "amount",
    "currency",
    "sign_date",
    "effective_date",
    "expiry_date",
    "renewal_type",
    "renewal_term_months",
    "renewal_max_count",
    "renewal_count",
    "notice_days",
    "owner",
    "department",
    "paper_location",
    "status",
    "archival_code",
    "retention",
)
MAX_ROWS = 100_000
ARCHIVAL_CODE = re.compile(
    r"^(?P<fonds>[0-9A-Za-z]+)-HT·(?P<year>\d{4})-(?P<retention>Y|D30|D10)-"
    r"(?P<code>[0-9A-Za-z]+)-(?P<item>\d{1,6})$"
)
ACTOR = "import:legacy"


@dataclass
class ImportRow:
    line: int
    path: Path
    title: str | None
    customer: str | None
    registration_no: str | None
    terms: dict[str, Any]
    status: str
    filing: dict[str, Any] | None


@dataclass
class RowError:
    line: int
    message: str


@dataclass
class ImportReport:
    rows: int
    dry_run: bool
    errors: list[RowError] = field(default_factory=list)
    imported: list[int] = field(default_factory=list)
    filed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def _date(value: str, column: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidRequest(f"{column} {value!r} is not a date (YYYY-MM-DD)") from None


def _int(value: str, column: str, low: int, high: int) -> int:
    if not value.isdigit() or not low <= int(value) <= high:
        raise InvalidRequest(f"{column} {value!r} is not a whole number from {low} to {high}")
    return int(value)


def parse_rows(service: ContractService, csv_path: Path) -> tuple[list[ImportRow], ImportReport]:
    try:
        raw = csv_path.read_bytes()
    except OSError as exc:
        raise InvalidRequest(f"cannot read {csv_path}: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidRequest(
            f"{csv_path} is not UTF-8", hint="save the sheet as CSV UTF-8"
        ) from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in (reader.fieldnames or [])]
    if "file" not in header:
        raise InvalidRequest(
            f"{csv_path} has no `file` column", hint="columns: " + ", ".join(COLUMNS)
        )
    unknown = [h for h in header if h not in COLUMNS]
    if unknown:
        raise InvalidRequest(
            f"unknown column(s): {', '.join(unknown)}", hint="columns: " + ", ".join(COLUMNS)
        )
    reader.fieldnames = header
    scheme = service.store.current_scheme()
    base = csv_path.parent
    rows: list[ImportRow] = []
    report = ImportReport(rows=0, dry_run=False)
    seen_files: dict[Path, int] = {}
    seen_codes: dict[str, int] = {}
    for number, record in enumerate(reader, start=2):
        if number - 1 > MAX_ROWS:
            raise InvalidRequest(f"more than {MAX_ROWS} rows; split the file")
        if None in record:
            report.errors.append(RowError(number, "more cells than columns"))
            continue
        values = {k: (v or "").strip() for k, v in record.items()}
        if not any(values.values()):
            continue
        report.rows += 1
        try:
            rows.append(_row(service, number, values, base, scheme, seen_files, seen_codes))
        except InvalidRequest as exc:
            report.errors.append(RowError(number, exc.message))
    return rows, report


def _row(
    service: ContractService,
    line: int,
    v: dict[str, str],
    base: Path,
    scheme: Any,
    seen_files: dict[Path, int],
    seen_codes: dict[str, int],
) -> ImportRow:
    if not v.get("file"):
        raise InvalidRequest("file is empty")
    path = Path(v["file"])
    path = (path if path.is_absolute() else base / path).resolve()
    if not path.is_file():
        raise InvalidRequest(f"file {v['file']!r} does not exist")
    if path in seen_files:
        raise InvalidRequest(f"file {v['file']!r} is named on line {seen_files[path]} already")
    seen_files[path] = line
    terms: dict[str, Any] = {}
    for column in ("contract_no", "owner", "department", "paper_location"):
        if v.get(column):
            terms[column] = v[column]
    if v.get("classification"):
        code = v["classification"].upper()
        if scheme.get(code) is None:
            raise InvalidRequest(
                f"classification {code} is not in the scheme (version {scheme.version})"
            )
        terms["classification"] = code
    if v.get("amount"):
        try:
            amount = Decimal(v["amount"].replace(",", ""))
        except InvalidOperation:
            raise InvalidRequest(f"amount {v['amount']!r} is not a number") from None
        if not amount.is_finite():
            raise InvalidRequest(f"amount {v['amount']!r} is not a number")
        if amount < 0:
            raise InvalidRequest(f"amount {v['amount']!r} is negative")
        bounded = bounded_amount(amount)
        if bounded is None:
            raise InvalidRequest(
                f"amount {v['amount']!r} is too large", hint=f"at most {MAX_AMOUNT}"
            )
        terms["amount"] = bounded
        terms["currency"] = (v.get("currency") or "CNY").upper()
    elif v.get("currency"):
        raise InvalidRequest("currency is given without an amount")
    if terms.get("currency") and terms["currency"] not in CURRENCIES:
        raise InvalidRequest(
            f"currency {terms['currency']!r} is not one of {', '.join(CURRENCIES)}"
        )
    for column in ("sign_date", "effective_date", "expiry_date"):
        if v.get(column):
            terms[column] = _date(v[column], column)
    start = terms.get("effective_date") or terms.get("sign_date")
    if start and terms.get("expiry_date") and terms["expiry_date"] < start:
        raise InvalidRequest("expiry_date is before the effective or signing date")
    if v.get("renewal_type"):
        if v["renewal_type"] not in RENEWAL_TYPES:
            raise InvalidRequest(f"renewal_type must be one of {', '.join(RENEWAL_TYPES)}")
        terms["renewal_type"] = v["renewal_type"]
    if v.get("renewal_term_months"):
        terms["renewal_term_months"] = _int(
            v["renewal_term_months"], "renewal_term_months", 1, 1200
        )
    if v.get("notice_days"):
        terms["notice_days"] = _int(v["notice_days"], "notice_days", 0, 3650)
    for column in ("renewal_max_count", "renewal_count"):
        if v.get(column):
            terms[column] = _int(v[column], column, 0, MAX_RENEWALS)
    if v.get("retention"):
        if v["retention"] not in RETENTIONS:
            raise InvalidRequest(f"retention must be one of {', '.join(RETENTIONS)}")
        terms["retention"] = v["retention"]
    status = v.get("status") or "signed"
    if status not in STATES:
        raise InvalidRequest(f"status {status!r} is not one of {', '.join(STATES)}")
    filing = None
    if v.get("archival_code"):
        m = ARCHIVAL_CODE.match(v["archival_code"])
        if m is None:
            raise InvalidRequest(
                f"archival_code {v['archival_code']!r} is not 全宗号-HT·年度-保管期限-分类-件号"
            )
        code = m["code"].upper()
        if terms.get("classification", code) != code:
            raise InvalidRequest("archival_code and classification name different codes")
        if terms.get("retention", m["retention"]) != m["retention"]:
            raise InvalidRequest("archival_code and retention name different retentions")
        if scheme.get(code) is None:
            raise InvalidRequest(f"the archival code's class {code} is not in the scheme")
        if status not in FILABLE_STATES:
            raise InvalidRequest(f"a contract that is {status} cannot have an archival code")
        normal = f"{m['fonds']}-HT·{m['year']}-{m['retention']}-{code}-{int(m['item']):04d}"
        if normal in seen_codes:
            raise InvalidRequest(f"archival_code {normal} is on line {seen_codes[normal]} already")
        seen_codes[normal] = line
        owner = service.store.find_archival_code(normal)
        if owner is not None:
            raise InvalidRequest(f"archival_code {normal} belongs to contract {owner} already")
        terms["classification"] = code
        filing = {
            "fonds_code": m["fonds"],
            "year": int(m["year"]),
            "retention": m["retention"],
            "item_no": int(m["item"]),
        }
    if status == "archived" and filing is None and "classification" not in terms:
        raise InvalidRequest("an archived contract needs an archival_code or a classification")
    if v.get("registration_no"):
        service._registration(v["registration_no"])  # validates the check digit
    return ImportRow(
        line=line,
        path=path,
        title=v.get("title") or None,
        customer=v.get("customer") or None,
        registration_no=v.get("registration_no") or None,
        terms=terms,
        status=status,
        filing=filing,
    )


def import_metadata(
    service: ContractService,
    csv_path: Path,
    *,
    dry_run: bool = False,
    actor: str = ACTOR,
    may_see: Callable[[int], bool] = lambda contract_id: True,
) -> ImportReport:
    """``actor``: who the history records (the acting user; the default names the import).
    ``may_see``: whether the caller may see a contract, so that a file archived already as a
    contract of a class they are not cleared for is not named."""
    rows, report = parse_rows(service, csv_path)
    report.dry_run = dry_run
    if dry_run or report.errors:
        return report
    archive = service.archive
    created_contracts: list[int] = []
    created_customers: list[int] = []
    current: ImportRow | None = None
    try:
        for row in rows:
            current = row
            result = archive.ingest_path(
                row.path, title=row.title, user=actor, display_name=str(row.path)
            )
            if result.status == "archived" and result.id is not None:
                created_contracts.append(result.id)
            elif result.status == "duplicate":
                if result.id is not None and may_see(result.id):
                    raise InvalidRequest(f"the file is archived already as contract {result.id}")
                raise InvalidRequest("the file is archived already, as a contract you may not see")
            else:
                raise InvalidRequest(f"the file was {result.status}: {result.reason}")
            contract_id = result.id
            if row.customer:
                if (
                    row.registration_no
                    and service.store.find_customer(name_key(row.customer)) is None
                ):
                    customer = service.create_customer(
                        row.customer, registration_no=row.registration_no, actor=actor
                    )
                    created_customers.append(customer.id)
                linked = link_customer(service.store, contract_id, row.customer, actor=actor)
                if linked.created and linked.customer_id is not None:
                    created_customers.append(linked.customer_id)
            if row.terms:
                service.confirm(contract_id, row.terms, actor=actor, reason="legacy import")
            report.imported.append(contract_id)
        # Filing last, once every file is in: a legacy code moves its series' counter on,
        # and a counter is never moved back.
        for row, contract_id in zip(rows, report.imported, strict=True):
            current = row
            if row.filing is not None:
                terms = service.file(contract_id, actor=actor, **row.filing)
                assert terms.archival_code is not None
                report.filed.append(terms.archival_code)
            if row.status != "signed":
                service.transition(
                    contract_id,
                    row.status,
                    actor=actor,
                    force=True,
                    reason="legacy import: the state recorded on paper",
                    kind="imported",
                )
    except ArchiveError as exc:
        line = current.line if current else 0
        report.errors.append(RowError(line, exc.message))
        for contract_id in reversed(created_contracts):
            archive.remove(contract_id)
        for customer_id in created_customers:
            service.store.delete_customer_if_unused(customer_id)
        report.imported = []
        report.filed = []
    return report
