"""End to end (issue #18): Brazilian Portuguese through the real ``bot serve``.

The shipped config (``languages: [es, en, pt]``), intents, flows and locales, against the fake
Graph API:

- the free-trial flow in Portuguese, chat shorthand included, to the credentials and the
  close notice in Portuguese;
- a session left idle closes with the timeout notice in Portuguese (sessions time out after
  6 s here, ``SESSION_TIMEOUT_MINUTES=0.1``: the notice is awaited, never slept for);
- a Spanish user who writes "no" or "para" (words Portuguese shares) is still answered in
  Spanish, and a Portuguese user who writes "no" in Portuguese.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from bot.locales import Locales
from tests.conftest import REPO
from tests.e2e.chat import say, sent, session_of, shown, tap, texts
from tests.e2e.server import BotServer
from tests.fakes.graph_api import FakeGraphAPI

pytestmark = pytest.mark.asyncio(loop_scope="module")

LOCALES = Locales.load(REPO / "locales", ["es", "en", "pt"], "es")


def t(lang: str, key: str, **values: Any) -> str:
    return LOCALES.text(lang, key, values)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def server(
    fake: FakeGraphAPI, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[BotServer]:
    bot = BotServer(tmp_path_factory.mktemp("portuguese"), fake.url, SESSION_TIMEOUT_MINUTES="0.1")
    await bot.start()
    yield bot
    assert await bot.stop() == 0, bot.log()


async def test_the_free_trial_in_portuguese_to_the_credentials_and_the_close_notice(
    server: BotServer, fake: FakeGraphAPI
) -> None:
    user = "5511990000001"
    await say(server, user, "oi, qro fazer um teste grátis")
    first = (await texts(fake, user, 1))[0]
    assert first == t("pt", "greeting") + "\n\n" + t("pt", "free_trial.ask_name")
    await say(server, user, "Maria Souza")
    assert (await texts(fake, user, 2))[1] == t("pt", "free_trial.ask_email", name="Maria Souza")
    await say(server, user, "maria@exemplo.com.br")
    plan = (await sent(fake, user, 3))[2]
    assert shown(plan) == t("pt", "free_trial.ask_plan", name="Maria Souza")
    buttons = plan.body["interactive"]["action"]["buttons"]
    assert [b["reply"]["title"] for b in buttons] == ["Básico", "Pro", "Empresa"]
    await tap(server, user, "basic", "Básico")
    replies = await texts(fake, user, 5)
    assert re.fullmatch(
        r"Pronto, Maria Souza! Estas são suas credenciais de teste do plano Básico:\n"
        r"Usuário: \w+\nSenha: \w{12}",
        replies[3],
    ), replies[3]
    assert replies[4] == t("pt", "close.credentials_delivered")
    session = await session_of(server, user)
    assert session["language"] == "pt"
    assert (session["status"], session["close_reason"]) == ("completed", "credentials_delivered")


async def test_an_idle_portuguese_session_closes_with_the_timeout_notice_in_portuguese(
    server: BotServer, fake: FakeGraphAPI
) -> None:
    user = "5511990000002"
    await say(server, user, "bom dia, quero testar vcs")
    assert (await texts(fake, user, 1))[0].endswith(t("pt", "free_trial.ask_name"))
    replies = await texts(fake, user, 2)  # the sweeper closes it after 6 s of silence
    assert replies[1] == t("pt", "close.timeout")
    session = await session_of(server, user)
    assert (session["status"], session["close_reason"], session["language"]) == (
        "timeout",
        "timeout",
        "pt",
    )


@pytest.mark.parametrize(
    ("user", "stop"),
    [("5491130000101", "para"), ("5491130000104", "PARA"), ("5491130000105", "desisto")],
)
async def test_a_spanish_user_who_stops_with_a_word_portuguese_shares_stays_spanish(
    server: BotServer, fake: FakeGraphAPI, user: str, stop: str
) -> None:
    """ "para" is a stop in both languages; "desisto" is Spanish too, though only the
    Portuguese file lists it: one such word does not move a Spanish session."""
    await say(server, user, "hola, quiero una prueba gratis")
    assert (await texts(fake, user, 1))[0].endswith(t("es", "free_trial.ask_name"))
    await say(server, user, stop)
    assert (await texts(fake, user, 2))[1] == t("es", "close.cancel")
    session = await session_of(server, user)
    assert (session["language"], session["close_reason"]) == ("es", "cancel")


@pytest.mark.parametrize(
    ("user", "greeting", "lang"),
    [("5491130000102", "hola", "es"), ("5511990000103", "olá", "pt")],
)
async def test_no_keeps_the_users_language(
    server: BotServer, fake: FakeGraphAPI, user: str, greeting: str, lang: str
) -> None:
    await say(server, user, greeting)
    assert (await texts(fake, user, 1))[0] == t(lang, "welcome")
    await say(server, user, "no")
    assert (await texts(fake, user, 2))[1] == t(lang, "help")
    await say(server, user, "todo")
    assert (await texts(fake, user, 3))[2] == t(lang, "help")
    assert (await session_of(server, user))["language"] == lang
