"""OCR building blocks without tesseract: text tidying, TSV parsing, OSD parsing, the overlay
geometry, version keys, the start-up check's messages, the killable worker pool."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from ingest.ocr.check import apt_package, check_tesseract, split_languages
from ingest.ocr.engine import ReplayOcrEngine, parse_osd
from ingest.ocr.errors import OcrPageError, OcrTimeout, OcrUnavailable
from ingest.ocr.page import parse_tsv, tidy_text
from ingest.ocr.pool import OcrPool
from ingest.ocr.searchable import layer_matrix, turn_clockwise
from services.ocr import next_version_key
from storage.index.analysis import normalize
from storage.objects.local import LocalObjectStore

DATA = Path(__file__).parent / "data" / "ocr"


def test_tidy_text_removes_spaces_between_cjk_only() -> None:
    raw = "第 二 条  质量 标准 。 Party A shall  pay\n\n\n\n青 岛\tcity 30 天\f"
    assert tidy_text(raw) == "第二条质量标准。 Party A shall  pay\n\n青岛\tcity 30 天"
    # the index's normaliser removes line breaks between CJK characters as well
    assert normalize("木门\n定制单") == "木门定制单"


def test_parse_tsv_mean_confidence_and_low_words() -> None:
    tsv = (
        "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n"
        "1\t1\t0\t0\t0\t0\t0\t0\t2480\t3508\t-1\t\n"
        "5\t1\t1\t1\t1\t1\t100\t200\t50\t40\t96.5\t合同\n"
        "5\t1\t1\t1\t1\t2\t160\t200\t30\t40\t41.25\t志\n"
        "5\t1\t1\t1\t1\t3\t200\t200\t30\t40\t-1\t \n"
        "5\t1\t1\t1\t1\t4\t240\t200\t60\t40\t82\tPrice\n"
    )
    words = parse_tsv(tsv, threshold=60)
    assert words.count == 3
    assert words.confidence == pytest.approx((96.5 + 41.25 + 82) / 3, abs=0.01)
    assert words.low == [{"text": "志", "confidence": 41.2, "box": [160, 200, 190, 240]}]
    assert parse_tsv(tsv.splitlines()[0], threshold=60).confidence is None


def test_parse_osd() -> None:
    raw = (
        "Page number: 0\nOrientation in degrees: 270\nRotate: 90\n"
        "Orientation confidence: 15.49\nScript: Han\nScript confidence: 1.27\n"
    )
    found = parse_osd(raw)
    assert found is not None and found.rotate == 90 and found.confidence == 15.49
    assert found.script == "Han" and found.script_confidence == 1.27
    assert parse_osd("Too few characters. Skipping this page") is None


@pytest.mark.parametrize("angle", [0, 90, 180, 270])
def test_turning_a_box_keeps_it_at_the_origin(angle: int) -> None:
    matrix, w, h = turn_clockwise(angle, 200, 100)
    a, b, c, d, e, f = matrix
    corners = [
        (a * x + c * y + e, b * x + d * y + f) for x, y in [(0, 0), (200, 0), (0, 100), (200, 100)]
    ]
    assert {(round(x), round(y)) for x, y in corners} == {(0, 0), (w, 0), (0, h), (w, h)}
    # the top-left corner moves as a clockwise turn moves it
    top_left = corners[2]
    expected = {0: (0, h), 90: (w, h), 180: (w, 0), 270: (0, 0)}[angle]
    assert (round(top_left[0]), round(top_left[1])) == expected


def test_layer_matrix_maps_the_upright_layer_onto_the_page() -> None:
    # A landscape page image OCR'd after turning it 90° clockwise: the layer is portrait.
    m = layer_matrix((100, 200), 90, (0, 0, 400, 200), 0)
    a, b, c, d, e, f = m

    def apply(x: float, y: float) -> tuple[int, int]:
        return round(a * x + c * y + e), round(b * x + d * y + f)

    corners = {apply(x, y) for x, y in [(0, 0), (100, 0), (0, 200), (100, 200)]}
    assert corners == {(0, 0), (400, 0), (0, 200), (400, 200)}
    # The upright image's top-left corner is the displayed page's bottom-left corner: the
    # image was turned clockwise, so turning it back puts its top edge on the left side.
    assert apply(0, 200) == (0, 0)
    # A page displayed with /Rotate 90 and a crop box that does not start at the origin.
    m = layer_matrix((200, 100), 0, (10, 20, 110, 220), 90)
    a, b, c, d, e, f = m
    corners = {apply(x, y) for x, y in [(0, 0), (200, 0), (0, 100), (200, 100)]}
    assert corners == {(10, 20), (110, 20), (10, 220), (110, 220)}


def test_version_keys_follow_the_highest_in_the_package(tmp_path: Path) -> None:
    import io

    store = LocalObjectStore(tmp_path)
    sha = "ab" * 32
    assert next_version_key(store, sha, "text", "json").endswith("/text.v1.json")
    store.put(f"packages/ab/{sha}/text.v1.json", io.BytesIO(b"{}"))
    store.put(f"packages/ab/{sha}/text.v3.json", io.BytesIO(b"[]"))
    store.put(f"packages/ab/{sha}/searchable.v1.pdf", io.BytesIO(b"%PDF-"))
    assert next_version_key(store, sha, "text", "json").endswith("/text.v4.json")
    assert next_version_key(store, sha, "searchable", "pdf").endswith("/searchable.v2.pdf")


def test_apt_package_names() -> None:
    assert apt_package("chi_sim") == "tesseract-ocr-chi-sim"
    assert apt_package("eng") == "tesseract-ocr-eng"
    assert split_languages("chi_sim+eng") == ["chi_sim", "eng"]
    with pytest.raises(OcrUnavailable, match="invalid OCR languages") as caught:
        split_languages("chi_sim+;rm")
    assert "ARCHIVE_OCR_LANGUAGES" in (caught.value.hint or "")


def test_missing_tesseract_names_the_package(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(OcrUnavailable) as caught:
        check_tesseract("chi_sim+eng")
    assert "not installed" in caught.value.message
    assert "apt-get install tesseract-ocr tesseract-ocr-chi-sim tesseract-ocr-eng" in (
        caught.value.hint or ""
    )


@pytest.mark.ocr
def test_missing_language_pack_names_the_package(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    real = Path("/usr/share/tesseract-ocr/5/tessdata")
    if not (real / "eng.traineddata").exists():
        pytest.skip("Debian's tessdata is not where this test expects it")
    (tmp_path / "eng.traineddata").symlink_to(real / "eng.traineddata")
    monkeypatch.setenv("TESSDATA_PREFIX", str(tmp_path))
    with pytest.raises(OcrUnavailable) as caught:
        check_tesseract("chi_sim+eng")
    assert "chi_sim" in caught.value.message and "osd" in caught.value.message
    assert caught.value.hint == "apt-get install tesseract-ocr-chi-sim tesseract-ocr-osd"
    info = check_tesseract("eng", orientation=False)
    assert info.languages == {"eng"} and info.version.startswith(("4", "5"))


def test_replay_engine_fails_clearly_without_a_recording(tmp_path: Path) -> None:
    engine = ReplayOcrEngine(str(tmp_path))
    with pytest.raises(OcrPageError, match="no recorded OCR output"):
        engine.recognize(tmp_path / "x.pgm", key="nope", languages="eng", dpi=300, timeout=5)


def _sleep_with_child(seconds: float, pid_file: str) -> None:
    child = subprocess.Popen(["sleep", str(seconds)])
    Path(pid_file).write_text(str(child.pid))
    time.sleep(seconds)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie no longer runs: read its state
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:
        return False
    return state != "Z"


def test_pool_kills_a_stuck_worker_with_its_children(tmp_path: Path) -> None:
    """The backstop behind pytesseract's own timeout: the worker's whole process group goes."""
    pool = OcrPool(1, grace=0.5)
    pid_file = tmp_path / "child.pid"
    try:
        assert pool.run(60.0, _alive, os.getpid())  # worker up, this module imported there
        started = time.monotonic()
        with pytest.raises(OcrTimeout, match="longer than 1 s"):
            pool.run(1.0, _sleep_with_child, 60, str(pid_file))
        assert time.monotonic() - started < 10
        child = int(pid_file.read_text())
        deadline = time.monotonic() + 5
        while _alive(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(child), "the grandchild (tesseract's place) survived the kill"
        # the slot works again afterwards
        assert pool.run(5.0, pow, 2, 10) == 1024
    finally:
        pool.close()


def test_closing_the_pool_while_a_page_is_being_submitted_stops_it_at_once() -> None:
    """A stop while a page is being handed to a worker that is only starting: the worker is
    killed too (the kill read the executor's workers before the submit had added the new one,
    so the page ran to its end: 3 of 15 closes here, and a 30 s stop in the suite)."""
    import random
    import threading

    from ingest.ocr.pool import PoolStopped

    slow = []
    for _ in range(12):
        pool = OcrPool(1)
        took: list[float] = []
        outcome: list[str] = []

        def work(
            pool: OcrPool = pool, took: list[float] = took, outcome: list[str] = outcome
        ) -> None:
            started = time.monotonic()
            try:
                pool.run(60, time.sleep, 20)
                outcome.append("ran to the end")
            except PoolStopped:
                outcome.append("stopped")
            took.append(time.monotonic() - started)

        thread = threading.Thread(target=work)
        thread.start()
        time.sleep(random.uniform(0.0, 0.03))  # around the moment the worker is started
        pool.close(kill=True)
        thread.join(40)
        assert outcome, "the page's thread did not end"
        if took[0] > 5:
            slow.append((outcome[0], round(took[0], 1)))
    assert not slow, slow


def test_which_pages_need_ocr() -> None:
    from ingest.pdf import page_needs_ocr

    assert page_needs_ocr("", 20)  # no text layer
    assert page_needs_ocr("Page 3 of 12", 20)  # a footer only: too few letters for a page
    assert not page_needs_ocr("甲方应于收到货物之日起三十日内支付全部货款。", 20)
    assert not page_needs_ocr("The Supplier shall deliver the goods within 30 days.", 20)
    # a text layer that is mostly replacement characters or unmapped glyphs is unusable
    assert page_needs_ocr("\ufffd" * 200 + "Contract no 2024 0001 between", 20)
    assert page_needs_ocr("(cid:12)(cid:7)(cid:44)" * 30 + " Agreement dated 2024", 20)


def test_ocr_progress_shows_pages_rate_and_time_left() -> None:
    import io

    from rich.console import Console

    from contract_archive.cli.ocr import OcrProgress
    from storage.records.ocr_base import OcrCounts

    console = Console(file=io.StringIO(), force_terminal=True, width=160)
    bar = OcrProgress(enabled=True, console=console)

    def shown(counts: OcrCounts) -> tuple[str, float, int]:
        bar.update(counts)
        with console.capture() as captured:
            console.print(bar.progress.make_tasks_table(bar.progress.tasks))
        line = captured.get()
        rate = float(line.split(" pages/s")[0].split()[-1])
        h, m, sec = (int(x) for x in line.split("ETA ")[1].split()[0].split(":"))
        return line, rate, h * 3600 + m * 60 + sec

    bar.update(OcrCounts(total=10, queued=10))
    time.sleep(0.3)
    line, rate, left = shown(OcrCounts(total=10, queued=4, running=2, done=3, failed=1))
    assert "4/10" in line  # pages finished (done or failed) of the pages to OCR
    assert 0 < rate <= 4 / 0.3 + 0.01  # 4 pages since OCR started, at least 0.3 s ago
    assert abs(left - 6 / rate) <= 1, line  # 6 pages left at that rate
    line, rate, left = shown(OcrCounts(total=100, queued=96, done=4))
    assert "4/100" in line and abs(left - 96 / rate) <= 1, line


def test_an_ocr_worker_keeps_freed_memory_for_the_next_page_and_gives_it_back() -> None:
    """RapidOCR frees its tensors after each call; glibc gave blocks over its mmap threshold
    back to the kernel and took them again, zeroed, page by page (3.2 million page faults on a
    worker's first Chinese page). A worker keeps them, and gives them back when idle."""
    import sys

    script = """
import resource
from ingest.ocr.engine import give_back_memory, keep_freed_memory

def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt

def rss():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize()

size = 256 << 20
assert keep_freed_memory()
block = b"\\x01" * size  # a page's tensors
del block
before = faults()
block = b"\\x01" * size  # the next page's
again = faults() - before
del block
kept = rss()
give_back_memory()
print(again, kept, rss())
"""
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parent.parent,
    )
    again, kept, after = (int(x) for x in done.stdout.split())
    pages = (256 << 20) // os.sysconf("SC_PAGE_SIZE")
    assert again < pages // 20, f"{again} page faults for the second block of {pages} pages"
    assert kept >= 256 << 20, "the freed block was not kept"
    assert after <= kept - (200 << 20), "the kept memory was not given back"
