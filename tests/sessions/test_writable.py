"""A store that answers reads but refuses writes says so (``check_writable``, readiness), and
the SQLite store writes again by itself once its file can be written (issue #13, finding 4).

The real read-only file is tried on the real ``bot serve`` in tests/e2e/test_readonly_disk.py;
here the first connection is opened read-only on purpose, as SQLite itself opens a file it may
not write.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.sessions.redis import RedisStore
from bot.sessions.sqlite import SqliteStore
from bot.sessions.sqlite import worker as sqlite_worker
from bot.sessions.store import StoreUnavailable
from tests.redis_server import RedisServer
from tests.sessions.test_sqlite_store import message
from tests.sessions.test_store import KEY


@pytest.fixture
def first_connection_read_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Path]]:
    """Once the file exists, the worker's first connection is read-only (as SQLite opens a
    file it may not write), the next ones read-write; yields the paths of the connections
    opened on an existing file."""
    opened: list[Path] = []
    connect = sqlite_worker._connect

    def flaky(path: Path) -> sqlite3.Connection:
        if not path.exists():
            return connect(path)
        opened.append(path)
        if len(opened) == 1:
            return sqlite3.connect(
                f"{path.resolve().as_uri()}?mode=ro",
                uri=True,
                isolation_level=None,
                check_same_thread=False,
            )
        return connect(path)

    monkeypatch.setattr(sqlite_worker, "_connect", flaky)
    yield opened


async def _made(path: Path) -> None:
    """Create the file with its schema (a read-only connection cannot)."""
    store = SqliteStore(path)
    await store.open()
    await store.close()


async def test_a_read_only_file_answers_reads_but_is_not_writable(
    tmp_path: Path, first_connection_read_only: list[Path]
) -> None:
    path = tmp_path / "bot.db"
    await _made(path)
    store = SqliteStore(path)
    await store.open()
    try:
        await store.ping()  # reads work: the old readiness said "ready"
        with pytest.raises(StoreUnavailable, match="attempt to write a readonly database"):
            await store.check_writable()
    finally:
        await store.close()


async def test_a_read_only_file_writes_again_by_itself(
    tmp_path: Path, first_connection_read_only: list[Path], caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "bot.db"
    await _made(path)
    store = SqliteStore(path)
    await store.open()
    try:
        with pytest.raises(StoreUnavailable, match="readonly"):  # the webhook answers 503
            await store.enqueue_inbound(message("w1", "hola"))
        assert await store.inbox_keys(10) == []

        # The file is writable again (a new connection is): no restart needed.
        with caplog.at_level(logging.INFO, logger="bot.sessions.sqlite"):
            assert await store.enqueue_inbound(message("w1", "hola"))
            await store.check_writable()
        assert len(first_connection_read_only) == 2, "opened again once"
        assert "writes to" in caplog.text and "succeed again" in caplog.text
        queued = await store.next_inbound(KEY)
        assert queued is not None and queued.text == "hola"
    finally:
        await store.close()
    with sqlite3.connect(path) as other:  # stored for real
        assert other.execute("SELECT body FROM inbox").fetchall() != []


async def test_a_file_error_during_a_burst_reconnects_once_and_no_call_sees_a_closed_store(
    tmp_path: Path, first_connection_read_only: list[Path]
) -> None:
    path = tmp_path / "bot.db"
    await _made(path)
    store = SqliteStore(path)
    await store.open()
    try:
        with pytest.raises(StoreUnavailable):
            await store.enqueue_inbound(message("w0"))
        results = await asyncio.gather(
            *(store.enqueue_inbound(message(f"w{i}")) for i in range(1, 21)),
            *(store.get(f"s{i}") for i in range(20)),
            return_exceptions=True,
        )
        assert results == [True] * 20 + [None] * 20
        assert len(first_connection_read_only) == 2
    finally:
        await store.close()


async def test_a_write_that_never_finishes_is_reported_in_time(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "bot.db")
    await store.open()
    never: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def stuck() -> None:
        await never

    store._write_probe = stuck  # type: ignore[method-assign]
    try:
        with pytest.raises(StoreUnavailable, match="no write finished in 0 s"):
            await store.check_writable(timeout_s=0)
    finally:
        await store.close()


async def test_redis_that_refuses_writes_is_not_writable(redis_server: RedisServer) -> None:
    store = RedisStore(redis_server.url)
    await store.open()
    try:
        await store.check_writable()
        assert 0 < await store.redis.pttl("store:probe") <= 60_000
        await store.redis.execute_command("REPLICAOF", "127.0.0.1", "1")  # a read-only replica
        try:
            await store.ping()  # reads still answer
            with pytest.raises(StoreUnavailable, match=r"READONLY|read only"):
                await store.check_writable()
        finally:
            await store.redis.execute_command("REPLICAOF", "NO", "ONE")
        await store.check_writable()
    finally:
        await store.close()
