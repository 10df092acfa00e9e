"""A first start whose cache lacks the semantic head serves at once and swaps the trained
head in when the background training returns (``create_app(warm=...)``, ``bot serve``)."""

from __future__ import annotations

import asyncio
import copy
import shutil
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.intents import IntentClassifier
from bot.intents.semantic import Example, SemanticModel
from bot.web.app import create_app
from bot.web.keys import RUNTIME
from bot.wiring import Content, Runtime
from tests.conftest import REPO
from tests.fakes.clock import FakeClock
from tests.fakes.graph_api import FakeGraphAPI
from tests.fakes.twilio_api import FakeTwilioAPI
from tests.web.conftest import web_settings

Fakes = tuple[FakeGraphAPI, FakeTwilioAPI]


async def _training_done() -> None:
    (task,) = [t for t in asyncio.all_tasks() if t.get_name() == "semantic head"]
    await asyncio.wait_for(task, timeout=10)


def _app(
    tmp_path: Path, content: Content, fakes: Fakes, warm: Callable[[], Content]
) -> web.Application:
    graph, twilio = fakes
    return create_app(
        web_settings(tmp_path, graph.url, twilio.url), content, FakeClock(), warm=warm
    )


def _held(trained: Content, wait_s: float = 10) -> tuple[Callable[[], Content], threading.Event]:
    """A training that returns ``trained`` once the event is set (at most ``wait_s``)."""
    release = threading.Event()

    def warm() -> Content:
        release.wait(wait_s)
        return trained

    return warm, release


async def test_the_service_answers_before_the_head_is_trained_and_uses_it_after(
    tmp_path: Path, content: Content, fakes: Fakes
) -> None:
    trained = replace(content)  # what the background training returns
    warm, release = _held(trained)
    async with TestClient(TestServer(_app(tmp_path, content, fakes, warm))) as client:
        runtime: Runtime = client.app[RUNTIME]
        async with client.get("/healthz") as response:
            assert response.status == 200  # ready while the head trains
        assert runtime.content is content
        release.set()
        await _training_done()
        assert runtime.content is trained


async def test_an_edit_reloaded_during_training_is_not_undone_by_it(
    tmp_path: Path, content: Content, fakes: Fakes
) -> None:
    stale, edited = replace(content), replace(content)
    warm, release = _held(stale)  # trained on the files as they were at start
    async with TestClient(TestServer(_app(tmp_path, content, fakes, warm))) as client:
        runtime: Runtime = client.app[RUNTIME]
        runtime.reload(edited)  # the content watcher picked up an edited file
        release.set()
        await _training_done()
        assert runtime.content is edited


async def test_a_failed_training_leaves_the_lexicon_serving(
    tmp_path: Path, content: Content, fakes: Fakes
) -> None:
    def warm() -> Content:
        raise OSError("disk full")

    async with TestClient(TestServer(_app(tmp_path, content, fakes, warm))) as client:
        runtime: Runtime = client.app[RUNTIME]
        await _training_done()
        assert runtime.content is content


async def test_a_shutdown_does_not_wait_for_the_training(
    tmp_path: Path, content: Content, fakes: Fakes
) -> None:
    warm, release = _held(content, wait_s=30)  # still training when the service stops
    client = TestClient(TestServer(_app(tmp_path, content, fakes, warm)))
    await client.start_server()
    try:
        await asyncio.wait_for(client.close(), timeout=10)  # would wait 30 s for the thread
    finally:
        release.set()


async def test_an_edit_whose_head_is_not_cached_applies_at_once_and_trains_behind(
    tmp_path: Path, content: Content, fakes: Fakes
) -> None:
    # bot serve reloads without training; the head an edit needs trains in the background
    graph, twilio = fakes
    flows = tmp_path / "flows"
    shutil.copytree(REPO / "flows", flows)
    settings = replace(web_settings(tmp_path, graph.url, twilio.url), flows_dir=flows)
    classifier = copy.copy(content.classifier)
    classifier.head_pending = True
    edited, trained = replace(content, classifier=classifier), replace(content)
    retrain, release = _held(trained)
    app = create_app(settings, content, FakeClock(), reload=lambda: edited, retrain=retrain)
    async with TestClient(TestServer(app)) as client:
        runtime: Runtime = client.app[RUNTIME]
        (flows / "order.yaml").write_text(
            (flows / "order.yaml").read_text(encoding="utf-8") + "\n", encoding="utf-8"
        )
        await _until(lambda: runtime.content is edited)  # the watcher's polls: about 2 s
        release.set()
        await _until(lambda: runtime.content is trained)


async def _until(condition: Callable[[], bool], timeout_s: float = 10) -> None:
    """Poll ``condition`` (state the watcher and the training thread set, no event) until it
    holds; ``TimeoutError`` after ``timeout_s``."""
    async with asyncio.timeout(timeout_s):
        while not condition():  # noqa: ASYNC110 - polls state that sets no event
            await asyncio.sleep(0.05)


def test_a_head_not_in_the_cache_is_left_pending_when_not_training(tmp_path: Path) -> None:
    examples = [Example("hola", "greet"), Example("chau", "goodbye"), Example("ok", "none")]

    def build(train: bool) -> IntentClassifier:
        return IntentClassifier.from_directory(
            REPO / "intents",
            ("es",),
            learned=True,
            training=examples,
            cache_dir=tmp_path,
            train=train,
        )

    pending = build(train=False)
    assert pending.head_pending
    assert pending.classify("chau").intent == "goodbye"  # the lexicon alone answers
    SemanticModel.build(examples, cache_dir=tmp_path)  # what the background training does
    assert not build(train=False).head_pending
