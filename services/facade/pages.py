"""A contract's pages: page images and page text (read with a purpose, logged).

A page's image or text is the contract's content, like its download: every read is logged
(``contract.page``, with the page and what was read), and a contract of a restricted class needs
a purpose (借阅登记), or the read is refused (:class:`~core.access_errors.PurposeRequired`,
logged as ``refused``).

Drawing a page is the front end's business (the web's ``page_images``): it hands in the drawing
function, run on the original in the archive's killable worker pool, and a cache of drawn pages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from core.access_errors import PurposeRequired
from core.errors import ArchiveError, NotFound
from core.roles import Perm
from services.facade.base import Acting, Area, action
from storage.records.base import ContractRecord

__all__ = [
    "PAGE_ACTION",
    "Draw",
    "DrawnPages",
    "PageImage",
    "PageRead",
    "PagesArea",
    "content_purpose",
]

PAGE_ACTION = "contract.page"

Draw = Callable[[str, int], tuple[bytes, Any]]
"""``draw(path_of_the_original, page_index)``: the page as PNG and its layout. Picklable (a
module-level function or a partial of one): it runs in the worker pool."""


class DrawnPages(Protocol):
    """A cache of drawn pages, by the original's SHA-256 and the page number."""

    def get(self, sha256: str, page: int) -> tuple[Path, Any] | None: ...

    def put(self, sha256: str, page: int, png: bytes, layout: Any) -> Path: ...


@dataclass(frozen=True)
class PageRead:
    """What the contract page shows of one page: every page's text (for the hit counts) and
    the shown page's layout (where the hits sit on its image)."""

    record: ContractRecord
    page: int
    texts: list[str]
    text_error: str | None
    layout: Any
    render_error: str | None
    purpose: str | None
    words: dict[str, Any] | None = None
    """The shown page's OCR word boxes (``words.vN.json``) when it was OCR'd and they were
    kept (contracts OCR'd before they were have none: their hits are not drawn)."""


@dataclass(frozen=True)
class PageImage:
    record: ContractRecord
    page: int
    png: bytes | None
    """The image, when it was just drawn; else ``path`` is the cached one."""
    path: Path | None
    layout: Any


def restricted(acting: Acting, record: ContractRecord) -> bool:
    """Whether the contract's class is restricted (reading its content needs a purpose)."""
    return bool(acting.access.store.restrictions().get(record.classification or ""))


def content_purpose(
    acting: Acting,
    record: ContractRecord,
    purpose: str | None,
    action_name: str,
    details: dict[str, Any],
) -> str | None:
    """The cleaned purpose of a read of a contract's content; for a restricted class one is
    required (借阅登记): without it the read is refused, and the refusal logged."""
    purpose = (purpose or "").strip() or None
    grant = acting.caller.grant_for(record.id)
    if purpose is None and grant is not None and restricted(acting, record):
        purpose = grant.log_purpose
    if purpose is None and restricted(acting, record):
        acting.log(
            action_name,
            outcome="refused",
            contract_id=record.id,
            details={
                **details,
                "reason": "purpose required",
                "classification": record.classification,
            },
        )
        raise PurposeRequired(
            "a purpose is required to read the content of a contract of a restricted class "
            "(借阅登记)",
            hint="say why, e.g. ?purpose=litigation case 2024-17",
        )
    return purpose


class PagesArea(Area):
    """A contract's pages: page images and page text (read with a purpose, logged)."""

    @action(PAGE_ACTION, Perm.CONTRACTS_READ, logged="self", contract="contract_id")
    def read(
        self,
        contract_id: int,
        page: int | None = None,
        *,
        purpose: str | None = None,
        draw: Draw | None = None,
        cache: DrawnPages | None = None,
        hits_for: Callable[[list[str]], int | None] | None = None,
    ) -> PageRead:
        """The texts of the contract's pages and the layout of ``page`` (default: the page
        ``hits_for(texts)`` names, else the first). A damaged text or a page that cannot be
        drawn is reported in the answer, not raised: the page still shows the record."""
        record = self.archive.get(contract_id)
        purpose = self._purpose(record, purpose, {"file": "page", "page": page})
        text_error: str | None = None
        try:
            texts = self.archive.page_texts(record)
        except ArchiveError as exc:  # a damaged package
            texts, text_error = [], exc.message
        if page is None:
            page = (hits_for(texts) if hits_for else None) or 1
        page = max(1, min(page, max(record.page_count, 1)))
        layout: Any = None
        render_error: str | None = None
        if draw is not None:
            try:
                layout = self._drawn(record, page, draw, cache)[2]
            except ArchiveError as exc:
                render_error = exc.message
        words: dict[str, Any] | None = None
        if any(p.page_no == page and p.text_source == "ocr" for p in record.pages):
            words = self.archive.page_words(record, page)
        self.acting.log(
            PAGE_ACTION,
            contract_id=contract_id,
            purpose=purpose,
            details={"file": "text", "page": page, "sha256": record.text_sha256},
        )
        return PageRead(record, page, texts, text_error, layout, render_error, purpose, words)

    @action(PAGE_ACTION, Perm.CONTRACTS_READ, logged="self", contract="contract_id")
    def image(
        self,
        contract_id: int,
        page: int,
        *,
        purpose: str | None = None,
        draw: Draw,
        cache: DrawnPages | None = None,
    ) -> PageImage:
        """One page as an image (drawn once, then cached)."""
        record = self.archive.get(contract_id)
        if not 1 <= page <= record.page_count:
            raise NotFound(f"contract {contract_id} has no page {page}")
        purpose = self._purpose(record, purpose, {"file": "image", "page": page})
        png, path, layout = self._drawn(record, page, draw, cache)
        self.acting.log(
            PAGE_ACTION,
            contract_id=contract_id,
            purpose=purpose,
            details={"file": "image", "page": page, "sha256": record.sha256},
        )
        return PageImage(record, page, png, path, layout)

    # -- helpers ------------------------------------------------------------------------------
    def _purpose(
        self, record: ContractRecord, purpose: str | None, details: dict[str, Any]
    ) -> str | None:
        return content_purpose(self.acting, record, purpose, PAGE_ACTION, details)

    def _drawn(
        self, record: ContractRecord, page: int, draw: Draw, cache: DrawnPages | None
    ) -> tuple[bytes | None, Path | None, Any]:
        if not 1 <= page <= record.page_count:
            raise NotFound(f"contract {record.id} has no page {page}")
        cached = cache.get(record.sha256, page) if cache is not None else None
        if cached is not None:
            return None, cached[0], cached[1]
        with self.archive.spooled_original(record) as path:
            png, layout = self.archive.run_isolated(draw, str(path), page - 1, what=f"page {page}")
        if cache is not None:
            cache.put(record.sha256, page, png, layout)
        return png, None, layout
