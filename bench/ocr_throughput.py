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

Wall time on a shared 2-core machine moves with what else runs; the CPU seconds (of this
process's children: workers and tesseract) are reported too, and the load average before each
run. Peak memory per worker: the largest resident size of a worker process plus the tesseract
it runs, sampled from /proc every 50 ms.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench.common import CORPUS, machine
from contract_archive.archive import Archive
from contract_archive.ocr import OcrService
from contract_archive.settings import Settings
from ingest.ocr.check import check_tesseract

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
def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _tree() -> dict[int, tuple[int, int, str]]:
    """pid -> (parent pid, resident KiB, command name) of every process."""
    page_kib = os.sysconf("SC_PAGE_SIZE") // 1024
    procs = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
            statm = Path(entry.path, "statm").read_text().split()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        procs[int(entry.name)] = (int(fields[1]), int(statm[1]) * page_kib, name)
    return procs


class MemorySampler:
    """Peak resident memory of each worker (a child process running tesseract), with its
    tesseract, sampled while the benchmark runs."""

    def __init__(self, interval: float = 0.05) -> None:
        self.interval = interval
        self.peak_worker_kib = 0
        self.peak_tesseract_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = os.getpid()
        while not self._stop.wait(self.interval):
            procs = _tree()
            for ppid, rss, name in procs.values():
                if name != "tesseract":
                    continue
                self.peak_tesseract_kib = max(self.peak_tesseract_kib, rss)
                parent = procs.get(ppid)
                if ppid != me and parent is not None:
                    self.peak_worker_kib = max(self.peak_worker_kib, parent[1] + rss)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def timed(run: Callable[[], int]) -> dict[str, float]:
    load = os.getloadavg()[0]
    cpu = children_cpu()
    with MemorySampler() as memory:
        started = time.perf_counter()
        pages = run()
        wall = time.perf_counter() - started
    return {
        "pages": pages,
        "wall": wall,
        "cpu": children_cpu() - cpu,
        "load": load,
        "worker_mib": memory.peak_worker_kib / 1024,
        "tesseract_mib": memory.peak_tesseract_kib / 1024,
    }


def pipeline(paths: list[Path], workers: int) -> Callable[[], int]:
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
    service = OcrService(archive, workers=workers, poll_seconds=0.05)
    service.open(warm=True)  # starting the worker processes stays outside the timing

    def run() -> int:
        try:
            with service:
                counts = service.wait_for(ids, poll=0.05)
            if counts.failed:
                raise SystemExit(f"{counts.failed} pages failed")
            return counts.done
        finally:
            archive.close()
            shutil.rmtree(tmp, ignore_errors=True)

    return run


def bare(images: list[tuple[Path, int]], processes: int) -> Callable[[], int]:
    env = dict(os.environ, OMP_THREAD_LIMIT="1")

    def one(item: tuple[Path, int]) -> None:
        image, dpi = item
        subprocess.run(
            ["tesseract", str(image), str(image.with_suffix("")), "-l", LANGUAGES,
             "--psm", "3", "--dpi", str(dpi), "txt"],
            env=env, check=True, capture_output=True,
        )  # fmt: skip

    def run() -> int:
        with ThreadPoolExecutor(processes) as pool:
            list(pool.map(one, images))
        return len(images)

    return run


def show(label: str, m: dict[str, float]) -> None:
    print(
        f"{label:<28} {m['pages']:.0f} pages  {m['pages'] / m['wall']:.3f} pages/s  "
        f"wall {m['wall']:.1f} s  cpu {m['cpu']:.1f} s ({m['cpu'] / m['pages']:.2f} s/page)  "
        f"peak per worker {m['worker_mib']:.0f} MiB (tesseract {m['tesseract_mib']:.0f} MiB)  "
        f"load before {m['load']:.1f}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=1, help="best of N rounds per row")
    args = parser.parse_args()
    info = check_tesseract(LANGUAGES)
    print(f"machine: {machine()}; tesseract {info.version}; languages {LANGUAGES}")
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        paths = documents(work)
        images = page_images(paths, work)
        print(f"pages: {len(images)} ({', '.join(p.name for p in paths)})")
        for workers in (1, 2):
            for label, make in (
                (f"bare tesseract, {workers} proc", lambda w=workers: bare(images, w)),
                (f"pipeline, {workers} worker(s)", lambda w=workers: pipeline(paths, w)),
            ):
                runs = [timed(make()) for _ in range(args.rounds)]
                best = min(runs, key=lambda m: m["wall"])
                best["cpu"] = min(m["cpu"] for m in runs)
                results[label] = best
                show(label, best)
    one_bare, one_pipe = results["bare tesseract, 1 proc"], results["pipeline, 1 worker(s)"]
    two_bare, two_pipe = results["bare tesseract, 2 proc"], results["pipeline, 2 worker(s)"]
    for workers, (b, p) in ((1, (one_bare, one_pipe)), (2, (two_bare, two_pipe))):
        print(
            f"pipeline over bare tesseract, {workers} worker(s): "
            f"wall {p['wall'] / b['wall'] - 1:+.1%}, cpu {p['cpu'] / b['cpu'] - 1:+.1%}"
        )
    print(
        f"2 workers / 1 worker: pipeline {one_pipe['wall'] / two_pipe['wall']:.2f}x, "
        f"bare tesseract {one_bare['wall'] / two_bare['wall']:.2f}x"
    )


if __name__ == "__main__":  # the OCR pool starts its workers with forkserver
    main()
