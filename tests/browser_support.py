"""What the browser tests share: Debian's chromium driven by Playwright, the app in a real
uvicorn server, signing in through the log-in form as a person does, screenshots.

The app runs in a real uvicorn server on a free loopback port (a thread of the test process),
the browser is ``/usr/bin/chromium`` (``playwright install`` cannot download here). Each browser
test file starts one server (its module-scoped ``live`` fixture) and one chromium (the
``browser`` fixture of tests/conftest.py, module-scoped). Screenshots are saved under
``test-artifacts/browser/`` (or ``$ARCHIVE_TEST_ARTIFACTS``).

What chromium costs (CPU, measured with a cgroup on the 2-core development machine, 2026-12-07):
a browser context with its window about 0.8 s, of which 0.25 s is the omnibox pop-up's WebUI
renderer that every window of headless Chromium 156 preloads (turned off below: no test types
into an address bar); a full-page PNG screenshot 0.4-0.6 s, a third less with the encoder
tuned for speed (:func:`shot`; same pixels, a larger file).
"""

from __future__ import annotations

import base64
import contextlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from search_api.app import create_app
from search_api.auth import SESSION_COOKIE
from services.archive import Archive
from tests.conftest import ROOT, corpus_files

CHROMIUM = Path("/usr/bin/chromium")
# Chromium keeps only the last --disable-features: Playwright's own list (1.5x, as its launcher
# passes it) is repeated, then the two WebUI omnibox pop-ups each window would preload.
PLAYWRIGHT_DISABLED_FEATURES = (
    "AimEnabled,AvoidCorsURLLoaderRestartOnRedirect,AvoidUnnecessaryBeforeUnloadCheckSync,"
    "DestroyProfileOnBrowserClose,HttpsFirstBalancedModeAutoEnable,HttpsUpgrades,LensOverlay,"
    "MediaRouter,NetworkTimeServiceQuerying,OptimizationHints,PaintHolding,PreconnectToSearch,"
    "TcpPortRandomizationWin,ThirdPartyStoragePartitioning,"
    "msEdgeUpdateLaunchServicesPreferredVersion,msForceBrowserSignIn"
)
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    f"--disable-features={PLAYWRIGHT_DISABLED_FEATURES},WebUIOmniboxPopup,WebUIOmniboxAimPopup",
]
ARTIFACTS = Path(os.environ.get("ARCHIVE_TEST_ARTIFACTS", ROOT / "test-artifacts")) / "browser"
ZH = next(p for p in corpus_files("zh", ".pdf") if "新疆" in p.name)
EN = next(p for p in corpus_files("en-cuad", ".pdf") if "JOINT FILING" in p.name)
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
PASSWORD = "browser tests passphrase"
SESSION: dict[str, str] = {}
"""``url``: the running test server's, where :func:`sign_in` goes."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """The app over ``archive`` in a uvicorn server on a free loopback port (a thread)."""

    def __init__(self, archive: Archive) -> None:
        self.archive = archive
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            create_app(archive), host="127.0.0.1", port=self.port, log_level="warning"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)


@contextlib.contextmanager
def launch_chromium() -> Iterator[Any]:
    """Debian's chromium under Playwright, closed after (every browser test module's one)."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/bootstrap.sh --test (installs chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def save_screenshot(page: Any, path: Path) -> Path:
    """The whole page (beyond the window) as a PNG at ``path``, as Playwright's
    ``screenshot(full_page=True)`` takes it (fonts loaded first, the page's CSS size at scale
    1), with Chromium's PNG encoder set for speed rather than size."""
    path.parent.mkdir(parents=True, exist_ok=True)
    page.evaluate("() => document.fonts.ready.then(() => true)")
    cdp = page.context.new_cdp_session(page)
    try:
        size = cdp.send("Page.getLayoutMetrics")["cssContentSize"]
        clip = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
        taken = cdp.send(
            "Page.captureScreenshot",
            {
                "format": "png",
                "clip": clip,
                "captureBeyondViewport": True,
                "optimizeForSpeed": True,
            },
        )
    finally:
        cdp.detach()
    path.write_bytes(base64.b64decode(taken["data"]))
    return path


def shot(page: Any, name: str) -> Path:
    """``test-artifacts/browser/<name>.png``: the whole page."""
    return save_screenshot(page, ARTIFACTS / f"{name}.png")


def no_horizontal_scroll(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"))


# WCAG 2 contrast of every visible text against the background it is drawn on: 4.5:1, or 3:1
# for large text (24 px, or 18.66 px bold).
CONTRAST_JS = """() => {
  const rgb = s => { const m = s.match(/[\\d.]+/g); return m ? m.map(Number) : [0, 0, 0, 0]; };
  const lum = ([r, g, b]) => {
    const f = c => { c /= 255; return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = el => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length < 4 || c[3] > 0.5) return c;
    }
    return [255, 255, 255];
  };
  const bad = [];
  for (const el of document.querySelectorAll("body *")) {
    const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    if (!own || !el.getClientRects().length) continue;
    const st = getComputedStyle(el);
    if (st.visibility === "hidden" || st.opacity === "0") continue;
    if (el.closest(".visually-hidden, .skip")) continue;
    const fg = lum(rgb(st.color)), bg = lum(background(el));
    const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    const size = parseFloat(st.fontSize), bold = parseInt(st.fontWeight, 10) >= 700;
    const need = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
    if (ratio < need) bad.push(`${el.tagName}.${el.className} "${el.textContent.trim().slice(0, 30)}" ${ratio.toFixed(2)}`);
  }
  return bad;
}"""


def sign_in(page: Any, username: str = "browser", password: str = PASSWORD) -> None:
    """Through the log-in form, as a person does (issue 15: no test injects a session)."""
    page.goto(SESSION["url"] + "/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(password)
    page.locator("form.login button[type=submit]").click()
    page.wait_for_url(lambda url: "/login" not in url)
    cookies = {c["name"] for c in page.context.cookies()}
    assert SESSION_COOKIE in cookies, page.content()


def new_page(browser: Any, viewport: dict, errors: list[str], locale: str = "en-US") -> Any:
    """A page of a new context at ``viewport`` in ``locale``, its console and script errors
    collected in ``errors``, signed in through the form as ``browser``."""
    context = browser.new_context(viewport=viewport, locale=locale, accept_downloads=True)
    page = context.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page)
    return page
