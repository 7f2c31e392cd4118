"""Batch scans in a cabinet folder (issue 16): a PDF in a ``batches`` folder is split at its
separator sheets (one with a QR code, one with a Code 128 barcode) by ``contract-archive ingest
FOLDER`` and by ``contract-archive watch DIR`` alike, so the issue's mixed cabinet (a PDF, a
scan as Group 4 TIFF, a DOCX written by LibreOffice, a sealed OFD, an e-mail with two
attachments and batch scans) gives the same contracts either way (titles, page counts,
customers, classifications, each segment linked to its batch as ``scan_batch``, each
attachment to its message); a batch that cannot be split is rejected whole, with its reason
beside it in the watched folder. ``--split-batches``
takes every PDF of a folder as a batch, in both commands. The mixed cabinet's ``ingest`` and
``watch`` are the installed program as ARCHIVE_USER; the separator sheets and the
``--split-batches`` runs are in-process (tests/cli_runner.py: the same Typer app without the
program's 2 s of CPU at start; tests/test_intake_batches.py runs ``separator`` as the program).
OCR is left queued (``--no-ocr``; the watcher does not wait for it).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ingest.office import find_soffice
from services.archive import Archive
from tests.cli_runner import invoke
from tests.conftest import make_settings
from tests.test_cli import run
from tests.test_intake import PDF, png_bytes, tiff_g4_bytes
from tests.test_intake_batches import CUSTOMER, NANJING, XINJIANG, image_pdf, raster
from tests.test_intake_email import message
from tests.test_intake_ofd import ofd_bytes
from tests.test_intake_office import make_office

ADMIN = {"ARCHIVE_USER": "admin"}


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """A small batch (two sheets made by the installed command, a QR one and a Code 128 one,
    two scanned pages), one of sheets only, and a scan without any sheet."""
    base = tmp_path_factory.mktemp("sheets")
    sheets = {}
    for key, args in (
        ("a", ["--customer", CUSTOMER, "--classification", "xs"]),
        ("b", ["--customer", "Acme Corp", "--code", "code128"]),
    ):
        sheets[key] = base / f"sheet-{key}.pdf"
        r = invoke(base / "var", "separator", *args, "-o", str(sheets[key]), env=ADMIN)
        assert r.returncode == 0, r.stderr
    a, b = (raster(sheets[k], 0, seed=n) for n, k in enumerate("ab"))
    return {
        "box": image_pdf([a, raster(NANJING, 0, 11), b, raster(XINJIANG, 0, 12)]),
        "only-sheets": image_pdf([a, b]),
        "no-sheets": image_pdf([raster(XINJIANG, 1, 13)]),
    }


@pytest.fixture(scope="module")
def docx(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A DOCX written by LibreOffice."""
    if find_soffice() is None:
        pytest.skip("LibreOffice is not installed")
    scratch = tmp_path_factory.mktemp("office")
    return make_office(scratch / "made", scratch / "work", only=("letter.docx",))[
        "letter.docx"
    ].read_bytes()


def cabinet(folder: Path, made: dict[str, bytes], docx: bytes | None = None) -> None:
    """Batch scans in ``batches/``, a PDF and a scan; with ``docx``, the rest of the issue's
    mixed cabinet: the DOCX, a sealed OFD and an e-mail with two attachments."""
    (folder / "batches").mkdir(parents=True)
    shutil.copy(PDF, folder / "contract.pdf")
    (folder / "fax.tif").write_bytes(tiff_g4_bytes("SERVICE CONTRACT"))
    if docx is not None:
        (folder / "offer.docx").write_bytes(docx)
        (folder / "invoice.ofd").write_bytes(ofd_bytes(signed=True))
        attachments = [
            ("schedule.png", png_bytes("DELIVERY SCHEDULE"), "image/png"),
            ("annex.tif", tiff_g4_bytes("ANNEX ONE"), "image/tiff"),
        ]
        (folder / "signed.eml").write_bytes(message(attachments, subject="Signed deal"))
    (folder / "batches" / "box.pdf").write_bytes(made["box"])
    (folder / "batches" / "scan.pdf").write_bytes(made["no-sheets"])
    (folder / "batches" / "only-sheets.pdf").write_bytes(made["only-sheets"])


def contracts(var: Path) -> set[tuple]:
    """What the archive holds: each contract's title, pages, customer, classification and
    the title of its master with the relation."""
    with Archive(make_settings(var), parser_workers=1).open() as archive:
        rows = set()
        for cid in archive.records.contract_ids():
            record = archive.get(cid)
            terms = archive.records.get_terms(cid)
            classification = terms.classification if terms else record.classification
            master = archive.get(terms.master_id).title if terms and terms.master_id else None
            relation = terms.relation if terms else None
            rows.add(
                (record.title, record.page_count, record.customer, classification, master, relation)
            )
        return rows


