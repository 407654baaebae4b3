"""The browser console's fixtures: Debian's Chromium (one per module), the demo, a page per test.

Chromium is the system one (`apt-get install chromium`; `.ci/run` installs it); nothing is
downloaded. A failing test leaves a screenshot in .artifacts/console/ (git-ignored).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from bot.demo.servers import Addresses, Servers

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / ".artifacts" / "console"
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium")
WATCH_SECONDS = 2.0  # the demo's group space watches; here it checks every 2 s
WAIT_MS = 15_000  # for anything the bot or the emulator should do, on a busy machine


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> object:
    report = yield
    if report.when == "call":
        item.stash[FAILED] = report.failed
    return report


FAILED = pytest.StashKey[bool]()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("CI has no Chromium: .ci/run installs Debian's chromium package")
        pytest.skip("no system Chromium (apt-get install chromium)")
    with sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Addresses]:
    servers = Servers(tmp_path, console_port=0, watch_seconds=WATCH_SECONDS)
    try:
        yield servers.start()
    finally:
        servers.stop()


@pytest.fixture
def page(browser: Browser, demo: Addresses, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(WAIT_MS)
    expect.set_options(timeout=WAIT_MS)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.goto(demo.console or "")
    tab.get_by_text("Live: updates arrive").wait_for()
    try:
        yield tab
        assert not errors, f"the page raised: {errors}"
    finally:
        if request.node.stash.get(FAILED, False):
            SHOTS.mkdir(parents=True, exist_ok=True)
            tab.screenshot(path=str(SHOTS / f"{request.node.name}.png"), full_page=True)
        context.close()
