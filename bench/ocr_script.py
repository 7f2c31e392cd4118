"""How cheaply can a page's script (Chinese or Latin) be told before it is read in full?

    uv run python -m bench.ocr_script [--group zh-real ...] [--probe osd-half ...]

The pages of ``bench.ocr_quality`` (English real and synthetic, Chinese synthetic and real).
Each page image (as the pipeline gets it: ``ingest.ocr.page.page_image``) goes through each
probe, and the table gives per page what the probe decided and its CPU seconds (tesseract's,
from ``RUSAGE_CHILDREN``, ``OMP_THREAD_LIMIT=1``):

- ``osd``: the pipeline's decision (``ingest.ocr.page``, step 2): tesseract OSD (``--psm 0``)
  on a copy at about ``OSD_DPI`` (150 dpi: half of a 300 dpi scan, a 200 dpi page as it is);
  its ``Script:`` (and confidence) and ``Rotate:`` (and confidence); ``han`` goes to RapidOCR;
- ``osd-20``: the same, OSD classifying 20 characters at least (``min_characters_to_try=20``)
  instead of its default 50 (the pipeline's choice since it was measured here);
- ``osd-half`` / ``osd-quarter``: the same on a half- or quarter-size copy;
- ``read-150`` / ``read-100``: a tesseract reading (``--psm 3``, ``chi_sim+eng``, text only) of
  a copy at about 150 or 100 dpi, and the Han share of its letters;
- ``band``: tesseract (``--psm 3``, ``chi_sim+eng``, full resolution, txt + TSV + PDF) reads
  the inch-high band of the page that starts the most text lines; ``han`` when that reading
  has 20+ Han characters, 80 %+ of its letters, and a mean confidence of 60+;
- ``full``: the pipeline's first reading today (``--psm 3`` at the image's dpi, txt + TSV +
  PDF), for comparison.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from bench.common import machine
from bench.ocr_quality import GROUPS, all_pages
from ingest.ocr.engine import TesseractEngine, parse_osd
from ingest.ocr.page import (
    _HAN,
    _LATIN,
    CHINESE_SCRIPTS,
    HAN_SHARE,
    OSD_DPI,
    READABLE_CONFIDENCE,
    han_share,
    page_image,
    parse_tsv,
    tidy_text,
)

PROBES = ("osd", "osd-20", "osd-half", "osd-quarter", "read-150", "read-100", "band", "full")
LANGUAGES = "chi_sim+eng"


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _scaled(image: object, dpi: int, target: int) -> tuple[object, int]:
    factor = max(round(dpi / target), 1)
    return image.reduce(factor), max(dpi // factor, 1)  # type: ignore[attr-defined]


def text_band(image: Any, dpi: int, inches: float = 1.0) -> tuple[int, int] | None:
    """Top and bottom rows of the band of the page, ``inches`` high, that starts the most text
    lines (runs of rows with some ink, not a black border); None under two lines."""
    from PIL import Image

    small = image.reduce(4)
    scale = image.height / max(small.height, 1)
    ink = small.point(lambda v: 255 if v < 128 else 0).resize(
        (1, small.height), Image.Resampling.BOX
    )
    inked = [0.005 < v / 255 < 0.5 for v in ink.getdata()]
    starts = [0]
    for row, now in enumerate(inked):
        starts.append(starts[-1] + int(now and not (row and inked[row - 1])))
    window = max(min(int(inches * dpi / scale), len(inked)), 1)
    tops = range(len(inked) - window + 1)
    best = max(tops, key=lambda top: (starts[top + window] - starts[top], -top), default=0)
    if starts[best + window] - starts[best] < 2:
        return None
    pad = int(0.1 * dpi)
    return max(int(best * scale) - pad, 0), min(int((best + window) * scale) + pad, image.height)


def probe(name: str, image: object, dpi: int, work: Path) -> tuple[str, float]:
    """What the probe decides about the image (``han``, ``latin`` or ``?``) and its detail."""
    engine = TesseractEngine()
    if name.startswith("osd"):
        target = {"osd": OSD_DPI, "osd-20": OSD_DPI, "osd-half": dpi // 2}.get(name, dpi // 4)
        few = ["-c", "min_characters_to_try=20"] if name == "osd-20" else []
        small, small_dpi = _scaled(image, dpi, target)
        path = work / f"{name}.pgm"
        small.save(path)  # type: ignore[attr-defined]
        base = path.with_name(path.stem + "-osd")
        out = subprocess.run(
            ["tesseract", str(path), str(base), "-l", "osd", "--psm", "0",
             "--dpi", str(small_dpi), *few, "osd"],
            capture_output=True, check=False,
        )  # fmt: skip
        raw = base.with_suffix(".osd").read_text() if base.with_suffix(".osd").exists() else ""
        osd = parse_osd(raw)
        if osd is None:
            reason = out.stderr.decode(errors="replace").strip().splitlines()
            return f"none ({reason[-1][:40] if reason else 'no output'})", 0.0
        said = "han" if osd.script in CHINESE_SCRIPTS else "latin"
        return (
            f"{said}: {osd.script} {osd.script_confidence:.1f}, rot {osd.rotate} "
            f"({osd.confidence:.1f}) @{small_dpi}",
            0.0,
        )
    if name.startswith("read"):
        target = int(name.split("-")[1])
        small, small_dpi = _scaled(image, dpi, target)
        path = work / f"{name}.pgm"
        small.save(path)  # type: ignore[attr-defined]
        out = subprocess.run(
            ["tesseract", str(path), "-", "-l", LANGUAGES, "--psm", "3", "--dpi", str(small_dpi)],
            capture_output=True, check=True,
        )  # fmt: skip
        share = han_share(tidy_text(out.stdout.decode("utf-8", "replace")))
        return f"han {share:.2f} ({'han' if share >= HAN_SHARE else 'latin'}) @{small_dpi}", share
    if name == "band":
        band = text_band(image, dpi)
        if band is None:
            return "no band", 0.0
        path = work / "band.pgm"
        image.crop((0, band[0], image.width, band[1])).save(path)  # type: ignore[attr-defined]
        output = engine.recognize(path, key="band", languages=LANGUAGES, dpi=dpi, timeout=600)
        words = parse_tsv(output.tsv, 60.0)
        text = tidy_text(output.text)
        han, latin = len(_HAN.findall(text)), len(_LATIN.findall(text))
        confident = (words.confidence or 0) >= READABLE_CONFIDENCE
        said = "han" if confident and han >= 20 and han_share(text) >= 0.8 else "latin"
        return (
            f"{said} ({han} han, {latin} latin, conf {words.confidence}, rows {band[0]}-{band[1]})",
            han_share(text),
        )
    path = work / "full.pgm"
    image.save(path)  # type: ignore[attr-defined]
    output = engine.recognize(path, key="full", languages=LANGUAGES, dpi=dpi, timeout=600)
    share = han_share(tidy_text(output.text))
    return f"han {share:.2f}", share


def main() -> None:
    import pypdfium2 as pdfium

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--group", action="append", choices=GROUPS, help="only these pages")
    parser.add_argument("--probe", action="append", choices=PROBES, help="only these probes")
    args = parser.parse_args()
    probes = args.probe or list(PROBES)
    os.environ["OMP_THREAD_LIMIT"] = "1"
    print(machine())
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    totals: dict[tuple[str, str], list[float]] = {}
    print("| page | " + " | ".join(probes) + " |")
    print("|---|" + "---|" * len(probes))
    with tempfile.TemporaryDirectory(prefix="ocr-script-") as tmp:
        work = Path(tmp)
        for page in all_pages(work):
            if args.group and page.group not in args.group:
                continue
            pdf = pdfium.PdfDocument(page.pdf)
            try:
                image, info = page_image(pdf, page.page_no)
            finally:
                pdf.close()
            cells = []
            for name in probes:
                before = _children_cpu()
                said, _ = probe(name, image, info.dpi, work)
                spent = _children_cpu() - before
                totals.setdefault((page.group, name), []).append(spent)
                cells.append(f"{said}, {spent:.2f} s")
            print(f"| {page.group} {page.doc} p{page.page_no} | " + " | ".join(cells) + " |")
    print()
    print("CPU s/page, mean per group:")
    print("| probe | " + " | ".join(GROUPS) + " |")
    print("|---|" + "---|" * len(GROUPS))
    for name in probes:
        means = []
        for group in GROUPS:
            spent = totals.get((group, name))
            means.append(f"{sum(spent) / len(spent):.2f}" if spent else "-")
        print(f"| {name} | " + " | ".join(means) + " |")
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
