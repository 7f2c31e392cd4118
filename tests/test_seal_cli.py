"""verify, seal and export as users run them (the installed program), the verification route,
the resumable fixity audit, and the README's OpenSSL recipe run on a real export."""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
import subprocess
import time
import zipfile
from pathlib import Path

import pytest
from asn1crypto import cms
from fastapi.testclient import TestClient

from core.errors import ConfigurationError
from search_api.app import create_app
from services.archive import Archive
from services.facade import Runtime
from signing.audit import run_audit
from signing.canonical import FileDigest, digest_stream
from signing.report import CHECK_ORDER, ORIGINAL, Status
from signing.verify import verify_contract
from storage.objects.base import package_key
from storage.records.access_base import LogFilter
from tests.access_helpers import auth_headers, ensure_user
from tests.cli_runner import invoke
from tests.conftest import ROOT, make_settings
from tests.seal_helpers import archive_small_english, flip_byte, small_english
from tests.test_cli import run

EN = small_english()


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[int]]:
    data = tmp_path_factory.mktemp("seal-cli") / "var"
    return data, archive_small_english(data)


@pytest.fixture
def tampered(loaded: tuple[Path, list[int]], tmp_path: Path) -> tuple[Path, list[int]]:
    """A copy of the archive whose second contract's original has one byte changed."""
    data, ids = loaded
    copy = tmp_path / "var"
    shutil.copytree(data, copy, symlinks=True)
    with Archive(make_settings(copy), parser_workers=1).open() as archive:
        record = archive.get(ids[1])
        path = archive.settings.objects_dir / package_key(record.sha256, "original")
        flip_byte(path, 1000)
    return copy, ids


# --- the command line ------------------------------------------------------------------------------
def test_verify_prints_every_check_and_warns_about_development_keys(loaded) -> None:
    data, ids = loaded
    r = run(data, "verify", str(ids[0]))
    assert r.returncode == 0, r.stderr
    assert f"contract {ids[0]}: PASSED" in r.stdout
    for check in CHECK_ORDER:
        assert re.search(rf"PASSED\s+{check}", r.stdout), check
    assert "DEVELOPMENT SEAL KEYS IN USE" in r.stderr
    assert "Traceback" not in r.stderr


def test_verify_json_and_its_exit_status(tampered) -> None:
    """In-process (tests/cli_runner.py): the subject is verify's JSON and exit status; the installed
    program runs verify in the test above."""
    data, ids = tampered
    good = invoke(data, "verify", str(ids[0]), "--json")
    assert good.returncode == 0
    report = json.loads(good.stdout)
    assert report["overall"] == "PASSED" and report["development_keys"] is True
    bad = invoke(data, "verify", str(ids[1]), "--json")
    assert bad.returncode == 1
    report = json.loads(bad.stdout)
    assert report["overall"] == "FAILED"
    assert [c["id"] for c in report["checks"] if c["status"] == "FAILED"] == [ORIGINAL]
    missing = invoke(data, "verify", "999")
    assert missing.returncode == 1
    assert "error: contract 999" in flat(missing.stderr)
    assert "Traceback" not in missing.stderr
    usage = invoke(data, "verify")
    assert usage.returncode == 2 and "give a contract ID or --all" in flat(usage.stderr)


