"""One request to Webex's REST API on aiohttp: the answer's JSON, or one of our errors.

The calls made for every event (the message, the person's roles, the setting, the reply) go
through here, on the event loop. The SDK is synchronous: each of its calls costs a thread
hand-off each way and `requests`' own preparation, which together were 40 % of the worker's
time holding the GIL with 20 commands in flight (py-spy --gil; benchmarks/README.md).
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import aiohttp

from bot.errors import AdminTokenError, TransientWebexError, WebexError
from bot.outbox import before_webex_call
from bot.webex.answers import BOT_REJECTED, error_for, webex_error_message
from bot.webex.proxy import environ_proxy
from bot.webex.retry import RetryPolicy, parse_retry_after, with_retries

if TYPE_CHECKING:
    from bot.webex.auth import AdminAuth

log = logging.getLogger(__name__)
T = TypeVar("T")
Observer = Callable[[str, str, int, float], None]
RetryObserver = Callable[[str, int | None], None]


def _version() -> str:
    try:
        return importlib.metadata.version("ecn-bot")
    except importlib.metadata.PackageNotFoundError:
        return "dev"


# Webex support asks which client made a call: ours, not just "aiohttp".
USER_AGENT = f"ecn-bot/{_version()} aiohttp/{aiohttp.__version__}"


async def as_admin(
    auth: AdminAuth,
    run: Callable[[str], Awaitable[T]],
    policy: RetryPolicy,
    on_retry: RetryObserver | None = None,
) -> T:
    """`run(admin token)` with bounded retries; after a 401, once (per call) with a refreshed
    token when the identity can be refreshed."""
    refreshed = False

    async def attempt() -> T:
        nonlocal refreshed
        token = await auth.token()
        try:
            return await run(token)
        except AdminTokenError:
            if refreshed or not auth.can_refresh:
                raise
            refreshed = True
            await auth.invalidate(token)
            return await run(await auth.token())

    return await with_retries(attempt, policy, on_retry=on_retry)


def webex_session(connections: int = 100) -> aiohttp.ClientSession:
    """The HTTP session every Webex client of a process shares: at most `connections` at
    once (aiohttp's own default: 100), and no cookie jar. The API is authorized by the token
    each call carries; a cookie one answer set (a load balancer's, a proxy's) would go out
    with every later call, under every identity the bot calls as."""
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=connections),
                                 cookie_jar=aiohttp.DummyCookieJar())


class WebexRest:
    """Sends one request with a token and turns the answer into JSON or our errors. It holds
    what every Webex client of the bot shares: the base URL, the timeout, the proxy and the
    metrics observer (the SDK's calls in bot.webex are counted through `record` too)."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        api_url: str,
        *,
        timeout: float = 10.0,
        observe: Observer | None = None,
    ) -> None:
        self._session = session
        self.base_url = api_url.rstrip("/")
        self.timeout = timeout
        self.proxy = environ_proxy(api_url)
        self._client_timeout = aiohttp.ClientTimeout(total=timeout)
        self._observe = observe

    def record(self, endpoint: str, method: str, status: int, seconds: float) -> None:
        """One call's outcome for the metrics (status 0: no answer)."""
        if self._observe is not None:
            self._observe(endpoint, method, status, seconds)

    def retried(self, endpoint: str, status: int | None) -> None:
        """A retry, for the metrics (the `on_retry` of bot.webex.retry.with_retries)."""
        self.record(endpoint, "retry", status or 0, 0.0)

    async def request(self, method: str, path: str, token: str, **options: Any) -> Any:
        """The decoded body of `fetch` (same options)."""
        return (await self.fetch(method, path, token, **options)).body

    async def fetch(
        self,
        method: str,
        path: str,
        token: str,
        *,
        endpoint: str,
        params: dict[str, str] | None = None,
        json: dict[str, Any] | None = None,
        rejected: str = BOT_REJECTED,
    ) -> Answer:
        """The decoded body (None for 204 or a body that is not JSON) and the `Link: <…>;
        rel="next"` URL of a paged list. `path` may be such a URL, followed as given; it must be
        on the API's own host (the admin token is never sent anywhere else). Raises
        TransientWebexError (retry it), AdminTokenError for 401 (`rejected` says whose token)
        or WebexError, each with Webex's tracking id when it sent one."""
        await before_webex_call()
        started = time.perf_counter()
        status = 0
        cancelled = False
        try:
            async with self._session.request(
                method,
                self._url(path, endpoint),
                params=params,
                json=json,
                headers={"Authorization": f"Bearer {token}", "User-Agent": USER_AGENT},
                timeout=self._client_timeout,
                proxy=self.proxy,
            ) as response:
                status = response.status
                tracking_id = response.headers.get("TrackingID")
                if status == 204:
                    return Answer(None)
                body = await _json_or_none(response)
                if isinstance(body, dict):
                    tracking_id = body.get("trackingId") or tracking_id
                if 200 <= status < 300:
                    link = response.links.get("next")
                    following = link.get("url") if link is not None else None
                    return Answer(body, str(following) if following else None)
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
        except asyncio.CancelledError:
            cancelled = True  # shutting down: not an answer from Webex, not counted as one
            raise
        except (TimeoutError, aiohttp.ClientError) as error:
            raise TransientWebexError(
                "Webex did not answer in time.", endpoint=endpoint
            ) from error
        finally:
            if not cancelled:
                self.record(endpoint, method, status, time.perf_counter() - started)
        raise error_for(endpoint, status, webex_error_message(body), tracking_id,
                        retry_after=retry_after, rejected=rejected)

    def _url(self, path: str, endpoint: str) -> str:
        if not path.startswith(("http://", "https://")):
            return self.base_url + path
        if urlsplit(path)[:2] != urlsplit(self.base_url)[:2]:
            raise WebexError("Webex's link to the next page points away from Webex.",
                             endpoint=endpoint)
        return path


@dataclass(frozen=True)
class Answer:
    """A successful answer: its decoded body and the next page's URL, if Webex linked one."""

    body: Any
    next_url: str | None = None


async def _json_or_none(response: aiohttp.ClientResponse) -> Any:
    try:
        return await response.json(content_type=None)
    except (ValueError, aiohttp.ContentTypeError, asyncio.IncompleteReadError):
        return None
