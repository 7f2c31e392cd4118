"""Where an OCR page's CPU goes, per kind of page: ``ocr_page`` against the bare engine.

    uv run python -m bench.ocr_page_cost [--all] [--engine auto]

Each page is read once through the pipeline's page function (:func:`ingest.ocr.page.ocr_page`,
in this process, with the OCR worker's settings: :func:`ingest.ocr.engine.worker_environment`)
with ``--engine`` (``ARCHIVE_OCR_ENGINE``, default ``auto``), and its CPU seconds (this process
and its tesseract children) are split by call: tesseract's OSD (the script, step 2; the
orientation check, step 4), each tesseract reading (``psm 3``; ``psm 6``, the Chinese block
reading of step 5; ``psm 6 nr``, the noisy-layout reading of step 7), RapidOCR in this process,
tesseract on RapidOCR's Latin runs, and the Python around them (page image, TSV parsing, ink
check). Then the same page image through the bare engines:

- **bare tesseract**: ``tesseract IMG OUT -l chi_sim+eng --psm 3 --dpi N txt``,
  ``OMP_THREAD_LIMIT=1`` (as the pipeline runs it): the reference of issue 19's goal;
- **bare RapidOCR**, for the pages whose kept reading is RapidOCR's: the library as shipped
  (``RapidOCR(intra_op_num_threads=1, inter_op_num_threads=1)(image)``, the pipeline's one
  thread, no word boxes) in a process of its own, the model loaded and one page read before
  the timing (that first page's extra cost, the warm-up, is printed apart, as is the pipeline's).

"over the bare engine" compares each page with the bare tool of the engine whose reading the
pipeline kept (tesseract, or RapidOCR): for a Chinese page read by RapidOCR, bare tesseract is
not what the pipeline runs. The kinds: ``en-real`` (the real English scan, without its text
layer), ``en-synthetic`` (the six 200 dpi CUAD pages), ``zh`` (the real Chinese scan's upright
pages), ``turned`` (its sideways page, and an English and a Chinese page turned by 90° as a
scanner that fed them sideways writes them), ``noisy`` (fax-like ``poor-200`` copies of CUAD
pages, :mod:`bench.ocr_degraded`). By default 2-3 pages of each kind; ``--all`` all of them.
The per-contract work after the pages (text file, searchable copy, record, index) is not in
it: ``bench.ocr_throughput`` times the whole.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import machine
from bench.ocr_throughput import LANGUAGES, documents
from ingest.ocr import page as ocr
from ingest.ocr.engine import PSM, EngineOutput, Orientation, TesseractEngine, worker_environment
from ingest.ocr.rapid import RapidOcrEngine
from ingest.ocr.select import ENGINES, engine_options

KINDS = ("en-real", "en-synthetic", "zh", "turned", "noisy")


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
            name = f"tesseract psm {kwargs.get('psm', PSM)}"
            name += " nr" if kwargs.get("noise_removal") else ""
            SPENT[name] += children_cpu() - before

    def orientation(self, image: Path, **kwargs: Any) -> Orientation | None:
        before = children_cpu()
        try:
            return super().orientation(image, **kwargs)
        finally:
            kind = "script" if kwargs.get("characters") else "turn"
            SPENT[f"osd {kind}"] += children_cpu() - before


class CountingRapid(RapidOcrEngine):
    """RapidOCR, its CPU seconds in this process and those of tesseract on its Latin runs."""

    def recognize(self, image: Path, **kwargs: Any) -> EngineOutput:
        before, mine = children_cpu(), time.process_time()
        try:
            return super().recognize(image, **kwargs)
        finally:
            SPENT["rapidocr"] += time.process_time() - mine
            SPENT["tesseract latin runs"] += children_cpu() - before


@dataclass(frozen=True)
class Sample:
    kind: str
    name: str
    pdf: Path
    page_no: int


def turned_pdf(source: Path, page_no: int, target: Path) -> Path:
    """Page ``page_no`` of ``source`` as a one-page scan fed sideways: its image turned by 90°
    counter-clockwise, embedded losslessly at its resolution (img2pdf)."""
    import io

    import img2pdf
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(source))
    try:
        image, info = ocr.page_image(pdf, page_no)
    finally:
        pdf.close()
    buf = io.BytesIO()
    image.rotate(90, expand=True).save(buf, format="PNG", dpi=(info.dpi, info.dpi))
    target.write_bytes(img2pdf.convert(buf.getvalue()))  # type: ignore[arg-type]
    return target


def samples(work: Path, every: bool) -> list[Sample]:
    from bench.ocr_degraded import cuad_pages, degrade

    western, qingdao, synthetic = documents(work)
    out = [
        Sample("en-real", f"western p{n}", western, n) for n in (range(1, 9) if every else (1, 2))
    ]
    out += [
        Sample("en-synthetic", f"synthetic p{n}", synthetic, n)
        for n in (range(1, 7) if every else (1, 4))
    ]
    out += [Sample("zh", f"qingdao p{n}", qingdao, n) for n in (1, 2)]
    out += [
        Sample("turned", "qingdao p3 (printed sideways)", qingdao, 3),
        Sample("turned", "western p2 turned 90°", turned_pdf(western, 2, work / "w-r90.pdf"), 1),
        Sample("turned", "qingdao p1 turned 90°", turned_pdf(qingdao, 1, work / "q-r90.pdf"), 1),
    ]
    for name, path, _ in cuad_pages(4 if every else 2):
        target = degrade(path, "poor-200", name, work / f"noisy-{len(out)}.pdf")
        out.append(Sample("noisy", f"{name[:24]} poor-200", target, 1))
    return out


def bare_tesseract(image: Path, dpi: int) -> float:
    before = children_cpu()
    subprocess.run(
        ["tesseract", str(image), str(image.with_suffix("")), "-l", LANGUAGES,
         "--psm", "3", "--dpi", str(dpi), "txt"],
        check=True, capture_output=True,
    )  # fmt: skip
    return children_cpu() - before


BARE_RAPIDOCR = """
import json, resource, sys, time
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
start = cpu()
from rapidocr_onnxruntime import RapidOCR
model = RapidOCR(intra_op_num_threads=1, inter_op_num_threads=1)
loaded = cpu()
images = sys.argv[1:]
model(images[0])
first = cpu()
out = {"load": loaded - start, "first": first - loaded, "pages": []}
for image in images:
    before = cpu()
    model(image)
    out["pages"].append(cpu() - before)
