"""RapidOCR: PaddleOCR's PP-OCRv4 models (Chinese and English) on ONNX Runtime, on the CPU.

``rapidocr-onnxruntime`` 1.4.4 ships its three models inside its PyPI wheel
(``rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx``, ``..._rec_infer.onnx`` and the
line-direction classifier): nothing is downloaded, at install or at run time (RapidOCR 2.x and
3.x fetch their models from a hub on first use, so they are not used).

The engine gives what :class:`ingest.ocr.engine.TesseractEngine` gives, from one pass:

- **text**: the detected text lines in reading order (lines whose vertical middles fall within
  one another's height are one row, read left to right, joined by a space; rows top to bottom);
- **TSV** in tesseract's layout (``level`` 1 the page, 4 a line, 5 a word, with ``conf`` 0-100
  and pixel boxes), so that ``ingest.ocr.page.parse_tsv`` gives confidences, low-confidence
  words and the word boxes of the page viewer's hit boxes. Words come from RapidOCR's
  per-character boxes: each Han character is a word (as tesseract's Chinese models give them),
  a run of other characters between spaces is a word, its box the union of its characters';
- **the text-only PDF layer** for the searchable copy: a page the size of the image at its dpi
  with every word drawn invisibly (text render mode 3) in its box, in the layout of tesseract's
  ``textonly_pdf`` (its glyphless font, a ToUnicode map): a few kilobytes a page.

RapidOCR's recognizer drops most spaces between English words inside a line ("Limitation of
liability" comes out "Limitationofliability"), and its per-character boxes (CTC columns) are too
coarse to tell a space from the gap between two letters. So the Latin runs of its lines (four
letters or more) are cut out of the page image, stacked on one white sheet and read by
tesseract (English, ``--psm 6``) in one pass; tesseract's word breaks, aligned to RapidOCR's
letters (which are kept), put the spaces back (:func:`latin_runs`, :func:`read_runs`,
:func:`respace`). Tesseract failing leaves RapidOCR's reading as it was.

Orientation is asked of tesseract's OSD (tesseract is installed wherever OCR runs); RapidOCR's
own direction classifier only tells 0° from 180° per line.

The model is loaded once per worker process (about 0.5 s) with one ONNX Runtime thread: the
workers already take every core. It runs in the OCR worker process itself, so a page past its
timeout is stopped by the pool, which kills the worker.
"""

from __future__ import annotations

import functools
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest.ocr.engine import PSM, EngineOutput, Orientation, TesseractEngine, _seconds
from ingest.ocr.errors import OcrPageError, OcrTimeout, OcrUnavailable

PACKAGE = "rapidocr-onnxruntime"
MODULE = "rapidocr_onnxruntime"
_HAN_CHAR = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]")
_TSV_HEADER = (
    "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext"
)


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version(PACKAGE)
    except PackageNotFoundError:
        return ""


REC_BATCH = 1
"""Text lines the recogniser reads at once (RapidOCR's default is 6). A batch is padded to its
widest line, and the recogniser's cost grows faster than a line's width (PP-OCRv4's
recogniser mixes the whole line globally): on the Chinese scan's page 2 (26 lines, a batch of
six up to 2,083 pixels wide) one line at a time took 6.4 s of CPU against 10.3 s. Without the
padding a few characters read differently, mostly punctuation (``（`` and ``：`` for ``(`` and
``:``); the Chinese synthetic pages' CER stays 5.80 % pooled and the scan's ten headings are
read (``bench.ocr_quality``, README "Benchmarks")."""


@functools.cache
def _model() -> Any:
    """RapidOCR with its shipped models, one per process, one ONNX Runtime thread, one line
    recognised at a time (:data:`REC_BATCH`)."""
    try:
        from rapidocr_onnxruntime import RapidOCR
    except ImportError as exc:
        raise OcrUnavailable(
            f"the RapidOCR engine needs the {PACKAGE} package, which cannot be imported ({exc})",
            hint="uv sync (it is a dependency of the archive)",
        ) from exc
    return RapidOCR(intra_op_num_threads=1, inter_op_num_threads=1, rec_batch_num=REC_BATCH)


