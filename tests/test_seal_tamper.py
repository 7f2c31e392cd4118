"""Verification and its tamper twins: one changed byte in storage fails exactly its check.

Every check has a twin that changes one byte where that check looks (the original, the text,
the manifest, the seal's signed attributes, the timestamp token) and asserts that exactly that
check is FAILED and that the overall result is FAILED. Time is frozen (time-machine) where a
certificate's validity matters.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine
from asn1crypto import cms

from core.settings import Settings
from services.archive import Archive
from signing.report import (
    CHECK_ORDER,
    DERIVED,
    EMBEDDED,
    ORIGINAL,
    RECORD,
    SEAL_CERTIFICATE,
    SEAL_SIGNATURE,
    TIMESTAMP,
    Status,
)
from tests.conftest import corpus_files, make_settings
from tests.seal_helpers import flip_byte, replace_byte

CUAD = corpus_files("en-cuad", ".pdf")
SHORT_EN = next(p for p in CUAD if "JOINT FILING" in p.name)


@pytest.fixture(scope="module")
def sealed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, int]]:
    """An archive with one sealed contract, copied fresh for every test that changes it."""
    settings = make_settings(tmp_path_factory.mktemp("sealed") / "var")
    with Archive(settings, parser_workers=1).open() as archive:
        result = archive.ingest_path(SHORT_EN, customer="Atento", title="Joint filing")
        assert result.status == "archived", result
        assert result.id is not None
        yield settings, result.id


@pytest.fixture
def copy(sealed: tuple[Settings, int], tmp_path: Path) -> Iterator[tuple[Archive, int]]:
    settings, contract_id = sealed
    target = tmp_path / "var"
    shutil.copytree(settings.data_dir, target, symlinks=True)
    with Archive(make_settings(target), parser_workers=1).open() as archive:
        yield archive, contract_id


def stored(archive: Archive, contract_id: int, name: str) -> Path:
    record = archive.get(contract_id)
    return archive.settings.objects_dir / "packages" / record.sha256[:2] / record.sha256 / name


def statuses(archive: Archive, contract_id: int) -> dict[str, Status]:
    return {c.id: c.status for c in archive.seal.verify(contract_id).checks}


def test_an_untouched_package_passes_every_check(copy: tuple[Archive, int]) -> None:
    archive, cid = copy
    report = archive.seal.verify(cid)
    assert [c.id for c in report.checks] == list(CHECK_ORDER)
    assert {c.id: c.status for c in report.checks} == dict.fromkeys(CHECK_ORDER, Status.PASSED)
    assert report.overall is Status.PASSED
    assert report.seal_state == "sealed" and report.manifest_version == 1
    assert report.timestamp_time is not None
    assert abs((datetime.now(UTC) - report.timestamp_time).total_seconds()) < 3600
    assert report.development_keys and "DEVELOPMENT" in report.warnings[0]
    assert report.summary().startswith(f"contract {cid}: PASSED")
    assert "[development keys]" in report.summary()
    original = report.check(ORIGINAL)
    assert original.details["actual"]["sha256"] == archive.get(cid).sha256
    assert report.check(EMBEDDED).reason == "the original carries no embedded signatures"


def _signing_time_offset(p7s: bytes) -> int:
    """The offset of a digit of the signing-time inside the seal's signed attributes."""
    signer = cms.ContentInfo.load(p7s)["content"]["signer_infos"][0]
    attr = next(a for a in signer["signed_attrs"] if a["type"].native == "signing_time")
    encoded = attr.dump()
    at = p7s.index(encoded)
    return at + len(encoded) - 3  # a digit of the seconds


def _gen_time_offset(p7s: bytes) -> int:
    """The offset of a digit of the timestamp's genTime inside the seal."""
    signer = cms.ContentInfo.load(p7s)["content"]["signer_infos"][0]
    token = signer["unsigned_attrs"][0]["values"][0]
    info = token["content"]["encap_content_info"]["content"].parsed
    encoded = info["gen_time"].dump()
    at = p7s.index(encoded)
    return at + 2 + 10  # inside the digits of YYYYMMDDHHMMSS


