"""The durable OCR queue in the records database: SQLite always, PostgreSQL when configured.

Pages are taken by one worker only, also when many take at once; a lease that runs out gives
the page to another; the contract is finalised exactly once; everything survives a new store
object (a restart) and goes with the contract when it is deleted.
"""

from __future__ import annotations

import threading

import pytest

from core.errors import NotFound
from storage.records.base import PageRecord
from storage.records.sql import SqlRecordStore
from tests.test_records import new_contract


def scan(store: SqlRecordStore, n: int, pages: int = 4) -> int:
    record = store.add_contract(
        new_contract(
            n,
            page_count=pages,
            pages=[
                PageRecord(
                    page_no=i, text_source="none", chars=0, needs_ocr=True, ocr_status="pending"
                )
                for i in range(1, pages + 1)
            ],
        )
    )
    return record.id


def test_queue_claim_complete_finalize(store: SqlRecordStore) -> None:
    cid = scan(store, 1, pages=2)
    assert store.queue_ocr(cid, [1, 2]) == 2
    assert store.queue_ocr(cid, [1, 2]) == 0  # already queued: kept as they are
    assert store.ocr_batch(cid).state == "pending"  # type: ignore[union-attr]
    first = store.claim_ocr_page("w:1", 60)
    assert first is not None and (first.contract_id, first.page_no) == (cid, 1)
    assert first.sha256 == f"{1:064x}" and first.attempts == 1
    assert store.get_contract(cid).pages[0].ocr_status == "running"
    second = store.claim_ocr_page("w:2", 60)
    assert second is not None and second.page_no == 2
    assert store.claim_ocr_page("w:3", 60) is None

    assert store.complete_ocr_page(
        first.job_id,
        "w:1",
        result={"text": "甲方", "confidence": 91.5},
        layer=b"%PDF-1",
        confidence=91.5,
    )
    assert not store.complete_ocr_page(  # not the holder: refused
        second.job_id, "w:1", result={}, layer=None, confidence=None
    )
    assert not store.try_finalize_ocr(cid, "w:1", 600)  # page 2 is still open
    assert store.fail_ocr_page(second.job_id, "w:2", "tesseract failed: boom")
    assert store.ocr_counts([cid]).finished == 2
    assert store.try_finalize_ocr(cid, "w:2", 600)
    assert not store.try_finalize_ocr(cid, "w:1", 600)  # taken once only
    assert store.open_ocr_contracts([cid]) == {cid}

    record = store.finish_ocr(
        cid,
        "w:2",
        state="incomplete",
        text_key="packages/00/x/text.v2.json",
        text_sha256="1" * 64,
        pages=[
            PageRecord(1, "ocr", 2, False, "done", 91.5),
            PageRecord(2, "none", 0, True, "failed", None, "tesseract failed: boom"),
        ],
        searchable_key="packages/00/x/searchable.v1.pdf",
        searchable_sha256="2" * 64,
        error=None,
    )
    assert record is not None and record.text_key.endswith("text.v2.json")
    assert [(p.text_source, p.ocr_status, p.ocr_confidence) for p in record.pages] == [
        ("ocr", "done", 91.5),
        ("none", "failed", None),
    ]
    assert record.pages_needing_ocr == [2]
    assert store.open_ocr_contracts([cid]) == set()
    jobs = store.ocr_jobs(cid, with_layers=True)
    assert jobs[0].layer == b"%PDF-1" and jobs[0].result == {"text": "甲方", "confidence": 91.5}
    assert store.ocr_jobs(cid)[0].layer is None  # layers only when asked for

    assert store.retry_ocr(cid) == [2]
    assert store.ocr_batch(cid).state == "pending"  # type: ignore[union-attr]
    assert store.get_contract(cid).pages[1].ocr_status == "pending"
    again = store.claim_ocr_page("w:4", 60)
    assert again is not None and again.page_no == 2 and again.attempts == 1


