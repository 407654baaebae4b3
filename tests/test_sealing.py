"""Tokens at rest: sealed with the first key, opened by any, plain legacy rows re-sealed."""

from __future__ import annotations

import pytest

from bot.sealing import SealedSecrets, Sealer, UnreadableSecret, generate_key, parse_keys


class Rows:
    """The secrets table as the store keeps it."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    async def get_secret(self, name: str) -> str | None:
        return self.values.get(name)

    async def put_secret(self, name: str, value: str) -> None:
        self.values[name] = value


def test_rotation_the_first_key_seals_and_every_key_opens() -> None:
    old, new = generate_key(), generate_key()
    sealed_old = Sealer(old).seal("refresh-token-1")
    rotated = Sealer(f"{new}, {old}")
    opened = rotated.open(sealed_old)
    assert (opened.value, opened.stale) == ("refresh-token-1", True)
    sealed_new = rotated.seal("refresh-token-1")
    assert rotated.open(sealed_new).stale is False
    assert Sealer(new).open(sealed_new).value == "refresh-token-1"
    with pytest.raises(UnreadableSecret):
        Sealer(new).open(sealed_old)  # the old key dropped too early


@pytest.mark.parametrize(("text", "position"), [
    ("", "at least one"), ("not-a-key", "key 1 of 1"), (f"{generate_key()},short", "key 2 of 2"),
])  # fmt: skip
def test_a_bad_key_is_named_by_position_never_by_value(text: str, position: str) -> None:
    with pytest.raises(ValueError, match=position) as caught:
        parse_keys(text)
    assert "short" not in str(caught.value) and "not-a-key" not in str(caught.value)


async def test_a_plain_row_from_before_is_read_once_and_written_back_sealed() -> None:
    rows, key = Rows(), generate_key()
    rows.values["admin_oauth"] = '{"access_token": "a", "refresh_token": "r"}'
    secrets = SealedSecrets(rows, Sealer(key))
    assert await secrets.get_secret("admin_oauth") == '{"access_token": "a", "refresh_token": "r"}'
    assert "refresh_token" not in rows.values["admin_oauth"]
    assert Sealer(key).open(rows.values["admin_oauth"]).value.startswith('{"access_token"')
    await secrets.put_secret("admin_oauth", '{"refresh_token": "r2"}')
    # Quotes never occur in Fernet's base64, so this cannot pass or fail by chance ("r2" could).
    assert '"r2"' not in rows.values["admin_oauth"]
    assert Sealer(key).open(rows.values["admin_oauth"]).value == '{"refresh_token": "r2"}'


async def test_a_row_no_key_opens_reads_as_missing() -> None:
    rows = Rows()
    rows.values["admin_oauth"] = Sealer(generate_key()).seal("{}")
    assert await SealedSecrets(rows, Sealer(generate_key())).get_secret("admin_oauth") is None
