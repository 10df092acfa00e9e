"""Issue #19, the engine side, through the real engine with an injected clock (no sleeps): the
``handoff`` intent and the support flow's ``handoff`` action, the bot's silence while a person
has the conversation, goodbye / opt-out / cancel then, the operators' calls (take, write,
give back, close) and the handoff's own timeout."""

from __future__ import annotations

import pytest

from bot.desk import HeldByAnother, NotHandedOff, SessionAlreadyClosed
from bot.handoff import CANCEL_FLAG, USER_REQUEST
from bot.metrics import Metrics
from bot.sessions.model import Direction, Status
from tests.sessions.test_intents_engine import USER, Bot

pytest_plugins = ("tests.sessions.test_intents_engine",)  # its `bot` fixture


class Recorded(Metrics):
    def __init__(self) -> None:
        self.handoffs: list[tuple[str, str, str | None, str | None]] = []
        self.first_replies: list[float] = []

    def handed_off(self, channel: str, reason: str, flow: str | None, step: str | None) -> None:
        self.handoffs.append((channel, reason, flow, step))

    def agent_first_reply(self, channel: str, seconds: float) -> None:
        self.first_replies.append(seconds)


@pytest.fixture
def metrics(bot: Bot) -> Recorded:
    recorded = Recorded()
    bot.runtime.engine.metrics = recorded
    return recorded


async def to_invoice(bot: Bot) -> None:
    await bot.say("necesito soporte")
    await bot.say("Marta")
    await bot.say("marta@example.com")
    assert await bot.say("Facturación", payload="billing") == [bot.t("support.ask_invoice")]


async def test_asking_for_a_person_hands_off_with_the_notice(bot: Bot, metrics: Recorded) -> None:
    assert await bot.say("quiero hablar con una persona") == [bot.t("handoff.notice")]
    session = await bot.session()
    assert session.status is Status.HANDOFF
    assert session.handoff is not None
    assert (session.handoff.reason, session.handoff.flow_id, session.handoff.agent) == (
        USER_REQUEST,
        None,
        None,
    )
    assert session.handoff.since == bot.clock()
    assert session.expires_at == bot.clock() + bot.runtime.engine.content.service.handoff_timeout
    assert metrics.handoffs == [("whatsapp", USER_REQUEST, None, None)]


async def test_two_wrong_invoices_hand_off_from_the_flow_step(bot: Bot, metrics: Recorded) -> None:
    await to_invoice(bot)
    assert await bot.say("no sé") == [bot.t("support.invalid_invoice")]
    assert await bot.say("tampoco") == [bot.t("handoff.notice")]
    session = await bot.session()
    assert session.status is Status.HANDOFF and session.handoff is not None
    assert (session.handoff.reason, session.handoff.flow_id, session.handoff.step_id) == (
        "invoice_not_found",
        "support",
        "to_person",
    )
    assert (session.flow_id, session.step_id) == ("support", "describe")  # where it resumes
    assert metrics.handoffs == [("whatsapp", "invoice_not_found", "support", "to_person")]


async def test_while_a_person_has_it_the_bot_is_silent_and_stores_everything(bot: Bot) -> None:
    await bot.say("talk to a human")
    assert await bot.say("hola") == []
    assert await bot.say("quiero una prueba gratis") == []  # no flow starts
    assert await bot.say("cancelar") == []  # cancel is for the person: not closed
    session = await bot.session()
    assert session.status is Status.HANDOFF
    inbound = [m for m in await bot.store.messages(session.id) if m.direction is Direction.IN]
    assert [(m.text, m.payload) for m in inbound][-3:] == [
        ("hola", None),
        ("quiero una prueba gratis", None),
        ("cancelar", CANCEL_FLAG),
    ]


async def test_goodbye_still_closes_and_opt_out_still_works(bot: Bot) -> None:
    await bot.say("quiero hablar con un asesor")
    assert await bot.say("chau, gracias") == [bot.t("close.goodbye")]
    assert (await bot.session()).status is Status.COMPLETED
    await bot.say("quiero hablar con un asesor")
    assert await bot.say("no me manden más mensajes") == [bot.t("opt_out.done")]
    session = await bot.session()
    assert (session.status, session.close_reason) == (Status.CANCELLED, "opted_out")


