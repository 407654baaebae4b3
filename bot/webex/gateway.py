"""What the bot asks of Webex, behind our own interface; the only module that imports the SDK.

The calls made for every event (a message, a card's action, a person's roles, the reply, a
card's deletion) go through `bot.webex.rest` on the event loop. The rest, made at start-up or by an
operator (who the tokens are, webhooks, the roles list with its pages, organization names), go
through `webexteamssdk`: it is synchronous and shares one `requests.Session` per client, so each
such call runs in a worker thread that owns its own client for each token. Either way calls
return our models and raise our errors, with the same bounded retries.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import requests
from pydantic import BaseModel, ValidationError
from webexteamssdk import WebexTeamsAPI
from webexteamssdk.exceptions import ApiError

from bot.errors import AdminTokenError, TransientWebexError, WebexError
from bot.models import AttachmentAction, Message, Organization, Person, Role
from bot.outbox import before_webex_call
from bot.webex.answers import (
    ADMIN_REJECTED,
    BOT_REJECTED,
    NO_REASON,
    error_for,
    webex_error_message,
)
from bot.webex.auth import AdminAuth
from bot.webex.rest import WebexRest, as_admin, webex_session
from bot.webex.retry import RetryPolicy, parse_retry_after, with_retries

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)
Run = Callable[[str], Awaitable[Any]]  # one attempt, given the token to use
NOT_PROCESSED = frozenset({423, 429, 503})


def _json(obj: Any) -> dict[str, Any]:
    data = getattr(obj, "_json_data", obj)
    return dict(data) if isinstance(data, dict) else {}


def _read(model: type[M], data: Any, endpoint: str) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        log.warning("webex %s: an answer this bot cannot read", endpoint)
        raise WebexError("Webex answered in a way I could not read.", endpoint=endpoint) from error


class WebexGateway:
    """What the bot asks of Webex, as the bot and as the admin identity."""

    def __init__(
        self,
        bot_token: str,
        admin: AdminAuth | None,
        *,
        rest: WebexRest,
        policy: RetryPolicy,
        max_threads: int = 8,
    ) -> None:
        """`rest` also gives the SDK's clients their base URL, timeout, proxy and metrics."""
        self._bot_token = bot_token
        self._admin = admin
        self._http = rest
        self._policy = policy
        self._local = threading.local()
        self._pool = ThreadPoolExecutor(max_workers=max_threads, thread_name_prefix="webex-sdk")

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    # --- as the bot, for every event (aiohttp) ---------------------------------------------------
    async def get_message(self, message_id: str) -> Message:
        endpoint = "GET /messages/{id}"
        data = await self._as_bot(endpoint, self._rest(endpoint, f"/messages/{message_id}"))
        return _read(Message, data, endpoint)

    async def get_attachment_action(self, action_id: str) -> AttachmentAction:
        endpoint = "GET /attachment/actions/{id}"
        data = await self._as_bot(
            endpoint, self._rest(endpoint, f"/attachment/actions/{action_id}"))
        return _read(AttachmentAction, data, endpoint)

    async def post_message(
        self,
        room_id: str,
        markdown: str,
        *,
        attachments: Sequence[dict[str, Any]] = (),
        parent_id: str | None = None,
        to_person_id: str | None = None,
    ) -> str:
        """Post to a space (in a thread when `parent_id` is given), or to a person's 1:1 space
        (`to_person_id`, then `room_id` is ignored); returns the message id."""
        target = {"toPersonId": to_person_id} if to_person_id else {"roomId": room_id}
        body: dict[str, Any] = {**target, "markdown": markdown}
        if parent_id:
            body["parentId"] = parent_id
        if attachments:
            body["attachments"] = list(attachments)
        endpoint = "POST /messages"
        data = await self._as_bot(endpoint, self._rest(endpoint, "/messages", body))
        message_id = data.get("id") if isinstance(data, dict) else None
        if not isinstance(message_id, str):
            raise WebexError("Webex answered in a way I could not read.", endpoint=endpoint)
        return message_id

    async def recent_messages(self, room_id: str, *, limit: int = 20) -> list[Message]:
        """The newest messages of a 1:1 space, newest first. Webex lets a bot list a group
        space's messages only with `mentionedPeople=me`, which leaves its own out."""
        endpoint = "GET /messages"
        params = {"roomId": room_id, "max": str(limit)}
        data = await self._as_bot(endpoint, lambda token: self._http.request(
            "GET", "/messages", token, endpoint=endpoint, params=params))
        items = data.get("items") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise WebexError("Webex answered in a way I could not read.", endpoint=endpoint)
        return [_read(Message, item, endpoint) for item in items]

    async def edit_message(self, message_id: str, room_id: str, text: str) -> None:
        """Replace the text of one of the bot's own text messages (Webex: at most 10 edits, and
        never of a message with a card)."""
        endpoint = "PUT /messages/{id}"
        body = {"roomId": room_id, "text": text}
        await self._as_bot(endpoint, self._rest(endpoint, f"/messages/{message_id}", body))

    async def delete_message(self, message_id: str) -> None:
        endpoint = "DELETE /messages/{id}"
        await self._as_bot(endpoint, self._rest(endpoint, f"/messages/{message_id}"))

    # --- as the bot, at start-up and for operators (the SDK) ---------------------------------
    async def bot_me(self) -> Person:
        endpoint = "GET /people/me"
        data = await self._as_bot(endpoint, self._sdk(endpoint, lambda a: a.people.me()))
        return _read(Person, data, endpoint)

    async def list_webhooks(self) -> list[dict[str, Any]]:
        endpoint = "GET /webhooks"
        hooks: list[dict[str, Any]] = await self._as_bot(
            endpoint, self._sdk(endpoint, lambda a: [_json(w) for w in a.webhooks.list()], raw=True)
        )
        return hooks

    async def create_webhook(self, **fields: Any) -> dict[str, Any]:
        endpoint = "POST /webhooks"
        created: dict[str, Any] = await self._as_bot(
            endpoint, self._sdk(endpoint, lambda a: a.webhooks.create(**fields)))
        return created

    async def update_webhook(self, webhook_id: str, **fields: Any) -> dict[str, Any]:
        endpoint = "PUT /webhooks/{id}"
        updated: dict[str, Any] = await self._as_bot(
            endpoint, self._sdk(endpoint, lambda a: a.webhooks.update(webhook_id, **fields)))
        return updated

    async def delete_webhook(self, webhook_id: str) -> None:
        endpoint = "DELETE /webhooks/{id}"
        await self._as_bot(endpoint, self._sdk(endpoint, lambda a: a.webhooks.delete(webhook_id)))

    # --- as the admin identity --------------------------------------------------------------
    async def get_person(self, person_id: str) -> Person:
        """A person with their roles (only an admin token sees roles); for every command."""
        endpoint = "GET /people/{id}"
        data = await self._as_admin(
            endpoint, self._rest(endpoint, f"/people/{person_id}", rejected=ADMIN_REJECTED))
        return _read(Person, data, endpoint)

    async def admin_me(self) -> Person:
        endpoint = "GET /people/me"
        data = await self._as_admin(endpoint, self._sdk(endpoint, lambda a: a.people.me()))
        return _read(Person, data, endpoint)

    async def list_roles(self) -> list[Role]:
        endpoint = "GET /roles"
        items = await self._as_admin(
            endpoint, self._sdk(endpoint, lambda a: [_json(r) for r in a.roles.list()], raw=True)
        )
        return [_read(Role, item, endpoint) for item in items]

    async def get_organization(self, org_id: str) -> Organization:
        endpoint = "GET /organizations/{id}"
        data = await self._as_admin(
            endpoint, self._sdk(endpoint, lambda a: a.organizations.get(org_id)))
        return _read(Organization, data, endpoint)

    # --- plumbing ---------------------------------------------------------------------------
    async def _as_bot(self, endpoint: str, run: Run) -> Any:
        async def attempt() -> Any:
            try:
                return await run(self._bot_token)
            except TransientWebexError as error:
                if endpoint.startswith("POST") and error.status not in NOT_PROCESSED:
                    # A timeout or 502 may hide a message that was posted: never post it twice.
                    raise WebexError(
                        error.user_message, status=error.status,
                        tracking_id=error.tracking_id, endpoint=endpoint,
                    ) from error
                raise

        return await with_retries(attempt, self._policy, on_retry=self._http.retried)

    async def _as_admin(self, endpoint: str, run: Run) -> Any:
        if self._admin is None:
            raise AdminTokenError("The bot has no admin token configured.", endpoint=endpoint)
        return await as_admin(self._admin, run, self._policy, self._http.retried)

    def _rest(self, endpoint: str, path: str, body: dict[str, Any] | None = None,
              *, rejected: str = BOT_REJECTED) -> Run:
        """`endpoint` is "METHOD /template": its method is the request's."""
        method = endpoint.split()[0]
        return lambda token: self._http.request(
            method, path, token, endpoint=endpoint, json=body, rejected=rejected)

    def _sdk(self, endpoint: str, call: Callable[[WebexTeamsAPI], Any], *, raw: bool = False
             ) -> Run:
        return lambda token: self._run(endpoint, token, call, raw)

    async def _run(
        self, endpoint: str, token: str, call: Callable[[WebexTeamsAPI], Any], raw: bool
    ) -> Any:
        await before_webex_call()
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
            self._http.record(endpoint, endpoint.split()[0], status, time.perf_counter() - started)

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
                base_url=self._http.base_url + "/",
                single_request_timeout=math.ceil(self._http.timeout),  # whole seconds only
                wait_on_rate_limit=False,
                # Read once (webex/proxy.py): with trust_env on, requests would scan the
                # environment and ~/.netrc again on every call.
                proxies={"all": self._http.proxy} if self._http.proxy else None,
            )
            client._session._req_session.trust_env = False
        return client


@asynccontextmanager
async def standalone_gateway(
    api_url: str, bot_token: str, admin: AdminAuth | None, *, policy: RetryPolicy,
    timeout: float = 10.0,
) -> AsyncIterator[WebexGateway]:
    """A gateway with an HTTP session of its own, for what runs once (an operator's command)."""
    async with webex_session() as session:
        gateway = WebexGateway(bot_token, admin, policy=policy,
                               rest=WebexRest(session, api_url, timeout=timeout))
        try:
            yield gateway
        finally:
            gateway.close()


def _convert(endpoint: str, error: ApiError) -> WebexError:
    return error_for(endpoint, error.status_code, _message(error), error.tracking_id,
                     retry_after=parse_retry_after(error.response.headers.get("Retry-After")))


def _message(error: ApiError) -> str:
    found = webex_error_message(error.details)
    return found if found != NO_REASON else str(error.message or error.description or NO_REASON)
