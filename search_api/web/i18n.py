"""The web interface's two languages: Chinese and English.

Every string a page shows is looked up here by key; ``tests/test_web.py`` checks that both
catalogs have the same keys and the same ``{placeholders}``. The language of a request is, in
order: ``?lang=`` (remembered in a cookie), the cookie, then the browser's ``Accept-Language``
(Chinese when the browser prefers any ``zh`` over English), and English otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Literal

from markupsafe import Markup
from starlette.requests import Request

from core.plural import counted
from core.rules import STATE_NAMES_ZH

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")
LANG_COOKIE = "archive_lang"
DEFAULT_LANG: Lang = "en"

EN: dict[str, str] = {
    "app.name": "Contract archive",
    "app.skip": "Skip to the main content",
    "nav.label": "Main navigation",
    "nav.home": "Home",
    "nav.search": "Search",
    "nav.upload": "Upload",
    "nav.customers": "Customers",
    "nav.api": "API",
    "nav.signed_in_as": "Signed in as {user}",
    "nav.logout": "Sign out",
    "nav.login": "Sign in",
    "login.title": "Sign in",
    "login.lead": "Sign in with your archive user name and password.",
    "login.username": "User name",
    "login.password": "Password",
    "login.submit": "Sign in",
    "login.failed": "Wrong user name or password.",
    "login.locked": "Too many failed attempts. Please wait a while before trying again.",
    "login.changed": "Your password was changed. Please sign in with the new one.",
    "account.title": "Change your password",
    "account.must_change": "This is a one-time password: choose your own before you go on.",
    "account.current": "Current password",
    "account.new": "New password",
    "account.new_help": "At least 12 characters, not your user name.",
    "account.submit": "Change password",
    "lang.switch": "Language",
    "lang.zh": "中文",
    "lang.en": "English",
    "common.page": "page {n}",
    "common.pages": "{n} pages",
    "common.none": "none",
    "common.unknown": "not recorded",
    "common.customer": "Customer",
    "common.classification": "Classification",
    "common.title": "Title",
    "common.status": "Status",
    "common.year": "Year",
    "common.archived_at": "Archived",
    "common.open": "Open",
    "common.not_yet": "Not part of this installation yet",
    "status.archived": "archived",
    # home
    "home.title": "Overview",
    "home.lead": "Contracts archived byte for byte, searchable in Chinese and English.",
    "home.count": "Contracts",
    "home.pages": "Pages",
    "home.awaiting_ocr": "Awaiting OCR",
    "home.recent": "Recently archived",
    "home.empty": "The archive is empty. Upload the first contracts to start.",
    "home.upload_first": "Upload contracts",
    "home.dashboard": "Expiring soon and overdue payments",
    "home.alerts": "Integrity alerts",
    "home.alerts_lead": (
        "A stored file of these contracts no longer matches the digest recorded when it was "
        "archived: it is not served. Verify them and restore the file from a copy "
        "(contract-archive restore ID FILE)."
    ),
    # search
    "search.title": "Search",
    "search.label": "Search contracts",
    "search.placeholder": '"limitation of liability", indemnification, customer:Acme …',
    "search.button": "Search",
    "search.sort": "Sort by",
    "search.sort.relevance": "Relevance",
    "search.sort.newest": "Newest first",
    "search.sort.oldest": "Oldest first",
    "search.help": "How to search",
    "search.help.word": "contracts containing the word; Chinese words match exactly",
    "search.help.and": "both (AND is implicit)",
    "search.help.phrase": "the exact phrase",
    "search.help.or": "either",
    "search.help.not": "exclude a word",
    "search.help.group": "grouping",
    "search.help.field": "a field: customer, title, classification, status, year, id, sha256",
    "search.help.date": "archived in a date range (inclusive)",
    "search.results": "{total} contracts found",
    "search.results_one": "1 contract found",
    "search.results_range": "showing {first}–{last}",
    "search.took": "in {ms} ms",
    "search.all": "All contracts",
    "search.facets": "Refine",
    "search.facet.customer": "Customer",
    "search.facet.classification": "Classification",
    "search.facet.status": "Status",
    "search.facet.year": "Year archived",
    "search.facet.none": "(none)",
    "search.facet.from": "Archived from",
    "search.facet.to": "Archived until",
    "search.archived_between": "Date archived",
    "search.apply": "Apply",
    "search.filters": "Filters",
    "search.remove_filter": "Remove filter {name}: {value}",
    "search.clear_filters": "Clear all filters",
    "search.pagination": "Result pages",
    "search.prev": "Previous",
    "search.next": "Next",
    "search.page_n": "Page {n}",
    "search.on_page": "page {n}",
    "search.no_results": "No contract matches {query}.",
    "search.no_results_plain": "No contract matches.",
    "search.try": "Things to try:",
    "search.try.filters": "Search again without the filters",
    "search.try.or": "Find contracts with any of the words: {query}",
    "search.try.unquote": "Search for the words without the quotation marks: {query}",
    "search.try.shorter": "Use fewer or shorter words; Chinese words of two characters match best.",
    "search.try.spelling": "Check the spelling; Traditional and Simplified characters differ.",
    "search.empty_archive": "The archive holds no contracts yet.",
    "search.invalid": "The query could not be read",
    # upload
    "upload.title": "Upload contracts",
    "upload.lead": (
        "PDF files, scanned images (PNG, JPEG, TIFF), Office documents (DOCX, DOC, XLSX, ODT, "
        "ODS), e-mail (.eml: each attachment becomes a contract linked to the message) and OFD "
        "are stored unchanged, checked and indexed; what is not a PDF gets a PDF copy for "
        "viewing. Scanned pages are read by OCR."
    ),
    "upload.drop": "Drop files or folders here",
    "upload.or": "or",
    "upload.choose": "Choose files",
    "upload.choose_folder": "Choose a folder",
    "upload.folder_help": (
        "Every file of a folder is sent, at any depth. Its subfolders are read as by "
        "contract-archive ingest FOLDER: the first level names the customer, the second a "
        "classification code (the fields above win); a PDF in a batches folder belongs on the "
        "Batch scans page."
    ),
    "upload.files_label": "PDF or image files",
    "upload.limit": "Up to {mb} MB per file.",
    "upload.customer": "Customer",
    "upload.customer_help": "Applied to every file of this upload. Optional.",
    "upload.classification": "Classification",
    "upload.classification_help": (
        "A code of the classification scheme (XS sales, CG purchase, LD labour, …); it is "
        "recorded as confirmed. Optional: without it the archive suggests one."
    ),
    "upload.start": "Upload",
    "upload.results": "Files",
    "upload.none_yet": "No files chosen yet.",
    "upload.queued": "waiting",
    "upload.uploading": "uploading {pct}%",
    "upload.processing": "checking and indexing…",
    "upload.archived": "archived",
    "upload.duplicate": "already archived",
    "upload.rejected": "rejected",
    "upload.failed": "failed",
    "upload.too_big": "larger than the {mb} MB limit",
    "upload.view": "open contract {id}",
    "upload.ocr_pending": "{n} scanned pages await OCR",
    "upload.ocr_running": "OCR: {done} of {total} pages read",
    "upload.ocr_done": "OCR done: {n} pages read and searchable",
    "upload.ocr_incomplete": "OCR incomplete: pages {pages} could not be read",
    "upload.ocr_unknown": "OCR progress is not available; see the contract page",
    "upload.network": "the connection failed",
    "upload.summary": "{done} of {total} files done",
    "upload.noscript": (
        "Without JavaScript, choose one file at a time and press Upload; the result opens "
        "as a page."
    ),
    # contract
    "contract.title": "Contract {id}",
    "contract.metadata": "Record",
    "contract.filename": "File name",
    "contract.size": "Size",
    "contract.pages": "Pages",
    "contract.sha256": "SHA-256",
    "contract.ingested_by": "Archived by",
    "contract.warnings": "Warnings",
    "contract.needs_ocr": "Pages awaiting OCR",
    "contract.downloads": "Downloads",
    "contract.download_original": "Original PDF (byte-identical)",
    "contract.download_text": "Extracted text",
    "contract.download_searchable": "Searchable copy",
    "contract.download_evidence": "Evidence package (ZIP)",
    "contract.evidence_hint": "original, manifests, seal, timestamps and ledger proof, "
    "checkable with OpenSSL without the archive (README.txt inside)",
    "contract.download_proof": "Proof package (ZIP, no content)",
    "contract.proof_hint": "seal, timestamps, ledger proof, verification report and the sealed "
    "digests, without the original or its text: check a copy of the original held elsewhere "
    "with OpenSSL (README.txt inside)",
    "contract.searchable_not_needed": (
        "No searchable copy: every page has a text layer, the original is searchable as it is."
    ),
    "ocr.title": "OCR of scanned pages",
    "ocr.state.queued": "queued",
    "ocr.state.running": "running",
    "ocr.state.done": "done",
    "ocr.state.incomplete": "incomplete",
    "ocr.state.none": "not needed",
    "ocr.progress": "{done} of {total} pages read",
    "ocr.confidence": "mean word confidence {pct}",
    "ocr.failed_pages": "Pages that could not be read: {pages}",
    "ocr.retry": "Read the failed pages again",
    "contract.viewer": "Pages",
    "contract.page_of": "Page {n} of {total}",
    "contract.page_image": "Page {n} of the contract",
    "contract.hits_on": "Hits for {query} on pages:",
    "contract.no_hits": "{query} does not occur in this contract's text.",
    "contract.hits_here": "Hits marked on this page: {n}",
    "contract.hits_not_drawn": (
        "The words are in this page's stored text but could not be placed on the image "
        "(a scanned page, or text drawn in an unusual way)."
    ),
    "contract.goto_page": "Go to page",
    "contract.text_unreadable": "The stored text of this contract cannot be read: {reason}",
    "contract.page_text": "Text of page {n}",
    "contract.page_text_none": "This page has no text yet (a scan awaiting OCR).",
    "contract.purpose_needed": "This contract is of a restricted class: its pages are shown, "
    "and its files downloaded, once you say why you read them (借阅登记). The purpose is "
    "recorded in the access log.",
    "contract.purpose_label": "Purpose",
    "contract.purpose_submit": "Show the pages",
    "contract.purpose_given": "Purpose recorded: {purpose}",
    "contract.downloads_need_purpose": "This contract is of a restricted class: its files are "
    "downloaded once you say why, in the form beside its pages.",
    "contract.prev_page": "Previous page",
    "contract.next_page": "Next page",
    "contract.highlight": "Highlight",
    "contract.back": "Back to the results",
    "contract.verification": "Verification",
    "contract.signatures": "Embedded signatures",
    "contract.related": "Related contracts",
    "contract.related_none": "No other contract of this customer.",
    "contract.related_no_customer": "No customer is recorded, so no related contracts are known.",
    "contract.access": "Access history",
    "contract.access_none": "No access to this contract is logged yet.",
    "contract.access_latest": "The latest {n} of {total} entries (this view is logged too).",
    "contract.access_all": "All of this contract's entries in the access log",
    "nav.access_log": "Access log",
    "log.title": "Access log",
    "log.lead": "Who did what, when, and with what outcome. Reading this page is logged too.",
    "log.filters": "Filters",
    "log.user": "User",
    "log.action": "Action",
    "log.action_hint": "e.g. contract.download, or a prefix such as contract.",
    "log.contract": "Contract",
    "log.not_cleared": "a contract you are not cleared for",
    "log.since": "From (day)",
    "log.until": "To (day, inclusive)",
    "log.apply": "Apply",
    "log.clear": "Clear filters",
    "log.total": "{total} matching entries",
    "log.none": "No entry matches these filters.",
    "log.when": "When",
    "log.who": "Who",
    "log.outcome": "Outcome",
    "log.seq": "No.",
    "log.via": "Via",
    "log.newer": "Newest first",
    "log.older": "Older entries",
    "log.export_csv": "Export the filtered entries (CSV)",
    "log.export_jsonl": "Export (JSON Lines)",
    "log.extract": "Signed extract (ZIP)",
    "contract.locks": "Retention and legal hold",
    "contract.locks_not_enforced": (
        "This archive's object store does not enforce retention or legal holds (S3 Object Lock "
        "does); nothing is held here."
    ),
    "contract.legal_hold": "Legal hold",
    "contract.legal_hold_on": "on: nothing of this contract can be deleted",
    "contract.legal_hold_off": "off",
    "contract.retain_until": "Retained until",
    "contract.retain_none": "no retention date",
    "contract.hold_set": "Put under legal hold",
    "contract.hold_release": "Release the legal hold",
    "contract.text_source": "Text from",
    "contract.source.text-layer": "the PDF's text layer",
    "contract.source.ocr": "OCR",
    "contract.source.none": "no text yet",
    "contract.render_failed": "This page could not be drawn: {reason}",
    # customer
    "customer.title": "Customer: {name}",
    "customer.list_title": "Customers",
    "customer.contracts": "Contracts",
    "customer.none": "No customers are recorded yet.",
    "customer.count": "{n} contracts",
    "yes": "yes",
    "no": "no",
    "verify.status.PASSED": "Verified",
    "verify.status.FAILED": "Failed",
    "verify.status.INDETERMINATE": "Indeterminate",
    "verify.check.PASSED": "Passed",
    "verify.check.FAILED": "Failed",
    "verify.check.INDETERMINATE": "Indeterminate",
    "verify.overall.PASSED": "Every check passed: the files are the ones archived and sealed.",
    "verify.overall.FAILED": "A check failed: something does not match what was archived.",
    "verify.overall.INDETERMINATE": "Not every check could be completed; see the report.",
    "verify.title": "Verification report of contract {id}",
    "verify.verified_at": (
        "Checked just now ({when}): every file re-hashed, seal and timestamp re-verified."
    ),
    "verify.dev_keys": (
        "This archive seals with development keys generated on this machine: the seal proves "
        "nothing to a court or an auditor until production keys and a real time-stamping "
        "authority are configured."
    ),
    "verify.dev_keys_short": "Development keys: not evidence for third parties.",
    "verify.seal_state": "Seal",
    "verify.seal.sealed": "sealed",
    "verify.seal.pending": "pending (not sealed yet)",
    "verify.seal.missing": "missing",
    "verify.timestamp": "Timestamp",
    "verify.key_id": "Seal key",
    "verify.manifest": "Manifest",
    "verify.checks": "Checks",
    "verify.json": "The same report as JSON",
    "verify.badge_hint": "open the verification report",
    "verify.open_report": "Open the full report",
    "check.original_digests": "The original's SHA-256 and SM3 equal the manifest's",
    "check.derived_digests": "Every derived file's digests equal the manifest's",
    "check.seal_signature": "The seal signature over the manifest is valid",
    "check.seal_certificate": "The seal certificate chains to a trust anchor",
    "check.timestamp": "The timestamp is valid and its authority trusted",
    "check.record_agreement": "The manifest agrees with the record",
    "check.embedded_signatures": "The signatures inside the original PDF",
    "check.manifest_chain": "Every manifest version is the one issued and links to the one before",
    "contract.manifests": "Manifest versions",
    "contract.integrity_alert": "Integrity alert:",
    "contract.integrity_alert_detail": (
        "the stored {file} of this contract no longer matches the digest recorded when it was "
        "archived (found {when}); it is not served. Run the verification and restore the file "
        "from a copy."
    ),
    "contract.integrity_file.original": "original",
    "contract.integrity_file.text": "text",
    "contract.integrity_file.searchable": "searchable copy",
    "contract.original_damaged": "The stored original is damaged and is not offered for download.",
    "manifests.version": "Version",
    "manifests.time": "Issued",
    "manifests.by": "By",
    "manifests.action": "Through",
    "manifests.changed": "What changed",
    "manifests.first": "archived",
    "manifests.files": "package files",
    "manifests.none": "No manifest has been issued yet.",
    "sig.none": "The original carries no embedded signatures.",
    "sig.validated_at": "validated at ingest, {when}",
    "sig.kind.signature": "signature",
    "sig.kind.document_timestamp": "document timestamp",
    "sig.signer": "Signer",
    "sig.issuer": "Issued by",
    "sig.signing_time": "Signing time (claimed)",
    "sig.timestamp": "Timestamp",
    "sig.checks": "Checks",
    "sig.intact": "intact",
    "sig.valid": "valid",
    "sig.trusted": "trusted",
    "sig.coverage": "Coverage",
    "sig.algorithm": "Algorithm",
    "sig.reason": "Result",
    "customer.find": "Find a customer by name",
    "customer.live": "Live",
    "customer.expiring": "Expiring soon",
    "customer.outstanding": "Outstanding",
    "customer.overdue": "Overdue",
    "customer.expiry": "Expires",
    "customer.amount": "Amount",
    "customer.aliases": "also known as",
    "customer.expired_unrenewed": "Expired, not renewed",
    "home.expiring": "Expiring within {days} days",
    "home.overdue": "Overdue payments",
    "home.expires_on": "expires {day}",
    "home.expiring_none": "No live contract expires within {days} days.",
    "home.overdue_none": "No payment is overdue.",
    "terms.title": "Terms",
    "terms.confirmed": "Confirmed",
    "terms.none_confirmed": "No value has been confirmed by a person yet.",
    "terms.suggested": "Suggested (read from the text, not yet confirmed)",
    "terms.none_suggested": "No open suggestions.",
    "clauses.title": "Clauses",
    "clauses.none": "No clauses were found in the text.",
    "clauses.state.open": "suggested",
    "clauses.state.accepted": "confirmed",
    "search.facet.clause": "Clause",
    "terms.confidence": "confidence {pct}%",
    "terms.accept": "Confirm",
    "terms.reject": "Reject",
    "terms.accept_label": "Confirm {field}: {value}",
    "terms.reject_label": "Reject {field}: {value}",
    "terms.payments": "Payments",
    "terms.overdue": "overdue",
    "terms.archival_code": "Archival code",
    "field.customer_text": "Customer",
    "field.contract_no": "Contract number",
    "field.our_entity": "Our entity",
    "field.classification": "Classification",
    "field.amount": "Amount",
    "field.currency": "Currency",
    "field.sign_date": "Signed on",
    "field.effective_date": "Effective from",
    "field.expiry_date": "Expires on",
    "field.renewal_type": "Renewal",
    "field.renewal_term_months": "Renewal term (months)",
    "field.renewal_max_count": "Renewals allowed",
    "field.renewal_count": "Renewals so far",
    "field.notice_days": "Notice (days)",
    "field.governing_law": "Governing law",
    "field.owner": "Owner",
    "field.department": "Department",
    "field.paper_location": "Paper original at",
    "field.relation": "Relation",
    "field.ended_on": "Ended on",
    "field.parties": "Parties",
    "field.party_a": "Party A",
    "field.party_b": "Party B",
    "field.party_c": "Party C",
    "field.party_d": "Party D",
    # errors
    "error.title": "Something went wrong",
    "error.code": "Error code",
    "error.home": "Go to the home page",
    "error.back": "Go back",
    "error.404": "This page does not exist.",
    "error.hint": "What to do",
    "error.details": "Details",
    "error.lead.not_found": "What you asked for was not found.",
    "error.lead.invalid_request": "The request could not be understood.",
    "error.lead.invalid_query": "The query could not be read.",
    "error.lead.unauthorized": "Please sign in first.",
    "error.lead.forbidden": "You are not allowed to see this.",
    "error.lead.payload_too_large": "The file is too large.",
    "error.lead.internal_error": "The archive met an unexpected problem. Nothing was changed.",
    "contract.record_only": (
        "Your role shows this contract's record, terms and verification; reading its pages "
        "needs the permission to read contracts."
    ),
    "contract.evidence_log": "Signed access-log extract of this contract (ZIP)",
    "terms.decided": "Decided suggestions ({n})",
    "terms.state.accepted": "accepted",
    "terms.state.rejected": "rejected",
    "terms.state.superseded": "superseded by a later reading",
    "value.renewal_type.automatic": "renews automatically",
    "value.renewal_type.manual": "renewed by agreement",
    "value.renewal_type.none": "does not renew",
    "value.relation.amendment": "amendment",
    "value.relation.supplement": "supplement",
    "value.relation.annex": "annex",
    "value.relation.renewal": "renewal",
    "log.outcome.ok": "ok",
    "log.outcome.denied": "denied",
    "log.outcome.failed": "failed",
    "log.outcome.started": "started",
    "log.outcome.invalid": "invalid",
    "log.outcome.not_found": "not found",
    "log.outcome.duplicate": "duplicate",
    "log.outcome.archived": "archived",
    "log.outcome.rejected": "rejected",
    "log.via.session": "browser",
    "log.via.token": "API token",
    "log.via.cli": "command line",
    "field.party": "Party",
    "field.counterparty": "Counterparty",
    "field.term": "Term",
    "field.renewal": "Renewal",
    "field.retention": "Retention",
    "search.did_you_mean": "Did you mean:",
    "search.fuzzy": "No exact matches for {query}; showing close ones:",
    "search.facet.governing_law": "Governing law",
    "search.facet.signed": "Year signed",
    "search.facet.expires": "Year of expiry",
    "nav.approvals": "Approvals",
    "nav.borrowings": "Borrowing",
    "nav.jobs": "Failed jobs",
    "jobs.title": "Failed jobs",
    "jobs.lead": (
        "Background work that failed after all its attempts: OCR of a page, or finishing a "
        "contract's OCR (its text version and searchable copy). The contract stays archived "
        "with its original. Remove the cause, then try again."
    ),
    "jobs.none": "No job has failed.",
    "jobs.contract": "Contract",
    "jobs.kind": "Job",
    "jobs.kind.ocr_page": "OCR of page {page}",
    "jobs.kind.ocr_finish": "Finishing OCR",
    "jobs.attempts": "Attempts",
    "jobs.reason": "Reason",
    "jobs.failed_at": "Failed",
    "jobs.retry": "Try again",
    "jobs.retried": "Contract {id} was queued for OCR again.",
    "jobs.cli": "The traceback of an unexpected failure is kept for operators: {cli} or {api}.",
    # background jobs (issue 14)
    "jobs.background": "Background jobs",
    "jobs.background_lead": (
        "Reminders and fixity audits run at their intervals; reindexing when queued. A job "
        "that fails is tried again after a wait, then marked failed with the reason."
    ),
    "jobs.none_background": "No background job yet.",
    "jobs.kind.reminders": "Reminders",
    "jobs.kind.fixity": "Fixity audit",
    "jobs.kind.reindex": "Reindexing",
    "jobs.state": "State",
    "jobs.state.queued": "Queued",
    "jobs.state.running": "Running",
    "jobs.state.done": "Done",
    "jobs.state.failed": "Failed",
    "jobs.outcome": "Outcome",
    "jobs.queued_at": "Queued",
    "jobs.queue_label": "Queue a job",
    "jobs.queue": "Queue",
    "jobs.queued": "Background job {id} was queued.",
    "jobs.retried_job": "Background job {id} was queued again.",
    "approvals.title": "Approvals",
    "approvals.lead": (
        "Contracts submitted for approval before signing. Each step is decided by its "
        "approvers; a rejection returns the contract to draft with the reason; the last "
        "approval moves it to signing."
    ),
    "approvals.mine": "Waiting for me",
    "approvals.all_open": "All open",
    "approvals.all": "All rounds",
    "approvals.submit_label": "Submit a draft for approval, contract no.",
    "approvals.submit": "Submit",
    "approvals.none": "Nothing is waiting here.",
    "approvals.round": "round {n}, submitted by {who} on {at}",
    "approvals.waiting_step": "waiting at step {n}",
    "approvals.terms": "Confirmed terms",
    "approvals.changes": "Changed since the last round",
    "approvals.step_done": "Done",
    "approvals.step_waiting": "Waiting",
    "approvals.step_pending": "Next",
    "approvals.mode_any": "any one of",
    "approvals.mode_all": "all of",
    "approvals.approved_by": "approved by {who}",
    "approvals.decision_approve": "approved",
    "approvals.decision_reject": "rejected",
    "approvals.comment": "Comment",
    "approvals.reason": "Reason (required)",
    "approvals.approve": "Approve",
    "approvals.reject": "Reject",
    "borrow.title": "Borrowing",
    "borrow.lead": (
        "Ask to borrow a contract of a restricted class: an approver of its class grants "
        "or refuses; a grant gives exactly the access asked for, to that contract, until "
        "it expires or is returned."
    ),
    "borrow.request": "Ask to borrow",
    "borrow.contract_id": "Contract no.",
    "borrow.purpose": "Purpose",
    "borrow.days_label": "Days",
    "borrow.with_download": "Download too",
    "borrow.send": "Send request",
    "borrow.show_open": "Only pending and live",
    "borrow.show_all": "Show all",
    "borrow.mine": "My requests and grants",
    "borrow.others": "Requests and grants I may decide or audit",
    "borrow.none": "None.",
    "borrow.contract": "Contract",
    "borrow.borrower": "Borrower",
    "borrow.access": "Access",
    "borrow.state": "State",
    "borrow.download": "view and download",
    "borrow.view_only": "view only",
    "borrow.days": "{n} days",
    "borrow.live": "in force",
    "borrow.overdue": "overdue",
    "borrow.until": "until {at}",
    "borrow.state_requested": "pending",
    "borrow.state_granted": "granted",
    "borrow.state_refused": "refused",
    "borrow.state_returned": "returned",
    "borrow.state_cancelled": "withdrawn",
    "borrow.return": "Return now",
    "borrow.withdraw": "Withdraw",
    "borrow.grant": "Grant",
    "borrow.refuse": "Refuse",
    # the contract page's edit forms (edit_pages.py)
    "edit.title": "Edit",
    "edit.lead": (
        "Each change is recorded with who, when and why, and sealed in a new manifest version."
    ),
    "edit.record": "Title and customer",
    "edit.terms": "Terms: dates, amount, law, renewal",
    "edit.payments": "Payments",
    "edit.payment": "Add a payment",
    "edit.paid": "Record a payment",
    "edit.file": "Filing (archival code)",
    "edit.lifecycle": "Lifecycle",
    "edit.transition": "Lifecycle",
    "edit.holds": "Holds",
    "edit.hold": "Place a hold",
    "edit.release": "Release",
    "edit.relation": "Master contract and amendments",
    "edit.save": "Save",
    "edit.reason": "Reason (kept in the history)",
    "edit.customer_help": "An existing customer's name or alias.",
    "edit.new_customer": "Create a new customer with this name",
    "edit.suggested": "Read from the text: {value}",
    "edit.renewals_help": (
        "Empty: no limit. An automatic renewal that has used up its renewals expires; the "
        "reminder job counts each automatic renewal."
    ),
    "edit.terms_help": (
        "Dates as YYYY-MM-DD. An emptied field is cleared; only changed fields are saved."
    ),
    "edit.paid_so_far": "paid {paid}, outstanding {outstanding}",
    "edit.record_paid": "Record payment",
    "edit.add_payment": "Add a payment",
    "edit.filed_as": "Filed as {code}",
    "edit.disposal_due": "Disposal due",
    "edit.not_filable": "A contract is filed once it is signed; this one is {state}.",
    "edit.file_help": (
        "The archive assigns the archival code once: fonds-HT·year-retention-class-item."
    ),
    "edit.retention_default": "the classification's default",
    "edit.file_submit": "File and assign the archival code",
    "edit.current_state": "Current state: {state}",
    "edit.transition_submit": "Move",
    "edit.no_transitions": "No further state is possible from here.",
    "edit.holds_help": "A held contract is never disposed of, whatever its retention.",
    "edit.hold_active": "Held:",
    "edit.release_reason": "Reason for the release",
    "edit.no_holds": "No hold is in place.",
    "edit.hold_reason": "Reason for the hold (litigation, audit, ...)",
    "edit.place_hold": "Place a hold",
    "edit.linked_to": "This contract is a {relation} of",
    "edit.unlink": "Remove the link",
    "edit.amendments": "Contracts linked to this one:",
    "edit.link": "Link",
    "edit.field.title": "Title",
    "edit.field.customer": "Customer",
    "edit.field.due_date": "Due on",
    "edit.field.paid_amount": "Amount paid so far",
    "edit.field.paid_date": "Paid on",
    "edit.field.direction": "Direction",
    "edit.field.description": "Description",
    "edit.field.fonds_code": "Fonds code",
    "edit.field.to": "Move to",
    "edit.field.master_id": "Master contract number",
    "edit.field.reason": "Reason",
    "edit.field.release_reason": "Reason for the release",
    "edit.error.bad_date": "{field}: not a date. Write it as YYYY-MM-DD, e.g. 2026-03-31.",
    "edit.error.bad_amount": (
        "{field}: not an amount. Write digits with at most two decimals, e.g. 2500000.00."
    ),
    "edit.error.bad_number": "{field}: write a whole number.",
    "edit.error.invalid": "{field}: this value is not accepted.",
    "edit.error.required": "{field}: this is needed.",
    "edit.error.title_required": "The title must not be empty.",
    "edit.error.customer_required": "A customer cannot be removed here; give another one.",
    "edit.error.unknown_customer": (
        "{field}: no customer has this name. Check the spelling (see Customers), or tick "
        '"Create a new customer".'
    ),
    "edit.error.unknown_code": "{field}: not a code of the classification scheme.",
    "edit.error.reason_required": "{field}: give a reason.",
    "edit.not_saved": "Not saved: {form}, see below.",
    "edit.saved.record": "Title and customer saved.",
    "edit.saved.terms": "Terms saved.",
    "edit.saved.payment": "Payment added.",
    "edit.saved.paid": "Payment recorded.",
    "edit.saved.file": "Filed: archival code {code}.",
    "edit.saved.transition": "The contract is now {state}.",
    "edit.saved.hold": "Hold placed.",
    "edit.saved.release": "Hold released.",
    "edit.saved.relation": "Link to the master contract saved.",
    "edit.saved.unlink": "Link to the master contract removed.",
    "edit.saved.unchanged": "Nothing was changed.",
    "value.retention.Y": "permanent (Y)",
    "value.retention.D30": "30 years (D30)",
    "value.retention.D10": "10 years (D10)",
    "value.direction.receivable": "receivable",
    "value.direction.payable": "payable",
    # 四性检测 at filing (issue 13)
    "fourprops.title": "Four-properties check (四性检测)",
    "fourprops.lead": "Made when the contract was filed (DA/T 70): authenticity, integrity, "
    "usability and security of its package.",
    "fourprops.checked": "Checked {at} by {by}.",
    "fourprops.sealed": "The report ({file}, SHA-256 {sha}) is sealed in manifest version "
    "{version}.",
    "fourprops.not_sealed": "The report ({file}) is not listed by the latest manifest.",
    "fourprops.forced": "Filed although an item failed, by {by}: {reason}",
    "fourprops.prop.authenticity": "Authenticity (真实性)",
    "fourprops.prop.integrity": "Integrity (完整性)",
    "fourprops.prop.usability": "Usability (可用性)",
    "fourprops.prop.security": "Security (安全性)",
    "fourprops.item.digests": "Stored files match their sealed digests",
    "fourprops.item.seal": "Archive seal",
    "fourprops.item.timestamp": "Timestamp",
    "fourprops.item.embedded_signatures": "Signatures inside the file",
    "fourprops.item.metadata_consistency": "Record and manifest agree",
    "fourprops.item.package_files": "Every file of the package present",
    "fourprops.item.metadata_complete": "Metadata complete for the scheme",
    "fourprops.item.format": "Format identified",
    "fourprops.item.renders": "Opens and renders",
    "fourprops.item.text": "Text extractable or OCR'd",
    "fourprops.item.virus_scan": "Virus scan (ClamAV)",
    "fourprops.item.active_content": "No JavaScript or launch actions",
    "fourprops.item.access": "Access restricted as the class requires",
    "edit.file_force": "File anyway although the four-properties check failed: reason",
}

ZH: dict[str, str] = {
    "app.name": "合同档案库",
    "app.skip": "跳到主要内容",
    "nav.label": "主导航",
    "nav.home": "首页",
    "nav.search": "检索",
    "nav.upload": "上传",
    "nav.customers": "客户",
    "nav.api": "API",
    "nav.signed_in_as": "当前用户：{user}",
    "nav.logout": "退出登录",
    "nav.login": "登录",
    "login.title": "登录",
    "login.lead": "请使用档案库的用户名和密码登录。",
    "login.username": "用户名",
    "login.password": "密码",
    "login.submit": "登录",
    "login.failed": "用户名或密码错误。",
    "login.locked": "登录失败次数过多，请稍后再试。",
    "login.changed": "密码已修改，请使用新密码重新登录。",
    "account.title": "修改密码",
    "account.must_change": "这是一次性密码：请先设置您自己的密码。",
    "account.current": "当前密码",
    "account.new": "新密码",
    "account.new_help": "至少 12 个字符，且不能与用户名相同。",
    "account.submit": "修改密码",
    "lang.switch": "语言",
    "lang.zh": "中文",
    "lang.en": "English",
    "common.page": "第 {n} 页",
    "common.pages": "{n} 页",
    "common.none": "无",
    "common.unknown": "未记录",
    "common.customer": "客户",
    "common.classification": "密级/分类",
    "common.title": "标题",
    "common.status": "状态",
    "common.year": "年度",
    "common.archived_at": "归档时间",
    "common.open": "打开",
    "common.not_yet": "本系统尚未提供此功能",
    "status.archived": "已归档",
    "home.title": "概览",
    "home.lead": "合同原件逐字节保存，中英文全文可检索。",
    "home.count": "合同",
    "home.pages": "页数",
    "home.awaiting_ocr": "待 OCR",
    "home.recent": "最近归档",
    "home.empty": "档案库还是空的。上传第一批合同即可开始。",
    "home.upload_first": "上传合同",
    "home.dashboard": "即将到期与逾期付款",
    "home.alerts": "完整性告警",
    "home.alerts_lead": (
        "以下合同保存的文件与归档时记录的摘要不一致，不再提供下载。"
        "请运行验证，并从副本恢复该文件（contract-archive restore ID FILE）。"
    ),
    "search.title": "检索",
    "search.label": "检索合同",
    "search.placeholder": '违约责任、"不可抗力"、customer:青岛木门 …',
    "search.button": "检索",
    "search.sort": "排序",
    "search.sort.relevance": "相关度",
    "search.sort.newest": "最新归档在前",
    "search.sort.oldest": "最早归档在前",
    "search.help": "检索语法",
    "search.help.word": "包含该词的合同；中文词语精确匹配",
    "search.help.and": "同时包含（默认为“与”）",
    "search.help.phrase": "精确短语",
    "search.help.or": "任一",
    "search.help.not": "排除某词",
    "search.help.group": "分组",
    "search.help.field": "按字段：customer、title、classification、status、year、id、sha256",
    "search.help.date": "在该日期范围内归档（含首尾）",
    "search.results": "共找到 {total} 份合同",
    "search.results_one": "共找到 1 份合同",
    "search.results_range": "显示第 {first}–{last} 份",
    "search.took": "用时 {ms} 毫秒",
    "search.all": "全部合同",
    "search.facets": "筛选",
    "search.facet.customer": "客户",
    "search.facet.classification": "密级/分类",
    "search.facet.status": "状态",
    "search.facet.year": "归档年度",
    "search.facet.none": "（无）",
    "search.facet.from": "归档起始日",
    "search.facet.to": "归档截止日",
    "search.archived_between": "归档日期",
    "search.apply": "应用",
    "search.filters": "已选筛选条件",
    "search.remove_filter": "移除筛选 {name}：{value}",
    "search.clear_filters": "清除全部筛选",
    "search.pagination": "结果分页",
    "search.prev": "上一页",
    "search.next": "下一页",
    "search.page_n": "第 {n} 页",
    "search.on_page": "第 {n} 页",
    "search.no_results": "没有合同匹配 {query}。",
    "search.no_results_plain": "没有匹配的合同。",
    "search.try": "可以试试：",
    "search.try.filters": "去掉筛选条件重新检索",
    "search.try.or": "检索包含任一词语的合同：{query}",
    "search.try.unquote": "去掉引号检索这些词：{query}",
    "search.try.shorter": "减少或缩短检索词；两个字的中文词语效果最好。",
    "search.try.spelling": "检查用字；繁体字与简体字不通用。",
    "search.empty_archive": "档案库中还没有合同。",
    "search.invalid": "无法识别检索式",
    "upload.title": "上传合同",
    "upload.lead": (
        "PDF 文件、扫描图像（PNG、JPEG、TIFF）、Office 文档（DOCX、DOC、XLSX、ODT、ODS）、"
        "电子邮件（.eml：每个附件归档为与该邮件关联的合同）和 OFD 原样保存，经检查后建立索引；"
        "非 PDF 文件另生成一份 PDF 副本供查看。扫描页由 OCR 识别。"
    ),
    "upload.drop": "将文件或文件夹拖放到这里",
    "upload.or": "或",
    "upload.choose": "选择文件",
    "upload.choose_folder": "选择文件夹",
    "upload.folder_help": (
        "文件夹中的所有文件（含各级子文件夹）都会上传。子文件夹的含义与在命令行归档文件夹时相同："
        "第一级为客户，第二级为分类代码（上方填写的值优先）；批量扫描文件夹中的 PDF "
        "请在“批量扫描”页面上传。"
    ),
    "upload.files_label": "PDF 或图像文件",
    "upload.limit": "每个文件不超过 {mb} MB。",
    "upload.customer": "客户",
    "upload.customer_help": "适用于本次上传的所有文件。可不填。",
    "upload.classification": "密级/分类",
    "upload.classification_help": (
        "分类方案中的代码（XS 销售、CG 采购、LD 劳动……），记为已确认。可不填：系统会给出建议。"
    ),
    "upload.start": "上传",
    "upload.results": "文件",
    "upload.none_yet": "尚未选择文件。",
    "upload.queued": "等待中",
    "upload.uploading": "正在上传 {pct}%",
    "upload.processing": "正在检查并建立索引…",
    "upload.archived": "已归档",
    "upload.duplicate": "已存在（重复）",
    "upload.rejected": "被拒收",
    "upload.failed": "失败",
    "upload.too_big": "超过 {mb} MB 的上限",
    "upload.view": "打开合同 {id}",
    "upload.ocr_pending": "{n} 个扫描页待 OCR",
    "upload.ocr_running": "OCR：已识别 {done} / {total} 页",
    "upload.ocr_done": "OCR 完成：{n} 页已识别，可检索",
    "upload.ocr_incomplete": "OCR 未完成：第 {pages} 页无法识别",
    "upload.ocr_unknown": "无法获取 OCR 进度；请查看合同页面",
    "upload.network": "连接失败",
    "upload.summary": "已完成 {done} / {total} 个文件",
    "upload.noscript": "未启用 JavaScript 时，请每次选择一个文件并点击“上传”；结果将以页面显示。",
    "contract.title": "合同 {id}",
    "contract.metadata": "档案信息",
    "contract.filename": "文件名",
    "contract.size": "大小",
    "contract.pages": "页数",
    "contract.sha256": "SHA-256",
    "contract.ingested_by": "归档人",
    "contract.warnings": "警告",
    "contract.needs_ocr": "待 OCR 的页",
    "contract.downloads": "下载",
    "contract.download_original": "原件 PDF（逐字节一致）",
    "contract.download_text": "提取的文本",
    "contract.download_searchable": "可检索副本",
    "contract.download_evidence": "证据包（ZIP）",
    "contract.evidence_hint": "含原件、各版清单、存档签章、时间戳与账本证明，"
    "无需本系统即可用 OpenSSL 核验（包内附核验说明）",
    "contract.download_proof": "证明包（ZIP，不含内容）",
    "contract.proof_hint": "含存档签章、时间戳、账本证明、核验报告与封存的摘要，不含原件及其文本："
    "可用 OpenSSL 核验另行持有的原件副本（包内附核验说明）",
    "contract.searchable_not_needed": "无可检索副本：每页都有文本层，原件本身即可检索。",
    "ocr.title": "扫描页 OCR",
    "ocr.state.queued": "排队中",
    "ocr.state.running": "识别中",
    "ocr.state.done": "已完成",
    "ocr.state.incomplete": "未完成",
    "ocr.state.none": "无需识别",
    "ocr.progress": "已识别 {done} / {total} 页",
    "ocr.confidence": "平均字词置信度 {pct}",
    "ocr.failed_pages": "无法识别的页：{pages}",
    "ocr.retry": "重新识别失败的页",
    "contract.viewer": "页面",
    "contract.page_of": "第 {n} 页，共 {total} 页",
    "contract.page_image": "合同第 {n} 页",
    "contract.hits_on": "{query} 出现在以下页：",
    "contract.no_hits": "本合同文本中没有 {query}。",
    "contract.hits_here": "本页标出 {n} 处命中",
    "contract.hits_not_drawn": (
        "本页存储的文本中有这些词，但无法在页面图像上定位（扫描页，或文字绘制方式特殊）。"
    ),
    "contract.goto_page": "跳到页",
    "contract.text_unreadable": "无法读取本合同存储的文本：{reason}",
    "contract.page_text": "第 {n} 页的文本",
    "contract.page_text_none": "此页尚无文本（待 OCR 的扫描页）。",
    "contract.purpose_needed": "本合同属于受限类别：说明借阅目的后方可查看页面、"
    "下载文件（借阅登记）。目的将记入访问日志。",
    "contract.purpose_label": "借阅目的",
    "contract.purpose_submit": "查看页面",
    "contract.purpose_given": "已登记借阅目的：{purpose}",
    "contract.downloads_need_purpose": (
        "本合同属于受限类别：在页面旁的表单中说明借阅目的后方可下载其文件。"
    ),
    "contract.prev_page": "上一页",
    "contract.next_page": "下一页",
    "contract.highlight": "高亮",
    "contract.back": "返回检索结果",
    "contract.verification": "验证",
    "contract.signatures": "内嵌签名",
    "contract.related": "相关合同",
    "contract.related_none": "该客户没有其他合同。",
    "contract.related_no_customer": "未记录客户，因此不知道相关合同。",
    "contract.access": "访问记录",
    "contract.access_none": "尚无该合同的访问记录。",
    "contract.access_latest": "最近 {n} 条（共 {total} 条；查看本记录也会被记录）。",
    "contract.access_all": "在访问日志中查看该合同的全部记录",
    "nav.access_log": "访问日志",
    "log.title": "访问日志",
    "log.lead": "谁在何时做了什么、结果如何。查看本页也会被记录。",
    "log.filters": "筛选",
    "log.user": "用户",
    "log.action": "操作",
    "log.action_hint": "例如 contract.download，或前缀 contract.",
    "log.contract": "合同",
    "log.not_cleared": "您无权查看的合同",
    "log.since": "起始日期",
    "log.until": "截止日期（含当天）",
    "log.apply": "筛选",
    "log.clear": "清除筛选",
    "log.total": "共 {total} 条匹配记录",
    "log.none": "没有符合筛选条件的记录。",
    "log.when": "时间",
    "log.who": "用户",
    "log.outcome": "结果",
    "log.seq": "序号",
    "log.via": "方式",
    "log.newer": "最新记录",
    "log.older": "更早的记录",
    "log.export_csv": "导出筛选结果（CSV）",
    "log.export_jsonl": "导出（JSON Lines）",
    "log.extract": "签名摘录（ZIP）",
    "contract.locks": "保管期限与诉讼保全",
    "contract.locks_not_enforced": (
        "本档案库的对象存储不强制执行保管期限或诉讼保全（S3 对象锁定可以），此处没有保全。"
    ),
    "contract.legal_hold": "诉讼保全",
    "contract.legal_hold_on": "已保全：本合同的任何文件都不能删除",
    "contract.legal_hold_off": "未保全",
    "contract.retain_until": "保管至",
    "contract.retain_none": "未设保管期限",
    "contract.hold_set": "设置诉讼保全",
    "contract.hold_release": "解除诉讼保全",
    "contract.text_source": "文本来源",
    "contract.source.text-layer": "PDF 文本层",
    "contract.source.ocr": "OCR",
    "contract.source.none": "暂无文本",
    "contract.render_failed": "无法绘制此页：{reason}",
    "customer.title": "客户：{name}",
    "customer.list_title": "客户",
    "customer.contracts": "合同",
    "customer.none": "还没有记录任何客户。",
    "customer.count": "{n} 份合同",
    "yes": "是",
    "no": "否",
    "verify.status.PASSED": "验证通过",
    "verify.status.FAILED": "验证失败",
    "verify.status.INDETERMINATE": "无法确定",
    "verify.check.PASSED": "通过",
    "verify.check.FAILED": "未通过",
    "verify.check.INDETERMINATE": "无法确定",
    "verify.overall.PASSED": "全部检查通过：文件与归档、封印时完全一致。",
    "verify.overall.FAILED": "有检查未通过：某些内容与归档时不一致。",
    "verify.overall.INDETERMINATE": "部分检查无法完成，详见报告。",
    "verify.title": "合同 {id} 的验证报告",
    "verify.verified_at": (
        "刚刚检查（{when}）：重新计算了每个文件的摘要，并重新验证了封印和时间戳。"
    ),
    "verify.dev_keys": (
        "本档案库使用在本机生成的开发密钥封印：在配置正式密钥和真实的时间戳服务之前，"
        "封印对法院或审计人员不具证明力。"
    ),
    "verify.dev_keys_short": "开发密钥：对第三方不具证明力。",
    "verify.seal_state": "封印",
    "verify.seal.sealed": "已封印",
    "verify.seal.pending": "待封印",
    "verify.seal.missing": "缺失",
    "verify.timestamp": "时间戳",
    "verify.key_id": "封印密钥",
    "verify.manifest": "清单",
    "verify.checks": "检查项",
    "verify.json": "JSON 格式的同一报告",
    "verify.badge_hint": "打开验证报告",
    "verify.open_report": "查看完整报告",
    "check.original_digests": "原件的 SHA-256 与 SM3 摘要与清单一致",
    "check.derived_digests": "各派生文件的摘要与清单一致",
    "check.seal_signature": "清单上的封印签名有效",
    "check.seal_certificate": "封印证书可追溯到信任锚",
    "check.timestamp": "时间戳有效且其机构可信",
    "check.record_agreement": "清单与档案记录一致",
    "check.embedded_signatures": "原件 PDF 内的签名",
    "check.manifest_chain": "每个清单版本均为签发时的原样，并链接到上一版本",
    "contract.manifests": "清单版本",
    "contract.integrity_alert": "完整性告警：",
    "contract.integrity_alert_detail": (
        "本合同保存的{file}与归档时记录的摘要不一致（发现于 {when}），不再提供下载。"
        "请运行验证，并从副本恢复该文件。"
    ),
    "contract.integrity_file.original": "原件",
    "contract.integrity_file.text": "文本",
    "contract.integrity_file.searchable": "可检索副本",
    "contract.original_damaged": "保存的原件已损坏，不提供下载。",
    "manifests.version": "版本",
    "manifests.time": "签发时间",
    "manifests.by": "操作人",
    "manifests.action": "操作",
    "manifests.changed": "变更内容",
    "manifests.first": "归档",
    "manifests.files": "包内文件",
    "manifests.none": "尚未签发清单。",
    "sig.none": "原件不含内嵌签名。",
    "sig.validated_at": "归档时验证，{when}",
    "sig.kind.signature": "签名",
    "sig.kind.document_timestamp": "文档时间戳",
    "sig.signer": "签署人",
    "sig.issuer": "签发机构",
    "sig.signing_time": "签署时间（声明）",
    "sig.timestamp": "时间戳",
    "sig.checks": "检查",
    "sig.intact": "完整",
    "sig.valid": "有效",
    "sig.trusted": "可信",
    "sig.coverage": "覆盖范围",
    "sig.algorithm": "算法",
    "sig.reason": "结果",
    "customer.find": "按名称查找客户",
    "customer.live": "履行中",
    "customer.expiring": "即将到期",
    "customer.outstanding": "未收款",
    "customer.overdue": "逾期",
    "customer.expiry": "到期日",
    "customer.amount": "金额",
    "customer.aliases": "又名",
    "customer.expired_unrenewed": "到期未续签",
    "home.expiring": "{days} 天内到期",
    "home.overdue": "逾期付款",
    "home.expires_on": "{day} 到期",
    "home.expiring_none": "没有在 {days} 天内到期的履行中合同。",
    "home.overdue_none": "没有逾期的付款。",
    "terms.title": "合同条款",
    "terms.confirmed": "已确认",
    "terms.none_confirmed": "尚无经人工确认的值。",
    "terms.suggested": "建议值（从文本中识别，尚未确认）",
    "terms.none_suggested": "没有待处理的建议值。",
    "clauses.title": "条款",
    "clauses.none": "文本中未发现条款。",
    "clauses.state.open": "建议",
    "clauses.state.accepted": "已确认",
    "search.facet.clause": "条款",
    "terms.confidence": "置信度 {pct}%",
    "terms.accept": "确认",
    "terms.reject": "驳回",
    "terms.accept_label": "确认{field}：{value}",
    "terms.reject_label": "驳回{field}：{value}",
    "terms.payments": "付款计划",
    "terms.overdue": "已逾期",
    "terms.archival_code": "档号",
    "field.customer_text": "客户",
    "field.contract_no": "合同编号",
    "field.our_entity": "我方主体",
    "field.classification": "分类",
    "field.amount": "金额",
    "field.currency": "币种",
    "field.sign_date": "签订日期",
    "field.effective_date": "生效日期",
    "field.expiry_date": "到期日期",
    "field.renewal_type": "续期方式",
    "field.renewal_term_months": "续期期限（月）",
    "field.renewal_max_count": "最多续期次数",
    "field.renewal_count": "已续期次数",
    "field.notice_days": "通知期（天）",
    "field.governing_law": "适用法律",
    "field.owner": "负责人",
    "field.department": "部门",
    "field.paper_location": "纸质原件存放处",
    "field.relation": "关系",
    "field.ended_on": "终止日期",
    "field.parties": "当事人",
    "field.party_a": "甲方",
    "field.party_b": "乙方",
    "field.party_c": "丙方",
    "field.party_d": "丁方",
    "error.title": "出错了",
    "error.code": "错误代码",
    "error.home": "返回首页",
    "error.back": "返回上一页",
    "error.404": "页面不存在。",
    "error.hint": "建议",
    "error.details": "详细信息",
    "error.lead.not_found": "没有找到所请求的内容。",
    "error.lead.invalid_request": "无法理解该请求。",
    "error.lead.invalid_query": "无法识别检索式。",
    "error.lead.unauthorized": "请先登录。",
    "error.lead.forbidden": "您无权查看此内容。",
    "error.lead.payload_too_large": "文件太大。",
    "error.lead.internal_error": "档案库遇到意外问题，未做任何更改。",
    "contract.record_only": (
        "您的角色可查看本合同的档案信息、条款与验证结果；查看页面需要阅读合同的权限。"
    ),
    "contract.evidence_log": "本合同访问日志的签名摘录（ZIP）",
    "terms.decided": "已处理的建议值（{n} 条）",
    "terms.state.accepted": "已确认",
    "terms.state.rejected": "已驳回",
    "terms.state.superseded": "已被后续识别取代",
    "value.renewal_type.automatic": "自动续期",
    "value.renewal_type.manual": "协商续期",
    "value.renewal_type.none": "不续期",
    "value.relation.amendment": "变更协议",
    "value.relation.supplement": "补充协议",
    "value.relation.annex": "附件",
    "value.relation.renewal": "续签合同",
    "log.outcome.ok": "成功",
    "log.outcome.denied": "被拒绝",
    "log.outcome.failed": "失败",
    "log.outcome.started": "已开始",
    "log.outcome.invalid": "无效",
    "log.outcome.not_found": "未找到",
    "log.outcome.duplicate": "重复",
    "log.outcome.archived": "已归档",
    "log.outcome.rejected": "被拒收",
    "log.via.session": "浏览器",
    "log.via.token": "API 令牌",
    "log.via.cli": "命令行",
    "field.party": "当事人",
    "field.counterparty": "相对方",
    "field.term": "期限",
    "field.renewal": "续期",
    "field.retention": "保管期限",
    "search.did_you_mean": "您是不是要找：",
    "search.fuzzy": "没有与 {query} 完全匹配的合同；下面是相近的结果：",
    "search.facet.governing_law": "适用法律",
    "search.facet.signed": "签订年度",
    "search.facet.expires": "到期年度",
    "nav.approvals": "审批",
    "nav.borrowings": "借阅",
    "nav.jobs": "失败任务",
    "jobs.title": "失败任务",
    "jobs.lead": (
        "多次尝试后仍失败的后台任务：某页的 OCR，或合同 OCR 的收尾（文本版本与可检索副本）。"
        "合同及其原件仍在归档中。排除原因后重试。"
    ),
    "jobs.none": "没有失败的任务。",
    "jobs.contract": "合同",
    "jobs.kind": "任务",
    "jobs.kind.ocr_page": "第 {page} 页 OCR",
    "jobs.kind.ocr_finish": "OCR 收尾",
    "jobs.attempts": "尝试次数",
    "jobs.reason": "原因",
    "jobs.failed_at": "失败时间",
    "jobs.retry": "重试",
    "jobs.retried": "合同 {id} 已重新加入 OCR 队列。",
    "jobs.cli": "意外失败的调用栈留给运维人员查看：{cli} 或 {api}。",
    # background jobs (issue 14)
    "jobs.background": "后台任务",
    "jobs.background_lead": (
        "提醒和固定性审计按间隔运行；重建索引在排队后运行。失败的任务等待后重试，"
        "次数用尽后标记为失败并记录原因。"
    ),
    "jobs.none_background": "暂无后台任务。",
    "jobs.kind.reminders": "提醒",
    "jobs.kind.fixity": "固定性审计",
    "jobs.kind.reindex": "重建索引",
    "jobs.state": "状态",
    "jobs.state.queued": "排队中",
    "jobs.state.running": "运行中",
    "jobs.state.done": "已完成",
    "jobs.state.failed": "失败",
    "jobs.outcome": "结果",
    "jobs.queued_at": "排队时间",
    "jobs.queue_label": "排队任务",
    "jobs.queue": "排队",
    "jobs.queued": "后台任务 {id} 已排队。",
    "jobs.retried_job": "后台任务 {id} 已重新排队。",
    "approvals.title": "合同审批",
    "approvals.lead": (
        "签署前提交审批的合同。每一步由该步的审批人决定；驳"
        "回后合同退回草稿并附理由；最后一步通过后进入签署。"
    ),
    "approvals.mine": "待我审批",
    "approvals.all_open": "全部进行中",
    "approvals.all": "全部轮次",
    "approvals.submit_label": "提交草稿审批，合同编号",
    "approvals.submit": "提交",
    "approvals.none": "此处没有待办。",
    "approvals.round": "第 {n} 轮，由 {who} 于 {at} 提交",
    "approvals.waiting_step": "等待第 {n} 步",
    "approvals.terms": "已确认条款",
    "approvals.changes": "自上一轮以来的变更",
    "approvals.step_done": "已完成",
    "approvals.step_waiting": "等待中",
    "approvals.step_pending": "待进行",
    "approvals.mode_any": "任一人",
    "approvals.mode_all": "全部人",
    "approvals.approved_by": "已由 {who} 同意",
    "approvals.decision_approve": "同意",
    "approvals.decision_reject": "驳回",
    "approvals.comment": "意见",
    "approvals.reason": "理由（必填）",
    "approvals.approve": "同意",
    "approvals.reject": "驳回",
    "borrow.title": "借阅",
    "borrow.lead": (
        "申请借阅受限类别的合同：该类别的审批人批准或拒绝；"
        "批准后只对该合同给予所申请的权限，到期或归还即止。"
    ),
    "borrow.request": "申请借阅",
    "borrow.contract_id": "合同编号",
    "borrow.purpose": "用途",
    "borrow.days_label": "天数",
    "borrow.with_download": "同时允许下载",
    "borrow.send": "提交申请",
    "borrow.show_open": "只看待批和生效中",
    "borrow.show_all": "显示全部",
    "borrow.mine": "我的申请与借阅",
    "borrow.others": "我可审批或审计的申请与借阅",
    "borrow.none": "无。",
    "borrow.contract": "合同",
    "borrow.borrower": "借阅人",
    "borrow.access": "权限",
    "borrow.state": "状态",
    "borrow.download": "查看并下载",
    "borrow.view_only": "仅查看",
    "borrow.days": "{n} 天",
    "borrow.live": "生效中",
    "borrow.overdue": "逾期未还",
    "borrow.until": "至 {at}",
    "borrow.state_requested": "待审批",
    "borrow.state_granted": "已批准",
    "borrow.state_refused": "已拒绝",
    "borrow.state_returned": "已归还",
    "borrow.state_cancelled": "已撤回",
    "borrow.return": "立即归还",
    "borrow.withdraw": "撤回",
    "borrow.grant": "批准",
    "borrow.refuse": "拒绝",
    # the contract page's edit forms (edit_pages.py)
    "edit.title": "编辑",
    "edit.lead": "每项修改都会记录修改人、时间和原因，并封存为新的清单版本。",
    "edit.record": "标题和客户",
    "edit.terms": "条款：日期、金额、适用法律、续期",
    "edit.payments": "收付款",
    "edit.payment": "添加收付款",
    "edit.paid": "登记付款",
    "edit.file": "归档（档号）",
    "edit.lifecycle": "合同状态",
    "edit.transition": "合同状态",
    "edit.holds": "冻结",
    "edit.hold": "冻结合同",
    "edit.release": "解除",
    "edit.relation": "主合同与变更协议",
    "edit.save": "保存",
    "edit.reason": "原因（记入历史）",
    "edit.customer_help": "已有客户的名称或别名。",
    "edit.new_customer": "以此名称新建客户",
    "edit.suggested": "从文本识别：{value}",
    "edit.renewals_help": "留空表示不限次数。自动续期用完次数后即到期；提醒任务记录每次自动续期。",
    "edit.terms_help": (
        "日期格式为“年-月-日”，例如 2026-03-31。清空的字段将被清除；只保存有改动的字段。"
    ),
    "edit.paid_so_far": "已付 {paid}，未付 {outstanding}",
    "edit.record_paid": "登记付款",
    "edit.add_payment": "添加收付款",
    "edit.filed_as": "已归档，档号 {code}",
    "edit.disposal_due": "到期处置日",
    "edit.not_filable": "合同签署后方可归档；本合同当前为{state}。",
    "edit.file_help": "档号由系统一次性分配：全宗号-HT·年度-保管期限-分类-件号。",
    "edit.retention_default": "按分类的默认期限",
    "edit.file_submit": "归档并分配档号",
    "edit.current_state": "当前状态：{state}",
    "edit.transition_submit": "变更状态",
    "edit.no_transitions": "当前状态不能再变更。",
    "edit.holds_help": "冻结期间，无论保管期限如何，合同都不会被处置。",
    "edit.hold_active": "已冻结：",
    "edit.release_reason": "解除原因",
    "edit.no_holds": "没有冻结。",
    "edit.hold_reason": "冻结原因（诉讼、审计等）",
    "edit.place_hold": "冻结合同",
    "edit.linked_to": "本合同是以下合同的{relation}：",
    "edit.unlink": "解除关联",
    "edit.amendments": "关联到本合同的合同：",
    "edit.link": "关联",
    "edit.field.title": "标题",
    "edit.field.customer": "客户",
    "edit.field.due_date": "到期日",
    "edit.field.paid_amount": "累计已付金额",
    "edit.field.paid_date": "付款日期",
    "edit.field.direction": "方向",
    "edit.field.description": "说明",
    "edit.field.fonds_code": "全宗号",
    "edit.field.to": "变更为",
    "edit.field.master_id": "主合同编号",
    "edit.field.reason": "原因",
    "edit.field.release_reason": "解除原因",
    "edit.error.bad_date": "{field}：不是有效日期。请写成“年-月-日”，例如 2026-03-31。",
    "edit.error.bad_amount": "{field}：不是有效金额。请填写数字，最多两位小数，例如 2500000.00。",
    "edit.error.bad_number": "{field}：请填写整数。",
    "edit.error.invalid": "{field}：此值不被接受。",
    "edit.error.required": "{field}：此项必填。",
    "edit.error.title_required": "标题不能为空。",
    "edit.error.customer_required": "此处不能删除客户；请填写另一个客户。",
    "edit.error.unknown_customer": (
        "{field}：没有此名称的客户。请检查拼写（见“客户”），或勾选“以此名称新建客户”。"
    ),
    "edit.error.unknown_code": "{field}：不是分类方案中的代码。",
    "edit.error.reason_required": "{field}：请填写原因。",
    "edit.not_saved": "未保存：请查看下方“{form}”表单。",
    "edit.saved.record": "标题和客户已保存。",
    "edit.saved.terms": "条款已保存。",
    "edit.saved.payment": "收付款已添加。",
    "edit.saved.paid": "付款已登记。",
    "edit.saved.file": "已归档，档号 {code}。",
    "edit.saved.transition": "合同当前状态：{state}。",
    "edit.saved.hold": "合同已冻结。",
    "edit.saved.release": "冻结已解除。",
    "edit.saved.relation": "与主合同的关联已保存。",
    "edit.saved.unlink": "与主合同的关联已解除。",
    "edit.saved.unchanged": "没有任何改动。",
    "value.retention.Y": "永久（Y）",
    "value.retention.D30": "30 年（D30）",
    "value.retention.D10": "10 年（D10）",
    "value.direction.receivable": "应收",
    "value.direction.payable": "应付",
    # 四性检测 at filing (issue 13)
    "fourprops.title": "四性检测",
    "fourprops.lead": "归档时按 DA/T 70 对电子文件包进行的真实性、完整性、可用性、安全性检测。",
    "fourprops.checked": "{by} 于 {at} 检测。",
    "fourprops.sealed": "检测报告（{file}，SHA-256 {sha}）已封存于第 {version} 版清单。",
    "fourprops.not_sealed": "最新清单未列出检测报告（{file}）。",
    "fourprops.forced": "有检测项未通过仍归档，操作人 {by}，理由：{reason}",
    "fourprops.prop.authenticity": "真实性",
    "fourprops.prop.integrity": "完整性",
    "fourprops.prop.usability": "可用性",
    "fourprops.prop.security": "安全性",
    "fourprops.item.digests": "存储文件与封存摘要一致",
    "fourprops.item.seal": "档案封印",
    "fourprops.item.timestamp": "时间戳",
    "fourprops.item.embedded_signatures": "文件内电子签名",
    "fourprops.item.metadata_consistency": "记录与清单一致",
    "fourprops.item.package_files": "文件包齐全",
    "fourprops.item.metadata_complete": "元数据符合分类方案要求",
    "fourprops.item.format": "格式可识别",
    "fourprops.item.renders": "可打开并显示",
    "fourprops.item.text": "文本可提取或已 OCR",
    "fourprops.item.virus_scan": "病毒检测（ClamAV）",
    "fourprops.item.active_content": "无 JavaScript 或启动动作",
    "fourprops.item.access": "访问按分类要求受限",
    "edit.file_force": "四性检测未通过仍归档：理由",
}

# --- the contract table (issue 15) ---------------------------------------------------------------
EN.update(
    {
        "nav.contracts": "Contracts",
        "table.title": "Contracts",
        "table.classification": "Classification",
        "table.archival_code": "Archival code",
        "table.sign_date": "Signed",
        "table.currency": "Currency",
        "table.currency_hint": "The amount bounds are in this currency; other currencies are "
        "not compared",
        "table.verification": "Verification",
        "table.check.alert": "Damaged file",
        "table.check.failed": "Audit failed",
        "table.check.pending": "Seal pending",
        "table.check.sealed": "Sealed",
        "table.check.unsealed": "Not sealed",
        "table.file_name": "contracts",
        "table.filter": "Filter",
        "table.filter_on": "Filter on {column}",
        "table.clear": "Clear filters",
        "table.any": "Any",
        "table.unclassified": "Unclassified",
        "table.suggested": "(suggested)",
        "table.filed": "Filed or not",
        "table.filed_yes": "Filed",
        "table.filed_no": "Not filed",
        "table.owed_yes": "Owed",
        "table.owed_no": "Nothing owed",
        "table.from": "from",
        "table.to": "to",
        "table.min": "min",
        "table.max": "max",
        "table.total": "{total} contracts",
        "table.page_of": "Page {page} of {pages}",
        "table.size": "Rows per page",
        "table.first": "First",
        "table.last": "Last",
        "table.sort_by": "Sort by {column}",
        "table.empty": "No contract matches these filters.",
        "table.select": "Select",
        "table.select_all": "Select every contract on this page",
        "table.select_row": "Select contract {id}",
        "table.bulk": "Action on the selected rows",
        "table.bulk_action": "Action",
        "table.bulk.classify": "Classify",
        "table.bulk.customer": "Set the customer",
        "table.bulk.file": "File (assign the archival code)",
        "table.bulk.hold": "Place a legal hold",
        "table.bulk_value": "Code or customer",
        "table.bulk_reason": "Reason",
        "table.bulk_apply": "Apply to the selected rows",
        "table.bulk_done": "{action}: {done} done, {failed} failed.",
        "table.bulk_row": "Contract {id}",
        "table.views": "Saved views",
        "table.views_none": "No saved views yet.",
        "table.view_name": "Name of this view",
        "table.view_save": "Save this view",
        "table.view_delete": "Delete",
        "table.view_saved": "The view is saved.",
        "table.export": "Export all rows",
    }
)
ZH.update(
    {
        "nav.contracts": "合同列表",
        "table.title": "合同列表",
        "table.classification": "分类",
        "table.archival_code": "档号",
        "table.sign_date": "签订日期",
        "table.currency": "币种",
        "table.currency_hint": "最小、最大金额按此币种比较；其他币种的金额不参与比较",
        "table.verification": "验证",
        "table.check.alert": "文件损坏",
        "table.check.failed": "审计未通过",
        "table.check.pending": "待签章",
        "table.check.sealed": "已签章",
        "table.check.unsealed": "未签章",
        "table.file_name": "合同列表",
        "table.filter": "筛选",
        "table.filter_on": "按{column}筛选",
        "table.clear": "清除筛选",
        "table.any": "全部",
        "table.unclassified": "未分类",
        "table.suggested": "（建议）",
        "table.filed": "是否已归档",
        "table.filed_yes": "已归档",
        "table.filed_no": "未归档",
        "table.owed_yes": "有未收款",
        "table.owed_no": "无未收款",
        "table.from": "起",
        "table.to": "止",
        "table.min": "最小",
        "table.max": "最大",
        "table.total": "共 {total} 份合同",
        "table.page_of": "第 {page} 页，共 {pages} 页",
        "table.size": "每页行数",
        "table.first": "首页",
        "table.last": "末页",
        "table.sort_by": "按{column}排序",
        "table.empty": "没有符合筛选条件的合同。",
        "table.select": "选择",
        "table.select_all": "选择本页全部合同",
        "table.select_row": "选择合同 {id}",
        "table.bulk": "对所选行操作",
        "table.bulk_action": "操作",
        "table.bulk.classify": "分类",
        "table.bulk.customer": "设置客户",
        "table.bulk.file": "归档（分配档号）",
        "table.bulk.hold": "冻结（诉讼保全）",
        "table.bulk_value": "分类代码或客户",
        "table.bulk_reason": "原因",
        "table.bulk_apply": "应用于所选行",
        "table.bulk_done": "{action}：成功 {done} 份，失败 {failed} 份。",
        "table.bulk_row": "合同 {id}",
        "table.views": "已保存的视图",
        "table.views_none": "尚无已保存的视图。",
        "table.view_name": "视图名称",
        "table.view_save": "保存当前视图",
        "table.view_delete": "删除",
        "table.view_saved": "视图已保存。",
        "table.export": "导出全部行",
    }
)
# --- batch scans split by separator sheets (issue 16) ------------------------------------------
EN |= {
    "nav.batches": "Batch scans",
    "batch.title": "Batch scans",
    "batch.lead": (
        "A whole box scanned into one PDF, with a separator sheet before each contract: the "
        "archive splits it at the sheets. You see the split before anything is archived; the "
        "batch file is kept as evidence, linked to each contract."
    ),
    "batch.upload_h": "Upload a batch scan",
    "batch.file": "Batch scan (one PDF)",
    "batch.file_help": "Up to the upload limit; pages are looked at, nothing is archived yet.",
    "batch.default_help": "Customer and classification for contracts whose sheet names none.",
    "batch.preview": "Show the split",
    "batch.preview_h": "Planned split of {file}",
    "batch.committed_h": "{file} archived",
    "batch.summary": "{pages} pages, {sheets} separator sheets, {segments} contracts.",
    "batch.note.none": "No separator sheet found: the batch is archived as one contract.",
    "batch.note.only_sheets": "Only separator sheets: nothing to archive.",
    "batch.kept": "The batch file, kept as evidence:",
    "batch.segment": "Contract {n}: pages {pages}",
    "batch.segment_one": "Contract {n}: page {pages}",
    "batch.from_sheet": "sheet on page {page}",
    "batch.sheet_alt": "separator sheet, page {page}",
    "batch.sheet_page": "sheet (p. {page})",
    "batch.page_alt": "page {page} of the batch",
    "batch.page": "p. {page}",
    "batch.skipped_h": "Skipped",
    "batch.skipped.next": (
        "The sheet on page {page} is followed by the sheet on page {next}: no pages between."
    ),
    "batch.skipped.end": "The sheet on page {page} is the last page: no pages after it.",
    "batch.commit": "Archive these contracts",
    "batch.discard": "Discard",
    "batch.sheet_h": "Print a separator sheet",
    "batch.sheet_lead": (
        "Put one before each contract when scanning. The customer and classification on the "
        "sheet are given to the contract after it."
    ),
    "batch.sheet_get": "Download the sheet (PDF)",
    "batch.sheet_code": "Code on the sheet",
    "batch.sheet_code.qr": "QR code",
    "batch.sheet_code.code128": "Barcode (Code 128)",
    "batch.sheet_code_help": (
        "A QR code holds any customer name. A Code 128 barcode, for scanners that read 1D "
        "barcodes only, holds about 29 characters: a classification, or a short Latin "
        "customer name. Both kinds may be mixed in one batch."
    ),
    "batch.cli": "On the command line:",
}
ZH |= {
    "nav.batches": "批量扫描",
    "batch.title": "批量扫描",
    "batch.lead": (
        "整盒档案扫描成一个 PDF，每份合同前放一张分隔页：系统在分隔页处拆分。"
        "归档前先预览拆分结果；批量扫描原件作为证据保存，并与每份合同关联。"
    ),
    "batch.upload_h": "上传批量扫描件",
    "batch.file": "批量扫描件（一个 PDF）",
    "batch.file_help": "不超过上传上限；此步只查看页面，尚不归档。",
    "batch.default_help": "分隔页未注明客户或分类时，使用这里填写的客户和分类。",
    "batch.preview": "查看拆分",
    "batch.preview_h": "{file} 的拆分预览",
    "batch.committed_h": "{file} 已归档",
    "batch.summary": "共 {pages} 页，{sheets} 张分隔页，{segments} 份合同。",
    "batch.note.none": "未找到分隔页：整个批次作为一份合同归档。",
    "batch.note.only_sheets": "只有分隔页：没有可归档的内容。",
    "batch.kept": "批量扫描原件（作为证据保存）：",
    "batch.segment": "合同 {n}：第 {pages} 页",
    "batch.segment_one": "合同 {n}：第 {pages} 页",
    "batch.from_sheet": "分隔页在第 {page} 页",
    "batch.sheet_alt": "分隔页，第 {page} 页",
    "batch.sheet_page": "分隔页（第 {page} 页）",
    "batch.page_alt": "批次第 {page} 页",
    "batch.page": "第 {page} 页",
    "batch.skipped_h": "已跳过",
    "batch.skipped.next": "第 {page} 页的分隔页后紧接第 {next} 页的分隔页：中间没有页面。",
    "batch.skipped.end": "第 {page} 页的分隔页是最后一页：其后没有页面。",
    "batch.commit": "归档这些合同",
    "batch.discard": "放弃",
    "batch.sheet_h": "打印分隔页",
    "batch.sheet_lead": "扫描时在每份合同前放一张。分隔页上的客户和分类将用于其后的合同。",
    "batch.sheet_get": "下载分隔页（PDF）",
    "batch.sheet_code": "分隔页上的码",
    "batch.sheet_code.qr": "二维码",
    "batch.sheet_code.code128": "一维条形码",
    "batch.sheet_code_help": (
        "二维码可容纳任何客户名称。一维条形码适用于只识别一维条码的扫描设备，约可容纳 29 "
        "个字符：一个分类代码，或较短的拉丁字母客户名称（中文名称请用二维码）。同一批次中两种分隔页可以混用。"
    ),
    "batch.cli": "命令行：",
}
EN["value.relation.scan_batch"] = "split from the batch scan"
ZH["value.relation.scan_batch"] = "拆分自批量扫描件"

# the contract page's parties form (issue 15)
EN |= {
    "edit.parties": "Parties",
    "edit.parties_help": (
        "A party keeps its link to a customer record while its name is unchanged; a new or "
        "renamed party is linked to the customer whose name or alias it is, if there is one."
    ),
    "edit.party_n": "Party {n}",
    "edit.party_us": "our side",
    "edit.party_linked": "customer record",
    "edit.party_role": "Role",
    "edit.party_name": "Name",
    "edit.party_remove": "Remove this party",
    "edit.no_parties": "No party is recorded yet.",
    "edit.add_party": "Add a party",
    "edit.error.party_name_required": (
        'A party needs a name; to remove the party, tick "Remove this party".'
    ),
    "edit.error.unknown_role": "Choose one of the roles offered.",
    "edit.error.too_many_parties": "A contract has at most 20 parties: remove one first.",
    "edit.saved.parties": "Parties saved.",
    "value.party_role.party_a": "Party A",
    "value.party_role.party_b": "Party B",
    "value.party_role.party_c": "Party C",
    "value.party_role.party_d": "Party D",
    "value.party_role.seller": "Seller",
    "value.party_role.buyer": "Buyer",
    "value.party_role.lessor": "Lessor",
    "value.party_role.lessee": "Lessee",
    "value.party_role.principal": "Principal",
    "value.party_role.agent": "Agent",
    "value.party_role.employer": "Employer",
    "value.party_role.contractor": "Contractor",
    "value.party_role.employee": "Employee",
    "value.party_role.lender": "Lender",
    "value.party_role.borrower": "Borrower",
    "value.party_role.guarantor": "Guarantor",
    "value.party_role.licensor": "Licensor",
    "value.party_role.licensee": "Licensee",
    "value.party_role.transferor": "Transferor",
    "value.party_role.transferee": "Transferee",
    "value.party_role.provider": "Service provider",
    "value.party_role.party": "Party",
}
# the contract page's parties form (issue 15)
ZH |= {
    "edit.parties": "当事人",
    "edit.parties_help": (
        "名称不变的当事人保留与客户记录的关联；"
        "新增或改名的当事人关联到名称或别名相符的客户（如有）。"
    ),
    "edit.party_n": "当事人 {n}",
    "edit.party_us": "我方",
    "edit.party_linked": "客户记录",
    "edit.party_role": "身份",
    "edit.party_name": "名称",
    "edit.party_remove": "删除此当事人",
    "edit.no_parties": "尚未记录当事人。",
    "edit.add_party": "添加当事人",
    "edit.error.party_name_required": (
        "当事人名称不能为空；如要删除该当事人，请勾选“删除此当事人”。"
    ),
    "edit.error.unknown_role": "请从列出的身份中选择。",
    "edit.error.too_many_parties": "一份合同最多 20 个当事人：请先删除一个。",
    "edit.saved.parties": "当事人已保存。",
    "value.party_role.party_a": "甲方",
    "value.party_role.party_b": "乙方",
    "value.party_role.party_c": "丙方",
    "value.party_role.party_d": "丁方",
    "value.party_role.seller": "卖方",
    "value.party_role.buyer": "买方",
    "value.party_role.lessor": "出租人",
    "value.party_role.lessee": "承租人",
    "value.party_role.principal": "委托人",
    "value.party_role.agent": "受托人",
    "value.party_role.employer": "发包人（用人单位）",
    "value.party_role.contractor": "承包人",
    "value.party_role.employee": "劳动者",
    "value.party_role.lender": "贷款人（出借人）",
    "value.party_role.borrower": "借款人",
    "value.party_role.guarantor": "保证人",
    "value.party_role.licensor": "许可方",
    "value.party_role.licensee": "被许可方",
    "value.party_role.transferor": "转让方",
    "value.party_role.transferee": "受让方",
    "value.party_role.provider": "服务方",
    "value.party_role.party": "当事人",
}

CATALOGS: Mapping[Lang, Mapping[str, str]] = {"en": EN, "zh": ZH}


def translate(lang: Lang, key: str, **values: object) -> str:
    """The string ``key`` in ``lang`` with ``{placeholders}`` filled in. A missing key is a bug
    that the catalog test catches; at run time it falls back to English, then to the key.
    English counts of one take the singular ("1 contract", "1 separator sheet"; the rule is
    :func:`core.plural.counted`, shared with the command line): the catalog writes the plural,
    as Chinese needs no second form."""
    text = CATALOGS[lang].get(key) or EN.get(key) or key
    if not values:
        return text
    text = text.format(**values)
    if lang == "en":
        text = counted(text)
    return text


def _accept_language(header: str) -> list[tuple[str, float]]:
    out = []
    for part in header.split(","):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if tag:
            out.append((tag.strip().lower(), q))
    return out


def negotiate(header: str | None) -> Lang:
    """Chinese when the browser prefers some ``zh`` at least as much as English."""
    best: dict[str, float] = {}
    for tag, q in _accept_language(header or ""):
        primary = tag.split("-")[0]
        if primary in ("zh", "en") and q > 0:
            best[primary] = max(best.get(primary, 0.0), q)
    if "zh" in best and best["zh"] >= best.get("en", 0.0):
        return "zh"
    if "en" in best:
        return "en"
    return DEFAULT_LANG


def request_lang(request: Request) -> tuple[Lang, bool]:
    """The request's language, and whether it was chosen now (``?lang=``: set the cookie)."""
    asked = request.query_params.get("lang")
    if asked in LANGS:
        return asked, True
    cookie = request.cookies.get(LANG_COOKIE)
    if cookie in LANGS:
        return cookie, False
    return negotiate(request.headers.get("accept-language")), False


