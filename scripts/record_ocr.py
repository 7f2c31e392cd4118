"""Record tesseract's outputs for the fast tests, which replay them without tesseract.

    uv run python scripts/record_ocr.py tests/data/ocr FILE.pdf...

Each PDF is archived into a temporary archive and OCR'd with :class:`RecordingOcrEngine`,
which saves every tesseract output (text, TSV, text-only PDF, orientation) under the
directory, keyed by the PDF's SHA-256, the page and the rotation. Run it again after
changing the OCR settings or upgrading tesseract.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from core.settings import Settings
from ingest.ocr.check import check_tesseract
from ingest.ocr.engine import RecordingOcrEngine
from services.archive import Archive
from services.ocr import OcrService


def main() -> None:
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    directory = Path(sys.argv[1]).resolve()
    files = [Path(p) for p in sys.argv[2:]]
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp) / "var", _env_file=None)  # type: ignore[call-arg]
        info = check_tesseract(settings.ocr_languages)
        print(f"recording tesseract {info.version} into {directory}")
        with Archive(settings, parser_workers=1).open() as archive:
            ids = []
            for path in files:
                result = archive.ingest_path(path)
                print(f"{path.name}: {result.status}, pages to OCR {result.pages_needing_ocr}")
                if result.id is not None:
                    ids.append(result.id)
            engine = RecordingOcrEngine(str(directory))
            with OcrService(archive, engine=engine) as service:
                counts = service.wait_for(ids)
            print(f"recorded {counts.done} pages, {counts.failed} failed")


if __name__ == "__main__":
    main()
