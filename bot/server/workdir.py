"""The worker's private directory for the sockets it shares with the receiving process.

It lives under $TMPDIR as `ecn-bot-<random>/` holding `pid` (the worker's process id) and the two
sockets; `serve` removes it when it stops. A SIGKILL leaves it behind: the next start removes
such leftovers, and only those that are surely the bot's and surely dead — a directory of this
user, named so, holding nothing but those three entries, whose `pid` names no running process.
"""

from __future__ import annotations

import logging
import os
import shutil
import stat
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)
PREFIX = "ecn-bot-run-"
PID_FILE = "pid"
ENTRIES = frozenset({PID_FILE, "http.sock", "events.sock"})


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: running
    return True


def _leftover(path: Path) -> bool:
    """A directory a killed `serve` of this user left: safe to remove."""
    try:
        info = path.lstat()
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
            return False
        names = {entry.name for entry in path.iterdir()}
        if PID_FILE not in names or not names <= ENTRIES:
            return False
        pid = int((path / PID_FILE).read_text().strip())
    except (OSError, ValueError):
        return False
    return pid > 0 and pid != os.getpid() and not _running(pid)


def remove_leftovers(base: Path | None = None) -> int:
    """Remove what killed runs left under $TMPDIR; returns how many directories."""
    base = base or Path(tempfile.gettempdir())
    removed = 0
    for path in base.glob(f"{PREFIX}*"):
        if _leftover(path):
            shutil.rmtree(path, ignore_errors=True)
            removed += 1
            log.info("removed %s, left by a serve process that was killed", path)
    return removed


def create() -> Path:
    """A fresh private directory (mode 0700) for this run's sockets, after removing leftovers."""
    remove_leftovers()
    path = Path(tempfile.mkdtemp(prefix=PREFIX))
    (path / PID_FILE).write_text(f"{os.getpid()}\n")
    return path


def remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
