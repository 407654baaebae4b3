"""Every card is valid Adaptive Card 1.3 with a readable fallback, and carries values exactly."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.views import cards
from bot.views.cards import (
    CONTENT_TYPE,
    CardMessage,
    Fact,
    HistoryRow,
    SettingView,
    change_card,
    disable_confirm_card,
    edit_form_card,
    escape_markdown,
    format_utc,
    help_card,
    history_card,
    notice_card,
    status_card,
    validate_card,
    whoami_card,
)
from bot.views.location_cards import location_change_card
from bot.views.signin import sign_in_card
from bot.views.templating import expand, load_template, template_names

DATA = Path(__file__).parent / "data"
CARDS_DIR = Path(__file__).resolve().parent.parent / "cards"
AT = datetime(2024, 5, 1, 14, 3, tzinfo=UTC)
ON = SettingView(enabled=True, email="security-desk@acmehealth.example", all_locations=True)
OFF = SettingView(enabled=False, email=None, all_locations=False)
LONG_EMAIL = "a" * 64 + "@" + ("sub" * 20 + ".") * 3 + "example"
HOSTILE = '"}, {"x": ${token} ${$root.token} **bold** _i_ [l](http://x) <b>&amp; \\ `c` # h\n- li'
SETTINGS = [ON, OFF, SettingView(True, "", False), SettingView(True, LONG_EMAIL, False)]
NAMES = ["Acme Health", "Ærøskøbing Kommune — 東京支社 🚑", "x" * 300]


@cache
def _schema_validator() -> jsonschema.Draft6Validator:
    return jsonschema.Draft6Validator(
        json.loads((DATA / "adaptive-card-1.3.schema.json").read_text())
    )


def assert_good(message: CardMessage) -> None:
    """Valid 1.3 (the shipped check and the test copy of the schema); fallback within limits."""
    validate_card(message.card)
    _schema_validator().validate(message.card)
    assert message.card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    assert message.card["type"] == "AdaptiveCard"
    assert message.card["version"] == "1.3"
    shown = json.dumps(message.card)
    for hostile in (HOSTILE, escape_markdown(HOSTILE)):
        shown = shown.replace(json.dumps(hostile)[1:-1], "")
    assert "${" not in shown
    assert message.markdown.strip()
    assert len(message.markdown.encode()) <= cards.MARKDOWN_LIMIT
    assert message.attachments() == [{"contentType": CONTENT_TYPE, "content": message.card}]


def walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item)


def by_id(card: dict[str, Any], input_id: str) -> dict[str, Any]:
    (found,) = [n for n in walk(card) if n.get("id") == input_id]
    return found


def submits(card: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n["title"]: n for n in walk(card) if n.get("type") == "Action.Submit"}


def strings(card: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for node in walk(card):
        out += [v for v in node.values() if isinstance(v, str)]
    return out


def displayed(card: dict[str, Any]) -> list[str]:
    """What a client renders as markdown: TextBlock text, fact titles and values."""
    out = [n["text"] for n in walk(card) if n.get("type") == "TextBlock"]
    return out + [f[k] for n in walk(card) for f in n.get("facts", []) for k in ("title", "value")]


def unescaped(text: str) -> str:
    """Markdown's backslash escapes resolved: the characters a person reads."""
    return re.sub(r"\\(.)", r"\1", text, flags=re.S)


def history_rows(n: int, who: str = "Ann Admin") -> list[HistoryRow]:
    return [
        HistoryRow(AT - timedelta(hours=i), who, "card", "enable", OFF, ON, "applied", "ok")
        if i % 2 == 0
        else HistoryRow(AT, who, "command", "disable", None, None, "refused", None)
        for i in range(n)
    ]


