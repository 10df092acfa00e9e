"""End to end: the real ``bot serve`` killed with SIGKILL after closing sessions but before
their notices left; after a restart every notice reaches the (fake) Graph API exactly once."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from bot.locales import Locales
from tests.conftest import REPO
from tests.e2e.server import APP_SECRET, BotServer
from tests.fakes.cloud_payloads import envelope, signed, text_message
from tests.fakes.graph_api import FakeGraphAPI

PHONE_ID = "1234567890"
LOCALES = Locales.load(REPO / "locales", ["es", "en"], "es")
WELCOME = LOCALES.text("es", "welcome")
TIMEOUT_NOTICE = LOCALES.text("es", "close.timeout")
USERS = [f"54911770{n:05d}" for n in range(12)]


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeGraphAPI]:
    async with FakeGraphAPI(access_token="test-access-token") as api:
        yield api


async def until(check: object, timeout_s: float = 30.0) -> None:
    """Poll ``check()`` (an async callable returning bool) until true."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await check():  # type: ignore[operator]
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.2)


async def test_notices_pending_at_a_sigkill_are_delivered_once_after_restart(
    tmp_path: Path, fake: FakeGraphAPI
) -> None:
    env = {"SESSION_TIMEOUT_MINUTES": "0.02", "DELIVERY_RETRY_BASE_SECONDS": "0.5"}
    first = BotServer(tmp_path, fake.url, **env)
    await first.start()
    try:
        for user in USERS:
            body, headers = signed(
                envelope(text_message("hola", wa_id=user, phone_number_id=PHONE_ID)), APP_SECRET
            )
            assert (await first.post(body, headers))[0] == 200
        await fake.wait_for(lambda _: all(fake.texts_to(u) == [WELCOME] for u in USERS))
        fake.fail_all(status=503, code=2)  # Meta is down: the notices cannot leave

        async def all_closed() -> bool:
            _, listing = await first.admin("/v1/sessions?status=timeout&limit=100")
            return bool(listing["total"] == len(USERS))

        await until(all_closed)  # 1.2 s of silence: the sweeper closed every session
        await fake.wait_for(lambda requests: len({r.to for r in requests if r.status == 503}) > 3)
    finally:
        await first.stop(signal.SIGKILL)
    assert all(TIMEOUT_NOTICE not in fake.texts_to(u) for u in USERS)  # none accepted yet

    fake.recover()
    second = BotServer(tmp_path, fake.url, **env)
    await second.start()
    try:
        await fake.wait_for(
            lambda _: all(TIMEOUT_NOTICE in fake.texts_to(u) for u in USERS), timeout_s=30
        )

        async def all_recorded_sent() -> bool:
            for user in USERS:
                _, listing = await second.admin(f"/v1/sessions?user={user}")
                _, detail = await second.admin(f"/v1/sessions/{listing['sessions'][0]['id']}")
                if [m["status"] for m in detail["messages"] if m["direction"] == "out"] != [
                    "sent",
                    "sent",
                ]:
                    return False
            return True

        await until(all_recorded_sent)  # nothing is pending: nothing can be sent again
        assert await second.stop() == 0, second.log()
    finally:
        await second.stop(signal.SIGKILL)
    for user in USERS:
        assert fake.texts_to(user) == [WELCOME, TIMEOUT_NOTICE], user
