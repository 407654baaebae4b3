"""Signing out revokes the grant at Webex with the person's own token, and the bot forgets its
copy whatever Webex answers; it never claims a revocation Webex did not confirm."""

from __future__ import annotations

from tests.signin.conftest import Rig

REVOKE = "/authorizations"


def _refresh_refused(rig: Rig, who: str) -> bool:
    """Whether Webex now refuses every refresh token of `who` for the Integration."""
    person = rig.emu.identity(who).id
    mine = [r for r in rig.emu.state.refresh_tokens.values()
            if r.identity_id == person and r.client_id == rig.emu.seed.integration_client_id]
    return bool(mine) and all(r.revoked for r in mine)


async def test_sign_out_revokes_the_grant_with_the_persons_own_token(rig: Rig) -> None:
    assert await rig.sign_in("alice") == "signed_in"
    alice = rig.emu.identity("alice").id
    outcome = await rig.tokens.revoke(alice)
    assert outcome is not None and outcome.revoked
    [call] = rig.emu.calls("DELETE", REVOKE)
    assert (call.status, call.person_id) == (204, alice)
    assert call.query["clientId"] == rig.emu.seed.integration_client_id
    assert _refresh_refused(rig, "alice")
    assert await rig.store.get_person_tokens(alice) is None


async def test_an_expired_access_token_is_refreshed_before_revoking(rig: Rig) -> None:
    rig.emu.access_token_ttl = 60  # inside the refresh margin: as good as expired
    assert await rig.sign_in("alice") == "signed_in"
    refreshes = len(rig.emu.calls("POST", "/access_token"))
    outcome = await rig.tokens.revoke(rig.emu.identity("alice").id)
    assert outcome is not None and outcome.revoked
    assert len(rig.emu.calls("POST", "/access_token")) == refreshes + 1
    assert [c.status for c in rig.emu.calls("DELETE", REVOKE)] == [204]


async def test_a_401_on_revoking_refreshes_once_and_retries(rig: Rig) -> None:
    assert await rig.sign_in("alice") == "signed_in"
    alice = rig.emu.identity("alice").id
    rig.emu.expire_token(await rig.tokens.access_token(alice))  # Webex dropped it early
    outcome = await rig.tokens.revoke(alice)
    assert outcome is not None and outcome.revoked
    assert [c.status for c in rig.emu.calls("DELETE", REVOKE)] == [401, 204]


async def test_webex_failing_the_revocation_is_not_called_a_revocation(rig: Rig) -> None:
    assert await rig.sign_in("alice") == "signed_in"
    alice = rig.emu.identity("alice").id
    rig.emu.faults.add(path=REVOKE, method="DELETE", status=500)
    outcome = await rig.tokens.revoke(alice)
    assert outcome is not None and not outcome.revoked
    assert outcome.tracking_id and outcome.tracking_id.startswith("EMU_")
    assert await rig.store.get_person_tokens(alice) is None  # forgotten all the same
    assert not _refresh_refused(rig, "alice")  # and Webex indeed still honours the grant


async def test_a_grant_webex_already_refuses_is_forgotten_without_a_claim(rig: Rig) -> None:
    assert await rig.sign_in("alice") == "signed_in"
    alice = rig.emu.identity("alice").id
    rig.emu.revoke_authorization("alice")  # removed in the person's Webex settings
    outcome = await rig.tokens.revoke(alice)
    assert outcome is not None and not outcome.revoked
    assert [c.status for c in rig.emu.calls("DELETE", REVOKE)] == [401]
    assert await rig.store.get_person_tokens(alice) is None


async def test_signing_out_when_not_signed_in_asks_nothing_of_webex(rig: Rig) -> None:
    assert await rig.tokens.revoke(rig.emu.identity("alice").id) is None
    assert rig.emu.calls("DELETE", REVOKE) == []
