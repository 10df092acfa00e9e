"""Hot reload: an edit is picked up once stable, a broken edit is rejected with every problem
and the old content keeps serving, and a conversation in progress keeps its flow version."""

from __future__ import annotations

import logging
import shutil
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from bot.config import Settings
from bot.flows import load_flows
from bot.flows.reload import ContentWatcher
from bot.locales import Locales
from bot.sessions.sqlite import SqliteStore
from bot.wiring import Content, build_runtime
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