BUILDERS: dict[str, Callable[[str, str, SettingView], CardMessage]] = {
    "status_editable": lambda org, who, s: status_card(
        org_name=org, setting=s, checked_at=AT, edit_token="tok-1"
    ),
    "status_read_only": lambda org, who, s: status_card(
        org_name=org, setting=s, checked_at=AT, edit_token=None
    ),
    "change": lambda org, who, s: change_card(
        org_name=org, before=OFF, after=s, changed_by=who, at=AT, source="card"
    ),
    "change_address_check": lambda org, who, s: change_card(
        org_name=org, before=OFF, after=s, changed_by=who, at=AT, source="command",
        address_check=s.email or who, edit_token="tok-1",
    ),
    "change_coverage": lambda org, who, s: change_card(
        org_name=org, before=OFF, after=s, changed_by=who, at=AT, source="command",
        coverage=f"No location is covered: {escape_markdown(who)}.", covered=False,
    ),
    "location_change": lambda org, who, s: location_change_card(
        org_name=org, location_name=who, before=OFF, after=s, changed_by=who, at=AT,
        source="command", coverage=f"{escape_markdown(who)}: not covered.", covered=None,
    ),
    "all_locations_confirm": lambda org, who, s: disable_confirm_card(
        org_name=org, setting=s, requested_by=who, token="tok-1", expires_at=AT,
        question="Turn off email for all locations?",
        confirm_label="Turn off email for all locations", keep_label="Keep it on",
        consequence=f"This leaves 1 of 2 locations uncovered: {who}.",
    ),
    "edit_form": lambda org, who, s: edit_form_card(
        org_name=org, setting=s, token="tok-1", expires_at=AT
    ),
    "disable_confirm": lambda org, who, s: disable_confirm_card(
        org_name=org, setting=s, requested_by=who, token="tok-1", expires_at=AT
    ),
    "notice": lambda org, who, s: notice_card(  # the caller escapes what it puts in text
        title=f"Not allowed in {escape_markdown(org)}",
        text=f"{escape_markdown(who)} is not an administrator.",
        style="attention",
        facts=[Fact("Email", s.email or "(none)"), Fact("Who", who)],
        tracking_id="ROUTER_6A1B",
    ),
    "notice_plain": lambda org, who, s: notice_card(title="Card already used",
                                                    text=escape_markdown(who)),
    "help": lambda org, who, s: help_card(
        title=f"Emergency call notifications — {escape_markdown(org)}",
        intro=f"Hi {escape_markdown(who)}",
        commands=[("status", "Show the setting"), ("enable <email>", "Turn on")],
        buttons=[("Show status", "status"), ("Edit", "edit")],
        token="tok-1",
    ),
    "help_no_buttons": lambda org, who, s: help_card(
        title="Help", intro=escape_markdown(who), commands=[], buttons=[], token=None
    ),
    "whoami": lambda org, who, s: whoami_card(
        display_name=who,
        email=s.email,
        org_name=org,
        roles=["Full Administrator"],
        allowed=["read the setting", "change the setting"],
    ),
    "whoami_nobody": lambda org, who, s: whoami_card(
        display_name=who, email=None, org_name=org, roles=[], allowed=[]
    ),
    "history_empty": lambda org, who, s: history_card(org_name=org, rows=[]),
    "history_one": lambda org, who, s: history_card(org_name=org, rows=history_rows(1, who)),
    "history_many": lambda org, who, s: history_card(org_name=org, rows=history_rows(500, who)),
}


@pytest.mark.parametrize("setting", SETTINGS, ids=["on", "off", "empty-email", "long-email"])
@pytest.mark.parametrize("org", NAMES, ids=["ascii", "unicode", "long"])
@pytest.mark.parametrize("builder", BUILDERS.values(), ids=BUILDERS.keys())
def test_every_card_validates_with_a_fallback_within_limits(
    builder: Callable[[str, str, SettingView], CardMessage], org: str, setting: SettingView
) -> None:
    assert_good(builder(org, "Zoë O'Brien-Łukasz", setting))


@pytest.mark.parametrize("builder", BUILDERS.values(), ids=BUILDERS.keys())
def test_hostile_text_shows_as_its_characters_never_as_markdown(
    builder: Callable[[str, str, SettingView], CardMessage],
) -> None:
    message = builder(HOSTILE, HOSTILE, SettingView(True, HOSTILE, True))
    assert_good(message)
    rendered = displayed(message.card)
    assert any(" ".join(HOSTILE.splitlines()) in unescaped(s) for s in rendered)
    for text in [*rendered, message.markdown]:
        assert not re.search(r"(?<!\\)\[l\]\(", text), text  # no link
        assert "**bold**" not in text and "`c`" not in text


@pytest.mark.parametrize(
    ("setting", "enabled", "email", "all_locations"),
    [
        (ON, "true", ON.email, "true"),
        (OFF, "false", "", "false"),
        (SettingView(True, LONG_EMAIL, False), "true", LONG_EMAIL, "false"),
    ],
)
def test_edit_form_is_prefilled_from_the_setting(
    setting: SettingView, enabled: str, email: str, all_locations: str
) -> None:
    card = edit_form_card(org_name="Acme", setting=setting, token="t", expires_at=AT).card
    for input_id, value in [("enabled", enabled), ("allLocations", all_locations)]:
        toggle = by_id(card, input_id)
        assert (toggle["type"], toggle["value"]) == ("Input.Toggle", value)
        assert (toggle["valueOn"], toggle["valueOff"]) == ("true", "false")
    text = by_id(card, "email")
    assert (text["type"], text["style"], text["value"]) == ("Input.Text", "email", email)
    assert text["isRequired"] is True and text["label"] and text["errorMessage"]


