"""The per-event Webex calls (bot.rest under the gateway) against a server that misbehaves in
ways the emulator does not: what the bot sends, and what each bad answer becomes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.errors import AdminTokenError, WebexError
from bot.webex.gateway import WebexGateway
from bot.webex.rest import WebexRest, webex_session
from bot.webex.retry import RetryPolicy

Answer = Callable[[web.Request], web.Response]


@dataclass
class FakeWebex:
    """Answers each request with the next of `answers` for its path; records what came."""

    answers: dict[str, list[Answer]] = field(default_factory=dict)
    seen: list[tuple[str, str, str, Any]] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)
    agents: list[str] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json() if request.can_read_body else None
        self.seen.append((request.method, request.path, request.headers["Authorization"], body))
        self.hosts.append(request.host)
        self.agents.append(request.headers.get("User-Agent", ""))
        queue = self.answers[request.path]
        return queue.pop(0)(request) if len(queue) > 1 else queue[0](request)


class Admin:
    can_refresh = True
    last_error = None

    def __init__(self) -> None:
        self.current = "admin-1"

    async def token(self) -> str:
        return self.current

    async def invalidate(self, token: str) -> None:
        self.current = "admin-2"


def json(status: int, data: Any, **headers: str) -> Answer:
    return lambda _: web.json_response(data, status=status, headers=headers)


def text(status: int, body: str) -> Answer:
    return lambda _: web.Response(status=status, text=body)


@pytest.fixture
async def webex() -> AsyncIterator[tuple[FakeWebex, WebexGateway]]:
    fake = FakeWebex()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", fake.handle)
    async with TestServer(app) as server, aiohttp.ClientSession() as session:
        url = str(server.make_url("/v1"))
        gateway = WebexGateway("bot-token", Admin(), policy=RetryPolicy(base_delay=0.01),
                               rest=WebexRest(session, url, timeout=2))
        yield fake, gateway
        gateway.close()


async def test_a_reply_is_sent_as_webex_documents_it(webex: Any) -> None:
    fake, gateway = webex
    fake.answers["/v1/messages"] = [json(200, {"id": "M1"})]
    card = {"contentType": "application/vnd.microsoft.card.adaptive", "content": {}}

    assert await gateway.post_message("R", "**done**", attachments=[card], parent_id="P") == "M1"
    assert await gateway.post_message("R", "plain") == "M1"

    assert fake.seen == [
        ("POST", "/v1/messages", "Bearer bot-token",
         {"roomId": "R", "markdown": "**done**", "parentId": "P", "attachments": [card]}),
        ("POST", "/v1/messages", "Bearer bot-token", {"roomId": "R", "markdown": "plain"}),
    ]


async def test_an_answer_that_is_not_json_is_a_clear_error(webex: Any) -> None:
    fake, gateway = webex
    fake.answers["/v1/messages/M1"] = [text(200, "<html>proxy says hi</html>")]
    fake.answers["/v1/messages"] = [json(200, {"no": "id"})]

    with pytest.raises(WebexError, match="could not read"):
        await gateway.get_message("M1")
    with pytest.raises(WebexError, match="could not read"):
        await gateway.post_message("R", "hi")


async def test_a_reply_that_may_have_landed_is_never_posted_twice(webex: Any) -> None:
    fake, gateway = webex
    fake.answers["/v1/messages"] = [json(502, {"message": "bad gateway"},
                                         TrackingID="EMU_1")]

    with pytest.raises(WebexError) as caught:
        await gateway.post_message("R", "hi")
    assert caught.value.tracking_id == "EMU_1"
    assert len(fake.seen) == 1


async def test_a_reply_refused_for_rate_is_sent_again_after_the_wait(webex: Any) -> None:
    fake, gateway = webex
    fake.answers["/v1/messages"] = [json(429, {"message": "slow down"}, **{"Retry-After": "0"}),
                                    json(200, {"id": "M2"})]

    assert await gateway.post_message("R", "hi") == "M2"
    assert len(fake.seen) == 2


async def test_a_rejected_admin_token_is_refreshed_once_for_a_persons_roles(webex: Any) -> None:
    fake, gateway = webex
    person = {"id": "P1", "emails": ["a@x.example"], "roles": ["R1"], "orgId": "O"}
    fake.answers["/v1/people/P1"] = [json(401, {"message": "expired"}), json(200, person)]

    found = await gateway.get_person("P1")

    assert found.roles == ("R1",)
    assert [auth for _, _, auth, _ in fake.seen] == ["Bearer admin-1", "Bearer admin-2"]
    fake.answers["/v1/people/P1"] = [json(401, {"message": "revoked"})]
    with pytest.raises(AdminTokenError, match="admin token"):
        await gateway.get_person("P1")
    assert len(fake.seen) == 4  # one refresh per call, no more


async def test_calls_go_through_the_proxy_the_environment_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # An egress proxy, as many organizations require: the fake Webex stands in for it and sees
    # the absolute URL of each call.
    fake = FakeWebex(answers={
        "/v1/messages/M1": [json(200, {"id": "M1", "roomId": "R", "personId": "P",
                                       "created": "2026-11-30T10:00:00.000Z"})],
        "/v1/people/me": [json(200, {"id": "BOT", "emails": ["bot@webex.bot"]})],
    })
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", fake.handle)
    async with TestServer(app) as proxy, aiohttp.ClientSession() as session:
        monkeypatch.setenv("HTTP_PROXY", str(proxy.make_url("")))
        monkeypatch.setenv("NO_PROXY", "localhost")
        webex_url = "http://webexapis.example/v1"
        gateway = WebexGateway("bot-token", None, policy=RetryPolicy(),
                               rest=WebexRest(session, webex_url, timeout=2))
        try:
            assert (await gateway.get_message("M1")).id == "M1"  # aiohttp
            assert (await gateway.bot_me()).id == "BOT"  # the SDK, on its thread
        finally:
            gateway.close()
        monkeypatch.setenv("NO_PROXY", "webexapis.example")
        with pytest.raises(WebexError, match="did not answer"):  # exempt: tried directly
            await WebexRest(session, webex_url, timeout=2).request(
                "GET", "/messages/M1", "t", endpoint="GET /messages/{id}")

    assert [(method, path) for method, path, _, _ in fake.seen] == [
        ("GET", "/v1/messages/M1"), ("GET", "/v1/people/me")]
    assert fake.hosts == ["webexapis.example"] * 2
    assert fake.agents[0].startswith("ecn-bot/")


async def test_a_cookie_webex_sets_is_not_sent_back_under_any_identity() -> None:
    # A load balancer's or a proxy's Set-Cookie on one answer must not follow the bot's
    # later calls, made with other tokens (an admin's, the bot's). On a host name: aiohttp's
    # cookie jar ignores cookies from a bare IP address anyway.
    cookies: list[str | None] = []

    async def handle(request: web.Request) -> web.Response:
        cookies.append(request.headers.get("Cookie"))
        answer = web.json_response({"id": "M1", "roomId": "R", "personId": "P",
                                    "created": "2026-11-30T10:00:00.000Z"})
        answer.set_cookie("AWSALB", "sticky-one")
        return answer

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    async with TestServer(app, host="localhost") as server, webex_session() as session:
        rest = WebexRest(session, str(server.make_url("/v1")), timeout=2)
        for token in ("admin-token", "bot-token"):
            await rest.request("GET", "/messages/M1", token, endpoint="GET /messages/{id}")

    assert cookies == [None, None]


async def test_text_outside_ascii_is_read_as_webex_sends_it(webex: Any) -> None:
    fake, gateway = webex
    body = '{"id": "M1", "roomId": "R", "personId": "P", "text": "enable Zürich – café",' \
           ' "created": "2026-11-30T10:00:00.000Z"}'
    # Served with no charset at all: JSON is UTF-8 (RFC 8259), whatever the header omits.
    fake.answers["/v1/messages/M1"] = [lambda _: web.Response(
        body=body.encode(), content_type="application/json", charset=None)]

    assert (await gateway.get_message("M1")).text == "enable Zürich – café"
