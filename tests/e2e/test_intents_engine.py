"""End to end (issue #14, the engine side): the real ``bot serve`` with the shipped intents,
flows and locales, against the fake Graph API and a fake of the shop's API.

- a question when unsure: ask with Sí/No buttons; "sí" closes with the notice; "no" continues
  at the same step;
- a greeting and a trigger in one message: one reply with the greeting and the first question;
- a business-object cancel ("quiero cancelar mi pedido") is routed to the order flow;
- opt-out: one confirmation, a silent close, no timeout notice afterwards; "alta" opts back in;
- thanks alone: a "you're welcome", the session open; a report ending with thanks closes.

The sessions time out after 6 s (``SESSION_TIMEOUT_MINUTES=0.1``) so the absence of a timeout
notice after an opt-out, and its return after opting in, are seen without a long wait.

The first two depend on the classifier filling ``IntentResult.confirm`` and ``ranked`` (issue
#14's classifier side): :data:`UNSURE_BYE` must be a goodbye it is unsure of.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from bot.confirmation import CONFIRM_NO, CONFIRM_YES
from bot.locales import Locales
from tests.conftest import REPO
from tests.e2e.chat import say, sent, session_of, tap, texts
from tests.e2e.server import BotServer
from tests.fakes.graph_api import FakeGraphAPI
from tests.fakes.http_action import FakeActionAPI

pytestmark = pytest.mark.asyncio(loop_scope="module")

LOCALES = Locales.load(REPO / "locales", ["es", "en"], "es")
UNSURE_BYE = "bueno, creo que con eso estaría"
"""A closing phrase the classifier is unsure of (``confirm: goodbye``)."""


def t(key: str, lang: str = "es", **values: Any) -> str:
    return LOCALES.text(lang, key, values)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def api() -> AsyncIterator[FakeActionAPI]:
    async with FakeActionAPI() as fake_api:
        fake_api.reply("/orders/cancel", 200, {})
        yield fake_api


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def server(
    fake: FakeGraphAPI, api: FakeActionAPI, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[BotServer]:
    bot = BotServer(
        tmp_path_factory.mktemp("intents-engine"),
        fake.url,
        SESSION_TIMEOUT_MINUTES="0.1",
        ORDER_API_URL=f"{api.url}/orders",
    )
    await bot.start()
    yield bot
    assert await bot.stop() == 0, bot.log()


async def test_an_unsure_goodbye_is_asked_and_yes_closes_with_the_notice(
    server: BotServer, fake: FakeGraphAPI
) -> None:
    user = "5491130000001"
    await say(server, user, "quiero una prueba")
    await texts(fake, user, 1)
    await say(server, user, UNSURE_BYE)
    question = (await sent(fake, user, 2))[1]
    assert question.body["interactive"]["body"]["text"] == t("confirm.goodbye")
    buttons = question.body["interactive"]["action"]["buttons"]
    assert [b["reply"]["id"] for b in buttons] == [CONFIRM_YES, CONFIRM_NO]
    assert (await session_of(server, user))["confirming"] == "goodbye"
    await say(server, user, "sí")
    assert (await texts(fake, user, 3))[2] == t("close.goodbye")
    session = await session_of(server, user)
    assert (session["status"], session["close_reason"]) == ("completed", "goodbye")


async def test_no_continues_at_the_same_step(server: BotServer, fake: FakeGraphAPI) -> None:
    user = "5491130000002"
    await say(server, user, "quiero una prueba")
    await texts(fake, user, 1)
    await say(server, user, UNSURE_BYE)
    await sent(fake, user, 2)
    await tap(server, user, CONFIRM_NO, "No")
    assert (await texts(fake, user, 3))[2] == (
        f"{t('confirm.resume')}\n\n{t('free_trial.ask_name')}"
    )
    session = await session_of(server, user)
    assert (session["status"], session["step_id"], session["confirming"]) == (
        "active",
        "ask_name",
        None,
    )


async def test_a_greeting_and_a_trigger_get_one_reply(
    server: BotServer, fake: FakeGraphAPI
) -> None:
    user = "5491130000003"
    await say(server, user, "hola, quiero una prueba gratis")
    assert await texts(fake, user, 1) == [f"{t('greeting')}\n\n{t('free_trial.ask_name')}"]
    session = await session_of(server, user)
    assert (session["flow_id"], session["step_id"]) == ("free_trial", "ask_name")


async def test_cancelling_an_order_goes_to_the_order_flow(
    server: BotServer, fake: FakeGraphAPI, api: FakeActionAPI
) -> None:
    user = "5491130000004"
    await say(server, user, "quiero cancelar mi pedido")
    assert await texts(fake, user, 1) == [t("order.ask_cancel_number")]
    session = await session_of(server, user)
    assert (session["status"], session["flow_id"]) == ("active", "order")  # not closed
    await say(server, user, "A-1042")
    assert (await texts(fake, user, 2))[1] == t("order.confirm_cancel", cancel_number="A-1042")
    await tap(server, user, "yes", "Sí")
    replies = await texts(fake, user, 4)
    assert replies[2:] == [
        t("order.cancelled", cancel_number="A-1042"),
        t("close.order_cancelled"),
    ]
    session = await session_of(server, user)
    assert (session["status"], session["close_reason"]) == ("completed", "order_cancelled")
    [call] = api.to("/orders/cancel")
    assert call.body["data"]["cancel_number"] == "A-1042"


async def test_opt_out_stops_proactive_messages_until_the_user_opts_back_in(
    server: BotServer, fake: FakeGraphAPI
) -> None:
    user = "5491130000005"
    await say(server, user, "hola")
    await texts(fake, user, 1)
    await say(server, user, "no me manden más mensajes")
    assert (await texts(fake, user, 2))[1] == t("opt_out.done")
    session = await session_of(server, user)
    assert (session["status"], session["close_reason"], session["opted_out"]) == (
        "cancelled",
        "opted_out",
        True,
    )
    # Writing again gets answers, but its timeout notice is not sent.
    await say(server, user, "hola")
    assert (await texts(fake, user, 3))[2] == t("welcome")
    status, body = 0, {}
    for _ in range(200):  # polls the admin API: the 6 s timeout, then the sweep (< 20 s)
        session = await session_of(server, user)
        if session["status"] == "timeout":
            status, body = await server.admin(f"/v1/sessions/{session['id']}")
            if body["messages"][-1]["status"] != "pending":
                break
        await asyncio.sleep(0.1)
    assert status == 200
    assert (body["messages"][-1]["text"], body["messages"][-1]["status"]) == (
        t("close.timeout"),
        "skipped_opt_out",
    )
    assert len(fake.texts_to(user)) == 3
    # "alta" opts back in: one confirmation, and the next timeout notice is sent.
    await say(server, user, "alta")
    assert (await texts(fake, user, 4))[3] == t("opt_out.resumed")
    assert (await session_of(server, user))["opted_out"] is False
    assert (await texts(fake, user, 5))[4] == t("close.timeout")


# --- the semantic layer (issue #14, "understanding that generalizes") --------------------------

ENCODER_BYE = "que te vaya lindo"
"""A goodbye no phrase of ``intents/es.yaml`` matches: only the semantic layer's head knows it
(p ≈ 0.99 of goodbye)."""
BUSINESS_CANCEL_EN = "I have to cancel my booking for Friday"


async def test_a_goodbye_only_the_encoder_knows_closes_with_the_notice(
    server: BotServer, fake: FakeGraphAPI
) -> None:
    user = "5491130000006"
    await say(server, user, "hola")
    assert await texts(fake, user, 1) == [t("welcome")]
    await say(server, user, ENCODER_BYE)
    assert (await texts(fake, user, 2))[1] == t("close.goodbye")
    session = await session_of(server, user)
    assert (session["status"], session["close_reason"]) == ("completed", "goodbye")


async def test_an_english_business_cancel_does_not_close_the_session(
    server: BotServer, fake: FakeGraphAPI
) -> None:
    user = "5491130000007"
    await say(server, user, "hi there")
    assert await texts(fake, user, 1) == [t("welcome", "en")]
    await say(server, user, BUSINESS_CANCEL_EN)
    reply = (await texts(fake, user, 2))[1]
    assert reply not in {t(f"close.{reason}", "en") for reason in ("goodbye", "cancel")}
    session = await session_of(server, user)
    assert (session["status"], session["close_reason"]) == ("active", None)


async def test_thanks_alone_gets_you_are_welcome_and_a_report_with_thanks_closes(
    server: BotServer, fake: FakeGraphAPI
) -> None:
    # thanks alone is no goodbye (the user may go on) and no help text either
    user = "5491130000008"
    await say(server, user, "hola")
    assert await texts(fake, user, 1) == [t("welcome")]
    await say(server, user, "perfecto, muchas gracias!")
    assert (await texts(fake, user, 2))[1] == t("thanks_reply")
    session = await session_of(server, user)
    assert (session["status"], session["close_reason"]) == ("active", None)
    # a report ending with thanks says goodbye: the notice, the session closed
    await say(server, user, "la pizza llegó calentita y estaba buenísima, gracias")
    assert (await texts(fake, user, 3))[2] == t("close.goodbye")
    session = await session_of(server, user)
    assert (session["status"], session["close_reason"]) == ("completed", "goodbye")
    english = "5491130000009"
    await say(server, english, "thank you so much")
    assert await texts(fake, english, 1) == [t("thanks_reply", "en")]
