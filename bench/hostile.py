"""Hostile PDFs, generated from a seed: each file ends archived or rejected with a reason.

    uv run python -m bench.hostile [--seed N] [--count 500] [--keep DIR] [--wait-seconds 120]

Kinds (each with its parameters drawn from the seed): reference loops (a stream whose /Length
is the stream itself, an array that contains itself, a page tree whose kids are its own
parent), broken and short xref tables, a trailer without /Size, an object stream that extends
itself, huge and negative /Length values, deep nesting of arrays and dictionaries, truncated
streams and files, image pages of 0×0 and of 50000×50000 pixels (declared, a few bytes of data),
and fonts whose ToUnicode map is garbage. Most files carry a text line (so that they can be
archived without OCR); some carry only an image (so that OCR and the searchable copy run on them).

The benchmark runs the files through ``contract-archive ingest --json`` with OCR on, in batches,
and checks that every command ends (exit status 0, 1 or 3, never a traceback) and that every file
has an outcome: archived (OCR finished, failed or still queued when the bound ran out) or
rejected with a reason. It prints the seed of the run, so that a failing run can be replayed.
``tests/test_hostile.py`` runs a fixed-seed sample through the archive.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

PROGRAM = str(Path(sys.executable).parent / "contract-archive")
SEED = 9


@dataclass(frozen=True)
class Hostile:
    name: str
    kind: str
    data: bytes


# --- a tiny PDF writer that lets every part be wrong ---------------------------------------------
def _text_stream(words: str) -> bytes:
    return f"BT /F1 14 Tf 72 720 Td ({words}) Tj ET".encode()


def _gray_image(width: int, height: int, rng: random.Random) -> bytes:
    return bytes(rng.randrange(256) for _ in range(width * height))


def build(
    objects: dict[int, bytes],
    *,
    root: int = 1,
    size: int | None = -1,
    xref: str = "good",
    rng: random.Random | None = None,
    extra_trailer: str = "",
) -> bytes:
    """A PDF of these objects (number -> body). ``size=None`` leaves /Size out, ``-1`` writes
    the right one; ``xref`` is ``good``, ``short`` (entries missing), ``garbage`` (offsets
    shuffled) or ``none`` (no table at all, a wrong startxref)."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets: dict[int, int] = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += f"{number} 0 obj\n".encode() + objects[number] + b"\nendobj\n"
    top = max(objects) + 1
    start = len(out)
    if xref != "none":
        count = top if xref != "short" else max(1, top // 2)
        out += f"xref\n0 {count}\n".encode()
        out += b"0000000000 65535 f \n"
        numbers = list(range(1, count))
        places = [offsets.get(n, 0) for n in numbers]
        if xref == "garbage" and rng is not None:
            rng.shuffle(places)
            places = [p + rng.randrange(-40, 40) if p else p for p in places]
        for place in places:
            out += f"{max(0, place):010d} 00000 n \n".encode()
    sized = "" if size is None else f"/Size {top if size == -1 else size} "
    out += f"trailer\n<< {sized}/Root {root} 0 R {extra_trailer}>>\n".encode()
    out += f"startxref\n{start if xref != 'none' else start + 999}\n%%EOF\n".encode()
    return bytes(out)


def _stream(body: bytes, extra: str = "", length: str | None = None) -> bytes:
    declared = str(len(body)) if length is None else length
    return f"<< /Length {declared} {extra}>>\nstream\n".encode() + body + b"\nendstream"


def _page_objects(content: bytes, *, resources: str | None = None) -> dict[int, bytes]:
    """Catalog 1, pages 2, page 3, content 4, font 5."""
    res = resources or "<< /Font << /F1 5 0 R >> >>"
    return {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        3: f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources {res} "
        "/Contents 4 0 R >>".encode(),
        4: _stream(content),
        5: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    }


# --- the kinds ---------------------------------------------------------------------------------
def length_loop(rng: random.Random, words: str) -> bytes:
    objects = _page_objects(_text_stream(words))
    objects[6] = _stream(b"loop" * rng.randint(1, 50), length="6 0 R")
    objects[1] = b"<< /Type /Catalog /Pages 2 0 R /PieceInfo << /Loop 6 0 R >> >>"
    return build(objects)


def array_loop(rng: random.Random, words: str) -> bytes:
    objects = _page_objects(_text_stream(words))
    objects[6] = b"[6 0 R 7 0 R]"
    objects[7] = b"<< /Self 7 0 R /Back 6 0 R >>"
    objects[1] = b"<< /Type /Catalog /Pages 2 0 R /Names 6 0 R /OpenAction 7 0 R >>"
    return build(objects)


def page_tree_loop(rng: random.Random, words: str) -> bytes:
    objects = _page_objects(_text_stream(words))
    kids = " ".join([*["3 0 R", "2 0 R"][: rng.randint(1, 2)], "2 0 R"])
    objects[2] = f"<< /Type /Pages /Kids [{kids}] /Count {rng.randint(1, 10**6)} >>".encode()
    return build(objects)


def broken_xref(rng: random.Random, words: str) -> bytes:
    return build(_page_objects(_text_stream(words)), xref="garbage", rng=rng)


def short_xref(rng: random.Random, words: str) -> bytes:
    return build(_page_objects(_text_stream(words)), xref="short")


def no_xref(rng: random.Random, words: str) -> bytes:
    return build(_page_objects(_text_stream(words)), xref="none")


def missing_size(rng: random.Random, words: str) -> bytes:
    return build(_page_objects(_text_stream(words)), size=None)


def wrong_size(rng: random.Random, words: str) -> bytes:
    return build(_page_objects(_text_stream(words)), size=rng.choice([0, 1, 2**31, -5]))


def objstm_self(rng: random.Random, words: str) -> bytes:
    objects = _page_objects(_text_stream(words))
    body = b"8 0 " + b"<< /Self 6 0 R >>"
    objects[6] = _stream(body, extra="/Type /ObjStm /N 1 /First 4 /Extends 6 0 R ")
    objects[1] = b"<< /Type /Catalog /Pages 2 0 R /Extra 8 0 R >>"
    return build(objects)


def huge_length(rng: random.Random, words: str) -> bytes:
    objects = _page_objects(_text_stream(words))
    content = _text_stream(words)
    length = rng.choice(["99999999999", "-1", "-99999", "2147483648", "1e300", "0"])
    objects[4] = _stream(content, length=length)
    return build(objects)


def deep_nesting(rng: random.Random, words: str) -> bytes:
    depth = rng.randint(2_000, 40_000)
    arrays = rng.random() < 0.5
    nested = "[" * depth + "]" * depth if arrays else "<< /A " * depth + ">>" * depth
    objects = _page_objects(_text_stream(words))
    objects[6] = nested.encode()
    objects[1] = b"<< /Type /Catalog /Pages 2 0 R /Deep 6 0 R >>"
    return build(objects)


def truncated_stream(rng: random.Random, words: str) -> bytes:
    content = zlib.compress(_text_stream(words) * rng.randint(1, 20))
    cut = content[: rng.randint(1, max(1, len(content) - 1))]
    objects = _page_objects(b"")
    objects[4] = _stream(cut, extra="/Filter /FlateDecode ", length=str(len(content)))
    return build(objects)


def truncated_file(rng: random.Random, words: str) -> bytes:
    data = build(_page_objects(_text_stream(words)))
    return data[: rng.randint(len(data) // 3, len(data) - 1)]


def zero_image(rng: random.Random, words: str) -> bytes:
    width, height = rng.choice([(0, 0), (0, 50), (50, 0)])
    unique = f"% {words}\n".encode()  # a comment: no text, yet a file of its own
    objects = _page_objects(
        unique + b"q 612 0 0 792 0 0 cm /Im1 Do Q", resources="<< /XObject << /Im1 6 0 R >> >>"
    )
    objects[6] = _stream(
        b"",
        extra=f"/Type /XObject /Subtype /Image /Width {width} /Height {height} "
        "/ColorSpace /DeviceGray /BitsPerComponent 8 ",
    )
    return build(objects)


def huge_image(rng: random.Random, words: str) -> bytes:
    """A page that is an image of 50000×50000 pixels (2.5 GB once decoded) whose data is a
    few bytes: declared, never there. No text: OCR and the page images meet it."""
    width, height = rng.choice([(50_000, 50_000), (50_000, 1), (1, 50_000)])
    filtered = rng.random() < 0.5
    data = zlib.compress(bytes(rng.randint(1, 64))) if filtered else bytes(rng.randint(0, 16))
    unique = f"% {words}\n".encode()
    objects = _page_objects(
        unique + b"q 612 0 0 792 0 0 cm /Im1 Do Q", resources="<< /XObject << /Im1 6 0 R >> >>"
    )
    objects[6] = _stream(
        data,
        extra=f"/Type /XObject /Subtype /Image /Width {width} /Height {height} "
        "/ColorSpace /DeviceGray /BitsPerComponent 8 "
        + ("/Filter /FlateDecode " if filtered else ""),
    )
    return build(objects)


def noise_image(rng: random.Random, words: str) -> bytes:
    """A scanned-looking page: only an image (OCR and the searchable copy run on it)."""
    width, height = rng.randint(40, 120), rng.randint(40, 120)
    objects = _page_objects(
        b"q 612 0 0 792 0 0 cm /Im1 Do Q", resources=("<< /XObject << /Im1 6 0 R >> >>")
    )
    objects[6] = _stream(
        zlib.compress(_gray_image(width, height, rng)),
        extra=f"/Type /XObject /Subtype /Image /Width {width} /Height {height} "
        "/ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /FlateDecode ",
    )
    if rng.random() < 0.5:  # and a reference loop the searchable copy meets
        objects[7] = _stream(b"loop", length="7 0 R")
        objects[1] = b"<< /Type /Catalog /Pages 2 0 R /PieceInfo << /Loop 7 0 R >> >>"
    return build(objects)


def broken_tounicode(rng: random.Random, words: str) -> bytes:
    cmap = rng.choice(
        [
            b"begincmap\n1 beginbfchar\n<01> <\nendcmap",
            b"/CIDInit /ProcSet findresource begin 99999999 beginbfrange <0000> <FFFF> [",
            bytes(rng.randrange(256) for _ in range(200)),
        ]
    )
    objects = _page_objects(_text_stream(words))
    objects[5] = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /ToUnicode 6 0 R >>"
    objects[6] = _stream(cmap)
    return build(objects)


KINDS: dict[str, Callable[[random.Random, str], bytes]] = {
    "length_loop": length_loop,
    "array_loop": array_loop,
    "page_tree_loop": page_tree_loop,
    "broken_xref": broken_xref,
    "short_xref": short_xref,
    "no_xref": no_xref,
    "missing_size": missing_size,
    "wrong_size": wrong_size,
    "objstm_self": objstm_self,
    "huge_length": huge_length,
    "deep_nesting": deep_nesting,
    "truncated_stream": truncated_stream,
    "truncated_file": truncated_file,
    "zero_image": zero_image,
    "huge_image": huge_image,
    "noise_image": noise_image,
    "broken_tounicode": broken_tounicode,
}


def generate(seed: int, count: int) -> list[Hostile]:
    """``count`` hostile files from ``seed``: the same seed gives the same bytes. The kinds
    take turns (every kind appears once ``count`` reaches their number), in a seeded order."""
    rng = random.Random(seed)
    kinds = sorted(KINDS)
    rng.shuffle(kinds)
    files = []
    for n in range(count):
        kind = kinds[n % len(kinds)]
        words = f"Hostile contract {seed}-{n} between Party A and Party B"
        data = KINDS[kind](rng, words)
        files.append(Hostile(f"{n:04d}-{kind}.pdf", kind, data))
    return files


def write(files: list[Hostile], directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for f in files:
        path = directory / f.name
        path.write_bytes(f.data)
        paths.append(path)
    return paths


# --- the benchmark -----------------------------------------------------------------------------
def run_batch(paths: list[Path], env: dict[str, str], wait: float, limit: float) -> dict:
    started = time.monotonic()
    done = subprocess.run(
        [PROGRAM, "ingest", "--json", "--wait-seconds", f"{wait:g}", *map(str, paths)],
        env=env,
        capture_output=True,
        text=True,
        timeout=limit,
    )
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return {
        "seconds": time.monotonic() - started,
        "returncode": done.returncode,
        "traceback": "Traceback" in done.stderr,
        "results": {Path(r["file"]).name: r for r in lines},
        "stderr": done.stderr[-2000:],
    }


def outcome(result: dict) -> str:
    status = str(result["status"])
    if status == "rejected":
        return "rejected" if result.get("reason") else "rejected without a reason"
    ocr = result.get("ocr")
    if status == "archived" and ocr:
        return f"archived, OCR {ocr['state']}"
    return status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=None, help="default: a random one")
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--wait-seconds", type=float, default=120.0)
    parser.add_argument("--keep", type=Path, default=None, help="keep the files here")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(10**6)
    print(f"seed {seed} (replay: python -m bench.hostile --seed {seed})", flush=True)
    files = generate(seed, args.count)
    problems: list[str] = []
    outcomes: Counter[str] = Counter()
    seconds: list[float] = []
    with tempfile.TemporaryDirectory(prefix="hostile-") as tmp:
        directory = args.keep or Path(tmp) / "files"
        paths = write(files, directory)
        env = {**os.environ, "ARCHIVE_DATA_DIR": str(Path(tmp) / "var")}
        for start in range(0, len(paths), args.batch):
            batch = paths[start : start + args.batch]
            limit = 600.0 + args.wait_seconds
            try:
                ran = run_batch(batch, env, args.wait_seconds, limit)
            except subprocess.TimeoutExpired:
                problems.append(f"batch from {batch[0].name} did not end within {limit:g} s")
                continue
            seconds.append(ran["seconds"])
            if ran["returncode"] not in (0, 1, 3) or ran["traceback"]:
                problems.append(
                    f"batch from {batch[0].name}: exit status {ran['returncode']}\n{ran['stderr']}"
                )
            for path in batch:
                result = ran["results"].get(path.name)
                if result is None:
                    problems.append(f"{path.name}: no outcome")
                    continue
                found = outcome(result)
                outcomes[found] += 1
                if found.startswith("rejected without") or found == "failed":
                    problems.append(f"{path.name}: {found}")
            print(f"{min(start + args.batch, len(paths))}/{len(paths)} files", flush=True)
    out = io.StringIO()
    out.write(f"seed {seed}: {len(files)} files in {sum(seconds):.0f} s\n")
    for name, n in sorted(outcomes.items()):
        out.write(f"  {n:5d}  {name}\n")
    for problem in problems:
        out.write(f"PROBLEM {problem}\n")
    if problems:
        out.write(f"replay: python -m bench.hostile --seed {seed} --count {args.count}\n")
    print(out.getvalue(), end="")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
