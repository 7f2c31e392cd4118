"""Background jobs other than OCR (issue 14): reminders, fixity audits and reindexing as durable
jobs with attempts, backoff, a lease and a terminal `failed` state.

The way users meet them: a real server (`contract-archive serve`, its lifespan runs the worker)
asked over HTTP with a token, and the installed command line acting as ARCHIVE_USER (`jobs`,
`worker`, `doctor`; the first worker, a refusal and a doctor run as the program, the other
commands, the second worker included, in-process through tests/cli_runner.py). A job fails for
real: the fixity audit finds a damaged contract and its e-mail cannot be sent (the SMTP port
refuses); once the tests' SMTP sink listens on that port, the retried job mails the failures. A crashed worker is a claim made in the database by a worker
that never comes back (its lease runs out).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient

from core.errors import Conflict, NotFound
from search_api.app import create_app
from services.access.credentials import hash_password
from services.access.service import AccessControl
from services.archive import Archive
from storage.records.access_base import NewUser
from storage.records.jobs_models import BackgroundJob
from storage.records.sql import SqlRecordStore
from tests.access_helpers import ensure_user
from tests.cli_runner import invoke
from tests.conftest import corpus_files, make_settings
from tests.seal_helpers import flip_byte
from tests.servers import free_ports
from tests.smtp_sink import SmtpSink
from tests.test_ocr_poison import PROGRAM

# Each test starts the installed program a dozen times (a server, workers, doctor): about 3 min
# alone, more on a busy machine.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
DEAD_WORKER = "deadhost:999999:jobs-crashed"
PASSWORD = "a long enough passphrase 15"


def wait_for(check: Callable[[], Any], limit: float = 120, step: float = 0.3) -> Any:
    """Poll ``check`` until it returns something true (and return it); None after ``limit``
    seconds (a generous bound, not a measurement)."""
    end = time.monotonic() + limit
    while time.monotonic() < end:
        got = check()
        if got:
            return got
        time.sleep(step)
    return None


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """An archive of two contracts, the second one's original damaged; the user root (admin)."""
    base = tmp_path_factory.mktemp("background-jobs") / "var"
    pdfs = sorted(corpus_files("en-cuad", ".pdf"), key=lambda p: p.stat().st_size)[:2]
    ids = []
    with Archive(make_settings(base), parser_workers=1).open() as archive:
        ensure_user(archive, "root", ("admin",))
        ensure_user(archive, "clerk", ("archivist",))
        AccessControl.for_archive(archive).store.add_user(
            NewUser(
                username="web-admin",
                roles=("admin",),
                groups=(),
                password_hash=hash_password(PASSWORD),
                created_by="tests",
            )
        )
        for pdf in pdfs:
            result = archive.ingest_path(pdf)
            assert result.status == "archived" and result.id is not None, result
            ids.append(result.id)
        record = archive.get(ids[1])
        package = archive.settings.objects_dir / "packages" / record.sha256[:2] / record.sha256
        original = package / "original"
        flip_byte(original, original.stat().st_size // 2)
    return {"base": base, "ids": ids, "damaged": ids[1]}


def when(value: str) -> datetime:
    return datetime.fromisoformat(value)


def fresh(seeded: dict[str, Any], tmp_path: Path) -> Path:
    target = tmp_path / "var"
    shutil.copytree(seeded["base"], target, symlinks=True)
    return target


def job_env(data: Path, smtp_port: int, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "ARCHIVE_DATA_DIR": str(data),
        "ARCHIVE_USER": "root",
        "ARCHIVE_OCR_BACKGROUND": "false",
        "ARCHIVE_SMTP_HOST": "127.0.0.1",
        "ARCHIVE_SMTP_PORT": str(smtp_port),
        "ARCHIVE_SMTP_STARTTLS": "false",
        "ARCHIVE_REMINDER_EMAIL_TO": "ops@example.com",
        "ARCHIVE_JOB_MAX_ATTEMPTS": "2",
        "ARCHIVE_JOB_POLL_SECONDS": "0.2",
        "ARCHIVE_JOB_LEASE_SECONDS": "3",
        **extra,
    }


def cli(
    env: dict[str, str], *args: str, user: str = "root", program: bool = False
) -> subprocess.CompletedProcess[str]:
    """A command as ARCHIVE_USER ``user``: in-process (tests/cli_runner.py, the same Typer app
    without the program's 2 s of CPU at start), or with ``program`` the installed program."""
    if not program:
        wanted = {k: v for k, v in env.items() if k.startswith("ARCHIVE_")}
        return invoke(Path(env["ARCHIVE_DATA_DIR"]), *args, env={**wanted, "ARCHIVE_USER": user})
    try:
        return subprocess.run(
            [PROGRAM, *args],
            env={**env, "ARCHIVE_USER": user},
            capture_output=True,
            text=True,
            timeout=120,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"{args} did not end: {exc.stderr!r}")


def listed(env: dict[str, str], *flags: str) -> list[dict[str, Any]]:
    done = cli(env, "jobs", "list", *flags, "--json")
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def by_id(jobs: list[dict[str, Any]], job_id: int) -> dict[str, Any]:
    return next(j for j in jobs if j.get("id") == job_id)


def test_the_server_runs_scheduled_jobs_a_failing_one_backs_off_fails_and_is_retried(
    seeded: dict[str, Any], tmp_path: Path
) -> None:
    data = fresh(seeded, tmp_path)
    port, smtp_port = free_ports(2)  # nothing listens on smtp_port yet: mail is refused
    env = job_env(
        data,
        smtp_port,
        ARCHIVE_JOBS_BACKGROUND="true",
        ARCHIVE_JOB_RETRY_BACKOFF_SECONDS="3",
        ARCHIVE_REMINDER_INTERVAL_HOURS="0.0005",  # every 1.8 s
        ARCHIVE_FIXITY_INTERVAL_HOURS="0.002",  # every 7.2 s
    )
    made = cli(env, "tokens", "create", "--name", "jobs")
    assert made.returncode == 0, made.stderr
    auth = {"Authorization": f"Bearer {made.stdout.strip()}"}
    clerk_made = cli(env, "tokens", "create", "--name", "clerk", user="clerk")
    clerk = {"Authorization": f"Bearer {clerk_made.stdout.strip()}"}
    server = subprocess.Popen(
        [PROGRAM, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    api = httpx.Client(base_url=base, headers=auth, timeout=60)

    def up() -> bool:
        assert server.poll() is None, "the server stopped"
        try:
            return httpx.get(f"{base}/api/v1/health", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    def every() -> list[dict[str, Any]]:
        r = api.get("/api/v1/jobs", params={"state": "all"})
        assert r.status_code == 200, r.text
        return [j for j in r.json()["items"] if j["id"] is not None]

    def job(job_id: int) -> dict[str, Any]:
        r = api.get(f"/api/v1/jobs/{job_id}")
        assert r.status_code == 200, r.text
        return r.json()

    try:
        assert wait_for(up, limit=90), "the server did not start"

        # The scheduled fixity audit finds the damaged contract; mailing it is refused: the
        # job waits for its second attempt (backoff) with the reason.
        def in_backoff() -> dict[str, Any] | None:
            return next(
                (
                    j
                    for j in every()
                    if j["kind"] == "fixity" and j["state"] == "queued" and j["attempts"] == 1
                ),
                None,
            )

        waiting = wait_for(in_backoff)
        assert waiting is not None, every()
        fixity = waiting["id"]
        assert waiting["queued_by"] == "schedule" and waiting["max_attempts"] == 2
        assert "mailing the failures failed" in waiting["reason"]
        assert waiting["next_attempt_at"] is not None

        # Meanwhile another job runs: the failing one holds no worker.
        queued = api.post("/api/v1/jobs", json={"kind": "reindex"})
        assert queued.status_code == 202, queued.text
        reindex = queued.json()["id"]
        assert queued.json()["state"] == "queued" and queued.json()["queued_by"] == "root"
        done = wait_for(lambda: (j := job(reindex))["state"] == "done" and j)
        assert done and done["result"] == "indexed 2 contracts" and done["attempts"] == 1

        failed = wait_for(lambda: (j := job(fixity))["state"] == "failed" and j)
        assert failed, job(fixity)
        assert failed["attempts"] == 2
        assert "1 failed" in failed["reason"] and "mailing the failures failed" in failed["reason"]
        assert failed["traceback"] is None  # an expected failure: the reason says it all
        assert failed["retry"] == f"contract-archive jobs retry {fixity}"
        assert when(failed["failed_at"]) >= when(waiting["next_attempt_at"])  # after backoff
        assert when(done["finished_at"]) < when(failed["failed_at"])  # ran while the other waited
        in_list = api.get("/api/v1/jobs", params={"state": "failed"}).json()["items"]
        assert fixity in [j["id"] for j in in_list]

        # Reminders run at their interval, as jobs.
        reminders = wait_for(
            lambda: [
                j
                for j in every()
                if j["kind"] == "reminders"
                and j["state"] == "done"
                and j["queued_by"] == "schedule"
            ]
        )
        assert reminders and "new reminders" in reminders[0]["result"]

        # Bad input: a clear 4xx, nothing queued.
        before = len(every())
        bad = api.post("/api/v1/jobs", json={"kind": "format-disk"})
        assert bad.status_code == 400 and "unknown job kind" in bad.json()["error"]["message"]
        again = api.post(f"/api/v1/jobs/{reindex}/retry")
        assert again.status_code == 409 and "not failed" in again.json()["error"]["message"]
        assert api.post("/api/v1/jobs/987654/retry").status_code == 404
        assert api.get("/api/v1/jobs/987654").status_code == 404
        refused = httpx.post(f"{base}/api/v1/jobs", json={"kind": "reindex"}, headers=clerk)
        assert refused.status_code == 403
        assert len([j for j in every() if j["kind"] in ("reindex",)]) == 1
        assert len(every()) >= before

        # The SMTP server is back: the retried job mails the failures.
        with SmtpSink(smtp_port) as sink:
            retried = api.post(f"/api/v1/jobs/{fixity}/retry")
            assert retried.status_code == 200, retried.text
            assert retried.json()["state"] == "queued" and retried.json()["attempts"] == 0
            ended = wait_for(lambda: (j := job(fixity))["state"] in ("done", "failed") and j)
            assert ended and ended["state"] == "done", ended
            assert "the failures were e-mailed" in ended["result"]
            mails = [m for m in sink.messages if "fixity audit found" in m["subject"]]
            assert mails and mails[0]["to"] == ["ops@example.com"]
            assert f"contract {seeded['damaged']}: FAILED" in mails[0]["body"]
    finally:
        api.close()
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def test_the_cli_lists_queues_and_retries_doctor_reports_and_a_lost_lease_is_retaken(
    seeded: dict[str, Any], tmp_path: Path
) -> None:
    data = fresh(seeded, tmp_path)
    (smtp_port,) = free_ports(1)
    env = job_env(
        data,
        smtp_port,
        ARCHIVE_JOB_RETRY_BACKOFF_SECONDS="0.5",
        ARCHIVE_REMINDER_INTERVAL_HOURS="0",
        ARCHIVE_FIXITY_INTERVAL_HOURS="0",
    )
    bogus = cli(env, "jobs", "queue", "format-disk", program=True)
    assert bogus.returncode != 0 and "unknown job kind" in bogus.stderr
    refused = cli(env, "jobs", "queue", "reindex", user="clerk")
    assert refused.returncode != 0
    for kind in ("fixity", "reindex"):
        queued = cli(env, "jobs", "queue", kind)
        assert queued.returncode == 0, queued.stderr
        assert "queued  job " in queued.stdout and kind in queued.stdout
    jobs = listed(env, "--all")
    fixity = next(j["id"] for j in jobs if j["kind"] == "fixity")
    reindex = next(j["id"] for j in jobs if j["kind"] == "reindex")
    assert {j["state"] for j in jobs} == {"queued"}

    # A worker takes the reindex job and dies: its lease runs out, nobody takes it again.
    with Archive(make_settings(data), parser_workers=1).open() as archive:
        taken = archive.records.claim_job(DEAD_WORKER, 0.2, kinds={"reindex"})
        assert taken is not None and taken.id == reindex and taken.attempts == 1

    def orphaned() -> list[dict[str, Any]]:
        report = json.loads(cli(env, "doctor", "--json").stdout)
        return [f for f in report["findings"] if f["code"] == "job_orphaned"]

    found = wait_for(orphaned, limit=60, step=0.5)
    assert found and f"background job {reindex} (reindex)" == found[0]["subject"]
    assert DEAD_WORKER in found[0]["problem"] and found[0]["repairable"]

    # The CLI worker takes it again, and runs the fixity audit, whose mail is refused twice.
    worked = cli(env, "worker", "--until-idle", "--workers", "1", program=True)
    assert worked.returncode == 0, worked.stderr
    jobs = listed(env, "--all")
    again = by_id(jobs, reindex)
    assert (again["state"], again["attempts"]) == ("done", 2), again
    failed = by_id(jobs, fixity)
    assert (failed["state"], failed["attempts"]) == ("failed", 2), failed
    assert "mailing the failures failed" in failed["reason"]
    assert {"traceback", "reason", "retry", "max_attempts"} <= set(failed)
    assert [j["id"] for j in listed(env, "--failed") if j["id"] is not None] == [fixity]
    plain = cli(env, "jobs", "list", "--failed")
    assert plain.returncode == 0 and f"job {fixity}  fixity" in plain.stdout
    assert "jobs retry ID" in plain.stderr

    report = json.loads(cli(env, "doctor", "--json", program=True).stdout)
    codes = {(f["code"], f["subject"]) for f in report["findings"]}
    assert ("job_failed", f"background job {fixity} (fixity)") in codes
    assert not [c for c, _ in codes if c == "job_orphaned"]

    # Retry: only a failed job, and one that exists.
    not_failed = cli(env, "jobs", "retry", str(reindex))
    assert not_failed.returncode != 0 and "not failed" in not_failed.stderr
    missing = cli(env, "jobs", "retry", "987654")
    assert missing.returncode != 0 and "does not exist" in missing.stderr
    # The web page: the failed job with its reason and a retry button; a job queued by form.
    with Archive(make_settings(data), parser_workers=1).open() as archive:
        web = TestClient(
            create_app(archive), raise_server_exceptions=False, headers={"Accept": "text/html"}
        )
        with web:
            login = web.post(
                "/login",
                data={"username": "web-admin", "password": PASSWORD, "next": "/"},
                follow_redirects=False,
            )
            assert login.status_code == 303, login.text[:300]
            page = web.get("/jobs?lang=en")
            assert page.status_code == 200
            assert "Background jobs" in page.text and "Fixity audit" in page.text
            assert "mailing the failures failed" in page.text and "Traceback" not in page.text
            assert f'action="/jobs/{fixity}/retry"' in page.text
            assert f'action="/jobs/{reindex}/retry"' not in page.text  # done: nothing to retry
            token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
            assert token is not None
            csrf = {"csrf_token": token.group(1)}
            queued = web.post(
                "/jobs/queue", data={"kind": "reindex", **csrf}, follow_redirects=False
            )
            assert queued.status_code == 303 and "/jobs?queued=" in queued.headers["location"]
            bad = web.post("/jobs/queue", data={"kind": "format-disk", **csrf})
            assert bad.status_code == 400
            zh = web.get("/jobs?lang=zh")
            assert "后台任务" in zh.text and "固定性审计" in zh.text
    web_reindex = int(queued.headers["location"].rsplit("=", 1)[1])

    retried = cli(env, "jobs", "retry", str(fixity))
    assert retried.returncode == 0 and "queued" in retried.stdout, retried.stderr
    with SmtpSink(smtp_port) as sink:  # the worker in-process: the first ran as the program
        worked = cli(env, "worker", "--until-idle", "--workers", "1")
        assert worked.returncode == 0, worked.stderr
    jobs = listed(env, "--all")
    ended = by_id(jobs, fixity)
    assert ended["state"] == "done" and "e-mailed" in ended["result"], ended
    assert by_id(jobs, web_reindex)["state"] == "done"
    assert any(f"contract {seeded['damaged']}: FAILED" in m["body"] for m in sink.messages)
    report = json.loads(cli(env, "doctor", "--json").stdout)
    assert not [f for f in report["findings"] if f["check"] == "jobs"]


def test_the_queue_on_both_databases_one_slot_one_winner_lease_backoff_and_retry(
    store: SqlRecordStore,
) -> None:
    """The queue's rules on SQLite and PostgreSQL: a schedule slot is queued once, two workers
    never take one job, a lost lease lets another take it, a failure waits for its backoff, the
    last attempt fails for good, and only a failed job is retried."""
    first = store.queue_job("fixity", queued_by="schedule", max_attempts=2, slot="fixity:1")
    assert first is not None and first.state == "queued"
    assert store.queue_job("fixity", queued_by="schedule", max_attempts=2, slot="fixity:1") is None
    other = store.queue_job("reindex", queued_by="root", max_attempts=2)
    assert other is not None and store.open_job_kinds() == {"fixity", "reindex"}

    a = store.claim_job("a", 60, kinds={"fixity"})
    assert a is not None and a.id == first.id and a.attempts == 1 and a.owner == "a"
    assert store.claim_job("b", 60, kinds={"fixity"}) is None  # held: nobody else takes it
    assert store.heartbeat_job(first.id, "a", 60) and not store.heartbeat_job(first.id, "b", 60)
    # The failure waits for its backoff; the other job is taken meanwhile.
    assert store.fail_job(first.id, "a", "refused", retry_in=3600, traceback=None)
    waiting = store.get_job(first.id)
    assert (waiting.state, waiting.error) == ("queued", "refused") and waiting.retry_at
    b = store.claim_job("b", 60)
    assert b is not None and b.id == other.id
    assert store.finish_job(other.id, "b", "indexed 0 contracts")
    assert store.get_job(other.id).state == "done"
    with pytest.raises(Conflict):
        store.retry_job(other.id)
    with pytest.raises(NotFound):
        store.retry_job(2**70)
    assert store.claim_job("b", 60) is None  # the failed one is still in its backoff
    # Its lease lost (a dead worker), with its attempts used up: failed for good.
    with store._session(write=True) as s:
        s.execute(
            BackgroundJob.__table__.update()
            .where(BackgroundJob.id == first.id)
            .values(retry_at=None)
        )
    again = store.claim_job("c", 0.01)
    assert again is not None and again.attempts == 2
    time.sleep(0.05)
    assert store.expired_jobs(datetime.now(UTC)) and store.claim_job("d", 60) is None
    gone = store.get_job(first.id)
    assert gone.state == "failed" and "interrupted 2 times" in (gone.error or "")
    retried = store.retry_job(first.id)
    assert (retried.state, retried.attempts) == ("queued", 0)
    assert [j.id for j in store.list_jobs(("queued",))] == [first.id]


def test_a_job_that_runs_over_its_time_limit_stops_at_a_checkpoint_and_fails(
    tmp_path: Path,
) -> None:
    """A reindex and a fixity audit that run longer than ARCHIVE_JOB_TIMEOUT_SECONDS stop after
    their first contract and fail with that reason (no hung job holds a worker); the audit's
    run stays unfinished, so its next attempt resumes it, and the index is left as it was."""
    from services.jobs import JobWorker

    settings = make_settings(tmp_path / "var", job_timeout_seconds=1e-6, job_max_attempts=1)
    with Archive(settings, parser_workers=1).open() as archive:
        for path in sorted(corpus_files("en-cuad", ".pdf"), key=lambda p: p.stat().st_size)[:2]:
            assert archive.ingest_path(path, user="local:test").status == "archived"
        before = archive.index.ids()
        worker = JobWorker(archive, schedule=False)
        for kind in ("reindex", "fixity"):
            queued = archive.records.queue_job(kind, queued_by="root", max_attempts=1)
            assert queued is not None
            ended = worker.run_one()
            assert ended is not None and ended.id == queued.id
            assert ended.state == "failed", ended
            assert "ARCHIVE_JOB_TIMEOUT_SECONDS" in (ended.error or "")
        assert archive.index.ids() == before  # the aborted rebuild swapped nothing in
        assert worker.idle()
