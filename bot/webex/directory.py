"""Who people are, as the admin identity sees them: roles, organization, names; briefly cached."""

from __future__ import annotations

import asyncio
import logging

from bot.errors import WebexError
from bot.models import Person
from bot.security import Access, access_for
from bot.webex.cache import TTLCache
from bot.webex.gateway import WebexGateway

log = logging.getLogger(__name__)
ROLE_NAMES_TTL = 600.0
ORG_NAME_TTL = 3600.0


class AuthorizationUnavailable(WebexError):
    """The permission check could not be made; the answer is then no."""


class Directory:
    """Resolves a person's access to the target organization, and organization names."""

    def __init__(self, webex: WebexGateway, target_org: str, *, person_ttl: float = 60.0) -> None:
        self._webex = webex
        self.target_org = target_org
        self._people: TTLCache[str, Person] = TTLCache(min(person_ttl, 60.0))
        self._role_names: TTLCache[str, dict[str, str]] = TTLCache(ROLE_NAMES_TTL, maxsize=1)
        self._org_names: TTLCache[str, str] = TTLCache(ORG_NAME_TTL, maxsize=1_000)

    async def access(self, person_id: str) -> Access:
        """The person's access; AuthorizationUnavailable when Webex cannot tell (fail closed)."""
        try:
            person = await self._people.get_or_load(
                person_id, lambda: self._webex.get_person(person_id)
            )
            names = await self._names_for(person.roles)
        except WebexError as error:
            raise AuthorizationUnavailable(
                "I could not check your administrator roles with Webex, so I did not do it. "
                "Please try again in a minute.",
                status=error.status,
                tracking_id=error.tracking_id,
                endpoint=error.endpoint,
            ) from error
        return access_for(person, names, self.target_org)

    async def refresh_forever(self) -> None:
        """Keep the role names and the organization's name loaded: read them now, and again
        before they expire, so that no command waits for them (a burst of cold commands
        would otherwise each wait one more round trip). Failures are logged and retried."""
        org = self.target_org
        first = True
        while True:
            try:
                if first:  # shared with the commands that miss them meanwhile
                    await self._role_names.get_or_load("roles", self._load_roles)
                    await self._org_names.get_or_load(org, lambda: self._load_org_name(org))
                else:
                    self._role_names.put("roles", await self._load_roles())
                    self._org_names.put(org, await self._load_org_name(org))
                first = False
                pause = min(ROLE_NAMES_TTL, ORG_NAME_TTL) / 2
            except WebexError as error:
                log.warning("could not refresh role and organization names (tracking id %s)",
                            error.tracking_id)
                pause = 30.0
            await asyncio.sleep(pause)

    async def org_name(self, org_id: str | None = None) -> str:
        """The organization's display name; a readable fallback rather than a raw id."""
        org_id = org_id or self.target_org
        try:
            return await self._org_names.get_or_load(org_id, lambda: self._load_org_name(org_id))
        except WebexError as error:
            log.warning("organization name unavailable (tracking id %s)", error.tracking_id)
            return "your organization"

    async def _load_org_name(self, org_id: str) -> str:
        org = await self._webex.get_organization(org_id)
        return org.displayName or "your organization"

    async def _names_for(self, role_ids: tuple[str, ...]) -> list[str]:
        if not role_ids:
            return []
        names = await self._role_names.get_or_load("roles", self._load_roles)
        if any(role_id not in names for role_id in role_ids):
            self._role_names.forget("roles")  # a role created since: read the list again once
            names = await self._role_names.get_or_load("roles", self._load_roles)
        return [names[role_id] for role_id in role_ids if role_id in names]

    async def _load_roles(self) -> dict[str, str]:
        return {role.id: role.name for role in await self._webex.list_roles()}
