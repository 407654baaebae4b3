"""The sign-in flow against the emulator and a real store: the state's rules, the person
check, refresh, revocation and rotating the encryption key."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.errors import NotSignedIn
from bot.sealing import generate_key
from tests.signin.conftest import Rig, build


async def test_a_person_signs_in_and_their_token_reads_as_them(rig: Rig) -> None:
    assert await rig.sign_in("alice") == "signed_in"
    alice = rig.emu.identity("alice").id
    token = await rig.tokens.access_token(alice)
    me = await rig.rest.request("GET", "/people/me", token, endpoint="me")
    assert me["id"] == alice
    row = await rig.store.get_person_tokens(alice)
    assert row is not None and token not in row.sealed  # stored sealed only
    status = await rig.tokens.status(alice)
    assert status is not None and status.until is not None


async def test_a_replayed_state_is_refused_and_changes_nothing(rig: Rig) -> None:
    started = await rig.flow.start(rig.emu.identity("alice").id, None)
    answer = await rig.browser("alice", started.url)
    assert (await rig.flow.finish(answer["state"], answer["code"], "")).kind == "signed_in"
    await rig.tokens.sign_out(rig.emu.identity("alice").id)
    again = await rig.flow.finish(answer["state"], answer["code"], "")
    assert again.kind == "replayed"
    assert await rig.store.get_person_tokens(rig.emu.identity("alice").id) is None


async def test_an_expired_state_is_refused(rig: Rig) -> None:
    alice = rig.emu.identity("alice").id
    started = await rig.flow.start(alice, None)
    answer = await rig.browser("alice", started.url)
    rig.flow._clock = lambda: started.expires_at + timedelta(seconds=1)
    assert (await rig.flow.finish(answer["state"], answer["code"], "")).kind == "expired"
    assert await rig.store.get_person_tokens(alice) is None


@pytest.mark.parametrize("forge", [
    lambda s: s.split(".")[0] + ".not-the-secret",
    lambda s: "0" * 32 + "." + s.split(".")[1],
    lambda s: "",
    lambda s: s.split(".")[0],
])  # fmt: skip
async def test_a_forged_or_foreign_state_is_unknown(rig: Rig, forge: object) -> None:
    started = await rig.flow.start(rig.emu.identity("alice").id, None)
    answer = await rig.browser("alice", started.url)
    outcome = await rig.flow.finish(forge(answer["state"]), answer["code"], "")  # type: ignore[operator]
    assert (outcome.kind, outcome.person_id) == ("unknown", None)
    # The real state still works afterwards: a forgery did not use it up.
    assert (await rig.flow.finish(answer["state"], answer["code"], "")).kind == "signed_in"


async def test_a_token_for_another_person_is_never_stored(rig: Rig) -> None:
    assert await rig.sign_in("alice", approver="bob") == "other_person"
    for who in ("alice", "bob"):
        assert await rig.store.get_person_tokens(rig.emu.identity(who).id) is None


async def test_deny_is_told_and_uses_the_state(rig: Rig) -> None:
    started = await rig.flow.start(rig.emu.identity("alice").id, None)
    answer = await rig.browser("alice", started.url, deny=True)
    assert (await rig.flow.finish(answer["state"], "", answer["error"])).kind == "denied"
    assert (await rig.flow.finish(answer["state"], "", answer["error"])).kind == "replayed"


async def test_a_token_near_its_expiry_is_refreshed_first(rig: Rig) -> None:
    rig.emu.access_token_ttl = 60  # inside the 5-minute margin
    assert await rig.sign_in("alice") == "signed_in"
    alice = rig.emu.identity("alice").id
    before = len(rig.emu.calls("POST", "/access_token"))
    token = await rig.tokens.access_token(alice)
    assert len(rig.emu.calls("POST", "/access_token")) == before + 1
    assert (await rig.rest.request("GET", "/people/me", token, endpoint="me"))["id"] == alice


async def test_a_401_refreshes_once_and_a_revoked_refresh_signs_out(rig: Rig) -> None:
    assert await rig.sign_in("alice") == "signed_in"
    alice = rig.emu.identity("alice").id
    first = await rig.tokens.access_token(alice)
    rig.emu.expire_token(first)  # Webex stopped honouring it early
    second = await rig.tokens.access_token(alice, rejected=first)
    assert second != first
    rig.emu.revoke_authorization("alice")
    with pytest.raises(NotSignedIn, match="sign in again"):
        await rig.tokens.access_token(alice, rejected=second)
    assert await rig.store.get_person_tokens(alice) is None


async def test_rotating_the_key_keeps_sign_ins_and_reseals_them(rig: Rig) -> None:
    assert await rig.sign_in("alice") == "signed_in"
    alice = rig.emu.identity("alice").id
    old_row = await rig.store.get_person_tokens(alice)
    new_key = generate_key()
    rotated = build(rig.emu, rig.http, rig.store, f"{new_key},{rig.key}")
    token = await rotated.tokens.access_token(alice)
    assert (await rig.rest.request("GET", "/people/me", token, endpoint="me"))["id"] == alice
    # Re-sealed with the new key: the old key can now be dropped.
    only_new = build(rig.emu, rig.http, rig.store, new_key)
    assert await only_new.tokens.access_token(alice) == token
    assert (await rig.store.get_person_tokens(alice)).sealed != old_row.sealed  # type: ignore[union-attr]
    # Without any key that opens it, the person is asked to sign in again.
    with pytest.raises(NotSignedIn, match="sign in again"):
        await build(rig.emu, rig.http, rig.store, generate_key()).tokens.access_token(alice)