def test_verify_all_summarises_and_fails(tampered) -> None:
    """In-process (tests/cli_runner.py): the subject is verify --all's summary and exit status; the installed
    program runs verify in the test above."""
    data, ids = tampered
    r = invoke(data, "verify", "--all")
    assert r.returncode == 1, r.stdout + r.stderr
    assert f"{len(ids)} contracts checked, {len(ids) - 1} passed, 1 failed" in r.stdout
    assert f"contract {ids[1]}: FAILED (original_digests FAILED" in r.stdout
    # a finished audit is not resumed: the next one starts afresh and finds the same
    again = invoke(data, "verify", "--all", "--json")
    assert again.returncode == 1
    summary = json.loads(again.stdout.strip().splitlines()[-1])["summary"]
    assert summary["checked"] == len(ids) and summary["failed"] == 1
    assert summary["findings"][0]["id"] == ids[1]
    # the summary says which digests were compared: SHA-256 of all, SM3 of one in 4 (default)
    assert "digests: SHA-256 of every file; SM3 of the contracts whose id is" in flat(r.stdout)
    assert summary["sm3_every"] == 4 and summary["checked_now"] == len(ids)
    assert summary["sm3_checked"] == sum(1 for i in ids if i % 4 == 1)  # one audit finished
    full = invoke(data, "verify", "--all", "--full", "--json")
    summary = json.loads(full.stdout.strip().splitlines()[-1])["summary"]
    assert summary["sm3_checked"] == len(ids) and summary["failed"] == 1
    assert summary["digests"].startswith("SHA-256 and SM3 of every file (a full audit)")
    usage = invoke(data, "verify", str(ids[0]), "--full")
    assert usage.returncode == 2 and "--full goes with --all" in flat(usage.stderr)


def test_seal_status(loaded) -> None:
    data, ids = loaded
    r = run(data, "seal")
    assert r.returncode == 0, r.stderr
    assert f"{len(ids)} sealed, 0 pending, 0 without a manifest" in r.stdout


