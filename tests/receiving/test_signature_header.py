"""A signature header that is not ASCII is a wrong signature: 401, never a 500."""

from __future__ import annotations

import asyncio
import socket

import pytest

from bot.emulator import Emulator
from bot.security import sign, verify_signature
from tests.e2e.harness import SECRET, RunningBot

BODY = b'{"resource":"messages","event":"created","data":{"id":"m1"}}'


@pytest.mark.parametrize("header", ["é" + sign(SECRET.encode(), BODY)[1:], "\udcff\udcfe",
                                    "ｆ" * 40])
def test_a_signature_that_is_not_ascii_is_refused(header: str) -> None:
    assert verify_signature(SECRET.encode(), BODY, header) is False


def raw_post(url: str, signature: bytes) -> bytes:
    """POST with header bytes no HTTP client library would send (Latin-1, invalid UTF-8)."""
    host, port = url.removeprefix("http://").split("/", 1)[0].split(":")
    request = (b"POST /webhooks/webex HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               b"X-Spark-Signature: " + signature + b"\r\nContent-Length: "
               + str(len(BODY)).encode() + b"\r\nConnection: close\r\n\r\n" + BODY)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    return reply.split(b"\r\n", 1)[0]

@pytest.mark.parametrize("signature", [b"\xe9\xff" + b"a" * 38, "é".encode() * 20, b"\x80"])
async def test_non_ascii_signature_bytes_get_401(bot: RunningBot, emu: Emulator,
                                                 signature: bytes) -> None:

    status_line = await asyncio.to_thread(raw_post, bot.url, signature)
    assert status_line == b"HTTP/1.1 401 Unauthorized"
