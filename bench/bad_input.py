"""The bad-input sweep: hostile and broken files through the CLI and the API.

    uv run python -m bench.bad_input [--write docs/bad-input.md]

Files: everything under ``corpus/bad`` and ``corpus/edge``, and generated ones (empty files,
a contract truncated at 10 offsets, a PNG, a ZIP and an HTML file named ``.pdf``, a page whose
image is a decompression bomb, a 30000×30000-pixel image page, a PDF with JavaScript and
launch actions, a 2,000-page PDF, a non-UTF-8 file name and names containing ``../``).

Each file goes through ``contract-archive ingest --json`` with OCR on (issue 14: the scanned
pages are read by tesseract, the searchable copy is built, within ``--wait-seconds``) and
through ``POST /api/v1/contracts`` of a ``contract-archive serve`` process whose memory (RSS of
the server and its parser processes) is sampled all along; the server's OCR is off
(``ARCHIVE_OCR_BACKGROUND=false``) so that the memory is that of ingest (hostile files through a
server with OCR on: ``tests/test_hostile.py``). The table says how the OCR of each file ended.
``tests/test_bad_input.py`` runs the sweep and checks it against the table in
``docs/bad-input.md`` that ``--write`` produces.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench.common import CORPUS, ROOT, Server, bench_env

PROGRAM = str(Path(sys.executable).parent / "contract-archive")
DOC = ROOT / "docs" / "bad-input.md"
TRUNCATE_SOURCE = (
    "en-cuad/Joint_Venture/ACCELERATEDTECHNOLOGIESHOLDINGCORP_04_24_2003-EX-10.13-JOINT VENTURE "
    "AGREEMENT.PDF"
)
SEED = 9
RSS_LIMIT = 1024**3
OCR_WAIT = 1200
"""Seconds the CLI sweep waits for OCR (``--wait-seconds``); past it the sweep fails."""


@dataclass(frozen=True)
class Case:
    name: str
    """Unique label in the table (the corpus path, or ``generated/...``)."""
    path: Path
    what: str


@dataclass(frozen=True)
class Outcome:
    status: str
    """archived / duplicate / rejected / failed / or ``http <code>`` for anything else."""
    reason: str
    ocr: str = ""
    """How OCR ended (CLI): ``done``, ``done, no searchable copy``, ``incomplete``, ``failed``;
    empty when the file had no page to OCR."""


# --- generated files ----------------------------------------------------------------------------
def _pdf(objects: list[bytes]) -> bytes:
    """A PDF from numbered object bodies (object 1 is the catalog), with a correct xref."""
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{i} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for off in offsets:
        out.write(f"{off:010d} 00000 n \n".encode())
    out.write(
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return out.getvalue()


def _stream(dictionary: str, data: bytes) -> bytes:
    return f"<< {dictionary} /Length {len(data)} >>\nstream\n".encode() + data + b"\nendstream"


def _deflate_repeated(chunk: bytes, times: int) -> bytes:
    comp = zlib.compressobj(9)
    parts = [comp.compress(chunk) for _ in range(times)]
    parts.append(comp.flush())
    return b"".join(parts)


def image_page_pdf(width: int, height: int, bits: int, data: bytes, filters: str) -> bytes:
    """One page showing one grey image XObject whose stream is ``data`` (already filtered)."""
    content = b"q 612 0 0 792 0 0 cm /Im1 Do Q"
    return _pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /XObject << /Im1 5 0 R >> >> /Contents 4 0 R >>",
            _stream("", content),
            _stream(
                f"/Type /XObject /Subtype /Image /Width {width} /Height {height} "
                f"/ColorSpace /DeviceGray /BitsPerComponent {bits} /Filter {filters}",
                data,
            ),
        ]
    )


def decompression_bomb() -> bytes:
    """A 20000×20000 8-bit image (400 MB of pixels) deflated twice: a kilobyte or two."""
    once = _deflate_repeated(b"\x00" * 20000 * 200, 100)
    twice = zlib.compress(once, 9)
    return image_page_pdf(20000, 20000, 8, twice, "[/FlateDecode /FlateDecode]")


def huge_image() -> bytes:
    """A 30000×30000-pixel 1-bit image page with a striped pattern (112 MB of pixels)."""
    row_a = b"\xaa" * 3750
    row_b = b"\x55" * 3750
    return image_page_pdf(
        30000, 30000, 1, _deflate_repeated(row_a * 50 + row_b * 50, 300), "/FlateDecode"
    )


def text_pages_pdf(count: int, label: str) -> bytes:
    kids = " ".join(f"{5 + 2 * i} 0 R" for i in range(count))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {count} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< >>",  # unused, keeps the numbering simple
    ]
    for i in range(count):
        text = f"BT /F1 12 Tf 72 720 Td ({label} page {i + 1} of {count}: the parties agree) Tj ET"
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {6 + 2 * i} 0 R >>".encode()
        )
        objects.append(_stream("", text.encode()))
    return _pdf(objects)


def active_content_pdf() -> bytes:
    """Opens with JavaScript, has a JavaScript name tree and a launch action on a link."""
    text = b"BT /F1 12 Tf 72 720 Td (This agreement carries active content.) Tj ET"
    return _pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R /OpenAction 6 0 R "
            b"/Names << /JavaScript << /Names [(boot) 7 0 R] >> >> >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R /Annots [8 0 R] >>",
            _stream("", text),
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
            b"<< /S /JavaScript /JS (app.alert('opened');) >>",
            b"<< /S /JavaScript /JS (this.exportDataObject({cName: 'x', nLaunch: 2});) >>",
            b"<< /Type /Annot /Subtype /Link /Rect [72 700 300 720] "
            b"/A << /S /Launch /F (cmd.exe) /Win << /F (cmd.exe) /P (/c calc) >> >> >>",
        ]
    )


def png_bytes() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("L", (64, 64), 200).save(buf, format="PNG")
    return buf.getvalue()


def zip_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("contract.txt", "This is a contract in a ZIP file.")
    return buf.getvalue()


def generate(target: Path) -> list[Case]:
    """Write the generated files into ``target``; deterministic for a given SEED."""
    target.mkdir(parents=True, exist_ok=True)
    cases: list[Case] = []

    def add(name: str, data: bytes, what: str, *, filename: str | bytes | None = None) -> None:
        fname = filename if filename is not None else name
        path = Path(os.fsdecode(os.path.join(os.fsencode(target), os.fsencode(fname))))
        path.write_bytes(data)
        cases.append(Case(f"generated/{name}", path, what))

    rng = random.Random(SEED)
    source = (CORPUS / TRUNCATE_SOURCE).read_bytes()
    add("empty.pdf", b"", "an empty file")
    for offset in sorted(rng.sample(range(1, len(source)), 10)):
        add(f"truncated-at-{offset}.pdf", source[:offset], f"a contract cut at byte {offset}")
    add("png-renamed.pdf", png_bytes(), "a PNG image named .pdf")
    add("zip-renamed.pdf", zip_bytes(), "a ZIP archive named .pdf")
    add(
        "html-renamed.pdf",
        b"<!DOCTYPE html><html><body><h1>Contract</h1></body></html>",
        "an HTML page named .pdf",
    )
    add(
        "decompression-bomb.pdf",
        decompression_bomb(),
        "an image deflated twice: 400 MB of pixels in 1 KB",
    )
    add("image-30000x30000.pdf", huge_image(), "one page, a 30000×30000-pixel image")
    add("javascript-launch.pdf", active_content_pdf(), "JavaScript on open and a launch action")
    add("pages-2000.pdf", text_pages_pdf(2000, "long"), "2,000 pages of text")
    add(
        "non-utf8-name.pdf",
        text_pages_pdf(1, "latin-1 name"),
        "file name bytes that are not UTF-8",
        filename=b"contrat-\xe9t\xe9-\xff.pdf",
    )
    dotdot = target / "sub"
    dotdot.mkdir(exist_ok=True)
    inner = dotdot / "dotdot-name.pdf"
    inner.write_bytes(text_pages_pdf(1, "dot dot"))
    cases.append(
        Case(
            "generated/../dotdot-name.pdf",
            target / "sub" / ".." / "sub" / "dotdot-name.pdf",
            "a path and an upload name containing ../",
        )
    )
    return cases


def corpus_cases() -> list[Case]:
    flags: dict[str, dict[str, str]] = {}
    with open(CORPUS / "manifest.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            flags[row["file"]] = row
    cases = []
    for folder in ("bad", "edge"):
        for path in sorted((CORPUS / folder).rglob("*")):
            if path.is_file():
                name = str(path.relative_to(CORPUS))
                row = flags.get(name, {})
                what = (
                    "encrypted"
                    if row.get("encrypted") == "yes"
                    else "malformed"
                    if row.get("malformed") == "yes"
                    else "real-world edge case"
                )
                cases.append(Case(name, path, f"{path.parent.name}: {what}"))
    return cases


def upload_name(case: Case) -> str | bytes:
    if case.name.startswith("generated/../"):
        return "../../etc/dotdot-name.pdf"
    return os.fsencode(case.path.name) if "non-utf8" in case.name else case.path.name


# --- the CLI ------------------------------------------------------------------------------------
FINAL_OCR = ("done", "done, no searchable copy", "incomplete", "failed")


def sweep_cli(cases: list[Case], data_dir: Path, *, ocr: bool = True) -> dict[str, Outcome]:
    """One `contract-archive ingest --json` run over every file (named explicitly); with
    ``ocr`` its scanned pages are OCR'd (and each must end), else they stay queued."""
    args = [os.fsencode(str(c.path)) for c in cases]
    if not ocr:
        args.insert(0, b"--no-ocr")
    r = subprocess.run(
        [
            os.fsencode(PROGRAM),
            *(b"ingest", b"--json", b"--jobs", b"2", b"--wait-seconds", b"%d" % OCR_WAIT),
            *args,
        ],
        capture_output=True,
        env=bench_env(data_dir),
        timeout=1800,
        check=False,
    )
    stderr = r.stderr.decode("utf-8", "replace")
    if b"Traceback" in r.stderr or r.returncode not in (0, 1):  # 3: OCR outlived the wait
        raise AssertionError(f"the CLI failed ({r.returncode}): {stderr[-3000:]}")
    lines = [json.loads(line) for line in r.stdout.decode("utf-8").splitlines() if line.strip()]
    if len(lines) != len(cases):
        raise AssertionError(f"{len(cases)} files given, {len(lines)} results: {stderr[-2000:]}")
    from ingest.context import safe_name

    by_file = {line["file"]: line for line in lines}
    out: dict[str, Outcome] = {}
    for case in cases:
        line = by_file[safe_name(str(case.path))]
        out[case.name] = Outcome(line["status"], _reason(line), _ocr(line))
    still_open = {name: o.ocr for name, o in out.items() if o.ocr and o.ocr not in FINAL_OCR}
    if ocr and still_open:
        raise AssertionError(f"OCR did not end within {OCR_WAIT} s: {still_open}")
    return out


