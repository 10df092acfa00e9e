"""Session rules through the real engine, with an injected clock: no test sleeps."""

from __future__ import annotations

import asyncio

import pytest

from bot.channels.base import InboundKind, InboundMessage
from bot.errors import ChannelSendError
from bot.sessions.model import Delivery, Direction, Status
from bot.wiring import Content
from tests.conftest import Harness

USER = "5491155550001"


def t(content: Content, lang: str, key: str, **values: str) -> str:
    return content.locales.text(lang, key, values)


async def test_greeting_gets_the_welcome_in_the_users_language(
    harness: Harness, content: Content
) -> None:
    assert await harness.say("hola") == [t(content, "es", "welcome")]
    assert await harness.say("hello", user="15550001111") == [t(content, "en", "welcome")]
    assert (await harness.session_of()).language == "es"
    assert (await harness.session_of("15550001111")).language == "en"


async def test_free_trial_in_spanish_delivers_credentials_and_completes(
    harness: Harness, content: Content
) -> None:
    await harness.say("hola")
    assert await harness.say("quiero una prueba") == [t(content, "es", "free_trial.ask_name")]
    assert await harness.say("Juan Pérez") == [
        t(content, "es", "free_trial.ask_email", name="Juan Pérez")
    ]
    assert await harness.say("juan at example") == [t(content, "es", "invalid.email")]
    assert await harness.say("juan@example.com") == [
        t(content, "es", "free_trial.ask_plan", name="Juan Pérez")
    ]
    replies = await harness.say("pro")
    session = await harness.session_of()
    assert session.status is Status.COMPLETED
    assert session.close_reason == "credentials_delivered"
    assert session.data["name"] == "Juan Pérez"
    assert session.data["email"] == "juan@example.com"
    assert replies == [
        t(content, "es", "free_trial.credentials", **session.data),
        t(content, "es", "close.credentials_delivered"),
    ]
    assert session.data["password"] in replies[0]
    assert session.data["username"] in replies[0]


async def test_free_trial_in_english(harness: Harness, content: Content) -> None:
    assert await harness.say("I want a free trial") == [t(content, "en", "free_trial.ask_name")]
    await harness.say("John Smith")
    assert await harness.say("not-an-email") == [t(content, "en", "invalid.email")]
    await harness.say("john@example.com")
    replies = await harness.say("Basic")
    assert replies[-1] == t(content, "en", "close.credentials_delivered")
    session = await harness.session_of()
    assert (session.status, session.close_reason) == (Status.COMPLETED, "credentials_delivered")


async def test_goodbye_in_the_middle_of_a_flow_closes_with_the_farewell(
    harness: Harness, content: Content
) -> None:
    await harness.say("quiero una prueba")
    await harness.say("Ana")
    assert await harness.say("gracias, adiós") == [t(content, "es", "close.goodbye")]
    session = await harness.session_of()
    assert (session.status, session.close_reason) == (Status.COMPLETED, "goodbye")
    assert (session.flow_id, session.step_id) == ("free_trial", None)  # the flow it ran


async def test_cancel_closes_as_cancelled_with_its_notice(
    harness: Harness, content: Content
) -> None:
    await harness.say("quiero una prueba")
    assert await harness.say("cancelar") == [t(content, "es", "close.cancel")]
    session = await harness.session_of()
    assert (session.status, session.close_reason) == (Status.CANCELLED, "cancel")


async def test_inactivity_closes_once_with_a_timeout_notice_in_the_session_language(
    harness: Harness, content: Content
) -> None:
    await harness.say("hello")
    harness.clock.advance(minutes=29.9)
    assert await harness.sweep() == []
    harness.clock.advance(minutes=0.2)
    assert await harness.sweep() == [t(content, "en", "close.timeout")]
    assert harness.sender.sent[-1].to == USER
    assert await harness.sweep() == []
    session = await harness.session_of()
    assert (session.status, session.close_reason) == (Status.TIMEOUT, "timeout")


async def test_every_inbound_message_moves_the_deadline(harness: Harness) -> None:
    await harness.say("hola")
    harness.clock.advance(minutes=20)
    await harness.say("quiero una prueba")
    harness.clock.advance(minutes=25)
    assert await harness.sweep() == []
    harness.clock.advance(minutes=6)
    assert len(await harness.sweep()) == 1


async def test_next_message_after_a_close_starts_a_new_session(
    harness: Harness, content: Content
) -> None:
    await harness.say("hola")
    first = await harness.session_of()
    await harness.say("chau")
    assert await harness.say("hola") == [t(content, "es", "welcome")]
    second = await harness.session_of()
    assert second.id != first.id
    assert second.status is Status.ACTIVE


async def test_a_message_after_the_deadline_closes_the_old_session_first(
    harness: Harness, content: Content
) -> None:
    await harness.say("quiero una prueba")
    harness.clock.advance(minutes=31)
    replies = await harness.say("hola")
    assert replies == [t(content, "es", "close.timeout"), t(content, "es", "welcome")]
    assert await harness.sweep() == []


