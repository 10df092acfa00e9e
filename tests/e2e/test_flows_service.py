"""End to end: the sample flows over the real webhook of a running ``bot serve``.

One server for the module runs on a copy of the repository's data (so the last test can edit
a flow under it), against the fake Graph API and a fake of the shop's and helpdesk's APIs
(``ORDER_API_URL``, ``SUPPORT_API_URL``). The copy's support flow times out after 6 s, so its
own timeout message can be seen without waiting half an hour.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from bot.locales import Locales
from tests.conftest import REPO
from tests.e2e.chat import say, sent, session_of, tap, texts
from tests.e2e.server import BotServer
from tests.fakes.graph_api import FakeGraphAPI
from tests.fakes.http_action import FakeActionAPI

pytestmark = pytest.mark.asyncio(loop_scope="module")

LOCALES = Locales.load(REPO / "locales", ["es", "en"], "es")


def t(lang: str, key: str, **values: Any) -> str:
    return LOCALES.text(lang, key, values)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of config.yaml, intents, locales and flows; support times out after 6 s."""
    folder = tmp_path_factory.mktemp("flows-data")
    shutil.copy(REPO / "config.yaml", folder / "config.yaml")
    for name in ("intents", "locales", "flows"):
        shutil.copytree(REPO / name, folder / name)
    support = folder / "flows" / "support.yaml"
    text = support.read_text(encoding="utf-8")
    support.write_text(text.replace("timeout_minutes: 10", "timeout_minutes: 0.1"), "utf-8")
    return folder


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def api() -> AsyncIterator[FakeActionAPI]:
    async with FakeActionAPI() as fake_api:
        fake_api.reply("/orders", 201, {"order_id": "A-1042", "eta_minutes": 35})
        fake_api.reply("/tickets", 200, {"ticket": {"id": "T-77"}})
        yield fake_api


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def server(
    fake: FakeGraphAPI, api: FakeActionAPI, data: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[BotServer]:
    bot = BotServer(
        tmp_path_factory.mktemp("flows-serve"),
        fake.url,
        config=data / "config.yaml",
        ORDER_API_URL=f"{api.url}/orders",
        SUPPORT_API_URL=f"{api.url}/tickets",
    )
    await bot.start()
    yield bot
    assert await bot.stop() == 0, bot.log()


async def test_free_trial_with_the_plan_tapped_on_a_reply_button(
    server: BotServer, fake: FakeGraphAPI
) -> None:
    user = "5491120000001"
    await say(server, user, "quiero una prueba")
    await texts(fake, user, 1)
    await say(server, user, "Ana Pérez")
    await texts(fake, user, 2)
    await say(server, user, "ana@example.com")
    question = (await sent(fake, user, 3))[2]
    assert question.body["interactive"] == {
        "type": "button",
        "body": {"text": t("es", "free_trial.ask_plan", name="Ana Pérez")},
        "action": {
            "buttons": [
                {"type": "reply", "reply": {"id": "basic", "title": "Básico"}},
                {"type": "reply", "reply": {"id": "pro", "title": "Pro"}},
                {"type": "reply", "reply": {"id": "enterprise", "title": "Empresa"}},
            ]
        },
    }
    await tap(server, user, "pro", "Pro")
    replies = await texts(fake, user, 5)
    session = await session_of(server, user)
    assert session["data"]["plan"] == "pro"
    assert replies[3] == t("es", "free_trial.credentials", **session["data"])
    assert replies[4] == t("es", "close.credentials_delivered")
    assert (session["status"], session["close_reason"]) == ("completed", "credentials_delivered")


async def test_an_order_with_list_taps_typed_choices_branching_and_the_shops_api(
    server: BotServer, fake: FakeGraphAPI, api: FakeActionAPI
) -> None:
    user = "5491120000002"
    await say(server, user, "quiero hacer un pedido")
    menu = (await sent(fake, user, 1))[0]
    interactive = menu.body["interactive"]
    assert interactive["type"] == "list"
    assert interactive["action"]["button"] == "Ver opciones"
    rows = interactive["action"]["sections"][0]["rows"]
    assert rows[1] == {
        "id": "pepperoni",
        "title": "Pepperoni",
        "description": "Mozzarella y pepperoni",
    }
    assert len(rows) == 5

    await tap(server, user, "pepperoni", "Pepperoni", row=True)
    await texts(fake, user, 2)
    await say(server, user, "2")
    more = (await sent(fake, user, 3))[2]
    assert more.body["interactive"]["type"] == "button"  # yes / no
    await say(server, user, "sí")  # typed: branches back to the menu
    assert (await texts(fake, user, 4))[3] == t("es", "order.ask_product")
    await say(server, user, "cuatro quesos")  # typed title instead of a tap
    assert (await texts(fake, user, 5))[4] == "¿Cuántas Cuatro quesos quieres? (de 1 a 20)"
    await say(server, user, "1")
    await texts(fake, user, 6)
    await tap(server, user, "no", "No")
    await texts(fake, user, 7)
    await say(server, user, "Av. Corrientes 1234")
    await texts(fake, user, 8)
    await say(server, user, "+54 9 11 5555-0001")
    confirm = (await texts(fake, user, 9))[8]
    assert "• 2 × Pepperoni\n• 1 × Cuatro quesos\nTotal: 3 pizzas" in confirm
    await tap(server, user, "yes", "Sí")
    replies = await texts(fake, user, 11)
    assert replies[9:] == [
        "✅ ¡Pedido confirmado! Número de pedido: A-1042. Llega en unos 35 minutos.",
        t("es", "close.order_placed"),
    ]
    (order,) = [r for r in api.to("/orders") if r.body["user"] == user]
    assert order.body["flow"] == "order" and order.body["step"] == "place_order"
    assert order.body["data"]["items"] == "• 2 × Pepperoni\n• 1 × Cuatro quesos\n"
    assert order.body["data"]["phone"] == "+5491155550001"
    assert order.headers["Idempotency-Key"].endswith(":order:place_order")
    session = await session_of(server, user)
    assert (session["status"], session["close_reason"]) == ("completed", "order_placed")
    assert session["data"]["order_number"] == "A-1042"
    assert session["data"]["pizzas"] == 3


async def test_a_failed_http_action_apologizes_in_the_users_language(
    server: BotServer, fake: FakeGraphAPI, api: FakeActionAPI
) -> None:
    user = "15550200003"
    api.fail_next("/orders", status=503, count=3)  # the call and its two retries
    for text in ("I'd like to order a pizza", "margherita", "1", "no", "221B Baker Street"):
        before = len(await texts(fake, user, 0))
        await say(server, user, text)
        await texts(fake, user, before + 1)
    await say(server, user, "+1 650 253 0000")
    await texts(fake, user, 6)
    await say(server, user, "yes")
    replies = await texts(fake, user, 8)
    assert replies[6:] == [t("en", "order.failed"), t("en", "close.action_failed")]
    assert len([r for r in api.to("/orders") if r.body["user"] == user]) == 3
    session = await session_of(server, user)
    assert (session["status"], session["close_reason"]) == ("cancelled", "action_failed")


async def test_retries_exhausted_close_the_session(server: BotServer, fake: FakeGraphAPI) -> None:
    user = "5491120000004"
    await say(server, user, "prueba")
    await texts(fake, user, 1)
    await say(server, user, "Luz")
    await texts(fake, user, 2)
    for count, answer in enumerate(["luz", "luz@", "luz arroba mail"], start=3):
        await say(server, user, answer)
        assert (await texts(fake, user, count))[-1] == t("es", "invalid.email")
    await say(server, user, "no tengo")
    assert (await texts(fake, user, 6))[-1] == t("es", "close.too_many_retries")
    session = await session_of(server, user)
    assert (session["status"], session["close_reason"]) == ("cancelled", "too_many_retries")


async def test_support_branches_by_issue_and_opens_a_ticket(
    server: BotServer, fake: FakeGraphAPI, api: FakeActionAPI
) -> None:
    user = "5491120000005"
    steps: list[tuple[str, str | None]] = [
        ("necesito soporte", t("es", "support.ask_name")),
        ("Marta", None),
        ("marta@example.com", t("es", "support.ask_issue")),
        ("tap:billing:Facturación", t("es", "support.ask_invoice")),
        ("factura", t("es", "support.invalid_invoice")),
        ("F-12345", t("es", "support.describe")),
    ]
    for count, (text, expected) in enumerate(steps, start=1):
        if text.startswith("tap:"):
            _, reply_id, title = text.split(":")
            await tap(server, user, reply_id, title)
        else:
            await say(server, user, text)
        last = (await texts(fake, user, count))[-1]
        assert expected is None or last == expected
    await say(server, user, "Me cobraron dos veces")
    replies = await texts(fake, user, 8)
    assert replies[6:] == [
        "Listo, Marta: creé el ticket T-77. Te responderemos a marta@example.com.",
        t("es", "close.ticket_created"),
    ]
    (ticket,) = [r for r in api.to("/tickets") if r.body["user"] == user]
    assert ticket.body["data"]["invoice"] == "F-12345"
    assert ticket.body["data"]["issue"] == "billing"


async def test_a_flows_own_timeout_sends_its_own_message(
    server: BotServer, fake: FakeGraphAPI
) -> None:
    user = "15550200006"
    await say(server, user, "I need support")
    await texts(fake, user, 1)
    await say(server, user, "Bob")
    await texts(fake, user, 2)
    replies = await texts(fake, user, 3, timeout_s=20)  # the copy's support flow: 6 s
    assert replies[2] == t("en", "support.timeout")
    session = await session_of(server, user)
    assert (session["status"], session["close_reason"]) == ("timeout", "timeout")


async def wait_for_log(
    server: BotServer, needle: str, count: int = 1, timeout_s: float = 15
) -> str:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while asyncio.get_running_loop().time() < deadline:
        log = server.log()
        if log.count(needle) >= count:
            return log
        await asyncio.sleep(0.1)
    raise AssertionError(f"{needle!r} not logged {count} times in {timeout_s}s:\n{server.log()}")


async def test_hot_reload_under_a_running_server(
    server: BotServer, fake: FakeGraphAPI, data: Path
) -> None:
    before, after, later = "5491120000007", "5491120000008", "5491120000009"
    for text in ("pedido", "pepperoni"):
        await say(server, before, text)
        await texts(fake, before, 2 if text == "pepperoni" else 1)

    flow = data / "flows" / "order.yaml"
    original = flow.read_text(encoding="utf-8")
    flow.write_text(
        original.replace(
            "say: order.ask_more", "say: {es: '¿Algo más, che?', en: 'More?', pt: 'Mais?'}"
        ),
        encoding="utf-8",
    )
    await wait_for_log(server, "reloaded flows, intents and locales")

    for count, text in enumerate(("pedido", "pepperoni", "2"), start=1):
        await say(server, after, text)
        await texts(fake, after, count)
    assert (await texts(fake, after, 3))[2] == "¿Algo más, che?"
    await say(server, before, "2")  # started before the edit: keeps its version
    assert (await texts(fake, before, 3))[2] == (
        "Anotado: 2 × Pepperoni. Llevas 2 pizzas. ¿Quieres agregar algo más?"
    )

    broken = flow.read_text(encoding="utf-8").replace('"yes": ask_product', '"yes": ask_produc')
    flow.write_text(broken, encoding="utf-8")
    log = await wait_for_log(server, "reload rejected")
    line = next(i for i, text in enumerate(broken.splitlines(), 1) if '"yes": ask_produc ' in text)
    await wait_for_log(server, f"{flow}:{line}:14: unknown step 'ask_produc' in flow 'order'")
    assert "Traceback" not in log
    for count, text in enumerate(("pedido", "pepperoni", "2"), start=1):
        await say(server, later, text)
        await texts(fake, later, count)
    assert (await texts(fake, later, 3))[2] == "¿Algo más, che?"  # the last valid version
