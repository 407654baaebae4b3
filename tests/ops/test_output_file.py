"""An export's --output FILE is written whole or not at all."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import IO

import pytest

from bot.ops.output_file import cannot_write, write_whole


def rows(out: IO[str]) -> int:
    out.write("a\nb\n")
    return 2


def test_the_rows_replace_an_earlier_file_and_keep_its_permissions(tmp_path: Path) -> None:
    output = tmp_path / "audit.csv"
    output.write_text("earlier\n")
    output.chmod(0o640)

    assert write_whole(str(output), rows) == 2

    assert output.read_text() == "a\nb\n"
    assert stat.S_IMODE(output.stat().st_mode) == 0o640
    assert list(tmp_path.iterdir()) == [output]


def test_a_failure_part_way_keeps_the_earlier_file_and_leaves_nothing_else(
    tmp_path: Path,
) -> None:
    output = tmp_path / "audit.csv"
    output.write_text("earlier\n")

    def full_disk(out: IO[str]) -> int:
        out.write("a\n")
        out.flush()
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with pytest.raises(OSError, match="No space left") as raised:
        write_whole(str(output), full_disk)

    assert output.read_text() == "earlier\n"
    assert list(tmp_path.iterdir()) == [output]
    assert cannot_write(str(output), raised.value) == (
        f"error: cannot write {output}: No space left on device")


def test_a_link_is_written_where_it_points(tmp_path: Path) -> None:
    real = tmp_path / "real.csv"
    real.write_text("earlier\n")
    link = tmp_path / "link.csv"
    link.symlink_to(real)

    write_whole(str(link), rows)

    assert link.is_symlink() and real.read_text() == "a\nb\n"


def test_a_pipe_the_shell_opened_is_written_to(tmp_path: Path) -> None:
    # `--output /dev/stdout | jq`, or `--output >(gzip > x.gz)`: a descriptor, not a file.
    read_end, write_end = os.pipe()
    try:
        assert write_whole(f"/dev/fd/{write_end}", rows) == 2
        os.close(write_end)
        assert os.read(read_end, 100) == b"a\nb\n"
    finally:
        os.close(read_end)
    assert list(tmp_path.iterdir()) == []


def test_a_file_the_shell_opened_to_append_keeps_what_it_had(tmp_path: Path) -> None:
    # `--output /dev/stdout >> log.csv`: the earlier rows stay, the new ones follow them.
    log = tmp_path / "log.csv"
    log.write_text("earlier\n")
    fd = os.open(log, os.O_WRONLY | os.O_APPEND)
    try:
        write_whole(f"/dev/fd/{fd}", rows)
    finally:
        os.close(fd)
    assert log.read_text() == "earlier\na\nb\n"
    assert list(tmp_path.iterdir()) == [log]
