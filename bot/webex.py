"""The Webex messaging APIs behind our own interface; the only module that imports the SDK.

`webexteamssdk` is synchronous and shares one `requests.Session` per client, so every call runs in
a worker thread that owns its own client for each token. Calls return our models and raise our
errors; transient failures are retried with the same bounded policy as the telephony client.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import requests
from webexteamssdk import WebexTeamsAPI
from webexteamssdk.exceptions import ApiError, RateLimitError

from bot.auth import AdminAuth
from bot.errors import AdminTokenError, TransientWebexError, WebexError
from bot.models import AttachmentAction, Message, Organization, Person, Role
from bot.retry import TRANSIENT_STATUSES, RetryPolicy, with_retries

log = logging.getLogger(__name__)
T = TypeVar("T")
Observer = Callable[[str, str, int, float], None]
NOT_PROCESSED = frozenset({423, 429, 503})


def _json(obj: Any) -> dict[str, Any]:
    data = getattr(obj, "_json_data", obj)
    return dict(data) if isinstance(data, dict) else {}


class WebexGateway:
    """What the bot asks of Webex, as the bot and as the admin identity."""

    def __init__(
        self,
        api_url: str,
        bot_token: str,
        admin: AdminAuth | None,
        *,
        policy: RetryPolicy,
        timeout: float = 10.0,
        max_threads: int = 32,
        observe: Observer | None = None,
    ) -> None:
        self._base_url = api_url.rstrip("/") + "/"
        self._bot_token = bot_token
        self._admin = admin
        self._policy = policy
        self._timeout = timeout
        self._observe = observe
        self._local = threading.local()
        # Proxies from the environment are read once: with trust_env on, requests would scan
        # the environment and ~/.netrc again on every call, on the SDK's threads.
        self._proxies = requests.utils.get_environ_proxies(self._base_url)
        self._pool = ThreadPoolExecutor(max_workers=max_threads, thread_name_prefix="webex-sdk")

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    # --- as the bot -------------------------------------------------------------------------
    async def bot_me(self) -> Person:
        return Person.model_validate(await self._as_bot("GET /people/me", lambda a: a.people.me()))

    async def get_message(self, message_id: str) -> Message:
        data = await self._as_bot("GET /messages/{id}", lambda a: a.messages.get(message_id))
        return Message.model_validate(data)

    async def get_attachment_action(self, action_id: str) -> AttachmentAction:
        data = await self._as_bot(
            "GET /attachment/actions/{id}", lambda a: a.attachment_actions.get(action_id)
        )
        return AttachmentAction.model_validate(data)

    async def post_message(
        self,
        room_id: str,
        markdown: str,
        *,
        attachments: Sequence[dict[str, Any]] = (),
        parent_id: str | None = None,
    ) -> str:
        """Post to a space (in a thread when `parent_id` is given); returns the message id."""
        data = await self._as_bot(
            "POST /messages",
            lambda a: a.messages.create(
                roomId=room_id,
                parentId=parent_id,
                markdown=markdown,
                attachments=list(attachments) or None,
            ),
        )
        return str(data["id"])

    async def delete_message(self, message_id: str) -> None:
        await self._as_bot("DELETE /messages/{id}", lambda a: a.messages.delete(message_id))

    async def list_webhooks(self) -> list[dict[str, Any]]:
        hooks: list[dict[str, Any]] = await self._as_bot(
            "GET /webhooks", lambda a: [_json(w) for w in a.webhooks.list()], raw=True
        )
        return hooks

    async def create_webhook(self, **fields: Any) -> dict[str, Any]:
        created: dict[str, Any] = await self._as_bot(
            "POST /webhooks", lambda a: a.webhooks.create(**fields))
        return created

    async def update_webhook(self, webhook_id: str, **fields: Any) -> dict[str, Any]:
        updated: dict[str, Any] = await self._as_bot(
            "PUT /webhooks/{id}", lambda a: a.webhooks.update(webhook_id, **fields))
        return updated

    async def delete_webhook(self, webhook_id: str) -> None:
        await self._as_bot("DELETE /webhooks/{id}", lambda a: a.webhooks.delete(webhook_id))

    # --- as the admin identity --------------------------------------------------------------
    async def admin_me(self) -> Person:
        return Person.model_validate(
            await self._as_admin("GET /people/me", lambda a: a.people.me())
        )

    async def get_person(self, person_id: str) -> Person:
        """A person with their roles (only an admin token sees roles)."""
        data = await self._as_admin("GET /people/{id}", lambda a: a.people.get(person_id))
        return Person.model_validate(data)

    async def list_roles(self) -> list[Role]:
        items = await self._as_admin(
            "GET /roles", lambda a: [_json(r) for r in a.roles.list()], raw=True
        )
        return [Role.model_validate(item) for item in items]

    async def get_organization(self, org_id: str) -> Organization:
        data = await self._as_admin(
            "GET /organizations/{id}", lambda a: a.organizations.get(org_id)
        )
        return Organization.model_validate(data)

    # --- plumbing ---------------------------------------------------------------------------
    async def _as_bot(
        self, endpoint: str, call: Callable[[WebexTeamsAPI], Any], *, raw: bool = False
    ) -> Any:
        async def attempt() -> Any:
            try:
                return await self._run(endpoint, self._bot_token, call, raw)
            except TransientWebexError as error:
                if endpoint.startswith("POST") and error.status not in NOT_PROCESSED:
                    # A timeout or 502 may hide a message that was posted: never post it twice.
                    raise WebexError(
                        error.user_message, status=error.status,
                        tracking_id=error.tracking_id, endpoint=endpoint,
                    ) from error
                raise

        return await with_retries(attempt, self._policy, on_retry=self._on_retry)

    async def _as_admin(
        self, endpoint: str, call: Callable[[WebexTeamsAPI], Any], *, raw: bool = False
    ) -> Any:
        if self._admin is None:
            raise AdminTokenError("The bot has no admin token configured.", endpoint=endpoint)
        admin = self._admin
        refreshed = False

        async def attempt() -> Any:
            nonlocal refreshed
            token = await admin.token()
            try:
                return await self._run(endpoint, token, call, raw)
            except AdminTokenError:
                if refreshed or not admin.can_refresh:
                    raise
                refreshed = True
                await admin.invalidate(token)
                return await self._run(endpoint, await admin.token(), call, raw)

        return await with_retries(attempt, self._policy, on_retry=self._on_retry)

    def _on_retry(self, endpoint: str, status: int | None) -> None:
        if self._observe is not None:
            self._observe(endpoint, "retry", status or 0, 0.0)

    async def _run(
        self, endpoint: str, token: str, call: Callable[[WebexTeamsAPI], Any], raw: bool
    ) -> Any:
        loop = asyncio.get_running_loop()
        job = functools.partial(self._in_thread, endpoint, token, call, raw)
        return await loop.run_in_executor(self._pool, job)

    def _in_thread(
        self, endpoint: str, token: str, call: Callable[[WebexTeamsAPI], Any], raw: bool
    ) -> Any:
        started = time.perf_counter()
        status = 200
        try:
            result = call(self._client(token))
            return result if raw else _json(result)
        except ApiError as error:
            status = error.status_code
            raise _convert(endpoint, error) from None
        except (requests.ConnectionError, requests.Timeout) as error:
            status = 0
            raise TransientWebexError(
                "Webex did not answer in time.", endpoint=endpoint
            ) from error
        except Exception as error:  # the SDK choking on an answer must not fail the event
            status = -1
            log.warning("webex %s: the SDK could not read the answer (%s)", endpoint,
                        type(error).__name__)
            raise WebexError(
                "Webex answered in a way I could not read.", endpoint=endpoint
            ) from error
        finally:
            if self._observe is not None:
                self._observe(endpoint, endpoint.split()[0], status, time.perf_counter() - started)

    def _client(self, token: str) -> WebexTeamsAPI:
        """This thread's client for `token` (one `requests.Session` per thread and token)."""
        clients: dict[str, WebexTeamsAPI] | None = getattr(self._local, "clients", None)
        if clients is None:
            clients = self._local.clients = {}
        client = clients.get(token)
        if client is None:
            if len(clients) >= 4:  # rotated admin tokens: drop the old ones
                clients.clear()
            client = clients[token] = WebexTeamsAPI(
                access_token=token,
                base_url=self._base_url,
                single_request_timeout=math.ceil(self._timeout),  # the SDK takes whole seconds
                wait_on_rate_limit=False,
                proxies=dict(self._proxies) or None,
            )
            client._session._req_session.trust_env = False
        return client


def _convert(endpoint: str, error: ApiError) -> WebexError:
    status = error.status_code
    tracking_id = error.tracking_id
    message = _message(error)
    log.info("webex %s answered %d (tracking id %s)", endpoint, status, tracking_id)
    if status in TRANSIENT_STATUSES:
        retry_after = float(error.retry_after) if isinstance(error, RateLimitError) else None
        if status == 423:
            header = error.response.headers.get("Retry-After")
            retry_after = float(header) if header and header.isdigit() else None
        return TransientWebexError(
            message, status=status, tracking_id=tracking_id, endpoint=endpoint,
            retry_after=retry_after,
        )
    if status == 401:
        return AdminTokenError(
            "Webex rejected a token of the bot.", status=status, tracking_id=tracking_id,
            endpoint=endpoint,
        )
    return WebexError(message, status=status, tracking_id=tracking_id, endpoint=endpoint)


def _message(error: ApiError) -> str:
    details = error.details if isinstance(error.details, dict) else {}
    for item in details.get("errors") or []:
        if isinstance(item, dict) and item.get("description"):
            return str(item["description"])
    return str(error.message or error.description or "Webex did not say why")
