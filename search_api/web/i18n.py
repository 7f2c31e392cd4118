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
        "PDF files are stored unchanged, checked and indexed. Scanned pages are marked for OCR."
    ),
    "upload.drop": "Drop PDF files here",
    "upload.or": "or",
    "upload.choose": "Choose files",
    "upload.files_label": "PDF files",
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
    "upload.not_pdf": "not a PDF file name; skipped",
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
    "terms.confidence": "confidence {pct}%",
    "terms.accept": "Confirm",
    "terms.reject": "Reject",
    "terms.accept_label": "Confirm {field}: {value}",
    "terms.reject_label": "Reject {field}: {value}",
    "terms.payments": "Payments",
    "terms.overdue": "overdue",
    "terms.archival_code": "Archival code (档号)",
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
    "upload.lead": "PDF 文件原样保存，经检查后建立索引。扫描页会标记为待 OCR。",
    "upload.drop": "将 PDF 文件拖放到这里",
    "upload.or": "或",
    "upload.choose": "选择文件",
    "upload.files_label": "PDF 文件",
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
    "upload.not_pdf": "不是 PDF 文件名，已跳过",
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
}

CATALOGS: Mapping[Lang, Mapping[str, str]] = {"en": EN, "zh": ZH}


def translate(lang: Lang, key: str, **values: object) -> str:
    """The string ``key`` in ``lang`` with ``{placeholders}`` filled in. A missing key is a bug
    that the catalog test catches; at run time it falls back to English, then to the key."""
    text = CATALOGS[lang].get(key) or EN.get(key) or key
    return text.format(**values) if values else text


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
        (r"(\d+) file\(s\) match: (.+)", "{0} 个文件一致：{1}"),
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
            r"title, customer, pages, digests, file name, size, ingest time and user agree",
            "标题、客户、页数、摘要、文件名、大小、归档时间与归档人均一致",
        ),
        (r"the original carries no embedded signatures", "原件不含内嵌签名"),
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
