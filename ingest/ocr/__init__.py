"""OCR of scanned pages: engines, the page worker, the searchable copy, the worker pool."""

from ingest.ocr.engine import (
    EngineOutput,
    OcrEngine,
    Orientation,
    RecordingOcrEngine,
    ReplayOcrEngine,
    TesseractEngine,
)
from ingest.ocr.errors import OcrNotReady, OcrPageError, OcrTimeout, OcrUnavailable

__all__ = [
    "EngineOutput",
    "OcrEngine",
    "OcrNotReady",
    "OcrPageError",
    "OcrTimeout",
    "OcrUnavailable",
    "Orientation",
    "RecordingOcrEngine",
    "ReplayOcrEngine",
    "TesseractEngine",
]