# --- messages from below (errors, verification reasons, reminders, query errors) ---------------
# The layers below speak English (the API's envelope, the CLI, the logs). A Chinese page shows
# them through this table: a pattern of the English message and its Chinese form, with the
# pattern's groups filled in (themselves translated when they are messages too). A message no
# pattern knows is shown in English, marked lang="en" by the templates.
MESSAGES_ZH: list[tuple[re.Pattern[str], str]] = [
    (re.compile(pattern + r"\Z", re.S), template)
    for pattern, template in (
        # intake (ingest.formats, ingest.images)
        (
            r"unsupported format: the file is (.+); the archive takes ([A-Z0-9, ]+) and "
            r"([A-Z0-9 ]+)",
            "不支持的格式：该文件是{0}；本档案接受 {1} 和 {2} 文件",
        ),
        (r"a Word document \(DOCX\)", "Word 文档（DOCX）"),
        (r"an Excel workbook \(XLSX\)", "Excel 工作簿（XLSX）"),
        (r"a PowerPoint presentation \(PPTX\)", "PowerPoint 演示文稿（PPTX）"),
        (r"an OpenDocument text \(ODT\)", "OpenDocument 文本（ODT）"),
        (r"an OpenDocument spreadsheet \(ODS\)", "OpenDocument 电子表格（ODS）"),
        (
            r"a legacy Microsoft Office document \(DOC/XLS/MSG\)",
            "旧版 Microsoft Office 文档（DOC/XLS/MSG）",
        ),
        (r"an OFD document \(GB/T 33190\)", "OFD 版式文档（GB/T 33190）"),
        (
            r"a PDF in a batches folder is a batch scan, split at its separator sheets",
            "batches 文件夹中的 PDF 是批量扫描件，按分隔页拆分",
        ),
        (
            r"upload it on the Batch scans page \(/batches\), or archive the folder with "
            r"contract-archive ingest, which splits it",
            "请在“批量扫描”页面（/batches）上传，"
            "或用 contract-archive ingest 归档该文件夹（会自动拆分）",
        ),
        (r"a ZIP archive", "ZIP 压缩包"),
        (r"an e-mail message", "电子邮件"),
        (r"a GIF image", "GIF 图像"),
        (r"a BMP image", "BMP 图像"),
        (r"a WebP image", "WebP 图像"),
        (r"a PNG image", "PNG 图像"),
        (r"a JPEG image", "JPEG 图像"),
        (r"a TIFF image", "TIFF 图像"),
        (
            r"the file is (.+) and needs LibreOffice \((.+)\), which is not installed",
            "该文件是{0}，需要 LibreOffice（{1}），但本机未安装",
        ),
        (
            r"install LibreOffice, or save the document as PDF and archive the PDF",
            "请安装 LibreOffice，或将文档另存为 PDF 后归档该 PDF",
        ),
        (
            r"damaged OFD: the file is (.+) that cannot be read \((.+)\)",
            "OFD 已损坏：该文件是无法读取的{0}（{1}）",
        ),
        (
            r"export the document again from its source \(or print it to PDF\) and archive that",
            "请从来源重新导出该文档（或打印为 PDF），再归档",
        ),
        (
            r"damaged e-mail: the message cannot be read \((.+)\)",
            "电子邮件已损坏：无法读取该邮件（{0}）",
        ),
        (
            r"the e-mail has (\d+) attachments, more than ARCHIVE_MAX_EMAIL_ATTACHMENTS "
            r"\((\d+)\)",
            "该邮件有 {0} 个附件，超过 ARCHIVE_MAX_EMAIL_ATTACHMENTS（{1}）",
        ),
        (
            r"LibreOffice took longer than (.+) s to convert the file \((.+)\) and was stopped",
            "LibreOffice 转换该文件（{1}）超过 {0} 秒，已被终止",
        ),
        (
            r"damaged Office document: the file is (.+) that cannot be read \((.+)\)",
            "Office 文档已损坏：该文件是无法读取的{0}（{1}）",
        ),
        (
            r"open it in its program, save it again \(or export it to PDF\) and archive that",
            "请在其程序中打开并重新保存（或导出为 PDF），再归档",
        ),
        (r"an RTF document", "RTF 文档"),
        (r"an HTML or XML document", "HTML 或 XML 文档"),
        (r"a gzip archive", "gzip 压缩包"),
        (r"a 7-Zip archive", "7-Zip 压缩包"),
        (r"a RAR archive", "RAR 压缩包"),
        (r"a plain text file", "纯文本文件"),
        (r"an empty file", "空文件"),
        (r"a file of unknown type", "未知类型的文件"),
        (
            r"presentations are not archived: save it as PDF \(File > Save as / Export to PDF\) "
            r"and archive the PDF",
            "不归档演示文稿：请先另存为 PDF（文件 > 另存为 / 导出为 PDF），再归档该 PDF",
        ),
        (
            r"unpack the archive and archive the PDF or image files inside it",
            "请解压该压缩包，再归档其中的 PDF 或图像文件",
        ),
        (r"unpack it and archive the files inside", "请解压后归档其中的文件"),
        (
            r"convert it to PNG, JPEG, TIFF or PDF and archive that",
            "请转换为 PNG、JPEG、TIFF 或 PDF 后再归档",
        ),
        (
            r"the archive takes ([A-Z0-9, ]+) and ([A-Z0-9 ]+) files: save it as PDF and archive "
            r"the PDF",
            "本档案接受 {0} 和 {1} 文件：请另存为 PDF 后归档该 PDF",
        ),
        (
            r"the file has no bytes: copy it again from its source",
            "文件没有内容：请从来源重新复制",
        ),
        (
            r"damaged image: the file is (.+) that cannot be decoded \((.+)\)",
            "图像已损坏：该文件是无法解码的{0}（{1}）",
        ),
        (
            r"scan or export the page again and archive the new file",
            "请重新扫描或导出该页，再归档新文件",
        ),
        # query syntax (storage.index.query)
        (r"invalid query at character (\d+): (.+)", "检索式第 {0} 个字符处有误：{1}"),
        (r"invalid query: (.+)", "检索式有误：{0}"),
        (r"a quotation mark is not closed", "引号没有闭合"),
        (
            r"unknown field '([^']*)'; known fields: (.+); to search for the text itself, "
            r"put it in quotes",
            "未知字段 {0}；可用字段：{1}；如要检索这段文字本身，请加引号",
        ),
        (
            r"field '([^']*)' needs a value right after the colon",
            "字段 {0} 的冒号后面需要紧跟一个值",
        ),
        (
            r"a range must look like \[2024-01-01 TO 2024-12-31\]",
            "范围的写法应为 [2024-01-01 TO 2024-12-31]",
        ),
        (r"a closing parenthesis has no opening one", "右括号没有对应的左括号"),
        (r"unexpected '(.*)'", "无法理解此处的 {0}"),
        (r"(OR|AND) needs something on both sides", "{0} 两边都需要有检索词"),
        (r"an expression is missing", "缺少检索词"),
        (r"'(.+)' must be followed by what to exclude", "{0} 后面需要紧跟要排除的内容"),
        (r"the query has more than (\d+) terms", "检索式超过 {0} 个检索词"),
        (r"empty parentheses", "括号中是空的"),
        (r"a parenthesis is not closed", "括号没有闭合"),
        (
            r"a range needs a field before it, as in archived:\[\.\.\. TO \.\.\.\]",
            "范围前面需要字段，例如 archived:[... TO ...]",
        ),
        (r"field '([^']*)' needs a value", "字段 {0} 需要一个值"),
        (r"field '([^']*)' does not take a range", "字段 {0} 不能使用范围"),
        (r'the phrase "(.*)" has no words to search for', "短语 {0} 中没有可检索的词"),
        (r"sha256: needs 64 hexadecimal digits", "sha256: 需要 64 位十六进制数字"),
        (r"(\w+): needs a whole number", "{0}: 需要一个整数"),
        (r"'(.*)' is not a date; write YYYY-MM-DD", "{0} 不是日期；请写成 YYYY-MM-DD"),
        (r"the range starts after it ends \((.+)\)", "范围的起点晚于终点（{0}）"),
        (r"(\w+): takes a date or a range, not a phrase", "{0}: 需要日期或范围，而不是短语"),
        (r"the excluded term has no words to search for", "要排除的内容中没有可检索的词"),
        (r"the query is longer than (\d+) characters", "检索式超过 {0} 个字符"),
        (r"the query contains a NUL character", "检索式含有空字符（NUL）"),
        (r"the query nests (?:deeper|more) than (\d+).*", "检索式的嵌套超过 {0} 层"),
        (
            r"the query language: words, .*",
            '检索语法：词语、"短语"、-排除、OR、括号、字段:值，以及 '
            "archived:[2024-01-01 TO 2024-12-31]",
        ),
        # access and errors (core.errors, services.access)
        (
            r"(.+) may not do this: it needs the permission (\S+)",
            "{0} 无权执行此操作：需要权限 {1}",
        ),
        (r"contract (\d+) does not exist", "合同 {0} 不存在"),
        (r"contract (\d+) has no suggestion (\d+)", "合同 {0} 没有编号为 {1} 的建议值"),
        (r"suggestion (\d+) is (\w+) already", "建议值 {0} 已{1}"),
        (r"accepted", "确认"),
        (r"rejected", "驳回"),
        (r"superseded", "被后续识别取代"),
        (r"only open suggestions can be accepted or rejected", "只有待处理的建议值可以确认或驳回"),
        # the contract page's edit forms (services.contracts: terms, filing, lifecycle)
        (r"no customer is named (.+)", "没有名为 {0} 的客户"),
        (r"(\w+) \((.+)\) is before (\w+) \((.+)\)", "{0}（{1}）早于 {2}（{3}）"),
        (r"contract (\d+) is filed already as (.+)", "合同 {0} 已归档，档号 {1}"),
        (
            r"contract (\d+) is (\w+); only a signed contract is filed",
            "合同 {0} 当前为{1}；只有已签署的合同可以归档",
        ),
        (r"contract (\d+) has no confirmed classification", "合同 {0} 尚无确认的分类"),
        (r"no fonds code \(全宗号\) to file under", "没有可用于归档的全宗号"),
        (r"contract (\d+) is (\w+); it cannot become (\w+)", "合同 {0} 当前为{1}，不能变为{2}"),
        (r"a contract cannot be its own master contract", "合同不能是自己的主合同"),
        (r"that would make the contracts each other's master", "这会使两份合同互为主合同"),
        (
            r"a relation \(amendment, supplement, \.\.\.\) needs a master_id",
            "关联关系（变更、补充等）需要主合同编号",
        ),
        (r"(\S+) is not a code of the classification scheme.*", "{0} 不是分类方案中的代码"),
        (r"releasing a hold needs a reason", "解除冻结需要说明原因"),
        (r"unknown status '(.+)'", "未知状态 {0}"),
        # a lifecycle state named inside a message (contract 3 is signed; ...)
        *((state, name) for state, name in STATE_NAMES_ZH.items()),
        (r"no customer (.+)", "没有客户 {0}"),
        (r"(?:Not Found|not found)", "没有找到"),
        # ingest results (services.facade.contracts)
        (
            r"already archived with the customer (.+); the customer given \((.+)\) was not "
            r"applied: change it on the contract if it is wrong",
            "已归档，客户为 {0}；本次填写的客户（{1}）未采用：如有误，请在合同页面修改",
        ),
        (
            r"already archived without a customer; the customer given \((.+)\) was not "
            r"applied: setting it needs the permission contracts:edit",
            "已归档，尚无客户；本次填写的客户（{0}）未采用：设置客户需要 contracts:edit 权限",
        ),
        (
            r"already archived without a customer; the customer given \((.+)\) was set",
            "已归档，尚无客户；已设为本次填写的客户（{0}）",
        ),
        (r"already archived, as a contract you may not see", "已归档，属于您无权查看的合同"),
        # verification reasons (signing.verify)
        (r"original", "原件"),
        (r"(.+) matches \((\d+) bytes\)", "{0}一致（{1} 字节）"),
        (r"(\d+) files? match(?:es)?: (.+)", "{0} 个文件一致：{1}"),
        (
            r"(\d+) listed files? match(?:es)?, but (.+) (?:is|are) in the package and not in "
            r"the manifest, so nothing proves them",
            "清单所列 {0} 个文件一致，但 {1} 在包内而不在清单中，无从证明",
        ),
        (
            r"(\d+) versions?, each the one issued and linked to the one before",
            "共 {0} 个版本，每个都是签发的版本，并链接到前一版本",
        ),
        (r"the manifest is exactly what (.+) signed", "清单与 {0} 签署的内容完全一致"),
        (
            r"chains to the trust anchor (.+) and was valid at the timestamp time (.+)",
            "可追溯到信任锚 {0}，且在时间戳时间 {1} 有效",
        ),
        (
            r"the seal existed at (.+) \(genTime\), attested by (.+)",
            "封印在 {0} 已存在，由 {1} 证明",
        ),
        (
            r"title, customer, classification, pages, digests, file name, size, ingest time "
            r"and user agree, and the confirmed terms, filing, holds and approvals",
            "标题、客户、分类、页数、摘要、文件名、大小、归档时间与归档人均一致，已确认的条款、"
            "归档信息、冻结与审批也一致",
        ),
        (
            r"title, customer, classification, pages, digests, file name, size, ingest time "
            r"and user agree, and the confirmed terms, filing, holds",
            "标题、客户、分类、页数、摘要、文件名、大小、归档时间与归档人均一致，已确认的条款、"
            "归档信息与冻结也一致",
        ),
        (
            r"title, customer, classification, pages, digests, file name, size, ingest time "
            r"and user agree",
            "标题、客户、分类、页数、摘要、文件名、大小、归档时间与归档人均一致",
        ),
        (r"the original carries no embedded signatures", "原件不含内嵌签名"),
        (r"the record and the manifest disagree on (.+)", "记录与清单在以下方面不一致：{0}"),
        (r"not sealed yet", "尚未封印"),
        (r"the seal is pending: (.+)", "封印待完成：{0}"),
        (r"the seal is missing", "封印缺失"),
        (r"the seal (.+) is missing from storage", "存储中缺少封印 {0}"),
        (r"(.+) is missing from storage", "存储中缺少 {0}"),
        (r"(.+) cannot be read: (.+)", "无法读取 {0}：{1}"),
        (r"(.+): (.+) differ from the manifest", "{0}：{1} 与清单不一致"),
        (r"the manifest cannot be read: (.+)", "无法读取清单：{0}"),
        (r"the manifest cannot be read", "无法读取清单"),
        (r"the manifest is missing", "清单缺失"),
        (r"the manifest (.+) is missing from storage", "存储中缺少清单 {0}"),
        (r"there is no manifest to check a seal of", "没有可供检查封印的清单"),
        (r"no manifest", "没有清单"),
        (r"the manifest lists no original", "清单中没有原件"),
        (r"the embedded-signature report is not readable", "内嵌签名报告无法读取"),
        (r"recovered without a seal", "恢复时没有封印"),
        (
            r"DEVELOPMENT SEAL KEYS IN USE: seals and timestamps are made with keys generated on "
            r"this machine \((.+)\); they prove nothing to a court or an auditor\. For production "
            r"set (\S+), (\S+) and (\S+)\.",
            "正在使用开发封印密钥：封印和时间戳由本机生成的密钥（{0}）制作，对法院或审计人员不具"
            "证明力。正式使用时请设置 {1}、{2} 和 {3}。",
        ),
    )
]
"""Chinese forms of the English messages pages show, tried in order; the first that matches
the whole message wins."""


