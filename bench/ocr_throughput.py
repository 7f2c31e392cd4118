"""OCR throughput on the scanned corpus: the pipeline against bare tesseract, 1 and 2 workers.

    uv run python -m bench.ocr_throughput [--rounds 1]

The pages: the real English scan (8 pages, its ABBYY text layer removed so that every page
needs OCR), the real Chinese scan (3 pages, the third printed sideways) and the six synthetic
pages (200 dpi), 17 pages in all.

- **pipeline**: the pages are archived (outside the timing), then :class:`OcrService` works
  the queue with 1, then 2 worker processes: page image out of the PDF, one tesseract pass
  (text, TSV, text-only PDF), orientation check, the text file's next version, the searchable
  copy, the record, the index. Timed from start to the last contract finished.
- **bare tesseract**: the same page images (as the pipeline hands them to tesseract, PGM at
  their own resolution) through ``tesseract IMAGE OUT -l chi_sim+eng --psm 3 --dpi N txt`` on
  the command line, ``OMP_THREAD_LIMIT=1``, 1 and 2 processes at once.
- **bare per engine**: each page through the bare tool of the engine that the default
  ``ARCHIVE_OCR_ENGINE=auto`` keeps for it: the Chinese scan's pages through RapidOCR as
  shipped (``RapidOCR(intra_op_num_threads=1, inter_op_num_threads=1)(image)``, the model
  loaded once per process, on its first Chinese page, as an OCR worker does), the others
  through bare tesseract as above; 1 and 2 processes, each taking the next page. For a Chinese
  page the pipeline does not run tesseract's reading at all, so this is the like-for-like
  reference; bare tesseract stays the reference of issue 19's goal.

Wall time on a shared 2-core machine moves with what else runs; the CPU seconds are reported
too (bare: this process's tesseract children; pipeline: each worker process and the tesseract
processes it ran, from their own ``getrusage``, plus this process, which works the queue), and
the load average before each run. Peak
memory per worker: the worker process's largest resident size, and that of the largest
tesseract it ran (the two add up while a page is read).
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench.common import CORPUS, machine
from core.settings import Settings
from ingest.ocr.check import check_tesseract
from services.archive import Archive
from services.ocr import OcrService

SCANNED = CORPUS / "scanned"
WESTERN = SCANNED / "real" / "WESTERN_COPPER-NON-COMPETITION_AGREEMENT.pdf"
QINGDAO = SCANNED / "real" / "青岛市木门买卖合同示范文本.pdf"
LANGUAGES = "chi_sim+eng"


# --- the documents ------------------------------------------------------------------------
def without_text_layer(source: Path, target: Path) -> Path:
    """The scan with only its page images (the invisible ABBYY text layer removed)."""
    import pypdf
    from pypdf.generic import DecodedStreamObject, NameObject

    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(source))
    for page in writer.pages:
        data = page.get_contents().get_data()  # type: ignore[union-attr]
        found = re.search(rb"([-\d.]+(?: [-\d.]+){5}) cm\s*/(\w+) Do", data)
        if not found:
            raise SystemExit(f"{source}: no page image found in a content stream")
        content = DecodedStreamObject()
        content.set_data(b"q " + found.group(1) + b" cm /" + found.group(2) + b" Do Q")
        page.replace_contents(content)
        resources: Any = page["/Resources"]
        if "/Font" in resources:
            del resources[NameObject("/Font")]
    with open(target, "wb") as fh:
        writer.write(fh)
    return target


def images_pdf(pngs: list[Path], dpi: int, target: Path) -> Path:
    """The synthetic page images as one PDF, each page one image at ``dpi``."""
    from PIL import Image

    images = [Image.open(p).convert("L") for p in pngs]
    images[0].save(target, save_all=True, append_images=images[1:], resolution=dpi)
    return target


def documents(work: Path) -> list[Path]:
    synthetic = sorted((SCANNED / "synthetic").glob("doc*/page-*.png"))
    return [
        without_text_layer(WESTERN, work / "western.pdf"),
        Path(shutil.copy(QINGDAO, work / "qingdao.pdf")),
        images_pdf(synthetic, 200, work / "synthetic.pdf"),
    ]


def page_images(paths: list[Path], work: Path) -> list[tuple[Path, int]]:
    """Every page as the pipeline hands it to tesseract: (PGM file, dpi)."""
    import pypdfium2 as pdfium

    from ingest.ocr.page import page_image

    out = []
    for path in paths:
        pdf = pdfium.PdfDocument(str(path))
        try:
            for number in range(1, len(pdf) + 1):
                image, info = page_image(pdf, number)
                target = work / f"{path.stem}-{number}.pgm"
                image.save(target)
                out.append((target, info.dpi))
        finally:
            pdf.close()
    return out


# --- measuring ----------------------------------------------------------------------------
def children() -> tuple[float, float]:
    """CPU seconds and peak memory (MiB) of this process's children that ended."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


