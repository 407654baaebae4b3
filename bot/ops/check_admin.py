"""`check`'s lines about the admin identity: its token, organization, and the setting and roles.

Whether the identity may change the setting is learned without changing it. Webex shows no
token's scopes (`GET /authorizations` lists applications and token types, not scopes; there is
no introspection endpoint), so the scope `spark-admin:telephony_config_write` cannot be seen.
What can be seen is the identity's administrator roles (`GET /people/me` as an admin, names from
`GET /roles`): a Full or User Administrator of the organization may write it, a Read-only
Administrator may not (✗). A Service App holds no role: its right to write is its scopes, which
Webex does not show, so its line is `?` and asks the operator to confirm the scope.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, TypeVar

from bot.errors import AdminTokenError, BotError
from bot.ops.check_base import Line, Probe
from bot.security import Permission, access_for
from bot.webex.rest import as_admin
from bot.webex.telephony import TelephonyClient

T = TypeVar("T")
NETWORK_HINT = "check WEBEX_API_URL and the network to Webex"
WRITE_SCOPE = "spark-admin:telephony_config_write"


async def attempt(call: Awaitable[T]) -> tuple[T | None, BotError | None]:
    try:
        return await call, None
    except BotError as error:
        return None, error


async def admin_token(probe: Probe) -> list[Line]:
    admin = probe.admin
    if admin is None:
        return []  # the settings line already says it is not set
    how = "refreshed with the Service App" if admin.can_refresh else "WEBEX_ADMIN_TOKEN"
    me, error = await attempt(probe.webex.admin_me())
    if me is None:
        assert error is not None
        if isinstance(error, AdminTokenError) and admin.can_refresh:
            hint = ("the refresh token was revoked or expired: a Full Administrator authorizes "
                    "the Service App again in Control Hub; set the new WEBEX_ADMIN_REFRESH_TOKEN")
        elif isinstance(error, AdminTokenError):
            hint = ("WEBEX_ADMIN_TOKEN expired or was revoked: get a new one, or configure "
                    "the Service App's refresh token so the bot renews it")
        else:
            hint = NETWORK_HINT
        return [Line(False, "admin token", admin.last_error or error.described(), hint)]
    probe.admin_me = me
    probe.org_id = probe.settings.WEBEX_ORG_ID or me.orgId
    who = f"{me.displayName} ({me.email or 'no email'})"
    return [Line(True, "admin token", f"valid ({how}): {who}")]


async def organization(probe: Probe) -> list[Line]:
    if probe.admin_me is None:
        return []
    if not probe.org_id:
        return [Line(False, "organization", "the admin identity has no organization",
                     "set WEBEX_ORG_ID")]
    org, error = await attempt(probe.webex.get_organization(probe.org_id))
    if org is None:
        assert error is not None
        return [Line(False, "organization", f"{probe.org_id}: {error.described()}",
                     "check WEBEX_ORG_ID and the scope spark-admin:organizations_read")]
    return [Line(True, "organization", f"{org.displayName} ({org.id})")]


async def setting_readable(probe: Probe) -> list[Line]:
    if probe.admin_me is None or not probe.org_id or probe.admin is None:
        return []
    telephony = TelephonyClient(probe.rest, probe.admin, policy=probe.policy)
    setting, error = await attempt(telephony.get(probe.org_id))
    if setting is None:
        assert error is not None
        return [Line(False, "setting readable", error.described(),
                     "the admin identity needs spark-admin:telephony_config_read and an "
                     "administrator role in the organization, which needs Webex Calling")]
    state = "on" if setting.enabled else "OFF"
    every = "on" if setting.all_locations else "off"
    return [Line(True, "setting readable",
                 f"notifications {state}, to {setting.email or '(no address)'}, "
                 f"all locations {every}")]


async def roles_readable(probe: Probe) -> list[Line]:
    """`GET /roles` names the roles and `GET /people/{id}` shows a person's (admins only)."""
    me, admin = probe.admin_me, probe.admin
    if me is None or admin is None:
        return []
    label = "roles readable"
    await _role_names(probe)
    if probe.role_names is None:
        _, error = await attempt(probe.webex.list_roles())
        detail = error.described() if error else "GET /roles did not answer"
        return [Line(False, label, detail, "the admin identity needs spark-admin:roles_read")]

    async def person(token: str) -> Any:
        return await probe.rest.request("GET", f"/people/{me.id}", token,
                                        endpoint="GET /people/{id}")

    body, error = await attempt(as_admin(admin, person, probe.policy))
    if error is not None or not isinstance(body, dict) or "roles" not in body:
        detail = error.described() if error else "GET /people/{id} answers without roles"
        return [Line(False, label, detail,
                     "the admin identity needs spark-admin:people_read and an administrator "
                     "role: without it no sender's roles can be read, and every command is "
                     "refused")]
    # Only the administrator roles are named (the ones that decide access); the count says how
    # many of all the roles those are, so the number and the list agree.
    names = sorted(n for n in probe.role_names.values() if "Administrator" in n)
    counted = f"{len(probe.role_names)} roles, {len(names)} of them administrator roles"
    return [Line(True, label, f"{counted} ({', '.join(names)}); people's roles are shown")]


async def _role_names(probe: Probe) -> None:
    if probe.role_names is None:
        roles, _ = await attempt(probe.webex.list_roles())
        if roles is not None:
            probe.role_names = {r.id: r.name for r in roles}


async def setting_writable(probe: Probe) -> list[Line]:
    """May the admin identity change the setting? Learned from its roles (the module says how)."""
    me, org_id = probe.admin_me, probe.org_id
    if me is None or not org_id:
        return []
    label = "setting writable"
    await _role_names(probe)
    if probe.role_names is None:
        return [Line(None, label, "cannot tell: the roles cannot be read (below)",
                     "fix `roles readable`, then check again")]
    held = [probe.role_names.get(r, r) for r in me.roles]
    access = access_for(me, held, org_id)
    scope_note = f"its token must also hold {WRITE_SCOPE}, which Webex does not show"
    if access.allows(Permission.CHANGE):
        return [Line(True, label, f"{', '.join(access.role_names)}: may change it ({scope_note})")]
    if me.orgId != org_id:
        return [Line(None, label, "the admin identity belongs to another organization (a "
                                  "partner): its rights in this one are not shown",
                     f"confirm it is a partner Full Administrator with {WRITE_SCOPE}")]
    if not held and me.type == "appuser":
        return [Line(None, label, f"a Service App: it may write with {WRITE_SCOPE}, and Webex "
                                  "does not show its scopes without a write",
                     f"confirm {WRITE_SCOPE} among the Service App's scopes "
                     "(developer.webex.com → My Webex Apps), authorized again after a change")]
    roles = ", ".join(access.role_names) or "no administrator role"
    return [Line(False, label, f"{roles}: may not change the setting (every change would be "
                               "refused)",
                 "use the token of a Full or User Administrator, or a Service App with "
                 f"{WRITE_SCOPE}")]
