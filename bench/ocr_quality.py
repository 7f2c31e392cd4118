"""OCR quality: character error rate (CER) per scan with ground truth, and the Chinese headings.

    uv run python -m bench.ocr_quality [--bare "chi_sim+eng:3" ...] [--engine auto ...] [--jobs 2]

The pages:

- **English, real**: the 300 dpi scan of the Western Copper non-competition agreement (8 pages;
  its ground truth is one text for the whole document, so the CER is over the document).
- **English, synthetic**: the six CUAD pages rendered at 200 dpi (``scanned/synthetic``), each
  with its own ground truth.
- **Chinese, real**: the 青岛市木门买卖合同示范文本 scan (3 pages, the third printed sideways).
  The corpus has no ground truth for it, so it is scored on its clause headings: each of the
  ten ``第N条`` headings must be read with its title (``第六条 违约责任`` ...), as a person
  reads them on the page image.
- **Chinese, synthetic**: pages 2 and 3 of each Chinese model contract of the corpus that has
  a text layer (``zh/samr-model-contracts``, 6 pages; page 1 is a cover), rendered by the
  pipeline at 300 dpi grey as any page without an image, each scored against its own text
  layer (pdfium's text of the page): exact CER for Chinese, on clean print.

CER: the Levenshtein distance between the OCR text and the ground truth, divided by the
length of the ground truth, after both are normalised alike (every run of white space becomes
one space; spaces between two CJK characters are dropped; full-width ASCII forms are folded).

Each page goes through the pipeline's own page function (:func:`ingest.ocr.page.ocr_page`,
in this process: image out of the PDF, recognition, orientation check) once per engine setting
(``--engine``, repeatable, the values of ``ARCHIVE_OCR_ENGINE``: ``tesseract``, ``rapidocr``,
``auto``; default all three), and, for comparison, through bare tesseract on the same page
image (``--bare LANGS:PSM``, repeatable; default ``chi_sim+eng:3``, the pipeline's old
settings; ``--bare none`` for none). CPU seconds are the tesseract processes' user+system time
(``RUSAGE_CHILDREN``) plus this process's time (RapidOCR runs in it).
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import tempfile
import time
import unicodedata
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from rapidfuzz.distance import Levenshtein

from bench.common import CORPUS, machine
from ingest.ocr.engine import worker_environment
from ingest.ocr.page import PageOptions, ocr_page, page_image, tidy_text
from ingest.ocr.select import engine_options

SCANNED = CORPUS / "scanned"
WESTERN = SCANNED / "real" / "WESTERN_COPPER-NON-COMPETITION_AGREEMENT.pdf"
WESTERN_GT = SCANNED / "real" / "WESTERN_COPPER-NON-COMPETITION_AGREEMENT.groundtruth.txt"
QINGDAO = SCANNED / "real" / "青岛市木门买卖合同示范文本.pdf"
SAMR = CORPUS / "zh" / "samr-model-contracts"
ZH_SYNTHETIC_PAGES = (2, 3)
"""Pages of each Chinese model contract with a text layer read as the Chinese synthetic set
(page 1 is a cover of a few words)."""
GROUPS = ("en-real", "en-synthetic", "zh-synthetic", "zh-real")
QINGDAO_HEADINGS = [
    "第一条 产品明细",
    "第二条 质量标准",
    "第三条 付款方式",
    "第四条 配套费用",
    "第五条 测量、交货、安装及验收",
    "第六条 违约责任",
    "第七条 保证责任",
    "第八条 其他约定事项",
    "第九条",
    "第十条",
]
"""The clause headings of the Chinese scan, as printed (read off the page images by hand)."""

_CJK = r"\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef"
_CJK_GAP = re.compile(rf"(?<=[{_CJK}]) (?=[{_CJK}])")
_SPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    text = _SPACE.sub(" ", text).strip()
    return _CJK_GAP.sub("", text)


def cer(ocr: str, truth: str) -> tuple[int, int]:
    """(edits, length of the ground truth) after normalisation."""
    a, b = normalise(ocr), normalise(truth)
    return Levenshtein.distance(a, b), len(b)


def headings_read(text: str) -> list[str]:
    flat = normalise(text).replace(" ", "")
    return [h for h in QINGDAO_HEADINGS if h.replace(" ", "") in flat]


# --- page sources ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Page:
    doc: str
    group: str
    """One of :data:`GROUPS`."""
    pdf: Path
    page_no: int
    truth: str | None


def _pages_of_pdf(path: Path, doc: str, group: str) -> list[Page]:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(path)
    try:
        count = len(pdf)
    finally:
        pdf.close()
    return [Page(doc, group, path, n, None) for n in range(1, count + 1)]


def synthetic_pages(work: Path) -> list[Page]:
    """Each synthetic PNG as a one-page PDF (img2pdf, lossless, with its 200 dpi)."""
    import img2pdf

    pages = []
    for png in sorted((SCANNED / "synthetic").glob("doc*/page-*.png")):
        pdf = work / f"{png.parent.name}-{png.stem}.pdf"
        pdf.write_bytes(img2pdf.convert(str(png)))  # type: ignore[arg-type]
        truth = png.with_name(png.stem + ".gt.txt").read_text("utf-8")
        pages.append(Page(f"{png.parent.name}/{png.stem}", "en-synthetic", pdf, 1, truth))
    return pages


def zh_synthetic_pages() -> list[Page]:
    """Pages of the Chinese model contracts that have a text layer, each with the text of that
    layer as its ground truth."""
    import pypdfium2 as pdfium

    pages = []
    for path in sorted(SAMR.glob("*.pdf")):
        pdf = pdfium.PdfDocument(path)
        try:
            for n in (n for n in ZH_SYNTHETIC_PAGES if n <= len(pdf)):
                text_page = pdf[n - 1].get_textpage()
                truth = text_page.get_text_range()
                text_page.close()
                if len(normalise(truth)) >= 50:  # the scan among them has no text layer
                    pages.append(Page(f"{path.stem}/p{n}", "zh-synthetic", path, n, truth))
        finally:
            pdf.close()
    return pages


def all_pages(work: Path) -> list[Page]:
    return (
        _pages_of_pdf(WESTERN, "western-copper", "en-real")
        + synthetic_pages(work)
        + zh_synthetic_pages()
        + _pages_of_pdf(QINGDAO, "qingdao", "zh-real")
    )


# --- reading ------------------------------------------------------------------------------
def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def read_pipeline(engine: str, timeout: float = 180.0) -> Callable[[Page, Path], str]:
    options = PageOptions(**engine_options(engine), timeout=timeout)

    def read(page: Page, work: Path) -> str:
        return ocr_page(str(page.pdf), page.page_no, page.doc, options, str(work)).text

    return read


def read_bare(languages: str, psm: int) -> Callable[[Page, Path], str]:
    def read(page: Page, work: Path) -> str:
        import pypdfium2 as pdfium

        pdf = pdfium.PdfDocument(page.pdf)
        try:
            image, info = page_image(pdf, page.page_no)
        finally:
            pdf.close()
        path = Path(tempfile.mkdtemp(dir=work)) / "page.pgm"
        image.save(path)
        command = ["tesseract", str(path), "-", "-l", languages, "--psm", str(psm)]
        out = subprocess.run(
            [*command, "--dpi", str(info.dpi)],
            capture_output=True,
            check=True,
            env={"OMP_THREAD_LIMIT": "1", "PATH": "/usr/bin:/bin"},
        )
        return tidy_text(out.stdout.decode("utf-8", "replace"))

    return read


def run(
    name: str, reader: Callable[[Page, Path], str], pages: list[Page], work: Path, jobs: int
) -> dict[str, object]:
    texts: list[str] = []
    cpu_of: dict[str, float] = {}
    wall0 = time.monotonic()
    for group in GROUPS:
        some = [p for p in pages if p.group == group]
        if not some:
            continue
        cpu0 = _children_cpu()
        self0 = time.process_time()
        with ThreadPoolExecutor(jobs) as pool:
            texts += pool.map(lambda p: reader(p, work), some)
        cpu_of[group] = (_children_cpu() - cpu0 + (time.process_time() - self0)) / len(some)
    pages = [p for g in GROUPS for p in pages if p.group == g]
    wall = time.monotonic() - wall0
    cpu = sum(cpu_of[p.group] for p in pages)
    by_doc: dict[str, list[str]] = {}
    for page, text in zip(pages, texts, strict=True):
        by_doc.setdefault(page.doc, []).append(text)
    scores: dict[str, tuple[int, int]] = {}
    zh: list[tuple[int, int]] = []
    for page in pages:
        if page.group == "en-synthetic" and page.truth is not None:
            scores[page.doc] = cer(by_doc[page.doc][0], page.truth)
        if page.group == "zh-synthetic" and page.truth is not None:
            zh.append(cer(by_doc[page.doc][0], page.truth))
    if "western-copper" in by_doc:
        western = "\n".join(by_doc["western-copper"])
        scores["western-copper"] = cer(western, WESTERN_GT.read_text())
    synth = [v for k, v in scores.items() if k != "western-copper"]
    heads = headings_read("\n".join(by_doc["qingdao"])) if "qingdao" in by_doc else None

    def rate(parts: list[tuple[int, int]]) -> float | None:
        return sum(e for e, _ in parts) / sum(n for _, n in parts) if parts else None

    return {
        "name": name,
        "en_real": rate([scores["western-copper"]] if "western-copper" in scores else []),
        "en_synth": rate(synth),
        "en_all": rate(list(scores.values())),
        "zh_synth": rate(zh),
        "zh_synth_pages": [e / n for e, n in zh],
        "zh_headings": heads,
        "cpu_per_page": cpu / len(pages),
        "cpu_of": cpu_of,
        "wall": wall,
        "texts": by_doc,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bare", action="append", default=None, help="LANGS:PSM, or none")
    parser.add_argument(
        "--engine",
        action="append",
        choices=["tesseract", "rapidocr", "auto"],
        help="the pipeline with this ARCHIVE_OCR_ENGINE (repeatable; default: all three)",
    )
    parser.add_argument("--group", action="append", choices=GROUPS, help="only these pages")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument(
        "--timeout",
        type=float,
        default=180.0,
        help="seconds a page may take (the pipeline's default 180; more on a loaded machine)",
    )
    parser.add_argument("--no-pipeline", action="store_true")
    parser.add_argument("--dump", type=Path, help="write each run's text here")
    args = parser.parse_args()
    bares = [b for b in (args.bare or ["chi_sim+eng:3"]) if b != "none"]
    engines = args.engine or ["tesseract", "rapidocr", "auto"]
    print(machine())
    worker_environment()  # OMP_THREAD_LIMIT=1, as in the OCR workers
    with tempfile.TemporaryDirectory(prefix="ocr-quality-") as tmp:
        work = Path(tmp)
        pages = [p for p in all_pages(work) if not args.group or p.group in args.group]
        runs = []
        for spec in bares:
            langs, _, psm = spec.partition(":")
            runs.append(
                run(f"bare {spec}", read_bare(langs, int(psm or 3)), pages, work, args.jobs)
            )
        if not args.no_pipeline:
            for engine in engines:
                name = f"pipeline {engine}"
                runs.append(run(name, read_pipeline(engine, args.timeout), pages, work, args.jobs))
    print(f"{len(pages)} pages, {args.jobs} at once")
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(
        "| reading | CER en real | CER en synthetic | CER en all | CER zh synthetic "
        "| zh headings read | CPU s/page (" + " / ".join(GROUPS) + ") |"
    )
    print("|---|---|---|---|---|---|---|")

    def pct(value: object) -> str:
        return "-" if value is None else f"{value:.2%}"

    for r in runs:
        heads = r["zh_headings"]
        cpu_of = r["cpu_of"]
        assert isinstance(cpu_of, dict)
        per = " / ".join(f"{cpu_of[g]:.2f}" if g in cpu_of else "-" for g in GROUPS)
        read = "-" if not isinstance(heads, list) else f"{len(heads)}/{len(QINGDAO_HEADINGS)}"
        print(
            f"| {r['name']} | {pct(r['en_real'])} | {pct(r['en_synth'])} | {pct(r['en_all'])} "
            f"| {pct(r['zh_synth'])} | {read} | {r['cpu_per_page']:.2f} ({per}) |"
        )
        pages_cer = r["zh_synth_pages"]
        assert isinstance(pages_cer, list)
        if pages_cer:
            print("    zh synthetic per page: " + ", ".join(f"{v:.2%}" for v in pages_cer))
        if isinstance(heads, list):
            missing = [h for h in QINGDAO_HEADINGS if h not in heads]
            if missing:
                print(f"    missed: {', '.join(missing)}")
        if args.dump:
            args.dump.mkdir(parents=True, exist_ok=True)
            texts = r["texts"]
            assert isinstance(texts, dict)
            for doc, parts in texts.items():
                name = re.sub(r"[^\w]+", "_", f"{r['name']}-{doc}")
                (args.dump / f"{name}.txt").write_text("\n\f\n".join(parts), "utf-8")


if __name__ == "__main__":
    main()