MODELS = (
    "ch_PP-OCRv4_det_infer.onnx",
    "ch_PP-OCRv4_rec_infer.onnx",
    "ch_ppocr_mobile_v2.0_cls_infer.onnx",
)
"""The models the wheel ships (``rapidocr_onnxruntime/models/``)."""


def check_rapidocr() -> str:
    """Start-up check, before any work is taken: the package and ONNX Runtime are installed
    and the wheel's three models are there. Nothing is imported or loaded here: importing
    ONNX Runtime costs the checking process 0.5 s of CPU and 80 MB (every ``ingest``, every
    server worker), and only OCR workers read pages; each loads the models once, on its first
    Chinese page. Returns RapidOCR's version."""
    import importlib.util

    found = {name: importlib.util.find_spec(name) for name in ("onnxruntime", MODULE)}
    missing = [name for name, spec in found.items() if spec is None]
    if missing:
        raise OcrUnavailable(
            f"the RapidOCR engine needs the {PACKAGE} package and ONNX Runtime, which are not "
            f"installed ({', '.join(missing)} missing)",
            hint="uv sync (it is a dependency of the archive), or ARCHIVE_OCR_ENGINE=tesseract",
        )
    spec = found[MODULE]
    assert spec is not None and spec.submodule_search_locations
    models = Path(next(iter(spec.submodule_search_locations))) / "models"
    absent = [name for name in MODELS if not (models / name).is_file()]
    if absent:
        raise OcrUnavailable(
            f"RapidOCR's models are missing from {models}: {', '.join(absent)}",
            hint=f"reinstall it: uv sync --reinstall-package {PACKAGE}",
        )
    return version()


# --- the reading, as lines and words -----------------------------------------------------------
@dataclass
class Word:
    text: str
    box: tuple[int, int, int, int]
    """left, top, right, bottom in pixels."""
    conf: float
    """0-100."""


@dataclass
class Line:
    text: str
    box: tuple[int, int, int, int]
    conf: float
    words: list[Word] = field(default_factory=list)


def _bounds(points: Any) -> tuple[int, int, int, int]:
    xs = [float(p[0]) for p in points]
    ys = [float(p[1]) for p in points]
    return int(min(xs)), int(min(ys)), round(max(xs)), round(max(ys))


def _words(chars: list[str], boxes: list[Any], confs: list[float]) -> list[Word]:
    """Per-character boxes into words: a Han character alone, other runs split at spaces."""
    words: list[Word] = []
    current: list[tuple[str, tuple[int, int, int, int], float]] = []

    def flush() -> None:
        if current:
            text = "".join(c for c, _, _ in current)
            left = min(b[0] for _, b, _ in current)
            top = min(b[1] for _, b, _ in current)
            right = max(b[2] for _, b, _ in current)
            bottom = max(b[3] for _, b, _ in current)
            conf = min(c for _, _, c in current)
            words.append(Word(text, (left, top, right, bottom), round(conf * 100, 2)))
            current.clear()

    for char, box, conf in zip(chars, boxes, confs, strict=False):
        if not char.strip():
            flush()
            continue
        bounds = _bounds(box)
        if _HAN_CHAR.match(char):
            flush()
            current.append((char, bounds, float(conf)))
            flush()
        else:
            current.append((char, bounds, float(conf)))
    flush()
    return words


# --- spaces between Latin words ------------------------------------------------------------------
_LATIN_LETTER = re.compile(r"[A-Za-z]")
MIN_RUN_LETTERS = 4
"""A Latin run shorter than this (a unit, a roman numeral) is left as RapidOCR read it."""
SPACING_MIN_SIMILARITY = 0.75
"""How alike (difflib ratio, spaces and case aside) tesseract's reading of a run must be to
RapidOCR's for its word breaks to be taken."""