@pytest.mark.parametrize("email", ["security@acme.com", "first.last+911@sub.acme-health.org"])
def test_edit_form_regex_accepts_real_addresses(email: str) -> None:
    card = edit_form_card(org_name="Acme", setting=ON, token="t", expires_at=AT).card
    assert re.fullmatch(by_id(card, "email")["regex"], email)


@pytest.mark.parametrize(
    "email", ["", "security", "a@b", "a b@c.com", "a@b.com, c@d.com", "@x.com"]
)
def test_edit_form_regex_rejects_non_addresses(email: str) -> None:
    card = edit_form_card(org_name="Acme", setting=ON, token="t", expires_at=AT).card
    assert not re.fullmatch(by_id(card, "email")["regex"], email)


def test_edit_form_submits_save_and_cancel_with_the_token() -> None:
    message = edit_form_card(org_name="Acme", setting=ON, token=HOSTILE, expires_at=AT)
    actions = submits(message.card)
    assert actions["Save"]["data"] == {"action": "save_settings", "token": HOSTILE}
    assert actions["Cancel"]["data"] == {"action": "cancel", "token": HOSTILE}
    assert actions["Cancel"]["associatedInputs"] == "none"  # cancel works with a bad email
    assert "2024-05-01 14:03 UTC" in json.dumps(message.card) and "2024-05-01 14:03 UTC" in (
        message.markdown
    )


def test_disable_confirm_states_the_consequence_and_submits_with_the_token() -> None:
    message = disable_confirm_card(
        org_name="Acme Health", setting=ON, requested_by="Ann", token="tok-9", expires_at=AT
    )
    text = " ".join(strings(message.card))
    assert "115-127" in text and "Only Ann can confirm" in text
    assert f"send no email notification to {ON.email}" in text
    assert "115-127" in message.markdown and "Only Ann can confirm" in message.markdown
    actions = submits(message.card)
    assert actions["Turn off notifications"]["style"] == "destructive"
    assert actions["Turn off notifications"]["data"] == {
        "action": "confirm_disable",
        "token": "tok-9",
    }
    assert actions["Keep them on"]["data"] == {"action": "cancel", "token": "tok-9"}


def test_status_has_edit_only_with_a_token() -> None:
    editable = status_card(org_name="Acme", setting=ON, checked_at=AT, edit_token="tok-2")
    assert submits(editable.card)["Edit"]["data"] == {"action": "edit", "token": "tok-2"}
    read_only = status_card(org_name="Acme", setting=ON, checked_at=AT, edit_token=None)
    assert submits(read_only.card) == {}


@pytest.mark.parametrize(("setting", "shown"), [(ON, "ON"), (OFF, "OFF")])
def test_status_shows_the_setting(setting: SettingView, shown: str) -> None:
    message = status_card(org_name="Acme Health", setting=setting, checked_at=AT, edit_token=None)
    text = strings(message.card)
    assert "Emergency call notifications — Acme Health" in text
    assert f"Emergency call notifications are {shown}" in text
    assert (setting.email or "(none)") in text
    assert escape_markdown(setting.email or "(none)") in message.markdown


def test_empty_email_is_shown_as_none() -> None:
    message = status_card(
        org_name="Acme", setting=SettingView(True, "", True), checked_at=AT, edit_token=None
    )
    facts = {f["title"]: f["value"] for n in walk(message.card) for f in n.get("facts", [])}
    assert facts["Notification email"] == "(none)"


def test_change_card_highlights_only_changed_fields() -> None:
    after = SettingView(True, None, False)
    message = change_card(
        org_name="Acme", before=OFF, after=after, changed_by="Ann", at=AT, source="card"
    )
    highlighted = [n["text"] for n in walk(message.card) if n.get("color") == "accent"]
    assert highlighted == ["On"]
    assert "Off → **On**" in message.markdown and "(none) (unchanged)" in message.markdown
    assert "Ann" in strings(message.card) and "2024-05-01 14:03 UTC" in strings(message.card)


def test_change_card_states_coverage_in_its_colour() -> None:
    for covered, colour in ((True, "good"), (False, "attention"), (None, "default")):
        message = change_card(org_name="Acme", before=OFF, after=ON, changed_by="Ann", at=AT,
                              source="card", coverage="Every location is covered.",
                              covered=covered)
        [line] = [n for n in walk(message.card) if n.get("text") == "Every location is covered."]
        assert line["color"] == colour
        assert "**Every location is covered.**" in message.markdown
    plain = change_card(org_name="Acme", before=OFF, after=ON, changed_by="Ann", at=AT,
                        source="card")
    assert not [n for n in walk(plain.card) if "covered" in str(n.get("text", ""))]


