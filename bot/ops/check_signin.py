"""`check`'s lines for the stored tokens: CHANGES_WITH, the Integration, TOKEN_ENCRYPTION_KEY.

The Integration's client id and secret are tried at Webex's token endpoint with a refresh token
that cannot exist: `invalid_grant` means the client was accepted (the token was not),
`invalid_client` or a 401 that it was not. Nothing else is claimed from that answer.
"""

from __future__ import annotations

import secrets

import aiohttp

from bot.errors import WebexError
from bot.ops.lines import Line
from bot.settings import REQUIRED_FOR_SIGN_IN, Settings
from bot.webex.oauth import GrantRefused, TokenEndpoint

HINTS = {
    "WEBEX_INTEGRATION_CLIENT_ID": "create an Integration at developer.webex.com → My Webex "
                                   "Apps with the redirect URI PUBLIC_URL/oauth/callback",
    "WEBEX_INTEGRATION_CLIENT_SECRET": "the Integration's client secret (shown once when it "
                                       "is created; regenerate it there if lost)",
    "TOKEN_ENCRYPTION_KEY": "`python -m bot keygen` prints one; keep it out of the database",
    "PUBLIC_URL": "the bot's public https base URL; Webex sends the browser back to "
                  "PUBLIC_URL/oauth/callback",
}  # fmt: skip


async def sign_in_lines(settings: Settings, session: aiohttp.ClientSession) -> list[Line]:
    """What the stored tokens need, one line each."""
    missing, why = settings.missing_for_tokens()
    lines = [Line(False, name, f"not set (required with {why})", HINTS[name])
             for name in missing]  # fmt: skip
    key = settings.TOKEN_ENCRYPTION_KEY
    if key is not None:
        count = len(key.get_secret_value().split(","))
        lines.append(Line(True, "TOKEN_ENCRYPTION_KEY",
                          f"{count} key{'s' if count > 1 else ''}; the first seals, all open"))
    if not settings.signs_in:
        return [Line(True, "CHANGES_WITH", "service-app: changes use the Service App's token"),
                *lines]
    lines.insert(0, Line(True, "CHANGES_WITH", "admin: changes use each admin's own sign-in"))
    if not any(n in missing for n in REQUIRED_FOR_SIGN_IN[:2]):
        lines.append(await _integration(settings, session))
    if settings.PUBLIC_URL:
        lines.append(Line(True, "sign-in redirect URI", f"{settings.redirect_uri} (register "
                          "exactly this on the Integration)"))
    return lines


async def _integration(settings: Settings, session: aiohttp.ClientSession) -> Line:
    label = "Webex Integration"
    secret = settings.WEBEX_INTEGRATION_CLIENT_SECRET
    endpoint = TokenEndpoint(session, settings.WEBEX_API_URL,
                             client_id=settings.WEBEX_INTEGRATION_CLIENT_ID or "",
                             client_secret=secret.get_secret_value() if secret else "",
                             timeout=settings.WEBEX_TIMEOUT_SECONDS)
    try:
        await endpoint.refresh("check-" + secrets.token_hex(16))
    except GrantRefused as error:
        if error.code == "invalid_grant":
            return Line(True, label, "client id and secret accepted by Webex")
        return Line(False, label, f"Webex refused the client id or secret ({error.code}, status "
                    f"{error.status}, tracking id {error.tracking_id or '–'})",
                    "copy WEBEX_INTEGRATION_CLIENT_ID and _SECRET again from the Integration")
    except WebexError as error:
        return Line(False, label, f"could not be verified: {error.user_message}",
                    "check WEBEX_API_URL and the network to Webex")
    return Line(False, label, "Webex answered a refresh token that cannot exist",
                "check WEBEX_API_URL points at Webex")