@dataclass(frozen=True)
class LatinRun:
    """Characters ``start`` to ``end`` (exclusive) of detection ``item``: a run of non-Han
    characters with Latin letters in it, and its pixel box on the page."""

    item: int
    start: int
    end: int
    box: tuple[int, int, int, int]


def latin_runs(result: list[Any] | None) -> list[LatinRun]:
    """The runs of RapidOCR's detections (with per-character boxes) whose Latin words may have
    lost the spaces between them: RapidOCR's recognizer drops most of them (it reads a line as
    one sequence, trained mostly on Chinese), and its character boxes are CTC columns too
    coarse to tell a space from the gap between two letters."""
    runs: list[LatinRun] = []
    for index, item in enumerate(result or []):
        if len(item) < 6 or not item[3] or len(item[3]) != len(item[4]):
            continue
        chars = [str(c) for c in item[4]]
        line = _bounds(item[0])
        start = None
        for position in range(len(chars) + 1):
            han = position == len(chars) or bool(_HAN_CHAR.match(chars[position]))
            if not han and start is None:
                start = position
            elif han and start is not None:
                # trim spaces and punctuation off both ends of the run
                while start < position and not chars[start].isalnum():
                    start += 1
                end = position
                while end > start and not chars[end - 1].isalnum():
                    end -= 1
                letters = sum(1 for c in chars[start:end] if _LATIN_LETTER.match(c))
                if letters >= MIN_RUN_LETTERS:
                    boxes = [_bounds(b) for b in item[3][start:end]]
                    left = min(b[0] for b in boxes)
                    right = max(b[2] for b in boxes)
                    runs.append(LatinRun(index, start, end, (left, line[1], right, line[3])))
                start = None
    return runs


def word_breaks(rapid: str, words: list[str]) -> list[int]:
    """Where spaces go in ``rapid`` (RapidOCR's run, its own spaces kept): the positions of
    ``rapid`` at which tesseract's reading of the same run (``words``) starts a word, found by
    aligning the two without spaces and case. Nothing when the readings differ too much."""
    import difflib

    kept = [i for i, c in enumerate(rapid) if not c.isspace()]
    a = "".join(rapid[i] for i in kept).lower()
    b = "".join(words).lower()
    if not a or not b:
        return []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    if matcher.ratio() < SPACING_MIN_SIMILARITY:
        return []
    b_to_a: dict[int, int] = {}
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            b_to_a[block.b + k] = block.a + k
    breaks: list[int] = []
    offset = 0
    for word in words[:-1]:
        offset += len(word)
        # the first letter of the next word, if it is matched; else the letter before the
        # break, if that one is
        if offset in b_to_a:
            at = b_to_a[offset]
        elif offset - 1 in b_to_a:
            at = b_to_a[offset - 1] + 1
        else:
            continue
        if 0 < at < len(kept):
            position = kept[at]
            before, after = rapid[position - 1], rapid[position]
            # between words, not inside an address or a number (tesseract breaks
            # "ghzyj.gz.gov.cn" after each dot, "1,000" after its comma)
            if (before.isalnum() and (after.isalnum() or after == "(")) or (
                before in ",;)" and after.isalpha()
            ):
                breaks.append(position)
    return sorted(set(breaks))


def respace(result: list[Any], runs: list[LatinRun], readings: list[list[str]]) -> list[Any]:
    """RapidOCR's detections with a space inserted into each Latin run where tesseract's
    reading of that run (``readings[i]``, its words) breaks a word; the space gets a box of no
    width at the start of the character after it. Other detections are returned unchanged."""
    out = [list(item) for item in result]
    inserts: dict[int, list[int]] = {}
    for run, words in zip(runs, readings, strict=True):
        chars = [str(c) for c in out[run.item][4][run.start : run.end]]
        text = "".join(chars) if all(len(c) == 1 for c in chars) else None
        if text is None:
            continue
        inserts.setdefault(run.item, []).extend(run.start + b for b in word_breaks(text, words))
    for index, positions in inserts.items():
        item = out[index]
        chars, boxes, confs = list(item[4]), list(item[3]), list(item[5])
        for position in sorted(positions, reverse=True):
            box = _bounds(boxes[position])
            point = [[box[0], box[1]], [box[0], box[1]], [box[0], box[3]], [box[0], box[3]]]
            chars.insert(position, " ")
            boxes.insert(position, point)
            confs.insert(position, confs[position])
        item[1] = "".join(str(c) for c in chars)
        item[3], item[4], item[5] = boxes, chars, confs
    return out


