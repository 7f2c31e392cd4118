"""Folders uploaded whole through the web (issue 16: "drag and drop of folders as well as
files"): the upload page sends every file of a chosen or dropped folder with its place below
it (``folder``), and the API reads its folders by the folder rule of ``ingest FOLDER``, so a
cabinet uploaded from the browser gets the same outcome per file (status, customer,
classification, the refusals' reasons) as ``contract-archive ingest`` of it. A PDF in a
``batches`` folder is refused with the way to split it; a path that leaves the folder is a 400.
The browser part runs Debian's chromium (Playwright, the folder chooser: a real
``webkitdirectory`` input given a directory).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect

from services.access.credentials import hash_password
from services.access.service import AccessControl
from services.archive import Archive
from tests.access_helpers import client_as, ensure_user
from tests.browser_support import (
    DESKTOP,
    PASSWORD,
    SESSION,
    LiveServer,
    launch_chromium,
    new_page,
)
from tests.cli_runner import invoke
from tests.conftest import corpus_files, make_settings
from tests.test_intake import PDF
from tests.test_intake_batches import NANJING, image_pdf, raster

ADMIN = {"ARCHIVE_USER": "admin"}


def cabinet(folder: Path) -> dict[str, Path]:
    """A top-level PDF, one in CUSTOMER/CODE/deeper, one under an unknown code, a text file."""
    pdfs = sorted(corpus_files("en-cuad", ".pdf"), key=lambda p: p.stat().st_size)
    files = {
        "top.pdf": pdfs[0],
        "Quokka Ltd/xs/2024/deep.pdf": pdfs[1],
        "Quokka Ltd/NOPE/wrong.pdf": pdfs[2],
    }
    for relative, source in files.items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, folder / relative)
    (folder / "notes.txt").write_text("not a contract\n")
    return {relative: folder / relative for relative in [*files, "notes.txt"]}


def by_title(archive: Archive) -> dict[str, tuple[str | None, str | None]]:
    return {
        r.title: (r.customer, r.classification)
        for r in (archive.get(cid) for cid in archive.records.contract_ids())
    }


EXPECTED = {
    "top.pdf": "archived",
    "Quokka Ltd/xs/2024/deep.pdf": "archived",
    "Quokka Ltd/NOPE/wrong.pdf": "rejected",
    "notes.txt": "rejected",
}


def test_the_api_reads_an_uploaded_folder_as_ingest_reads_it(
    tmp_path: Path, archive: Archive
) -> None:
    files = cabinet(tmp_path / "Cabinet")
    cli = invoke(tmp_path / "cli-var", "ingest", str(tmp_path / "Cabinet"), "--json", "--no-ocr",
                 env=ADMIN)  # fmt: skip
    by_cli = {
        x["file"].removeprefix(str(tmp_path / "Cabinet") + "/"): x
        for x in map(json.loads, cli.stdout.splitlines())
    }
    assert {f: x["status"] for f, x in by_cli.items()} == EXPECTED
    with Archive(make_settings(tmp_path / "cli-var"), parser_workers=1).open() as other:
        ingested = by_title(other)

    with client_as(archive) as api:
        answers = {}
        for relative, path in files.items():
            answers[relative] = api.post(
                "/api/v1/contracts",
                files={"file": (path.name, path.read_bytes())},
                data={"folder": relative},
            )
        status = {
            f: ("rejected" if r.status_code == 422 else r.json()["status"])
            for f, r in answers.items()
        }
        assert status == EXPECTED, {f: r.text for f, r in answers.items()}
        wrong = answers["Quokka Ltd/NOPE/wrong.pdf"].json()["error"]
        assert wrong["message"] == by_cli["Quokka Ltd/NOPE/wrong.pdf"]["reason"]
        assert "'NOPE' is not a code of the classification scheme" in wrong["message"]
        assert answers["notes.txt"].json()["error"]["details"]["format"] == "text"
        # (a classification no folder gives is derived from the terms: the same either way)
        assert by_title(archive) == ingested
        assert ingested["deep"] == ("Quokka Ltd", "XS") and ingested["top"][0] is None

        # What is given wins over the folders, as ingest's options do.
        given = api.post(
            "/api/v1/contracts",
            files={"file": ("given.pdf", PDF.read_bytes())},
            data={"folder": "Quokka Ltd/NOPE/given.pdf", "classification": "CG"},
        )
        assert given.status_code in (200, 201), given.text
        assert given.json()["contract"]["customer"] == "Quokka Ltd"
        # A batch scan in a batches folder: refused with the way to split it.
        box = image_pdf([raster(NANJING, 0, 1)])
        batch = api.post(
            "/api/v1/contracts",
            files={"file": ("box.pdf", box)},
            data={"folder": "Quokka Ltd/batches/box.pdf"},
        )
        assert batch.status_code == 422, batch.text
        error = batch.json()["error"]
        assert error["details"]["format"] == "batch" and "/batches" in error["hint"]
        # A place that leaves the folder.
        escape = api.post(
            "/api/v1/contracts",
            files={"file": ("x.pdf", box)},
            data={"folder": "../outside/x.pdf"},
        )
        assert escape.status_code == 400, escape.text
        assert archive.records.count_contracts() == 3


@pytest.mark.browser
@pytest.mark.slow
def test_a_folder_chosen_in_the_browser_is_uploaded_by_the_folder_rule(tmp_path: Path) -> None:
    cabinet(tmp_path / "Cabinet")
    settings = make_settings(tmp_path / "var")
    with (
        Archive(settings, parser_workers=1).open() as archive,
        LiveServer(archive) as live,
        launch_chromium() as browser,
    ):
        ensure_user(archive, "browser", ("admin",))
        AccessControl.for_archive(archive).store.update_user(
            "browser", {"password_hash": hash_password(PASSWORD)}
        )
        SESSION["url"] = live.url
        errors: list[str] = []
        page = new_page(browser, DESKTOP, errors)
        page.goto(live.url + "/upload")
        page.set_input_files("#folder-files", str(tmp_path / "Cabinet"))
        rows = page.locator("#upload-list li")
        expect(rows).to_have_count(4)
        names = sorted(rows.locator(".file-name").all_inner_texts())
        assert names == sorted(f"Cabinet/{f}" for f in EXPECTED)
        page.get_by_role("button", name="Upload").click()
        expect(page.locator("#upload-list li.status-archived")).to_have_count(2, timeout=90_000)
        expect(page.locator("#upload-list li.status-rejected")).to_have_count(2)
        wrong = page.locator("#upload-list li", has_text="Cabinet/Quokka Ltd/NOPE/wrong.pdf")
        assert "'NOPE' is not a code of the classification scheme" in wrong.inner_text()
        found = by_title(archive)
        assert set(found) == {"top", "deep"} and found["deep"] == ("Quokka Ltd", "XS")
        assert found["top"][0] is None

        # A folder dropped on the zone: the browser hands over directory entries, read in
        # batches (readEntries answers until it has none left). No test can drop a real
        # folder into Chromium, so the entries are made as Chromium gives them.
        pdf = sorted(corpus_files("en-cuad", ".pdf"), key=lambda p: p.stat().st_size)[3]
        page.evaluate(
            """(b64) => {
                const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
                const file = (path, data) => ({
                    isFile: true, isDirectory: false, fullPath: path,
                    file: (ok) => ok(new File([data], path.split("/").pop())),
                });
                const dir = (path, children) => ({
                    isFile: false, isDirectory: true, fullPath: path,
                    createReader: () => {
                        const batches = children.map(c => [c]);  // one entry per answer
                        return { readEntries: (ok) => ok(batches.shift() || []) };
                    },
                });
                const dropped = dir("/Dropped", [
                    dir("/Dropped/Wombat Co", [file("/Dropped/Wombat Co/wombatdrop.pdf", bytes)]),
                    file("/Dropped/readme.txt", new TextEncoder().encode("not a contract")),
                ]);
                const drop = new Event("drop", { bubbles: true, cancelable: true });
                Object.defineProperty(drop, "dataTransfer", { value: {
                    items: [{ webkitGetAsEntry: () => dropped }], files: [],
                } });
                document.getElementById("dropzone").dispatchEvent(drop);
            }""",
            __import__("base64").b64encode(pdf.read_bytes()).decode(),
        )
        expect(rows).to_have_count(6)
        assert "Dropped/Wombat Co/wombatdrop.pdf" in rows.locator(".file-name").all_inner_texts()
        page.get_by_role("button", name="Upload").click()
        expect(page.locator("#upload-list li.status-archived")).to_have_count(3, timeout=90_000)
        expect(page.locator("#upload-list li.status-rejected")).to_have_count(3)
        assert by_title(archive)["wombatdrop"][0] == "Wombat Co"
        # The only console errors: the browser's own lines for the refusals' 422 answers.
        assert [e for e in errors if "status of 422" not in e] == []