def test_location_change_card_shows_only_the_fields_that_changed() -> None:
    message = location_change_card(
        org_name="Acme", location_name="HQ", before=SettingView(False, "hq@a.example", False),
        after=SettingView(True, "hq@a.example", False), changed_by="Ann", at=AT,
        source="command", coverage="HQ: not covered — notifications are off.", covered=False)
    text = strings(message.card)
    assert "Location's own notification" in text and "HQ: not covered" in " ".join(text)
    assert "Location's notification email" not in text
    assert "Location's own notification: Off → **On**" in message.markdown
    assert "hq@a.example" not in message.markdown


def test_confirm_card_asks_its_own_question_with_its_own_buttons() -> None:
    message = disable_confirm_card(
        org_name="Acme", setting=ON, requested_by="Ann", token="tok-9", expires_at=AT,
        question="Turn off email for all locations?", confirm_label="Turn it off",
        keep_label="Keep it on", consequence="This leaves 2 of 3 locations uncovered: [x](y).")
    text = " ".join(strings(message.card))
    assert "Turn off email for all locations?" in text and "115-127" in text
    assert "uncovered: \\[x\\](y)" in text  # a location's name is shown as typed
    assert submits(message.card)["Turn it off"]["data"] == {"action": "confirm_disable",
                                                            "token": "tok-9"}
    assert submits(message.card)["Keep it on"]["data"] == {"action": "cancel", "token": "tok-9"}
    assert "turn off email for all locations?" in message.markdown


def test_times_are_shown_in_utc() -> None:
    eastern = datetime(2024, 5, 1, 10, 3, tzinfo=timezone(timedelta(hours=-4)))
    message = change_card(org_name="Acme", before=OFF, after=ON, changed_by="Ann",
                          at=eastern, source="command")
    assert "2024-05-01 14:03 UTC" in message.markdown


def test_notice_shows_the_tracking_id_and_facts_only_when_given() -> None:
    with_id = notice_card(
        title="Webex said no",
        text="Try later",
        style="warning",
        facts=[Fact("Status", "503")],
        tracking_id="ROUTER_1",
    )
    assert "Webex tracking ID: ROUTER\\_1" in strings(with_id.card)
    assert "ROUTER\\_1" in with_id.markdown and "Status: 503" in with_id.markdown
    assert with_id.card["body"][0]["style"] == "warning"
    plain = notice_card(title="Done", text="ok")
    assert not any("tracking" in s for s in strings(plain.card))
    assert not any(n.get("type") == "FactSet" for n in walk(plain.card))


def test_help_buttons_submit_their_action_with_the_token() -> None:
    message = help_card(
        title="Help",
        intro="Hi",
        commands=[("status", "Show it")],
        buttons=[("Show status", "status"), ("Edit", "edit")],
        token="t-3",
    )
    assert {t: a["data"] for t, a in submits(message.card).items()} == {
        "Show status": {"action": "status", "token": "t-3"},
        "Edit": {"action": "edit", "token": "t-3"},
    }
    assert "status" in strings(message.card) and "**status**: Show it" in message.markdown


def test_history_card_is_cut_to_fit() -> None:
    message = history_card(org_name="Acme", rows=history_rows(500, who="W" * 200))
    assert_good(message)
    assert sum(1 for n in walk(message.card) if n.get("type") == "Container") == (
        cards.HISTORY_CARD_ROWS
    )
    assert "more not shown" in message.markdown
    assert "History: the latest 20 of 500 entries." in strings(message.card)


def test_history_card_says_when_empty() -> None:
    message = history_card(org_name="Acme", rows=[])
    assert "History: no changes recorded yet." in strings(message.card)
    assert "no changes recorded yet" in message.markdown


def test_history_row_shows_what_changed() -> None:
    row = HistoryRow(AT, "Ann", "card", "enable", OFF, ON, "applied", "PUT 204")
    text = strings(history_card(org_name="Acme", rows=[row]).card)
    assert "Notifications: Off → On" in " ".join(text) and "PUT 204" in text


def test_whoami_lists_what_the_person_may_do() -> None:
    message = whoami_card(
        display_name="Ann", email=None, org_name="Acme", roles=[], allowed=["read the setting"]
    )
    assert "• read the setting" in strings(message.card)
    assert "- Email: (none)" in message.markdown


