"""Personal sign-in in words: the sign-in card, and the page the browser shows afterwards."""

from __future__ import annotations

import html
from datetime import datetime
from string import Template

from bot.views.cards import CardMessage, escape_markdown, format_utc
from bot.views.templating import expand, load_template

SIGN_IN_TITLE = "Sign in with Webex"
PAGE = Template("""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<meta name="referrer" content="no-referrer"><title>$title</title></head>
<body style="font-family: sans-serif; max-width: 36em; margin: 3em auto; line-height: 1.4">
<h1>$title</h1><p>$text</p></body></html>
""")


def sign_in_card(*, why: str, url: str, expires_at: datetime) -> CardMessage:
    """The card whose button opens Webex's authorize page (the URL carries no token)."""
    expires = format_utc(expires_at)
    data = {"title": SIGN_IN_TITLE, "why": why, "url": url, "expiresAt": expires}
    markdown = "\n".join([
        f"**{SIGN_IN_TITLE}**", escape_markdown(why),
        f"[Open Webex's sign-in page]({url}) — it works once, for you only, until {expires}.",
    ])  # fmt: skip
    return CardMessage(markdown=markdown, card=expand(load_template("sign_in"), data))


def result_page(title: str, text: str) -> str:
    """The small HTML page the browser shows after the callback."""
    return PAGE.substitute(title=html.escape(title), text=html.escape(text))
