"""The receiving process as the worker sees it: forked before anything starts, so that the two
share the interpreter and every imported module (copy on write), then handed its listening
socket and its spec, watched, and stopped.

Forked early, the receiver costs the machine only the pages it writes (~15 MB) rather than a
second interpreter with aiohttp and pydantic loaded again (~40 MB). Nothing but imports has
happened at that point: no thread, no event loop, no connection exists to be inherited.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import signal
import socket
import sys
import traceback
from dataclasses import asdict

from bot.receiving.process import FrontSpec, run_front
from bot.settings import Settings


class ForkedFront:
    """The parent's handle on the forked receiving process."""

    def __init__(self, pid: int, control: socket.socket) -> None:
        self.pid = pid
        self._control = control
        self.returncode: int | None = None

    def start(self, spec: FrontSpec, listener: socket.socket) -> None:
        """Hand over the spec and the listening socket: the receiver starts serving."""
        payload = json.dumps(asdict(spec)).encode()
        socket.send_fds(self._control, [payload], [listener.fileno()])

    async def wait(self) -> int:
        """The exit status once the process has ended (negative: the signal that ended it)."""
        if self.returncode is not None:
            return self.returncode
        loop = asyncio.get_running_loop()
        ended = loop.create_future()
        try:
            fd = os.pidfd_open(self.pid)
        except (AttributeError, OSError):  # before Linux 5.3: look now and then
            while True:
                pid, status = os.waitpid(self.pid, os.WNOHANG)  # noqa: ASYNC222 - no wait
                if pid:
                    return self._reap(status)
                await asyncio.sleep(0.1)

        def readable() -> None:
            if not ended.done():
                ended.set_result(None)

        try:
            loop.add_reader(fd, readable)
            try:
                await ended
            finally:
                loop.remove_reader(fd)
        finally:
            os.close(fd)
        return self._reap()

    def _reap(self, status: int | None = None) -> int:
        if status is None:
            _, status = os.waitpid(self.pid, 0)
        self.returncode = os.waitstatus_to_exitcode(status)
        self._control.close()
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.returncode is None:
            os.kill(self.pid, signum)

    def abandon(self) -> None:
        """The worker did not start: the receiver sees its control socket close and exits."""
        self._control.close()
        if self.returncode is None:
            self._reap()


def fork_front(settings: Settings) -> ForkedFront:
    """Fork the receiving process; it waits for ForkedFront.start (or exits when the worker
    goes away first)."""
    gc.collect()
    gc.freeze()  # the collector never writes to what both share, so it stays shared
    parent_pid = os.getpid()
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the receiving process
        status = 1
        try:
            ours.close()
            status = _front_child(settings, theirs, parent_pid)
        except BaseException:  # os._exit below would swallow it: say what happened
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(status)
    theirs.close()
    if settings.WORKER_NICE:
        # Acknowledge first, work second: when both want a core the kernel gives it to the
        # receiver (measured: ack p99 with 200 in flight 6.2-7.0 ms at equal priority,
        # 4.8-5.3 ms with the worker at nice 5). Threads started from now on inherit it.
        os.nice(settings.WORKER_NICE)
    return ForkedFront(pid, ours)


def _front_child(settings: Settings, control: socket.socket, parent_pid: int) -> int:
    from bot.aio import run_loop
    from bot.receiving.process import die_with_parent

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the worker decides; it tells us by SIGTERM
    die_with_parent(parent_pid)
    message, fds, _, _ = socket.recv_fds(control, 1 << 16, 1)
    if not message or not fds:
        return 0  # the worker stopped before it was ready
    spec = FrontSpec(**json.loads(message))
    spec = FrontSpec(**{**asdict(spec), "listen_fd": fds[0]})
    return run_loop(run_front(settings, spec))  # it handles SIGINT and SIGTERM on its loop
