"""The browser console in a real browser: cards drawn by Microsoft's renderer, pressed as Webex."""

from __future__ import annotations

import json
import re
import time
import urllib.request
from collections.abc import Callable
from typing import Any

from playwright.sync_api import Locator, Page, expect

from bot.demo.servers import Addresses
from tests.console.conftest import WAIT_MS

SETTING_PANEL = "#setting"
UNREAD = re.compile(r"\bunread\b")


def control(demo: Addresses, path: str, body: Any = None) -> Any:
    """The emulator's control API: what Webex holds (GET), or something done there (POST)."""
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    request = urllib.request.Request(demo.emulator + path, data, headers)  # noqa: S310 - local
    with urllib.request.urlopen(request, timeout=10) as reply:  # noqa: S310 - local
        return json.loads(reply.read())


def wait_until(found: Callable[[], Any], seconds: float = WAIT_MS / 1000) -> None:
    deadline = time.monotonic() + seconds
    while not found():
        assert time.monotonic() < deadline, "not in time"
        time.sleep(0.1)


def watch_checked(demo: Addresses) -> bool:
    """Whether the bot's watch has finished a check (its /metrics say so)."""
    with urllib.request.urlopen(f"{demo.ops}/metrics", timeout=10) as reply:  # noqa: S310 - local
        return 'ecn_bot_watch_checks_total{outcome="ok"}' in reply.read().decode()


def say(page: Page, text: str) -> None:
    page.get_by_role("textbox", name="Message").fill(text)
    page.keyboard.press("Enter")


def last_card(page: Page, text: str) -> Locator:
    """The newest card the renderer drew that shows `text`."""
    return page.locator(".message.from-bot .ac-adaptiveCard").filter(has_text=text).last


def test_alice_edits_the_address_on_the_rendered_form(page: Page, demo: Addresses) -> None:
    say(page, "status")
    status = last_card(page, "Emergency call notifications are OFF")
    expect(status.locator("button.ac-pushButton", has_text="Edit")).to_be_visible()

    status.get_by_role("button", name="Edit").click()
    form = last_card(page, "Notification email address")
    form.get_by_label("Notification email address").fill("ops@example.com")
    form.get_by_role("button", name="Save").click()

    expect(last_card(page, "Setting changed")).to_contain_text("ops@example.com")
    expect(page.locator(f"{SETTING_PANEL} dd[data-field=emailAddress]")).to_have_text(
        "ops@example.com"
    )
    assert control(demo, "/_emulator/setting")["emailAddress"] == "ops@example.com"
    # The press reached Webex as a client's does: the inputs merged with the Save action's data.
    pressed = control(demo, "/_emulator/requests?method=POST&path=/attachment/actions")["items"]
    inputs = pressed[-1]["json"]["inputs"]
    assert inputs["action"] == "save_settings"
    assert inputs["token"]
    assert (inputs["email"], inputs["enabled"], inputs["allLocations"]) == (
        "ops@example.com",
        "false",
        "false",
    )


def test_bob_pressing_save_on_alices_form_is_refused(page: Page, demo: Addresses) -> None:
    page.get_by_role("button", name="Acme Ops").click()
    say(page, "edit")
    expect(last_card(page, "Notification email address")).to_be_visible()

    page.get_by_label("Speak as").select_option("bob")
    expect(page.locator("#person-roles")).to_contain_text("no administrator role")
    expect(page.locator("#space-title")).to_have_text("Acme Ops")
    form = last_card(page, "Notification email address")
    form.get_by_label("Notification email address").fill("evil@example.com")
    form.get_by_role("button", name="Save").click()

    refusal = last_card(page, "Card not accepted")
    expect(refusal).to_contain_text("you have no administrator role")
    expect(page.locator(f"{SETTING_PANEL} dd[data-field=emailAddress]")).to_have_text(
        "security@acme.example"
    )
    assert control(demo, "/_emulator/setting")["emailAddress"] == "security@acme.example"
    assert control(demo, "/_emulator/requests?method=PUT")["items"] == []


def test_a_control_hub_change_is_seen_by_the_watch_in_the_group(
    page: Page, demo: Addresses
) -> None:
    riverside = page.locator("#locations tr", has_text="Riverside Clinic")
    expect(riverside).to_contain_text("On, riverside-desk@acme.example")
    expect(page.locator("#locations tr", has_text="Warehouse")).to_contain_text("No Webex Calling")
    page.get_by_role("button", name="Acme Ops").click()
    wait_until(lambda: watch_checked(demo))  # the watch's first look is its baseline

    hub = page.locator("#controlhub")
    expect(page.locator("#ch-admin")).to_have_text("Alice Adams")  # who Control Hub acts as
    hub.get_by_label("Setting of").select_option(label="Riverside Clinic")
    expect(hub.get_by_label("Notification email address")).to_have_value(
        "riverside-desk@acme.example"
    )
    hub.get_by_label("Emergency call notifications").uncheck()
    hub.get_by_role("button", name="Save in Control Hub").click()

    expect(hub.get_by_role("status")).to_have_text("Saved in Control Hub.")
    expect(riverside).to_contain_text("Off, riverside-desk@acme.example")
    alert = last_card(page, "Alert: emergency call notifications turned off at Riverside Clinic")
    expect(alert).to_contain_text("Alice Adams")  # who, from Webex's admin audit log
    expect(alert.get_by_role("button", name="Restore")).to_be_visible()


def test_control_hub_refuses_a_person_without_an_admin_role(page: Page, demo: Addresses) -> None:
    page.get_by_label("Speak as").select_option("bob")
    hub = page.locator("#controlhub")
    expect(page.locator("#ch-admin")).to_have_text("Bob Brown")
    hub.get_by_label("Emergency call notifications").check()
    hub.get_by_role("button", name="Save in Control Hub").click()

    expect(hub.get_by_role("status")).to_contain_text("Control Hub answered 403")
    assert control(demo, "/_emulator/setting")["emergencyCallNotificationEnabled"] is False


def test_news_in_another_space_marks_it_unread_until_opened(page: Page, demo: Addresses) -> None:
    group = page.get_by_role("button", name="Acme Ops")
    expect(group).not_to_have_class(UNREAD)
    news = {"person": "uma", "room": "group", "text": "whoami", "mention_bot": True}
    control(demo, "/_emulator/messages", news)
    expect(group).to_have_class(UNREAD)
    expect(group).to_contain_text("new messages")
    group.click()
    expect(group).not_to_have_class(UNREAD)
    expect(last_card(page, "Uma Underwood")).to_be_visible()  # the bot's whoami reply
