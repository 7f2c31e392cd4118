"""四性检测 at filing: the four-properties check of DA/T 70 (文书类电子档案检测一般要求) as far as
it applies to a contract's evidence package (issue 13).

When a contract is filed (its 档号 assigned), :meth:`FourProps.check` looks at the package:

- **authenticity (真实性)**: the stored files' digests equal the sealed manifest's, the archive
  seal is valid, its timestamp too, the verdicts on the signatures inside the original, and the
  record agrees with the manifest whose chain of versions is unbroken (:mod:`signing.verify`);
- **integrity (完整性)**: every file of the package is present, and the metadata the scheme's
  filing needs is complete (title, classification of the current scheme, fonds code, year,
  retention; the counterparty and the date the contract was formed are recommended);
- **usability (可用性)**: the file's format is identified by its bytes, the PDF opens and its
  first page renders (pdfium, in the killable worker), its text is extractable or OCR'd;
- **security (安全性)**: a virus scan with ClamAV (no signatures: INDETERMINATE, never PASSED),
  no JavaScript or launch actions in the PDF, access restricted as the class requires.

Each item is PASSED, FAILED or INDETERMINATE with its reason; a property is the worst of its
items, the report the worst of all. Filing refuses a package with a FAILED item unless forced
with a reason. The report is stored in the package as ``fourprops.json`` (write-once), so the
manifest version filing issues lists and seals it; the ``fourprops`` event of the contract's
history records the outcome, the report's SHA-256 and a forcing reason.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import ArchiveError, FourPropsFailed, NotFound
from core.plural import count
from ingest.errors import RejectFile
from ingest.formats import detect
from ingest.fourprops_probe import probe_pdf, scan_viruses, scan_viruses_clamd
from signing.canonical import canonical_json
from signing.report import (
    CHAIN,
    DERIVED,
    EMBEDDED,
    ORIGINAL,
    RECORD,
    SEAL_CERTIFICATE,
    SEAL_SIGNATURE,
    TIMESTAMP,
    Check,
    Status,
    worst,
)
from signing.verify import verify_contract
from storage.objects.base import FOURPROPS_NAME, RENDITION_NAME, package_key
from storage.records.base import ContractRecord
from storage.records.terms_base import TermsRecord
from storage.records.unit import on_rollback

if TYPE_CHECKING:
    from services.archive import Archive

SCHEMA = "contract-archive/fourprops/1"
STANDARD = (
    "DA/T 70 文书类电子档案检测一般要求 (four properties, as they apply to a contract package)"
)
PROPERTIES = (
    ("authenticity", "真实性", "Authenticity"),
    ("integrity", "完整性", "Integrity"),
    ("usability", "可用性", "Usability"),
    ("security", "安全性", "Security"),
)
TITLES = {
    "digests": "the stored files' SHA-256 and SM3 equal the sealed manifest's",
    "seal": "the archive seal over the manifest is valid and its certificate trusted",
    "timestamp": "the seal's timestamp is valid",
    "embedded_signatures": "the verdicts on the signatures inside the original",
    "metadata_consistency": "the record agrees with the manifest, whose versions form an "
    "unbroken chain",
    "package_files": "every file of the package is present",
    "metadata_complete": "the metadata the classification scheme's filing needs is complete",
    "format": "the file's format is identified by its bytes",
    "renders": "the PDF opens and its first page renders",
    "text": "the text is extractable or OCR'd",
    "virus_scan": "a virus scan (ClamAV) finds nothing",
    "active_content": "no JavaScript or launch actions in the PDF",
    "access": "access is restricted as the class requires",
}
EVENT_KIND = "fourprops"


@dataclass(frozen=True)
class FilingPlan:
    """What filing is about to give the contract (the metadata the check looks at)."""

    fonds_code: str
    archival_year: int
    retention: str
    classification: str


def _item(item_id: str, status: Status, reason: str, **details: Any) -> dict[str, Any]:
    return {
        "id": item_id,
        "title": TITLES[item_id],
        "status": status.value,
        "reason": reason,
        "details": details,
    }


def _merge(item_id: str, checks: list[Check]) -> dict[str, Any]:
    """One item from verification checks: the worst status, the reasons of those that are."""
    status = worst(c.status for c in checks)
    reasons = [f"{c.id}: {c.reason}" for c in checks if c.status is status]
    return _item(item_id, status, "; ".join(reasons), checks=[c.id for c in checks])


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def overall(report: Mapping[str, Any]) -> Status:
    return worst(Status(p["status"]) for p in report.get("properties") or [])


def failed_items(report: Mapping[str, Any]) -> list[str]:
    return [
        f"{p['id']}/{i['id']}: {i['reason']}"
        for p in report.get("properties") or []
        for i in p.get("items") or []
        if i.get("status") == Status.FAILED.value
    ]


class FourProps:
    """The check, storing its report in the package, and reading it back."""

    def __init__(self, archive: Archive) -> None:
        self.archive = archive
        self.settings = archive.settings

    # -- the check --------------------------------------------------------------------------
    def check(
        self,
        record: ContractRecord,
        terms: TermsRecord,
        plan: FilingPlan,
        *,
        actor: str,
    ) -> dict[str, Any]:
        records = self.archive.records
        restrictions: Mapping[str, frozenset[str]] = records.access_store().restrictions()
        in_scheme = records.current_scheme().get(plan.classification) is not None
        verification = verify_contract(self.archive.seal, record)
        folder = Path(
            tempfile.mkdtemp(prefix="fourprops-", dir=self._tmp())
        )  # the files as the scanner and the probe see them
        try:
            spooled = self._spool(record, folder)
            pdf = spooled.get(RENDITION_NAME) or (
                spooled.get("original") if record.content_type == "application/pdf" else None
            )
            probe = self._probe(pdf) if pdf is not None else None
            scan = (
                scan_viruses_clamd(
                    self.settings.clamav_socket, folder, self.settings.clamav_timeout_seconds
                )
                if self.settings.clamav_socket
                else scan_viruses(
                    self.settings.clamav_program,
                    self.settings.clamav_database,
                    folder,
                    self.settings.clamav_timeout_seconds,
                )
            )
            authenticity = self._authenticity(verification.checks)
            integrity = self._integrity(record, terms, plan, in_scheme)
            usability = self._usability(record, spooled.get("original"), probe)
            security = self._security(record, terms, plan, probe, scan, restrictions)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        properties = []
        for (prop_id, zh, en), items in zip(
            PROPERTIES, (authenticity, integrity, usability, security), strict=True
        ):
            properties.append(
                {
                    "id": prop_id,
                    "name_zh": zh,
                    "name_en": en,
                    "status": worst(Status(i["status"]) for i in items).value,
                    "items": items,
                }
            )
        report: dict[str, Any] = {
            "schema": SCHEMA,
            "standard": STANDARD,
            "contract_id": record.id,
            "package": record.sha256,
            "manifest_version": verification.manifest_version,
            "checked_at": _now(),
            "checked_by": actor,
            "filing": {
                "fonds_code": plan.fonds_code,
                "archival_year": plan.archival_year,
                "retention": plan.retention,
                "classification": plan.classification,
                "archival_code": None,
            },
            "properties": properties,
            "forced": None,
        }
        report["overall"] = overall(report).value
        return report

    def _tmp(self) -> Path:
        self.settings.tmp_dir.mkdir(parents=True, exist_ok=True)
        return self.settings.tmp_dir

    def _spool(self, record: ContractRecord, folder: Path) -> dict[str, Path]:
        """The original (and the PDF rendition of an original that is not a PDF), copied out
        of the object store; a file that cannot be read is left out (integrity names it)."""
        out: dict[str, Path] = {}
        for name in ("original", RENDITION_NAME):
            key = package_key(record.sha256, name)
            if name == RENDITION_NAME and record.content_type == "application/pdf":
                continue
            try:
                with self.archive.objects.open(key) as src, open(folder / name, "xb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
            except (ArchiveError, OSError):
                (folder / name).unlink(missing_ok=True)
                continue
            out[name] = folder / name
        return out

    def _probe(self, path: Path) -> dict[str, Any]:
        try:
            result: dict[str, Any] = self.archive.run_isolated(probe_pdf, path, what="the PDF")
        except RejectFile as exc:
            return {"worker_error": exc.message}
        return result

    # -- 真实性 ------------------------------------------------------------------------------
    def _authenticity(self, checks: tuple[Check, ...]) -> list[dict[str, Any]]:
        by_id = {c.id: c for c in checks}

        def pick(*ids: str) -> list[Check]:
            return [by_id[i] for i in ids if i in by_id]

        return [
            _merge("digests", pick(ORIGINAL, DERIVED)),
            _merge("seal", pick(SEAL_SIGNATURE, SEAL_CERTIFICATE)),
            _merge("timestamp", pick(TIMESTAMP)),
            _merge("embedded_signatures", pick(EMBEDDED)),
            _merge("metadata_consistency", pick(RECORD, CHAIN)),
        ]

    # -- 完整性 ------------------------------------------------------------------------------
    def _integrity(
        self,
        record: ContractRecord,
        terms: TermsRecord,
        plan: FilingPlan,
        in_scheme: bool,
    ) -> list[dict[str, Any]]:
        seal = self.archive.seal
        present = set(seal.package_files(record.sha256))
        latest = seal.latest_manifest(record)
        listed = (
            [str(f.get("name")) for f in latest[1].get("files") or [] if isinstance(f, dict)]
            if latest is not None
            else []
        )
        needed = {"original", record.text_key.rsplit("/", 1)[-1], *listed}
        if record.content_type != "application/pdf":
            needed.add(RENDITION_NAME)  # what pages, text and OCR of any other original read
        missing = sorted(n for n in needed if n not in present)
        if latest is None:
            files = _item(
                "package_files",
                Status.INDETERMINATE if not missing else Status.FAILED,
                "the package has no readable manifest listing its files"
                + (f"; missing: {', '.join(missing)}" if missing else ""),
                present=sorted(present),
            )
        elif missing:
            files = _item(
                "package_files",
                Status.FAILED,
                f"missing from the package: {', '.join(missing)}",
                missing=missing,
                present=sorted(present),
            )
        else:
            files = _item(
                "package_files",
                Status.PASSED,
                f"all {count(len(needed), 'files')} the manifest v{latest[0].version} lists "
                "are present",
                files=sorted(needed),
            )
        lacking = []
        if not (record.title or "").strip():
            lacking.append("title (题名)")
        if not in_scheme:
            lacking.append(f"classification {plan.classification} in the current scheme")
        if not plan.fonds_code:
            lacking.append("fonds code (全宗号)")
        if not plan.retention:
            lacking.append("retention (保管期限)")
        if not plan.archival_year:
            lacking.append("year (年度)")
        recommended = []
        if not (terms.customer_id or record.customer or terms.parties):
            recommended.append("counterparty (责任者: customer or parties)")
        if not (terms.sign_date or terms.effective_date):
            recommended.append("date formed (sign or effective date)")
        if lacking:
            meta = _item(
                "metadata_complete",
                Status.FAILED,
                "missing: " + ", ".join(lacking),
                missing=lacking,
                recommended_missing=recommended,
            )
        elif recommended:
            meta = _item(
                "metadata_complete",
                Status.INDETERMINATE,
                "the filing metadata is complete; recommended but missing: "
                + ", ".join(recommended),
                recommended_missing=recommended,
            )
        else:
            meta = _item(
                "metadata_complete",
                Status.PASSED,
                "title, classification, fonds code, year, retention, counterparty and date "
                "formed are recorded",
            )
        return [files, meta]

    # -- 可用性 ------------------------------------------------------------------------------
    def _usability(
        self, record: ContractRecord, original: Path | None, probe: dict[str, Any] | None
    ) -> list[dict[str, Any]]:
        if original is None:
            fmt_item = _item("format", Status.FAILED, "the original cannot be read from storage")
        else:
            try:
                fmt = detect(original)
            except OSError as exc:
                fmt = None
                why = str(exc)
            if fmt is None:
                fmt_item = _item("format", Status.INDETERMINATE, f"cannot be read: {why}")
            elif fmt.content_type == record.content_type:
                fmt_item = _item(
                    "format",
                    Status.PASSED,
                    f"{fmt.label} ({fmt.content_type}), as recorded",
                    content_type=fmt.content_type,
                )
            else:
                fmt_item = _item(
                    "format",
                    Status.FAILED,
                    f"the bytes are {fmt.label} ({fmt.content_type}) but the record says "
                    f"{record.content_type}",
                    content_type=fmt.content_type,
                    recorded=record.content_type,
                )
        if probe is None:
            render = _item(
                "renders",
                Status.FAILED if record.content_type == "application/pdf" else Status.INDETERMINATE,
                "there is no PDF to render (the original"
                + (
                    " cannot be read)"
                    if record.content_type == "application/pdf"
                    else f" is {record.content_type} and has no PDF rendition)"
                ),
            )
        elif "worker_error" in probe:
            render = _item("renders", Status.FAILED, str(probe["worker_error"]))
        elif probe.get("renders"):
            size = probe.get("rendered") or {}
            render = _item(
                "renders",
                Status.PASSED,
                f"opens ({count(int(probe.get('pages') or 0), 'pages')}) and page 1 renders "
                f"({size.get('width')}x{size.get('height')} px at 36 dpi)",
                pages=probe.get("pages"),
            )
        else:
            render = _item(
                "renders",
                Status.FAILED,
                str(probe.get("render_error") or "the PDF does not render"),
                pypdf_error=probe.get("pypdf_error"),
            )
        pages = record.pages
        waiting = [p.page_no for p in pages if p.needs_ocr and p.ocr_status != "failed"]
        failed_ocr = [p.page_no for p in pages if p.ocr_status == "failed"]
        without = [p.page_no for p in pages if p.text_source == "none" and not p.needs_ocr]
        if not pages:
            text = _item(
                "text",
                Status.INDETERMINATE,
                "no pages were read from the file (see its warnings), so no text is known",
            )
        elif waiting or failed_ocr or without:
            parts = []
            if waiting:
                parts.append(
                    f"{_page_word(waiting)} {_pages(waiting)} "
                    f"{'awaits' if len(waiting) == 1 else 'await'} OCR"
                )
            if failed_ocr:
                parts.append(f"OCR failed on {_page_word(failed_ocr)} {_pages(failed_ocr)}")
            if without:
                parts.append(
                    f"{_page_word(without)} {_pages(without)} "
                    f"{'has' if len(without) == 1 else 'have'} no text"
                )
            text = _item(
                "text",
                Status.INDETERMINATE,
                "; ".join(parts),
                awaiting_ocr=waiting,
                ocr_failed=failed_ocr,
                no_text=without,
            )
        else:
            ocr = sum(1 for p in pages if p.text_source == "ocr")
            text = _item(
                "text",
                Status.PASSED,
                f"text on all {count(len(pages), 'pages')}" + (f" ({ocr} by OCR)" if ocr else ""),
            )
        return [fmt_item, render, text]

    # -- 安全性 ------------------------------------------------------------------------------
    def _security(
        self,
        record: ContractRecord,
        terms: TermsRecord,
        plan: FilingPlan,
        probe: dict[str, Any] | None,
        scan: dict[str, Any],
        restrictions: Mapping[str, frozenset[str]],
    ) -> list[dict[str, Any]]:
        tool = {k: scan.get(k) for k in ("program", "database", "engine", "signatures")}
        if scan["outcome"] == "found":
            found = "; ".join(f"{f['file']}: {f['signature']}" for f in scan["found"])
            virus = _item(
                "virus_scan", Status.FAILED, f"ClamAV found {found}", found=scan["found"], **tool
            )
        elif scan["outcome"] == "clean":
            virus = _item(
                "virus_scan",
                Status.PASSED,
                f"ClamAV {scan.get('engine') or ''} with "
                f"{count(int(scan.get('signatures') or 0), 'signatures')} "
                "found nothing in the original"
                + (" and its rendition" if record.content_type != "application/pdf" else ""),
                **tool,
            )
        else:
            virus = _item("virus_scan", Status.INDETERMINATE, str(scan["reason"]), **tool)

        if record.content_type.startswith("image/"):
            active = _item(
                "active_content", Status.PASSED, "an image original carries no active content"
            )
        elif probe is None or "worker_error" in probe or not probe.get("pypdf_opens"):
            why = (
                (probe or {}).get("worker_error")
                or (probe or {}).get("pypdf_error")
                or "there is no PDF"
            )
            active = _item(
                "active_content", Status.INDETERMINATE, f"the PDF cannot be looked into: {why}"
            )
        elif probe.get("active_content"):
            active = _item(
                "active_content",
                Status.FAILED,
                "; ".join(probe["active_content"]),
                found=probe["active_content"],
            )
        elif record.content_type != "application/pdf":
            active = _item(
                "active_content",
                Status.INDETERMINATE,
                f"the PDF rendition has none; the {record.content_type} original itself "
                "(macros, scripts) is not looked into",
            )
        else:
            active = _item(
                "active_content",
                Status.PASSED,
                "no JavaScript, no launch actions (document, pages, annotations)",
            )

        code = plan.classification
        groups = restrictions.get(code)
        seen_as = record.classification
        if seen_as != code and (restrictions.get(seen_as or "") or groups):
            access = _item(
                "access",
                Status.FAILED,
                f"the record is classified {seen_as} but filed as {code}: the restriction of "
                "the class would not apply to it",
                record_classification=seen_as,
                classification=code,
            )
        elif groups:
            access = _item(
                "access",
                Status.PASSED,
                f"class {code} is restricted: only members of {', '.join(sorted(groups))} (and "
                "holders of a 借阅 grant) see it",
                groups=sorted(groups),
            )
        else:
            access = _item(
                "access",
                Status.PASSED,
                f"class {code} is not restricted: it is open to every user allowed to view "
                "contracts, as the class requires",
            )
        return [virus, active, access]

    # -- storing and reading ------------------------------------------------------------------
    def store(self, record: ContractRecord, report: dict[str, Any]) -> str:
        """Write the report into the package (write-once; inside a unit of work, taken back
        if the unit rolls back) and return its SHA-256."""
        data = canonical_json(report)
        digest = hashlib.sha256(data).hexdigest()
        key = package_key(record.sha256, FOURPROPS_NAME)
        objects = self.archive.objects
        if objects.exists(key):
            # Left by a filing that never committed (a crash between the write and the
            # rollback): nothing refers to it while the contract is unfiled.
            objects.delete(key)
        put = objects.put(key, io.BytesIO(data), sha256=digest, content_type="application/json")
        if put.created:
            on_rollback(lambda: self._take_back(key))
        return digest

    def _take_back(self, key: str) -> None:
        try:
            self.archive.objects.delete(key)
        except ArchiveError:
            pass

    def load(self, record: ContractRecord) -> dict[str, Any]:
        key = package_key(record.sha256, FOURPROPS_NAME)
        try:
            with self.archive.objects.open(key) as fh:
                data = fh.read()
        except NotFound:
            raise NotFound(
                f"contract {record.id} has no 四性检测 report: it is made when the contract "
                "is filed",
                hint=f"contract-archive contract file {record.id}",
            ) from None
        try:
            value: dict[str, Any] = json.loads(data)
        except ValueError as exc:
            raise ArchiveError(
                f"the 四性检测 report of contract {record.id} is damaged ({exc})",
                hint=f"run `contract-archive verify {record.id}`",
            ) from exc
        value["sha256"] = digest = hashlib.sha256(data).hexdigest()
        value["file"] = FOURPROPS_NAME
        value["sealed_in"] = None
        latest = self.archive.seal.latest_manifest(record)
        if latest is not None:
            for entry in latest[1].get("files") or []:
                if (
                    isinstance(entry, dict)
                    and entry.get("name") == FOURPROPS_NAME
                    and entry.get("sha256") == digest
                ):
                    value["sealed_in"] = {"version": latest[0].version, "state": latest[0].state}
        return value

    def refuse(self, record: ContractRecord, report: dict[str, Any]) -> FourPropsFailed:
        bad = failed_items(report)
        return FourPropsFailed(
            f"contract {record.id} is not filed: the 四性检测 (four-properties check) "
            f"FAILED: {'; '.join(bad)}",
            hint="fix the package, or file it anyway with a reason "
            f"(contract-archive contract file {record.id} --force-reason TEXT; "
            "force_reason in the API)",
            details={"fourprops": report},
        )


def _page_word(numbers: list[int]) -> str:
    return "page" if len(numbers) == 1 else "pages"


def _pages(numbers: list[int]) -> str:
    shown = ", ".join(str(n) for n in numbers[:10])
    return shown + (f" (+{len(numbers) - 10})" if len(numbers) > 10 else "")