async def test_take_write_and_one_holder(bot: Bot, metrics: Recorded) -> None:
    await bot.say("hola")
    engine = bot.runtime.engine
    session = await bot.session()
    with pytest.raises(NotHandedOff):
        await engine.write(session.id, "ana", "hola")
    before = len(bot.sender.sent)
    taken = await engine.take(session.id, "ana", "agent")
    assert taken is not None and taken.status is Status.HANDOFF
    assert [s.text for s in bot.sender.sent[before:]] == [bot.t("handoff.notice")]
    with pytest.raises(HeldByAnother) as held:
        await engine.take(session.id, "beto", "agent")
    assert held.value.agent == "ana"
    assert await engine.take(session.id, "ana", "agent") is not None  # again: no change
    bot.clock.advance(seconds=45)
    stored = await engine.write(session.id, "ana", "Hola, soy Ana. ¿En qué te ayudo?")
    assert stored is not None and stored.id is not None and stored.payload == {"agent": "ana"}
    assert bot.sender.texts_to(USER)[-1] == "Hola, soy Ana. ¿En qué te ayudo?"
    with pytest.raises(HeldByAnother):
        await engine.write(session.id, "beto", "yo también")
    assert metrics.first_replies == [45.0]
    await engine.write(session.id, "ana", "¿Sigues ahí?")
    assert metrics.first_replies == [45.0]  # only the first reply counts
    assert await engine.take("nope", "ana", "agent") is None


async def test_giving_back_resumes_the_flow_step(bot: Bot) -> None:
    await to_invoice(bot)
    await bot.say("x")
    await bot.say("y")
    session = await bot.session()
    await bot.runtime.engine.take(session.id, "ana", "agent")
    back = await bot.runtime.engine.give_back(session.id, "ana")
    assert back is not None and back.status is Status.ACTIVE
    assert bot.sender.texts_to(USER)[-1] == (
        f"{bot.t('handoff.returned')}\n\n{bot.t('support.describe')}"
    )
    assert (back.flow_id, back.step_id) == ("support", "describe")  # waits for the answer
    with pytest.raises(NotHandedOff):
        await bot.runtime.engine.give_back(session.id, "ana")


async def test_giving_back_outside_a_flow_greets_again(bot: Bot) -> None:
    await bot.say("un asesor por favor")
    session = await bot.session()
    await bot.runtime.engine.give_back(session.id, "ana")  # nobody held it: anyone may
    assert bot.sender.texts_to(USER)[-1] == f"{bot.t('handoff.returned')}\n\n{bot.t('welcome')}"
    assert (await bot.session()).status is Status.ACTIVE


async def test_close_with_or_without_the_notice(bot: Bot) -> None:
    await bot.say("un asesor por favor")
    session = await bot.session()
    before = len(bot.sender.sent)
    closed = await bot.runtime.engine.close_session(
        session.id, Status.COMPLETED, "operator", notify=False
    )
    assert closed is not None and closed.status is Status.COMPLETED
    assert closed.handoff is not None and closed.handoff.ended_at == bot.clock()
    assert bot.sender.sent[before:] == []
    with pytest.raises(SessionAlreadyClosed):
        await bot.runtime.engine.take(session.id, "ana", "agent")


async def test_the_handoff_has_its_own_timeout_and_notice(bot: Bot) -> None:
    await bot.say("quiero hablar con una persona")
    bot.clock.advance(minutes=31)  # the bot's timeout (30 min) does not apply
    assert await bot.sweep() == []
    assert await bot.say("¿hay alguien?") == []  # the user wrote: the deadline moves
    bot.clock.advance(minutes=1434)  # 24 h, less the margin that keeps the notice in the window
    assert await bot.sweep() == []
    bot.clock.advance(minutes=1)
    assert await bot.sweep() == [bot.t("close.handoff_timeout")]
    session = await bot.session()
    assert (session.status, session.close_reason) == (Status.TIMEOUT, "handoff_timeout")


@pytest.mark.parametrize(
    "text", ["quero falar com um atendente", "me passa pra alguém da equipe por favor"]
)
async def test_a_portuguese_user_asks_for_a_person_and_is_told_in_portuguese(
    bot: Bot, text: str
) -> None:
    assert await bot.say(text) == [bot.t("handoff.notice", "pt")]
    assert (await bot.session()).status is Status.HANDOFF


@pytest.mark.parametrize("text", ["falei com uma pessoa ontem", "você é humano?"])
async def test_a_portuguese_report_or_question_about_people_is_not_a_handoff(
    bot: Bot, text: str
) -> None:
    await bot.say(text)
    assert (await bot.session()).status is Status.ACTIVE