EXPECTED = {
    ("contract", 15, None, None, None, None),
    ("fax", 1, None, None, None, None),
    ("box", 4, None, None, None, None),  # the batch, kept as evidence
    ("box p.2", 1, CUSTOMER, "XS", "box", "scan_batch"),
    ("box p.4", 1, "Acme Corp", None, "box", "scan_batch"),
    ("scan", 1, None, None, None, None),  # no sheet: one contract
}
MIXED = {
    ("offer", 1, None, None, None, None),
    ("invoice", 2, None, None, None, None),
    ("Signed deal", 1, None, None, None, None),
    ("schedule", 1, None, None, "Signed deal", "annex"),  # attachments: annexes of the message
    ("annex", 1, None, None, "Signed deal", "annex"),
}


def test_a_mixed_cabinet_with_a_batch_is_archived_alike_by_ingest_and_watch(
    made: dict[str, bytes], docx: bytes, tmp_path: Path
) -> None:
    by_ingest = tmp_path / "ingested"
    cabinet(by_ingest, made, docx)
    r = run(tmp_path / "var1", "ingest", str(by_ingest), "--no-ocr", env=ADMIN)
    assert r.returncode == 1, r.stderr  # the batch of sheets only
    assert "only-sheets.pdf: the batch has 2 pages and all are separator sheets" in r.stdout
    ingested = contracts(tmp_path / "var1")

    watched = tmp_path / "watched"
    cabinet(watched, made, docx)
    w = run(tmp_path / "var2", "watch", str(watched), "--once", "--json", "--stable-seconds",
            "0", "--interval", "0.2", env=ADMIN)  # fmt: skip
    assert w.returncode == 1, w.stderr
    lines = {x["file"]: x for x in map(json.loads, w.stdout.splitlines())}
    assert lines["batches/box.pdf"]["moved_to"] == "archived/batches/box.pdf"
    assert [s["pages"] for s in lines["batches/box.pdf"]["segments"]] == ["2", "4"]
    assert lines["batches/only-sheets.pdf"]["status"] == "rejected"
    assert sorted(str(p.relative_to(watched)) for p in watched.rglob("*") if p.is_file()) == [
        "archived/batches/box.pdf",
        "archived/batches/scan.pdf",
        "archived/contract.pdf",
        "archived/fax.tif",
        "archived/invoice.ofd",
        "archived/offer.docx",
        "archived/signed.eml",
        "rejected/batches/only-sheets.pdf",
        "rejected/batches/only-sheets.pdf.reason.txt",
    ]
    reason = (watched / "rejected/batches/only-sheets.pdf.reason.txt").read_text()
    assert reason.startswith("the batch has 2 pages and all are separator sheets")

    assert contracts(tmp_path / "var2") == ingested == EXPECTED | MIXED


def test_split_batches_takes_every_pdf_of_a_folder(made: dict[str, bytes], tmp_path: Path) -> None:
    folder = tmp_path / "loose"
    (folder / "ACME Ltd").mkdir(parents=True)
    (folder / "ACME Ltd" / "box.pdf").write_bytes(made["box"])
    (folder / "fax.tif").write_bytes(tiff_g4_bytes("SERVICE CONTRACT"))

    preview = invoke(tmp_path / "var", "ingest", "--split-batches", "--preview", "--json",
                     str(folder), env=ADMIN)  # fmt: skip
    assert preview.returncode == 0, preview.stderr
    (plan,) = map(json.loads, preview.stdout.splitlines())
    assert plan["preview"] is True and plan["separator_pages"] == [1, 3]
    assert "not a batch" in preview.stderr and "fax.tif" in preview.stderr

    w = invoke(tmp_path / "var", "watch", str(folder), "--split-batches", "--once", "--json",
               "--stable-seconds", "0", "--interval", "0.2", env=ADMIN)  # fmt: skip
    assert w.returncode == 0, w.stderr
    lines = {x["file"]: x for x in map(json.loads, w.stdout.splitlines())}
    assert lines["fax.tif"]["status"] == "archived"
    box = lines["ACME Ltd/box.pdf"]
    assert box["batch"]["status"] == "archived"
    assert [s["result"]["status"] for s in box["segments"]] == ["archived"] * 2
    assert box["moved_to"] == "archived/ACME Ltd/box.pdf"
    assert {row[:3] for row in contracts(tmp_path / "var")} == {
        ("fax", 1, None),
        ("box", 4, None),  # its segments name two customers
        ("box p.2", 1, CUSTOMER),
        ("box p.4", 1, "Acme Corp"),
    }
