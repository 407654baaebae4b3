"""GET/POST /v1/authorize: the page where a person signs in and approves (or denies) an
Integration, then is redirected back with `code` and `state` (or `error=access_denied`).

Webex shows its own login here; the emulator lists the seeded people to sign in as. It accepts
any absolute http(s) `redirect_uri` (Webex accepts only those registered on the Integration;
tests run the bot on free ports) and checks at the token endpoint that it is the same one.
"""

from __future__ import annotations

import html
import secrets
import time
from string import Template
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urlsplit

from aiohttp import web

from bot.emulator.state import AuthCode

if TYPE_CHECKING:
    from bot.emulator.app import Emulator

CODE_TTL_SECONDS = 600
CARRIED = ("client_id", "redirect_uri", "scope", "state", "code_challenge",
           "code_challenge_method")
PAGE = Template("""<!doctype html>
<html><head><meta charset="utf-8"><title>Webex (emulator): sign in</title></head>
<body><h1>Sign in to Webex</h1>
<p>$app wants to act on your behalf with: $scope</p>
<form method="post" action="/v1/authorize">$hidden
$people
<p><button name="decision" value="deny">Deny</button></p>
</form></body></html>
""")
PERSON = Template('<p><button name="person" value="$id">Sign in as $name ($email) and '
                  'accept</button></p>')
ERROR = Template("<!doctype html><html><body><h1>Webex (emulator)</h1><p>$message</p>"
                 "</body></html>")


def _problem(emu: Emulator, fields: dict[str, str]) -> str | None:
    """Why the request cannot even be redirected back (shown on the page, as Webex does)."""
    if fields.get("client_id") != emu.seed.integration_client_id:
        return "Unknown client_id: no Integration with that id."
    target = urlsplit(fields.get("redirect_uri", ""))
    if target.scheme not in ("http", "https") or not target.netloc:
        return "redirect_uri must be an absolute http or https URL."
    return None


def _redirect_problem(fields: dict[str, str]) -> str | None:
    """An OAuth error to send back to the client's redirect_uri, if any."""
    if fields.get("response_type", "code") != "code":
        return "unsupported_response_type"
    method = fields.get("code_challenge_method", "")
    if fields.get("code_challenge") and method != "S256":
        return "invalid_request"
    return None


def _back(fields: dict[str, str], **answer: str) -> web.HTTPFound:
    answer = {**answer, **({"state": fields["state"]} if "state" in fields else {})}
    separator = "&" if "?" in fields["redirect_uri"] else "?"
    return web.HTTPFound(fields["redirect_uri"] + separator + urlencode(answer))


def authorize_routes(emu: Emulator) -> list[web.RouteDef]:
    """The authorize page bound to one emulator."""

    def error_page(message: str) -> web.Response:
        body = ERROR.substitute(message=html.escape(message))
        return web.Response(status=400, text=body, content_type="text/html")

    async def show(request: web.Request) -> web.Response:
        fields = dict(request.query)
        problem = _problem(emu, fields)
        if problem:
            return error_page(problem)
        error = _redirect_problem(fields)
        if error:
            raise _back(fields, error=error)
        hidden = "".join(
            f'<input type="hidden" name="{k}" value="{html.escape(fields[k])}">'
            for k in CARRIED if k in fields)  # fmt: skip
        people = "\n".join(
            PERSON.substitute(id=html.escape(p.id), name=html.escape(p.display_name),
                              email=html.escape(p.email))
            for p in emu.seed.people.values())  # fmt: skip
        body = PAGE.substitute(app="Kari Bot", scope=html.escape(fields.get("scope", "")),
                               hidden=hidden, people=people)
        return web.Response(text=body, content_type="text/html")

    async def decide(request: web.Request) -> web.Response:
        fields = {k: str(v) for k, v in (await request.post()).items()}
        problem = _problem(emu, fields)
        if problem:
            return error_page(problem)
        if fields.get("decision") == "deny":
            raise _back(fields, error="access_denied",
                        error_description="The user denied the request.")
        person = emu.state.people.get(fields.get("person", ""))
        if person is None or person.kind != "person":
            return error_page("Choose a person to sign in as.")
        code = secrets.token_urlsafe(32)
        emu.state.auth_codes[code] = AuthCode(
            person.id, fields["client_id"], fields["redirect_uri"], fields.get("scope", ""),
            fields.get("code_challenge", ""), time.time() + CODE_TTL_SECONDS)
        raise _back(fields, code=code)

    return [web.get("/v1/authorize", show), web.post("/v1/authorize", decide)]
