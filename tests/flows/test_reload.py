"""Hot reload: an edit is picked up once stable, a broken edit is rejected with every problem
and the old content keeps serving, a conversation in progress keeps its flow version, and a
turn waiting on the store when a reload lands finishes with the content it started with."""

from __future__ import annotations

import ast
import asyncio
import inspect
import logging
import shutil
import textwrap
from collections.abc import AsyncIterator
from dataclasses import FrozenInstanceError, replace
from pathlib import Path

import pytest

from bot.config import Settings
from bot.flows import load_flows
from bot.flows.reload import ContentWatcher
from bot.locales import Locales
from bot.sessions.model import SessionKey
from bot.sessions.sqlite import SqliteStore
from bot.wiring import Content, Runtime, build_runtime
from tests.conftest import REPO, Harness
from tests.fakes.clock import FakeClock
from tests.fakes.recording_sender import RecordingSender

INTENTS = {"request_trial", "greet", "goodbye", "cancel", "cancel_order", "opt_out"}


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """A copy of the shipped flows and locales that tests may edit."""
    for name in ("flows", "locales"):
        shutil.copytree(REPO / name, tmp_path / name)
    return tmp_path


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new), encoding="utf-8")


def loader(data: Path) -> dict[str, object]:
    locales = Locales.load(data / "locales", ["es", "en"], "es")
    return dict(load_flows(data / "flows", locales, INTENTS, {}))


async def test_an_edit_is_applied_once_the_files_stop_changing(data: Path) -> None:
    applied: list[dict[str, object]] = []
    watcher = ContentWatcher(
        [data / "flows", data / "locales"], lambda: loader(data), applied.append
    )
    assert await watcher.check() is None
    edit(data / "flows" / "order.yaml", "timeout_minutes: 15", "timeout_minutes: 20")
    assert await watcher.check() is None  # changed since the last poll: wait for one more
    assert await watcher.check() is True
    assert len(applied) == 1 and applied[0]["order"].timeout_min == 20.0  # type: ignore[attr-defined]
    assert await watcher.check() is None


async def test_a_broken_edit_is_rejected_with_every_problem_once(
    data: Path, caplog: pytest.LogCaptureFixture
) -> None:
    applied: list[dict[str, object]] = []
    watcher = ContentWatcher([data / "flows"], lambda: loader(data), applied.append)
    flow = data / "flows" / "support.yaml"
    edit(flow, "next: describe", "next: describe_it")
    edit(flow, "say: support.ask_device", "say: support.ask_devise")
    caplog.set_level(logging.ERROR, logger="bot.flows.reload")
    assert await watcher.check() is None
    assert await watcher.check() is False
    assert applied == []
    messages = [r.getMessage() for r in caplog.records]
    assert messages[0] == "reload rejected (2 problems); still serving the previous version"
    assert any(m.startswith(f"{flow}:") and "unknown step 'describe_it'" in m for m in messages)
    assert any(m.startswith(f"{flow}:") and "support.ask_devise" in m for m in messages)
    caplog.clear()
    assert await watcher.check() is None  # the same broken files are not reported again
    assert caplog.records == []
    edit(flow, "next: describe_it", "next: describe")
    edit(flow, "say: support.ask_devise", "say: support.ask_device")
    assert await watcher.check() is None
    assert await watcher.check() is True


@pytest.fixture
async def live(
    data: Path, tmp_path: Path, repo_settings: Settings, content: Content
) -> AsyncIterator[Harness]:
    """The real engine serving the editable copy."""
    store = SqliteStore(tmp_path / "bot.db")
    await store.open()
    clock = FakeClock()
    sender = RecordingSender()
    mine = reload_content(data, content)
    runtime = build_runtime(repo_settings, mine, store, {"whatsapp": sender}, clock)
    yield Harness(runtime=runtime, clock=clock, sender=sender, store=store)
    await store.close()


def reload_content(data: Path, content: Content) -> Content:
    locales = Locales.load(data / "locales", ["es", "en"], "es")
    flows = load_flows(data / "flows", locales, content.classifier.intents, {})
    return replace(content, locales=locales, flows=flows)


async def test_a_conversation_keeps_its_version_and_new_ones_get_the_new_one(
    live: Harness, data: Path, content: Content
) -> None:
    old_user, new_user = "5491100000001", "5491100000002"
    await live.say("quiero hacer un pedido", user=old_user)
    await live.say("Pepperoni", user=old_user)

    edit(
        data / "flows" / "order.yaml",
        "say: order.ask_more",
        "say: {es: '¿Algo más?', en: 'Anything else?'}",
    )
    edit(
        data / "locales" / "es.yaml",
        "Puedo darte una prueba gratis",
        "Te ofrezco una prueba gratis",
    )
    live.runtime.reload(reload_content(data, content))

    assert (await live.say("hola", user="5491100000003"))[0].startswith(
        "¡Hola! 👋 Soy el asistente virtual. Te ofrezco"
    )
    await live.say("pedido", user=new_user)
    await live.say("Pepperoni", user=new_user)
    assert await live.say("2", user=new_user) == ["¿Algo más?"]
    old_session = await live.session_of(old_user)
    assert old_session.flow_version == content.flows["order"].version
    assert await live.say("2", user=old_user) == [
        "Anotado: 2 × Pepperoni. Llevas 2 pizzas. ¿Quieres agregar algo más?"
    ]
    new_session = await live.session_of(new_user)
    assert new_session.flow_version != old_session.flow_version


