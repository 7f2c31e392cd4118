"""Failure is visible (issue 14): the failed-jobs list for administrators, through the API
(`GET /api/v1/jobs?state=failed`), the web page `/jobs` with its retry button, the command line
(`contract-archive jobs list --failed`), and `doctor`.

Failed jobs are made for real: scans OCR'd by the replay engine with no recording for them, one
attempt allowed, so each page fails for good with the engine's reason. One of them is a contract
of a restricted class: an administrator not cleared for it does not see its job at all.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from search_api.app import create_app
from services.access.credentials import hash_password
from services.access.service import AccessControl
from services.archive import Archive
from services.doctor import Doctor
from storage.records.access_base import LogFilter, NewUser
from tests.access_helpers import add_web_user, auth_headers, ensure_user
from tests.cli_runner import invoke
from tests.conftest import make_settings
from tests.test_ocr_poison import PROGRAM, ingest, one_page_scan, record_for, service

PASSWORD = "a long enough passphrase 15"
SECRET_TITLE = "Secret labour scan 机密"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """An archive with two contracts whose only page failed OCR for good, one of them of the
    class LD, restricted to the group hr (root, an admin, is not in it; ida is)."""
    base = tmp_path_factory.mktemp("jobs")
    files = base / "files"
    files.mkdir()
    recordings = base / "recorded"
    recordings.mkdir()  # empty: every page fails with "no recorded OCR output"
    settings = make_settings(base / "var")
    with Archive(settings, parser_workers=1).open() as archive:
        root = ensure_user(archive, "root", ("admin",))
        access = AccessControl.for_archive(archive)
        ids = {}
        for key, cls, title in (("open", None, "Open scan"), ("secret", "LD", SECRET_TITLE)):
            path = one_page_scan(files / f"{key}.pdf", key)
            with open(path, "rb") as fh:
                result = access.ingest(
                    root, fh, filename=path.name, classification=cls, title=title
                )
            assert result.status == "archived" and result.id and result.pages_needing_ocr == (1,)
            ids[key] = result.id
        access.set_restriction(root, "LD", ["hr"])
        with service(archive, recordings, max_attempts=1) as ocr:
            waited = ocr.wait_for(list(ids.values()), poll=0.1, timeout=120)
        assert not waited.timed_out and waited.failed == 2
        store = access.store
        for name, roles, groups in (
            ("web-admin", ("admin",), ()),
            ("web-archivist", ("archivist",), ()),
        ):
            store.add_user(
                NewUser(
                    username=name,
                    roles=roles,
                    groups=groups,
                    password_hash=hash_password(PASSWORD),
                    created_by="tests",
                )
            )
        ensure_user(archive, "ida", ("admin",), ("hr",))
        ensure_user(archive, "clerk", ("archivist",))
    return {"settings": settings, "ids": ids}


def open_archive(world: dict) -> Archive:
    return Archive(world["settings"], parser_workers=1).open()


def test_the_api_lists_failed_jobs_with_reason_and_traceback_hiding_hidden_classes(world):
    ids = world["ids"]
    with open_archive(world) as archive:
        app = create_app(archive)
        with TestClient(app, headers=auth_headers(archive, username="root")) as c:
            r = c.get("/api/v1/jobs", params={"state": "failed"})
            assert r.status_code == 200, r.text
            body = r.json()
            assert body["state"] == "failed" and body["total"] == 1
            (job,) = body["items"]
            assert job["kind"] == "ocr_page" and job["contract_id"] == ids["open"]
            assert job["title"] == "Open scan" and job["page"] == 1 and job["attempts"] == 1
            assert job["reason"].startswith("no recorded OCR output")
            assert "traceback" in job  # kept for operators (None for an expected failure)
            assert job["retry"] == f"contract-archive ocr --retry {ids['open']}"
            # the restricted contract's job: neither its id nor its title
            assert SECRET_TITLE not in r.text and f'"contract_id":{ids["secret"]}' not in r.text
            bad = c.get("/api/v1/jobs", params={"state": "exploded"})
            assert bad.status_code == 400 and "unknown job state" in bad.json()["error"]["message"]
        with TestClient(app, headers=auth_headers(archive, username="ida")) as c:
            items = c.get("/api/v1/jobs?state=failed").json()["items"]
            assert {(j["contract_id"], j["title"]) for j in items} == {
                (ids["open"], "Open scan"),
                (ids["secret"], SECRET_TITLE),
            }
        with TestClient(app, headers=auth_headers(archive, username="clerk")) as c:
            refused = c.get("/api/v1/jobs?state=failed")
            assert refused.status_code == 403
            assert refused.json()["error"]["code"] == "forbidden"
        store = AccessControl.for_archive(archive).store
        listed = store.entries(LogFilter(actor="root", action="jobs.list"), limit=10)
        assert {e.outcome for e in listed} == {"ok"}


def test_cli_and_doctor_show_failed_jobs(world, tmp_path: Path):
    ids = world["ids"]
    settings = world["settings"]
    env = {**os.environ, "ARCHIVE_DATA_DIR": str(settings.data_dir), "ARCHIVE_USER": "ida"}
    done = subprocess.run(
        [PROGRAM, "jobs", "list", "--failed", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    jobs = [json.loads(line) for line in done.stdout.splitlines()]
    secret = [j for j in jobs if j["contract_id"] == ids["secret"]]
    assert len(secret) == 1 and secret[0]["title"] == SECRET_TITLE
    assert secret[0]["reason"].startswith("no recorded OCR output")
    assert set(secret[0]) >= {"kind", "page", "attempts", "reason", "traceback", "retry"}

    plain = subprocess.run(
        [PROGRAM, "jobs", "list", "--failed"],
        env={**env, "ARCHIVE_USER": "root"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert plain.returncode == 0, plain.stderr
    assert SECRET_TITLE not in plain.stdout and f"#{ids['secret']}" not in plain.stdout
    refused = subprocess.run(
        [PROGRAM, "jobs", "list", "--failed"],
        env={**env, "ARCHIVE_USER": "clerk"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode == 1 and "settings:manage" in refused.stderr
    assert "Traceback" not in refused.stderr

    assert {(j["contract_id"], j["kind"], j["page"]) for j in jobs} == {
        (ids["open"], "ocr_page", 1),
        (ids["secret"], "ocr_page", 1),
    }
    with open_archive(world) as archive:
        findings = [f for f in Doctor(archive).run().findings if f.code == "ocr_page_failed"]
    assert {f.subject for f in findings} == {f"contract {ids['open']}", f"contract {ids['secret']}"}
    (finding,) = [f for f in findings if f.subject == f"contract {ids['secret']}"]
    assert "page 1 after 1 attempt: no recorded OCR output" in finding.problem
    assert f"ocr --retry {ids['secret']}" in finding.fix and finding.severity == "warning"


def signed_in(archive: Archive, username: str) -> TestClient:
    client = TestClient(
        create_app(archive), raise_server_exceptions=False, headers={"Accept": "text/html"}
    )
    r = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "next": "/"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[:300]
    return client


def nav(html: str) -> list[str]:
    block = html.split('<ul class="nav">', 1)[1].split("</ul>", 1)[0]
    return re.findall(r'<a href="([^"]+)"', block)


def test_the_jobs_page_shows_reasons_and_its_retry_button_queues_the_page_again(world):
    ids = world["ids"]
    with open_archive(world) as archive:
        with signed_in(archive, "web-archivist") as c:
            home = c.get("/")
            assert home.status_code == 200 and "/jobs" not in nav(home.text)
            assert c.get("/jobs").status_code == 403
        with signed_in(archive, "web-admin") as c:
            assert "/jobs" in nav(c.get("/").text)
            page = c.get("/jobs")
            assert page.status_code == 200
            assert "Failed jobs" in page.text and "Open scan" in page.text
            assert "no recorded OCR output" in page.text and "OCR of page 1" in page.text
            assert "Traceback" not in page.text
            assert SECRET_TITLE not in page.text and f"/contracts/{ids['secret']}" not in page.text
            c.cookies.set("archive_lang", "zh")
            zh = c.get("/jobs")
            c.cookies.set("archive_lang", "en")
            assert "失败任务" in zh.text and "第 1 页 OCR" in zh.text and "重试" in zh.text
            token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
            assert token is not None
            assert f'name="contract_id" value="{ids["open"]}"' in page.text
            done = c.post(
                "/jobs/retry",
                data={"contract_id": str(ids["open"]), "csrf_token": token.group(1)},
                follow_redirects=False,
            )
            assert done.status_code == 303 and done.headers["location"].startswith("/jobs")
            job = archive.records.ocr_jobs(ids["open"])[0]
            assert (job.status, job.attempts, job.error) == ("queued", 0, None)
            after = c.get(done.headers["location"])
            assert f"Contract {ids['open']} was queued for OCR again." in after.text
            assert "no recorded OCR output" not in after.text
            assert "No job has failed." in after.text
        # the retry went through the OCR retry action: it is in the access log
        store = AccessControl.for_archive(archive).store
        logged = store.entries(LogFilter(actor="web-admin", action="contract.ocr_retry"))
        assert [(e.contract_id, e.outcome) for e in logged] == [(ids["open"], "ok")]


def test_one_failed_list_for_every_kind_of_background_work(tmp_path: Path):
    """OCR pages, OCR finalisation and background jobs share one model (storage/records/
    leases.py) and one failed-jobs list: a page that failed OCR, a contract whose finishing
    failed and a failed fixity audit stand side by side in the API, the command line, the web
    page and doctor, each with its reason and its way to try again."""
    files = tmp_path / "files"
    files.mkdir()
    recordings = tmp_path / "recorded"
    recordings.mkdir()
    with Archive(make_settings(tmp_path / "var"), parser_workers=1).open() as archive:
        ensure_user(archive, "root", ("admin",))
        add_web_user(archive, "web-admin", PASSWORD)
        unread = ingest(archive, one_page_scan(files / "unread.pdf", "unread"))
        finished = one_page_scan(files / "unfinished.pdf", "unfinished")
        record_for(recordings, finished)  # read, but its text file cannot be written
        unfinished = ingest(archive, finished)
        text_file = archive.settings.objects_dir / archive.get(unfinished).text_key
        text_file.chmod(0o644)
        text_file.write_bytes(b"{not json")
        with service(archive, recordings, max_attempts=1) as ocr:
            assert not ocr.wait_for([unread, unfinished], poll=0.1, timeout=120).timed_out
        # a fixity audit whose worker failed it for good (its one attempt)
        records = archive.records
        queued = records.queue_job("fixity", queued_by="root", max_attempts=1)
        assert queued is not None
        taken = records.claim_job("a-worker", 60, kinds={"fixity"})
        assert taken is not None and (taken.id, taken.attempts) == (queued.id, 1)
        assert records.fail_job(
            taken.id, "a-worker", "SMTP refused", retry_in=None, traceback="Traceback: ..."
        )

        expected = {
            ("ocr_page", unread, "no recorded OCR output", f"ocr --retry {unread}"),
            ("ocr_finish", unfinished, "the text file of", f"ocr --retry {unfinished}"),
            ("fixity", None, "SMTP refused", f"jobs retry {queued.id}"),
        }

        def seen(items: list[dict]) -> set[tuple]:
            found = set()
            for job in items:
                for kind, cid, reason, retry in expected:
                    if (job["kind"], job["contract_id"]) == (kind, cid):
                        assert job["state"] == "failed", job
                        assert reason in job["reason"] and retry in job["retry"], job
                        found.add((kind, cid, reason, retry))
            return found

        with TestClient(create_app(archive), headers=auth_headers(archive, username="root")) as c:
            body = c.get("/api/v1/jobs", params={"state": "failed"}).json()
        assert body["total"] == 3 and seen(body["items"]) == expected, body

        done = invoke(
            archive.settings.data_dir,
            "jobs",
            "list",
            "--failed",
            "--json",
            env={"ARCHIVE_USER": "root"},
        )
        assert done.returncode == 0, done.stderr
        assert seen([json.loads(line) for line in done.stdout.splitlines()]) == expected

        with signed_in(archive, "web-admin") as c:
            page = c.get("/jobs?lang=en").text
            # the contract pages say it too, the reason of the failed finishing included
            unread_page = c.get(f"/contracts/{unread}?lang=en").text
            unfinished_page = c.get(f"/contracts/{unfinished}?lang=en").text
        assert "Pages that could not be read: 1" in unread_page
        assert f'action="/contracts/{unread}/ocr/retry"' in unread_page
        assert "OCR could not be finished: the text file of" in unfinished_page
        assert "no recorded OCR output" in page and "the text file of" in page
        assert "SMTP refused" in page and f'action="/jobs/{queued.id}/retry"' in page
        for cid in (unread, unfinished):
            assert f'name="contract_id" value="{cid}"' in page

        codes = {(f.code, f.subject) for f in Doctor(archive).run().findings}
        assert {
            ("ocr_page_failed", f"contract {unread}"),
            ("ocr_failed", f"contract {unfinished}"),
            ("job_failed", f"background job {queued.id} (fixity)"),
        } <= codes