STRIP_GAP = 24
"""White pixels around each run in the image tesseract reads (one strip per run)."""


def read_runs(
    page: Any, runs: list[LatinRun], work: Path, *, dpi: int, timeout: float
) -> list[list[str]]:
    """Tesseract's words for each Latin run: the runs cut out of the page image (``page``, a
    PIL image) and stacked one under another on white, read in one tesseract pass (English,
    one block, ``--psm 6``), each word given to the strip its box is in, left to right."""
    import csv
    import io

    from PIL import Image

    from ingest.ocr.engine import _run

    crops = []
    for run in runs:
        left, top, right, bottom = run.box
        pad = max((bottom - top) // 3, 2)
        crops.append(
            page.crop(
                (
                    max(left - pad, 0),
                    max(top - 2, 0),
                    min(right + pad, page.width),
                    min(bottom + 2, page.height),
                )
            ).convert("L")
        )
    width = max(c.width for c in crops) + 2 * STRIP_GAP
    height = sum(c.height + STRIP_GAP for c in crops) + STRIP_GAP
    sheet = Image.new("L", (width, height), 255)
    strips: list[tuple[int, int]] = []
    y = STRIP_GAP
    for crop in crops:
        sheet.paste(crop, (STRIP_GAP, y))
        strips.append((y, y + crop.height))
        y += crop.height + STRIP_GAP
    path = work / "latin-runs.png"
    base = path.with_suffix("")
    sheet.save(path)
    config = f"--psm 6 --dpi {int(dpi)} -c tessedit_create_tsv=1"
    _run(path, base, "tsv", "eng", config, timeout)
    try:
        tsv = base.with_suffix(".tsv").read_text("utf-8", errors="replace")
    except OSError as exc:
        raise OcrPageError(f"tesseract wrote no output ({exc.strerror or exc})") from exc
    words: list[list[tuple[int, str]]] = [[] for _ in runs]
    for row in csv.DictReader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE):
        text = (row.get("text") or "").strip()
        if row.get("level") != "5" or not text:
            continue
        try:
            middle = int(row["top"]) + int(row["height"]) / 2
            left = int(row["left"])
        except (KeyError, ValueError):
            continue
        for index, (top, bottom) in enumerate(strips):
            if top - STRIP_GAP / 2 <= middle < bottom + STRIP_GAP / 2:
                words[index].append((left, text))
                break
    return [[text for _, text in sorted(found)] for found in words]


def lines_of(result: list[Any] | None) -> list[Line]:
    """RapidOCR's detections (``return_word_box=True``) as lines with their words."""
    lines: list[Line] = []
    for item in result or []:
        points, text, score = item[0], str(item[1]), float(item[2])
        if not text.strip():
            continue
        box = _bounds(points)
        words: list[Word] = []
        if len(item) >= 6 and item[3] and len(item[3]) == len(item[4]):
            words = _words(list(item[4]), list(item[3]), list(item[5]))
        if not words:
            words = [
                Word(part, box, round(score * 100, 2)) for part in text.split() if part.strip()
            ]
        lines.append(Line(text.strip(), box, round(score * 100, 2), words))
    return lines


