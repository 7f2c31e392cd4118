"""Errors of OCR: a missing engine at start-up, a page that cannot be read, work not done yet."""

from __future__ import annotations

from core.errors import ArchiveError, ConfigurationError, Conflict


class OcrUnavailable(ConfigurationError):
    """The tesseract binary or a language pack is missing; raised at start-up."""

    code = "ocr_unavailable"


class OcrPageError(ArchiveError):
    """One page could not be OCR'd: the engine failed or gave up. The contract stays archived."""

    code = "ocr_failed"
    http_status = 500


class OcrTimeout(OcrPageError):
    code = "ocr_timeout"


class OcrNotReady(Conflict):
    """Asked for something OCR has not produced yet (or will never produce)."""

    code = "ocr_not_ready"
