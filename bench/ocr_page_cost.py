"""Where an OCR page's CPU goes, page by page: the pipeline's ``ocr_page`` against bare tesseract.

    uv run python -m bench.ocr_page_cost [--all]

For each page (by default 7 of the 17 of ``bench.ocr_throughput``: the English scan's pages 1-2,
the Chinese scan's 3, synthetic pages 1 and 4; ``--all`` for every page) it reads the page once
through ``ocr_page`` (page image, one tesseract pass with the txt, TSV and PDF renderers, the
orientation check, the second reading of a Chinese page) and splits its CPU seconds into this
process's Python (image, TSV parsing) and each tesseract call; then the same page image through
bare ``tesseract IMG OUT -l chi_sim+eng --psm 3 --dpi N txt``, and with ``txt pdf`` plus the TSV
(the pipeline's one call, alone), so that the renderers' cost shows. ``OMP_THREAD_LIMIT=1``. The
per-contract work after the pages (text file, searchable copy, record, index, seal) is not in
it: ``bench.ocr_throughput`` times the whole.
"""

from __future__ import annotations

import argparse
import collections
import os
import resource
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import machine
from bench.ocr_throughput import LANGUAGES, documents
from ingest.ocr import page as ocr
from ingest.ocr.engine import PSM, EngineOutput, Orientation, TesseractEngine

QUICK = {"western": [1, 2], "qingdao": [1, 2, 3], "synthetic": [1, 4]}


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


SPENT: collections.defaultdict[str, float] = collections.defaultdict(float)


class CountingEngine(TesseractEngine):
    """Tesseract, adding each call's CPU seconds to ``SPENT`` by kind of call."""

    def recognize(self, image: Path, **kwargs: Any) -> EngineOutput:
        before = children_cpu()
        try:
            return super().recognize(image, **kwargs)
        finally:
            SPENT[f"tesseract psm {kwargs.get('psm', PSM)}"] += children_cpu() - before

    def orientation(self, image: Path, **kwargs: Any) -> Orientation | None:
        before = children_cpu()
        try:
            return super().orientation(image, **kwargs)
        finally:
            SPENT["tesseract osd"] += children_cpu() - before


def bare(image: Path, dpi: int, outputs: list[str]) -> float:
    before = children_cpu()
    subprocess.run(
        ["tesseract", str(image), str(image.with_suffix("")), "-l", LANGUAGES,
         "--psm", "3", "--dpi", str(dpi), *outputs],
        check=True, capture_output=True,
    )  # fmt: skip
    return children_cpu() - before


def main() -> None:
    import pypdfium2 as pdfium

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--all", action="store_true", help="all 17 pages")
    args = parser.parse_args()
    os.environ["OMP_THREAD_LIMIT"] = "1"
    print(f"machine: {machine()}")
    print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    options = ocr.PageOptions(languages=LANGUAGES, engine=CountingEngine())
    totals: collections.defaultdict[str, float] = collections.defaultdict(float)
    with tempfile.TemporaryDirectory(prefix="bench-ocr-cost-") as tmp:
        work = Path(tmp)
        for doc in documents(work):
            pdf = pdfium.PdfDocument(str(doc))
            count = len(pdf)
            pdf.close()
            for number in range(1, count + 1) if args.all else QUICK[doc.stem]:
                SPENT.clear()
                tesseract = children_cpu()
                python = time.process_time()
                result = ocr.ocr_page(str(doc), number, doc.stem, options, str(work))
                python = time.process_time() - python
                tesseract = children_cpu() - tesseract
                pdf = pdfium.PdfDocument(str(doc))
                image, info = ocr.page_image(pdf, number)
                pdf.close()
                image.save(work / "bare.pgm")
                txt = bare(work / "bare.pgm", info.dpi, ["txt"])
                three = bare(
                    work / "bare.pgm",
                    info.dpi,
                    ["-c", "textonly_pdf=1", "-c", "tessedit_create_tsv=1", "txt", "pdf"],
                )
                page = python + tesseract
                spent = {"pipeline": page, "python": python, "bare": txt, "renderers": three}
                for name, seconds in [*spent.items(), *SPENT.items()]:
                    totals[name] += seconds
                calls = ", ".join(f"{k} {v:.2f}" for k, v in sorted(SPENT.items()))
                print(
                    f"{doc.stem} p{number} ({info.dpi} dpi, turned {result.rotation}, kept psm "
                    f"{result.psm}): ocr_page {page:.2f} s CPU (Python {python:.2f}; {calls}); "
                    f"bare txt {txt:.2f}, bare txt+tsv+pdf {three:.2f} ({page / txt - 1:+.0%})",
                    flush=True,
                )
    print(
        "all pages: ocr_page {pipeline:.1f} s, bare txt {bare:.1f} s ({ratio:+.0%}); bare with "
        "the TSV and PDF renderers {renderers:.1f} s; Python {python:.1f} s".format(
            ratio=totals["pipeline"] / totals["bare"] - 1, **totals
        )
    )
    print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
