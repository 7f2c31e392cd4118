"""Signatures inside uploaded PDFs: every signed PDF of the corpus through ingest, with its verdict.

The deliberately modified ones (the "sneaky" form update, the byte-range anomalies, the changes
made after signing) must never be reported as intact and unmodified. SM2 is INDETERMINATE, a
trusted signature is PASSED, and a validation that takes too long is stopped in the worker.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from services.archive import Archive
from signing.embedded import (
    VERDICT_MODIFIED,
    VERDICT_PERMITTED,
    VERDICT_UNCHECKABLE,
    VERDICT_UNMODIFIED,
    report_from_dict,
)
from signing.report import EMBEDDED, ORIGINAL, Status
from tests.conftest import CORPUS, corpus_files, make_settings
from tests.seal_helpers import as_sm2, make_pki, pem_cert, sign_pdf

SIGNED = corpus_files("signed", ".pdf")
SHORT_EN = next(p for p in corpus_files("en-cuad", ".pdf") if "JOINT FILING" in p.name)

# What each corpus file is, by its makers' account (pyHanko's and qpdf's test suites), and the
# verdict the archive must give. None of the test certificates is trusted.
EXPECTED = {
    # deliberately modified: never intact and unmodified, and FAILED
    "coverage-anomalies_one-byterange.pdf": VERDICT_MODIFIED,
    "coverage-anomalies_tail-uncovered.pdf": VERDICT_MODIFIED,
    "form-update-no-override-appearance-stream-ap-indirect-sneaky.pdf": VERDICT_MODIFIED,
    # changed after the first signature in ways the signature permits (form filling, a second
    # signature, validation data): intact, but not "unmodified"
    "extensions-direct.pdf": VERDICT_PERMITTED,
    "extensions-indirect.pdf": VERDICT_PERMITTED,
    "extensions-update-indirect.pdf": VERDICT_PERMITTED,
    "form-update-original-ap-type-wrong.pdf": VERDICT_PERMITTED,
    "form-update-override-appearance-stream-ap-indirect.pdf": VERDICT_PERMITTED,
    "form-update-override-appearance-stream.pdf": VERDICT_PERMITTED,
    "minimal-signed-twice-no-sig-type.pdf": VERDICT_PERMITTED,
    "minimal-two-fields-signed-twice.pdf": VERDICT_PERMITTED,
    "pades-lta-dss-indirect-arrs-test.pdf": VERDICT_PERMITTED,
    "separate-annots-kids-indir.pdf": VERDICT_PERMITTED,
    # one signature over the whole file, nothing after it
    "certified-with-indirect-refs-in-dir.pdf": VERDICT_UNMODIFIED,
    "ed448-disallowed-hash.pdf": VERDICT_UNMODIFIED,
    "pades-with-old-style-signing-cert-attr.pdf": VERDICT_UNMODIFIED,
    "sig-with-ski-sid.pdf": VERDICT_UNMODIFIED,
    "digitally-signed.pdf": VERDICT_UNMODIFIED,  # qpdf's, with an expired self-signed cert
}
DELIBERATELY_MODIFIED = {n for n, v in EXPECTED.items() if v != VERDICT_UNMODIFIED}


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Archive, dict[str, int]]]:
    settings = make_settings(tmp_path_factory.mktemp("signed") / "var")
    with Archive(settings, parser_workers=2).open() as archive:
        ids = {}
        for path in SIGNED:
            result = archive.ingest_path(path)
            assert result.status == "archived", (path.name, result.reason)
            assert result.id is not None
            ids[path.name] = result.id
        yield archive, ids


def test_every_signed_corpus_file_is_known() -> None:
    assert {p.name for p in SIGNED} == set(EXPECTED)


def test_every_signed_pdf_gets_its_verdict(
    ingested: tuple[Archive, dict[str, int]], capsys: pytest.CaptureFixture[str]
) -> None:
    archive, ids = ingested
    lines = []
    wrong = []
    for name, contract_id in sorted(ids.items()):
        report = archive.seal.verify(contract_id)
        manifest = archive.seal.latest_manifest(archive.get(contract_id))
        assert manifest is not None
        embedded = report_from_dict(manifest[1]["embedded_signatures"])
        check = report.check(EMBEDDED)
        lines.append(f"{name:66} {check.status.value:13} {embedded.verdict}")
        for sig in embedded.signatures:
            lines.append(f"    {sig.field:44} {sig.status.value:13} {sig.reason[:110]}")
        if embedded.verdict != EXPECTED[name]:
            wrong.append(f"{name}: {embedded.verdict!r}, expected {EXPECTED[name]!r}")
        # the check reports exactly what the sealed manifest says
        assert check.status is embedded.status
        # the archive's own checks pass: only the embedded signatures may not
        assert {c.id for c in report.checks if c.status is not Status.PASSED} <= {EMBEDDED}
    with capsys.disabled():  # the list is part of the test output, even when it passes
        print("\nembedded signatures of the corpus (file, check, verdict):\n" + "\n".join(lines))
    assert not wrong, wrong


@pytest.mark.parametrize("name", sorted(DELIBERATELY_MODIFIED))
def test_modified_files_are_never_intact_and_unmodified(
    ingested: tuple[Archive, dict[str, int]], name: str
) -> None:
    archive, ids = ingested
    manifest = archive.seal.latest_manifest(archive.get(ids[name]))
    assert manifest is not None
    report = report_from_dict(manifest[1]["embedded_signatures"])
    assert not report.intact_and_unmodified
    assert not all(s.unmodified for s in report.signatures)
    if EXPECTED[name] == VERDICT_MODIFIED:
        assert report.status is Status.FAILED
        assert archive.seal.verify(ids[name]).overall is Status.FAILED


def test_the_report_keeps_what_the_issue_asks(ingested: tuple[Archive, dict[str, int]]) -> None:
    archive, ids = ingested
    manifest = archive.seal.latest_manifest(archive.get(ids["minimal-two-fields-signed-twice.pdf"]))
    assert manifest is not None
    report = manifest[1]["embedded_signatures"]
    first = report["signatures"][0]
    assert first["signer"]["subject"] and first["signer"]["issuer"] and first["signer"]["serial"]
    assert first["algorithm"]["signature"] == "sha256_rsa"
    assert first["signing_time"].startswith("2021-01-04")
    assert first["timestamp"]["time"].startswith("2021-01-04")  # this one carries a timestamp
    assert first["coverage"] == "ENTIRE_REVISION" and first["modification_level"] == "FORM_FILLING"
    assert first["docmdp_ok"] is True and first["intact"] and first["valid"]
    assert first["trusted"] is False  # the corpus' test certificates are never trusted
    sneaky = archive.seal.latest_manifest(
        archive.get(ids["form-update-no-override-appearance-stream-ap-indirect-sneaky.pdf"])
    )
    assert sneaky is not None
    sig1 = sneaky[1]["embedded_signatures"]["signatures"][0]
    assert sig1["status"] == "FAILED" and sig1["modification_level"] == "OTHER"
    assert sig1["docmdp_ok"] is False and sig1["diff_problem"]


def test_sm2_signatures_are_indeterminate(tmp_path: Path) -> None:
    pki = make_pki("sm2 platform")
    sm2 = tmp_path / "sm2-signed.pdf"
    sm2.write_bytes(as_sm2(sign_pdf(SHORT_EN, pki)))
    with Archive(make_settings(tmp_path / "var"), parser_workers=1).open() as archive:
        result = archive.ingest_path(sm2)
        assert result.status == "archived" and result.id is not None
        report = archive.seal.verify(result.id)
        manifest = archive.seal.latest_manifest(archive.get(result.id))
    assert manifest is not None
    sig = manifest[1]["embedded_signatures"]["signatures"][0]
    assert sig["status"] == "INDETERMINATE"
    assert sig["valid"] is None and sig["trusted"] is None  # never VALID, never INVALID
    assert sig["intact"] is True  # the signed bytes' SHA-256 still matches
    assert "1.2.156.10197.1.501" in sig["reason"] and "SM2" in sig["reason"]
    assert sig["algorithm"]["signature_oid"] == "1.2.156.10197.1.501"
    assert report.check(EMBEDDED).status is Status.INDETERMINATE
    assert report.overall is Status.INDETERMINATE


def test_a_signature_from_a_trusted_root_passes(tmp_path: Path) -> None:
    pki = make_pki("e-sign platform")
    roots = tmp_path / "embedded-roots.pem"
    roots.write_bytes(pem_cert(pki.root))
    signed = tmp_path / "signed.pdf"
    signed.write_bytes(sign_pdf(SHORT_EN, pki))
    settings = make_settings(tmp_path / "var", embedded_trust_anchors_file=roots)
    with Archive(settings, parser_workers=1).open() as archive:
        result = archive.ingest_path(signed)
        assert result.status == "archived" and result.id is not None
        report = archive.seal.verify(result.id)
    check = report.check(EMBEDDED)
    assert check.status is Status.PASSED, check.reason
    sig = check.details["report"]["signatures"][0]
    assert sig["trusted"] is True and sig["unmodified"] is True
    assert check.details["report"]["verdict"] == VERDICT_UNMODIFIED
    assert report.overall is Status.PASSED


def test_without_the_root_the_same_signature_is_untrusted(tmp_path: Path) -> None:
    pki = make_pki("e-sign platform")
    signed = tmp_path / "signed.pdf"
    signed.write_bytes(sign_pdf(SHORT_EN, pki))
    with Archive(make_settings(tmp_path / "var"), parser_workers=1).open() as archive:
        result = archive.ingest_path(signed)
        assert result.id is not None
        check = archive.seal.verify(result.id).check(EMBEDDED)
    assert check.status is Status.INDETERMINATE
    assert "does not chain to a trust anchor" in check.reason


def test_a_validation_that_takes_too_long_is_stopped_and_the_file_archived(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path / "var", signature_timeout_seconds=0.001)
    source = CORPUS / "signed/pyhanko/pades-lta-dss-indirect-arrs-test.pdf"
    with Archive(settings, parser_workers=1).open() as archive:
        result = archive.ingest_path(source)
        assert result.status == "archived" and result.id is not None
        check = archive.seal.verify(result.id).check(EMBEDDED)
        # the worker was replaced: the next file is checked normally
        second = archive.ingest_path(SHORT_EN)
        assert second.status == "archived"
    assert check.status is Status.INDETERMINATE
    assert "ARCHIVE_SIGNATURE_TIMEOUT_SECONDS" in check.reason


def test_a_damaged_signature_dictionary_is_reported_not_fatal(tmp_path: Path) -> None:
    """A signed PDF whose signature container is garbage: archived, INDETERMINATE or FAILED
    with a reason, never a crash and never PASSED."""
    pki = make_pki("damaged")
    data = bytearray(sign_pdf(SHORT_EN, pki))
    start = data.rindex(b"/Contents <") + len(b"/Contents <")
    data[start : start + 40] = b"00" * 20
    damaged = tmp_path / "damaged.pdf"
    damaged.write_bytes(bytes(data))
    with Archive(make_settings(tmp_path / "var"), parser_workers=1).open() as archive:
        result = archive.ingest_path(damaged)
        assert result.status == "archived" and result.id is not None
        check = archive.seal.verify(result.id).check(EMBEDDED)
    assert check.status is not Status.PASSED
    assert check.reason
    json.dumps(check.details)  # plain data


# --- the signature categories, judged as the EU DSS validator judges them -----------------------
# Each file is made here with pyHanko (tests/signed_fixtures.py), signed by a test PKI whose
# roots the archive is told to trust, so a legitimate file is PASSED, not merely intact.
def _categories(tmp: Path) -> tuple[dict[str, tuple[bytes, str]], bytes]:
    from datetime import UTC, datetime, timedelta

    from tests import signed_fixtures as fx

    pki = make_pki("category signer")
    tsa = make_pki(
        "category tsa", purpose="tsa", not_before=datetime.now(UTC) - timedelta(days=1900)
    )
    old = fx.expired_pki("expired signer")
    old_tsa = fx.expired_pki("expired tsa", purpose="tsa")
    base = fx.base_pdf()
    signed = fx.sign(base.data, pki)
    overlaid = fx.base_pdf(with_overlay=True)
    signed_overlaid = fx.sign(overlaid.data, pki)
    valued = fx.base_pdf(field_value="100 EUR")
    prepared = fx.sign(fx.hide_via_refs_prepared(overlaid), pki)
    was_valid = datetime.now(UTC) - timedelta(days=3 * 365 - 100)
    expired = fx.sign(base.data, old, when=was_valid)
    twice = fx.sign(signed, pki, "Signature2")
    files = {
        # legitimate later revisions: intact, changed only as permitted
        "dss-added": (fx.add_dss(signed, pki), VERDICT_PERMITTED),
        "document-timestamp": (fx.doc_timestamp(signed, tsa), VERDICT_PERMITTED),
        "pades-lta-dss-and-timestamps": (
            fx.doc_timestamp(fx.add_dss(fx.doc_timestamp(fx.add_dss(signed, pki), tsa), tsa), tsa),
            VERDICT_PERMITTED,
        ),
        "second-signature": (twice, VERDICT_PERMITTED),
        "two-signatures-three-timestamps": (
            fx.doc_timestamp(fx.doc_timestamp(fx.doc_timestamp(twice, tsa), tsa), tsa),
            VERDICT_PERMITTED,
        ),
        "form-filled": (fx.fill_field(signed, "100 EUR"), VERDICT_PERMITTED),
        "expired-signer-later-timestamp": (
            fx.doc_timestamp(expired, tsa, was_valid + timedelta(days=1)),
            VERDICT_PERMITTED,
        ),
        "expired-signer-no-timestamp": (expired, VERDICT_UNMODIFIED),
        "expired-signer-and-tsa-archive-timestamp-chain": (
            fx.doc_timestamp(
                fx.doc_timestamp(expired, old_tsa, was_valid + timedelta(days=1)), tsa
            ),
            VERDICT_PERMITTED,
        ),
        # content changed after signing, shadow attacks, spoofing: modified after signing
        "isa-page-content-replaced": (fx.add_page_content(signed), VERDICT_MODIFIED),
        "shadow-hide-overlay-rewritten": (
            fx.replace_object(signed_overlaid, overlaid.overlay_id, b""),
            VERDICT_MODIFIED,
        ),
        "shadow-hide-via-refs": (fx.hide_via_refs(prepared, overlaid), VERDICT_MODIFIED),
        "shadow-hide-xref-to-other-object": (
            fx.xref_to_other_object(signed_overlaid, overlaid),
            VERDICT_MODIFIED,
        ),
        "shadow-hide-via-free-entry": (
            fx.hide_via_free_entry(signed_overlaid, overlaid),
            VERDICT_MODIFIED,
        ),
        "shadow-replace-signed-form-value": (
            fx.fill_field(fx.sign(valued.data, pki), "9999 EUR"),
            VERDICT_MODIFIED,
        ),
        "shadow-replace-font": (fx.redefine_font(signed, base.font_id), VERDICT_MODIFIED),
        "shadow-hide-and-replace-page-contents": (
            fx.hide_and_replace_via_object(signed, base),
            VERDICT_MODIFIED,
        ),
        "shadow-hide-and-replace-via-refs": (
            fx.hide_and_replace_via_refs(signed, base),
            VERDICT_MODIFIED,
        ),
        "shadow-hide-and-replace-via-root": (
            fx.hide_and_replace_via_root(signed, base),
            VERDICT_MODIFIED,
        ),
        "shadow-hide-and-replace-via-catalog": (
            fx.hide_and_replace_via_catalog(signed, base),
            VERDICT_MODIFIED,
        ),
        "dss-update-overwriting-content": (
            fx.dss_overwriting_content(signed, base),
            VERDICT_MODIFIED,
        ),
        "usf-no-byterange": (fx.remove_byte_range(signed), VERDICT_MODIFIED),
        "byterange-not-covering-file": (fx.tail_uncovered(signed), VERDICT_MODIFIED),
        "swa-objects-in-byterange-gap": (fx.signature_wrapping(signed, base), VERDICT_MODIFIED),
        "spoof-two-dictionaries-one-byterange": (fx.shared_byte_range(signed), VERDICT_MODIFIED),
        "unsupported-subfilter": (fx.as_subfilter(signed), VERDICT_UNCHECKABLE),
        # a digest algorithm no longer allowed (SHA-1): intact, never trusted
        "sha1-digest": (fx.sign(base.data, pki, md_algorithm="sha1"), VERDICT_UNMODIFIED),
        # pypdf cannot open these: archived all the same
        "unreadable-signed": (fx.damage_trailer(signed), VERDICT_UNCHECKABLE),
        "unreadable-spoof": (fx.damage_trailer(fx.shared_byte_range(signed)), VERDICT_MODIFIED),
    }
    roots = pem_cert(pki.root, tsa.root, old.root, old_tsa.root)
    return files, roots


@pytest.fixture(scope="module")
def categories(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Archive, dict[str, tuple[int, str]]]]:
    tmp = tmp_path_factory.mktemp("categories")
    files, roots = _categories(tmp)
    (tmp / "roots.pem").write_bytes(roots)
    settings = make_settings(tmp / "var", embedded_trust_anchors_file=tmp / "roots.pem")
    with Archive(settings, parser_workers=1).open() as archive:
        ids = {}
        for name, (data, verdict) in files.items():
            path = tmp / f"{name}.pdf"
            path.write_bytes(data)
            result = archive.ingest_path(path)
            assert result.status == "archived", (name, result.reason)
            assert result.id is not None
            ids[name] = (result.id, verdict)
        yield archive, ids


def _embedded(archive: Archive, contract_id: int) -> tuple[Any, Any]:
    manifest = archive.seal.latest_manifest(archive.get(contract_id))
    assert manifest is not None
    return report_from_dict(manifest[1]["embedded_signatures"]), archive.seal.verify(contract_id)


LEGITIMATE = [
    "dss-added",
    "document-timestamp",
    "pades-lta-dss-and-timestamps",
    "second-signature",
    "two-signatures-three-timestamps",
    "form-filled",
]
ATTACKS = [
    "isa-page-content-replaced",
    "shadow-hide-overlay-rewritten",
    "shadow-hide-via-refs",
    "shadow-hide-xref-to-other-object",
    "shadow-hide-via-free-entry",
    "shadow-replace-signed-form-value",
    "shadow-replace-font",
    "shadow-hide-and-replace-page-contents",
    "shadow-hide-and-replace-via-refs",
    "shadow-hide-and-replace-via-root",
    "shadow-hide-and-replace-via-catalog",
    "dss-update-overwriting-content",
    "usf-no-byterange",
    "byterange-not-covering-file",
    "swa-objects-in-byterange-gap",
    "spoof-two-dictionaries-one-byterange",
]


@pytest.mark.parametrize("name", LEGITIMATE)
def test_legitimate_later_revisions_are_changed_only_as_permitted(
    categories: tuple[Archive, dict[str, tuple[int, str]]], name: str
) -> None:
    archive, ids = categories
    embedded, report = _embedded(archive, ids[name][0])
    assert embedded.verdict == VERDICT_PERMITTED, [s.reason for s in embedded.signatures]
    assert embedded.status is Status.PASSED  # every signer's root is trusted here
    assert report.check(EMBEDDED).status is Status.PASSED
    first = embedded.signatures[0]
    assert first.kind == "signature" and not first.unmodified  # never "unmodified"
    assert first.modification_level in ("LTA_UPDATES", "FORM_FILLING")


@pytest.mark.parametrize("name", ATTACKS)
def test_attacks_and_changes_after_signing_are_modified(
    categories: tuple[Archive, dict[str, tuple[int, str]]], name: str
) -> None:
    archive, ids = categories
    embedded, report = _embedded(archive, ids[name][0])
    assert embedded.verdict == VERDICT_MODIFIED, [s.reason for s in embedded.signatures]
    assert embedded.status is Status.FAILED
    assert report.check(EMBEDDED).status is Status.FAILED
    assert report.overall is Status.FAILED
    assert all(s.reason for s in embedded.signatures if s.status is Status.FAILED)


def test_the_attack_reasons_name_the_attack(
    categories: tuple[Archive, dict[str, tuple[int, str]]],
) -> None:
    archive, ids = categories

    def reasons(name: str) -> str:
        return " ".join(s.reason for s in _embedded(archive, ids[name][0])[0].signatures)

    assert "xref manipulation" in reasons("shadow-hide-via-refs")
    assert "xref manipulation" in reasons("shadow-hide-and-replace-via-refs")
    assert "'100 EUR' when signed" in reasons("shadow-replace-signed-form-value")
    assert "share one /ByteRange" in reasons("spoof-two-dictionaries-one-byterange")
    assert "signature wrapping" in reasons("swa-objects-in-byterange-gap")
    assert "/ByteRange" in reasons("usf-no-byterange")
    assert "not part of the DSS" in reasons("dss-update-overwriting-content")
    assert "no longer part of the document" in reasons("shadow-hide-and-replace-via-root")
    assert "freed" in reasons("shadow-hide-via-free-entry")
    assert "/Pages" in reasons("shadow-hide-and-replace-via-catalog")


def test_an_expired_signer_with_a_later_timestamp_is_intact(
    categories: tuple[Archive, dict[str, tuple[int, str]]],
) -> None:
    archive, ids = categories
    embedded, report = _embedded(archive, ids["expired-signer-later-timestamp"][0])
    sig, stamp = embedded.signatures
    assert stamp.kind == "document_timestamp" and stamp.status is Status.PASSED
    assert sig.status is Status.PASSED, sig.reason
    assert sig.proof_of_existence == stamp.timestamp_time
    assert "no longer valid today" in sig.reason
    assert report.check(EMBEDDED).status is Status.PASSED
    # the same signature without the later timestamp: intact, but its certificate has expired
    alone, _ = _embedded(archive, ids["expired-signer-no-timestamp"][0])
    assert alone.verdict == VERDICT_UNMODIFIED
    assert alone.status is Status.INDETERMINATE
    assert alone.signatures[0].trust_problem == "OUT_OF_BOUNDS_NO_POE"
    assert alone.signatures[0].proof_of_existence is None
    # signer and first TSA both expired: the second, current timestamp proves the first, which
    # proves the signature (a PAdES-LTA archive-timestamp chain)
    chain, report = _embedded(archive, ids["expired-signer-and-tsa-archive-timestamp-chain"][0])
    sig, old_stamp, new_stamp = chain.signatures
    assert [s.status for s in chain.signatures] == [Status.PASSED] * 3, [
        s.reason for s in chain.signatures
    ]
    assert old_stamp.proof_of_existence == new_stamp.timestamp_time
    assert sig.proof_of_existence == old_stamp.timestamp_time
    assert new_stamp.proof_of_existence is None
    assert chain.verdict == VERDICT_PERMITTED
    assert report.check(EMBEDDED).status is Status.PASSED


def test_a_signed_pdf_pypdf_cannot_open_is_archived_as_cannot_be_checked(
    categories: tuple[Archive, dict[str, tuple[int, str]]],
) -> None:
    archive, ids = categories
    record = archive.get(ids["unreadable-signed"][0])
    assert record.page_count == 0
    assert any("pypdf cannot read the PDF" in w for w in record.warnings)
    assert any("not a dictionary" in w for w in record.warnings)
    embedded, report = _embedded(archive, record.id)
    assert embedded.verdict.startswith(VERDICT_UNCHECKABLE + ": ")
    assert embedded.problem and "could not be read" in embedded.problem
    assert report.check(EMBEDDED).status is Status.INDETERMINATE
    # the archived bytes are the uploaded bytes
    assert archive.seal.verify(record.id).check(ORIGINAL).status is Status.PASSED


def test_an_unreadable_spoofed_pdf_is_archived_as_modified(
    categories: tuple[Archive, dict[str, tuple[int, str]]],
) -> None:
    archive, ids = categories
    embedded, report = _embedded(archive, ids["unreadable-spoof"][0])
    assert embedded.verdict == VERDICT_MODIFIED
    assert "share one /ByteRange" in embedded.signatures[0].reason
    assert report.check(EMBEDDED).status is Status.FAILED


def test_an_unreadable_pdf_without_signatures_is_still_rejected(tmp_path: Path) -> None:
    from tests import signed_fixtures as fx

    broken = tmp_path / "broken.pdf"
    broken.write_bytes(fx.damage_trailer(fx.base_pdf().data))
    with Archive(make_settings(tmp_path / "var"), parser_workers=1).open() as archive:
        result = archive.ingest_path(broken)
    assert result.status == "rejected"
    assert result.reason is not None and "pypdf cannot read it" in result.reason
    assert "/Encrypt" in result.reason


def test_the_page_of_an_unreadable_signed_pdf_shows_its_verdict(
    categories: tuple[Archive, dict[str, tuple[int, str]]],
) -> None:
    """It has no pages: its contract page still opens, says why, and asks for no page image
    that would fail."""
    from fastapi.testclient import TestClient

    from search_api.app import create_app
    from tests.access_helpers import auth_headers

    archive, ids = categories
    contract_id = ids["unreadable-signed"][0]
    with TestClient(
        create_app(archive), headers=auth_headers(archive), raise_server_exceptions=False
    ) as client:
        r = client.get(f"/contracts/{contract_id}", headers={"accept": "text/html"})
        assert r.status_code == 200, r.text[:500]
        assert "cannot be checked" in r.text
        assert "pypdf cannot read the PDF" in r.text
        image = client.get(f"/contracts/{contract_id}/pages/1.png")
        assert image.status_code < 500
        api = client.get(f"/api/v1/contracts/{contract_id}/verification")
        assert api.status_code == 200
        checks = {c["id"]: c for c in api.json()["checks"]}
        assert checks["embedded_signatures"]["status"] == "INDETERMINATE"


def test_a_signature_format_pyhanko_does_not_validate_is_reported_not_skipped(
    categories: tuple[Archive, dict[str, tuple[int, str]]],
) -> None:
    """``adbe.pkcs7.sha1`` (and ``adbe.x509.rsa_sha1``): pyHanko leaves such signatures out; the
    archive lists them as INDETERMINATE, never as "no embedded signatures" and never as a
    signature the document no longer refers to."""
    archive, ids = categories
    embedded, report = _embedded(archive, ids["unsupported-subfilter"][0])
    assert embedded.verdict == VERDICT_UNCHECKABLE
    (sig,) = embedded.signatures
    assert sig.status is Status.INDETERMINATE
    assert "/adbe.pkcs7.sha1" in sig.reason
    assert report.check(EMBEDDED).status is Status.INDETERMINATE


def test_a_signature_with_a_disallowed_algorithm_is_indeterminate(
    categories: tuple[Archive, dict[str, tuple[int, str]]],
) -> None:
    """SHA-1 digests are no longer allowed for signatures: the signature is intact and its value
    verifies, but it is INDETERMINATE (CRYPTO_CONSTRAINTS_FAILURE, as ETSI EN 319 102-1 and the
    EU DSS validator say), never PASSED, even with its root trusted."""
    archive, ids = categories
    embedded, report = _embedded(archive, ids["sha1-digest"][0])
    assert embedded.verdict == VERDICT_UNMODIFIED
    (sig,) = embedded.signatures
    assert sig.intact and sig.valid and sig.status is Status.INDETERMINATE
    assert sig.trust_problem == "CRYPTO_CONSTRAINTS_FAILURE"
    assert "algorithm" in sig.reason
    assert report.check(EMBEDDED).status is Status.INDETERMINATE