def test_export_is_verified_by_exactly_the_readme_commands(loaded, tmp_path: Path) -> None:
    data, ids = loaded
    target = tmp_path / f"contract-{ids[0]}"
    r = run(data, "export", str(ids[0]), str(target))
    assert r.returncode == 0, r.stderr
    for name in ("original.pdf", "text.json", "manifest.json", "manifest.p7s", "root.pem",
                 "timestamp.tst", "seal-signature.bin", "chain.pem", "SHA256SUMS"):  # fmt: skip
        assert (target / name).is_file(), name
    assert (target / "original.pdf").read_bytes() == EN[0].read_bytes()

    commands = readme_commands()
    assert commands[0] == "cd contract-12/"
    outputs = []
    for command in commands[1:]:
        done = subprocess.run(
            ["bash", "-c", command], cwd=target, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, (command, done.stdout, done.stderr)
        outputs.append(done.stdout + done.stderr)
    assert "original.pdf: OK" in outputs[0] and "text.json: OK" in outputs[0]
    assert outputs[1] == ""  # every digest is in the sealed manifest
    assert "CMS Verification successful" in outputs[2]
    assert "Verification: OK" in outputs[3]

    # seal-signature.bin is the seal's signature value, which the timestamp covers
    signer = cms.ContentInfo.load((target / "manifest.p7s").read_bytes())["content"]
    assert (
        signer["signer_infos"][0]["signature"].native
        == (target / "seal-signature.bin").read_bytes()
    )

    # and the same commands catch a change: one byte of the manifest, one of the original
    flip_byte(target / "manifest.json", 30)
    cms_check = subprocess.run(["bash", "-c", commands[3]], cwd=target, capture_output=True)
    assert cms_check.returncode != 0
    flip_byte(target / "original.pdf", 100)
    sums = subprocess.run(["bash", "-c", commands[1]], cwd=target, capture_output=True)
    assert sums.returncode != 0


def test_the_evidence_package_downloads_as_a_zip_the_readme_commands_verify(
    loaded, tmp_path: Path
) -> None:
    """The web page's and the API's evidence package: what `export` writes, as one ZIP, over
    HTTP with a token of a lawyer; logged as a download; nothing left in the archive's
    temporary folder, for a package sent or refused."""
    data, ids = loaded
    with Archive(make_settings(data), parser_workers=1).open() as archive:
        headers = auth_headers(archive, "legal", username="zip-lawyer")
        with TestClient(create_app(archive), headers=headers) as client:
            r = client.get(f"/api/v1/contracts/{ids[0]}/evidence.zip")
            assert r.status_code == 200, r.text
            assert r.headers["content-type"] == "application/zip"
            name = f"contract-{ids[0]}-evidence"
            assert f'filename="{name}.zip"' in r.headers["content-disposition"]
            missing = client.get("/api/v1/contracts/99999/evidence.zip")
            assert missing.status_code == 404, missing.text
            assert missing.json()["error"]["code"]
        left = [p.name for p in archive.settings.tmp_dir.iterdir() if "evidence" in p.name]
        assert left == []
        logged = archive.records.access_store().entries(LogFilter(contract_id=ids[0]), limit=10_000)
        downloads = [
            e for e in logged if e.action == "contract.download" and e.actor == "zip-lawyer"
        ]
        assert [(e.outcome, e.details.get("file")) for e in downloads] == [("ok", "evidence")]
    with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
        assert all(n.startswith(f"{name}/") for n in zf.namelist())
        zf.extractall(tmp_path)
    target = tmp_path / name
    assert (target / "original.pdf").read_bytes() == EN[0].read_bytes()
    for command in readme_commands()[1:]:
        done = subprocess.run(
            ["bash", "-c", command], cwd=target, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, (command, done.stdout, done.stderr)


def flat(text: str) -> str:
    """``text`` with the console's line wrapping undone."""
    return " ".join(text.split())


def readme_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Verifying an export without the archive", 1)[1]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip()]


def proof_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Checking a proof-only package", 1)[1]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip()]


def page_text(data: Path, contract_id: int) -> str:
    """A stretch of the contract's extracted text (what the proof package must not hold)."""
    with Archive(make_settings(data), parser_workers=1).open() as archive:
        record = archive.get(contract_id)
        path = archive.settings.objects_dir / package_key(record.sha256, "text.v1.json")
        pages = json.loads(path.read_bytes())["pages"]
    text = " ".join(str(p["text"]) for p in pages)
    middle = len(text) // 2
    return text[middle : middle + 80]


def check_proof(target: Path, original: Path, text: str) -> None:
    """The proof-only package in ``target`` holds none of the content, and the README's lines
    (the project's, which the package's README.txt carries too) verify it and a copy of the
    original supplied separately; a changed copy fails them."""
    names = {p.name for p in target.iterdir()}
    assert not [n for n in names if n.startswith(("original", "text", "searchable", "rendition"))]
    for name in ("manifest.json", "manifest.p7s", "timestamp.tst", "seal-signature.bin",
                 "root.pem", "chain.pem", "SHA256SUMS", "verification.json", "README.txt",
                 "ledger-proof.json", "verify_proof.py"):  # fmt: skip
        assert name in names, name
    content = original.read_bytes()
    for path in target.iterdir():  # not the original's bytes, nor a page's text, anywhere
        data = path.read_bytes()
        assert content[:4096] not in data and content[-4096:] not in data, path.name
        assert text.encode() not in data, path.name
    assert len(text) == 80
    sums = (target / "SHA256SUMS").read_text()
    sha = hashlib.sha256(content).hexdigest()
    assert f"{sha}  original.pdf" in sums.splitlines()

    commands = proof_commands()
    assert commands[0] == "cd contract-12-proof/"
    assert commands[1].startswith("cp ") and commands[1].endswith(" original.pdf")
    inside = (target / "README.txt").read_text()
    assert "NO content" in inside
    for command in commands[2:]:
        assert command in inside, command
    shutil.copy(original, target / "original.pdf")  # the verifier's own copy, from elsewhere
    outputs = []
    for command in commands[2:]:
        done = subprocess.run(
            ["bash", "-c", command], cwd=target, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, (command, done.stdout, done.stderr)
        outputs.append(done.stdout + done.stderr)
    assert "CMS Verification successful" in outputs[0]
    assert "Verification: OK" in outputs[1]
    assert outputs[2] == ""
    assert outputs[3].strip() == "original.pdf: OK"
    ledger = subprocess.run(
        ["python3", "verify_proof.py"], cwd=target, capture_output=True, text=True, timeout=120
    )
    assert ledger.returncode == 0 and "original.pdf is the file the manifest lists" in ledger.stdout
    flip_byte(target / "original.pdf", 100)  # a copy that is not the original fails
    bad = subprocess.run(["bash", "-c", commands[5]], cwd=target, capture_output=True, text=True)
    assert bad.returncode != 0 and "OK" not in bad.stdout


def test_an_auditor_exports_the_proof_package_over_http(loaded, tmp_path: Path) -> None:
    """Issue 15: the auditor, who may verify but not download, exports the proof-only package
    (no original, no text, no searchable copy); the README's OpenSSL lines check it and a copy
    of the original supplied separately. Logged as an export, not a download; the full package
    stays refused; a lawyer (no verify) is refused the proof route; nothing is left behind."""
    data, ids = loaded
    with Archive(make_settings(data), parser_workers=1).open() as archive:
        headers = auth_headers(archive, "auditor", username="proof-auditor")
        lawyer = auth_headers(archive, "legal", username="proof-lawyer")
        with TestClient(create_app(archive), headers=headers) as client:
            r = client.get(f"/api/v1/contracts/{ids[0]}/proof.zip")
            assert r.status_code == 200, r.text
            assert r.headers["content-type"] == "application/zip"
            name = f"contract-{ids[0]}-proof"
            assert f'filename="{name}.zip"' in r.headers["content-disposition"]
            full = client.get(f"/api/v1/contracts/{ids[0]}/evidence.zip")
            assert full.status_code == 403, full.text
            missing = client.get("/api/v1/contracts/99999/proof.zip")
            assert missing.status_code == 404, missing.text
            refused = client.get(f"/api/v1/contracts/{ids[0]}/proof.zip", headers=lawyer)
            assert refused.status_code == 403, refused.text
        left = [p.name for p in archive.settings.tmp_dir.iterdir() if "evidence" in p.name]
        assert left == []
        logged = archive.records.access_store().entries(LogFilter(contract_id=ids[0]), limit=10_000)
        mine = [(e.action, e.outcome, e.details.get("file"))
                for e in logged if e.actor == "proof-auditor"]  # fmt: skip
        assert ("contract.export_proof", "ok", "proof") in mine, mine
        assert not [m for m in mine if m[0] == "contract.download" and m[1] == "ok"], mine
    with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
        assert all(n.startswith(f"{name}/") for n in zf.namelist())
        zf.extractall(tmp_path)
    check_proof(tmp_path / name, EN[0], page_text(data, ids[0]))


def test_an_auditor_exports_the_proof_with_the_cli(loaded, tmp_path: Path) -> None:
    """`contract-archive export ID DIR --proof-only` as ARCHIVE_USER (an auditor): the same
    package in a folder; the full export is refused to them; --purpose with --proof-only is a
    clear error that writes nothing."""
    data, ids = loaded
    with Archive(make_settings(data), parser_workers=1).open() as archive:
        ensure_user(archive, "cli-auditor", ("auditor",))
    env = {"ARCHIVE_USER": "cli-auditor"}
    target = tmp_path / "contract-12-proof"
    r = run(data, "export", str(ids[1]), str(target), "--proof-only", env=env)
    assert r.returncode == 0, r.stderr
    assert "exported the proof (no content) of contract" in flat(r.stdout)
    check_proof(target, EN[1], page_text(data, ids[1]))
    full = run(data, "export", str(ids[1]), str(tmp_path / "full"), env=env)
    assert full.returncode != 0 and "contracts:download" in flat(full.stderr), full.stderr
    assert not (tmp_path / "full").exists() or not any((tmp_path / "full").iterdir())
    both = run(data, "export", str(ids[1]), str(tmp_path / "both"), "--proof-only",
               "--purpose", "audit", env=env)  # fmt: skip
    assert both.returncode != 0 and "proof-only export holds no content" in flat(both.stderr)
    assert not (tmp_path / "both").exists()


def test_export_refuses_a_folder_that_is_not_empty(loaded, tmp_path: Path) -> None:
    data, ids = loaded
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "x").write_text("mine")
    r = run(data, "export", str(ids[0]), str(tmp_path / "busy"))
    assert r.returncode == 1 and "is not empty" in flat(r.stderr)
    assert (tmp_path / "busy" / "x").read_text() == "mine"


# --- the fixity audit resumes after an interruption ----------------------------------------------
def test_an_interrupted_audit_resumes_where_it_stopped(tampered) -> None:
    data, ids = tampered
    with Archive(make_settings(data), parser_workers=1).open() as archive:
        seen: list[int] = []
        sm3: list[int] = []  # the contracts whose SM3 was compared, before and after

        def interrupt_after_three(report) -> None:
            seen.append(report.contract_id)
            sm3.extend([report.contract_id] if "sm3" in report.digests else [])
            if len(seen) == 3:
                raise KeyboardInterrupt

        def note(report) -> None:
            resumed.append(report.contract_id)
            sm3.extend([report.contract_id] if "sm3" in report.digests else [])

        with pytest.raises(KeyboardInterrupt):
            run_audit(archive.seal, batch_contracts=2, sm3_every=2, on_report=interrupt_after_three)
        # the first batch (2 contracts) was saved; the interrupted one was not
        resumed: list[int] = []
        summary = run_audit(archive.seal, batch_contracts=2, sm3_every=2, on_report=note)
    # the resumed run keeps its turn of the SM3 cycle (no audit finished in between)
    assert sm3 and {i % 2 for i in sm3} == {summary.cycle.turn % 2}
    assert seen[:2] == ids[:2]
    assert summary.resumed_from == ids[1]
    assert resumed == ids[2:]  # only what was left
    run = summary.run
    assert run.state == "finished" and run.checked == len(ids)
    assert (run.passed, run.failed) == (len(ids) - 1, 1)
    assert [(f.contract_id, f.overall) for f in summary.findings] == [(ids[1], "FAILED")]


def test_a_paced_audit_waits_to_keep_under_its_rate(tampered) -> None:
    """ARCHIVE_FIXITY_MAX_MB_PER_S: after each batch the audit waits until what it read fits
    the rate. Checked by what it asks to wait (not by the wall clock of a shared machine): at
    1 kB/s the waits cover every byte read, less the time the audit itself took."""
    data, ids = tampered
    waits: list[float] = []
    with Archive(make_settings(data), parser_workers=1).open() as archive:
        started = time.monotonic()
        summary = run_audit(
            archive.seal, restart=True, batch_contracts=1, max_mb_per_s=0.001, sleep=waits.append
        )
        took = time.monotonic() - started
        unpaced: list[float] = []
        run_audit(archive.seal, restart=True, sleep=unpaced.append)
    read = summary.run.bytes_hashed
    assert summary.run.checked == len(ids) and read > 0
    assert len(waits) == len(ids)  # one wait after each batch of one contract
    assert sum(waits) >= read / 1000 - took
    assert not unpaced  # no limit: no waiting


def test_the_rate_setting_paces_the_audit_end_to_end(tampered) -> None:
    """ARCHIVE_FIXITY_MAX_MB_PER_S through the facade that `verify --all` and the worker's job
    use, by the wall clock but only as a lower bound (a loaded machine only makes it later):
    at a rate at which the audit's bytes take 2 s more than an unpaced audit took, it takes at
    least that long."""
    data, ids = tampered
    with Archive(make_settings(data), parser_workers=1).open() as archive:
        facade = Runtime(archive).facade(ensure_user(archive, "auditor", ("admin",)))
        started = time.monotonic()
        unpaced = facade.seals.audit(restart=True)
        alone = time.monotonic() - started
    read = unpaced.run.bytes_hashed
    assert unpaced.run.checked == len(ids) and read > 0
    target = alone + 2.0
    rate = read / 1e6 / target
    with Archive(make_settings(data, fixity_max_mb_per_s=rate), parser_workers=1).open() as archive:
        facade = Runtime(archive).facade(ensure_user(archive, "auditor", ("admin",)))
        started = time.monotonic()
        paced = facade.seals.audit(restart=True)
        took = time.monotonic() - started
    assert paced.run.bytes_hashed == read and paced.run.checked == len(ids)
    assert took >= target * 0.99, (took, target, alone)


def test_sm3_is_compared_on_a_slower_cycle(tampered) -> None:
    """ARCHIVE_FIXITY_SM3_EVERY: every audit compares every file's SHA-256 (the damaged
    original fails each time); SM3 is compared for one contract in N, turning with each
    finished audit, so N audits in a row compare every contract's SM3 exactly once."""
    data, ids = tampered
    with Archive(make_settings(data), parser_workers=1).open() as archive:
        compared: list[list[int]] = []
        for _ in range(2):
            reports: list = []
            summary = run_audit(archive.seal, sm3_every=2, on_report=reports.append)
            assert summary.run.failed == 1 and summary.findings[0].contract_id == ids[1]
            with_sm3 = [r.contract_id for r in reports if r.digests == ("sha256", "sm3")]
            assert summary.sm3_now == len(with_sm3) and summary.checked_now == len(ids)
            assert f"{len(with_sm3)} of the {len(ids)} contracts" in summary.digests()
            for r in reports:
                files = r.check(ORIGINAL).details
                assert files["compared"] == ["size", *r.digests], files
                if r.digests == ("sha256",):
                    assert files["actual"]["sm3"] is None
            compared.append(with_sm3)
        assert sorted(compared[0] + compared[1]) == sorted(ids)  # each once in two audits
        assert len({i % 2 for i in compared[0]}) <= 1  # one slice of the cycle per audit
        full: list = []
        run_audit(archive.seal, sm3_every=2, full=True, on_report=full.append)
        assert all(r.digests == ("sha256", "sm3") for r in full) and len(full) == len(ids)
        with pytest.raises(ConfigurationError, match="at least 1"):
            run_audit(archive.seal, sm3_every=0)


def test_what_is_compared_is_what_can_fail(loaded) -> None:
    """A file whose SM3 (only) differs from the manifest's fails when SM3 is compared and passes,
    saying SM3 was not checked, when it is not: the report never claims what it did not do."""
    data, ids = loaded
    with Archive(make_settings(data), parser_workers=1).open() as archive:
        service = archive.seal

        def wrong_sm3(key: str) -> FileDigest:
            with service.objects.open(key) as fh:
                d = digest_stream(fh)
            return FileDigest(d.size, d.sha256, "0" * 64)

        record = archive.get(ids[0])
        both = verify_contract(service, record, digester=wrong_sm3)
        fast = verify_contract(service, record, digester=wrong_sm3, sm3=False)
    assert both.check(ORIGINAL).status is Status.FAILED
    assert "sm3 differ from the manifest" in both.check(ORIGINAL).reason
    assert fast.check(ORIGINAL).status is Status.PASSED and fast.digests == ("sha256",)
    assert "SM3 not checked" in fast.check(ORIGINAL).reason
    assert fast.to_dict()["digests"] == ["sha256"] and both.to_dict()["digests"] == [
        "sha256",
        "sm3",
    ]


# --- the API -----------------------------------------------------------------------------------
def test_the_verification_route(tampered) -> None:
    data, ids = tampered
    with (
        Archive(make_settings(data), parser_workers=1).open() as archive,
        TestClient(
            create_app(archive), headers=auth_headers(archive), raise_server_exceptions=False
        ) as client,
    ):
        good = client.get(f"/api/v1/contracts/{ids[0]}/verification")
        bad = client.get(f"/api/v1/contracts/{ids[1]}/verification")
        missing = client.get("/api/v1/contracts/999/verification")
    assert good.status_code == 200
    body = good.json()
    assert body["overall"] == "PASSED" and body["seal_state"] == "sealed"
    assert [c["id"] for c in body["checks"]] == list(CHECK_ORDER)
    assert body["timestamp_time"] and body["development_keys"] is True
    assert bad.status_code == 200 and bad.json()["overall"] == Status.FAILED.value
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
