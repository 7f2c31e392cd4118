"""The manifest, the keys and the sealing service: development and production keys, an external
TSA over HTTP, pending seals when the TSA is down, new manifest versions when a package changes."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import ConfigurationError
from services.archive import Archive
from signing.canonical import canonical_json, check_stream, digest_bytes, digest_stream
from signing.keys import load_or_create_development_keys
from signing.manifest import MANIFEST_SCHEMA, parse_manifest
from signing.report import ORIGINAL, SEAL_SIGNATURE, TIMESTAMP, Status
from storage.objects.base import package_key
from storage.records.base import NewContract, PageRecord
from tests.conftest import corpus_files, make_settings
from tests.seal_helpers import Pki, closed_port, http_tsa, make_pki, pem_cert, pem_key

SHORT_EN = next(p for p in corpus_files("en-cuad", ".pdf") if "JOINT FILING" in p.name)
ZH = next(p for p in corpus_files("zh", ".pdf") if "肇新" in p.name)


# --- canonical JSON and digests -----------------------------------------------------------------
def test_canonical_json_follows_rfc_8785() -> None:
    # RFC 8785 §3.2.3: keys sorted by UTF-16 code units; no whitespace; minimal escapes
    # (UTF-16 order puts U+1F600, a surrogate pair D83D DE00, before U+FB33: code point
    # order would not)
    value = {"b": 1, "a": [True, None, "合同"], "\ufb33": 4, "\U0001f600": 3, "\u20ac": 2}
    assert canonical_json(value) == (
        '{"a":[true,null,"合同"],"b":1,"\u20ac":2,"\U0001f600":3,"\ufb33":4}'.encode()
    )
    assert canonical_json({"z": 1.5e-7, "e": "\u000f\n"}) == b'{"e":"\\u000f\\n","z":1.5e-7}'
    assert canonical_json({"n": 100000000000000000000.0}) == b'{"n":100000000000000000000}'


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=60, deadline=None)
@given(json_values)
def test_canonical_json_is_a_fixed_point(value: object) -> None:
    once = canonical_json(value)
    assert canonical_json(json.loads(once)) == once
    assert json.loads(once) == value


def test_sm3_and_sha256_known_answers() -> None:
    d = digest_bytes(b"abc")  # GB/T 32905-2016 example 1
    assert d.sm3 == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    assert d.sha256 == hashlib.sha256(b"abc").hexdigest() and d.size == 3
    data = os.urandom(3 * 1024 * 1024 + 17)
    assert digest_stream(io.BytesIO(data)) == digest_bytes(data)
    # the fixity audit's SHA-256-only pass reads the same bytes to the same size and SHA-256
    full, fast = check_stream(io.BytesIO(data)), check_stream(io.BytesIO(data), sm3=False)
    assert (full.size, full.sha256, full.sm3) == (
        len(data),
        digest_bytes(data).sha256,
        digest_bytes(data).sm3,
    )
    assert (fast.size, fast.sha256, fast.sm3) == (full.size, full.sha256, None)


def test_memoised_name_preparation_agrees_with_asn1crypto() -> None:
    """signing.sealcheck memoises asn1crypto's RFC 4518 preparation of certificate names (a
    third of a seal check's CPU): it must give exactly what asn1crypto gives, errors included."""
    from asn1crypto import x509 as asn1_x509

    import signing.sealcheck  # noqa: F401  (installs the memo)

    cls = asn1_x509.NameTypeAndValue
    assert cls._prep_memoised
    for name in (
        "  Acme   Seal  ",
        "ÄÖÜ straße",
        "测试 有限公司",
        "ＦＵＬＬ\u00adwidth",
        "",
        "a\u200bb",
    ):
        assert cls._ldap_string_prep(None, name) == cls._prep_unmemoised(None, name), name
        assert cls._ldap_string_prep(None, name) == cls._ldap_string_prep(None, name)
    for bad in ("x\ue000y", "x\u0378y", "x\ufffey"):  # private use, unassigned, non-character
        with pytest.raises(ValueError) as memoised:
            cls._ldap_string_prep(None, bad)
        with pytest.raises(ValueError) as plain:
            cls._prep_unmemoised(None, bad)
        assert str(memoised.value) == str(plain.value)


