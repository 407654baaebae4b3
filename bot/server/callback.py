"""GET /oauth/callback: where Webex sends an admin's browser back after personal sign-in.

The one public endpoint besides the webhook. Rate limited per connecting address and in total,
before any work; the query's code and state are never logged or echoed; the browser gets a
small page in plain words and the person a message in their 1:1 space saying what happened.
Behind the receiving process the worker sees a local socket: the receiver names the peer in
PEER_HEADER, which is believed only on that socket.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.conversation.ratelimit import RateLimiter
from bot.errors import BotError
from bot.models import PEER_HEADER
from bot.views.cards import format_utc, notice_card
from bot.views.signin import result_page
from bot.webex.gateway import WebexGateway
from bot.webex.signin_flow import Outcome, SignInFlow

log = logging.getLogger(__name__)
PER_PEER_PER_MINUTE = 20
IN_TOTAL_PER_MINUTE = 120
AGAIN = "Say `sign in` to the bot for a new link."
HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
           "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY"}
# kind → (HTTP status, page title, page text, text of the 1:1 message or None)
RESULTS: dict[str, tuple[int, str, str, str | None]] = {
    "signed_in": (200, "Signed in", "You are signed in to the bot as {who}. You can close this "
                  "window.", "You are signed in with Webex as {who} until {until}. I read and "
                  "change the setting with your own authorization from now on."),
    "denied": (400, "Not signed in", f"You declined on Webex's page; nothing was stored. {AGAIN}",
               "You declined the sign-in on Webex's page; nothing was stored."),
    "unknown": (400, "Link not recognised", "This sign-in link was not issued by the bot or was "
                f"changed; nothing was stored. {AGAIN}", None),
    "expired": (400, "Link expired", f"Sign-in links work for 10 minutes; nothing was stored. "
                f"{AGAIN}", f"That sign-in link had expired; nothing was stored. {AGAIN}"),
    "replayed": (400, "Link already used", "Each sign-in link works once; nothing was stored. "
                 f"{AGAIN}", "A sign-in link of yours was opened again after it had been used; "
                 "nothing was stored."),
    "other_person": (403, "Signed in as someone else", "Webex signed in {who}, but the link was "
                     "for another person: that token was not kept. Sign in with your own "
                     "account.", "Your sign-in link was completed with the Webex account of "
                     "{who}; I did not keep that token. Say `sign in` and use your own account."),
    "failed": (502, "Sign-in did not complete", f"{{detail}} Nothing was stored. {AGAIN}",
               f"Your sign-in did not complete: {{detail}} {AGAIN}"),
    "busy": (429, "Too many attempts", "Too many sign-in attempts just now; wait a minute and "
             "open the link again.", None),
}  # fmt: skip


def _texts(outcome: Outcome) -> dict[str, str]:
    until = format_utc(outcome.until) if outcome.until else "it is revoked"
    return {"who": outcome.who.label if outcome.who else "someone", "until": until,
            "detail": outcome.detail}


def make_callback(flow_of: Callable[[web.Request], tuple[SignInFlow, WebexGateway] | None]
                  ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The route's handler; `flow_of` finds the running flow (None while starting)."""
    per_peer, in_total = RateLimiter(PER_PEER_PER_MINUTE), RateLimiter(IN_TOTAL_PER_MINUTE)

    def page(kind: str, outcome: Outcome | None = None) -> web.Response:
        status, title, text, _ = RESULTS[kind]
        text = text.format(**_texts(outcome)) if outcome else text
        return web.Response(status=status, text=result_page(title, text),
                            content_type="text/html", headers=HEADERS)

    async def callback(request: web.Request) -> web.StreamResponse:
        peer = request.remote or request.headers.get(PEER_HEADER) or ""
        if not (per_peer.allow(peer) and in_total.allow("*")):
            log.warning("sign-in callback rate limited")
            return page("busy")
        found = flow_of(request)
        if found is None:
            return web.Response(status=503, text="starting", headers=HEADERS)
        flow, webex = found
        query = request.query
        outcome = await flow.finish(query.get("state", ""), query.get("code", ""),
                                    query.get("error", ""))
        await _tell(webex, outcome)
        return page(outcome.kind, outcome)

    return callback


async def _tell(webex: WebexGateway, outcome: Outcome) -> None:
    """The person who asked hears what happened, in their 1:1 space."""
    message = RESULTS[outcome.kind][3]
    if outcome.person_id is None or message is None:
        return
    good = outcome.kind == "signed_in"
    card = notice_card(title="Signed in with Webex" if good else "Webex sign-in",
                       text=message.format(**_texts(outcome)),
                       style="good" if good else "warning")
    try:
        await webex.post_message("", card.markdown, attachments=card.attachments(),
                                 to_person_id=outcome.person_id)
    except BotError as error:
        log.warning("could not tell %s about their sign-in: %s", outcome.person_id,
                    error.described())
