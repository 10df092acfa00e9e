"""The sweeper's batches on every backend: each due session closed once with one notice, also
with two sweepers at once; a session whose user is busy is re-checked, never closed under a
turn; and on Redis, many users' locks taken at once without waiting."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.config import DeliverySettings
from bot.delivery.outbox import Outbox
from bot.locales import Locales
from bot.sessions.locks import KeyedLock, UserLocks
from bot.sessions.model import SessionKey, Status
from bot.sessions.redis import RedisStore
from bot.sessions.redis.locks import RedisUserLocks
from bot.sessions.service import SessionService
from bot.sessions.sqlite import SqliteStore
from bot.sessions.store import SessionStore
from bot.sessions.sweeper import Sweeper
from tests.conftest import REPO
from tests.fakes.recording_sender import RecordingSender
from tests.redis_server import RedisServer
from tests.sessions.test_store import T0, session

LOCALES = Locales.load(REPO / "locales", ["es", "en"], "es")
NOTICE = LOCALES.text("es", "close.timeout")


def user(n: int) -> SessionKey:
    return SessionKey("whatsapp", "123", f"54911{n:08d}")


@pytest.fixture(params=["sqlite", "redis"])
async def stores(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[list[SessionStore]]:
    """Two handles on one store, as two workers have (SQLite: one process, one handle)."""
    if request.param == "sqlite":
        one = SqliteStore(tmp_path / "bot.db")
        await one.open()
        yield [one, one]
        await one.close()
        return
    server: RedisServer = request.getfixturevalue("redis_server")
    server.flush()
    both: list[SessionStore] = [RedisStore(server.url), RedisStore(server.url)]
    for s in both:
        await s.open()
    yield both
    for s in both:
        await s.close()


def sweeper(
    store: SessionStore, sender: RecordingSender, batch: int = 500, locks: UserLocks | None = None
) -> Sweeper:
    service = SessionService(LOCALES, 1800)
    # No pacing: a sweep's hundreds of notices are not spread over seconds of real time.
    unpaced = DeliverySettings(max_mps=0.0)
    outbox = Outbox(store, {"whatsapp": sender}, clock=lambda: T0, settings=unpaced)
    locks = store.user_locks() if locks is None else locks
    return Sweeper(store, service, outbox, locks, lambda: T0, batch=batch)


async def fill(store: SessionStore, users: int, due: int) -> None:
    sessions = [session(user(n), -1 if n < due else 30, sid=f"s{n}") for n in range(users)]
    for s in sessions:
        s.language = "es"
    await store.commit(sessions, [])


async def test_every_due_session_is_closed_once_with_one_notice_by_two_sweepers(
    stores: list[SessionStore],
) -> None:
    await fill(stores[0], 300, 250)
    sender = RecordingSender()
    # One process shares its locks (SQLite); workers share them through Redis.
    shared = stores[0].user_locks() if stores[0] is stores[1] else None
    first = sweeper(stores[0], sender, batch=40, locks=shared)
    second = sweeper(stores[1], sender, batch=40, locks=shared)
    closed = sum(await asyncio.gather(first.run_once(), second.run_once()))
    closed += await first.run_once()  # users the other sweeper held at that moment
    assert closed == 250
    assert sorted(s.to for s in sender.sent) == sorted(user(n).user_id for n in range(250))
    assert {s.text for s in sender.sent} == {NOTICE}
    for n in range(300):
        found = await stores[0].get(f"s{n}")
        assert found is not None
        assert found.status is (Status.TIMEOUT if n < 250 else Status.ACTIVE)
    assert await first.run_once() == 0


async def test_a_session_touched_while_the_sweeper_waits_for_its_user_stays_open(
    stores: list[SessionStore],
) -> None:
    store = stores[0]
    await fill(store, 3, 3)
    sender = RecordingSender()
    locks = store.user_locks()
    sweep = sweeper(store, sender, locks=locks)
    turn_started, finish_turn = asyncio.Event(), asyncio.Event()

    async def turn() -> None:  # an engine turn of user 1: the message moves the deadline
        async with locks.lock(user(1)):
            turn_started.set()
            await finish_turn.wait()
            touched = await store.get("s1")
            assert touched is not None
            touched.expires_at = T0 + timedelta(minutes=30)
            await store.commit([touched], [])

    running = asyncio.create_task(turn())
    await turn_started.wait()
    sweeping = asyncio.create_task(sweep.run_once())

    def sweeper_passed_or_waits() -> bool:
        """Redis: the sweep skipped the held user and ended. One process: the sweep read the
        due sessions and holds user 0's lock (a second key in use) on its way to user 1's."""
        return sweeping.done() or (isinstance(locks, KeyedLock) and len(locks) == 2)

    await until(sweeper_passed_or_waits)
    finish_turn.set()
    await running
    await sweeping
    await sweep.run_once()
    assert sorted(s.to for s in sender.sent) == [user(0).user_id, user(2).user_id]
    kept = await store.get("s1")
    assert kept is not None and kept.status is Status.ACTIVE


async def test_redis_locks_taken_at_once_skip_held_users_and_block_others(
    redis_server: RedisServer,
) -> None:
    redis_server.flush()
    worker_a, worker_b = RedisStore(redis_server.url), RedisStore(redis_server.url)
    await worker_a.open()
    await worker_b.open()
    try:
        locks_a, locks_b = worker_a.user_locks(), worker_b.user_locks()
        assert isinstance(locks_a, RedisUserLocks) and isinstance(locks_b, RedisUserLocks)
        async with locks_b.lock(user(0)):  # held by another worker
            async with locks_a.hold_free([user(0), user(1), user(2), user(1)]) as held:
                assert held == [user(1), user(2)]
                async with locks_a.hold_free([user(1)]) as again:  # this process holds it
                    assert again == []
                refused = asyncio.Event()
                take = locks_b._take

                async def take_or_tell(*args: Any) -> bool:
                    taken = await take(*args)
                    if not taken:
                        refused.set()
                    return taken

                locks_b._take = take_or_tell
                waiting = asyncio.create_task(_take(locks_b, user(2)))
                async with asyncio.timeout(5):
                    await refused.wait()  # the other worker asked Redis and was refused
                assert not waiting.done()  # so it waits for the batch
            async with asyncio.timeout(2):
                await waiting
    finally:
        await worker_a.close()
        await worker_b.close()


async def until(condition: Callable[[], bool], within_s: float = 5.0) -> None:
    """Yield to the event loop until ``condition()`` holds (``TimeoutError`` after
    ``within_s``): waits for something to happen, never for time to pass."""
    async with asyncio.timeout(within_s):
        while not condition():  # noqa: ASYNC110 - polls state that sets no event
            await asyncio.sleep(0)


async def _take(locks: RedisUserLocks, key: SessionKey) -> None:
    async with locks.lock(key):
        pass
