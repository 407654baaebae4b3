"""`python -m bot webhooks sync|list|delete`: this deployment's webhooks, from the command line.

Which webhooks are this deployment's is in its database (bot/webex/webhooks.py says how):
`sync` opens (creating and migrating it, as `serve` does) the database to record what it creates;
`list` and `delete` read an existing one and never create or migrate it. Exit status: 0 done,
1 Webex refused or failed, 2 the configuration or the database does not allow the command.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from bot.errors import BotError
from bot.settings import Settings
from bot.store import Store
from bot.store.existing import DatabaseNotReady, open_current, open_migrated
from bot.webex.gateway import WebexGateway, standalone_gateway
from bot.webex.retry import RetryPolicy
from bot.webex.webhooks import delete_owned, owned, sync_webhooks, target_for, whose


def describe(hook: dict[str, Any], ids: set[str], target: str | None) -> str:
    """One line for a webhook, with whose it is; never its secret."""
    return (
        f"{hook.get('name')!s:<36} {hook.get('resource')}/{hook.get('event'):<10} "
        f"{hook.get('status')!s:<9} {hook.get('targetUrl')}  ({whose(hook, ids, target)})"
    )


def _target(settings: Settings, args: argparse.Namespace) -> str | None:
    url = getattr(args, "url", None)
    return url or (target_for(settings.PUBLIC_URL) if settings.PUBLIC_URL else None)


def _refusal(settings: Settings, command: str, target: str | None) -> str | None:
    if command == "sync" and not target:
        return "no target URL: pass --url or set PUBLIC_URL"
    if command == "sync" and settings.WEBEX_WEBHOOK_SECRET is None:
        return "WEBEX_WEBHOOK_SECRET is not set"
    if settings.WEBEX_BOT_TOKEN is None:
        return "WEBEX_BOT_TOKEN is not set"
    return None


async def _open(settings: Settings, command: str) -> Store:
    if command == "sync":
        return await open_migrated(settings.DATABASE_URL)
    return await open_current(settings.DATABASE_URL)


async def run_webhooks(settings: Settings, args: argparse.Namespace) -> int:
    """`python -m bot webhooks sync|list|delete`."""
    command = args.webhooks_command
    target = _target(settings, args)
    refusal = _refusal(settings, command, target)
    if refusal is None:
        try:
            store = await _open(settings, command)
        except DatabaseNotReady as error:
            refusal = str(error)
    if refusal is not None:
        print(f"error: {refusal}", file=sys.stderr)
        return 2
    assert settings.WEBEX_BOT_TOKEN is not None
    policy = RetryPolicy(
        max_retries=settings.WEBEX_MAX_RETRIES, retry_after_cap=settings.RETRY_AFTER_CAP_SECONDS
    )
    try:
        async with standalone_gateway(
            settings.WEBEX_API_URL, settings.WEBEX_BOT_TOKEN.get_secret_value(), None,
            policy=policy, timeout=settings.WEBEX_TIMEOUT_SECONDS,
        ) as webex:
            return await _webhooks_command(webex, store, command, target, settings)
    except BotError as error:
        print(f"error: Webex: {error.described()}", file=sys.stderr)
        return 1
    finally:
        await store.close()


async def _webhooks_command(webex: WebexGateway, store: Store, command: str, target: str | None,
                            settings: Settings) -> int:
    if command == "sync":
        assert target is not None and settings.WEBEX_WEBHOOK_SECRET is not None
        report = await sync_webhooks(webex, store, target,
                                     settings.WEBEX_WEBHOOK_SECRET.get_secret_value())
        _print([*report.lines(), f"webhooks → {target}: {report.summary()}"])
        return 0
    hooks = await webex.list_webhooks()
    ids = await store.owned_webhook_ids()
    if command == "list":
        _print([describe(h, ids, target) for h in hooks] or ["no webhooks"])
        return 0
    mine = owned(hooks, ids, target)
    for hook in mine:
        await delete_owned(webex, store, hook)
        print(f"deleted      {hook.get('name')}  ({hook.get('id')})", flush=True)
    print(f"{len(mine)} deleted; {len(hooks) - len(mine)} not this deployment's, left alone")
    return 0


def _print(lines: Sequence[str]) -> None:
    for line in lines:
        print(line, flush=True)
