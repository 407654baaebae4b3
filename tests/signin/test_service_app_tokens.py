"""Issue 14 item 19: the Service App's rotated tokens are stored sealed with TOKEN_ENCRYPTION_KEY;
a plain row from an older version is read once and written back sealed."""

from __future__ import annotations

import json
import time
from pathlib import Path

from bot.emulator import Emulator
from bot.sealing import Sealer, generate_key
from bot.store import Store
from bot.webex.auth import SECRET_NAME
from tests.e2e.harness import running_bot
from tests.e2e.helpers import card_text, say


async def test_a_plain_row_is_resealed_and_refreshed_tokens_are_stored_sealed(
    emu: Emulator, tmp_path: Path
) -> None:
    db_url, key = f"sqlite:///{tmp_path / 'bot.db'}", generate_key()
    store = await Store.open(db_url)
    plain = {"access_token": emu.seed.admin_token, "expires_at": time.time() + 3600,
             "refresh_token": emu.seed.admin_refresh_token}
    await store.put_secret(SECRET_NAME, json.dumps(plain))  # as versions before sealing did
    await store.close()
    refresh = {"WEBEX_ADMIN_TOKEN": None, "WEBEX_CLIENT_ID": emu.seed.client_id,
               "WEBEX_CLIENT_SECRET": emu.seed.client_secret,
               "WEBEX_ADMIN_REFRESH_TOKEN": emu.seed.admin_refresh_token,
               "TOKEN_ENCRYPTION_KEY": key}
    async with running_bot(emu, tmp_path, DATABASE_URL=db_url, **refresh) as bot:
        row = await bot.store.get_secret(SECRET_NAME)
        assert row is not None and emu.seed.admin_refresh_token not in row
        assert json.loads(Sealer(key).open(row).value) == plain
        emu.expire_token(emu.seed.admin_token)  # the stored access token stops working
        assert "security@acme.example" in card_text(
            await say(emu, "alice", "direct_alice", "status"))
        rotated = await bot.store.get_secret(SECRET_NAME)
        assert rotated is not None and rotated != row
        fresh = json.loads(Sealer(key).open(rotated).value)["access_token"]
        assert fresh != emu.seed.admin_token and fresh not in rotated