Run = Callable[[], dict[str, float]]


def timed(run: Run) -> dict[str, float]:
    load = os.getloadavg()[0]
    started = time.perf_counter()
    measured = run()
    measured["wall"] = time.perf_counter() - started
    measured["load"] = load
    return measured


def pipeline(paths: list[Path], workers: int) -> Run:
    tmp = Path(tempfile.mkdtemp(prefix="bench-ocr-"))
    settings = Settings(  # type: ignore[call-arg]
        data_dir=tmp / "var", ocr_languages=LANGUAGES, ocr_background=False, _env_file=None
    )
    archive = Archive(settings, parser_workers=1).open()
    ids = []
    for path in paths:
        result = archive.ingest_path(path)
        if result.status != "archived" or result.id is None:
            raise SystemExit(f"{path.name}: {result.status} {result.reason}")
        ids.append(result.id)
    service = OcrService(archive, workers=workers)
    service.open(warm=True)  # starting the worker processes stays outside the timing
    before = service.worker_usage()

    def run() -> dict[str, float]:
        mine = resource.getrusage(resource.RUSAGE_SELF)
        try:
            service.start()
            counts = service.wait_for(ids, poll=0.1)
            after = service.worker_usage()
            here = resource.getrusage(resource.RUSAGE_SELF)
        finally:
            service.stop()
            archive.close()
            shutil.rmtree(tmp, ignore_errors=True)
        if counts.failed:
            raise SystemExit(f"{counts.failed} pages failed")
        # the workers and their tesseract runs, and this process (queue, text files, index)
        cpu = sum(
            a["worker_cpu"] + a["tesseract_cpu"] - b["worker_cpu"] - b["tesseract_cpu"]
            for a, b in zip(after, before, strict=True)
        )
        cpu += here.ru_utime + here.ru_stime - mine.ru_utime - mine.ru_stime
        return {
            "pages": counts.done,
            "cpu": cpu,
            "worker_mib": max(a["worker_kib"] for a in after) / 1024,
            "tesseract_mib": max(a["tesseract_kib"] for a in after) / 1024,
        }

    return run


def bare(images: list[tuple[Path, int]], processes: int) -> Run:
    env = dict(os.environ, OMP_THREAD_LIMIT="1")

    def one(item: tuple[Path, int]) -> None:
        image, dpi = item
        subprocess.run(
            ["tesseract", str(image), str(image.with_suffix("")), "-l", LANGUAGES,
             "--psm", "3", "--dpi", str(dpi), "txt"],
            env=env, check=True, capture_output=True,
        )  # fmt: skip

    def run() -> dict[str, float]:
        cpu_before, _ = children()
        with ThreadPoolExecutor(processes) as pool:
            list(pool.map(one, images))
        cpu_after, peak = children()
        return {
            "pages": len(images),
            "cpu": cpu_after - cpu_before,
            "worker_mib": 0.0,
            "tesseract_mib": peak,
        }

    return run


_RAPIDOCR: Any = None


