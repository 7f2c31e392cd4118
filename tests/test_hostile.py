"""Hostile PDFs from a fixed seed (bench/hostile.py) through the whole path with OCR on (issue
14): ingest, OCR and the searchable copy, page images and page text on the web, verification,
export of the evidence package, and a reindex at the end. Each file ends archived or rejected
with a reason; every answer is an answer (never a 500 or a traceback); no record is without
its original; no OCR page or background job is left queued or running. The benchmark runs
hundreds through the CLI.

One archive for the whole sample (module fixture), each stage a test in turn. The bounds are the
product's: every read of a file runs in a worker process stopped after
ARCHIVE_PARSE_TIMEOUT_SECONDS, OCR pages have bounded attempts, the wait for OCR gives up after
240 s (and fails the test), and pytest-timeout stops any test that hangs."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient

from bench.hostile import KINDS, SEED, generate, write
from services.archive import Archive
from services.facade import Facade, Runtime
from tests.access_helpers import client_as, ensure_user
from tests.conftest import make_settings
from tests.servers import start_serve, stop_serve
from tests.test_ocr_poison import PROGRAM, QPDF_MALFORMED, record_for, service

pytestmark = pytest.mark.slow
SAMPLE = 40
OCR_BOUND = 900
"""Seconds for the OCR of every scan uploaded to the server (44 scans, on 2 shared cores: 403 s
at a load average of 15-22)."""
HTML = {"accept": "text/html,application/xhtml+xml"}


@dataclass
class Run:
    archive: Archive
    client: TestClient
    facade: Facade
    paths: dict[str, Path]
    outcomes: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    archived: dict[str, int] = field(default_factory=dict)  # file name -> contract id
    scans: dict[int, str] = field(default_factory=dict)  # contract id -> file name


def answered(r: object, what: str) -> None:
    """An answer: never a 5xx, never a traceback in the body."""
    status, body = r.status_code, r.content  # type: ignore[attr-defined]
    assert status < 500, (what, status, body[:500])
    assert b"Traceback" not in body, (what, body[:500])


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    tmp = tmp_path_factory.mktemp("hostile")
    paths = write(generate(SEED, SAMPLE), tmp / "files")
    with Archive(make_settings(tmp / "var"), parser_workers=1).open() as archive:
        facade = Runtime(archive).facade(ensure_user(archive, "hostile-admin", ("admin",)))
        with client_as(archive) as client:
            yield Run(archive, client, facade, {p.name: p for p in paths})


def test_the_generator_is_replayable_and_covers_the_kinds() -> None:
    first, again = generate(SEED, SAMPLE), generate(SEED, SAMPLE)
    assert [f.data for f in first] == [f.data for f in again]
    assert generate(SEED + 1, SAMPLE) != first
    assert {f.kind for f in first} == set(KINDS)  # every kind, 0×0 and 50000×50000 images too
    assert {"zero_image", "huge_image", "noise_image", "length_loop", "deep_nesting"} <= set(KINDS)
    huge = next(f for f in first if f.kind == "huge_image")
    assert b"/Width 50000" in huge.data or b"/Height 50000" in huge.data
    assert len(huge.data) < 2_000  # declared, not there


def test_each_hostile_file_ends_archived_or_rejected_with_a_reason(run: Run) -> None:
    archive = run.archive
    for name, path in run.paths.items():
        result = archive.ingest_path(path)
        run.outcomes[name] = (result.status, result.reason)
        assert result.status in ("archived", "rejected"), (name, result)
        if result.status == "rejected":
            assert result.reason, name
            continue
        assert result.id is not None
        run.archived[name] = result.id
        record = archive.get(result.id)
        with archive.objects.open(record.original_key) as fh:
            assert fh.read() == path.read_bytes(), name  # the original, byte for byte
        if result.pages_needing_ocr:
            run.scans[result.id] = name
    statuses = {status for status, _ in run.outcomes.values()}
    assert statuses == {"archived", "rejected"}, run.outcomes  # the sample has both
    assert run.scans, run.outcomes  # and scans: OCR runs on hostile files too
    kinds_archived = {name.split("-", 1)[1][:-4] for name in run.archived}
    assert {"huge_image", "zero_image", "noise_image"} <= kinds_archived, run.outcomes


def test_ocr_and_the_searchable_copy_end_for_every_scan(run: Run, tmp_path: Path) -> None:
    archive = run.archive
    recordings = tmp_path / "recorded"
    recordings.mkdir()
    # every other scan is read (the corpus scan's recorded OCR: the searchable copy is built on
    # the hostile file); the rest have no recording: each page fails once, then it is finished
    for n, name in enumerate(sorted(run.scans.values())):
        if n % 2 == 0:
            record_for(recordings, run.paths[name])
    with service(archive, recordings, max_attempts=1) as ocr:
        waited = ocr.wait_for(list(run.scans), poll=0.1, timeout=240)
    assert not waited.timed_out and waited.open_contracts == frozenset(), run.outcomes
    assert waited.queued == waited.running == 0
    states = set()
    for cid in run.scans:
        batch = archive.records.ocr_batch(cid)
        assert batch is not None and batch.state in ("done", "incomplete", "failed"), cid
        states.add(batch.state)
        for job in archive.records.ocr_jobs(cid):
            assert job.status in ("done", "failed"), (cid, job)
            assert job.status == "done" or job.error, (cid, job)  # failed, with the reason
        r = run.client.get(f"/api/v1/contracts/{cid}/ocr")
        answered(r, f"ocr status {cid}")
        assert r.status_code == 200 and r.json()["state"] in ("done", "incomplete", "failed")
        r = run.client.get(f"/api/v1/contracts/{cid}/searchable")
        answered(r, f"searchable {cid}")
        assert r.status_code in (200, 409), (cid, r.status_code, r.text[:300])
    assert "done" in states and states - {"done"}, states  # read ones and failed ones


def test_page_images_and_page_text_on_the_web(run: Run) -> None:
    c = run.client
    undrawn: dict[str, str] = {}
    for name, cid in run.archived.items():
        record = run.archive.get(cid)
        r = c.get(f"/contracts/{cid}", headers=HTML)
        answered(r, f"{name}: contract page")
        assert r.status_code == 200, (name, r.text[:300])
        r = c.get(f"/api/v1/contracts/{cid}/text")
        answered(r, f"{name}: text")
        assert r.status_code == 200, (name, r.text[:300])
        for page in range(1, max(1, record.page_count) + 1):
            r = c.get(f"/contracts/{cid}?page={page}", headers=HTML)
            answered(r, f"{name}: page {page} text")
            assert r.status_code == 200, (name, page, r.text[:300])
            r = c.get(f"/contracts/{cid}/pages/{page}.png")
            answered(r, f"{name}: page {page} image")
            if r.status_code == 200:
                assert r.headers["content-type"] == "image/png"
                assert r.content.startswith(b"\x89PNG"), name
            else:  # a page that cannot be drawn: a clear error, in the envelope
                assert r.status_code == 422, (name, page, r.text[:300])
                message = r.json()["error"]["message"]
                assert message.startswith(f"page {page} cannot be drawn: "), (name, message)
                undrawn[name] = message
                shown = c.get(f"/contracts/{cid}?page={page}", headers=HTML).text
                assert "This page could not be drawn" in shown, name


def test_verification_and_the_evidence_package(run: Run, tmp_path: Path) -> None:
    for name, cid in run.archived.items():
        r = run.client.get(f"/api/v1/contracts/{cid}/verification")
        answered(r, f"{name}: verification")
        assert r.status_code == 200 and r.json()["overall"], (name, r.text[:300])
        overall = r.json()["overall"]
        r = run.client.get(f"/contracts/{cid}/verification", headers=HTML)
        answered(r, f"{name}: verification page")
        assert r.status_code == 200, name
        report = run.facade.seals.verify(cid)
        assert report.overall.value == overall, (name, report.overall, overall)
        exported = run.facade.seals.export(cid, tmp_path / name)
        assert "original" in " ".join(exported.files), (name, exported.files)
        originals = [p for p in (tmp_path / name).iterdir() if p.name.startswith("original")]
        assert [p.read_bytes() for p in originals] == [run.paths[name].read_bytes()], name


def test_reindex_at_the_end_and_nothing_left_open(run: Run) -> None:
    archive = run.archive
    assert run.facade.admin.reindex() == len(run.archived)
    for name, cid in run.archived.items():
        hits = archive.search(f"sha256:{archive.get(cid).sha256}", limit=5).hits
        assert [h.id for h in hits] == [cid], name
    # no record without its original, no object of a rejected file's record
    assert archive.records.contract_ids() == set(run.archived.values())
    for record in archive.records.iter_contracts():
        with archive.objects.open(record.original_key) as fh:
            assert fh.read(1) or record.size == 0, record.id
    # no job left queued or running: every state is final
    counts = archive.records.ocr_counts()
    assert counts.queued == counts.running == 0, counts
    assert archive.records.list_jobs(("queued", "running")) == []
    for job in archive.records.list_jobs():
        assert job.state == "done" or job.error, job


@pytest.mark.ocr
@pytest.mark.timeout(1500)
def test_the_sample_through_a_server_with_ocr_on(tmp_path: Path) -> None:
    """One file of every hostile kind (the seed's first ones), and qpdf's issue-1688b.pdf (the
    poison that had stalled the OCR queue), uploaded to `contract-archive serve` (its lifespan
    runs the OCR worker, the real tesseract): each upload is answered within its bound, archived
    (201, or 202 with pages for OCR) or rejected with a reason (422); the OCR of every scan ends
    in a final state within its bound while the server keeps answering; nothing is left queued
    or running; the server is alive at the end and stops on SIGTERM. The seed is printed on
    failure to replay. The whole sample of 40 goes the whole path in-process above and all of
    qpdf's malformed files through OCR in tests/test_ocr_poison.py; here the subject is the
    server process (the 91 files of both took 6-9 minutes: the README's figures). Tesseract
    reads English only here (a third of the time of chi_sim+eng): the subject is that each file
    ends, not what is read."""
    paths = write(generate(SEED, len(KINDS)), tmp_path / "files")
    paths.append(QPDF_MALFORMED / "issue-1688b.pdf")
    env = {
        **os.environ,
        "ARCHIVE_DATA_DIR": str(tmp_path / "var"),
        "ARCHIVE_OCR_WORKERS": "2",
        "ARCHIVE_OCR_MAX_ATTEMPTS": "2",
        "ARCHIVE_OCR_RETRY_BACKOFF_SECONDS": "0.2",
        "ARCHIVE_OCR_PAGE_TIMEOUT_SECONDS": "60",
        "ARCHIVE_PARSE_TIMEOUT_SECONDS": "30",
        "ARCHIVE_JOBS_BACKGROUND": "false",
        "ARCHIVE_OCR_LANGUAGES": "eng",
    }
    log = tmp_path / "serve.log"
    served = start_serve(PROGRAM, env, token="hostile", log=log)
    server, base, auth = served.process, served.base, served.auth
    seed = f"seed {SEED}, {len(KINDS)} files (replay: python -m bench.hostile --seed {SEED})"

    def up() -> bool:
        assert server.poll() is None, f"the server stopped: {log.read_text()[-2000:]}"
        return served.up()

    try:
        outcomes: dict[str, tuple[int, str]] = {}
        scans: dict[int, str] = {}
        slowest = 0.0
        for path in paths:
            started = time.monotonic()
            with open(path, "rb") as fh:
                r = httpx.post(
                    f"{base}/api/v1/contracts",
                    files={"file": (path.name, fh)},
                    headers=auth,
                    timeout=120,
                )
            slowest = max(slowest, time.monotonic() - started)
            answered(r, f"{seed}: upload of {path.name}")
            assert r.status_code in (201, 202, 422), (seed, path.name, r.status_code, r.text)
            body = r.json()
            if r.status_code == 422:
                assert body["error"]["code"] and body["error"]["message"], (seed, path.name)
                outcomes[path.name] = (422, body["error"]["message"])
                continue
            assert body["status"] == "archived" and body["id"], (seed, path.name, body)
            outcomes[path.name] = (r.status_code, "archived")
            if r.status_code == 202:
                scans[body["id"]] = path.name
        # each file within the parse bound (30 s) and the time of the request around it
        assert slowest < 30 + 30, (seed, slowest)
        assert {code for code, _ in outcomes.values()} >= {202, 422}, (seed, outcomes)

        final = ("done", "incomplete", "failed")
        ended: dict[int, str] = {}
        ocr_started = time.monotonic()
        deadline = ocr_started + OCR_BOUND
        while len(ended) < len(scans) and time.monotonic() < deadline:
            for cid in set(scans) - set(ended):
                r = httpx.get(f"{base}/api/v1/contracts/{cid}/ocr", headers=auth, timeout=30)
                answered(r, f"{seed}: OCR status of {scans[cid]}")
                if r.json()["state"] in final:
                    ended[cid] = r.json()["state"]
            time.sleep(0.5)
        open_scans = {scans[cid] for cid in set(scans) - set(ended)}
        assert not open_scans, (seed, f"OCR still open after {OCR_BOUND} s", open_scans)
        assert "done" in ended.values(), (seed, ended)
        qpdf = {cid for cid, name in scans.items() if name == "issue-1688b.pdf"}
        assert qpdf and {ended[cid] for cid in qpdf} == {"done"}, (seed, scans, ended)
        print(  # the README's figures (pytest -s)
            f"\n{seed}: {len(outcomes)} uploads, slowest answer {slowest:.1f} s; "
            f"{sum(code != 422 for code, _ in outcomes.values())} archived "
            f"({len(scans)} with OCR), {sum(code == 422 for code, _ in outcomes.values())} "
            f"rejected; OCR ended after {time.monotonic() - ocr_started:.0f} s: "
            f"{ {s: list(ended.values()).count(s) for s in final} }"
        )
        r = httpx.get(f"{base}/api/v1/jobs", params={"state": "all"}, headers=auth, timeout=30)
        answered(r, "the jobs list")
        left = [j for j in r.json()["items"] if j["state"] in ("queued", "running")]
        assert left == [], (seed, left)
        for item in r.json()["items"]:  # every failure with its reason
            assert item["state"] != "failed" or item["reason"], (seed, item)
        assert up(), seed  # the server answers still
    finally:
        stop_serve(server, grace=60)
    # stopped by the signal, within its minute (the suite's end checks no process is left)
    assert server.returncode in (0, -signal.SIGTERM), log.read_text()[-3000:]
