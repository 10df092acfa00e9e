"""Two real ``bot serve`` workers on one real Redis (and on a real Redis Cluster): ordering,
idempotency, exactly-once timeouts, and recovery from a killed worker and a restarted Redis."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from bot.locales import Locales
from tests.conftest import REPO
from tests.e2e.server import APP_SECRET, BotServer
from tests.fakes.cloud_payloads import envelope, new_wamid, signed, text_message
from tests.fakes.graph_api import FakeGraphAPI
from tests.redis_cluster import RedisCluster
from tests.redis_server import RedisServer

PHONE_ID = "1234567890"
LOCALES = Locales.load(REPO / "locales", ["es", "en"], "es")
TIMEOUT_NOTICE = LOCALES.text("es", "close.timeout")


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis")
    server.folder.mkdir()
    server.start()
    yield server
    server.stop()


@pytest.fixture(params=["redis", "redis-cluster"])
def store_server(request: pytest.FixtureRequest) -> RedisServer | RedisCluster:
    """A fresh Redis, or the run's Redis Cluster (3 masters) emptied."""
    if request.param == "redis":
        server: RedisServer = request.getfixturevalue("redis_server")
        return server
    cluster: RedisCluster = request.getfixturevalue("redis_cluster")
    cluster.flush()
    return cluster


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeGraphAPI]:
    async with FakeGraphAPI(access_token="test-access-token") as api:
        yield api


async def start_workers(
    count: int,
    tmp_path: Path,
    fake: FakeGraphAPI,
    redis: RedisServer | RedisCluster,
    timeout_min: str,
) -> list[BotServer]:
    workers = []
    for i in range(count):
        folder = tmp_path / f"worker{i}"
        folder.mkdir()
        workers.append(
            BotServer(folder, fake.url, DATABASE_URL=redis.url, SESSION_TIMEOUT_MINUTES=timeout_min)
        )
    await asyncio.gather(*(w.start() for w in workers))
    return workers


async def post(
    http: aiohttp.ClientSession, worker: BotServer, body: bytes, headers: dict[str, str]
) -> int:
    try:
        async with http.post(
            f"{worker.url}/webhook/whatsapp", data=body, headers=headers
        ) as response:
            return response.status
    except aiohttp.ClientError:
        return 0  # not acknowledged: the provider would deliver it again


async def deliver(
    http: aiohttp.ClientSession,
    workers: list[BotServer],
    body: bytes,
    headers: dict[str, str],
    first: int,
) -> None:
    """Post until some worker acknowledges with 200, as Meta retries an unacknowledged event."""
    for attempt in range(200):
        worker = workers[(first + attempt) % len(workers)]
        if await post(http, worker, body, headers) == 200:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("no worker acknowledged the message")


async def history(worker: BotServer, user: str) -> list[dict[str, Any]]:
    """Every message of every session of ``user``, oldest session first."""
    status, listing = await worker.admin(f"/v1/sessions?user={user}&limit=100")
    assert status == 200
    messages: list[dict[str, Any]] = []
    for session in reversed(listing["sessions"]):
        _, detail = await worker.admin(f"/v1/sessions/{session['id']}?limit=1000")
        messages.extend(detail["messages"])
    return messages


async def burst(
    workers: list[BotServer],
    users: list[str],
    per_user: int,
    kill: tuple[BotServer, int] | None = None,
    killed_at: list[float] | None = None,
) -> dict[str, list[str]]:
    """Each user sends ``per_user`` texts in order, alternating workers; every fifth one is
    also delivered a second time to the other worker. Returns the texts per user; the time of
    the kill is appended to ``killed_at``."""
    sent: dict[str, list[str]] = {u: [] for u in users}
    counter = 0

    async def one_user(http: aiohttp.ClientSession, index: int, user: str) -> None:
        nonlocal counter
        for n in range(per_user):
            text = "hola" if n == 0 else f"mensaje {n:02d}"
            body, headers = signed(
                envelope(
                    text_message(text, wa_id=user, phone_number_id=PHONE_ID, wamid=new_wamid())
                ),
                APP_SECRET,
            )
            await deliver(http, workers, body, headers, index + n)
            sent[user].append(text)
            if n % 5 == 4:
                await deliver(http, workers, body, headers, index + n + 1)
            counter += 1
            if kill is not None and counter == kill[1]:
                await kill[0].stop(signal.SIGKILL)
                if killed_at is not None:
                    killed_at.append(time.time())

    async with aiohttp.ClientSession() as http:
        await asyncio.gather(*(one_user(http, i, u) for i, u in enumerate(users)))
    return sent


