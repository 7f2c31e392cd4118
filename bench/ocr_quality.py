"""OCR quality: character error rate (CER) per scan with ground truth, and the Chinese headings.

    uv run python -m bench.ocr_quality [--bare "chi_sim+eng:3" ...] [--jobs 2]

The pages:

- **English, real**: the 300 dpi scan of the Western Copper non-competition agreement (8 pages;
  its ground truth is one text for the whole document, so the CER is over the document).
- **English, synthetic**: the six CUAD pages rendered at 200 dpi (``scanned/synthetic``), each
  with its own ground truth.
- **Chinese, real**: the 青岛市木门买卖合同示范文本 scan (3 pages, the third printed sideways).
  The corpus has no ground truth for it, so it is scored on its clause headings: each of the
  ten ``第N条`` headings must be read with its title (``第六条 违约责任`` ...), as a person
  reads them on the page image.

CER: the Levenshtein distance between the OCR text and the ground truth, divided by the
length of the ground truth, after both are normalised alike (every run of white space becomes
one space; spaces between two CJK characters are dropped; full-width ASCII forms are folded).

Each page goes through the pipeline's own page function (:func:`ingest.ocr.page.ocr_page`,
Tesseract, in this process: image out of the PDF, recognition, orientation check), and, for
comparison, through bare tesseract on the same page image (``--bare LANGS:PSM``, repeatable;
default ``chi_sim+eng:3``, the pipeline's old settings). CPU seconds are the tesseract
processes' user+system time (``RUSAGE_CHILDREN``) plus this process's time for the pipeline.
"""

from __future__ import annotations

import argparse
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

SCANNED = CORPUS / "scanned"
WESTERN = SCANNED / "real" / "WESTERN_COPPER-NON-COMPETITION_AGREEMENT.pdf"
WESTERN_GT = SCANNED / "real" / "WESTERN_COPPER-NON-COMPETITION_AGREEMENT.groundtruth.txt"
QINGDAO = SCANNED / "real" / "青岛市木门买卖合同示范文本.pdf"
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
    """``en-real``, ``en-synthetic`` or ``zh-real``."""
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


def all_pages(work: Path) -> list[Page]:
    return (
        _pages_of_pdf(WESTERN, "western-copper", "en-real")
        + synthetic_pages(work)
        + _pages_of_pdf(QINGDAO, "qingdao", "zh-real")
    )


# --- reading ------------------------------------------------------------------------------
def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def read_pipeline(page: Page, work: Path) -> str:
    result = ocr_page(str(page.pdf), page.page_no, page.doc, PageOptions(), str(work))
    return result.text


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
    for group in ("en-real", "en-synthetic", "zh-real"):
        some = [p for p in pages if p.group == group]
        cpu0 = _children_cpu()
        self0 = time.process_time()
        with ThreadPoolExecutor(jobs) as pool:
            texts += pool.map(lambda p: reader(p, work), some)
        cpu_of[group] = (_children_cpu() - cpu0 + (time.process_time() - self0)) / len(some)
    pages = [p for g in ("en-real", "en-synthetic", "zh-real") for p in pages if p.group == g]
    wall = time.monotonic() - wall0
    cpu = sum(cpu_of[p.group] for p in pages)
    by_doc: dict[str, list[str]] = {}
    for page, text in zip(pages, texts, strict=True):
        by_doc.setdefault(page.doc, []).append(text)
    scores: dict[str, tuple[int, int]] = {}
    for page in pages:
        if page.group == "en-synthetic" and page.truth is not None:
            scores[page.doc] = cer(by_doc[page.doc][0], page.truth)
    scores["western-copper"] = cer("\n".join(by_doc["western-copper"]), WESTERN_GT.read_text())
    synth = [v for k, v in scores.items() if k != "western-copper"]
    heads = headings_read("\n".join(by_doc["qingdao"]))
    return {
        "name": name,
        "en_real": scores["western-copper"][0] / scores["western-copper"][1],
        "en_synth": sum(e for e, _ in synth) / sum(n for _, n in synth),
        "en_all": sum(e for e, _ in scores.values()) / sum(n for _, n in scores.values()),
        "zh_headings": heads,
        "cpu_per_page": cpu / len(pages),
        "cpu_of": cpu_of,
        "wall": wall,
        "texts": by_doc,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bare", action="append", default=None, help="LANGS:PSM")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--no-pipeline", action="store_true")
    parser.add_argument("--dump", type=Path, help="write each run's text here")
    args = parser.parse_args()
    bares = args.bare or ["chi_sim+eng:3"]
    print(machine())
    worker_environment()  # OMP_THREAD_LIMIT=1, as in the OCR workers
    with tempfile.TemporaryDirectory(prefix="ocr-quality-") as tmp:
        work = Path(tmp)
        pages = all_pages(work)
        runs = []
        for spec in bares:
            langs, _, psm = spec.partition(":")
            runs.append(
                run(f"bare {spec}", read_bare(langs, int(psm or 3)), pages, work, args.jobs)
            )
        if not args.no_pipeline:
            runs.append(run("pipeline", read_pipeline, pages, work, args.jobs))
    print(f"{len(pages)} pages, {args.jobs} at once")
    print(
        "| reading | CER en real | CER en synthetic | CER en all | zh headings read | CPU s/page |"
    )
    print("|---|---|---|---|---|---|")
    for r in runs:
        heads = r["zh_headings"]
        assert isinstance(heads, list)
        cpu_of = r["cpu_of"]
        assert isinstance(cpu_of, dict)
        per = " / ".join(f"{v:.2f}" for v in cpu_of.values())
        print(
            f"| {r['name']} | {r['en_real']:.2%} | {r['en_synth']:.2%} | {r['en_all']:.2%} | "
            f"{len(heads)}/{len(QINGDAO_HEADINGS)} | {r['cpu_per_page']:.2f} ({per}) |"
        )
        missing = [h for h in QINGDAO_HEADINGS if h not in heads]
        if missing:
            print(f"    missed: {', '.join(missing)}")
        if args.dump:
            args.dump.mkdir(parents=True, exist_ok=True)
            texts = r["texts"]
            assert isinstance(texts, dict)
            for doc, parts in texts.items():
                name = re.sub(r"[^A-Za-z0-9]+", "_", f"{r['name']}-{doc}")
                (args.dump / f"{name}.txt").write_text("\n\f\n".join(parts), "utf-8")


if __name__ == "__main__":
    main()
