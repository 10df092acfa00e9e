"""Notices are stored with the locale key they came from and the priority they deserve."""

from __future__ import annotations

from bot.sessions.model import Delivery, Direction, MessageRecord, Priority
from tests.conftest import Harness


async def outbound(harness: Harness) -> list[MessageRecord]:
    session = await harness.session_of()
    return [m for m in await harness.store.messages(session.id) if m.direction is Direction.OUT]


async def test_a_timeout_notice_is_bulk_and_names_its_locale_key(harness: Harness) -> None:
    await harness.say("hola")
    harness.clock.advance(minutes=31)
    assert len(await harness.sweep()) == 1
    welcome, notice = await outbound(harness)
    assert (welcome.priority, welcome.notice) == (Priority.REPLY, None)
    assert (notice.priority, notice.notice, notice.status) == (
        Priority.BULK,
        "close.timeout",
        Delivery.SENT,
    )


async def test_a_close_the_user_asked_for_is_a_reply(harness: Harness) -> None:
    await harness.say("hola")
    await harness.say("gracias, adiós")
    *_, notice = await outbound(harness)
    assert (notice.priority, notice.notice) == (Priority.REPLY, "close.goodbye")


async def test_a_warning_is_bulk(harness: Harness) -> None:
    harness.runtime.sweeper.service.warn_before = harness.runtime.sweeper.service.timeout / 3
    await harness.say("hola")
    harness.clock.advance(minutes=25)
    assert len(await harness.sweep()) == 1
    *_, warning = await outbound(harness)
    assert (warning.priority, warning.notice) == (Priority.BULK, "session.warning")
