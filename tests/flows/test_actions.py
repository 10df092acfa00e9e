"""Actions against a local fake HTTP server and a pool file: retries, failures, claims."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.flows.actions import ActionContext, Actions
from bot.flows.credentials import read_pool
from bot.flows.http_action import ActionFailed, AiohttpClient
from bot.flows.model import CredentialsAction, HttpAction, HttpCall
from tests.fakes.http_action import FakeActionAPI


@pytest.fixture
async def api() -> AsyncIterator[FakeActionAPI]:
    async with FakeActionAPI() as fake:
        yield fake


class Sleeps:
    """Records the backoff waits instead of waiting."""

    def __init__(self) -> None:
        self.waits_s: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits_s.append(seconds)


def context(session_id: str = "s1", **data: Any) -> ActionContext:
    return ActionContext(session_id, "5491155550001", "order", "place_order", "es", data)


def http(api: FakeActionAPI, path: str, **options: Any) -> HttpAction:
    return HttpAction(HttpCall(url=api.url + path, **options))


async def test_http_posts_the_session_and_saves_fields(api: FakeActionAPI) -> None:
    api.reply("/orders", 201, {"order": {"id": "A-7", "items": [{"eta": 30}]}})
    action = http(
        api,
        "/orders",
        headers={"Authorization": "Bearer k"},
        save={"n": "order.id", "eta": "order.items.0.eta"},
    )
    slots = await Actions(AiohttpClient()).run(action, context(address="Mitre 100"))
    assert slots == {"n": "A-7", "eta": 30}
    request = api.requests[0]
    assert request.body == {
        "session_id": "s1",
        "user": "5491155550001",
        "flow": "order",
        "step": "place_order",
        "language": "es",
        "data": {"address": "Mitre 100"},
    }
    assert request.headers["Authorization"] == "Bearer k"
    assert request.headers["Idempotency-Key"] == "s1:order:place_order"


async def test_http_retries_server_errors_with_exponential_backoff(api: FakeActionAPI) -> None:
    api.fail_next("/orders", status=503, count=2)
    api.reply("/orders", 200, {"id": "A-8"})
    sleeps = Sleeps()
    action = http(api, "/orders", retries=2, backoff_s=0.5, save={"n": "id"})
    assert await Actions(AiohttpClient(sleeps)).run(action, context()) == {"n": "A-8"}
    assert [r.status for r in api.requests] == [503, 503, 200]
    assert sleeps.waits_s == [0.5, 1.0]
    assert len({r.headers["Idempotency-Key"] for r in api.requests}) == 1


async def test_http_gives_up_after_its_retries(api: FakeActionAPI) -> None:
    api.fail_next("/orders", status=500, count=5)
    with pytest.raises(ActionFailed, match=r"HTTP 500 \(after 3 attempts\)"):
        await Actions(AiohttpClient(Sleeps())).run(http(api, "/orders", retries=2), context())
    assert len(api.requests) == 3


async def test_a_client_error_is_not_retried(api: FakeActionAPI) -> None:
    api.fail_next("/orders", status=422)
    with pytest.raises(ActionFailed, match="HTTP 422"):
        await Actions(AiohttpClient(Sleeps())).run(http(api, "/orders", retries=3), context())
    assert len(api.requests) == 1


async def test_a_slow_endpoint_times_out_and_is_retried(api: FakeActionAPI) -> None:
    api.delay("/orders", 1.0)
    action = http(api, "/orders", timeout_s=0.1, retries=1)
    with pytest.raises(ActionFailed, match=r"timed out after 0\.1s"):
        await Actions(AiohttpClient(Sleeps())).run(action, context())
    assert len(api.requests) == 2


async def test_a_missing_field_in_the_reply_fails(api: FakeActionAPI) -> None:
    api.reply("/orders", 200, {"other": 1})
    with pytest.raises(ActionFailed, match=r"no 'order\.id'"):
        await Actions().run(http(api, "/orders", save={"n": "order.id"}), context())


async def test_an_unreachable_endpoint_fails() -> None:
    action = HttpAction(HttpCall(url="http://127.0.0.1:9/orders", retries=1))
    with pytest.raises(ActionFailed, match="failed"):
        await Actions(AiohttpClient(Sleeps())).run(action, context())


def pool(tmp_path: Path, rows: str) -> CredentialsAction:
    path = tmp_path / "pool.csv"
    path.write_text("username,password\n" + rows, encoding="utf-8")
    return CredentialsAction(provider="pool", pool_file=path, pool=read_pool(path))


async def test_a_pool_hands_each_pair_out_once_across_restarts(tmp_path: Path) -> None:
    action = pool(tmp_path, "ana,pw1\nbob,pw2\n")
    state = tmp_path / "state"
    first = await Actions(state_dir=state).run(action, context("s1"))
    again = await Actions(state_dir=state).run(action, context("s1"))  # same session: same pair
    second = await Actions(state_dir=state).run(action, context("s2"))  # a new process
    assert first == again == {"username": "ana", "password": "pw1"}
    assert second == {"username": "bob", "password": "pw2"}
    with pytest.raises(ActionFailed, match="exhausted"):
        await Actions(state_dir=state).run(action, context("s3"))
    assert (state / "pool.csv.claims.sqlite").is_file()


async def test_generated_credentials_use_the_name() -> None:
    slots = await Actions().run(CredentialsAction(), context(name="José María"))
    assert slots["username"].startswith("josemaria") and len(slots["username"]) == 13
    assert len(slots["password"]) == 12


async def test_credentials_from_an_http_endpoint(api: FakeActionAPI) -> None:
    api.reply("/credentials", 200, {"username": "u1", "password": "p1", "extra": True})
    action = CredentialsAction(provider="http", http=HttpCall(url=api.url + "/credentials"))
    assert await Actions().run(action, context()) == {"username": "u1", "password": "p1"}
    api.reply("/credentials", 200, {"username": "u1"})
    with pytest.raises(ActionFailed, match="did not answer a username and a password"):
        await Actions().run(action, context())