def localize(lang: Lang, message: str | None) -> str | None:
    """``message`` in ``lang``: English as it is; Chinese from :data:`MESSAGES_ZH`, or None when
    no pattern knows it (the page then shows the English, marked as such)."""
    if message is None:
        return None
    if lang == "en":
        return message
    for pattern, template in MESSAGES_ZH:
        found = pattern.match(message)
        if found:
            parts = [localize(lang, g) or g if g else "" for g in found.groups()]
            return template.format(*parts)
    return None


def _zh_html(message: str) -> Markup | None:
    for pattern, template in MESSAGES_ZH:
        found = pattern.match(message)
        if found:
            parts = []
            for group in found.groups():
                group = group or ""
                inner = _zh_html(group)
                if inner is not None:
                    parts.append(inner)
                elif not re.search(r"[A-Za-z]", group):
                    parts.append(Markup.escape(group))  # numbers, dates written as numbers
                else:
                    parts.append(Markup('<span translate="no">{}</span>').format(group))
            return Markup.escape(template).format(*parts)
    return None


def localize_html(lang: Lang, message: str | None) -> Markup:
    """A message for a page: translated when a pattern knows it, the parts that are data (a
    name, a file, a date) marked ``translate="no"``; unknown, it stays English, marked
    ``lang="en"``."""
    if not message:
        return Markup("")
    if lang == "en":
        return Markup.escape(message)
    found = _zh_html(message)
    if found is not None:
        return found
    return Markup('<span lang="en">{}</span>').format(message)


