"""Which engine reads which page: ``ARCHIVE_OCR_ENGINE``.

- ``tesseract``: tesseract reads every page (a Chinese page whose reading has Latin runs inside
  Chinese lines is read again as one block, ``--psm 6``; so is a page whose automatic layout
  left ink unread or cut its lines into pieces, with heavy noise removal: see
  ``ingest.ocr.page``).
- ``rapidocr``: RapidOCR (PP-OCRv4, ``ingest.ocr.rapid``) reads every page.
- ``auto``: tesseract's OSD tells the page's script first; a Chinese page (script ``Han``) is
  read by RapidOCR alone (tesseract reads only the Latin runs inside its lines), any other page
  by tesseract, and a page whose tesseract reading is mostly Han characters goes to RapidOCR
  too (when OSD could not tell). English pages are read by tesseract, after OSD (about 1 s).

The choice per language was made by measurement (``bench/ocr_quality.py``, README
"Benchmarks"): RapidOCR reads Chinese print with a fraction of tesseract's errors but drops many
spaces between English words (put back on its Chinese pages from tesseract's reading of the
English runs, ``ingest.ocr.rapid.respace``), so English pages stay with tesseract.
"""

from __future__ import annotations

from typing import Any

ENGINES = ("tesseract", "rapidocr", "auto")


def engine_options(name: str) -> dict[str, Any]:
    """The :class:`ingest.ocr.page.PageOptions` fields of an ``ARCHIVE_OCR_ENGINE`` value."""
    from ingest.ocr.engine import TesseractEngine
    from ingest.ocr.rapid import RapidOcrEngine

    if name == "tesseract":
        return {
            "engine": TesseractEngine(),
            "chinese_engine": None,
            "reread_block": True,
            "reread_layout": True,
        }
    if name == "rapidocr":
        return {
            "engine": RapidOcrEngine(),
            "chinese_engine": None,
            "reread_block": False,
            "reread_layout": False,
        }
    if name == "auto":
        return {
            "engine": TesseractEngine(),
            "chinese_engine": RapidOcrEngine(),
            "reread_block": True,
            "reread_layout": True,
        }
    raise ValueError(f"unknown OCR engine {name!r}: one of {', '.join(ENGINES)}")