def test_sign_in_card_opens_the_authorize_page_and_says_until_when() -> None:
    url = "https://webexapis.com/v1/authorize?client_id=C1&state=abc.def"
    message = sign_in_card(why="Changes use your own Webex authorization.", url=url,
                           expires_at=AT)
    assert_good(message)
    [action] = message.card["actions"]
    assert (action["type"], action["url"]) == ("Action.OpenUrl", url)
    assert url in message.markdown and format_utc(AT) in " ".join(strings(message.card))


def test_whoami_says_whether_you_are_signed_in() -> None:
    message = whoami_card(display_name="Ann", email=None, org_name="Acme", roles=[], allowed=[],
                          sign_in="Signed in with Webex until 2027-03-01 12:00 UTC")
    assert "Signed in with Webex until 2027-03-01 12:00 UTC" in strings(message.card)
    assert "Signed in with Webex until 2027-03-01 12:00 UTC" in message.markdown


@pytest.mark.parametrize("name", template_names())
def test_template_files_are_adaptive_card_1_3(name: str) -> None:
    template = json.loads((CARDS_DIR / f"{name}.json").read_text(encoding="utf-8"))
    assert template["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    assert (template["type"], template["version"]) == ("AdaptiveCard", "1.3")
    assert load_template(name) == template


def test_every_template_file_is_used() -> None:
    assert template_names() == sorted(p.stem for p in CARDS_DIR.glob("*.json"))
    assert set(template_names()) == {
        "change",
        "coverage",
        "disable_confirm",
        "edit_form",
        "help",
        "history",
        "location_form",
        "notice",
        "sign_in",
        "status",
        "watch_change",
        "whoami",
    }


def test_unknown_template_path_is_a_key_error() -> None:
    with pytest.raises(KeyError, match=r"setting\.enabled"):
        expand(load_template("status"), {"title": "x", "setting": {}})


def test_shipped_schema_is_the_test_copy() -> None:
    shipped = Path(cards.__file__).parent / "adaptive-card-1.3.schema.json"
    assert shipped.read_bytes() == (DATA / "adaptive-card-1.3.schema.json").read_bytes()


def _card(*body: dict[str, Any], version: str = "1.3", **extra: Any) -> dict[str, Any]:
    return {"type": "AdaptiveCard", "version": version, "body": list(body), **extra}


@pytest.mark.parametrize(
    "card",
    [
        _card({"type": "TextBlock"}),  # text is required
        _card({"type": "TextBlock", "text": "x", "$when": "${a}"}),  # template key left behind
        _card({"type": "Media", "sources": [{"url": "https://x/a.mp4", "mimeType": "video/mp4"}]}),
        _card(
            {"type": "TextBlock", "text": "x"}, actions=[{"type": "Action.Execute", "verb": "x"}]
        ),
        _card({"type": "TextBlock", "text": "x"}, version="1.5"),
        _card({"type": "Input.Text", "id": "e", "style": "password"}),
    ],
)
def test_validate_card_rejects_what_webex_cannot_show(card: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        validate_card(card)


@settings(max_examples=40, deadline=None)
@given(name=st.text(max_size=400), email=st.text(max_size=300) | st.none())
def test_any_names_give_a_valid_card_and_exact_values(name: str, email: str | None) -> None:
    setting = SettingView(enabled=True, email=email, all_locations=False)
    form = edit_form_card(org_name=name, setting=setting, token=name, expires_at=AT)
    assert_good(form)
    assert by_id(form.card, "email")["value"] == (email or "")
    assert submits(form.card)["Save"]["data"]["token"] == name
    confirm = disable_confirm_card(
        org_name=name, setting=setting, requested_by=name, token="t", expires_at=AT
    )
    assert_good(confirm)
    assert {"title": "Requested by", "value": escape_markdown(name)} in [
        f for n in walk(confirm.card) for f in n.get("facts", [])
    ]


@given(text=st.text())
def test_escaped_markdown_has_no_bare_special_characters(text: str) -> None:
    escaped = escape_markdown(text)
    assert "\n" not in escaped and "\r" not in escaped
    unescaped = re.sub(r"\\(.)", r"\1", escaped, flags=re.S)
    assert unescaped == " ".join(text.splitlines())
    assert not re.search(r"(?<!\\)(\\\\)*[`*_\[\]<>#|~&]", escaped.replace("\\\\", ""))


def test_history_fallback_says_why_an_attempt_was_refused_or_failed() -> None:
    row = HistoryRow(at=AT, who="bob@acme.example", source="command", action="enable",
                     before=None, after=None, outcome="failed",
                     detail="Invalid domain (tracking id EMU_123)")
    message = history_card(org_name="Acme", rows=[row])
    assert "Invalid domain" in message.markdown and "EMU\\_123" in message.markdown
