"""The archive's time zone (``ARCHIVE_TIMEZONE``, issue 18: "times use the server's time zone
setting and are shown in the user's"): which day it is decides what is overdue and expiring, the
command line writes times in the archive's zone, and pages show them in the reader's own zone as
the browser reports it (a cookie set by app.js), or in the archive's when it reports none."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from core import clock
from core.errors import ConfigurationError
from core.settings import Settings, load_settings
from search_api.app import create_app
from services.access.credentials import hash_password
from services.access.service import AccessControl
from services.archive import Archive
from tests.access_helpers import auth_headers, ensure_user
from tests.browser_support import DESKTOP, LiveServer, launch_chromium, shot
from tests.conftest import make_settings
from tests.test_cli import ZH_DIR, run

CONTRACT = ZH_DIR / "新疆维吾尔自治区汽车买卖合同.pdf"
DUE = "2026-03-02"
# 17:00 on the due day in UTC is already the next morning (01:00) in Shanghai
EVENING_UTC = "2026-03-02T17:00:00+00:00"


def test_today_is_the_day_in_the_archives_zone() -> None:
    evening = datetime(2026, 3, 2, 17, tzinfo=UTC).isoformat()
    utc = make_settings(Path("/nonexistent"), frozen_now=evening)
    shanghai = make_settings(Path("/nonexistent"), frozen_now=evening, timezone="Asia/Shanghai")
    assert clock.today(utc).isoformat() == "2026-03-02"
    assert clock.today(shanghai).isoformat() == "2026-03-03"
    assert clock.now(shanghai) == clock.now(utc)  # one instant, two days
    moment = clock.local(datetime(2026, 3, 2, 17), clock.zone(shanghai))  # naive is UTC
    assert (moment.hour, clock.offset_label(moment)) == (1, "UTC+8")
    kolkata = clock.local(
        datetime(2026, 3, 2, 17, tzinfo=UTC),
        clock.zone(make_settings(Path("/nonexistent"), timezone="Asia/Kolkata")),
    )
    assert clock.offset_label(kolkata) == "UTC+5:30"


def test_an_unknown_zone_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="Mars/Olympus"):
        load_settings(timezone="Mars/Olympus", data_dir=tmp_path)
    r = run(tmp_path / "var", "show", "1", env={"ARCHIVE_TIMEZONE": "Mars/Olympus"})
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "not a time zone this machine knows" in r.stderr and "Asia/Shanghai" in r.stderr
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "var").exists()  # refused before anything was made


@pytest.mark.slow
def test_overdue_by_the_archives_day_on_the_command_line(tmp_path: Path) -> None:
    data = tmp_path / "var"
    first = run(data, "ingest", str(CONTRACT), "--json")
    assert first.returncode == 0, first.stderr
    cid = json.loads(first.stdout.splitlines()[0])["id"]
    added = run(data, "payment", "add", str(cid), "--due", DUE, "--amount", "500")
    assert added.returncode == 0, added.stderr

    def overdue(zone: str) -> bool:
        env = {"ARCHIVE_TIMEZONE": zone, "ARCHIVE_FROZEN_NOW": EVENING_UTC}
        r = run(data, "payment", "list", str(cid), "--json", env=env)
        assert r.returncode == 0, r.stderr
        (item,) = json.loads(r.stdout)
        return bool(item["overdue"])

    assert not overdue("UTC")  # still the due day
    assert overdue("Asia/Shanghai")  # the next day already: past due


@pytest.fixture(scope="module")
def shanghai(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Archive, int]]:
    settings = make_settings(tmp_path_factory.mktemp("tz") / "var", timezone="Asia/Shanghai")
    with Archive(settings, parser_workers=1).open() as archive:
        result = archive.ingest_path(CONTRACT, display_name=CONTRACT.name)
        assert result.status == "archived", result
        assert result.id is not None
        yield archive, result.id


def _archived_line(html: str) -> str:
    found = re.search(r"(Archived|归档时间)[^<]*</dt>\s*<dd>([^<]+)</dd>", html)
    assert found, html[:2000]
    return found.group(2)


def test_pages_show_times_in_the_readers_zone(shanghai: tuple[Archive, int]) -> None:
    archive, cid = shanghai
    created = archive.get(cid).created_at
    sao_paulo = clock.known_zone("America/Sao_Paulo")
    assert sao_paulo is not None
    with TestClient(create_app(archive), headers=auth_headers(archive)) as client:
        html = {"accept": "text/html", "accept-language": "en"}
        archive_zone = _archived_line(client.get(f"/contracts/{cid}", headers=html).text)
        expected = clock.local(created, clock.zone(archive.settings))
        assert archive_zone.endswith(f"{expected:%H:%M} UTC+8"), archive_zone
        client.cookies.set("archive_tz", "America/Sao_Paulo")  # UTC-3, no summer time
        reader = _archived_line(client.get(f"/contracts/{cid}", headers=html).text)
        assert reader.endswith(f"{clock.local(created, sao_paulo):%H:%M} UTC-3"), reader
        client.cookies.set("archive_tz", "Nowhere/Atlantis")  # unknown: the archive's zone
        assert _archived_line(client.get(f"/contracts/{cid}", headers=html).text) == archive_zone


@pytest.mark.browser
@pytest.mark.slow
def test_the_browser_reports_its_zone(shanghai: tuple[Archive, int]) -> None:
    """Log in through the form in Chromium set to São Paulo: app.js reports the zone, and the
    access log then shows the log-in in São Paulo time (UTC-3), not the archive's UTC+8."""
    archive, _ = shanghai
    access = AccessControl.for_archive(archive)
    ensure_user(archive, "tzreader", ("admin",))
    access.store.update_user("tzreader", {"password_hash": hash_password("tz reader passphrase")})
    with LiveServer(archive) as server, launch_chromium() as browser:
        context = browser.new_context(
            viewport=DESKTOP, locale="en-US", timezone_id="America/Sao_Paulo"
        )
        page = context.new_page()
        page.goto(server.url + "/login")
        page.get_by_label("User name").fill("tzreader")
        page.get_by_label("Password", exact=True).fill("tz reader passphrase")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(lambda url: "/login" not in url)
        page.wait_for_load_state("load")  # app.js has run
        cookies = {c["name"]: c["value"] for c in context.cookies()}
        assert cookies.get("archive_tz") == "America/Sao_Paulo", cookies
        page.goto(server.url + "/access-log?user=tzreader")
        when = page.locator("main time").first.inner_text()
        shot(page, "tz-access-log")
        assert when.endswith("UTC-3"), when


def test_settings_keep_a_known_zone() -> None:
    assert Settings(_env_file=None, timezone=" Asia/Shanghai ").timezone == "Asia/Shanghai"  # type: ignore[call-arg]
    assert Settings(_env_file=None, timezone="utc").timezone == "utc"  # type: ignore[call-arg]
