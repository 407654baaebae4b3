"""The /_emulator/controlhub routes: what an administrator does in Control Hub, for the demo."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from bot.emulator.control import json_body, local
from bot.emulator.controlhub import change_location_setting, change_org_setting, set_audit_scope
from bot.emulator.errors import ApiError

if TYPE_CHECKING:
    from bot.emulator.app import Emulator


def controlhub_routes(emu: Emulator) -> list[web.RouteDef]:
    """The /_emulator/controlhub routes: what an administrator does in Control Hub."""

    async def setting(request: web.Request) -> web.Response:
        local(request)
        org_id = request.query.get("orgId") or emu.seed.org_id
        if request.method == "GET":
            return web.json_response({"setting": emu.setting(org_id)})
        data = await json_body(request)
        try:
            after = change_org_setting(emu.state, emu.identity(str(data.pop("admin", ""))),
                                       org_id, data)  # fmt: skip
        except KeyError as exc:
            return web.json_response({"message": f"no such person: {exc}"}, status=404)
        except ApiError as exc:
            return web.json_response({"message": exc.message}, status=exc.status)
        return web.json_response({"setting": after})

    async def location(request: web.Request) -> web.Response:
        local(request)
        org_id = request.query.get("orgId") or emu.seed.org_id
        data = await json_body(request)
        try:
            who = emu.identity(str(data.pop("admin", "")))
            where = str(data.pop("location", ""))
            after = change_location_setting(emu.state, who, org_id, where, data)
        except KeyError as exc:
            return web.json_response({"message": f"no such person: {exc}"}, status=404)
        except ApiError as exc:
            return web.json_response({"message": exc.message}, status=exc.status)
        return web.json_response({"location": where, "setting": after})

    async def audit_scope(request: web.Request) -> web.Response:
        local(request)
        data = await json_body(request)
        who = emu.identity(str(data.get("identity", "admin")))
        set_audit_scope(emu.state, who, bool(data.get("granted", True)))
        return web.json_response(
            {"identity": who.id, "granted": who.id not in emu.state.audit_denied}
        )

    return [
        web.get("/_emulator/controlhub/setting", setting),
        web.post("/_emulator/controlhub/setting", setting),
        web.post("/_emulator/controlhub/location", location),
        web.post("/_emulator/controlhub/audit-scope", audit_scope),
    ]
