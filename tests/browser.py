"""A page opened in a real browser: Debian's chromium (installed by `.ci/run`; Playwright's own
browser download is not reachable), headless and offline, driven by Playwright. What the page
logged as an error and every URL it fetched are kept for the test to check."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 30_000


@dataclass
class Watched:
    problems: list[str] = field(default_factory=list)  # console errors and uncaught exceptions
    requested: list[str] = field(default_factory=list)  # every URL the page fetched


@contextmanager
def opened(url: str, *, width: int = 1280, height: int = 900) -> Iterator[tuple[Page, Watched]]:
    """The page at `url`, loaded, and what it has logged and fetched so far."""
    assert Path(CHROMIUM).exists(), ".ci/run installs Debian's chromium (apt-get install chromium)"
    watched = Watched()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_FLAGS, timeout=TIMEOUT_MS
        )
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.on(
                "console", lambda m: watched.problems.append(m.text) if m.type == "error" else None
            )
            page.on("pageerror", lambda error: watched.problems.append(str(error)))
            page.on("request", lambda request: watched.requested.append(request.url))
            page.goto(url, wait_until="load", timeout=TIMEOUT_MS)
            yield page, watched
        finally:
            browser.close()
