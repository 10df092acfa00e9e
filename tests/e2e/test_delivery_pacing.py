"""End to end: 2,000 timeout notices due at once, sent by the real ``bot serve`` with
``WHATSAPP_MAX_MPS=100``: the fake Graph API never receives more than 100 in one second, and
every notice arrives once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest_asyncio

from bot.locales import Locales
from bot.sessions.model import Direction, MessageRecord, Session, SessionKey, Status
from bot.sessions.sqlite import SqliteStore
from tests.conftest import REPO
from tests.e2e.server import BotServer
from tests.fakes.graph_api import FakeGraphAPI

PHONE_ID = "1234567890"
NOTICES = 2000
MAX_MPS = 100
TIMEOUT_NOTICE = Locales.load(REPO / "locales", ["es", "en"], "es").text("es", "close.timeout")


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeGraphAPI]:
    async with FakeGraphAPI(access_token="test-access-token") as api:
        yield api


async def due_sessions(path: Path, count: int) -> list[str]:
    """``count`` active Spanish sessions whose deadline passed a minute ago; their users."""
    store = SqliteStore(path)
    await store.open()
    now = datetime.now(UTC)
    users = [f"54911880{n:05d}" for n in range(count)]
    for start in range(0, count, 500):
        sessions, messages = [], []
        for user in users[start : start + 500]:
            key = SessionKey("whatsapp", PHONE_ID, user)
            wrote = now - timedelta(minutes=31)
            session = Session(
                f"s{user}", key, Status.ACTIVE, wrote, wrote, now - timedelta(minutes=1)
            )
            session.language = "es"
            sessions.append(session)
            messages.append(
                MessageRecord(
                    session.id, key, Direction.IN, "text", "hola", wrote, provider_id=user
                )
            )
        await store.commit(sessions, messages)
    await store.close()
    return users


async def test_a_burst_of_notices_is_spread_at_the_configured_rate(
    tmp_path: Path, fake: FakeGraphAPI
) -> None:
    users = await due_sessions(tmp_path / "bot.db", NOTICES)
    server = BotServer(tmp_path, fake.url, WHATSAPP_MAX_MPS=str(MAX_MPS))
    await server.start()
    try:
        await fake.wait_for(lambda requests: len(requests) >= NOTICES, timeout_s=60)
        assert await server.stop() == 0, server.log()
    finally:
        await server.stop()
    per_second = fake.per_second()
    assert max(per_second.values()) <= MAX_MPS, sorted(per_second.items())
    assert len(per_second) >= NOTICES / MAX_MPS  # spread over 20+ seconds, not rejected
    assert all(r.status == 200 for r in fake.requests)
    assert sorted(r.to for r in fake.requests) == users  # each user once
    assert {r.text for r in fake.requests} == {TIMEOUT_NOTICE}
