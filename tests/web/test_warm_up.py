"""Content whose semantic head the cache lacks (a first start, edited intents) is served at
once and replaced by the trained content when the background training returns
(``create_app(train=...)``, :class:`bot.web.training.HeadTraining`, ``bot serve``)."""

from __future__ import annotations

import asyncio
import copy
import logging
import shutil
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.config import Settings
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


def _pending(content: Content) -> Content:
    """``content`` as loaded without training a head the cache lacks."""
    classifier = copy.copy(content.classifier)
    classifier.head_pending = True
    return replace(content, classifier=classifier)


class _Trainings:
    """A ``train`` function that returns ``results`` in turn, each once its release event is
    set (at most ``wait_s``); records calls and how many ran at once."""

    def __init__(self, *results: Content, wait_s: float = 10) -> None:
        self.results = list(results)
        self.releases = [threading.Event() for _ in results]
        self.calls = 0
        self.running = 0
        self.most_at_once = 0
        self.wait_s = wait_s
        self._lock = threading.Lock()

    def __call__(self) -> Content:
        with self._lock:
            call, self.calls = self.calls, self.calls + 1
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        try:
            self.releases[call].wait(self.wait_s)
            return self.results[call]
        finally:
            with self._lock:
                self.running -= 1

    def release_all(self) -> None:
        for release in self.releases:
            release.set()


def _settings_with_own_flows(tmp_path: Path, fakes: Fakes) -> tuple[Settings, Path]:
    graph, twilio = fakes
    flows = tmp_path / "flows"
    shutil.copytree(REPO / "flows", flows)
    return replace(web_settings(tmp_path, graph.url, twilio.url), flows_dir=flows), flows


def _edit(flows: Path) -> None:
    """Touch a flow file the way an author saves it (the watcher polls every ~2 s)."""
    path = flows / "order.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "\n", encoding="utf-8")


async def test_the_service_answers_before_the_head_is_trained_and_uses_it_after(
    tmp_path: Path, content: Content, fakes: Fakes
) -> None:
    graph, twilio = fakes
    served, trained = _pending(content), replace(content)
    train = _Trainings(trained)
    app = create_app(
        web_settings(tmp_path, graph.url, twilio.url), served, FakeClock(), train=train
    )
    async with TestClient(TestServer(app)) as client:
        runtime: Runtime = client.app[RUNTIME]
        async with client.get("/healthz") as response:
            assert response.status == 200  # ready while the head trains
        assert runtime.content is served
        train.release_all()
        await _until(lambda: runtime.content is trained)
    assert train.calls == 1


async def test_an_edit_during_training_is_not_undone_and_is_trained_next(
    tmp_path: Path, content: Content, fakes: Fakes
) -> None:
    settings, flows = _settings_with_own_flows(tmp_path, fakes)
    served, edited = _pending(content), _pending(content)
    stale, trained = replace(content), replace(content)  # trained on the files at start / edited
    train = _Trainings(stale, trained)
    app = create_app(settings, served, FakeClock(), reload=lambda: edited, train=train)
    async with TestClient(TestServer(app)) as client:
        runtime: Runtime = client.app[RUNTIME]
        await _until(lambda: train.calls == 1)
        _edit(flows)
        await _until(lambda: runtime.content is edited)  # applied at once, training or not
        train.release_all()
        await _until(lambda: runtime.content is trained)
    assert train.calls == 2
    assert train.most_at_once == 1  # the edit waited for the running training


async def test_a_failed_training_leaves_the_lexicon_serving(
    tmp_path: Path, content: Content, fakes: Fakes, caplog: pytest.LogCaptureFixture
) -> None:
    graph, twilio = fakes
    served = _pending(content)

    def train() -> Content:
        raise OSError("disk full")

    caplog.set_level(logging.ERROR, logger="bot.web.training")
    app = create_app(
        web_settings(tmp_path, graph.url, twilio.url), served, FakeClock(), train=train
    )
    async with TestClient(TestServer(app)) as client:
        runtime: Runtime = client.app[RUNTIME]
        await _until(lambda: "semantic head training failed" in caplog.text)
        assert runtime.content is served
        async with client.get("/healthz") as response:
            assert response.status == 200


async def test_a_shutdown_does_not_wait_for_the_training(
    tmp_path: Path, content: Content, fakes: Fakes
) -> None:
    graph, twilio = fakes
    train = _Trainings(content, wait_s=30)  # still training when the service stops
    app = create_app(
        web_settings(tmp_path, graph.url, twilio.url), _pending(content), FakeClock(), train=train
    )
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        await _until(lambda: train.calls == 1)
        await asyncio.wait_for(client.close(), timeout=10)  # would wait 30 s for the thread
    finally:
        train.release_all()


async def test_an_edit_whose_head_is_not_cached_applies_at_once_and_trains_behind(
    tmp_path: Path, content: Content, fakes: Fakes
) -> None:
    # bot serve reloads without training; the head an edit needs trains in the background
    settings, flows = _settings_with_own_flows(tmp_path, fakes)
    edited, trained = _pending(content), replace(content)
    train = _Trainings(trained)
    app = create_app(settings, content, FakeClock(), reload=lambda: edited, train=train)
    async with TestClient(TestServer(app)) as client:
        runtime: Runtime = client.app[RUNTIME]
        await asyncio.sleep(0)  # the training task's first turn
        assert train.calls == 0  # the head served at start was not pending
        _edit(flows)
        await _until(lambda: runtime.content is edited)
        train.release_all()
        await _until(lambda: runtime.content is trained)
    assert train.calls == 1


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
