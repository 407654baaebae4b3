"""Personal sign-in end to end: the real app and the emulator, the browser following Webex's
redirect to the bot's callback, and CHANGES_WITH=admin acting with each admin's own token."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from bot.emulator import Emulator
from tests.e2e.harness import RunningBot
from tests.e2e.helpers import card_text, elements, inputs_of, puts, say, submit_data
from tests.e2e.signing import (
    ECN,
    KEY,
    admin_bot,
    browser,
    open_callback,
    sign_in,
    sign_in_settings,
    sign_in_url,
    signed_in,
    told,
)
from tests.emulator import authorize_as
from tests.procs import free_port, start_serve

__all__ = ["admin_bot", "browser"]  # fixtures

async def test_an_admin_signs_in_and_the_change_is_made_with_her_own_token(
    emu: Emulator, admin_bot: RunningBot, browser: aiohttp.ClientSession
) -> None:
    alice = emu.identity("alice")
    refused = await say(emu, "alice", "direct_alice", "enable ops@acme.example")
    assert "Sign in with Webex" in card_text(refused) and "Nothing was changed" in card_text(
        refused)
    assert puts(emu) == [] and emu.calls("GET", ECN) == []
    [row] = await admin_bot.store.list_audit()
    assert (row.outcome, row.reason) == ("refused", "not signed in: You are not signed in "
                                                    "with Webex.")

    status, page = await sign_in(emu, browser, "alice")
    assert status == 200 and "Signed in" in page and "Alice Adams" in page
    await told(emu, "alice", "You are signed in with Webex as Alice Adams")
    stored = await admin_bot.store.get_person_tokens(alice.id)
    assert stored is not None and "_PF84_" not in stored.sealed  # sealed, not a token

    changed = await say(emu, "alice", "direct_alice", "enable ops@acme.example")
    assert "ops@acme.example" in card_text(changed)
    [put] = puts(emu)
    assert put.person_id == alice.id and put.json["emailAddress"] == "ops@acme.example"
    assert emu.setting()["emailAddress"] == "ops@acme.example"
    latest = (await admin_bot.store.list_audit())[0]
    assert (latest.outcome, latest.acted_with) == ("applied", "admin")

    whoami = await say(emu, "alice", "direct_alice", "whoami")
    assert "Signed in with Webex until" in card_text(whoami)
    bye = await say(emu, "alice", "direct_alice", "sign out")
    assert "Webex revoked your authorization" in card_text(bye)
    [revoked] = emu.calls("DELETE", "/authorizations")
    assert (revoked.status, revoked.person_id) == (204, alice.id)
    assert await admin_bot.store.get_person_tokens(alice.id) is None


async def test_sign_out_says_so_when_webex_did_not_confirm_the_revocation(
    emu: Emulator, admin_bot: RunningBot, browser: aiohttp.ClientSession
) -> None:
    await signed_in(emu, browser, "alice")
    emu.faults.add(path="/authorizations", method="DELETE", status=503, times=None)
    text = card_text(await say(emu, "alice", "direct_alice", "sign out"))
    assert "Webex did not confirm the revocation (tracking id EMU_" in text
    assert "authorized apps" in text and "Webex revoked" not in text
    assert emu.calls("DELETE", "/authorizations")
    assert await admin_bot.store.get_person_tokens(emu.identity("alice").id) is None
    again = await say(emu, "alice", "direct_alice", "status")  # forgotten: asked to sign in
    assert "Sign in with Webex" in card_text(again)


async def test_a_read_only_admin_signing_out_is_told_webex_did_not_revoke(
    emu: Emulator, admin_bot: RunningBot, browser: aiohttp.ClientSession
) -> None:
    await signed_in(emu, browser, "rita")
    text = card_text(await say(emu, "rita", "direct_rita", "sign out"))
    [refused] = emu.calls("DELETE", "/authorizations")
    assert refused.status == 403  # Webex's admin API: not for Read-only Administrators
    assert "Webex did not confirm the revocation" in text and "Webex revoked" not in text
    assert await admin_bot.store.get_person_tokens(emu.identity("rita").id) is None


async def test_a_read_only_admin_is_refused_by_the_bot_and_reads_with_her_own_token(
    emu: Emulator, admin_bot: RunningBot, browser: aiohttp.ClientSession
) -> None:
    await signed_in(emu, browser, "rita")
    refused = await say(emu, "rita", "direct_rita", "enable ops@acme.example")
    assert "Not allowed" in card_text(refused)
    assert puts(emu) == []
    status = await say(emu, "rita", "direct_rita", "status")
    assert "security@acme.example" in card_text(status)
    [read] = emu.calls("GET", ECN)
    assert read.person_id == emu.identity("rita").id


async def test_webex_refusing_the_admin_is_shown_with_its_tracking_id(
    emu: Emulator, admin_bot: RunningBot, browser: aiohttp.ClientSession
) -> None:
    assert (await sign_in(emu, browser, "uma"))[0] == 200
    emu.faults.add(path=ECN, method="PUT", status=403, message="Not authorized for this org.")
    reply = await say(emu, "uma", "direct_uma", "set email desk@acme.example")
    text = card_text(reply)
    assert "Webex refused this with your own Webex authorization" in text
    [refused_put] = emu.calls("PUT", ECN)
    assert refused_put.status == 403 and "Webex tracking ID: " in text
    latest = (await admin_bot.store.list_audit())[0]
    assert (latest.outcome, latest.acted_with) == ("failed", "admin") and latest.tracking_id
    assert text.count(latest.tracking_id) >= 1
    assert emu.setting()["emailAddress"] == "security@acme.example"


async def test_a_401_refreshes_once_and_a_revoked_sign_in_asks_again(
    emu: Emulator, admin_bot: RunningBot, browser: aiohttp.ClientSession
) -> None:
    assert (await sign_in(emu, browser, "alice"))[0] == 200
    alice = emu.identity("alice").id
    for token, info in list(emu.state.tokens.items()):
        if info.identity_id == alice:
            emu.expire_token(token)  # Webex stops honouring it before its stated expiry
    refreshes = len(emu.calls("POST", "/access_token"))
    status = await say(emu, "alice", "direct_alice", "status")
    assert "security@acme.example" in card_text(status)
    assert len(emu.calls("POST", "/access_token")) == refreshes + 1
    assert [c.status for c in emu.calls("GET", ECN)] == [401, 200]

    emu.revoke_authorization("alice")
    again = await say(emu, "alice", "direct_alice", "disable")
    assert "no longer accepts your sign-in" in card_text(again)
    assert "Sign in with Webex" in card_text(again)
    assert await admin_bot.store.get_person_tokens(alice) is None
    assert puts(emu) == []


async def test_the_callback_refuses_replayed_unknown_and_foreign_links(
    emu: Emulator, admin_bot: RunningBot, browser: aiohttp.ClientSession
) -> None:
    card = await say(emu, "alice", "direct_alice", "sign in")
    location = await authorize_as(browser, sign_in_url(card), emu.identity("alice").id)
    assert (await open_callback(browser, location))[0] == 200
    status, page = await open_callback(browser, location)  # the same link again
    assert status == 400 and "Link already used" in page

    base = f"{admin_bot.url}/oauth/callback"
    status, page = await open_callback(browser, f"{base}?code=abc&state=forged.state")
    assert status == 400 and "Link not recognised" in page and "abc" not in page
    status, page = await open_callback(browser, base)
    assert status == 400 and "Link not recognised" in page

    # Bob completes the link the bot gave Uma: his token is not kept, Uma is told.
    status, page = await sign_in(emu, browser, "uma", approver="bob")
    assert status == 403 and "Bob Brown" in page
    assert await admin_bot.store.get_person_tokens(emu.identity("bob").id) is None
    assert await admin_bot.store.get_person_tokens(emu.identity("uma").id) is None
    await told(emu, "uma", "I did not keep that token")


async def test_deny_is_told_in_plain_words(
    emu: Emulator, admin_bot: RunningBot, browser: aiohttp.ClientSession
) -> None:
    card = await say(emu, "alice", "direct_alice", "sign in")
    location = await authorize_as(browser, sign_in_url(card), "", deny=True)
    status, page = await open_callback(browser, location)
    assert status == 400 and "You declined" in page


async def test_in_a_group_the_sign_in_card_goes_to_the_1_1_space(
    emu: Emulator, admin_bot: RunningBot
) -> None:
    notice = await say(emu, "alice", "group", "sign in")
    shown = [e["text"] for e in elements(notice) if e["type"] == "TextBlock"]
    assert shown[:2] == ["Sign-in link sent", "I sent you a sign-in link in our 1:1 space."]
    assert "Sign in first" not in card_text(notice)
    assert "authorize" not in card_text(notice)
    private = [m for m in emu.state.messages.values()
               if m["roomId"] == emu.room_id("direct_alice") and m["personId"] == emu.seed.bot_id]
    assert private and "/authorize?" in sign_in_url(private[-1])


async def test_the_callback_is_rate_limited(emu: Emulator, admin_bot: RunningBot,
                                            browser: aiohttp.ClientSession) -> None:
    statuses = [(await open_callback(browser, f"{admin_bot.url}/oauth/callback?state=x.y"))[0]
                for _ in range(21)]
    assert statuses[:20] == [400] * 20 and statuses[20] == 429


async def test_serve_with_its_receiving_process_passes_the_callback_and_logs_no_secret(
    emu: Emulator, tmp_path: Path, browser: aiohttp.ClientSession
) -> None:
    port = free_port()
    env = {k: str(v) for k, v in sign_in_settings(emu, port).items()}
    bot = await start_serve(emu, tmp_path, port=port, DATABASE_URL=f"sqlite:///{tmp_path}/b.db",
                            **env)
    try:
        card = await say(emu, "alice", "direct_alice", "sign in")
        location = await authorize_as(browser, sign_in_url(card), emu.identity("alice").id)
        async with browser.get(location, allow_redirects=False) as page:
            assert page.status == 200 and "Alice Adams" in await page.text()
            assert page.headers["Cache-Control"] == "no-store"
            assert page.headers["Referrer-Policy"] == "no-referrer"
        changed = await say(emu, "alice", "direct_alice", "set email desk@acme.example")
        assert "desk@acme.example" in card_text(changed)
        [put] = puts(emu)
        assert put.person_id == emu.identity("alice").id
    finally:
        await bot.stop()
    query = dict(part.split("=", 1) for part in location.split("?", 1)[1].split("&"))
    issued = [t for t, info in emu.state.tokens.items()
              if info.identity_id == emu.identity("alice").id and info.client_id]
    refresh = [r for r, info in emu.state.refresh_tokens.items() if info.client_id]
    log = bot.output()
    for secret in (query["code"], query["state"], *issued, *refresh, KEY,
                   emu.seed.integration_client_secret):
        assert secret not in log


async def test_help_offers_sign_in_when_changes_use_it(
    emu: Emulator, admin_bot: RunningBot
) -> None:
    assert "sign in" in card_text(await say(emu, "alice", "direct_alice", "help"))


async def test_without_personal_sign_in_help_does_not_offer_it(
    emu: Emulator, bot: RunningBot
) -> None:
    assert bot.settings.CHANGES_WITH == "service-app"
    offered = card_text(await say(emu, "alice", "direct_alice", "help"))
    assert "whoami" in offered and "sign in" not in offered
    assert "not in use here" in card_text(await say(emu, "alice", "direct_alice", "sign in"))


async def test_a_form_pressed_after_signing_out_changes_nothing_and_stays_usable(
    emu: Emulator, admin_bot: RunningBot, browser: aiohttp.ClientSession
) -> None:
    assert "Sign in with Webex" in card_text(await say(emu, "alice", "direct_alice", "status"))
    assert emu.calls("GET", ECN) == []  # a read without a sign-in asks for one, reads nothing
    assert "History" in card_text(await say(emu, "alice", "direct_alice", "history"))
    assert (await sign_in(emu, browser, "alice"))[0] == 200
    form = await say(emu, "alice", "direct_alice", "edit")
    await say(emu, "alice", "direct_alice", "sign out")
    values = {**inputs_of(form), "email": "desk@acme.example", **submit_data(form, "Save")}
    await emu.press_card(person="alice", message_id=form["id"], inputs=values)
    await told(emu, "alice", "Nothing was changed")
    assert puts(emu) == []
    assert (await admin_bot.store.list_audit())[0].reason == (
        "not signed in: You are not signed in with Webex.")
    assert (await sign_in(emu, browser, "alice"))[0] == 200
    await emu.press_card(person="alice", message_id=form["id"], inputs=values)
    await told(emu, "alice", "desk@acme.example")
    [put] = puts(emu)
    assert put.person_id == emu.identity("alice").id


async def test_a_location_administrator_changes_an_assigned_location_and_is_refused_another(
    emu: Emulator, admin_bot: RunningBot, browser: aiohttp.ClientSession
) -> None:
    lou = emu.identity("lou").id
    assert (await sign_in(emu, browser, "lou"))[0] == 200
    changed = await say(emu, "lou", "direct_lou", "set email desk@acme.example at Riverside")
    assert "desk@acme.example" in card_text(changed)
    riverside = emu.places.find("Riverside Clinic")
    assert riverside["emailAddress"] == "desk@acme.example"
    [put] = [c for c in emu.calls("PUT", "/telephony/config/locations/*/emergencyCallNotification")
             if c.status == 204]
    assert put.person_id == lou
    latest = (await admin_bot.store.list_audit())[0]
    assert (latest.outcome, latest.acted_with, latest.target_name) == (
        "applied", "admin", "Riverside Clinic")

    # Names are looked up in the list Lou's own token sees: Webex shows her hers only.
    hidden = await say(emu, "lou", "direct_lou", "set email desk@acme.example at Headquarters")
    assert "No Webex Calling location your Webex sign-in can see is called “Headquarters”" in (
        card_text(hidden))
    assert emu.places.find("Headquarters")["emailAddress"] != "desk@acme.example"
    assert {c.person_id for c in emu.calls("GET", "/telephony/config/locations")} == {lou}
    latest = (await admin_bot.store.list_audit())[0]
    assert latest.outcome == "refused" and "“Headquarters”" in (latest.reason or "")

    locations_put = "/telephony/config/locations/*/emergencyCallNotification"
    emu.faults.add(path=locations_put, method="PUT", status=403, message="Not yours.")
    refused = await say(emu, "lou", "direct_lou", "set email desk@acme.example at Northgate")
    assert "Webex refused this with your own Webex authorization" in card_text(refused)
    latest = (await admin_bot.store.list_audit())[0]
    assert (latest.outcome, latest.target_name) == ("failed", "Northgate Urgent Care")
    assert latest.tracking_id and latest.tracking_id in card_text(refused)

    org_level = await say(emu, "lou", "direct_lou", "set email desk@acme.example")
    assert "As a Location Administrator" in card_text(org_level)
    assert puts(emu) == []


async def test_a_location_administrator_saves_a_location_form(
    emu: Emulator, admin_bot: RunningBot, browser: aiohttp.ClientSession
) -> None:
    assert (await sign_in(emu, browser, "lou"))[0] == 200
    form = await say(emu, "lou", "direct_lou", "edit at Northgate")
    values = {**inputs_of(form), "email": "north@acme.example", **submit_data(form, "Save")}
    await emu.press_card(person="lou", message_id=form["id"], inputs=values)
    await told(emu, "lou", "north@acme.example")
    assert emu.places.find("Northgate Urgent Care")["emailAddress"] == "north@acme.example"
