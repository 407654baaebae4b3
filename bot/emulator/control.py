"""The /_emulator control API for out-of-process users: demo, benchmarks, subprocess tests."""

from __future__ import annotations

from dataclasses import fields
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.emulator.errors import ApiError
from bot.emulator.pipeline import RecordedRequest

if TYPE_CHECKING:
    from bot.emulator.app import Emulator

LOCAL = frozenset({"127.0.0.1", "::1", "localhost"})
_FIELDS = tuple(f.name for f in fields(RecordedRequest))


def local(request: web.Request) -> None:
    """Refuse a control request that does not come from this machine."""
    if request.remote not in LOCAL:
        raise web.HTTPForbidden(text="the control API answers local clients only")


async def json_body(request: web.Request) -> dict[str, Any]:
    """A control request's JSON object ({} when empty); 400 for anything else."""
    if not await request.read():
        return {}
    try:
        data = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(text="expected a JSON object") from None
    if not isinstance(data, dict):
        raise web.HTTPBadRequest(text="expected a JSON object")
    return data


def control_routes(emu: Emulator) -> list[web.RouteDef]:
    """Return the control routes bound to one emulator."""
    body_of = json_body

    async def seed(request: web.Request) -> web.Response:
        local(request)
        return web.json_response({**emu.seed.to_json(), "baseUrl": emu.base_url})

    async def setting(request: web.Request) -> web.Response:
        local(request)
        org_id = request.query.get("orgId") or None
        if request.method != "GET":
            emu.set_setting(org_id, **await body_of(request))
        return web.json_response(emu.setting(org_id))

    async def requests(request: web.Request) -> web.Response:
        """Recorded requests; `since` (seconds since the epoch): only those answered since."""
        local(request)
        found = emu.calls(request.query.get("method"), request.query.get("path"))
        if "since" in request.query:
            try:
                since = float(request.query["since"])
            except ValueError:
                raise web.HTTPBadRequest(text="since: seconds since the epoch") from None
            found = [r for r in found if r.at >= since]
        # Not dataclasses.asdict: it deep-copied every request body of a long run on every
        # call (between the benchmark's rounds, 16 % of the stand-in's samples).
        return web.json_response({"items": [{f: getattr(r, f) for f in _FIELDS} for r in found]})

    async def reset(request: web.Request) -> web.Response:
        local(request)
        emu.reset()
        return web.json_response({"ok": True})

    async def faults(request: web.Request) -> web.Response:
        local(request)
        if request.method == "DELETE":
            emu.faults.clear()
        elif request.method == "POST":
            data = await body_of(request)
            try:
                emu.faults.add(**data)
            except (TypeError, ValueError) as exc:
                raise web.HTTPBadRequest(text=str(exc)) from exc
        return web.json_response({"items": [f.to_json() for f in emu.faults.active]})

    async def latency(request: web.Request) -> web.Response:
        local(request)
        data = await body_of(request)
        seconds = float(data.get("seconds", 0))
        if data.get("path"):
            emu.faults.latency(str(data["path"]), seconds)
        else:
            emu.latency = seconds
        return web.json_response({"latency": emu.latency})

    async def act(request: web.Request, kind: str) -> web.Response:
        local(request)
        data = await body_of(request)
        try:
            if kind == "message":
                result = await emu.post_message(
                    data["person"],
                    data["room"],
                    data.get("text", ""),
                    mention_bot=bool(data.get("mention_bot")),
                    parent_id=data.get("parentId"),
                )
            elif kind == "press":
                result = await emu.press_card(
                    data["person"], data["messageId"], data.get("inputs", {})
                )
            else:
                result = await emu.add_member(data["room"], data["person"], data.get("by", "alice"))
        except KeyError as exc:
            raise web.HTTPBadRequest(text=f"missing or unknown: {exc}") from exc
        except ApiError as exc:
            return web.json_response({"message": exc.message}, status=exc.status)
        return web.json_response(result)

    async def post_message(request: web.Request) -> web.Response:
        return await act(request, "message")

    async def press(request: web.Request) -> web.Response:
        return await act(request, "press")

    async def members(request: web.Request) -> web.Response:
        return await act(request, "member")

    async def messages(request: web.Request) -> web.Response:
        local(request)
        room_id = emu.room_id(request.query.get("roomId", ""))
        since = request.query.get("since", "")
        items = [
            m
            for m in emu.state.messages.values()
            if (not room_id or m["roomId"] == room_id) and m["created"] > since
        ]
        return web.json_response({"items": items})

    async def deliveries(request: web.Request) -> web.Response:
        local(request)
        return web.json_response(
            {
                "items": [
                    {
                        "webhookId": d.webhook_id,
                        "target": d.target,
                        "resource": d.resource,
                        "event": d.event,
                        "dataId": d.data_id,
                        "status": d.status,
                        "error": d.error,
                        "latency": d.latency,
                        "at": d.at,
                        "redelivery": d.redelivery,
                    }
                    for d in emu.deliveries
                ]
            }
        )

    return [
        web.get("/_emulator/seed", seed),
        web.get("/_emulator/setting", setting),
        web.put("/_emulator/setting", setting),
        web.get("/_emulator/requests", requests),
        web.post("/_emulator/reset", reset),
        web.get("/_emulator/faults", faults),
        web.post("/_emulator/faults", faults),
        web.delete("/_emulator/faults", faults),
        web.post("/_emulator/latency", latency),
        web.post("/_emulator/messages", post_message),
        web.get("/_emulator/messages", messages),
        web.post("/_emulator/press", press),
        web.post("/_emulator/members", members),
        web.get("/_emulator/deliveries", deliveries),
        web.get("/_emulator/events", deliveries),
    ]
