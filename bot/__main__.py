"""The command line: serve, webhooks, check, audit export, coverage, demo, chat."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from typing import NoReturn

from pydantic import ValidationError

from bot.aio import run_loop
from bot.settings import Settings

USES_DATABASE = frozenset({"serve", "check", "audit"})


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as error:
        first = error.errors()[0]
        if not first["loc"]:  # a rule across settings: its message names them
            fail(first["msg"].removeprefix("Value error, "))
        name = ".".join(str(p) for p in first["loc"])
        fail(f"{name}: {first['msg'].removeprefix('Value error, ')}")


def fail(message: str, status: int = 2) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(status)


def secrets_of(settings: Settings) -> list[str]:
    values = [settings.WEBEX_BOT_TOKEN, settings.WEBEX_ADMIN_TOKEN, settings.WEBEX_WEBHOOK_SECRET,
              settings.WEBEX_CLIENT_SECRET, settings.WEBEX_ADMIN_REFRESH_TOKEN,
              settings.WEBEX_INTEGRATION_CLIENT_SECRET, settings.TOKEN_ENCRYPTION_KEY]
    return [v.get_secret_value() for v in values if v is not None]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="run the webhook server")
    audit = sub.add_parser("audit", help="the audit trail")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    export = audit_sub.add_parser("export", help="write the audit trail out")
    export.add_argument("--format", choices=("csv", "jsonl"), default="csv")
    export.add_argument("--since", help="only changes at or after this date (YYYY-MM-DD or ISO)")
    export.add_argument("--output", help="a file (default: standard output)")
    hooks = sub.add_parser("webhooks", help="the bot's own webhooks at Webex")
    hooks_sub = hooks.add_subparsers(dest="webhooks_command", required=True)
    sync = hooks_sub.add_parser("sync", help="make the bot's webhooks exist, current and active")
    sync.add_argument("--url", help="target URL (default: PUBLIC_URL/webhooks/webex)")
    hooks_sub.add_parser("list", help="show the bot's webhooks and their status")
    hooks_sub.add_parser("delete", help="delete the webhooks this bot created (only those)")
    sub.add_parser("check", help="tell what works and what does not, one line each")
    sub.add_parser("keygen", help="print a new TOKEN_ENCRYPTION_KEY (a Fernet key)")
    coverage = sub.add_parser("coverage", help="every calling location's coverage, in full")
    coverage.add_argument("--format", choices=("csv", "jsonl"), default="csv")
    coverage.add_argument("--output", help="a file (default: standard output)")
    demo = sub.add_parser("demo", help="the emulator and the bot together, and a chat")
    demo.add_argument("--no-chat", action="store_true", help="run without opening the chat")
    demo.add_argument("--web", action="store_true",
                      help="serve the browser console (a Webex-like page) instead of the chat")
    demo.add_argument("--port", type=int, default=0,
                      help="the browser console's local port (default: a free one)")
    chat = sub.add_parser("chat", help="chat with the bot as a seeded person (emulator only)")
    chat.add_argument("--emulator", default="http://127.0.0.1:8900",
                      help="the emulator's base URL (without /v1)")
    chat.add_argument("--person", default="alice")
    chat.add_argument("--room", default=None)
    args = parser.parse_args(argv)
    if args.command == "demo":
        from bot.demo.servers import run_demo

        return run_demo(args)
    if args.command == "chat":
        from bot.demo.chat import run_chat

        return run_chat(args)
    if args.command == "keygen":
        from bot.sealing import generate_key

        print(generate_key())
        return 0

    from bot import logs

    settings = load_settings()
    logs.configure(settings.LOG_LEVEL, settings.LOG_FORMAT, secrets_of(settings))
    if args.command in USES_DATABASE:
        from bot.store.url import database_problem

        problem = database_problem(settings.DATABASE_URL)
        if problem:
            fail(f"DATABASE_URL: {problem}")
    if args.command == "serve":
        missing = settings.missing_for_serve()
        if missing:
            fail(f"{missing[0]} is not set (required for serve)")
        missing, why = settings.missing_for_tokens()
        if missing:
            verb = "is" if len(missing) == 1 else "are"
            fail(f"{', '.join(missing)} {verb} not set (required with {why})")
        from bot.server.fork import fork_front
        from bot.server.serve import serve, wants_front

        # Forked now, before any thread or loop exists, the receiver shares the modules.
        front = fork_front(settings) if wants_front(settings) else None
        return run_loop(serve(settings, front))
    if args.command == "webhooks":
        from bot.ops.webhooks import run_webhooks

        return asyncio.run(run_webhooks(settings, args))
    if args.command == "check":
        from bot.ops.check import run_check

        return asyncio.run(run_check(settings))
    if args.command == "audit":
        from bot.ops.audit_export import export_audit

        return asyncio.run(export_audit(settings, args.format, args.since, args.output))
    if args.command == "coverage":
        from bot.ops.coverage_export import export_coverage

        return asyncio.run(export_coverage(settings, args.format, args.output))
    return 2


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # Ctrl-C before a command set its own handling up
        sys.exit(130)