OLD_WELCOME = "¡Hola! 👋 Soy el asistente virtual. Puedo darte una prueba gratis"
NEW_WELCOME = "¡Hola! 👋 Soy el asistente virtual. Te ofrezco una prueba gratis"


def edit_texts_and_order_flow(data: Path) -> None:
    """Change the welcome text and the order flow's second question (a new flow version)."""
    edit(
        data / "locales" / "es.yaml",
        "Puedo darte una prueba gratis",
        "Te ofrezco una prueba gratis",
    )
    edit(
        data / "flows" / "order.yaml",
        "say: order.ask_more",
        "say: {es: '¿Algo más?', en: 'Anything else?'}",
    )


class HeldStore:
    """Makes the store's ``get_active`` (the first await of a turn) wait until released."""

    def __init__(self, store: SqliteStore, monkeypatch: pytest.MonkeyPatch) -> None:
        self.entered, self.released = asyncio.Event(), asyncio.Event()
        real = store.get_active

        async def held(key: SessionKey) -> object:
            self.entered.set()
            await self.released.wait()
            monkeypatch.undo()  # only this one turn waits
            return await real(key)

        monkeypatch.setattr(store, "get_active", held)


async def test_a_turn_waiting_on_the_store_during_a_reload_finishes_with_the_old_content(
    live: Harness, data: Path, content: Content, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = HeldStore(live.store, monkeypatch)
    waiting = asyncio.create_task(live.say("hola", user="5491100000001"))
    await asyncio.wait_for(gate.entered.wait(), timeout=5)  # the turn is inside its await

    edit_texts_and_order_flow(data)
    live.runtime.reload(reload_content(data, content))
    gate.released.set()

    replies = await asyncio.wait_for(waiting, timeout=5)
    assert replies[0].startswith(OLD_WELCOME)  # the turn read its content before the reload
    assert (await live.say("hola", user="5491100000002"))[0].startswith(NEW_WELCOME)


async def test_a_flow_started_by_a_turn_that_straddles_a_reload_is_the_version_it_read(
    live: Harness, data: Path, content: Content, monkeypatch: pytest.MonkeyPatch
) -> None:
    old_version = live.runtime.content.flows["order"].version
    gate = HeldStore(live.store, monkeypatch)
    waiting = asyncio.create_task(live.say("quiero hacer un pedido", user="5491100000001"))
    await asyncio.wait_for(gate.entered.wait(), timeout=5)

    edit_texts_and_order_flow(data)
    live.runtime.reload(reload_content(data, content))
    gate.released.set()
    await asyncio.wait_for(waiting, timeout=5)

    assert live.runtime.content.flows["order"].version != old_version
    assert (await live.session_of("5491100000001")).flow_version == old_version
    await live.say("Pepperoni", user="5491100000001")
    assert await live.say("2", user="5491100000001") == [
        "Anotado: 2 × Pepperoni. Llevas 2 pizzas. ¿Quieres agregar algo más?"
    ]


async def test_a_reload_is_one_assignment_of_a_frozen_snapshot(
    live: Harness, data: Path, content: Content
) -> None:
    runtime = live.runtime
    before = runtime.engine.content
    edit_texts_and_order_flow(data)
    new = reload_content(data, content)
    runtime.reload(new)

    after = runtime.engine.content
    assert after is not before and runtime.content is new
    assert before.locales is not new.locales and after.locales is new.locales
    assert runtime.sweeper.service is after.service  # the sweeper reads the same snapshot
    assert after.service.locales is new.locales and after.service.policy is after.runner
    with pytest.raises(FrozenInstanceError):
        after.content = before.content  # type: ignore[misc]
    for part in ("locales", "classifier", "runner", "service"):  # no copies inside the engine
        assert not hasattr(runtime.engine, part), part

    body = ast.parse(textwrap.dedent(inspect.getsource(Runtime.reload))).body[0]
    assert isinstance(body, ast.FunctionDef)
    statements = [s for s in body.body if not isinstance(s, ast.Expr)]  # minus the docstring
    assert [ast.unparse(s) for s in statements] == [
        "self.engine.content = self.snapshot(content, self.engine.content)"
    ]


async def test_notices_written_after_a_reload_use_the_new_texts(
    live: Harness, data: Path, content: Content
) -> None:
    await live.say("hola", user="5491100000001")
    edit(data / "locales" / "es.yaml", "Cerré la conversación porque", "Cerré el chat porque")
    live.runtime.reload(reload_content(data, content))
    live.clock.advance(minutes=31)
    assert [t for t in await live.sweep() if t.startswith("Cerré")] == [
        "Cerré el chat porque no recibí respuesta por un rato. Escríbeme cuando quieras para "
        "empezar de nuevo."
    ]
