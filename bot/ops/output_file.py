"""An export's `--output FILE`: written whole or not at all, and one line when it cannot be.

The rows go to a new file beside FILE, which then takes FILE's place in one rename, so a failure
part-way (a full disk, a directory that does not exist) leaves no half-written FILE and keeps an
earlier FILE as it was. FILE a link is written where it points; FILE a pipe or a device
(`/dev/stdout`) is written to as it is, there being no file to keep whole.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from collections.abc import Callable
from typing import IO

Fill = Callable[[IO[str]], int]


def _a_descriptor(output: str) -> bool:
    """`output` names a descriptor the shell opened (`/dev/stdout`, `/dev/fd/3`, `<(…)`)."""
    return output.startswith(("/dev/std", "/dev/fd/", "/proc/self/fd/"))


def write_whole(output: str, fill: Fill) -> int:
    """Write `fill`'s rows to `output` whole; return `fill`'s count. Raises OSError."""
    try:
        mode: int | None = os.stat(output).st_mode  # through links, to what they name
    except FileNotFoundError:
        mode = None
    if _a_descriptor(output) or (mode is not None and not stat.S_ISREG(mode)):
        # A pipe, a terminal, a device, or a file the shell opened (`>> log.csv`): written as
        # it is. Appending: where the shell opened it to append, nothing before is lost;
        # anywhere else "a" writes where "w" would. A directory raises IsADirectoryError.
        with open(output, "a" if _a_descriptor(output) else "w", newline="",
                  encoding="utf-8") as out:
            return fill(out)
    target = os.path.realpath(output)
    if mode is not None and not os.access(target, os.W_OK):
        # A file its owner made read-only stays as it is, as open() would leave it.
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), output)
    folder, name = os.path.split(target)
    part = os.path.join(folder, f".{name}.{secrets.token_hex(4)}.part")
    # O_EXCL: never through a file or link already there; 0o666: the umask applies, as for open()
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with open(fd, "w", newline="", encoding="utf-8") as out:
            if mode is not None:
                os.chmod(fd, stat.S_IMODE(mode))  # FILE keeps its permissions
            count = fill(out)
            out.flush()
            os.fsync(out.fileno())  # on disk before it takes FILE's place
        os.replace(part, target)
    except BaseException:
        with contextlib.suppress(OSError):  # already gone
            os.unlink(part)
        raise
    return count


def cannot_write(output: str, error: OSError) -> str:
    """The one line an export prints when `output` cannot be written."""
    return f"error: cannot write {output}: {error.strerror or error}"