async def check_processed_once_in_order(
    worker: BotServer,
    fake: FakeGraphAPI,
    sent: dict[str, list[str]],
    killed_at: float | None = None,
) -> None:
    """Every inbound message processed once, in order; every reply accepted once, in order.

    A send the worker killed at ``killed_at`` had in flight may have been accepted without
    being recorded: the survivor sends it again (at least once, never lost); nothing else
    may arrive twice.
    """
    for user, texts in sent.items():
        messages = await history(worker, user)
        inbound = [m for m in messages if m["direction"] == "in"]
        assert [m["text"] for m in inbound] == texts, user
        assert len({m["provider_id"] for m in inbound}) == len(texts), user
        outbound = [m for m in messages if m["direction"] == "out"]
        recorded = {m["provider_id"] for m in outbound}
        accepted = [r for r in fake.requests if r.to == user and r.wamid is not None]
        assert [r.text for r in accepted if r.wamid in recorded] == [
            m["text"] for m in outbound
        ], user
        unrecorded = [r for r in accepted if r.wamid not in recorded]
        assert all(killed_at and r.received_at <= killed_at for r in unrecorded), user


async def test_two_workers_keep_order_process_once_and_time_out_once(
    tmp_path: Path, fake: FakeGraphAPI, store_server: RedisServer | RedisCluster
) -> None:
    workers = await start_workers(2, tmp_path, fake, store_server, "0.08")
    try:
        users = [f"54911{i:08d}" for i in range(50)]
        sent = await burst(workers, users, 20)
        # Every session goes quiet at the end: each gets exactly one timeout notice.
        await fake.wait_for(
            lambda _: all(TIMEOUT_NOTICE in fake.texts_to(u) for u in users), timeout_s=60
        )
        await asyncio.sleep(1.5)  # several more sweeps on both workers: none may notify again
        await check_processed_once_in_order(workers[0], fake, sent)
        for user in users:
            _, listing = await workers[1].admin(f"/v1/sessions?user={user}&limit=100")
            timed_out = [s for s in listing["sessions"] if s["status"] == "timeout"]
            assert fake.texts_to(user).count(TIMEOUT_NOTICE) == len(timed_out) >= 1, user
            assert all(s["status"] != "active" for s in listing["sessions"]), user
    finally:
        await asyncio.gather(*(w.stop() for w in workers), return_exceptions=True)


async def test_a_killed_worker_and_a_restarted_redis_lose_nothing(
    tmp_path: Path, fake: FakeGraphAPI, redis_server: RedisServer
) -> None:
    workers = await start_workers(2, tmp_path, fake, redis_server, "30")
    try:
        users = [f"54922{i:08d}" for i in range(20)]
        killed_at: list[float] = []
        sent = await burst(workers, users, 10, kill=(workers[0], 60), killed_at=killed_at)
        survivor = workers[1]

        async def all_answered() -> None:
            for user, texts in sent.items():
                inbound = [m for m in await history(survivor, user) if m["direction"] == "in"]
                assert len(inbound) == len(texts), user

        await poll(all_answered, timeout_s=60)  # the killed worker's queue is taken over
        # Replies leave in the background; those of the killed worker's users once its
        # sender locks' leases run out.
        await poll(
            lambda: check_processed_once_in_order(survivor, fake, sent, killed_at[0]),
            timeout_s=30,
        )

        # Redis restarts under the survivor: a burst during and after is fully processed.
        redis_server.stop()
        more_users = [f"54933{i:08d}" for i in range(10)]
        restart = asyncio.create_task(restart_later(redis_server, 1.0))
        sent_more = await burst([survivor], more_users, 5)
        await restart

        async def more_answered() -> None:
            for user, texts in sent_more.items():
                inbound = [m for m in await history(survivor, user) if m["direction"] == "in"]
                assert len(inbound) == len(texts), user

        await poll(more_answered, timeout_s=60)
        await poll(lambda: check_processed_once_in_order(survivor, fake, sent_more), timeout_s=30)
    finally:
        await asyncio.gather(*(w.stop() for w in workers), return_exceptions=True)


async def restart_later(server: RedisServer, delay_s: float) -> None:
    await asyncio.sleep(delay_s)
    await asyncio.to_thread(server.start)


async def poll(check: Any, timeout_s: float) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        try:
            await check()
            return
        except (AssertionError, aiohttp.ClientError):
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.5)


async def test_a_store_outage_answers_503_and_recovers_by_itself(
    tmp_path: Path, fake: FakeGraphAPI, redis_server: RedisServer
) -> None:
    [worker] = await start_workers(1, tmp_path, fake, redis_server, "30")
    try:
        user = "5494400000001"
        body, headers = signed(
            envelope(text_message("hola", wa_id=user, phone_number_id=PHONE_ID)), APP_SECRET
        )
        redis_server.stop()
        async with aiohttp.ClientSession() as http:
            assert await post(http, worker, body, headers) == 503
            async with http.get(f"{worker.url}/readyz") as response:
                assert response.status == 503
                assert "store unreachable" in (await response.json())["reason"]
            async with http.get(f"{worker.url}/healthz") as response:
                assert response.status == 200
            redis_server.start()
            assert await post(http, worker, body, headers) == 200
            async with http.get(f"{worker.url}/readyz") as response:
                assert response.status == 200
        await fake.wait_for(lambda _: len(fake.texts_to(user)) == 1, timeout_s=15)
        assert fake.texts_to(user) == [LOCALES.text("es", "welcome")]
    finally:
        await worker.stop()
