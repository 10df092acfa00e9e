"""Shared fixtures: the repository's own data, loaded once; a runtime with a fake clock."""

from __future__ import annotations

import itertools
import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from bot.channels.base import InboundKind, InboundMessage
from bot.config import Settings, load_settings
from bot.sessions.model import Session
from bot.sessions.sqlite import SqliteStore
from bot.wiring import Content, Runtime, build_runtime, load_content
from tests.fakes.clock import FakeClock
from tests.fakes.recording_sender import RecordingSender
from tests.redis_cluster import RedisCluster
from tests.redis_server import RedisServer


@pytest.fixture(autouse=True)
def _root_log_level_restored() -> Iterator[None]:
    """Put the root logger's level back after each test: a command run in this process
    (``bot new flow``, ``bot test`` through ``CliRunner``) sets it to ERROR, and a later test
    on the same worker would then see no warning in ``caplog``."""
    root = logging.getLogger()
    level = root.level
    yield
    root.setLevel(level)


REPO = Path(__file__).resolve().parent.parent
BOT_ID = "1234567890"


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One throw-away redis-server for the whole run, on a free port; each test's fixture
    flushes it first. Fails (never skips) in CI when redis-server is not installed."""
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisCluster]:
    """One throw-away Redis Cluster (3 masters) for the whole run, on free ports; each test's
    fixture flushes it first. Fails (never skips) without cluster support."""
    cluster = RedisCluster(tmp_path_factory.mktemp("redis-cluster"))
    cluster.start()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def repo_settings() -> Settings:
    """Settings of the repository's config.yaml with a clean environment."""
    return load_settings(REPO / "config.yaml", {"SESSION_TIMEOUT_MINUTES": "30"})


@pytest.fixture(scope="session")
def content(repo_settings: Settings) -> Content:
    """The shipped locales, intents and flows (loaded once: the classifier takes ~2 s)."""
    return load_content(repo_settings)


@dataclass
class Harness:
    """The real engine on a real SQLite file, a fake clock and a recording sender."""

    runtime: Runtime
    clock: FakeClock
    sender: RecordingSender
    store: SqliteStore
    _ids = itertools.count(1)

    async def say(
        self,
        text: str | None,
        user: str = "5491155550001",
        kind: InboundKind = InboundKind.TEXT,
        wamid: str | None = None,
        at: datetime | None = None,
    ) -> list[str]:
        """Send ``text`` as ``user``; return the texts the bot sent in response."""
        before = len(self.sender.sent)
        await self.runtime.engine.handle(
            InboundMessage(
                channel="whatsapp",
                bot_id=BOT_ID,
                user_id=user,
                message_id=wamid or f"wamid.in{next(self._ids)}",
                kind=kind,
                text=text,
                timestamp=at or self.clock(),
            )
        )
        return [s.text for s in self.sender.sent[before:] if s.to == user]

    async def sweep(self) -> list[str]:
        """Run one sweep; return the texts it sent."""
        before = len(self.sender.sent)
        await self.runtime.sweeper.run_once()
        return [s.text for s in self.sender.sent[before:]]

    async def session_of(self, user: str = "5491155550001") -> Session:
        """The user's newest session (any status)."""
        from bot.sessions.store import SessionQuery

        sessions = await self.store.list_sessions(SessionQuery(user_id=user, limit=1))
        assert sessions, f"no session for {user}"
        return sessions[0]


@pytest.fixture
async def harness(
    tmp_path: Path, repo_settings: Settings, content: Content
) -> AsyncIterator[Harness]:
    store = SqliteStore(tmp_path / "bot.db")
    await store.open()
    clock = FakeClock()
    sender = RecordingSender()
    runtime = build_runtime(repo_settings, content, store, {"whatsapp": sender}, clock)
    yield Harness(runtime=runtime, clock=clock, sender=sender, store=store)
    await store.close()