async def test_the_same_wamid_twice_is_processed_once(harness: Harness) -> None:
    assert len(await harness.say("hola", wamid="wamid.same")) == 1
    assert await harness.say("hola", wamid="wamid.same") == []
    session = await harness.session_of()
    inbound = [m for m in await harness.store.messages(session.id) if m.direction is Direction.IN]
    assert len(inbound) == 1


async def test_media_gets_a_text_only_reply_and_reactions_are_only_recorded(
    harness: Harness, content: Content
) -> None:
    assert await harness.say(None, kind=InboundKind.REACTION) == []
    assert await harness.say(None, kind=InboundKind.MEDIA) == [t(content, "es", "text_only")]
    session = await harness.session_of()
    assert await harness.say(None, kind=InboundKind.REACTION) == []
    kinds = [m.kind for m in await harness.store.messages(session.id)]
    assert kinds == ["media", "text", "reaction"]


async def test_a_reaction_with_no_session_creates_none(harness: Harness) -> None:
    await harness.say(None, kind=InboundKind.REACTION)
    from bot.sessions.store import SessionQuery

    assert await harness.store.list_sessions(SessionQuery(user_id=USER)) == []
    harness.clock.advance(minutes=60)
    assert await harness.sweep() == []


async def test_a_failed_send_is_recorded_and_loses_nothing(harness: Harness) -> None:
    harness.sender.fail_next(ChannelSendError(400, 131047, "Re-engagement message"))
    assert await harness.say("hola") == []
    session = await harness.session_of()
    assert session.status is Status.ACTIVE
    messages = await harness.store.messages(session.id)
    assert (messages[0].direction, messages[0].text) == (Direction.IN, "hola")
    out = messages[1]
    assert (out.status, out.error_code) == (Delivery.FAILED, 131047)
    assert len(await harness.say("quiero una prueba")) == 1


async def test_delivery_statuses_update_the_outbound_message_and_never_go_back(
    harness: Harness,
) -> None:
    from datetime import UTC, datetime

    from bot.channels.base import StatusUpdate

    await harness.say("hola")
    wamid = harness.sender.sent[-1].wamid

    async def status(name: str, code: int | None = None) -> Delivery:
        await harness.runtime.engine.handle_status(
            StatusUpdate("whatsapp", "1", wamid, name, USER, datetime.now(UTC), code)
        )
        session = await harness.session_of()
        return (await harness.store.messages(session.id))[-1].status

    assert await status("delivered") is Delivery.DELIVERED
    assert await status("read") is Delivery.READ
    assert await status("delivered") is Delivery.READ
    assert await status("failed", 131026) is Delivery.FAILED


async def test_one_users_messages_run_in_order(harness: Harness, content: Content) -> None:
    texts = ["quiero una prueba", "Juan", "juan@example.com", "2"]
    await asyncio.gather(*(harness.say(x) for x in texts))
    sent = harness.sender.texts_to(USER)
    assert sent[0] == t(content, "es", "free_trial.ask_name")
    assert sent[1] == t(content, "es", "free_trial.ask_email", name="Juan")
    assert sent[-1] == t(content, "es", "close.credentials_delivered")


async def test_outbound_left_pending_by_a_crash_is_delivered_once_at_start(
    harness: Harness, content: Content
) -> None:
    await harness.say("hola")
    session = await harness.session_of()
    service = harness.runtime.engine.content.service
    notice = service.close(session, Status.COMPLETED, "goodbye", harness.clock())
    assert notice is not None
    await harness.store.commit([session], [notice])  # "crash" before the send
    assert await harness.runtime.outbox.deliver_pending() == 1
    assert await harness.runtime.outbox.deliver_pending() == 0
    assert harness.sender.texts_to(USER)[-1] == t(content, "es", "close.goodbye")


async def test_a_message_whose_turn_raises_is_kept_as_failed_and_the_next_one_is_answered(
    harness: Harness, content: Content, monkeypatch: pytest.MonkeyPatch
) -> None:
    await harness.say("hola")
    engine = harness.runtime.engine
    respond = engine._respond

    async def broken(
        content: object, session: object, message: InboundMessage, now: object
    ) -> object:
        if message.text == "💥":
            raise RuntimeError("a bug in a flow action")
        return await respond(content, session, message, now)  # type: ignore[arg-type]

    monkeypatch.setattr(engine, "_respond", broken)
    assert await harness.say("💥", wamid="wamid.boom") == []
    assert await harness.say("quiero una prueba") == [t(content, "es", "free_trial.ask_name")]
    session = await harness.session_of()
    history = await harness.store.messages(session.id)
    failed = [m for m in history if m.provider_id == "wamid.boom"]
    assert [(m.direction, m.status, m.text, m.error_detail) for m in failed] == [
        (Direction.IN, Delivery.FAILED, "💥", "not processed: RuntimeError")
    ]
    assert await harness.store.next_inbound(session.key) is None