# --- the 四性检测 report's reasons (services.fourprops, ingest.fourprops_probe) -----------------
_CHECK_IDS = (
    "original_digests|derived_digests|seal_signature|seal_certificate|timestamp|"
    "embedded_signatures|record_agreement|manifest_chain"
)
MESSAGES_ZH += [
    (re.compile(pattern + r"\Z", re.S), template)
    for pattern, template in (
        # an authenticity item joins the verification checks it stands for: "id: reason; ..."
        (rf"((?:{_CHECK_IDS}): .+?); ((?:{_CHECK_IDS}): .+)", "{0}；{1}"),
        (r"original_digests: (.+)", "原件摘要：{0}"),
        (r"derived_digests: (.+)", "派生文件摘要：{0}"),
        (r"seal_signature: (.+)", "封印签名：{0}"),
        (r"seal_certificate: (.+)", "封印证书：{0}"),
        (r"timestamp: (.+)", "时间戳：{0}"),
        (r"embedded_signatures: (.+)", "内嵌签名：{0}"),
        (r"record_agreement: (.+)", "记录一致性：{0}"),
        (r"manifest_chain: (.+)", "清单版本链：{0}"),
        # 完整性
        (
            r"the package has no readable manifest listing its files; missing: (.+)",
            "包内没有可读的文件清单；缺少：{0}",
        ),
        (r"the package has no readable manifest listing its files", "包内没有可读的文件清单"),
        (r"missing from the package: (.+)", "包内缺少：{0}"),
        (
            r"all (\d+) files? the manifest v(\d+) lists (?:is|are) present",
            "清单第 {1} 版所列的 {0} 个文件均在",
        ),
        (
            r"the filing metadata is complete; recommended but missing: (.+)",
            "归档元数据完整；建议补充：{0}",
        ),
        (
            r"title, classification, fonds code, year, retention, counterparty and date "
            r"formed are recorded",
            "题名、分类、全宗号、年度、保管期限、对方当事人和形成日期均已著录",
        ),
        # 可用性
        (r"the original cannot be read from storage", "无法从存储中读取原件"),
        (r"(.+) \(([\w.+-]+/[\w.+-]+)\), as recorded", "{0}（{1}），与记录一致"),
        (
            r"the bytes are (.+) \(([\w.+-]+/[\w.+-]+)\) but the record says (.+)",
            "文件内容为{0}（{1}），但记录为 {2}",
        ),
        (
            r"there is no PDF to render \(the original cannot be read\)",
            "没有可渲染的 PDF（原件无法读取）",
        ),
        (
            r"there is no PDF to render \(the original is (.+) and has no PDF rendition\)",
            "没有可渲染的 PDF（原件为 {0}，且没有 PDF 版本）",
        ),
        (
            r"opens \((\d+) pages?\) and page 1 renders \((\d+)x(\d+) px at 36 dpi\)",
            "可以打开（共 {0} 页），第 1 页可以渲染（36 dpi 下 {1}×{2} 像素）",
        ),
        (r"the PDF does not render", "该 PDF 无法渲染"),
        (r"the PDF has no pages", "该 PDF 没有页面"),
        (
            r"no pages were read from the file \(see its warnings\), so no text is known",
            "未能从文件读出任何页面（见其警告），文本未知",
        ),
        (r"((?:pages? |OCR failed on ).+?); ((?:pages? |OCR failed on ).+)", "{0}；{1}"),
        (r"pages? ([\d, ()+]+) awaits? OCR", "第 {0} 页等待 OCR"),
        (r"OCR failed on pages? ([\d, ()+]+)", "第 {0} 页 OCR 失败"),
        (r"pages? ([\d, ()+]+) ha(?:s|ve) no text", "第 {0} 页没有文本"),
        (
            r"text on all (\d+) pages? \((\d+) by OCR\)",
            "全部 {0} 页均有文本（其中 {1} 页由 OCR 识别）",
        ),
        (r"text on all (\d+) pages?", "全部 {0} 页均有文本"),
        (r"cannot be read: (.+)", "无法读取：{0}"),
        # 安全性
        (
            r"ClamAV ?(\S*) with (\d+) signatures? found nothing in the original and its "
            r"rendition",
            "ClamAV {0}（{1} 条特征）未在原件及其 PDF 版本中发现威胁",
        ),
        (
            r"ClamAV ?(\S*) with (\d+) signatures? found nothing in the original",
            "ClamAV {0}（{1} 条特征）未在原件中发现威胁",
        ),
        (r"ClamAV found (.+)", "ClamAV 发现：{0}"),
        (
            r"the virus scanner (.+) is not installed \(apt install clamav\), so nothing was "
            r"scanned \(ARCHIVE_CLAMAV_PROGRAM\)",
            "未安装病毒扫描程序 {0}（apt install clamav），因此未作扫描（ARCHIVE_CLAMAV_PROGRAM）",
        ),
        (
            r"the signature database (.+) does not exist, so nothing was scanned "
            r"\(ARCHIVE_CLAMAV_DATABASE\)",
            "特征库 {0} 不存在，因此未作扫描（ARCHIVE_CLAMAV_DATABASE）",
        ),
        (
            r"the virus scan took longer than (.+) s and was stopped "
            r"\(ARCHIVE_CLAMAV_TIMEOUT_SECONDS\), so it says nothing",
            "病毒扫描超过 {0} 秒被中止（ARCHIVE_CLAMAV_TIMEOUT_SECONDS），结果不作数",
        ),
        (
            r"ClamAV loaded no signatures, so the scan cannot say the package is clean "
            r"\(run freshclam, or set ARCHIVE_CLAMAV_DATABASE\)",
            "ClamAV 未加载任何特征，扫描无法证明包内无毒（请运行 freshclam，或设置 "
            "ARCHIVE_CLAMAV_DATABASE）",
        ),
        (
            r"ClamAV's scan limits were exceeded for (.+): not fully scanned",
            "{0} 超出 ClamAV 的扫描限制：未完整扫描",
        ),
        (r"clamscan failed: (.+)", "clamscan 运行失败：{0}"),
        (r"an image original carries no active content", "图像原件不含活动内容"),
        (r"the PDF cannot be looked into: (.+)", "无法检查该 PDF：{0}"),
        (r"there is no PDF", "没有 PDF"),
        (r"(the PDF contains .+?); (the PDF contains .+)", "{0}；{1}"),
        (
            r"the PDF contains ([^;]+) \(archived unchanged, never run\)",
            "该 PDF 含有 {0}（原样归档，从不执行）",
        ),
        (r"launch actions", "启动动作"),
        (
            r"the PDF rendition has none; the (.+) original itself \(macros, scripts\) is not "
            r"looked into",
            "PDF 版本中没有；{0} 原件本身（宏、脚本）未作检查",
        ),
        (
            r"no JavaScript, no launch actions \(document, pages, annotations\)",
            "无 JavaScript，无启动动作（文档、页面、批注）",
        ),
        (
            r"the record is classified (.+) but filed as (.+): the restriction of the class "
            r"would not apply to it",
            "记录的分类为 {0}，却按 {1} 归档：该分类的访问限制将不适用",
        ),
        (
            r"class (.+) is restricted: only members of (.+) \(and holders of a 借阅 grant\) "
            r"see it",
            "{0} 类受限：仅 {1} 的成员（及持有借阅授权者）可见",
        ),
        (
            r"class (.+) is not restricted: it is open to every user allowed to view "
            r"contracts, as the class requires",
            "{0} 类不受限：按该分类的要求，所有可查看合同的用户均可查看",
        ),
        # the formats (ingest.formats), inside the reasons above
        (r"a PDF document", "PDF 文档"),
        (r"a PNG image", "PNG 图像"),
        (r"a JPEG image", "JPEG 图像"),
        (r"a TIFF image", "TIFF 图像"),
        (r"a Word document \(DOCX\)", "Word 文档（DOCX）"),
        (r"an Excel workbook \(XLSX\)", "Excel 工作簿（XLSX）"),
        (r"an OpenDocument text \(ODT\)", "OpenDocument 文本（ODT）"),
        (r"an OpenDocument spreadsheet \(ODS\)", "OpenDocument 电子表格（ODS）"),
        (r"an OFD document \(GB/T 33190\)", "OFD 文档（GB/T 33190）"),
        (r"an e-mail message", "电子邮件"),
    )
]


