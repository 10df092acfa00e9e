"""Per-user locking: one user's work runs one at a time in arrival order; users overlap."""

from __future__ import annotations

import asyncio

import pytest

from bot.sessions.locks import KeyedLock


async def test_one_key_runs_one_at_a_time_in_arrival_order() -> None:
    locks = KeyedLock()
    events: list[str] = []
    gate = asyncio.Event()

    async def work(name: str) -> None:
        async with locks.lock("user-a"):
            events.append(f"start {name}")
            await gate.wait()
            events.append(f"end {name}")

    tasks = [asyncio.create_task(work(n)) for n in ("1", "2", "3")]
    await asyncio.sleep(0)  # let every task reach the lock
    gate.set()
    await asyncio.gather(*tasks)
    assert events == ["start 1", "end 1", "start 2", "end 2", "start 3", "end 3"]
    assert len(locks) == 0


async def test_different_keys_overlap() -> None:
    locks = KeyedLock()
    inside = 0
    most = 0
    gate = asyncio.Event()

    async def work(key: str) -> None:
        nonlocal inside, most
        async with locks.lock(key):
            inside += 1
            most = max(most, inside)
            await gate.wait()
            inside -= 1

    tasks = [asyncio.create_task(work(k)) for k in ("a", "b", "c")]
    await asyncio.sleep(0)
    assert most == 3
    gate.set()
    await asyncio.gather(*tasks)
    assert len(locks) == 0


async def test_a_failing_holder_releases_the_lock() -> None:
    locks = KeyedLock()

    async def boom() -> None:
        async with locks.lock("k"):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await boom()
    async with asyncio.timeout(1), locks.lock("k"):
        pass
    assert len(locks) == 0