print(json.dumps(out))
"""


def bare_rapidocr(images: list[Path]) -> dict[str, Any]:
    """RapidOCR as shipped, in a process of its own: CPU seconds of the model load, of the
    warm-up (the first page's reading, beyond a later one of the same page), and of each page."""
    done = subprocess.run(
        [sys.executable, "-c", BARE_RAPIDOCR, *map(str, images)],
        check=True, capture_output=True, text=True, env=dict(os.environ, OMP_THREAD_LIMIT="1"),
    )  # fmt: skip
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["warm-up"] = result["first"] - result["pages"][0]
    return result


def main() -> None:
    import pypdfium2 as pdfium

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--all", action="store_true", help="every page of each kind")
    parser.add_argument("--engine", choices=ENGINES, default="auto")
    args = parser.parse_args()
    worker_environment()  # OMP_THREAD_LIMIT=1 and the worker's malloc settings
    print(f"machine: {machine()}; engine {args.engine}")
    print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    chosen = engine_options(args.engine)
    chosen["engine"] = CountingRapid() if args.engine == "rapidocr" else CountingEngine()
    if chosen["chinese_engine"] is not None:
        chosen["chinese_engine"] = CountingRapid()
    options = ocr.PageOptions(languages=LANGUAGES, timeout=1800.0, **chosen)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-ocr-cost-") as tmp:
        work = Path(tmp)
        pages = samples(work, args.all)
        warm_up: dict[str, float] = {}
        if args.engine != "tesseract":  # the model's load and first page, outside the timing
            from ingest.ocr import rapid

            before = time.process_time()
            rapid._model()
            warm_up["pipeline load"] = time.process_time() - before
            first = next(p for p in pages if p.kind == "zh")
            spent = []
            for _ in range(2):
                before = time.process_time()
                ocr.ocr_page(str(first.pdf), first.page_no, "warm", options, str(work))
                spent.append(time.process_time() - before)
            warm_up["pipeline warm-up"] = spent[0] - spent[1]
        for sample in pages:
            SPENT.clear()
            tesseract = children_cpu()
            python = time.process_time()
            result = ocr.ocr_page(str(sample.pdf), sample.page_no, sample.name, options, str(work))
            python = time.process_time() - python
            tesseract = children_cpu() - tesseract
            pdf = pdfium.PdfDocument(str(sample.pdf))
            image, info = ocr.page_image(pdf, sample.page_no)
            pdf.close()
            bare_image = work / f"bare-{len(rows)}.pgm"
            image.save(bare_image)
            txt = bare_tesseract(bare_image, info.dpi)
            calls = dict(SPENT)
            calls["python"] = python - calls.get("rapidocr", 0.0)
            rows.append(
                {
                    "sample": sample,
                    "pipeline": python + tesseract,
                    "bare tesseract": txt,
                    "rapidocr kept": bool(result.engine),
                    "image": bare_image,
                    "calls": calls,
                    "turn": result.rotation,
                    "psm": result.psm,
                }
            )
        rapid_rows = [r for r in rows if r["rapidocr kept"]]
        if rapid_rows:
            # the image RapidOCR read: turned as the pipeline turned it
            from PIL import Image

            images = []
            for r in rapid_rows:
                if r["turn"]:
                    turned = r["image"].with_name(r["image"].stem + "-turned.pgm")
                    with Image.open(r["image"]) as img:
                        img.rotate(-r["turn"], expand=True).save(turned)
                    images.append(turned)
                else:
                    images.append(r["image"])
            bare = bare_rapidocr(images)
            warm_up["bare RapidOCR load"] = bare["load"]
            warm_up["bare RapidOCR warm-up"] = bare["warm-up"]
            for r, seconds in zip(rapid_rows, bare["pages"], strict=True):
                r["bare rapidocr"] = seconds
    for r in rows:
        r["bare engine"] = r.get("bare rapidocr", r["bare tesseract"])
        spent = ", ".join(f"{k} {v:.2f}" for k, v in sorted(r["calls"].items()))
        print(
            f"{r['sample'].kind:<12} {r['sample'].name}: turned {r['turn']}, kept "
            f"{'rapidocr' if r['rapidocr kept'] else 'tesseract psm ' + str(r['psm'])}: "
            f"ocr_page {r['pipeline']:.2f} s CPU ({spent}); "
            f"bare tesseract {r['bare tesseract']:.2f}"
            + (f", bare RapidOCR {r['bare rapidocr']:.2f}" if "bare rapidocr" in r else ""),
            flush=True,
        )
    print(
        "warm-up (not in the figures above): "
        + ", ".join(f"{k} {v:.2f} s" for k, v in warm_up.items())
    )
    print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(
        "| kind | pages | ocr_page CPU s/page | bare tesseract | over it | bare engine of the "
        "reading kept | over it | where the pipeline's seconds go (per page) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for kind in (*KINDS, "all"):
        some = [r for r in rows if kind in ("all", r["sample"].kind)]
        if not some:
            continue
        n = len(some)
        pipe = sum(r["pipeline"] for r in some)
        tess = sum(r["bare tesseract"] for r in some)
        engine = sum(r["bare engine"] for r in some)
        parts: collections.Counter[str] = collections.Counter()
        for r in some:
            parts.update(r["calls"])
        where = ", ".join(f"{k} {v / n:.2f}" for k, v in parts.most_common() if v >= 0.005 * n)
        print(
            f"| {kind} | {n} | {pipe / n:.2f} | {tess / n:.2f} | {pipe / tess - 1:+.0%} "
            f"| {engine / n:.2f} | {pipe / engine - 1:+.0%} | {where} |"
        )


if __name__ == "__main__":
    main()