# --- the contract table's messages (issue 15) ----------------------------------------------------
MESSAGES_ZH += [
    (re.compile(pattern + r"\Z", re.S), template)
    for pattern, template in (
        (r"no contract selected", "未选择任何合同"),
        (r"classify: choose a classification code", "分类：请选择分类代码"),
        (r"classify: (.+) is not a code of the scheme", "分类：{0} 不是分类方案中的代码"),
        (r"customer: give the customer's name", "客户：请填写客户名称"),
        (r"customer: no customer '(.+)'", "客户：没有客户“{0}”"),
        (r"hold: give the reason for the hold", "冻结：请填写冻结原因"),
        (r"a view needs a name of 1 to 200 characters", "视图名称须为 1 到 200 个字符"),
        (r"saved view (\d+) does not exist", "已保存的视图 {0} 不存在"),
        (r"([^:]+): not a date: '(.+)'", "{0}：不是日期：“{1}”"),
        (r"([^:]+): not an amount: '(.+)'", "{0}：不是金额：“{1}”"),
        (
            r"([^:]+): an amount is compared in one currency: choose the currency",
            "{0}：金额只在同一币种内比较：请选择币种",
        ),
        (r"([^:]+): unknown '(.+)'", "{0}：未知的“{1}”"),
        (r"([^:]+): give yes or no, not '(.+)'", "{0}：请填“是”或“否”，而不是“{1}”"),
        (r"sort: unknown column '(.+)'", "排序：没有列“{0}”"),
    )
]


