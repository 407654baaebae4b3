"""Typed application state keys."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from bot.receiving.intake import Intake
    from bot.server.runner import EventRunner
    from bot.server.services import Services
    from bot.settings import Settings

SETTINGS: web.AppKey[Settings] = web.AppKey("settings")
SERVICES: web.AppKey[Services] = web.AppKey("services")
RUNNER: web.AppKey[EventRunner] = web.AppKey("runner")
INTAKE: web.AppKey[Intake] = web.AppKey("intake")
