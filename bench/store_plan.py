"""What the SQLite store's call pattern costs per message, and what batching saves.

Before issue #7's rework, the profile of the SQLite worker at saturation put half of its CPU in
the store: each message made about 20 ``await``s on aiosqlite (each a hop to its thread and back
through the event loop's self-pipe) in 5 transactions. This measures that mechanism alone, with
the same statements on a table of the same shape (WAL, ``synchronous=NORMAL``), in these ways:

- ``per statement (the store before #7)``: aiosqlite, one await per execute / fetch / cursor
  close / commit (enqueue; next inbound; active session; the turn's commit; a reply marked
  sent; next inbound, empty);
- ``per transaction``: the same statements, one thread hop per transaction (5 per message);
- ``group commit + hot cache`` (what ``bot/sessions/sqlite/`` does now, with its own thread
  instead of aiosqlite's): reads answered from memory (the session and the inbox are
  known under the user's lock), every write of ``--batch`` messages in one transaction, one
  hop per batch; and the same written on the event loop's thread (no hop at all).

Each runs ``--messages`` messages from ``--concurrency`` concurrent tasks and reports process
CPU microseconds per message (the worker's cost) and messages per second.

    python -m bench.store_plan [--messages 20000] [--concurrency 64] [--batch 64] [--cpu 0]

Prints a table and writes ``bench/results/store_plan.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

import aiosqlite

SCHEMA = """
CREATE TABLE inbox (id INTEGER PRIMARY KEY, user_id TEXT NOT NULL, provider_id TEXT, body TEXT);
CREATE INDEX inbox_user ON inbox (user_id, id);
CREATE TABLE seen (provider_id TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE sessions (id TEXT PRIMARY KEY, user_id TEXT, status TEXT, data TEXT);
CREATE INDEX sessions_user ON sessions (user_id) WHERE status = 'active';
CREATE TABLE messages (id INTEGER PRIMARY KEY, session_id TEXT, direction TEXT, text TEXT,
    provider_id TEXT, status TEXT);
"""
RESULTS = Path(__file__).resolve().parent / "results" / "store_plan.json"
BODY = json.dumps({"text": "quiero una prueba gratis " * 3, "kind": "text", "n": 1})
SESSION = json.dumps({"name": "Ana Pérez", "email": "ana@example.com", "plan": "pro"})


async def per_statement(path: Path, messages: int, concurrency: int) -> None:
    db = await aiosqlite.connect(path)
    await db.execute("PRAGMA synchronous=NORMAL")
    write = asyncio.Lock()

    async def one(n: int) -> None:
        user, wamid = f"u{n % 5000}", f"w{n}"
        async with write:  # enqueue_inbound
            await db.execute("INSERT OR IGNORE INTO seen VALUES (?)", (wamid,))
            await db.execute(
                "INSERT INTO inbox (user_id, provider_id, body) VALUES (?,?,?)", (user, wamid, BODY)
            )
            await db.commit()
        for sql in (
            "SELECT body FROM inbox WHERE user_id=? ORDER BY id LIMIT 1",
            "SELECT * FROM sessions WHERE user_id=? AND status='active'",
        ):
            async with db.execute(sql, (user,)) as cursor:
                await cursor.fetchone()
        async with write:  # commit of the turn
            await db.execute("DELETE FROM inbox WHERE provider_id=?", (wamid,))
            await db.execute(
                "INSERT INTO sessions VALUES (?,?,'active',?) ON CONFLICT (id) "
                "DO UPDATE SET data=excluded.data",
                (user, user, SESSION),
            )
            for direction in ("in", "out"):
                await db.execute(
                    "INSERT INTO messages (session_id, direction, text, status) "
                    "VALUES (?,?,?,'pending')",
                    (user, direction, BODY),
                )
            await db.commit()
        async with write:  # mark_outbound
            await db.execute(
                "UPDATE messages SET status='sent', provider_id=? WHERE id=?", (wamid, n)
            )
            await db.commit()
        async with db.execute(
            "SELECT body FROM inbox WHERE user_id=? ORDER BY id LIMIT 1", (user,)
        ) as cursor:
            await cursor.fetchone()

    await _spread(one, messages, concurrency)
    await db.close()


async def per_transaction(path: Path, messages: int, concurrency: int) -> None:
    db = sqlite3.connect(path, check_same_thread=False)
    db.execute("PRAGMA synchronous=NORMAL")
    lock = asyncio.Lock()

    def enqueue(user: str, wamid: str) -> None:
        with db:
            db.execute("INSERT OR IGNORE INTO seen VALUES (?)", (wamid,))
            db.execute(
                "INSERT INTO inbox (user_id, provider_id, body) VALUES (?,?,?)", (user, wamid, BODY)
            )

    def read(sql: str, user: str) -> Any:
        return db.execute(sql, (user,)).fetchone()

    def turn(user: str, wamid: str) -> None:
        with db:
            db.execute("DELETE FROM inbox WHERE provider_id=?", (wamid,))
            db.execute(
                "INSERT INTO sessions VALUES (?,?,'active',?) ON CONFLICT (id) "
                "DO UPDATE SET data=excluded.data",
                (user, user, SESSION),
            )
            for direction in ("in", "out"):
                db.execute(
                    "INSERT INTO messages (session_id, direction, text, status) "
                    "VALUES (?,?,?,'pending')",
                    (user, direction, BODY),
                )

    def mark(wamid: str, n: int) -> None:
        with db:
            db.execute("UPDATE messages SET status='sent', provider_id=? WHERE id=?", (wamid, n))

    async def hop(fn: Any, *args: Any) -> Any:
        async with lock:  # one connection: one transaction at a time
            return await asyncio.to_thread(fn, *args)

    async def one(n: int) -> None:
        user, wamid = f"u{n % 5000}", f"w{n}"
        await hop(enqueue, user, wamid)
        await hop(read, "SELECT body FROM inbox WHERE user_id=? ORDER BY id LIMIT 1", user)
        await hop(read, "SELECT * FROM sessions WHERE user_id=? AND status='active'", user)
        await hop(turn, user, wamid)
        await hop(mark, wamid, n)

    await _spread(one, messages, concurrency)
    db.close()


async def group_commit(
    path: Path, messages: int, concurrency: int, batch: int, in_thread: bool = True
) -> None:
    db = sqlite3.connect(path, check_same_thread=False)
    db.execute("PRAGMA synchronous=NORMAL")
    queue: list[tuple[str, tuple[Any, ...], asyncio.Future[None]]] = []
    wake = asyncio.Event()
    stop = False

    def write_all(items: list[tuple[str, tuple[Any, ...], asyncio.Future[None]]]) -> None:
        with db:
            for sql, params, _ in items:
                db.execute(sql, params)

    async def writer() -> None:
        while not stop or queue:
            await wake.wait()
            wake.clear()
            while queue:
                items, queue[:] = queue[:batch], queue[batch:]
                if in_thread:
                    await asyncio.to_thread(write_all, items)
                else:
                    write_all(items)  # blocks the loop for the batch (~2 ms for 64)
                for _, _, done in items:
                    done.set_result(None)

    def write(sql: str, params: tuple[Any, ...]) -> asyncio.Future[None]:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue.append((sql, params, done))
        wake.set()
        return done

    async def one(n: int) -> None:
        user, wamid = f"u{n % 5000}", f"w{n}"
        await asyncio.gather(  # durable before the ack
            write("INSERT OR IGNORE INTO seen VALUES (?)", (wamid,)),
            write(
                "INSERT INTO inbox (user_id, provider_id, body) VALUES (?,?,?)", (user, wamid, BODY)
            ),
        )
        # inbox head and session come from memory: nothing read
        await asyncio.gather(
            write("DELETE FROM inbox WHERE provider_id=?", (wamid,)),
            write(
                "INSERT INTO sessions VALUES (?,?,'active',?) ON CONFLICT (id) "
                "DO UPDATE SET data=excluded.data",
                (user, user, SESSION),
            ),
            *(
                write(
                    "INSERT INTO messages (session_id, direction, text, status) "
                    "VALUES (?,?,?,'pending')",
                    (user, d, BODY),
                )
                for d in ("in", "out")
            ),
        )
        await write("UPDATE messages SET status='sent', provider_id=? WHERE id=?", (wamid, n))

    task = asyncio.create_task(writer())
    await _spread(one, messages, concurrency)
    stop = True
    wake.set()
    await task
    db.close()


async def _spread(one: Any, messages: int, concurrency: int) -> None:
    next_n = iter(range(messages))

    async def worker() -> None:
        for n in next_n:
            await one(n)

    await asyncio.gather(*(worker() for _ in range(concurrency)))


def measure(name: str, run: Any, messages: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-store-") as folder:
        path = Path(folder) / "plan.db"
        setup = sqlite3.connect(path)
        setup.execute("PRAGMA journal_mode=WAL")  # persistent; synchronous is per connection
        setup.executescript(SCHEMA)
        setup.close()
        cpu, wall = time.process_time(), time.perf_counter()
        asyncio.run(run(path))
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return {
        "pattern": name,
        "cpu_us_per_message": round(cpu * 1e6 / messages, 1),
        "messages_per_s": round(messages / wall),
    }


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(
        prog="python -m bench.store_plan", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--cpu", type=int, default=None, help="core to pin the process to")
    args = parser.parse_args(argv)
    if args.cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.cpu})
    m, c = args.messages, args.concurrency
    results = [
        measure("per statement (the store before #7)", lambda p: per_statement(p, m, c), m),
        measure("per transaction", lambda p: per_transaction(p, m, c), m),
        measure(
            f"group commit of {args.batch} + hot cache",
            lambda p: group_commit(p, m, c, args.batch),
            m,
        ),
        measure(
            "same, written on the loop thread",
            lambda p: group_commit(p, m, c, args.batch, in_thread=False),
            m,
        ),
    ]
    for r in results:
        print(
            f"{r['pattern']:<34} {r['cpu_us_per_message']:>8} us CPU/message "
            f"{r['messages_per_s']:>8,} messages/s"
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return results


if __name__ == "__main__":
    main()
