"""POST /access_token: the authorization-code grant (with PKCE) and the refresh-token grant;
DELETE /authorizations: a person revoking their own authorization of a client.

Two OAuth clients are known: the Service App (refresh only, as Control Hub hands its tokens
out) and the Integration people authorize for personal sign-in. A person's access token acts
with that person's roles, read at every call, as Webex's do.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Callable

from bot.emulator.calls import Call, Reply
from bot.emulator.errors import ApiError
from bot.emulator.ids import decode_id
from bot.emulator.state import RefreshToken, State, Token

Grant = Callable[[Call], Reply]


def oauth_error(status: int, error: str, description: str) -> ApiError:
    """An OAuth-style error (error, error_description) in Webex's error body."""
    return ApiError(status, description, error=error, error_description=description)


def pkce_challenge(verifier: str) -> str:
    """The S256 code challenge of a verifier (RFC 7636: base64url of SHA-256, no padding)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _client(call: Call) -> str:
    """The authenticated client id (client_id and client_secret of a known client)."""
    seed = call.state.seed
    known = {seed.client_id: seed.client_secret,
             seed.integration_client_id: seed.integration_client_secret}
    client_id, secret = call.form.get("client_id", ""), call.form.get("client_secret", "")
    expected = known.get(client_id)
    if expected is None or not secrets.compare_digest(expected, secret):
        raise oauth_error(401, "invalid_client", "Client authentication failed.")
    return client_id


def issue_access_token(state: State, identity_id: str, client_id: str) -> str:
    """A new access token for an identity, shaped like Webex's (<hex>_PF84_<org uuid>)."""
    digest = hashlib.sha256(f"issued:{len(state.tokens)}:{time.time_ns()}".encode()).hexdigest()
    org = decode_id(state.people[identity_id].org_id)
    token = f"{digest}_PF84_{org[1] if org else 'org'}"
    state.tokens[token] = Token(identity_id, time.time() + state.access_token_ttl, client_id)
    return token


def _answer(state: State, access: str, refresh: str, refresh_expires: float | None) -> Reply:
    remaining = (state.refresh_token_ttl if refresh_expires is None
                 else refresh_expires - time.time())
    return Reply(200, {
        "access_token": access,
        "expires_in": state.access_token_ttl,
        "refresh_token": refresh,
        "refresh_token_expires_in": int(remaining),
        "token_type": "Bearer",
    })  # fmt: skip


def _authorization_code(call: Call) -> Reply:
    client_id, form, state = _client(call), call.form, call.state
    code = state.auth_codes.get(form.get("code", ""))
    if code is None or code.used or code.expires_at <= time.time() or code.client_id != client_id:
        raise oauth_error(400, "invalid_grant", "The authorization code is invalid or expired.")
    if form.get("redirect_uri") != code.redirect_uri:
        raise oauth_error(400, "invalid_grant", "redirect_uri does not match the authorization.")
    verifier = form.get("code_verifier", "")
    if code.code_challenge and not (
        verifier and secrets.compare_digest(pkce_challenge(verifier), code.code_challenge)
    ):
        raise oauth_error(400, "invalid_grant", "The code verifier does not match the challenge.")
    code.used = True
    refresh = secrets.token_urlsafe(48)
    expires = time.time() + state.refresh_token_ttl
    state.refresh_tokens[refresh] = RefreshToken(code.identity_id, client_id, expires_at=expires)
    access = issue_access_token(state, code.identity_id, client_id)
    return _answer(state, access, refresh, expires)


def _refresh_token(call: Call) -> Reply:
    client_id, state = _client(call), call.state
    given = call.form.get("refresh_token", "")
    refresh = state.refresh_tokens.get(given)
    expired = refresh is not None and refresh.expires_at is not None and (
        refresh.expires_at <= time.time())
    if refresh is None or refresh.revoked or expired or refresh.client_id != client_id:
        raise oauth_error(400, "invalid_grant", "The refresh token is invalid or revoked.")
    access = issue_access_token(state, refresh.identity_id, client_id)
    return _answer(state, access, given, refresh.expires_at)


GRANTS: dict[str, Grant] = {
    "authorization_code": _authorization_code,
    "refresh_token": _refresh_token,
}


def access_token(call: Call) -> Reply:
    """POST /access_token (form-encoded), by grant_type."""
    grant = GRANTS.get(call.form.get("grant_type", ""))
    if grant is None:
        raise oauth_error(400, "unsupported_grant_type",
                          "grant_type must be authorization_code or refresh_token.")
    return grant(call)


def revoke_authorization(state: State, identity_id: str, client_id: str) -> int:
    """What revoking an app's authorization in Webex does: the person's access tokens for
    that client stop working and their refresh tokens are refused. Returns how many."""
    access = [t for t, info in state.tokens.items()
              if info.identity_id == identity_id and info.client_id == client_id]
    for token in access:
        del state.tokens[token]
    refresh = [r for r in state.refresh_tokens.values()
               if r.identity_id == identity_id and r.client_id == client_id and not r.revoked]
    for item in refresh:
        item.revoked = True
    return len(access) + len(refresh)


def delete_authorization(call: Call) -> Reply:
    """DELETE /authorizations?clientId=…[&orgId=…]: 204 when the caller's authorization of that
    client was revoked (their access and refresh tokens for it, the one used here included).

    Webex calls this an admin API (a Full, User or Device Administrator of the person's own
    organization; Read-only Administrators are not supported; other users revoke in Webex's own
    settings page), so anyone else gets 403. Webex documents no more than the parameters and the
    204: the emulator revokes the caller's own authorization and nobody else's; an orgId other
    than the token's is 403, a client the caller never authorized 404."""
    client_id = call.query.get("clientId", "")
    if not client_id:
        raise ApiError(400, "clientId is required.")
    org_id = call.query.get("orgId") or call.who.org_id
    if org_id != call.who.org_id:
        raise ApiError(403, "Not authorized to delete authorizations of another organization.")
    if call.state.admin_level(call.who, org_id) != "write":
        raise ApiError(403, "Not authorized: deleting authorizations needs a Full, User or "
                            "Device Administrator.")
    if not revoke_authorization(call.state, call.who.id, client_id):
        raise ApiError(404, "No authorization of that client was found.")
    return Reply(204)
