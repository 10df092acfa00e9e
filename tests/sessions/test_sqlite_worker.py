"""The SQLite store's thread: writes queued together commit together, one failure stays its own."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.sessions.sqlite.worker import SqliteWorker


def _schema(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE IF NOT EXISTS t (name TEXT PRIMARY KEY)")


@pytest.fixture
async def worker(tmp_path: Path) -> AsyncIterator[SqliteWorker]:
    running = SqliteWorker(tmp_path / "w.db", _schema)
    await running.start()
    yield running
    await running.stop()


def _insert(name: str) -> object:
    def job(conn: sqlite3.Connection) -> int:
        return conn.execute("INSERT INTO t (name) VALUES (?)", (name,)).rowcount

    return job


def _names(conn: sqlite3.Connection) -> list[str]:
    return [row["name"] for row in conn.execute("SELECT name FROM t ORDER BY name")]


async def test_a_failing_write_undoes_only_itself(worker: SqliteWorker, tmp_path: Path) -> None:
    await worker.write(_insert("taken"))  # type: ignore[arg-type]
    futures = [worker.write(_insert(n)) for n in ("a", "taken", "b")]  # type: ignore[arg-type]
    results = await asyncio.gather(*futures, return_exceptions=True)
    assert results[0] == 1 and results[2] == 1
    assert isinstance(results[1], sqlite3.IntegrityError)
    # Committed for real: another connection sees the rows.
    with sqlite3.connect(tmp_path / "w.db") as other:
        assert sorted(r[0] for r in other.execute("SELECT name FROM t")) == ["a", "b", "taken"]


async def test_writes_queued_together_commit_in_one_transaction(worker: SqliteWorker) -> None:
    statements: list[str] = []

    def trace(conn: sqlite3.Connection) -> None:
        conn.set_trace_callback(statements.append)

    await worker.read(trace)
    futures = [worker.write(_insert(f"user{n}")) for n in range(50)]  # type: ignore[arg-type]
    seen = worker.read(_names)  # queued with the writes: runs after their commit
    assert await asyncio.gather(*futures) == [1] * 50
    assert len(await seen) == 50
    assert statements.count("COMMIT") == 1
    assert statements.count("BEGIN IMMEDIATE") == 1


async def test_a_read_sees_the_writes_queued_before_it(worker: SqliteWorker) -> None:
    write = worker.write(_insert("x"))  # type: ignore[arg-type]
    read = worker.read(_names)
    assert await read == ["x"]
    assert await write == 1


async def test_stop_finishes_queued_jobs(tmp_path: Path) -> None:
    running = SqliteWorker(tmp_path / "w.db", _schema)
    await running.start()
    futures = [running.write(_insert(f"n{i}")) for i in range(10)]  # type: ignore[arg-type]
    await running.stop()
    assert await asyncio.gather(*futures) == [1] * 10
    with pytest.raises(RuntimeError, match="before start"):
        running.write(_insert("late"))  # type: ignore[arg-type]


async def test_a_failing_setup_fails_start(tmp_path: Path) -> None:
    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("THIS IS NOT SQL")

    worker = SqliteWorker(tmp_path / "w.db", broken)
    with pytest.raises(sqlite3.OperationalError):
        await worker.start()
    assert not worker.running