def _issued_at_offset(manifest: bytes) -> int:
    key = b'"issued_at":"'
    return manifest.index(key) + len(key) + 3  # a digit of the year


TWINS = {
    # the byte to change: (file, how to find the offset)
    "original": ("original", ORIGINAL, lambda data: len(data) // 2),
    "text": ("text.v1.json", DERIVED, lambda data: data.index(b"JOINT") + 1),
    "manifest": ("manifest.v1.json", SEAL_SIGNATURE, _issued_at_offset),
    "seal": ("manifest.v1.p7s", SEAL_SIGNATURE, _signing_time_offset),
    "timestamp": ("manifest.v1.p7s", TIMESTAMP, _gen_time_offset),
}


@pytest.mark.parametrize("what", list(TWINS))
def test_one_changed_byte_fails_exactly_its_check(copy: tuple[Archive, int], what: str) -> None:
    archive, cid = copy
    name, check_id, where = TWINS[what]
    path = stored(archive, cid, name)
    flip_byte(path, where(path.read_bytes()))
    report = archive.seal.verify(cid)
    failed = [c.id for c in report.checks if c.status is Status.FAILED]
    assert failed == [check_id], report.summary()
    assert report.overall is Status.FAILED
    # Nothing else is called PASSED that depends on what failed; the rest still passes.
    others = {c.id: c.status for c in report.checks if c.id != check_id}
    if what == "timestamp":
        # the time of sealing is no longer proven: the certificate check cannot conclude
        assert others.pop(SEAL_CERTIFICATE) is Status.INDETERMINATE
    if what in ("manifest", "seal"):
        assert others.pop(SEAL_CERTIFICATE) is Status.INDETERMINATE
    assert set(others.values()) == {Status.PASSED}, report.summary()


def test_a_manifest_that_is_no_longer_json(copy: tuple[Archive, int]) -> None:
    archive, cid = copy
    replace_byte(stored(archive, cid, "manifest.v1.json"), 0, ord("["))
    s = statuses(archive, cid)
    assert s[SEAL_SIGNATURE] is Status.FAILED
    assert s[ORIGINAL] is Status.INDETERMINATE and s[RECORD] is Status.INDETERMINATE
    assert [k for k, v in s.items() if v is Status.FAILED] == [SEAL_SIGNATURE]


@pytest.mark.parametrize(
    ("name", "check_id"),
    [
        ("original", ORIGINAL),
        ("text.v1.json", DERIVED),
        ("manifest.v1.json", SEAL_SIGNATURE),
        ("manifest.v1.p7s", SEAL_SIGNATURE),
    ],
)
def test_a_missing_file_fails(copy: tuple[Archive, int], name: str, check_id: str) -> None:
    archive, cid = copy
    stored(archive, cid, name).unlink()
    report = archive.seal.verify(cid)
    assert report.check(check_id).status is Status.FAILED
    assert "missing" in report.check(check_id).reason
    assert report.overall is Status.FAILED


def test_a_file_the_manifest_does_not_list_is_not_proven(copy: tuple[Archive, int]) -> None:
    archive, cid = copy
    extra = stored(archive, cid, "searchable.v1.pdf")
    extra.write_bytes(b"%PDF-1.7 not sealed")
    check = archive.seal.verify(cid).check(DERIVED)
    assert check.status is Status.INDETERMINATE
    assert "searchable.v1.pdf" in check.reason


def test_the_record_must_agree_with_the_manifest(copy: tuple[Archive, int]) -> None:
    archive, cid = copy
    from sqlalchemy import update

    from storage.records.models import Contract

    with archive.records._write_engine.begin() as conn:  # type: ignore[attr-defined]
        conn.execute(update(Contract).where(Contract.id == cid).values(title="Forged title"))
    report = archive.seal.verify(cid)
    assert [c.id for c in report.checks if c.status is Status.FAILED] == [RECORD]
    assert report.check(RECORD).details["differences"]["title"] == {
        "record": "Forged title",
        "manifest": "Joint filing",
    }


def test_trusting_other_anchors_makes_the_chain_indeterminate(
    sealed: tuple[Settings, int], tmp_path: Path
) -> None:
    """Verified where only another root is trusted (a copy of the package on a machine with
    other keys), the seal is intact but its certificate and TSA are not trusted."""
    settings, cid = sealed
    target = tmp_path / "var"
    shutil.copytree(settings.data_dir, target, symlinks=True)
    shutil.rmtree(target / "keys")  # new development keys: a new, different root
    with Archive(make_settings(target), parser_workers=1).open() as archive:
        s = statuses(archive, cid)
    assert s[SEAL_SIGNATURE] is Status.PASSED
    assert s[SEAL_CERTIFICATE] is Status.INDETERMINATE
    assert s[TIMESTAMP] is Status.INDETERMINATE


def test_a_seal_stays_valid_after_its_certificate_expires(copy: tuple[Archive, int]) -> None:
    """The seal certificate is checked at the timestamp time, not at the time of checking."""
    archive, cid = copy
    not_after = archive.seal.keys.seal_cert.not_valid_after_utc
    with time_machine.travel(not_after.replace(year=not_after.year + 5), tick=False):
        report = archive.seal.verify(cid)
    assert report.check(SEAL_CERTIFICATE).status is Status.PASSED
    assert report.overall is Status.PASSED


def test_no_seal_is_made_with_an_expired_certificate(tmp_path: Path) -> None:
    """Past the seal certificate's end the contract is archived and its seal waits, pending."""
    settings = make_settings(tmp_path / "var")
    with Archive(settings, parser_workers=1).open() as archive:
        not_after = archive.seal.keys.seal_cert.not_valid_after_utc
        with time_machine.travel(not_after.replace(year=not_after.year + 1), tick=False):
            result = archive.ingest_path(SHORT_EN)
            assert result.status == "archived" and result.id is not None
            assert any("seal pending" in w and "not valid now" in w for w in result.warnings)
            report = archive.seal.verify(result.id)
    assert report.seal_state == "pending"
    assert report.overall is Status.INDETERMINATE
    assert report.check(SEAL_SIGNATURE).details["pending"] is True


def test_a_seal_stamped_after_its_certificate_expired_fails() -> None:
    """A seal whose timestamp is later than the seal certificate's end: FAILED, and only the
    certificate check (the signature and the timestamp themselves are fine)."""
    from datetime import timedelta

    from signing.keys import SealKeys
    from signing.seal import Sealer
    from signing.sealcheck import check_seal
    from signing.timestamp import DevelopmentTimeStampAuthority
    from tests.seal_helpers import make_pki

    seal = make_pki("short-lived", leaf_days=2)
    tsa = make_pki("long-lived", purpose="tsa")

    class Later(datetime):
        @classmethod
        def now(cls, tz: object = None) -> Later:  # type: ignore[override]
            moment = datetime.now(UTC) + timedelta(days=30)
            return cls.fromtimestamp(moment.timestamp(), tz=UTC)

    keys = SealKeys(
        seal_cert=seal.leaf,
        seal_key=seal.leaf_key,
        chain=(seal.root,),
        anchors=(seal.root, tsa.root),
        development=False,
        location="test",
    )
    stamper = DevelopmentTimeStampAuthority(tsa.leaf, tsa.leaf_key, (tsa.root,), clock=Later)
    p7s = Sealer(keys, stamper).seal(b'{"a":1}').p7s
    result = check_seal(b'{"a":1}', p7s, keys.anchors)
    assert result.signature.status is Status.PASSED
    assert result.timestamp.status is Status.PASSED
    assert result.certificate.status is Status.FAILED
    assert "was not valid at the timestamp time" in result.certificate.reason


def test_the_report_is_json_with_every_check(copy: tuple[Archive, int]) -> None:
    archive, cid = copy
    data = json.loads(json.dumps(archive.seal.verify(cid).to_dict()))
    assert data["overall"] == "PASSED"
    assert [c["id"] for c in data["checks"]] == list(CHECK_ORDER)
    assert all(c["status"] in ("PASSED", "FAILED", "INDETERMINATE") for c in data["checks"])
    assert all(c["reason"] for c in data["checks"])
    assert data["development_keys"] is True