def _ocr(line: dict) -> str:
    """How the OCR of an archived file ended, from its line; ``queued`` with ``--no-ocr``."""
    status = line.get("ocr")
    if not status:
        return "queued" if line["status"] == "archived" and line.get("pages_needing_ocr") else ""
    state = str(status["state"])
    if state == "none":
        return ""
    if state == "done" and status.get("searchable_error"):
        return "done, no searchable copy"
    return state


def _reason(body: dict) -> str:
    """The reason of a rejection, or the warnings of an archived file."""
    if body.get("reason") and body["status"] != "duplicate":
        return str(body["reason"])
    return "; ".join(w[:150] for w in body.get("warnings") or [])[:400]


# --- the API ------------------------------------------------------------------------------------
def _multipart(field_name: str, filename: str | bytes, data: bytes) -> tuple[bytes, str]:
    """A multipart body by hand, so that a file name can be raw non-UTF-8 bytes."""
    boundary = "----bad-input-" + hashlib.sha256(data[:64]).hexdigest()[:16]
    raw_name = filename if isinstance(filename, bytes) else filename.encode()
    body = (
        f"--{boundary}\r\n".encode()
        + b'Content-Disposition: form-data; name="'
        + field_name.encode()
        + b'"; filename="'
        + raw_name.replace(b'"', b"%22")
        + b'"\r\nContent-Type: application/pdf\r\n\r\n'
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def api_outcome(response: object) -> Outcome:
    status = response.status_code  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    if status in (200, 201, 202):  # 202: archived, scanned pages queued for OCR
        return Outcome(body["status"], _reason(body))
    error = body["error"]
    return Outcome("rejected" if status == 422 else f"http {status}", error["message"])


def sweep_api(cases: list[Case], server: Server) -> dict[str, Outcome]:
    import httpx2 as httpx

    out: dict[str, Outcome] = {}
    with httpx.Client(base_url=server.url, timeout=600, headers=server.headers) as client:
        for case in cases:
            body, ctype = _multipart("file", upload_name(case), case.path.read_bytes())
            r = client.post("/api/v1/contracts", content=body, headers={"Content-Type": ctype})
            if r.status_code >= 500:
                raise AssertionError(f"{case.name}: {r.status_code} {r.text[:500]}")
            out[case.name] = api_outcome(r)
    return out


# --- the table ----------------------------------------------------------------------------------
@dataclass
class Sweep:
    cases: list[Case]
    cli: dict[str, Outcome]
    api: dict[str, Outcome]
    max_rss: int
    seconds: float


def run(workdir: Path, cases: list[Case] | None = None, *, ocr: bool = True) -> Sweep:
    """The sweep; ``ocr=False`` leaves the CLI's scanned pages queued (the test suite's run:
    330 pages of OCR take minutes), its table's OCR column then says ``queued``."""
    started = time.monotonic()
    cases = cases if cases is not None else generate(workdir / "generated") + corpus_cases()
    cli = sweep_cli(cases, workdir / "cli" / "var", ocr=ocr)
    with Server(workdir / "api" / "var", extra_env={"ARCHIVE_OCR_BACKGROUND": "false"}) as server:
        api = sweep_api(cases, server)
        max_rss = server.max_rss
    return Sweep(cases, cli, api, max_rss, time.monotonic() - started)


def _cell(text: str) -> str:
    return " ".join(text.replace("|", "\\|").split())


def table(sweep: Sweep) -> str:
    lines = [
        "| file | what it is | CLI | API | OCR (CLI) | reason, or warnings when archived |",
        "|---|---|---|---|---|---|",
    ]
    for case in sweep.cases:
        cli, api = sweep.cli[case.name], sweep.api[case.name]
        api_status = api.status if (api.status, api.reason) != (cli.status, cli.reason) else "same"
        if api.status == cli.status and api.status != "rejected":
            api_status = "same"
        lines.append(
            f"| `{_cell(case.name)}` | {_cell(case.what)} | {cli.status} | {api_status} | "
            f"{cli.ocr or '-'} | {_cell(cli.reason) or '-'} |"
        )
    return "\n".join(lines) + "\n"


HEADER = """# Bad input: every file and its outcome

Generated by `uv run python -m bench.bad_input --write docs/bad-input.md`; `tests/test_bad_input.py`
runs the same sweep and fails when an outcome differs from this table. Each file went through
`contract-archive ingest --json` with OCR on (**OCR (CLI)**: how the OCR of its scanned pages
ended, `-` when it had none) and `POST /api/v1/contracts` (OCR in the background switched off,
so that the server's memory is that of ingest; upload names as in the table; the
`../` case is uploaded as `../../etc/dotdot-name.pdf` and stored as `dotdot-name.pdf`).
**API** says `same` when it agrees with the CLI. No response was a 5xx and no output held a
traceback; after the sweep `contract-archive doctor` finds nothing left behind (no temporary file,
object, record or index entry of a rejected file; only the OCR failures the table shows).

"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--write", type=Path, help="write the table to this Markdown file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bad-input-") as tmp:
        sweep = run(Path(tmp))
    summary: dict[str, int] = {}
    for outcome in sweep.cli.values():
        summary[outcome.status] = summary.get(outcome.status, 0) + 1
    ocrd = [o.ocr for o in sweep.cli.values() if o.ocr]
    ocrd_summary = {s: ocrd.count(s) for s in set(ocrd)}
    text = (
        HEADER
        + f"{len(sweep.cases)} files: "
        + ", ".join(f"{n} {s}" for s, n in sorted(summary.items()))
        + f". {len(ocrd)} went through OCR: "
        + ", ".join(f"{n} {s}" for s, n in sorted(ocrd_summary.items()))
        + f". Largest RSS of the server and its parser processes during the API sweep: "
        f"{sweep.max_rss / 1024**2:.0f} MB (limit {RSS_LIMIT // 1024**2} MB).\n\n" + table(sweep)
    )
    if args.write:
        args.write.parent.mkdir(parents=True, exist_ok=True)
        args.write.write_text(text)
    print(text)
    print(f"{sweep.seconds:.0f} s")


def iter_table(text: str) -> Iterator[tuple[str, str, str, str, str]]:
    """(file, CLI status, API status, OCR, reason) of each row of a table written by
    ``table``."""
    for line in text.splitlines():
        if not line.startswith("| `"):
            continue
        cells = [c.strip() for c in line.strip("|").split(" | ")]
        yield cells[0].strip("`"), cells[2], cells[3], cells[4], cells[5]


if __name__ == "__main__":
    main()
