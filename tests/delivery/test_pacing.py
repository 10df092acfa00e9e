"""Pacing: slots spaced evenly per business number, replies served before bulk notices."""

from __future__ import annotations

import asyncio

import pytest

from bot.delivery.pacing import RATE_MARGIN, Pacer
from bot.sessions.model import Priority
from bot.sessions.slots import LocalSendSlots


class Ticks:
    """A monotonic clock a test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_slots_are_spaced_by_the_interval_and_nothing_is_saved_up() -> None:
    ticks = Ticks()
    slots = LocalSendSlots(ticks)
    waits = [await slots.reserve("whatsapp:1", 0.1) for _ in range(3)]
    assert waits == pytest.approx([0.0, 0.1, 0.2])
    ticks.now += 10  # idle for a while: the next slot is now, not ten seconds of burst
    assert await slots.reserve("whatsapp:1", 0.1) == 0.0
    assert await slots.reserve("whatsapp:1", 0.1) == pytest.approx(0.1)
    assert await slots.reserve("whatsapp:2", 0.1) == 0.0  # another number
    assert await slots.reserve("whatsapp:2", 0.1, count=3) == pytest.approx(0.1)
    assert await slots.reserve("whatsapp:2", 0.1) == pytest.approx(0.4)


async def test_a_hold_delays_the_next_slot() -> None:
    ticks = Ticks()
    slots = LocalSendSlots(ticks)
    await slots.hold("whatsapp:1", 2.0)
    assert await slots.reserve("whatsapp:1", 0.1) == pytest.approx(2.0)


class ManualSlots:
    """Slots that are free only when the test says so."""

    def __init__(self) -> None:
        self.granted = asyncio.Semaphore(0)
        self.held: list[float] = []

    async def reserve(self, lane: str, interval_s: float, count: int = 1) -> float:
        assert count == 1  # a slow rate: one slot at a time
        await self.granted.acquire()
        return 0.0

    async def hold(self, lane: str, hold_s: float) -> None:
        self.held.append(hold_s)


async def test_each_slot_goes_to_the_best_priority_then_the_first_come() -> None:
    slots = ManualSlots()
    pacer = Pacer(slots, {"whatsapp": 10})
    order: list[str] = []

    async def send(name: str, priority: Priority) -> None:
        await pacer.acquire("whatsapp", "1", priority)
        order.append(name)

    tasks = [asyncio.create_task(send(f"bulk{n}", Priority.BULK)) for n in range(3)]
    await asyncio.sleep(0)
    slots.granted.release()  # one slot: the first bulk notice takes it
    await asyncio.sleep(0.01)
    tasks += [asyncio.create_task(send(f"reply{n}", Priority.REPLY)) for n in range(2)]
    await asyncio.sleep(0)
    for _ in range(4):
        slots.granted.release()
    await asyncio.gather(*tasks)
    assert order == ["bulk0", "reply0", "reply1", "bulk1", "bulk2"]


async def test_channels_without_a_rate_are_not_paced() -> None:
    slots = ManualSlots()
    pacer = Pacer(slots, {"whatsapp": 80})
    await asyncio.wait_for(pacer.acquire("sms", "+1415", Priority.BULK), timeout=1)
    await pacer.hold("sms", "+1415", 5)
    assert slots.held == []
    await pacer.hold("whatsapp", "1", 5)
    assert slots.held == [5]


async def test_the_real_pace_stays_just_under_the_rate() -> None:
    pacer = Pacer(LocalSendSlots(), {"whatsapp": 200})
    loop = asyncio.get_running_loop()
    started = loop.time()
    for _ in range(21):
        await pacer.acquire("whatsapp", "1", Priority.BULK)
    elapsed = loop.time() - started
    assert 20 / (200 * RATE_MARGIN) <= elapsed < 0.2
    await pacer.close()
