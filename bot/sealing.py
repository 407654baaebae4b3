"""Tokens at rest: sealed with TOKEN_ENCRYPTION_KEY (Fernet; the first key seals, any opens).

The database holds only what `Sealer.seal` returns; without a key it is useless. Rotation:
put a new key first and keep the old ones after it; every value is re-sealed with the first key
the next time it is read (`Sealed.stale`) or written, after which old keys can be dropped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

log = logging.getLogger(__name__)
LEGACY_PREFIX = "{"  # rows written before sealing were plain JSON objects


class UnreadableSecret(Exception):
    """No key in TOKEN_ENCRYPTION_KEY opens the value (a key was dropped too early)."""


def generate_key() -> str:
    """A new Fernet key, for `python -m bot keygen`."""
    return Fernet.generate_key().decode("ascii")


def parse_keys(text: str) -> list[Fernet]:
    """The comma-separated keys; ValueError naming the position of a bad one (never its value)."""
    parts = [p.strip() for p in text.split(",")]
    if not any(parts):
        raise ValueError("needs at least one Fernet key")
    keys = []
    for number, part in enumerate(parts, start=1):
        try:
            keys.append(Fernet(part.encode("ascii")))
        except (ValueError, UnicodeEncodeError):
            raise ValueError(
                f"key {number} of {len(parts)} is not a Fernet key (32 url-safe base64 bytes; "
                "`python -m bot keygen` prints one)"
            ) from None
    return keys


@dataclass(frozen=True)
class Sealed:
    """An opened value, and whether it should be written again (plain or sealed with an old key)."""

    value: str
    stale: bool


class Sealer:
    """Seals and opens strings with the configured keys."""

    def __init__(self, keys_text: str) -> None:
        self._keys = parse_keys(keys_text)
        self._all = MultiFernet(self._keys)

    def seal(self, value: str) -> str:
        return self._all.encrypt(value.encode("utf-8")).decode("ascii")

    def open(self, stored: str, *, legacy_plain: bool = False) -> Sealed:
        """The value; `legacy_plain` accepts a row written before sealing (a JSON object)."""
        if legacy_plain and stored.startswith(LEGACY_PREFIX):
            return Sealed(stored, stale=True)
        data = stored.encode("ascii", errors="replace")
        try:
            return Sealed(self._keys[0].decrypt(data).decode("utf-8"), stale=False)
        except InvalidToken:
            pass
        try:
            return Sealed(self._all.decrypt(data).decode("utf-8"), stale=True)
        except InvalidToken:
            raise UnreadableSecret("no key in TOKEN_ENCRYPTION_KEY opens a stored token") from None


class SecretStore(Protocol):
    async def get_secret(self, name: str) -> str | None: ...
    async def put_secret(self, name: str, value: str) -> None: ...


class SealedSecrets:
    """The secrets table with every value sealed; a plain row from before is read once and
    written back sealed."""

    def __init__(self, store: SecretStore, sealer: Sealer) -> None:
        self._store = store
        self._sealer = sealer

    async def get_secret(self, name: str) -> str | None:
        """The value; None (and an error logged) when no key opens it, as if never stored."""
        stored = await self._store.get_secret(name)
        if stored is None:
            return None
        try:
            opened = self._sealer.open(stored, legacy_plain=True)
        except UnreadableSecret:
            log.error("stored secret %s: no key in TOKEN_ENCRYPTION_KEY opens it; ignored", name)
            return None
        if opened.stale:
            await self.put_secret(name, opened.value)
        return opened.value

    async def put_secret(self, name: str, value: str) -> None:
        await self._store.put_secret(name, self._sealer.seal(value))


class MemorySecrets:
    """Secrets kept in this process only: where rotated tokens go when none may be stored
    (no TOKEN_ENCRYPTION_KEY, or no database), so nothing is ever written in plain text."""

    def __init__(self) -> None:
        self._values: dict[str, str] = {}

    async def get_secret(self, name: str) -> str | None:
        return self._values.get(name)

    async def put_secret(self, name: str, value: str) -> None:
        self._values[name] = value


def sealed_or_memory(store: SecretStore, sealer: Sealer | None) -> SecretStore:
    """The secrets table sealed with `sealer`; without a key, memory only (and a warning)."""
    if sealer is not None:
        return SealedSecrets(store, sealer)
    log.warning("TOKEN_ENCRYPTION_KEY is not set: rotated admin tokens are kept in memory only")
    return MemorySecrets()
