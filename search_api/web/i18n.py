"""The web interface's two languages: Chinese and English.

Every string a page shows is looked up here by key; ``tests/test_web.py`` checks that both
catalogs have the same keys and the same ``{placeholders}``. The language of a request is, in
order: ``?lang=`` (remembered in a cookie), the cookie, then the browser's ``Accept-Language``
(Chinese when the browser prefers any ``zh`` over English), and English otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

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
    "home.dashboard_missing": (
        "Contract terms (expiry dates, payments) are not recorded by this installation yet, "
        "so there is nothing to warn about here."
    ),
    # search
    "search.title": "Search",
    "search.label": "Search contracts",
    "search.placeholder": '违约责任, "limitation of liability", customer:Acme …',
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
    "upload.classification_help": "A short code such as HR, LEGAL or CONFIDENTIAL. Optional.",
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
    "contract.searchable_missing": (
        "A searchable copy is made by OCR, which this installation does not run yet."
    ),
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
    "contract.access_missing": "The access log is not part of this installation yet.",
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
    "customer.terms_missing": (
        "Status, expiry and receivables come from the contract model, which this installation "
        "does not have yet."
    ),
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
    "home.dashboard_missing": "本系统尚未记录合同条款（到期日、付款），因此这里暂无提醒。",
    "search.title": "检索",
    "search.label": "检索合同",
    "search.placeholder": '违约责任、"limitation of liability"、customer:青岛木门 …',
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
    "upload.classification_help": "简短代码，如 HR、LEGAL、CONFIDENTIAL。可不填。",
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
    "contract.searchable_missing": "可检索副本由 OCR 生成，本系统尚未运行 OCR。",
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
    "contract.access_missing": "本系统尚未提供访问日志。",
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
    "customer.terms_missing": "状态、到期日与应收款来自合同模型，本系统尚未提供。",
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