def reading_order(lines: list[Line]) -> list[list[Line]]:
    """Rows of lines, top to bottom, each left to right: a line joins a row when its vertical
    middle falls within the row's first line (RapidOCR cuts a printed line at wide gaps, such
    as the blanks of a form, and lists the parts by the detector's order)."""
    rows: list[list[Line]] = []
    for line in sorted(lines, key=lambda item: (item.box[1] + item.box[3]) / 2):
        middle = (line.box[1] + line.box[3]) / 2
        for row in rows[-3:]:
            first = row[0].box
            if first[1] <= middle <= first[3]:
                row.append(line)
                break
        else:
            rows.append([line])
    for row in rows:
        row.sort(key=lambda item: item.box[0])
    return rows


def to_text(rows: list[list[Line]]) -> str:
    return "\n".join(" ".join(line.text for line in row) for row in rows) + "\n"


def to_tsv(rows: list[list[Line]], width: int, height: int) -> str:
    """The reading in tesseract's TSV layout (what ``parse_tsv`` reads)."""
    out = [_TSV_HEADER, f"1\t1\t0\t0\t0\t0\t0\t0\t{width}\t{height}\t-1\t"]
    number = 0
    for row in rows:
        for line in row:
            number += 1
            left, top, right, bottom = line.box
            out.append(
                f"4\t1\t1\t1\t{number}\t0\t{left}\t{top}\t{right - left}\t{bottom - top}\t-1\t"
            )
            for index, word in enumerate(line.words, 1):
                w_left, w_top, w_right, w_bottom = word.box
                text = word.text.replace("\t", " ").replace("\n", " ")
                out.append(
                    f"5\t1\t1\t1\t{number}\t{index}\t{w_left}\t{w_top}\t"
                    f"{w_right - w_left}\t{w_bottom - w_top}\t{word.conf:.2f}\t{text}"
                )
    return "\n".join(out) + "\n"


GLYPHLESS_FONTS = (
    Path("/usr/share/tesseract-ocr/5/tessdata/pdf.ttf"),
    Path("/usr/share/tesseract-ocr/4.00/tessdata/pdf.ttf"),
)
"""Tesseract's glyphless font (572 bytes, installed with it): embedded in the layer as
tesseract's own text-only PDFs do; without it the layer names the font and embeds none."""
_TO_UNICODE = (
    b"/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
    b"/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
    b"/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
    b"1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
    b"1 beginbfrange\n<0000> <FFFF> <0000>\nendbfrange\n"
    b"endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n"
)


def _stream(body: bytes, extra: str = "") -> bytes:
    import zlib

    data = zlib.compress(body)
    head = f"<< /Length {len(data)} /Filter /FlateDecode {extra}>>\nstream\n".encode()
    return head + data + b"\nendstream"


