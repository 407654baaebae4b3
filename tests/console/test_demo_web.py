"""`python -m bot demo --web` as a person starts it: it prints the page's URL, serves it, stops."""

from __future__ import annotations

import io
import os
import sys
import urllib.request

import pexpect

from tests.demo.test_demo import ROOT, WAIT, stop_with_ctrl_c


def test_demo_web_serves_the_console_and_stops_with_ctrl_c() -> None:
    env = {**os.environ, "TERM": "xterm", "LOG_LEVEL": "WARNING"}
    child = pexpect.spawn(
        sys.executable, ["-m", "bot", "demo", "--web"], cwd=str(ROOT), env=env,
        encoding="utf-8", timeout=WAIT,
    )  # fmt: skip
    child.logfile_read = seen = io.StringIO()
    try:
        child.expect(r"browser console (http://127\.0\.0\.1:\d+/)")
        url = child.match.group(1)
        child.expect_exact("Stop with Ctrl-C.")
        with urllib.request.urlopen(url, timeout=WAIT) as page:  # noqa: S310 - local
            assert "Speak as" in page.read().decode()
        # A page left open keeps its event stream: Ctrl-C still ends the demo at once.
        stream = urllib.request.urlopen(url + "events", timeout=WAIT)  # noqa: S310 - local
        assert stream.readline() == b"event: scene\n"
        stop_with_ctrl_c(child)
        stream.close()
        assert "Traceback" not in seen.getvalue()
    finally:
        if child.isalive():
            child.terminate(force=True)
