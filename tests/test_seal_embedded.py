"""Signatures inside uploaded PDFs: every signed PDF of the corpus through ingest, with its verdict.

The deliberately modified ones (the "sneaky" form update, the byte-range anomalies, the changes
made after signing) must never be reported as intact and unmodified. SM2 is INDETERMINATE, a
trusted signature is PASSED, and a validation that takes too long is stopped in the worker.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.archive import Archive
from signing.embedded import (
    VERDICT_MODIFIED,
    VERDICT_PERMITTED,
    VERDICT_UNMODIFIED,
    report_from_dict,
)
from signing.report import EMBEDDED, Status
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