def text_layer(rows: list[list[Line]], width: int, height: int, dpi: int) -> bytes:
    """A one-page PDF the size of the image at ``dpi`` with every word invisible (text render
    mode 3) over its box, stretched to the box's width: the layout of tesseract's
    ``textonly_pdf`` (a Type0 font over tesseract's glyphless font, Identity-H, a ToUnicode
    map from the UTF-16 codes), so that the searchable copy merges it the same way and a viewer
    selects and finds the words. A few kilobytes a page: no real font is embedded."""
    scale = 72.0 / max(dpi, 1)
    page_w, page_h = width * scale, height * scale
    ops: list[str] = ["BT", "3 Tr"]
    for row in rows:
        for line in row:
            for word in line.words:
                units = word.text.encode("utf-16-be")
                count = len(units) // 2
                if not count:
                    continue
                left, top, right, bottom = word.box
                size = max((bottom - top) * scale, 1.0)
                natural = count * 0.5 * size  # every glyph 500/1000 em wide (/DW 500)
                stretch = 100.0 * max((right - left) * scale, 0.1) / natural
                x, y = left * scale, page_h - bottom * scale
                ops.append(
                    f"/f-0-0 {size:.2f} Tf {stretch:.2f} Tz "
                    f"1 0 0 1 {x:.2f} {y:.2f} Tm <{units.hex().upper()}> Tj"
                )
    ops.append("ET")
    glyphless = next((p for p in GLYPHLESS_FONTS if p.is_file()), None)
    font_file = "/FontFile2 10 0 R " if glyphless is not None else ""
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        (
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {page_w:.2f} {page_h:.2f}] "
            "/Resources << /Font << /f-0-0 5 0 R >> >> /Contents 4 0 R >>"
        ).encode(),
        _stream("\n".join(ops).encode("ascii")),
        b"<< /Type /Font /Subtype /Type0 /BaseFont /GlyphLessFont /Encoding /Identity-H "
        b"/DescendantFonts [6 0 R] /ToUnicode 7 0 R >>",
        b"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /GlyphLessFont "
        b"/CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> "
        b"/FontDescriptor 8 0 R /DW 500 /CIDToGIDMap 9 0 R >>",
        _stream(_TO_UNICODE),
        (
            "<< /Type /FontDescriptor /FontName /GlyphLessFont /Flags 5 "
            "/FontBBox [0 0 500 1000] /ItalicAngle 0 /Ascent 1000 /Descent 0 "
            f"/CapHeight 1000 /StemV 80 {font_file}>>"
        ).encode(),
        _stream(b"\x00\x01" * 65536),  # every CID is the font's glyph 1
    ]
    if glyphless is not None:
        data = glyphless.read_bytes()
        objects.append(_stream(data, f"/Length1 {len(data)} "))
    out = bytearray(b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
    ).encode()
    return bytes(out)


@dataclass(frozen=True)
class RapidOcrEngine:
    """RapidOCR (PP-OCRv4 on ONNX Runtime) behind the :class:`OcrEngine` protocol. Reads
    Chinese and English with one model: ``languages`` and ``psm`` (tesseract's) do not apply."""

    name: str = "rapidocr"
    osd: TesseractEngine = field(default_factory=TesseractEngine)
    spacing: bool = True
    """Put back the spaces between Latin words from tesseract's reading of the Latin runs
    (:func:`read_runs`, :func:`respace`)."""

    def recognize(
        self,
        image: Path,
        *,
        key: str,
        languages: str,
        dpi: int,
        timeout: float,
        psm: int = PSM,
        noise_removal: bool = False,
    ) -> EngineOutput:
        import numpy as np
        from PIL import Image

        started = time.monotonic()
        seconds = _seconds(timeout)
        try:
            with Image.open(image) as img:
                picture = img.convert("RGB")
                pixels = np.asarray(picture)
        except OSError as exc:
            raise OcrPageError(f"the page image cannot be read: {exc}") from exc
        height, width = pixels.shape[:2]
        try:
            result, _ = _model()(pixels, return_word_box=True)
        except OcrUnavailable:
            raise
        except Exception as exc:  # onnxruntime and opencv raise their own types
            raise OcrPageError(f"RapidOCR failed: {type(exc).__name__}: {exc}"[:300]) from exc
        if time.monotonic() - started > seconds:
            raise OcrTimeout("RapidOCR took too long and was stopped")
        runs = latin_runs(result) if self.spacing else []
        if runs:
            work = Path(tempfile.mkdtemp(prefix="latin-", dir=image.parent))
            try:
                readings = read_runs(
                    picture, runs, work, dpi=dpi, timeout=seconds - (time.monotonic() - started)
                )
                result = respace(result, runs, readings)
            except OcrPageError:
                pass  # RapidOCR's reading stands as it is
            finally:
                shutil.rmtree(work, ignore_errors=True)
        rows = reading_order(lines_of(result))
        return EngineOutput(
            text=to_text(rows),
            tsv=to_tsv(rows, width, height),
            pdf=text_layer(rows, width, height, dpi),
        )

    def orientation(
        self, image: Path, *, key: str, dpi: int, timeout: float, characters: int = 0
    ) -> Orientation | None:
        return self.osd.orientation(image, key=key, dpi=dpi, timeout=timeout, characters=characters)
