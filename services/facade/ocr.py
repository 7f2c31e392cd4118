"""The OCR queue: status, retry, wake."""

from __future__ import annotations

from services.facade.base import Area


class OcrArea(Area):
    """The OCR queue: status, retry, wake."""
