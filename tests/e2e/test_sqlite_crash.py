"""End to end on the embedded SQLite store: the real ``bot serve`` killed with SIGKILL in the
middle of a burst, started again on the same file: every message it acknowledged is processed
once, in order, and answered (group commit and the in-memory inbox lose nothing)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from tests.e2e.server import BotServer
from tests.e2e.test_redis_workers import burst, check_processed_once_in_order, history, poll
from tests.fakes.graph_api import FakeGraphAPI


class _Moments(list[float]):
    """The kill times ``burst`` appends to, with an event set on the first."""

    def __init__(self) -> None:
        super().__init__()
        self.added = asyncio.Event()

    def append(self, moment: float) -> None:
        super().append(moment)
        self.added.set()


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeGraphAPI]:
    async with FakeGraphAPI(access_token="test-access-token") as api:
        yield api


async def test_a_sigkilled_worker_restarted_on_its_file_loses_nothing(
    tmp_path: Path, fake: FakeGraphAPI
) -> None:
    folder = tmp_path / "worker"
    folder.mkdir()
    first = BotServer(folder, fake.url, SESSION_TIMEOUT_MINUTES="30")
    await first.start()
    workers = [first]  # burst() posts to whatever server is in this list, retrying until a 200
    killed_at = _Moments()

    async def restart_after_the_kill() -> BotServer:
        await killed_at.added.wait()
        again = BotServer(folder, fake.url, SESSION_TIMEOUT_MINUTES="30")
        await again.start()
        workers[0] = again
        return again

    restarting = asyncio.create_task(restart_after_the_kill())
    try:
        users = [f"54955{i:08d}" for i in range(20)]
        sent = await burst(workers, users, 10, kill=(first, 80), killed_at=killed_at)
        second = await restarting

        async def all_processed() -> None:
            for user, texts in sent.items():
                inbound = [m for m in await history(second, user) if m["direction"] == "in"]
                assert len(inbound) == len(texts), user

        await poll(all_processed, timeout_s=60)
        await poll(
            lambda: check_processed_once_in_order(second, fake, sent, killed_at[0]),
            timeout_s=30,
        )
    finally:
        restarting.cancel()
        await asyncio.gather(restarting, return_exceptions=True)
        await asyncio.gather(*(w.stop() for w in workers), return_exceptions=True)
