"""Every text command and card action, registered: take the tables from here."""

from __future__ import annotations

from bot import forms, history  # noqa: F401 - importing them registers their handlers
from bot.actions import ACTIONS, dispatch
from bot.commands import COMMANDS, send_help

__all__ = ["ACTIONS", "COMMANDS", "dispatch", "send_help"]
