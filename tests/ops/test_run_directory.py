"""The socket directory under $TMPDIR: removed at stop, and after a SIGKILL at the next start —
only the bot's own, only when the process that made it is gone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bot.emulator import Emulator
from bot.server.workdir import PREFIX, remove_leftovers
from tests.procs import free_port, start_serve


def dead_pid() -> int:
    """The id of a process that has exited (and been reaped)."""
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)
    return int(child.stdout)


def leftover(base: Path, name: str, pid: int, *entries: str) -> Path:
    path = base / f"{PREFIX}{name}"
    path.mkdir(mode=0o700)
    (path / "pid").write_text(f"{pid}\n")
    for entry in entries:
        (path / entry).write_text("")
    return path


def test_only_a_dead_runs_directory_of_its_own_shape_is_removed(tmp_path: Path) -> None:
    gone = dead_pid()
    killed = leftover(tmp_path, "killed", gone, "http.sock", "events.sock")
    running = leftover(tmp_path, "running", os.getppid(), "http.sock")
    strange = leftover(tmp_path, "strange", gone, "http.sock", "notes.txt")
    no_pid = tmp_path / f"{PREFIX}nopid"
    no_pid.mkdir()
    other = tmp_path / "ecn-bot-demo-x"
    other.mkdir()
    (other / "pid").write_text(f"{gone}\n")
    link = tmp_path / f"{PREFIX}link"
    link.symlink_to(killed)

    assert remove_leftovers(tmp_path) == 1

    assert not killed.exists()
    assert running.is_dir() and strange.is_dir() and no_pid.is_dir() and other.is_dir()
    assert link.is_symlink()


async def test_a_killed_serve_leaves_its_directory_and_the_next_start_removes_it(
    emu: Emulator, tmp_path: Path
) -> None:
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    port = free_port()
    env = {"TMPDIR": str(tmpdir), "DATABASE_URL": f"sqlite:///{tmp_path}/bot.db",
           "SHUTDOWN_GRACE_SECONDS": "1"}

    first = await start_serve(emu, tmp_path, port=port, **env)
    [left] = list(tmpdir.glob(f"{PREFIX}*"))
    await first.kill()
    assert left.is_dir()

    second = await start_serve(emu, tmp_path, port=port, **env)
    [current] = list(tmpdir.glob(f"{PREFIX}*"))
    assert current != left and not left.exists()
    await second.stop()
    assert list(tmpdir.iterdir()) == []
