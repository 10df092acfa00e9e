"""Timeout variants with an injected clock: the warning before the close, silent timeouts."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config import Settings
from bot.sessions.model import Status
from bot.sessions.sqlite import SqliteStore
from bot.wiring import Content, build_runtime
from tests.conftest import Harness
from tests.fakes.clock import FakeClock
from tests.fakes.recording_sender import RecordingSender


async def make_harness(tmp_path: Path, settings: Settings, content: Content) -> Harness:
    store = SqliteStore(tmp_path / "bot.db")
    await store.open()
    clock = FakeClock()
    sender = RecordingSender()
    runtime = build_runtime(settings, content, store, {"whatsapp": sender}, clock)
    return Harness(runtime=runtime, clock=clock, sender=sender, store=store)


@pytest.fixture
async def warned(
    tmp_path: Path, repo_settings: Settings, content: Content
) -> AsyncIterator[Harness]:
    h = await make_harness(tmp_path, dataclasses.replace(repo_settings, warn_before_min=5), content)
    yield h
    await h.store.close()


async def test_a_warning_is_sent_once_before_the_timeout(warned: Harness, content: Content) -> None:
    await warned.say("hello")
    warned.clock.advance(minutes=24)
    assert await warned.sweep() == []
    warned.clock.advance(minutes=1.5)
    assert await warned.sweep() == [content.locales.text("en", "session.warning")]
    warned.clock.advance(minutes=1)
    assert await warned.sweep() == []
    warned.clock.advance(minutes=4)
    assert await warned.sweep() == [content.locales.text("en", "close.timeout")]


async def test_a_reply_after_the_warning_keeps_the_session_and_rearms_it(
    warned: Harness, content: Content
) -> None:
    await warned.say("hola")
    warned.clock.advance(minutes=26)
    assert await warned.sweep() == [content.locales.text("es", "session.warning")]
    await warned.say("quiero una prueba")
    warned.clock.advance(minutes=10)
    assert await warned.sweep() == []
    session = await warned.session_of()
    assert session.status is Status.ACTIVE and session.warned_at is None
    warned.clock.advance(minutes=16)
    assert await warned.sweep() == [content.locales.text("es", "session.warning")]


async def test_silent_timeouts_still_split_sessions(
    tmp_path: Path, repo_settings: Settings, content: Content
) -> None:
    h = await make_harness(
        tmp_path, dataclasses.replace(repo_settings, notify_timeout=False), content
    )
    try:
        await h.say("hola")
        first = await h.session_of()
        h.clock.advance(minutes=31)
        assert await h.sweep() == []
        assert (await h.store.get(first.id)).status is Status.TIMEOUT  # type: ignore[union-attr]
        assert await h.say("hola") == [content.locales.text("es", "welcome")]
        assert (await h.session_of()).id != first.id
    finally:
        await h.store.close()