def _bare_page(item: tuple[Path, int, str]) -> float:
    """One page through the bare tool of ``engine``, in a pool process: its CPU seconds (this
    process and its tesseract child)."""
    global _RAPIDOCR
    image, dpi, engine = item
    before = time.process_time() + children()[0]
    if engine == "rapidocr":
        if _RAPIDOCR is None:
            from rapidocr_onnxruntime import RapidOCR

            _RAPIDOCR = RapidOCR(intra_op_num_threads=1, inter_op_num_threads=1)
        _RAPIDOCR(str(image))
    else:
        subprocess.run(
            ["tesseract", str(image), str(image.with_suffix("")), "-l", LANGUAGES,
             "--psm", "3", "--dpi", str(dpi), "txt"],
            env=dict(os.environ, OMP_THREAD_LIMIT="1"), check=True, capture_output=True,
        )  # fmt: skip
    return time.process_time() + children()[0] - before


def bare_per_engine(images: list[tuple[Path, int]], processes: int) -> Run:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    items = [
        (image, dpi, "rapidocr" if image.name.startswith("qingdao") else "tesseract")
        for image, dpi in images
    ]
    pool = ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn"))
    list(pool.map(time.sleep, [0.5] * processes))  # the processes started outside the timing

    def run() -> dict[str, float]:
        try:
            cpu = sum(pool.map(_bare_page, items))
        finally:
            pool.shutdown()
        return {"pages": len(items), "cpu": cpu, "worker_mib": 0.0, "tesseract_mib": 0.0}

    return run


def show(label: str, m: dict[str, float]) -> None:
    print(
        f"{label:<28} {m['pages']:.0f} pages  {m['pages'] / m['wall']:.3f} pages/s  "
        f"wall {m['wall']:.1f} s  cpu {m['cpu']:.1f} s ({m['cpu'] / m['pages']:.2f} s/page)  "
        f"peak memory: worker {m['worker_mib']:.0f} MiB, tesseract {m['tesseract_mib']:.0f} MiB  "
        f"load before {m['load']:.1f}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=1, help="best of N rounds per row")
    parser.add_argument("--quick", action="store_true", help="the Chinese scan only (3 pages)")
    args = parser.parse_args()
    info = check_tesseract(LANGUAGES)
    print(f"machine: {machine()}; tesseract {info.version}; languages {LANGUAGES}")
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        paths = documents(work)
        if args.quick:
            paths = [p for p in paths if p.name == "qingdao.pdf"]
        images = page_images(paths, work)
        print(f"pages: {len(images)} ({', '.join(p.name for p in paths)})")
        for workers in (1, 2):
            for label, make in (
                (f"bare tesseract, {workers} proc", lambda w=workers: bare(images, w)),
                (f"bare per engine, {workers} proc", lambda w=workers: bare_per_engine(images, w)),
                (f"pipeline, {workers} worker(s)", lambda w=workers: pipeline(paths, w)),
            ):
                runs = [timed(make()) for _ in range(args.rounds)]
                best = min(runs, key=lambda m: m["wall"])
                best["cpu"] = min(m["cpu"] for m in runs)
                results[label] = best
                show(label, best)
    one_bare, one_pipe = results["bare tesseract, 1 proc"], results["pipeline, 1 worker(s)"]
    two_bare, two_pipe = results["bare tesseract, 2 proc"], results["pipeline, 2 worker(s)"]
    one_eng, two_eng = results["bare per engine, 1 proc"], results["bare per engine, 2 proc"]
    for workers, (b, e, p) in (
        (1, (one_bare, one_eng, one_pipe)),
        (2, (two_bare, two_eng, two_pipe)),
    ):
        print(
            f"pipeline over bare tesseract, {workers} worker(s): "
            f"wall {p['wall'] / b['wall'] - 1:+.1%}, cpu {p['cpu'] / b['cpu'] - 1:+.1%}; "
            f"over bare per engine: wall {p['wall'] / e['wall'] - 1:+.1%}, "
            f"cpu {p['cpu'] / e['cpu'] - 1:+.1%}"
        )
    print(
        f"2 workers / 1 worker: pipeline {one_pipe['wall'] / two_pipe['wall']:.2f}x, "
        f"bare tesseract {one_bare['wall'] / two_bare['wall']:.2f}x, "
        f"bare per engine {one_eng['wall'] / two_eng['wall']:.2f}x"
    )


if __name__ == "__main__":  # the OCR pool starts its workers with forkserver
    main()
