"""Every text command and card action, registered: take the tables from here."""

from __future__ import annotations

from bot.conversation import forms, history  # noqa: F401 - importing them registers handlers
from bot.conversation.actions import ACTIONS, dispatch
from bot.conversation.commands import COMMANDS, send_help

__all__ = ["ACTIONS", "COMMANDS", "dispatch", "send_help"]