def test_many_workers_never_take_the_same_page(store: SqlRecordStore) -> None:
    ids = [scan(store, n, pages=10) for n in range(1, 4)]
    for cid in ids:
        store.queue_ocr(cid, range(1, 11))
    taken: list[tuple[int, int]] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def work(name: str) -> None:
        try:
            while (claim := store.claim_ocr_page(name, 60)) is not None:
                with lock:
                    taken.append((claim.contract_id, claim.page_no))
                store.complete_ocr_page(claim.job_id, name, result={}, layer=None, confidence=None)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(f"w:{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(taken) == 30 and len(set(taken)) == 30
    assert store.ocr_counts(ids).done == 30


def test_finalisation_is_taken_once_when_pages_finish_together(store: SqlRecordStore) -> None:
    cid = scan(store, 7, pages=6)
    store.queue_ocr(cid, range(1, 7))
    claims = [store.claim_ocr_page(f"w:{i}", 60) for i in range(6)]
    winners: list[str] = []
    barrier = threading.Barrier(6)

    def finish(i: int) -> None:
        claim = claims[i]
        assert claim is not None
        barrier.wait()
        store.complete_ocr_page(claim.job_id, f"w:{i}", result={}, layer=None, confidence=None)
        if store.try_finalize_ocr(cid, f"w:{i}", 600):
            winners.append(f"w:{i}")

    threads = [threading.Thread(target=finish, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(winners) == 1


def test_expired_leases_are_taken_again_until_attempts_run_out(store: SqlRecordStore) -> None:
    cid = scan(store, 2, pages=1)
    store.queue_ocr(cid, [1])
    for attempt in (1, 2, 3):
        claim = store.claim_ocr_page(f"dead:{attempt}", -1)  # a lease already run out
        assert claim is not None and claim.attempts == attempt
    # the third holder died as well: the page fails instead of looping forever
    assert store.claim_ocr_page("w:4", 60, max_attempts=3) is None
    job = store.ocr_jobs(cid)[0]
    assert job.status == "failed" and "interrupted 3 times" in (job.error or "")
    assert store.get_contract(cid).pages[0].ocr_status == "failed"


def test_dead_owners_give_their_work_back(store: SqlRecordStore) -> None:
    cid = scan(store, 3, pages=2)
    store.queue_ocr(cid, [1, 2])
    claim = store.claim_ocr_page("host:123:abc:0", 3600)
    assert claim is not None
    assert store.ocr_owners() == {"host:123:abc:0"}
    assert store.requeue_ocr_owned_by({"host:123:abc:0"}) == 1
    assert store.ocr_counts([cid]).queued == 2
    again = store.claim_ocr_page("host:456:def:0", 3600)
    assert again is not None and again.page_no == 1
    store.release_ocr_page(again.job_id, "host:456:def:0")  # shutdown: not an attempt
    assert store.ocr_jobs(cid)[0].attempts == 1


def test_queue_survives_a_restart_and_goes_with_the_contract(
    store: SqlRecordStore,
) -> None:
    cid = scan(store, 4, pages=3)
    store.queue_ocr(cid, [1, 2, 3])
    other = SqlRecordStore(store.url)  # a new process, as far as the database can tell
    try:
        claim = other.claim_ocr_page("w:new", 60)
        assert claim is not None and claim.contract_id == cid
        store.delete_contract(cid)
        assert other.ocr_counts([cid]).total == 0
        assert other.ocr_batch(cid) is None
        assert other.claim_ocr_page("w:new", 60) is None
    finally:
        other.close()


def test_pages_pending_without_a_job_are_swept_into_the_queue(store: SqlRecordStore) -> None:
    cid = scan(store, 5, pages=2)  # archived before the queue existed: pages say pending
    assert store.enqueue_missing_ocr() == 2
    assert store.enqueue_missing_ocr() == 0
    assert store.ocr_counts([cid]).queued == 2
    assert store.open_ocr_contracts() == {cid}


def test_only_some_contracts(store: SqlRecordStore) -> None:
    a, b = scan(store, 8, pages=1), scan(store, 9, pages=1)
    store.queue_ocr(a, [1])
    store.queue_ocr(b, [1])
    claim = store.claim_ocr_page("w:1", 60, contract_ids=[b])
    assert claim is not None and claim.contract_id == b
    assert store.claim_ocr_page("w:1", 60, contract_ids=[]) is None


def test_unknown_contracts(store: SqlRecordStore) -> None:
    with pytest.raises(NotFound):
        store.queue_ocr(999, [1])
    with pytest.raises(NotFound):
        store.retry_ocr(999)


def test_failed_attempts_wait_out_their_backoff_then_fail_for_good(store: SqlRecordStore) -> None:
    """Issue 14: a failed attempt is not taken again before its backoff; other contracts' pages
    are taken meanwhile; the last attempt fails the page; a retry resets its attempts."""
    poison, good = scan(store, 11, pages=1), scan(store, 12, pages=1)
    store.queue_ocr(poison, [1])
    store.queue_ocr(good, [1])
    claim = store.claim_ocr_page("w:1", 60)
    assert claim is not None and claim.contract_id == poison
    assert store.fail_ocr_page(claim.job_id, "w:1", "engine failed", retry_in=3600)
    job = store.ocr_jobs(poison)[0]
    assert (job.status, job.attempts, job.error) == ("queued", 1, "engine failed")
    assert job.retry_at is not None
    assert store.get_contract(poison).pages[0].ocr_status == "pending"
    other = store.claim_ocr_page("w:1", 60)  # the poison waits; the good page is taken
    assert other is not None and other.contract_id == good
    assert store.claim_ocr_page("w:1", 60) is None
    assert not store.try_finalize_ocr(poison, "w:1", 600)  # its page is still open

    assert store.fail_ocr_page(claim.job_id, "w:1", "late", retry_in=1) is False  # not held
    assert not store.fail_ocr_page(claim.job_id, "w:2", "x")  # nor by another
    assert store.retry_ocr(poison) == [1]  # a retry does not wait out the backoff
    again = store.claim_ocr_page("w:1", 60)
    assert again is not None and again.contract_id == poison and again.attempts == 1
    assert store.fail_ocr_page(again.job_id, "w:1", "engine failed again", traceback="Tb")
    job = store.ocr_jobs(poison)[0]
    assert (job.status, job.error, job.traceback, job.retry_at) == (
        "failed",
        "engine failed again",
        "Tb",
        None,
    )
    assert store.get_contract(poison).pages[0].ocr_error == "engine failed again"


def test_finalisation_attempts_back_off_then_fail_and_retry_resets_them(
    store: SqlRecordStore,
) -> None:
    cid = scan(store, 13, pages=1)
    store.queue_ocr(cid, [1])
    claim = store.claim_ocr_page("w:1", 60)
    assert claim is not None
    store.complete_ocr_page(claim.job_id, "w:1", result={}, layer=None, confidence=90.0)
    assert store.try_finalize_ocr(cid, "w:1", 600)
    assert store.ocr_batch(cid).attempts == 1  # type: ignore[union-attr]
    assert store.fail_finalization(cid, "w:1", "index down", retry_in=3600, traceback="T1")
    batch = store.ocr_batch(cid)
    assert batch is not None and (batch.state, batch.last_error, batch.traceback) == (
        "pending",
        "index down",
        "T1",
    )
    assert store.claim_stale_finalization("w:2", 600) is None  # waiting out its backoff
    assert not store.try_finalize_ocr(cid, "w:2", 600)
    assert store.open_ocr_contracts([cid]) == {cid}

    store.retry_ocr(cid)  # no failed page, but the finalisation is taken at once again
    assert store.claim_stale_finalization("w:2", 600) == cid
    assert store.fail_finalization(cid, "w:2", "index down", retry_in=None, traceback="T2")
    batch = store.ocr_batch(cid)
    assert batch is not None and (batch.state, batch.attempts, batch.traceback) == (
        "failed",
        1,
        "T2",
    )
    assert store.open_ocr_contracts([cid]) == set()  # failed is final: nobody waits for it
    assert store.failed_ocr() == [batch] and store.failed_ocr([cid + 1]) == []
    page = store.get_contract(cid).pages[0]
    assert page.ocr_status == "failed" and page.ocr_error == "OCR could not be finished: index down"
    assert store.claim_stale_finalization("w:3", 600) is None

    assert store.retry_ocr(cid) == []
    batch = store.ocr_batch(cid)
    assert batch is not None and (batch.state, batch.attempts) == ("pending", 0)
    assert store.get_contract(cid).pages[0].ocr_status == "running"
    assert store.claim_stale_finalization("w:3", 600) == cid


def test_a_finalisation_whose_holders_keep_dying_fails(store: SqlRecordStore) -> None:
    cid = scan(store, 14, pages=1)
    store.queue_ocr(cid, [1])
    claim = store.claim_ocr_page("w:1", 60)
    assert claim is not None
    store.complete_ocr_page(claim.job_id, "w:1", result={}, layer=None, confidence=None)
    assert store.try_finalize_ocr(cid, "dead:1", -1)  # a lease already run out
    for n in (2, 3):
        assert store.claim_stale_finalization(f"dead:{n}", -1, max_attempts=3) == cid
    assert store.claim_stale_finalization("w:4", 600, max_attempts=3) is None
    batch = store.ocr_batch(cid)
    assert batch is not None and batch.state == "failed" and batch.attempts == 3
    assert "interrupted 3 times" in (batch.last_error or "")
