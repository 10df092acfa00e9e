"""Issue #14, the engine side, through the real engine with an injected clock (no test sleeps):
the question asked when a close is unsure, several intents in one message, a business-object
cancel routed to the order flow, and opt-out / opt-in with no proactive message in between.

The classifier is the real one, with some texts scripted (:class:`Scripted`) to return the
``ranked`` and ``confirm`` fields the improved classifier fills, so these tests do not depend
on which phrasings it learns.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from bot.channels.base import InboundKind, InboundMessage
from bot.config import Settings
from bot.confirmation import CONFIRM_NO, CONFIRM_YES
from bot.engine import Classifier, IntentLike
from bot.intents.result import IntentResult
from bot.sessions.model import Delivery, Direction, Session, SessionKey, Status
from bot.sessions.sqlite import SqliteStore
from bot.sessions.store import SessionQuery
from bot.wiring import Content, Runtime, build_runtime
from tests.conftest import BOT_ID
from tests.fakes.clock import FakeClock
from tests.fakes.recording_sender import RecordingSender, Sent

USER = "5491155550001"
UNSURE_BYE = "bueno, creo que con eso estaría"
HOLA_TRIAL = "hola, quiero una prueba gratis"
REDIRECTED_OPT_OUT = "basta de promos, mándenme solo la factura por mail"


class Scripted:
    """The real classifier, except for the texts in ``script``."""

    def __init__(self, real: Classifier, script: dict[str, IntentResult]) -> None:
        self.real, self.script = real, script

    def classify(
        self, text: str, lang: str | None = None, *, expecting_free_text: bool = False
    ) -> IntentLike:
        scripted = self.script.get(text)
        if scripted is not None:
            return scripted
        return self.real.classify(text, lang, expecting_free_text=expecting_free_text)

    @property
    def opt_in_messages(self) -> tuple[tuple[str, str], ...]:
        return self.real.opt_in_messages


SCRIPT = {
    UNSURE_BYE: IntentResult("none", 0.4, "es", (("goodbye", 0.55),), confirm="goodbye"),
    HOLA_TRIAL: IntentResult(
        "request_trial", 0.95, "es", (("request_trial", 0.95), ("greet", 0.9))
    ),
}


@dataclass
class Bot:
    runtime: Runtime
    clock: FakeClock
    sender: RecordingSender
    store: SqliteStore
    content: Content
    _ids = itertools.count(1)

    async def send(
        self, text: str, payload: str | None = None, channel: str = "whatsapp"
    ) -> list[Sent]:
        """``text`` from USER (a tap on ``payload`` when given); what the bot sent back."""
        before = len(self.sender.sent)
        await self.runtime.engine.handle(
            InboundMessage(
                channel=channel,
                bot_id=BOT_ID,
                user_id=USER,
                message_id=f"wamid.in{next(self._ids)}",
                kind=InboundKind.INTERACTIVE if payload else InboundKind.TEXT,
                text=text,
                timestamp=self.clock(),
                payload=payload,
            )
        )
        return self.sender.sent[before:]

    async def say(
        self, text: str, payload: str | None = None, channel: str = "whatsapp"
    ) -> list[str]:
        return [s.text for s in await self.send(text, payload, channel)]

    async def sweep(self) -> list[str]:
        before = len(self.sender.sent)
        await self.runtime.sweeper.run_once()
        return [s.text for s in self.sender.sent[before:]]

    async def session(self) -> Session:
        found = await self.store.list_sessions(SessionQuery(user_id=USER, limit=1))
        assert found
        return found[0]

    def t(self, key: str, lang: str = "es", **values: str) -> str:
        return self.content.locales.text(lang, key, values)


@pytest.fixture
async def bot(tmp_path: Path, repo_settings: Settings, content: Content) -> AsyncIterator[Bot]:
    store = SqliteStore(tmp_path / "bot.db")
    await store.open()
    clock = FakeClock()
    sender = RecordingSender()
    runtime = build_runtime(
        repo_settings, content, store, {"whatsapp": sender, "sms": sender}, clock
    )
    runtime.reload(replace(content, classifier=Scripted(content.classifier, SCRIPT)))
    bot = Bot(runtime, clock, sender, store, content)
    yield bot
    await bot.store.close()


# -- a question when unsure -------------------------------------------------------------------


async def test_an_unsure_goodbye_asks_with_yes_no_buttons_and_yes_closes_with_the_notice(
    bot: Bot,
) -> None:
    await bot.say("quiero una prueba")
    [question] = await bot.send(UNSURE_BYE)
    assert question.text == bot.t("confirm.goodbye")
    assert [(c.id, c.title) for c in question.choices] == [(CONFIRM_YES, "Sí"), (CONFIRM_NO, "No")]
    session = await bot.session()
    assert (session.status, session.confirming, session.step_id) == (
        Status.ACTIVE,
        "goodbye",
        "ask_name",
    )
    assert await bot.say("sí") == [bot.t("close.goodbye")]
    session = await bot.session()
    assert (session.status, session.close_reason, session.confirming) == (
        Status.COMPLETED,
        "goodbye",
        None,
    )
    history = await bot.store.messages(session.id)
    assert [(m.direction, m.text) for m in history][-4:] == [
        (Direction.IN, UNSURE_BYE),
        (Direction.OUT, bot.t("confirm.goodbye")),
        (Direction.IN, "sí"),
        (Direction.OUT, bot.t("close.goodbye")),
    ]


async def test_a_tapped_yes_closes_too(bot: Bot) -> None:
    await bot.say("hola")
    await bot.say(UNSURE_BYE)
    assert await bot.say("Sí", payload=CONFIRM_YES) == [bot.t("close.goodbye")]
    assert (await bot.session()).status is Status.COMPLETED


async def test_no_continues_at_the_same_step_with_its_question_again(bot: Bot) -> None:
    await bot.say("quiero una prueba")
    await bot.say(UNSURE_BYE)
    expected = f"{bot.t('confirm.resume')}\n\n{bot.t('free_trial.ask_name')}"
    assert await bot.say("No", payload=CONFIRM_NO) == [expected]
    session = await bot.session()
    assert (session.status, session.step_id, session.confirming) == (
        Status.ACTIVE,
        "ask_name",
        None,
    )
    await bot.say(UNSURE_BYE)
    assert await bot.say("no") == [expected]  # typed works as well
    assert await bot.say("Ana") == [bot.t("free_trial.ask_email", name="Ana")]


async def test_no_outside_a_flow_says_ok_and_goes_on(bot: Bot) -> None:
    await bot.say("hola")
    await bot.say(UNSURE_BYE)
    assert await bot.say("no") == [bot.t("confirm.resume_idle")]
    assert (await bot.session()).status is Status.ACTIVE


async def test_no_at_a_yes_no_step_answers_the_confirmation_not_the_step(bot: Bot) -> None:
    await bot.say("pedido")
    await bot.say("Pepperoni", payload="pepperoni")
    await bot.say("2")  # now at ask_more (a yes/no question)
    await bot.say(UNSURE_BYE)
    [reply] = await bot.send("No", payload=CONFIRM_NO)
    assert reply.text.startswith(bot.t("confirm.resume"))
    assert [c.id for c in reply.choices] == ["yes", "no"]  # ask_more's own buttons again
    assert (await bot.session()).step_id == "ask_more"


async def test_an_answer_to_the_step_while_asking_is_taken_as_the_answer(bot: Bot) -> None:
    await bot.say("quiero una prueba")
    await bot.say(UNSURE_BYE)
    assert await bot.say("Ana Pérez") == [bot.t("free_trial.ask_email", name="Ana Pérez")]
    session = await bot.session()
    assert (session.step_id, session.confirming, session.data["name"]) == (
        "ask_email",
        None,
        "Ana Pérez",
    )


async def test_the_pending_question_survives_a_restart(
    bot: Bot, tmp_path: Path, repo_settings: Settings, content: Content
) -> None:
    await bot.say("quiero una prueba")
    await bot.say(UNSURE_BYE)
    await bot.store.close()  # a restart: nothing kept in memory
    bot.store = SqliteStore(tmp_path / "bot.db")
    await bot.store.open()
    bot.runtime = build_runtime(
        repo_settings, content, bot.store, {"whatsapp": bot.sender}, bot.clock
    )
    assert await bot.say("sí") == [bot.t("close.goodbye")]


async def test_a_timeout_while_asking_closes_as_usual(bot: Bot) -> None:
    await bot.say("hola")
    await bot.say(UNSURE_BYE)
    bot.clock.advance(minutes=31)
    assert await bot.sweep() == [bot.t("close.timeout")]
    session = await bot.session()
    assert (session.status, session.confirming) == (Status.TIMEOUT, None)


# -- several intents in one message -----------------------------------------------------------


async def test_a_greeting_and_a_trigger_get_the_greeting_and_the_first_question_in_one_reply(
    bot: Bot,
) -> None:
    assert await bot.say(HOLA_TRIAL) == [
        f"{bot.t('greeting')}\n\n{bot.t('free_trial.ask_name')}"
    ]
    session = await bot.session()
    assert (session.flow_id, session.step_id) == ("free_trial", "ask_name")


# -- a business-object cancel -----------------------------------------------------------------


async def test_cancel_my_order_starts_the_order_flow_at_its_cancel_step(bot: Bot) -> None:
    assert await bot.say("quiero cancelar mi pedido") == [bot.t("order.ask_cancel_number")]
    session = await bot.session()
    assert (session.status, session.flow_id, session.step_id) == (
        Status.ACTIVE,
        "order",
        "ask_cancel_number",
    )
    [question] = await bot.send("A-1042")
    assert question.text == bot.t("order.confirm_cancel", cancel_number="A-1042")
    assert [c.id for c in question.choices] == ["yes", "no"]


# -- opt-out ----------------------------------------------------------------------------------


async def test_opt_out_confirms_once_closes_silently_and_is_recorded(bot: Bot) -> None:
    await bot.say("quiero una prueba")
    assert await bot.say("no me manden más mensajes") == [bot.t("opt_out.done")]
    session = await bot.session()
    assert (session.status, session.close_reason) == (Status.CANCELLED, "opted_out")
    key = SessionKey("whatsapp", BOT_ID, USER)
    assert await bot.store.opted_out_at(key) == bot.clock()
    opted = await bot.store.list_sessions(SessionQuery(opted_out=True))
    assert [s.id for s in opted] == [session.id]
    assert await bot.store.list_sessions(SessionQuery(opted_out=False)) == []


async def test_an_opt_out_with_another_way_to_reach_the_user_is_asked_and_yes_opts_out(
    bot: Bot,
) -> None:
    await bot.say("hola")
    [question] = await bot.send(REDIRECTED_OPT_OUT)  # the real classifier: confirm=opt_out
    assert question.text == bot.t("confirm.opt_out")
    assert [c.id for c in question.choices] == [CONFIRM_YES, CONFIRM_NO]
    key = SessionKey("whatsapp", BOT_ID, USER)
    assert await bot.store.opted_out_at(key) is None  # nothing recorded while asking
    assert await bot.say("sí") == [bot.t("opt_out.done")]
    session = await bot.session()
    assert (session.status, session.close_reason) == (Status.CANCELLED, "opted_out")
    assert await bot.store.opted_out_at(key) == bot.clock()


async def test_no_to_the_opt_out_question_keeps_the_user_subscribed(bot: Bot) -> None:
    await bot.say("hola")
    await bot.say(REDIRECTED_OPT_OUT)
    assert await bot.say("no") == [bot.t("confirm.resume_idle")]
    assert await bot.store.opted_out_at(SessionKey("whatsapp", BOT_ID, USER)) is None
    assert (await bot.session()).status is Status.ACTIVE


async def test_no_proactive_message_reaches_an_opted_out_user_until_they_opt_back_in(
    bot: Bot,
) -> None:
    await bot.say("no me manden más mensajes")
    assert await bot.say("hola") == [bot.t("welcome")]  # an answer is not proactive
    bot.clock.advance(minutes=31)
    assert await bot.sweep() == []  # the timeout notice is not sent ...
    session = await bot.session()
    assert session.status is Status.TIMEOUT
    notice = (await bot.store.messages(session.id))[-1]
    assert (notice.text, notice.status) == (bot.t("close.timeout"), Delivery.SKIPPED_OPT_OUT)
    assert await bot.say("ALTA") == [bot.t("opt_out.resumed")]  # ... until they opt back in
    assert await bot.store.opted_out_at(SessionKey("whatsapp", BOT_ID, USER)) is None
    bot.clock.advance(minutes=31)
    assert await bot.sweep() == [bot.t("close.timeout")]


async def test_an_operator_close_sends_no_notice_to_an_opted_out_user(bot: Bot) -> None:
    await bot.say("no me manden más mensajes")
    await bot.say("hola")
    session = await bot.session()
    await bot.runtime.engine.close_session(session.id, Status.COMPLETED, "operator")
    assert bot.sender.texts_to(USER)[-1] == bot.t("welcome")
    assert (await bot.session()).status is Status.COMPLETED


async def test_start_from_a_user_who_did_not_opt_out_is_an_ordinary_message(bot: Bot) -> None:
    assert await bot.say("start") != [bot.t("opt_out.resumed")]


async def test_a_bare_stop_on_sms_opts_out_and_start_opts_back_in(bot: Bot) -> None:
    assert await bot.say("STOP", channel="sms") == [bot.t("opt_out.done", "en")]
    key = SessionKey("sms", BOT_ID, USER)
    assert await bot.store.opted_out_at(key) is not None
    # A new session: "START" says nothing of the language, the default one answers.
    assert await bot.say("START", channel="sms") == [bot.t("opt_out.resumed")]
    assert await bot.store.opted_out_at(key) is None


async def test_each_language_opts_back_in_with_the_word_its_opt_out_notice_names(
    bot: Bot,
) -> None:
    """The opt-in messages are language data (``opt_in`` in intents/<lang>.yaml): the
    Portuguese notice names VOLTAR, and VOLTAR opts a Portuguese user back in."""
    assert await bot.say("não quero mais receber mensagens") == [bot.t("opt_out.done", "pt")]
    assert "VOLTAR" in bot.t("opt_out.done", "pt")
    key = SessionKey("whatsapp", BOT_ID, USER)
    assert await bot.store.opted_out_at(key) is not None
    assert await bot.say("Voltar") == [bot.t("opt_out.resumed", "pt")]
    assert await bot.store.opted_out_at(key) is None
