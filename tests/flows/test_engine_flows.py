"""Flows through the real engine (SQLite, fake clock, recording sender): taps, per-flow cancel
words and timeouts, what is stored for a question with options."""

from __future__ import annotations

import itertools
from datetime import timedelta

from bot.channels.base import InboundKind, InboundMessage
from bot.sessions.model import Direction, Status
from bot.wiring import Content
from tests.conftest import BOT_ID, Harness

USER = "5491155550001"
_ids = itertools.count(1)


async def tap(harness: Harness, value: str, title: str, user: str = USER) -> list[str]:
    """Tap the button or list row ``value`` (Meta sends its id as the payload)."""
    before = len(harness.sender.sent)
    await harness.runtime.engine.handle(
        InboundMessage(
            channel="whatsapp",
            bot_id=BOT_ID,
            user_id=user,
            message_id=f"wamid.tap{next(_ids)}",
            kind=InboundKind.INTERACTIVE,
            text=title,
            timestamp=harness.clock(),
            payload=value,
        )
    )
    return [s.text for s in harness.sender.sent[before:] if s.to == user]


def t(content: Content, lang: str, key: str, **values: object) -> str:
    return content.locales.text(lang, key, values)


async def test_a_question_with_options_is_sent_and_stored_with_them(
    harness: Harness, content: Content
) -> None:
    await harness.say("quiero una prueba")
    await harness.say("Ana")
    await harness.say("ana@example.com")
    sent = harness.sender.sent[-1]
    assert sent.text == t(content, "es", "free_trial.ask_plan", name="Ana")
    assert sent.titles == ["Básico", "Pro", "Empresa"]
    assert [c.id for c in sent.choices] == ["basic", "pro", "enterprise"]
    session = await harness.session_of()
    stored = [m for m in await harness.store.messages(session.id) if m.direction is Direction.OUT]
    assert stored[-1].kind == "interactive"
    assert stored[-1].payload is not None
    assert [c["id"] for c in stored[-1].payload["choices"]] == ["basic", "pro", "enterprise"]


async def test_a_tap_selects_its_option_and_skips_the_classifier(
    harness: Harness, content: Content
) -> None:
    for text in ("pedido", "Fugazzeta", "1"):
        await harness.say(text)
    await tap(harness, "no", "No")  # nothing more
    await harness.say("Mitre 100")
    await harness.say("+54 9 11 5555 0001")
    # A tap on "No" would read as a refusal if it were classified; as a tap it is the answer.
    assert await tap(harness, "no", "No") == [t(content, "es", "close.cancel")]
    session = await harness.session_of()
    assert (session.status, session.close_reason) == (Status.CANCELLED, "cancel")
    assert session.data["confirmed"] is False


async def test_a_stale_tap_on_an_old_question_is_read_as_text(
    harness: Harness, content: Content
) -> None:
    await harness.say("prueba")
    replies = await tap(harness, "pro", "Pro")  # the plan is not the question now
    assert replies == [t(content, "es", "free_trial.ask_email", name="Pro")]


async def test_the_flows_cancel_keywords_cancel_only_inside_it(
    harness: Harness, content: Content
) -> None:
    await harness.say("pedido")
    assert await harness.say("uy, no tengo hambre") == [t(content, "es", "close.cancel")]
    await harness.say("prueba")
    replies = await harness.say("No tengo hambre")  # a name, as far as the free trial knows
    assert replies == [t(content, "es", "free_trial.ask_email", name="No tengo hambre")]


async def test_the_flows_own_timeout_and_message(harness: Harness, content: Content) -> None:
    await harness.say("necesito soporte")
    harness.clock.advance(minutes=9.9)
    assert await harness.sweep() == []
    harness.clock.advance(minutes=0.2)
    assert await harness.sweep() == [t(content, "es", "support.timeout")]
    session = await harness.session_of()
    assert (session.status, session.close_reason) == (Status.TIMEOUT, "timeout")


async def test_the_flows_timeout_applies_when_the_next_message_comes_late(
    harness: Harness, content: Content
) -> None:
    await harness.say("pedido")
    harness.clock.advance(minutes=16)
    replies = await harness.say("hola")
    assert replies == [t(content, "es", "order.timeout"), t(content, "es", "welcome")]


async def test_leaving_a_flow_restores_the_global_timeout(harness: Harness) -> None:
    await harness.say("pedido")
    session = await harness.session_of()
    assert session.expires_at == harness.clock() + timedelta(minutes=15)
    await harness.say("no tengo hambre")
    await harness.say("hola")
    session = await harness.session_of()
    assert session.expires_at == harness.clock() + timedelta(minutes=30)