# --- every message an archive error carries (issue 15; tests/test_i18n_messages.py finds them) ---
_NOTE_KEY = r"the ledger key|the access log key|(?:the )?\S+ key"
"""What signing.notes.load_or_create_signer names a key (its ``what``)."""
_ENGINE_STEP = (
    r"(?:creating|deleting) index \S+|moving the alias|refreshing \S+|reading the server's version|"
    r"looking for (?:alias )?\S+|reading alias \S+|reading the mapping of \S+|bulk indexing|"
    r"counting|searching"
)
MESSAGES_ZH += [
    (re.compile(pattern + r"\Z", re.S), template)
    for pattern, template in (
        # classification scheme and rules (core.rules, services.contracts.scheme)
        (r"invalid classification code '(.*)'", "分类代码 {0} 无效"),
        (r"invalid code of the classification scheme '(.*)'", "分类方案代码 {0} 无效"),
        (r"(\S+) is not a code of the current scheme", "{0} 不是现行分类方案中的代码"),
        (
            r"(\S+) is the fallback code of the scheme and cannot be retired",
            "{0} 是分类方案的兜底代码，不能停用",
        ),
        (
            r"(\d+) contracts have a confirmed classification; training needs contracts of at "
            r"least two codes",
            "已确认分类的合同有 {0} 份；训练需要至少两个分类代码下的合同",
        ),
        (r"no classification scheme exists", "尚无分类方案"),
        (r"classification scheme version (\d+) does not exist", "分类方案第 {0} 版不存在"),
        (
            r"the classification scheme changed meanwhile \(now version (\d+)\)",
            "分类方案已被他人修改（现为第 {0} 版）",
        ),
        (r"the classification scheme changed meanwhile", "分类方案已被他人修改"),
        (r"retention must be one of (.+)", "保管期限须为以下之一：{0}"),
        # approval rules (core.workflows)
        (r"(.+) must be a list of non-empty texts", "{0} 须为非空文本的列表"),
        (
            r"(.+): a step is an object with users, roles, groups and mode",
            "{0}：审批步骤须为含 users、roles、groups 和 mode 的对象",
        ),
        (r"(.+): unknown key\(s\) (.+)", "{0}：未知的键 {1}"),
        (r"(.+): mode must be one of (.+), not '(.*)'", "{0}：mode 须为 {1} 之一，而不是 {2}"),
        (r"(.+): unknown role '(.*)'", "{0}：未知角色 {1}"),
        (r"(.+): a step selects no one", "{0}：该步骤没有选中任何人"),
        (r'approval rules are \{"rules": \[ \.\.\. \]\}', '审批规则的格式为 {{"rules": [ ... ]}}'),
        (r"at most (\d+) approval rules", "审批规则最多 {0} 条"),
        (
            r"rule (\d+): a rule is an object with name, when and steps",
            "第 {0} 条规则：规则须为含 name、when 和 steps 的对象",
        ),
        (r"(.+): two rules have this name", "{0}：有两条规则同名"),
        (r"(.+): when is an object of conditions", "{0}：when 须为由条件组成的对象"),
        (r"(.+): unknown condition\(s\) (.+)", "{0}：未知的条件 {1}"),
        (r"(.+): amount_over must be a number", "{0}：amount_over 须为数字"),
        (
            r"(.+): amount_over must be a number of at least 0",
            "{0}：amount_over 须为不小于 0 的数字",
        ),
        (
            r"(.+): currency is a three-letter code, e\.g\. CNY",
            "{0}：币种为三个字母的代码，例如 CNY",
        ),
        (r"(.+): a rule needs at least one step", "{0}：规则至少需要一个步骤"),
        (r"(.+): at most (\d+) steps", "{0}：最多 {1} 个步骤"),
        (r"(.+), step (\d+)", "{0}，第 {1} 步"),
        (r"rule (\d+)", "第 {0} 条规则"),
        (r"invalid risk flag '(.*)'", "风险标记 {0} 无效"),
        (r"a comment is required", "需要填写意见"),
        (r"a purpose is required", "需要填写借阅目的"),
        (r"a note is required", "需要填写备注"),
        (r"the comment is longer than 2000 characters", "意见超过 2000 个字符"),
        (r"the purpose is longer than 2000 characters", "借阅目的超过 2000 个字符"),
        (r"the note is longer than 2000 characters", "备注超过 2000 个字符"),
        (r"days must be a whole number", "天数须为整数"),
        (r"a borrowing lasts 1 to (\d+) days, not (.+)", "借阅期限为 1 到 {0} 天，而不是 {1}"),
        # approvals (services.facade.approvals, storage.records.approvals_sql)
        (
            r"the approval rules changed meanwhile \(now version (\d+)\)",
            "审批规则已被他人修改（现为第 {0} 版）",
        ),
        (
            r"contract (\d+) is (\w+); only a draft can be submitted for approval",
            "合同 {0} 当前为{1}；只有草稿可以提交审批",
        ),
        (r"approval round (\d+) does not exist", "审批轮次 {0} 不存在"),
        (r"contract (\d+) is not in approval \(it is (\w+)\)", "合同 {0} 不在审批中（当前为{1}）"),
        (r"the approval moved on meanwhile", "审批已被他人推进"),
        (r"(.+) approved this step already", "{0} 已审批过此步骤"),
        (
            r"there are no approval rules, so no chain can be selected",
            "没有审批规则，因此无法选出审批链",
        ),
        (r"no approval rule selects contract (\d+)", "没有审批规则适用于合同 {0}"),
        (
            r"step (\d+) \((.+)\) selects no one who may approve contract (\d+)",
            "第 {0} 步（{1}）没有选中可审批合同 {2} 的人",
        ),
        (r"nobody approves or rejects their own submission", "任何人都不能审批自己提交的申请"),
        (
            r"(.+) is not an approver of step (\d+) of contract (\d+) \((.+)\)",
            "{0} 不是合同 {2} 第 {1} 步（{3}）的审批人",
        ),
        (
            r"(.+) is no longer one of the approvers of step (\d+) \((.+)\): the role, group or "
            r"clearance that made them one is gone",
            "{0} 已不再是第 {1} 步（{2}）的审批人：使其成为审批人的角色、用户组或权限已不存在",
        ),
        (r"unknown approval state '(.*)'", "未知的审批状态 {0}"),
        # the lifecycle (services.contracts.lifecycle, storage.records.lifecycle_sql)
        (
            r"a correction outside the lifecycle rules needs a reason",
            "在生命周期规则之外更正状态需要说明原因",
        ),
        (
            r"a contract goes into approval only by being submitted, which starts the chain of "
            r"approvers the approval rules select",
            "合同只能通过提交进入审批，提交后将启动审批规则选出的审批链",
        ),
        (
            r"contract (\d+) is in approval: only its approvers' decisions move it on \(the last "
            r"approval to signing, a rejection back to draft\)",
            "合同 {0} 正在审批中：只有审批人的决定能推进它"
            "（最后一步批准后进入签署，驳回则退回草稿）",
        ),
        (
            r"a filing forced past the 四性检测 needs a reason",
            "未通过四性检测而强制归档，需要说明原因",
        ),
        (r"a hold needs a reason", "冻结需要说明原因"),
        (
            r"contract (\d+) is held \((.+)\); it cannot be disposed of",
            "合同 {0} 已冻结（{1}），不能处置",
        ),
        (
            r"contract (\d+) is not due for disposal before (.+)",
            "合同 {0} 在 {1} 之前不到处置期",
        ),
        (r"contract (\d+) is not due for disposal", "合同 {0} 未到处置期"),
        (r"the paid amount is more than the amount due", "已付金额超过应付金额"),
        (r"contract (\d+) is (\w+) already", "合同 {0} 已是{1}"),
        (
            r"archival code (.+) belongs to contract (\d+) already",
            "档号 {0} 已属于合同 {1}",
        ),
        (r"contract (\d+) has no hold (\d+)", "合同 {0} 没有编号为 {1} 的冻结"),
        (r"hold (\d+) was released already", "冻结 {0} 已解除"),
        (r"contract (\d+) has no payment item (\d+)", "合同 {0} 没有编号为 {1} 的付款项"),
        # terms (services.contracts.terms, storage.records.terms_sql)
        (r"(\w+) must be a whole number from (-?\d+) to (\d+)", "{0} 须为 {1} 到 {2} 之间的整数"),
        (r"'(.*)' cannot be set here", "{0} 不能在此设置"),
        (
            r"contract (\d+) is filed as (.+); its fonds code is part of the archival code and "
            r"cannot change",
            "合同 {0} 已归档，档号 {1}；全宗号是档号的一部分，不能更改",
        ),
        (
            r"changing the retention of a filed contract is an appraisal: give a reason",
            "更改已归档合同的保管期限属于鉴定：请说明原因",
        ),
        (r"every party needs a name", "每个当事方都需要名称"),
        (
            r"a term needs a confirmed effective or signing date to give an expiry",
            "期限需要已确认的生效日期或签署日期，才能推算到期日",
        ),
        (r"suggestions of '(.*)' cannot be accepted", "{0} 的建议值不能确认"),
        (r"a contract has no term '(.*)'", "合同没有条款字段 {0}"),
        (r"suggestion (\d+) does not exist", "建议值 {0} 不存在"),
        (
            r"a suggestion can be accepted or rejected, not '(.*)'",
            "建议值只能确认或驳回，而不能 {0}",
        ),
        (
            r"nothing to change: give title, customer or classification",
            "没有要修改的内容：请填写标题、客户或分类",
        ),
        (r"nothing to change", "没有要修改的内容"),
        (r"the title must not be empty", "标题不能为空"),
        (r"cannot change '?([^']*?)'? of a contract", "不能修改合同的 {0}"),
        (r"cannot change (.+) of a user", "不能修改用户的 {0}"),
        # customers (services.contracts.customers, storage.records.customers_sql)
        (r"customer (\d+) does not exist", "客户 {0} 不存在"),
        (r"the name '(.*)' already belongs to customer (\d+)", "名称 {0} 已属于客户 {1}"),
        (r"a customer has no field '(.*)'", "客户没有字段 {0}"),
        (r"customer (\d+) has no alias '(.*)'", "客户 {0} 没有别名 {1}"),
        (r"a customer cannot be merged into itself", "客户不能合并到自身"),
        (
            r"(.+) is not a valid 统一社会信用代码 \(its check character is wrong\)",
            "{0} 不是有效的统一社会信用代码（校验位有误）",
        ),
        (r"a customer needs a name with letters or digits", "客户名称须含有文字或数字"),
        (r"an alias needs letters or digits", "别名须含有文字或数字"),
        (r"the customer '(.*)' could not be matched; retry", "未能匹配客户 {0}；请重试"),
        # time windows and searches (services.contracts.base, services.search)
        (r"'(.*)' is not a time window", "{0} 不是时间窗口"),
        (
            r"the window '(.*)' is out of range \(0 to 100 years\)",
            "时间窗口 {0} 超出范围（0 到 100 年）",
        ),
        (r"limit must be between 1 and (\d+), not (.+)", "limit 须在 1 到 {0} 之间，而不是 {1}"),
        (
            r"offset must be between 0 and 100000, not (.+)",
            "offset 须在 0 到 100000 之间，而不是 {0}",
        ),
        (r"sort must be one of (.+), not '(.*)'", "sort 须为 {0} 之一，而不是 {1}"),
        (
            r"the query has more than (\d+) operators and parentheses",
            "检索式的运算符和括号超过 {0} 个",
        ),
        (
            r"the query nests parentheses and exclusions more than (\d+) deep",
            "检索式中括号与排除的嵌套超过 {0} 层",
        ),
        (r"clause: '(.*)' is not a clause type", "clause: {0} 不是条款类型"),
    )
]
MESSAGES_ZH += [
    (re.compile(pattern + r"\Z", re.S), template)
    for pattern, template in (
        # the records database (storage.records)
        (r"the change conflicts with existing data: (.+)", "该修改与现有数据冲突：{0}"),
        (r"the change conflicts with an existing record: (.+)", "该修改与现有记录冲突：{0}"),
        (r"records database failed: (.+)", "记录数据库出错：{0}"),
        (r"records database (.+) failed: (.+)", "记录数据库 {0} 出错：{1}"),
        (
            r"no space left on the device while writing the records database (.+)",
            "写入记录数据库 {0} 时设备空间已满",
        ),
        (r"cannot connect to the records database (.+): (.+)", "无法连接记录数据库 {0}：{1}"),
        (
            r"records database is at migration (\S+), the code expects (\S+)",
            "记录数据库处于迁移版本 {0}，而程序需要 {1}",
        ),
        (
            r"the directory of the SQLite database (.+) cannot be created: (.+)",
            "无法创建 SQLite 数据库所在目录 {0}：{1}",
        ),
        (r"cannot migrate the records database (.+): (.+)", "无法迁移记录数据库 {0}：{1}"),
        (
            r"ARCHIVE_DATABASE_URL is not a database URL: (.+)",
            "ARCHIVE_DATABASE_URL 不是数据库 URL：{0}",
        ),
        (r"a user named '(.*)' already exists", "名为 {0} 的用户已存在"),
        (r"user '?([^']*?)'? does not exist", "用户 {0} 不存在"),
        (r"token (\S+) does not exist", "令牌 {0} 不存在"),
        (
            r"the access log cannot be written, so the request was not carried out: (.+)",
            "无法写入访问日志，因此请求未执行：{0}",
        ),
        (
            r"the access log cannot be written, so the request was not carried out",
            "无法写入访问日志，因此请求未执行",
        ),
        (
            r"retention never removes the newest entry of the log",
            "保留期清理永远不会删除日志的最新一条记录",
        ),
        (r"access log entry (\d+) does not exist", "访问日志记录 {0} 不存在"),
        (
            r"(.+) has a pending request for contract (\d+) already",
            "{0} 已有合同 {1} 的待处理借阅申请",
        ),
        (r"(.+) has a live grant for contract (\d+) already", "{0} 已有合同 {1} 的有效借阅授权"),
        (r"borrowing request (\d+) does not exist", "借阅申请 {0} 不存在"),
        (
            r"borrowing request (\d+) is (\w+); only a pending request can be granted or refused",
            "借阅申请 {0} 当前为{1}；只有待处理的申请可以批准或拒绝",
        ),
        (
            r"borrowing request (\d+) is (\w+); there is nothing to return",
            "借阅申请 {0} 当前为{1}；没有需要归还的内容",
        ),
        (r"background job (\d+) does not exist", "后台任务 {0} 不存在"),
        (
            r"background job (\d+) is (\w+), not failed: only a failed job is retried",
            "后台任务 {0} 当前为{1}，而非失败：只有失败的任务可以重试",
        ),
        (r"the ledger has (\d+) leaves, not (\d+)", "账本有 {0} 个叶子，而不是 {1} 个"),
        (
            r"a fixity audit is running in (.+) \(run (\d+), last progress (.+)\)",
            "{0} 中正在进行固定性审计（第 {1} 次运行，最近进展于 {2}）",
        ),
        (r"fixity run (\d+) does not exist", "固定性审计运行 {0} 不存在"),
        # the object store (storage.objects)
        (r"invalid object key '(.*)'", "对象键 {0} 无效"),
        (r"not a lower-case hex SHA-256 digest: '(.*)'", "不是小写十六进制的 SHA-256 摘要：{0}"),
        (r"no space left on the device while (.+)", "{0}时设备空间已满"),
        (r"I/O error while (.+): (.+)", "{0}时发生 I/O 错误：{1}"),
        (r"storing (\S+)", "存储 {0}"),
        (r"restoring (\S+)", "恢复 {0}"),
        (r"deleting (\S+)", "删除 {0}"),
        (r"listing the versions of (\S+)", "列出 {0} 的版本"),
        (r"reading the metadata of (\S+)", "读取 {0} 的元数据"),
        (r"setting the retention of (\S+)", "设置 {0} 的保留期"),
        (r"setting the legal hold of (\S+)", "设置 {0} 的法律冻结"),
        (r"releasing the legal hold of (\S+)", "解除 {0} 的法律冻结"),
        (r"signing a download URL for (\S+)", "为 {0} 签发下载链接"),
        (r"listing (\S+|the bucket)", "列出 {0}"),
        (r"reading (\S+)", "读取 {0}"),
        (r"receiving the file", "接收文件"),
        (r"writing the search index", "写入检索索引"),
        (r"object directory (.+) cannot be created: (.+)", "无法创建对象目录 {0}：{1}"),
        (r"object directory (.+) is not writable", "对象目录 {0} 不可写"),
        (
            r"bytes for (.+) have SHA-256 (\S+), expected (\S+)",
            "{0} 的内容 SHA-256 为 {1}，应为 {2}",
        ),
        (r"object (.+) already exists with different content", "对象 {0} 已存在且内容不同"),
        (r"object (.+) does not exist", "对象 {0} 不存在"),
        (r"(.+) is not a temporary file of the object store", "{0} 不是对象存储的临时文件"),
        (r"the local object store cannot enforce (.+)", "本地对象存储无法强制执行{0}"),
        (r"the (\w+) object store cannot enforce legal holds", "{0} 对象存储无法强制执行法律冻结"),
        (r"retention", "保留期"),
        (r"legal holds", "法律冻结"),
        (
            r"ARCHIVE_S3_ENDPOINT must be a URL such as https://minio\.example:9000, not '(.*)'",
            "ARCHIVE_S3_ENDPOINT 须为 URL，例如 https://minio.example:9000，而不是 {0}",
        ),
        (r"reading (.+) from S3 failed: (.+)", "从 S3 读取 {0} 失败：{1}"),
        (
            r"object (.+) read back with SHA-256 (\S+), stored as (\S+)",
            "对象 {0} 读回的 SHA-256 为 {1}，存储时为 {2}",
        ),
        (r"invalid S3 settings: (.+)", "S3 设置无效：{0}"),
        (
            r"the S3 server refused (.+): the bytes it received do not have SHA-256 (\S+)",
            "S3 服务器拒绝了 {0}：收到的内容 SHA-256 不是 {1}",
        ),
        (
            r"the S3 server refused to change the retention of (.+)",
            "S3 服务器拒绝更改 {0} 的保留期",
        ),
        (
            r"the S3 server refused to delete (.+) \(version (.+)\): it is under retention or "
            r"legal hold, or the key may not delete",
            "S3 服务器拒绝删除 {0}（版本 {1}）：它处于保留期或法律冻结中，或该密钥无删除权限",
        ),
        (r"the S3 server refused (.+): (.+) \((.+)\)", "S3 服务器拒绝了{0}：{1}（{2}）"),
        (r"the S3 bucket '(.*)' does not exist", "S3 存储桶 {0} 不存在"),
        (r"S3 failed while (.+): (.+) \((.+)\)", "S3 在{0}时出错：{1}（{2}）"),
        (
            r"TLS with the S3 server (.+) failed while (.+): (.+)",
            "在{1}时与 S3 服务器 {0} 的 TLS 连接失败：{2}",
        ),
        (
            r"cannot reach the S3 server at ARCHIVE_S3_ENDPOINT=(.+): (.+)",
            "无法连接 S3 服务器 ARCHIVE_S3_ENDPOINT={0}：{1}",
        ),
        (
            r"cannot reach the S3 server (.+) while (.+): (.+)",
            "在{1}时无法连接 S3 服务器 {0}：{2}",
        ),
        (r"the S3 server (.+) refused the credentials: (.+)", "S3 服务器 {0} 拒绝了凭据：{1}"),
        (r"the S3 server (.+) answered (.+): (.+)", "S3 服务器 {0} 返回 {1}：{2}"),
        (r"TLS with the S3 server (.+) failed: (.+)", "与 S3 服务器 {0} 的 TLS 连接失败：{1}"),
        (
            r"the S3 bucket '(.*)' \(ARCHIVE_S3_BUCKET\) does not exist",
            "S3 存储桶 {0}（ARCHIVE_S3_BUCKET）不存在",
        ),
        (
            r"cannot read the settings of the S3 bucket '(.*)': (.+)",
            "无法读取 S3 存储桶 {0} 的设置：{1}",
        ),
        (
            r"the S3 bucket '(.*)' \(ARCHIVE_S3_BUCKET\) has no Object Lock: originals could be "
            r"deleted or overwritten",
            "S3 存储桶 {0}（ARCHIVE_S3_BUCKET）未启用对象锁定（Object Lock）：原件可能被删除或覆盖",
        ),
        (
            r"the S3 bucket '(.*)' \(ARCHIVE_S3_BUCKET\) has versioning (.+)",
            "S3 存储桶 {0}（ARCHIVE_S3_BUCKET）的版本控制为 {1}",
        ),
        (
            r"object (.+) cannot be overwritten: the S3 server refused a new version \((.+)\)",
            "对象 {0} 不能被覆盖：S3 服务器拒绝了新版本（{1}）",
        ),
        (r"object (.+) is locked by (.+); it cannot be deleted", "对象 {0} 被{1}锁定，不能删除"),
        (r"a legal hold", "法律冻结"),
        (r"(\w+) retention until (.+)", "{0} 保留期至 {1}"),
        (
            r"the data directory (.+) is writable by other users \(mode (\S+)\): they could "
            r"replace what the archive stores",
            "数据目录 {0} 可被其他用户写入（权限 {1}）：他们可能替换档案中存储的内容",
        ),
        (r"the data directory (.+) cannot be created: (.+)", "无法创建数据目录 {0}：{1}"),
        (r"ARCHIVE_OBJECT_STORE=s3 needs (.+)", "ARCHIVE_OBJECT_STORE=s3 需要 {0}"),
        (r"unknown ARCHIVE_OBJECT_STORE '(.*)'", "未知的 ARCHIVE_OBJECT_STORE {0}"),
        (r"unknown ARCHIVE_INDEX_BACKEND '(.*)'", "未知的 ARCHIVE_INDEX_BACKEND {0}"),
        # the search index (storage.index)
        (
            r"cannot reach the search server at ARCHIVE_INDEX_URL=(.+): (.+)",
            "无法连接检索服务器 ARCHIVE_INDEX_URL={0}：{1}",
        ),
        (
            r"the search server at (.+) refused the credentials: (.+)",
            "位于 {0} 的检索服务器拒绝了凭据：{1}",
        ),
        (
            r"ARCHIVE_INDEX_BACKEND=(\S+) but the server at ARCHIVE_INDEX_URL is not (\S+): (.+)",
            "ARCHIVE_INDEX_BACKEND={0}，但 ARCHIVE_INDEX_URL 上的服务器不是 {1}：{2}",
        ),
        (r"the search server at (.+) failed: (.+)", "位于 {0} 的检索服务器出错：{1}"),
        (
            r"ARCHIVE_INDEX_NAME=(.+) names an index, not an alias: the archive keeps its indexes "
            r"behind an alias",
            "ARCHIVE_INDEX_NAME={0} 指向的是索引而非别名：本档案的索引都放在别名之后",
        ),
        (
            r"the search index (.+) behind ARCHIVE_INDEX_NAME=(.+) has mapping version (\S+); "
            r"this version of the archive needs (\S+)",
            "ARCHIVE_INDEX_NAME={1} 背后的检索索引 {0} 映射版本为 {2}；本版本档案需要 {3}",
        ),
        (r"the search server refused (\d+) entries: (.+)", "检索服务器拒绝了 {0} 条记录：{1}"),
        (r"the search server refused to delete: (.+)", "检索服务器拒绝删除：{0}"),
        (
            r"ARCHIVE_INDEX_BACKEND=(\S+) needs ARCHIVE_INDEX_URL",
            "ARCHIVE_INDEX_BACKEND={0} 需要 ARCHIVE_INDEX_URL",
        ),
        (r"cannot open the search index at (.+): (.+)", "无法打开位于 {0} 的检索索引：{1}"),
        (
            r"the search index at (.+) has field layout version (\S+); this version of the archive "
            r"needs (\S+)",
            "位于 {0} 的检索索引字段布局版本为 {1}；本版本档案需要 {2}",
        ),
        (r"index directory (.+) cannot be created: (.+)", "无法创建索引目录 {0}：{1}"),
        (r"cannot write the search index: (.+)", "无法写入检索索引：{0}"),
        (r"the search index failed: (.+)", "检索索引出错：{0}"),
        (r"the search index failed to count facets: (.+)", "检索索引统计分面时出错：{0}"),
        (r"(.+) is not a leftover of the search index", "{0} 不是检索索引的残留文件"),
        (r"creating index (\S+)", "创建索引 {0}"),
        (r"deleting index (\S+)", "删除索引 {0}"),
        (r"moving the alias", "移动别名"),
        (r"refreshing (\S+)", "刷新 {0}"),
        (r"reading the server's version", "读取服务器版本"),
        (r"looking for alias (\S+)", "查找别名 {0}"),
        (r"reading alias (\S+)", "读取别名 {0}"),
        (r"looking for (\S+)", "查找 {0}"),
        (r"reading the mapping of (\S+)", "读取 {0} 的映射"),
        (r"bulk indexing", "批量索引"),
        (r"counting", "计数"),
        (r"searching", "检索"),
        # a failure of the search server while doing one of the above (storage.index.engine)
        (rf"({_ENGINE_STEP}): HTTP (\d+) (.*)", "{0}时检索服务器返回 HTTP {1} {2}"),
        (rf"({_ENGINE_STEP}): (.+)", "{0}时出错：{1}"),
    )
]
MESSAGES_ZH += [
    (re.compile(pattern + r"\Z", re.S), template)
    for pattern, template in (
        # sealing, manifests, keys (signing)
        (
            r"the SM3 cycle must be at least 1 audit, not (.+)",
            "SM3 周期须至少为 1 次审计，而不是 {0}",
        ),
        (r"the manifest cannot be put in canonical form: (.+)", "清单无法转换为规范形式：{0}"),
        (r"this Python's OpenSSL has no SM3", "此 Python 所用的 OpenSSL 不支持 SM3"),
        (r"contract (\d+) has no manifest to export", "合同 {0} 没有可导出的清单"),
        (
            r"the manifest of contract (\d+) is not sealed yet \((.+)\)",
            "合同 {0} 的清单尚未封印（{1}）",
        ),
        (r"the seal of contract (\d+) cannot be read \((.+)\)", "无法读取合同 {0} 的封印（{1}）"),
        (r"(.+) cannot be created: (.+)", "无法创建 {0}：{1}"),
        (r"(.+) is not empty", "{0} 不是空的"),
        (
            r"the ledger's latest leaf of contract (\d+) is not the exported manifest",
            "账本中合同 {0} 的最新叶子不是所导出的清单",
        ),
        (r"(\S+) (.+) holds no readable certificate \((.+)\)", "{0} {1} 中没有可读取的证书（{2}）"),
        (r"(\S+) (.+) holds no certificate", "{0} {1} 中没有证书"),
        (r"the PKCS#12 file (.+) cannot be opened \((.+)\)", "无法打开 PKCS#12 文件 {0}（{1}）"),
        (
            r"the seal key (.+) is encrypted and no passphrase was given",
            "封印密钥 {0} 已加密，但未提供口令",
        ),
        (
            r"the seal key (.+) is not encrypted but a passphrase was given",
            "封印密钥 {0} 未加密，却提供了口令",
        ),
        (r"the seal key (.+) cannot be read \((.+)\)", "无法读取封印密钥 {0}（{1}）"),
        (r"ARCHIVE_SEAL_CERT_FILE is not set", "未设置 ARCHIVE_SEAL_CERT_FILE"),
        (r"(.+) does not hold both a key and a certificate", "{0} 中没有同时包含密钥和证书"),
        (r"the seal key is RSA-(\d+); at least 2048 bits", "封印密钥为 RSA-{0}；至少需要 2048 位"),
        (r"the seal key's curve (.+) is too small", "封印密钥的曲线 {0} 强度不足"),
        (
            r"the seal key is a (.+); use EC P-256 \(recommended\) or RSA",
            "封印密钥为 {0}；请使用 EC P-256（推荐）或 RSA",
        ),
        (r"the seal certificate does not belong to the seal key", "封印证书与封印密钥不匹配"),
        (r"the development keys under (.+) are damaged \((.+)\)", "{0} 下的开发密钥已损坏（{1}）"),
        (
            r"development keys cannot be created under (.+): (.+)",
            "无法在 {0} 下创建开发密钥：{1}",
        ),
        (
            r"the seal certificate is not valid now \(valid from (.+) to (.+)\)",
            "封印证书当前无效（有效期为 {0} 至 {1}）",
        ),
        (r"the manifest could not be signed: (.+)", "无法签署清单：{0}"),
        (
            r"the time-stamping authority did not grant a timestamp: (.+)",
            "时间戳服务机构未签发时间戳：{0}",
        ),
        (r"the time-stamping authority cannot be reached: (.+)", "无法连接时间戳服务机构：{0}"),
        (r"the timestamped seal did not round-trip", "加盖时间戳的封印未能通过往返校验"),
        (
            r"the time-stamping authority answered with an unreadable token \((.+)\)",
            "时间戳服务机构返回的令牌无法读取（{0}）",
        ),
        (
            r"the time-stamping authority stamped a different digest than the one sent",
            "时间戳服务机构加盖时间戳的摘要与所发送的不同",
        ),
        (
            r"ARCHIVE_TRUST_ANCHORS_FILE is required with ARCHIVE_SEAL_KEY_FILE",
            "设置 ARCHIVE_SEAL_KEY_FILE 时必须同时设置 ARCHIVE_TRUST_ANCHORS_FILE",
        ),
        (
            r"ARCHIVE_TSA_URL is required with ARCHIVE_SEAL_KEY_FILE",
            "设置 ARCHIVE_SEAL_KEY_FILE 时必须同时设置 ARCHIVE_TSA_URL",
        ),
        (r"the seal service was not opened", "封印服务尚未打开"),
        (r"contract (\d+): (.+); it was not sealed", "合同 {0}：{1}；未封印"),
        (r"a naive datetime cannot go into a manifest", "不带时区的时间不能写入清单"),
        (r"the package of contract (\d+) has no original", "合同 {0} 的档案包中没有原件"),
        (r"the manifest is not valid JSON \((.+)\)", "清单不是有效的 JSON（{0}）"),
        (r"the file is not a contract-archive manifest", "该文件不是本档案系统的清单"),
        (r"the manifest has no '(.*)'", "清单中没有 {0}"),
        (
            r"the manifest does not list the original and the text",
            "清单中未列出原件和文本",
        ),
        (
            r"the manifest's original digest is not the contract's",
            "清单中的原件摘要与该合同的不一致",
        ),
        (r"the manifest cannot rebuild a record \('(.*)'\)", "无法根据清单重建记录（{0}）"),
        (r"the manifest describes another package", "清单描述的是另一个档案包"),
        (
            r"its contract id (\d+) is taken by another record of the same file",
            "其合同编号 {0} 已被同一文件的另一条记录占用",
        ),
        # the ledger (signing.ledger, signing.ledger_service)
        (r"not a lower-case hex SHA-256: '(.*)'", "不是小写十六进制的 SHA-256：{0}"),
        (r"not ledger leaf data \((.+)\)", "不是账本叶子数据（{0}）"),
        (r"leaf data is not in its canonical form", "叶子数据不是规范形式"),
        (r"leaf (\d+) is not in a tree of (\d+) leaves", "叶子 {0} 不在共 {1} 个叶子的树中"),
        (
            r"a tree of (\d+) leaves is not a prefix of a tree of (\d+)",
            "共 {0} 个叶子的树不是共 {1} 个叶子的树的前缀",
        ),
        (
            r"(.+) is not a tlog checkpoint: it needs an origin, a tree size and a root hash, one "
            r"a line",
            "{0} 不是 tlog 检查点：需要来源、树大小和根哈希，每行一项",
        ),
        (r"(.+) has no valid origin line", "{0} 没有有效的来源行"),
        (r"(.+): the tree size '(.*)' is not a decimal number", "{0}：树大小 {1} 不是十进制数"),
        (r"(.+): the root hash is not base64 \((.+)\)", "{0}：根哈希不是 base64（{1}）"),
        (
            r"(.+): the root hash has (\d+) bytes, not (\d+)",
            "{0}：根哈希为 {1} 字节，而不是 {2} 字节",
        ),
        (r"(.+) is not a base64 string", "{0} 不是 base64 字符串"),
        (r"(.+) is not base64 \((.+)\)", "{0} 不是 base64（{1}）"),
        (r"(.+) has (\d+) bytes, not (\d+)", "{0} 为 {1} 字节，而不是 {2} 字节"),
        (r"(.+) is too large to be a ledger proof", "{0} 过大，不可能是账本证明"),
        (r"(.+) is not JSON \(truncated\?\): (.+)", "{0} 不是 JSON（可能被截断）：{1}"),
        (
            r"(.+) is not a contract-archive ledger inclusion proof",
            "{0} 不是本档案系统的账本包含证明",
        ),
        (r"(.+) lacks a field or has a wrong one \((.+)\)", "{0} 缺少字段或字段有误（{1}）"),
        (r"(.+): the leaf data does not match the leaf's fields", "{0}：叶子数据与叶子字段不一致"),
        (r"(.+): path node (\d+)", "{0}：路径节点 {1}"),
        (
            r"the ledger kept changing while a checkpoint was being made; retry",
            "生成检查点期间账本一直在变化；请重试",
        ),
        (r"no checkpoint covers ledger leaf (\d+)", "没有检查点覆盖账本叶子 {0}"),
        (
            r"contract (\d+) has no manifest, so nothing in the ledger",
            "合同 {0} 没有清单，因此账本中没有它的记录",
        ),
        (
            r"the ledger has (\d+) leaves below checkpoint (\d+)'s size (\d+): it was damaged",
            "账本只有 {0} 个叶子，少于检查点 {1} 的大小 {2}：账本已损坏",
        ),
        (
            r"OLD \((.+)\) must be at least 0 and at most NEW \((.+)\)",
            "OLD（{0}）须不小于 0 且不大于 NEW（{1}）",
        ),
        (r"(.+) is too large to be a ledger checkpoint", "{0} 过大，不可能是账本检查点"),
        (
            r"(.+) is not a signed checkpoint \(truncated\?\): (.+)",
            "{0} 不是已签名的检查点（可能被截断）：{1}",
        ),
        (
            r"(.+) is a checkpoint of another ledger \('(.*)'\); this archive's ledger is '(.*)'",
            "{0} 是另一个账本（{1}）的检查点；本档案的账本为 {2}",
        ),
        (
            r"(.+): its signature does not verify with this archive's ledger key \((.+)\)",
            "{0}：其签名无法用本档案的账本密钥验证（{1}）",
        ),
        (
            r"(.+) is not signed by this archive's ledger key \((.+)\)",
            "{0} 未由本档案的账本密钥签名（{1}）",
        ),
        (r"the checkpoint in (.+)", "{0} 中的检查点"),
        # signed notes (signing.notes, services.access.auditlog)
        (
            r"invalid signing key name '(.*)': no spaces and no '\+'",
            "签名密钥名称 {0} 无效：不能含空格和“+”",
        ),
        (
            r"a verifier key reads <name>\+<8 hex digits>\+<base64 key>",
            "验证密钥的格式为 <名称>+<8 位十六进制数>+<base64 密钥>",
        ),
        (r"the verifier key is not valid base64: (.+)", "验证密钥不是有效的 base64：{0}"),
        (r"the verifier key is not an Ed25519 key", "验证密钥不是 Ed25519 密钥"),
        (
            r"the verifier key's id does not match its name and key",
            "验证密钥的编号与其名称和密钥不符",
        ),
        (r"not a PEM public key: (.+)", "不是 PEM 公钥：{0}"),
        (r"the PEM public key is not an Ed25519 key", "该 PEM 公钥不是 Ed25519 密钥"),
        (r"a note's text must end with a newline", "签名记录的正文须以换行结尾"),
        (r"a note's text must not contain control characters", "签名记录的正文不能含控制字符"),
        (r"the note is too large", "签名记录过大"),
        (r"a signed note ends with a newline", "已签名的记录须以换行结尾"),
        (
            r"no blank line separates the note's text from its signatures",
            "签名记录的正文与签名之间没有空行分隔",
        ),
        (r"not a signature line: '(.*)'", "不是签名行：{0}"),
        (r"a signature is not valid base64: (.+)", "签名不是有效的 base64：{0}"),
        (r"a signature is too short", "签名过短"),
        (r"the note has no signature", "签名记录没有签名"),
        (
            rf"({_NOTE_KEY}) (\S+) is readable by others \(mode (\S+)\)",
            "{0} {1} 可被他人读取（权限 {2}）",
        ),
        (rf"cannot read or create ({_NOTE_KEY}) (\S+): (.+)", "无法读取或创建{0} {1}：{2}"),
        (rf"({_NOTE_KEY}) (\S+) is damaged: (.+)", "{0} {1} 已损坏：{2}"),
        (rf"({_NOTE_KEY}) (\S+) is not an Ed25519 key", "{0} {1} 不是 Ed25519 密钥"),
        (r"the ledger key", "账本密钥"),
        (r"the access log key", "访问日志密钥"),
        (r"not an access log checkpoint", "不是访问日志检查点"),
        (r"malformed checkpoint: bad head or count", "检查点格式有误：头部或计数错误"),
        (r"malformed checkpoint: (.+)", "检查点格式有误：{0}"),
    )
]
MESSAGES_ZH += [
    (re.compile(pattern + r"\Z", re.S), template)
    for pattern, template in (
        # intake (ingest)
        (r"already archived as contract (\d+)", "已归档，合同编号 {0}"),
        (r"not a PDF: the file is (.+)", "不是 PDF：该文件是{0}"),
        (r"encrypted PDF: a password is required \((.+)\)", "PDF 已加密：需要密码（{0}）"),
        (r"encrypted PDF: a password is required", "PDF 已加密：需要密码"),
        (
            r"encrypted PDF with a damaged encryption dictionary \((.+)\)",
            "PDF 已加密，且加密字典已损坏（{0}）",
        ),
        (r"damaged PDF: its object structure loops", "PDF 已损坏：其对象结构存在循环引用"),
        (r"damaged PDF: pypdf cannot read it \((.+)\)", "PDF 已损坏：pypdf 无法读取（{0}）"),
        (
            r"the (PDF|OFD) has (\d+) pages, more than ARCHIVE_MAX_PAGES \((\d+)\)",
            "该 {0} 共 {1} 页，超过 ARCHIVE_MAX_PAGES（{2}）",
        ),
        (
            r"the batch has (\d+) pages, more than ARCHIVE_MAX_PAGES \((\d+)\)",
            "批量扫描件共 {0} 页，超过 ARCHIVE_MAX_PAGES（{1}）",
        ),
        (r"a batch scan must be a PDF file", "批量扫描件必须是 PDF 文件"),
        (r"the batch is not a readable PDF: (.+)", "批量扫描件不是可读取的 PDF：{0}"),
        (r"it has no pages", "没有任何页面"),
        (r"its pages cannot be copied \((.+)\)", "其页面无法复制（{0}）"),
        (r"page (\d+) cannot be drawn \((.+)\)", "第 {0} 页无法绘制（{1}）"),
        (
            r"the separator's payload is (\d+) characters long, more than (\d+)",
            "分隔页上的内容长 {0} 个字符，超过 {1} 个",
        ),
        (
            r"the separator's payload '(.*)' is too long for a Code 128 barcode on one sheet "
            r"\((\d+) modules, at most (\d+): about 29 characters\)",
            "分隔页上的内容 {0} 太长，一页放不下 Code 128 条码"
            "（{1} 个模块，最多 {2} 个：约 29 个字符）",
        ),
        (r"no separator code '(.*)'", "没有分隔页代码 {0}"),
        (
            r"it has no From, To, Subject or Date header",
            "缺少 From、To、Subject 或 Date 邮件头",
        ),
        (
            r"damaged image: page (\d+) of the file \((.+)\) is (\d+)x(\d+) pixels",
            "图像已损坏：该文件（{1}）第 {0} 页为 {2}×{3} 像素",
        ),
        (
            r"the file \((.+)\) has more than (\d+) pages \(ARCHIVE_MAX_PAGES\)",
            "该文件（{0}）超过 {1} 页（ARCHIVE_MAX_PAGES）",
        ),
        (
            r"the file \((.+)\) has too many pixels to decode safely \((.+)\)",
            "该文件（{0}）像素过多，无法安全解码（{1}）",
        ),
        (
            r"the file \((.+)\) has a transparency \(alpha\) channel, which a lossless PDF "
            r"rendition cannot keep",
            "该文件（{0}）带有透明（alpha）通道，无损的 PDF 版本无法保留",
        ),
        (
            r"the file \((.+)\) unpacks to (\d+) MB, more than (\d+) MB: refused as a possible "
            r"zip bomb",
            "该文件（{0}）解压后为 {1} MB，超过 {2} MB：疑似压缩炸弹，已拒绝",
        ),
        (r"img2pdf made no PDF", "img2pdf 未生成 PDF"),
        (r"img2pdf: (.+)", "img2pdf：{0}"),
        (r"not a readable image", "不是可读取的图像"),
        (r"not a readable ZIP package: (.+)", "不是可读取的 ZIP 包：{0}"),
        (r"unsupported compression: (.+)", "不支持的压缩方式：{0}"),
        (r"LibreOffice made no PDF: (.+)", "LibreOffice 未生成 PDF：{0}"),
        (r"it has no (.+)", "缺少 {0}"),
        (r"(.+) lists no pages", "{0} 中没有列出任何页面"),
        (r"(.+) has no SignedInfo", "{0} 中没有 SignedInfo"),
        (r"the location '(.*)' points outside the package", "位置 {0} 指向包外"),
        (
            r"the image (.+) of page (\d+) cannot be decoded: (.+)",
            "第 {1} 页的图像 {0} 无法解码：{2}",
        ),
        (r"OFD\.xml names no DocRoot", "OFD.xml 中没有指定 DocRoot"),
        (
            r"the file is an OFD document \(GB/T 33190\) and its PDF rendition needs TrueType "
            r"fonts that are not installed \((.+)\)",
            "该文件是 OFD 版式文档（GB/T 33190），生成其 PDF 版本需要 TrueType 字体，"
            "但本机未安装（{0}）",
        ),
        (r"the font (.+) cannot be loaded by pdfium", "pdfium 无法加载字体 {0}"),
        (r"pdfium could not draw page (\d+) of the OFD", "pdfium 无法绘制该 OFD 的第 {0} 页"),
        (r"the worker process did not start \((.+)\)", "工作进程未能启动（{0}）"),
        # services.ingest_process: serve's ingest process
        (r"the ingest process did not start within (\d+) s", "入库进程未能在 {0} 秒内启动"),
        (
            r"the ingest process ended while it started \(exit code (.+)\)",
            "入库进程在启动时结束（退出码 {0}）",
        ),
        (r"archiving the file failed: (.+?): (.+)", "归档该文件失败：{0}：{1}"),
        (
            r"the ingest process could not start: (.+?): (.+)",
            "入库进程无法启动：{0}：{1}",
        ),
        (r"the upload could not be kept for archiving: (.+)", "无法暂存上传的文件以便归档：{0}"),
        (r"the server is stopping", "服务器正在停止"),
        (
            r"the archive's ingest process ended while it archived the file",
            "档案库的入库进程在归档该文件时结束",
        ),
        (
            r"the archive's ingest process cannot be reached \((.+)\)",
            "无法连接档案库的入库进程（{0}）",
        ),
        (
            r"reading (.+) took longer than (.+) s and was stopped",
            "读取 {0} 超过 {1} 秒，已被终止",
        ),
        (
            r"reading (.+) crashed the PDF reader \(out of memory or a fault\)",
            "读取 {0} 时 PDF 阅读器崩溃（内存不足或发生故障）",
        ),
        (
            r"reading (.+) needs more memory than the reader is allowed",
            "读取 {0} 所需内存超过阅读器的上限",
        ),
        (
            r"the file is larger than ARCHIVE_MAX_UPLOAD_BYTES \((\d+) bytes\)",
            "文件大于 ARCHIVE_MAX_UPLOAD_BYTES（{0} 字节）",
        ),
        (
            r"the file has (\d+) bytes, more than ARCHIVE_MAX_UPLOAD_BYTES \((\d+)\)",
            "文件有 {0} 字节，超过 ARCHIVE_MAX_UPLOAD_BYTES（{1}）",
        ),
        (r"the file could not be read: (.+)", "无法读取文件：{0}"),
        (
            r"only (\S+) MB free on the device of the data directory, less than "
            r"ARCHIVE_MIN_FREE_BYTES \((\S+) MB\): no space left on the device for new files",
            "数据目录所在设备仅剩 {0} MB，少于 ARCHIVE_MIN_FREE_BYTES（{1} MB）："
            "没有空间存放新文件",
        ),
        (
            r"the same file is being archived by another process right now",
            "另一个进程正在归档同一文件",
        ),
        (r"the file was not parsed", "文件未被解析"),
        # OCR (ingest.ocr)
        (r"invalid OCR languages '(.*)'", "OCR 语言 {0} 无效"),
        (
            r"OCR needs the tesseract program, which is not installed",
            "OCR 需要 tesseract 程序，但本机未安装",
        ),
        (
            r"the tesseract program at (.+) cannot be run: (.+)",
            "无法运行位于 {0} 的 tesseract 程序：{1}",
        ),
        (r"(.+) --version failed \(exit status (.+)\)", "{0} --version 运行失败（退出状态 {1}）"),
        (
            r"tesseract (.+) is too old: OCR needs tesseract 4 or newer \(LSTM models\)",
            "tesseract {0} 版本过旧：OCR 需要 tesseract 4 或更新版本（LSTM 模型）",
        ),
        (r"no time was left for OCR of this page", "没有剩余时间对此页进行 OCR"),
        (r"tesseract wrote no output \((.+)\)", "tesseract 没有输出（{0}）"),
        (r"the tesseract program is not installed", "未安装 tesseract 程序"),
        (r"tesseract could not be run: (.+)", "无法运行 tesseract：{0}"),
        (r"tesseract took too long and was stopped", "tesseract 运行时间过长，已被终止"),
        (r"tesseract failed: (.+)", "tesseract 运行失败：{0}"),
        (r"the replayed OCR took too long and was stopped", "重放的 OCR 运行时间过长，已被终止"),
        (r"no recorded OCR output (.+) in (.+)", "{1} 中没有记录的 OCR 输出 {0}"),
        (r"no recorded orientation (.+) in (.+)", "{1} 中没有记录的页面方向 {0}"),
        (
            r"the page is (\S+) x (\S+) points: too large to OCR",
            "该页为 {0} × {1} 点：过大，无法 OCR",
        ),
        (r"the PDF cannot be opened for OCR: (.+)", "无法打开该 PDF 进行 OCR：{0}"),
        (r"the PDF has no page (\d+)", "该 PDF 没有第 {0} 页"),
        (r"the page cannot be rendered: (.+)", "该页无法渲染：{0}"),
        (r"the page took too long to prepare for OCR", "该页的 OCR 准备时间过长"),
        (r"OCR took longer than (.+) s and was stopped", "OCR 超过 {0} 秒，已被终止"),
        (
            r"the OCR worker crashed \(out of memory or a fault in the page\)",
            "OCR 工作进程崩溃（内存不足或该页有故障）",
        ),
        (
            r"OCR of the page needs more memory than a worker is allowed",
            "该页的 OCR 所需内存超过工作进程的上限",
        ),
        (
            r"the RapidOCR engine needs the rapidocr-onnxruntime package, which cannot be "
            r"imported \((.+)\)",
            "RapidOCR 引擎需要 rapidocr-onnxruntime 包，但无法导入（{0}）",
        ),
        (
            r"the RapidOCR engine needs the rapidocr-onnxruntime package and ONNX Runtime, which "
            r"are not installed \((.+) missing\)",
            "RapidOCR 引擎需要 rapidocr-onnxruntime 包和 ONNX Runtime，但本机未安装（缺少 {0}）",
        ),
        (r"RapidOCR's models are missing from (.+): (.+)", "{0} 中缺少 RapidOCR 的模型：{1}"),
        (r"RapidOCR took too long and was stopped", "RapidOCR 运行时间过长，已被终止"),
        (
            r"searchable copy could not be made: the original has no page (\d+)",
            "无法生成可检索副本：原件没有第 {0} 页",
        ),
    )
]
MESSAGES_ZH += [
    (re.compile(pattern + r"\Z", re.S), template)
    for pattern, template in (
        # signing in and users (services.access, search_api.auth)
        (r"invalid user name '(.*)'", "用户名 {0} 无效"),
        (
            r"the password in ARCHIVE_ADMIN_PASSWORD_FILE is refused: (.+)",
            "ARCHIVE_ADMIN_PASSWORD_FILE 中的密码不被接受：{0}",
        ),
        (r"the password must be changed before anything else", "请先修改密码，再进行其他操作"),
        (
            r"the one-time password must be changed before anything else",
            "请先修改一次性密码，再进行其他操作",
        ),
        (r"the password is too short: at least (\d+) characters", "密码太短：至少需要 {0} 个字符"),
        (r"the password is longer than (\d+) characters", "密码超过 {0} 个字符"),
        (r"the password must not be the user name", "密码不能与用户名相同"),
        (r"this user is disabled", "该用户已被停用"),
        (r"the API token is malformed", "API 令牌格式有误"),
        (r"the API token is not valid", "API 令牌无效"),
        (r"the API token (\S+) was revoked", "API 令牌 {0} 已被吊销"),
        (r"the API token (\S+) expired on (.+)", "API 令牌 {0} 已于 {1} 过期"),
        (r"not logged in", "尚未登录"),
        (r"the session has ended", "会话已结束"),
        (r"the session has expired", "会话已过期"),
        (r"(\S+) names no user: '(.*)'", "{0} 指定的用户 {1} 不存在"),
        (
            r"the archive has no enabled admin for (\S+) to default to",
            "档案中没有可供 {0} 默认使用的已启用管理员",
        ),
        (r"user '(.*)' is disabled", "用户 {0} 已被停用"),
        (r"(\S+) '(.*)' is disabled", "{0} 指定的用户 {1} 已被停用"),
        (r"too many failed log-ins; wait before trying again", "登录失败次数过多；请稍后再试"),
        (
            r"too many log-ins are being checked at once; try again in a moment",
            "同时进行验证的登录过多；请稍后再试",
        ),
        (r"wrong user name or password", "用户名或密码错误"),
        (r"the user no longer exists", "该用户已不存在"),
        (r"the current password is wrong", "当前密码错误"),
        (r"the new password must differ from the current one", "新密码须与当前密码不同"),
        (r"a user needs at least one role", "用户至少需要一个角色"),
        (
            r"this is the last enabled admin; make another admin first",
            "这是最后一个已启用的管理员；请先设置另一名管理员",
        ),
        (r"a token is valid for 1 to (\d+) days, not (.+)", "令牌有效期为 1 到 {0} 天，而不是 {1}"),
        (r"a token needs a name saying what it is for", "令牌需要一个说明其用途的名称"),
        (r"unknown export format '(.*)': csv or jsonl", "未知的导出格式 {0}：应为 csv 或 jsonl"),
        (r"unknown export format '(.*)'", "未知的导出格式 {0}"),
        (r"unsupported Authorization header", "不支持的 Authorization 请求头"),
        (r"the CSRF token is missing or wrong", "CSRF 令牌缺失或错误"),
        (r"a cross-site request was refused", "已拒绝跨站请求"),
        (r"a cross-site log-in was refused", "已拒绝跨站登录"),
        (r"sign in first", "请先登录"),
        (
            r"(\S+) (\S+) declares no access permission, so it is closed",
            "{0} {1} 未声明访问权限，因此不开放",
        ),
        (
            r"the upload is larger than ARCHIVE_MAX_UPLOAD_BYTES \((\d+) bytes\)",
            "上传内容大于 ARCHIVE_MAX_UPLOAD_BYTES（{0} 字节）",
        ),
        (
            r"the request body is larger than ARCHIVE_MAX_BODY_BYTES \((\d+) bytes\)",
            "请求体大于 ARCHIVE_MAX_BODY_BYTES（{0} 字节）",
        ),
        (
            r"(\S+) needs a time zone, e\.g\. 2024-03-01T00:00:00Z",
            "{0} 需要带时区，例如 2024-03-01T00:00:00Z",
        ),
        (r"since must be before until", "since 须早于 until"),
        (
            r"(\S+) must be a day \(YYYY-MM-DD\), not '(.*)'",
            "{0} 须为日期（YYYY-MM-DD），而不是 {1}",
        ),
        (r"the contract must be a contract number, not '(.*)'", "合同须为合同编号，而不是 {0}"),
        (r"the first day must not be after the last", "起始日期不能晚于结束日期"),
        # restricted classes and borrowing (services.access.contracts, services.facade.borrowing)
        (r"a restriction needs at least one group", "访问限制至少需要一个用户组"),
        (r"the classification '(.*)' is not restricted", "分类 {0} 不受限"),
        (
            r"a purpose is required to download a contract of a restricted class \(借阅登记\)",
            "下载受限分类的合同需要填写借阅目的（借阅登记）",
        ),
        (
            r"a purpose is required to read the content of a contract of a restricted class "
            r"\(借阅登记\)",
            "阅读受限分类合同的内容需要填写借阅目的（借阅登记）",
        ),
        (r"(.+) is not a contract id", "{0} 不是合同编号"),
        (
            r"you may see contract (\d+) already: borrowing \(借阅\) is for a contract of a "
            r"restricted class you are not cleared for",
            "您已可以查看合同 {0}：借阅仅用于您无权查看的受限分类合同",
        ),
        (
            r"contract (\d+) is not of a restricted class \(any more\): there is nothing to lend",
            "合同 {0} 不（再）属于受限分类：无需借阅",
        ),
        (r"(.+) may not grant borrowings of contract (\d+)", "{0} 无权批准合同 {1} 的借阅"),
        # pages, OCR, the table (services.facade)
        (r"contract (\d+) has no page (\d+)", "合同 {0} 没有第 {1} 页"),
        (
            r"contract (\d+) has a text layer on every page: there is no searchable copy, the "
            r"original is searchable as it is",
            "合同 {0} 每页都有文本层：没有可检索副本，原件本身即可检索",
        ),
        (
            r"OCR of contract (\d+) is still running \((\d+) of (\d+) pages\)",
            "合同 {0} 的 OCR 仍在进行（已完成 {1} / {2} 页）",
        ),
        (r"contract (\d+) has no searchable copy: (.+)", "合同 {0} 没有可检索副本：{1}"),
        (r"no such staged batch", "没有这个待确认的批量扫描件"),
        (r"page and size are whole numbers", "page 和 size 须为整数"),
        (r"size: (.+) is not a page size", "size：{0} 不是有效的每页条数"),
        (r"status: unknown (.+)", "状态：未知的 {0}"),
        (r"verification: unknown (.+)", "验证：未知的 {0}"),
        (r"unknown bulk action '(.*)'", "未知的批量操作 {0}"),
        (r"at most (\d+) contracts at a time", "一次最多 {0} 份合同"),
        (r"unknown job state '(.*)'", "未知的任务状态 {0}"),
        (r"unknown job kind '(.*)'", "未知的任务类型 {0}"),
        (r"unknown status (.+)", "未知状态 {0}"),
        (
            r"the OCR workers stopped unexpectedly; see the log",
            "OCR 工作进程意外停止；请查看日志",
        ),
        (r"the stored file (.+) does not match its SHA-256", "存储的文件 {0} 与其 SHA-256 不符"),
        # the 四性检测 (services.fourprops)
        (
            r"contract (\d+) has no 四性检测 report: it is made when the contract is filed",
            "合同 {0} 没有四性检测报告：报告在合同归档时生成",
        ),
        (
            r"the 四性检测 report of contract (\d+) is damaged \((.+)\)",
            "合同 {0} 的四性检测报告已损坏（{1}）",
        ),
        (
            r"contract (\d+) is not filed: the 四性检测 \(four-properties check\) FAILED: (.+)",
            "合同 {0} 未归档：四性检测未通过：{1}",
        ),
        # batches (services.batches)
        (r"(.+) has an invalid classification '(.*)'", "{0} 的分类 {1} 无效"),
        (
            r"the batch has (\d+) pages and all are separator sheets: nothing to archive",
            "批量扫描件共 {0} 页，全部是分隔页：没有可归档的内容",
        ),
        (r"pages (.+) of the batch could not be copied", "批量扫描件的第 {0} 页无法复制"),
        # the archive, restore, migration (services.archive, services.restore, services.migrate)
        (
            r"the change was not saved: the next manifest version of contract (\d+) could not be "
            r"issued: (.+)",
            "修改未保存：无法签发合同 {0} 的下一版清单：{1}",
        ),
        (
            r"the text file of contract (\d+) is damaged \((.+)\)",
            "合同 {0} 的文本文件已损坏（{1}）",
        ),
        (
            r"the stored (.+) of contract (\d+) is damaged: its SHA-256 is not the one recorded "
            r"when it was archived, so it is not served as the (.+)",
            "合同 {1} 存储的{0}已损坏：其 SHA-256 与归档时记录的不符，因此不作为{2}提供",
        ),
        (r"restore file (.+) does not exist or is not a file", "恢复用的文件 {0} 不存在或不是文件"),
        (
            r"restore file (.+) is not the original of contract (\d+): its SHA-256 is (\S+) "
            r"\((\d+) bytes\), expected (\S+) \((\d+) bytes\); nothing was written",
            "恢复用的文件 {0} 不是合同 {1} 的原件：其 SHA-256 为 {2}（{3} 字节），"
            "应为 {4}（{5} 字节）；未写入任何内容",
        ),
        (r"the uploaded file", "上传的文件"),
        (r"restore file (.+)", "恢复用的文件 {0}"),
        (r"the manifest of contract (\d+)", "合同 {0} 的清单"),
        (r"the page image", "页面图像"),
        (
            r"the original of contract (\d+) was written back but reading it again does not give "
            r"the recorded SHA-256; the integrity alert stays",
            "合同 {0} 的原件已写回，但再次读取得到的 SHA-256 与记录不符；完整性警报保留",
        ),
        (r"the target settings file (.+) does not exist", "目标设置文件 {0} 不存在"),
        (
            r"the target's records database is the source's own \((.+)\); a migration needs "
            r"another place",
            "目标的记录数据库就是源数据库本身（{0}）；迁移需要另一个位置",
        ),
        (r"ARCHIVE_WATCH_USER may not ingest: (.+)", "ARCHIVE_WATCH_USER 无权归档：{0}"),
        # importing a register (services.contracts.importer)
        (r"(\w+) '(.*)' is not a date \(YYYY-MM-DD\)", "{0} {1} 不是日期（YYYY-MM-DD）"),
        (
            r"(\w+) '(.*)' is not a whole number from (-?\d+) to (\d+)",
            "{0} {1} 不是 {2} 到 {3} 之间的整数",
        ),
        (r"cannot read (?!or create )(.+): (.+)", "无法读取 {0}：{1}"),
        (r"(.+) is not UTF-8", "{0} 不是 UTF-8 编码"),
        (r"(.+) has no `file` column", "{0} 没有 `file` 列"),
        (r"unknown column\(s\): (.+)", "未知的列：{0}"),
        (r"more than (\d+) rows; split the file", "超过 {0} 行；请拆分文件"),
        (r"file is empty", "文件为空"),
        (r"file '(.*)' does not exist", "文件 {0} 不存在"),
        (r"file '(.*)' is named on line (\d+) already", "文件 {0} 已在第 {1} 行列出"),
        (
            r"classification (\S+) is not in the scheme \(version (\d+)\)",
            "分类 {0} 不在分类方案中（第 {1} 版）",
        ),
        (r"amount '(.*)' is not a number", "金额 {0} 不是数字"),
        (r"amount '(.*)' is negative", "金额 {0} 为负数"),
        (r"amount '(.*)' is too large", "金额 {0} 过大"),
        (r"currency is given without an amount", "填写了币种却没有金额"),
        (r"currency '(.*)' is not one of (.+)", "币种 {0} 不在 {1} 之中"),
        (
            r"expiry_date is before the effective or signing date",
            "expiry_date（到期日）早于生效日期或签署日期",
        ),
        (r"renewal_type must be one of (.+)", "renewal_type 须为以下之一：{0}"),
        (r"status '(.*)' is not one of (.+)", "状态 {0} 不在 {1} 之中"),
        (
            r"archival_code '(.*)' is not 全宗号-HT·年度-保管期限-分类-件号",
            "档号 {0} 不符合“全宗号-HT·年度-保管期限-分类-件号”格式",
        ),
        (
            r"archival_code and classification name different codes",
            "档号与分类指向不同的分类代码",
        ),
        (
            r"archival_code and retention name different retentions",
            "档号与保管期限指向不同的保管期限",
        ),
        (
            r"the archival code's class (\S+) is not in the scheme",
            "档号中的分类 {0} 不在分类方案中",
        ),
        (r"a contract that is (\w+) cannot have an archival code", "状态为{0}的合同不能有档号"),
        (r"archival_code (.+) is on line (\d+) already", "档号 {0} 已在第 {1} 行出现"),
        (r"archival_code (.+) belongs to contract (\d+) already", "档号 {0} 已属于合同 {1}"),
        (
            r"an archived contract needs an archival_code or a classification",
            "已归档的合同需要档号或分类",
        ),
        (r"the file is archived already as contract (\d+)", "该文件已归档，合同编号 {0}"),
        (
            r"the file is archived already, as a contract you may not see",
            "该文件已归档，属于您无权查看的合同",
        ),
        (r"the file was rejected: (.+)", "该文件被拒收：{0}"),
        (r"the file was failed: (.+)", "该文件归档失败：{0}"),
        (r"the file was (\w+): (.+)", "该文件的结果为 {0}：{1}"),
        # the web pages' own (search_api)
        (
            r"folder must be a relative place below the uploaded folder, not '(.*)'",
            "folder 须为所上传文件夹之下的相对位置，而不是 {0}",
        ),
        (r"damaged text file", "文本文件已损坏"),
        (r"no static file '(.*)'", "没有静态文件 {0}"),
        (
            r"page (\d+) cannot be drawn: the PDF reader gave up \((.+)\)",
            "第 {0} 页无法绘制：PDF 阅读器放弃处理（{1}）",
        ),
    )
]
MESSAGES_ZH += [
    (re.compile(pattern + r"\Z", re.S), template)
    for pattern, template in (
        (r"tesseract language packs? (.+) missing \((.+)\)", "缺少 tesseract 语言包 {0}（{1}）"),
        (r"RapidOCR failed: (.+)", "RapidOCR 运行失败：{0}"),
    )
]