# --- the manifest --------------------------------------------------------------------------------
def test_the_manifest_holds_enough_to_rebuild_the_record(archive: Archive) -> None:
    result = archive.ingest_path(
        ZH, customer="青岛木门有限公司", title="销售合同", user="local:alice"
    )
    assert result.status == "archived" and result.id is not None
    record = archive.get(result.id)
    data = archive.seal.read(package_key(record.sha256, "manifest.v1.json"))
    assert canonical_json(json.loads(data)) == data  # stored in canonical form
    m = parse_manifest(data)
    assert m["schema"] == MANIFEST_SCHEMA and m["schema_version"] == 1
    assert m["seal"]["key_id"] == archive.seal.keys.key_id
    assert m["ingest"] == {
        "time": record.created_at.isoformat().replace("+00:00", "Z"),
        "user": "local:alice",
        "source_filename": ZH.name,
    }
    files = {f["name"]: f for f in m["files"]}
    original = ZH.read_bytes()
    assert files["original"]["sha256"] == hashlib.sha256(original).hexdigest()
    assert files["original"]["sm3"] == hashlib.new("sm3", original).hexdigest()
    assert files["original"]["size"] == len(original)
    assert files["text.v1.json"]["sha256"] == record.text_sha256
    assert m["embedded_signatures"]["verdict"] == "no embedded signatures"
    # what `recover` needs: the record rebuilt from the manifest alone equals the record
    c = m["contract"]
    rebuilt = NewContract(
        id=c["id"],
        sha256=c["sha256"],
        size=c["size"],
        content_type=c["content_type"],
        filename=c["filename"],
        title=c["title"],
        customer=c["customer"],
        page_count=c["page_count"],
        ingested_by=c["ingested_by"],
        original_key=package_key(c["sha256"], "original"),
        text_key=package_key(c["sha256"], c["text_file"]),
        text_sha256=files[c["text_file"]]["sha256"],
        pages=[
            PageRecord(
                page_no=p["page"],
                text_source=p["text_source"],
                chars=p["chars"],
                needs_ocr=p["needs_ocr"],
                ocr_status=p["ocr_status"],
                ocr_confidence=p["ocr_confidence"],
                ocr_error=p["ocr_error"],
            )
            for p in c["pages"]
        ],
        warnings=c["warnings"],
        classification=c["classification"],
    )
    for field in (
        "sha256", "size", "content_type", "filename", "title", "customer", "page_count",
        "ingested_by", "original_key", "text_key", "text_sha256", "classification",
    ):  # fmt: skip
        assert getattr(rebuilt, field) == getattr(record, field), field
    assert tuple(rebuilt.pages) == record.pages and tuple(rebuilt.warnings) == record.warnings


def test_a_package_change_issues_a_new_sealed_version(archive: Archive) -> None:
    result = archive.ingest_path(SHORT_EN)
    assert result.id is not None
    record = archive.get(result.id)
    archive.package_changed(result.id)  # nothing changed: no new version
    assert [r.version for r in archive.seal.seals.manifests(result.id)] == [1]
    copy = b"%PDF-1.7\n% a searchable copy\n"
    archive.objects.put(package_key(record.sha256, "searchable.v1.pdf"), io.BytesIO(copy))
    archive.package_changed(result.id)
    rows = archive.seal.seals.manifests(result.id)
    assert [(r.version, r.state) for r in rows] == [(1, "sealed"), (2, "sealed")]
    v1 = archive.seal.read(rows[0].manifest_key)
    v2 = parse_manifest(archive.seal.read(rows[1].manifest_key))
    assert v2["previous"] == {
        "version": 1,
        "file": "manifest.v1.json",
        "sha256": hashlib.sha256(v1).hexdigest(),
    }
    searchable = next(f for f in v2["files"] if f["name"] == "searchable.v1.pdf")
    assert searchable["role"] == "searchable" and searchable["size"] == len(copy)
    report = archive.seal.verify(result.id)
    assert report.manifest_version == 2 and report.overall is Status.PASSED, report.summary()


# --- development keys ----------------------------------------------------------------------------
def test_development_keys_are_private_and_stable(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings_ = make_settings(tmp_path / "var")
    with caplog.at_level(logging.WARNING), Archive(settings_, parser_workers=1).open() as a:
        first = a.seal.keys.key_id
    assert "DEVELOPMENT SEAL KEYS IN USE" in caplog.text
    keys = settings_.keys_dir
    assert keys.stat().st_mode & 0o777 == 0o700
    for name in ("root.key", "seal.key", "tsa.key"):
        assert (keys / name).stat().st_mode & 0o777 == 0o600
    caplog.clear()
    with caplog.at_level(logging.WARNING), Archive(settings_, parser_workers=1).open() as a:
        assert a.seal.keys.key_id == first  # the same keys on the next start
        assert a.seal.keys.development
    assert "DEVELOPMENT SEAL KEYS IN USE" in caplog.text  # and the warning on every start


def test_two_processes_starting_at_once_get_the_same_keys(tmp_path: Path) -> None:
    directory = tmp_path / "keys"
    ids: list[str] = []
    barrier = threading.Barrier(4)

    def start() -> None:
        barrier.wait()
        ids.append(load_or_create_development_keys(directory).key_id)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(ids) == 4 and len(set(ids)) == 1
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".keys-")]


# --- production keys and an external TSA ----------------------------------------------------------
@pytest.fixture
def production(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Production key files (the key encrypted, its passphrase in the environment) and the
    roots of the seal and of a TSA; the TSA's own key material is at ``TSA[tmp_path]``."""
    seal = make_pki("Example Co seal")
    tsa = make_pki("Example TSA", purpose="tsa")
    files = {
        "key": tmp_path / "seal.key",
        "cert": tmp_path / "seal.pem",
        "chain": tmp_path / "chain.pem",
        "anchors": tmp_path / "anchors.pem",
    }
    files["key"].write_bytes(pem_key(seal.leaf_key, b"correct horse"))
    files["cert"].write_bytes(pem_cert(seal.leaf))
    files["chain"].write_bytes(pem_cert(seal.root))
    files["anchors"].write_bytes(pem_cert(seal.root, tsa.root))
    monkeypatch.setenv("ARCHIVE_SEAL_KEY_PASSPHRASE", "correct horse")
    TSA[tmp_path] = tsa
    return files


TSA: dict[Path, Pki] = {}


def _prod_settings(tmp_path: Path, files: dict[str, Path], tsa_url: str) -> object:
    from core.settings import Settings

    return Settings(  # passphrase from the environment, the rest explicit
        data_dir=tmp_path / "var",
        seal_key_file=files["key"],
        seal_cert_file=files["cert"],
        seal_chain_file=files["chain"],
        trust_anchors_file=files["anchors"],
        tsa_url=tsa_url,
        _env_file=None,  # type: ignore[call-arg]
    )


def test_production_keys_and_an_external_tsa(tmp_path: Path, production: dict[str, Path]) -> None:
    with http_tsa(TSA[tmp_path]) as url:
        settings_ = _prod_settings(tmp_path, production, url)
        with Archive(settings_, parser_workers=1).open() as archive:  # type: ignore[arg-type]
            assert not archive.seal.keys.development
            assert not (tmp_path / "var" / "keys").exists()  # no development keys made
            result = archive.ingest_path(SHORT_EN)
            assert result.status == "archived" and result.id is not None
            report = archive.seal.verify(result.id)
    assert report.overall is Status.PASSED, report.summary()
    assert not report.development_keys and report.warnings == ()
    assert "Example TSA" in report.check(TIMESTAMP).reason


def test_a_pkcs12_seal_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The seal key, its certificate and chain in one PKCS#12 file, the passphrase from the
    environment, timestamps from an external TSA over HTTP."""
    from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12
    from pydantic import SecretStr

    from core.settings import Settings

    seal = make_pki("PKCS12 seal")
    tsa = make_pki("PKCS12 TSA", purpose="tsa")
    p12 = tmp_path / "seal.p12"
    p12.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"seal", seal.leaf_key, seal.leaf, [seal.root], BestAvailableEncryption(b"pw")
        )
    )
    anchors = tmp_path / "anchors.pem"
    anchors.write_bytes(pem_cert(seal.root, tsa.root))
    monkeypatch.setenv("ARCHIVE_SEAL_KEY_PASSPHRASE", "pw")

    # the development TSA is refused with a production key: an external one is required
    without_tsa = Archive(
        Settings(
            data_dir=tmp_path / "var", seal_key_file=p12, trust_anchors_file=anchors, _env_file=None
        ),  # type: ignore[call-arg]
        parser_workers=1,
    )
    try:
        with pytest.raises(ConfigurationError, match="ARCHIVE_TSA_URL is required"):
            without_tsa.open()
    finally:
        without_tsa.close()

    with http_tsa(tsa) as url:
        settings_ = Settings(
            data_dir=tmp_path / "var",
            seal_key_file=p12,
            trust_anchors_file=anchors,
            tsa_url=url,
            _env_file=None,
        )  # type: ignore[call-arg]
        with Archive(settings_, parser_workers=1).open() as archive:
            assert not archive.seal.keys.development
            result = archive.ingest_path(SHORT_EN)
            assert result.status == "archived" and result.id is not None
            report = archive.seal.verify(result.id)
    assert report.overall is Status.PASSED, report.summary()
    assert "PKCS12 seal" in report.check("seal_certificate").reason
    assert "PKCS12 TSA" in report.check(TIMESTAMP).reason
    wrong_pw = settings_.model_copy(update={"seal_key_passphrase": SecretStr("wrong")})
    wrong = Archive(wrong_pw, parser_workers=1)
    try:
        with pytest.raises(ConfigurationError, match="cannot be opened"):
            wrong.open()
    finally:
        wrong.close()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"trust_anchors_file": None}, "ARCHIVE_TRUST_ANCHORS_FILE is required"),
        ({"tsa_url": None}, "ARCHIVE_TSA_URL is required"),
        ({"seal_cert_file": "missing"}, "cannot be read"),
        ({"seal_cert_file": "other"}, "does not belong to the seal key"),
        ({"passphrase": "wrong"}, "cannot be read"),
        ({"passphrase": None}, "is encrypted and no passphrase was given"),
    ],
)
def test_bad_production_settings_stop_the_start(
    tmp_path: Path,
    production: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
    change: dict[str, object],
    message: str,
) -> None:
    from core.settings import Settings

    values: dict[str, object] = {
        "data_dir": tmp_path / "var",
        "seal_key_file": production["key"],
        "seal_cert_file": production["cert"],
        "trust_anchors_file": production["anchors"],
        "tsa_url": "http://127.0.0.1:9/",
    }
    for key, value in change.items():
        if key == "passphrase":
            if value is None:
                monkeypatch.delenv("ARCHIVE_SEAL_KEY_PASSPHRASE")
            else:
                monkeypatch.setenv("ARCHIVE_SEAL_KEY_PASSPHRASE", str(value))
        elif value == "missing":
            values[key] = tmp_path / "nope.pem"
        elif value == "other":
            other = tmp_path / "other.pem"
            other.write_bytes(pem_cert(make_pki("someone else").leaf))
            values[key] = other
        else:
            values[key] = value
    archive = Archive(Settings(**values, _env_file=None), parser_workers=1)  # type: ignore[arg-type]
    try:
        with pytest.raises(ConfigurationError, match=message):
            archive.open()
    finally:
        archive.close()


# --- a TSA that cannot be reached: archived, seal pending, sealed later ---------------------------
def test_unreachable_tsa_leaves_the_seal_pending_then_seal_pending_seals(tmp_path: Path) -> None:
    down = make_settings(
        tmp_path / "var", tsa_url=f"http://127.0.0.1:{closed_port()}/tsa", tsa_timeout_seconds=2
    )
    with Archive(down, parser_workers=1).open() as archive:
        result = archive.ingest_path(SHORT_EN)
        assert result.status == "archived" and result.id is not None
        assert any(w.startswith("seal pending:") for w in result.warnings)
        row = archive.seal.seals.latest_manifest(result.id)
        assert row is not None and row.state == "pending"
        assert "time-stamping authority" in (row.reason or "")
        report = archive.seal.verify(result.id)
        assert report.seal_state == "pending" and report.overall is Status.INDETERMINATE
        assert report.check(ORIGINAL).status is Status.PASSED  # the digests are still checked
        assert "pending" in report.check(SEAL_SIGNATURE).reason
        assert not archive.objects.exists(package_key(result.sha256 or "", "manifest.v1.p7s"))
        # still down: `seal --pending` keeps it pending, with the reason
        summary = archive.seal.seal_pending()
        assert summary.sealed == 0 and summary.still_pending == 1
    with Archive(make_settings(tmp_path / "var"), parser_workers=1).open() as archive:
        summary = archive.seal.seal_pending()
        assert (summary.sealed, summary.still_pending) == (1, 0)
        report = archive.seal.verify(result.id)
        assert report.overall is Status.PASSED, report.summary()


def test_a_manifest_changed_while_pending_is_not_sealed(tmp_path: Path) -> None:
    from tests.seal_helpers import flip_byte

    down = make_settings(tmp_path / "var", tsa_url=f"http://127.0.0.1:{closed_port()}/tsa")
    with Archive(down, parser_workers=1).open() as archive:
        result = archive.ingest_path(SHORT_EN)
        assert result.id is not None and result.sha256 is not None
        path = archive.settings.objects_dir / package_key(result.sha256, "manifest.v1.json")
        flip_byte(path, 40)
    with Archive(make_settings(tmp_path / "var"), parser_workers=1).open() as archive:
        summary = archive.seal.seal_pending()
        assert summary.sealed == 0 and summary.still_pending == 1
        assert "no longer matches" in summary.failures[0]
        report = archive.seal.verify(result.id)
        assert report.check(SEAL_SIGNATURE).status is Status.FAILED


def test_seal_pending_issues_manifests_for_contracts_without_one(archive: Archive) -> None:
    result = archive.ingest_path(SHORT_EN)
    assert result.id is not None and result.sha256 is not None
    # as if archived before sealing existed: no manifest row and no manifest object
    row = archive.seal.seals.latest_manifest(result.id)
    assert row is not None
    archive.seal.seals.delete_manifest(result.id, 1)
    for name in ("manifest.v1.json", "manifest.v1.p7s"):
        archive.objects.delete(package_key(result.sha256, name))
    before = archive.seal.verify(result.id)
    assert before.overall is Status.INDETERMINATE and before.seal_state == "missing"
    summary = archive.seal.seal_pending()
    assert (summary.issued, summary.sealed) == (1, 1)
    after = archive.seal.verify(result.id)
    assert after.overall is Status.PASSED
    assert after.check("embedded_signatures").status is Status.PASSED  # validated afresh
