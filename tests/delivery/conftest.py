"""The outbox against a real SQLite store and a local fake Graph API (a real HTTP server)."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.channels.whatsapp import WhatsAppClient
from bot.clock import Clock
from bot.config import DeliverySettings
from bot.delivery.outbox import Outbox
from bot.metrics import PrometheusMetrics
from bot.sessions.model import (
    Delivery,
    Direction,
    MessageRecord,
    Priority,
    Session,
    SessionKey,
    Status,
)
from bot.sessions.sqlite import SqliteStore
from tests.fakes.clock import FakeClock
from tests.fakes.graph_api import FakeGraphAPI

BOT_ID = "1234567890"
TOKEN = "test-access-token"


def key(user: str) -> SessionKey:
    return SessionKey("whatsapp", BOT_ID, user)


@dataclass
class Rig:
    """A store, the fake Graph API, one HTTP client and a clock, to build outboxes on."""

    store: SqliteStore
    graph: FakeGraphAPI
    http: aiohttp.ClientSession
    clock: FakeClock
    metrics: PrometheusMetrics = field(default_factory=PrometheusMetrics)
    _ids: itertools.count[int] = field(default_factory=itertools.count)

    def outbox(self, clock: Clock | None = None, token: str = TOKEN, **settings: Any) -> Outbox:
        """An outbox sending to the fake; ``settings`` are ``DeliverySettings`` fields
        (unpaced, with fast retries, unless given)."""
        chosen = {"max_mps": 0.0, "retry_base_s": 0.05, "retry_max_s": 0.4, **settings}
        return Outbox(
            self.store,
            {"whatsapp": WhatsAppClient(self.http, self.graph.url, token)},
            self.metrics,
            clock=clock or self.clock,
            settings=DeliverySettings(**chosen),
        )

    async def queue(
        self,
        user: str,
        *texts: str,
        priority: Priority = Priority.REPLY,
        notice: str | None = None,
        wrote_ago: timedelta | None = timedelta(minutes=1),
        at: datetime | None = None,
    ) -> list[MessageRecord]:
        """Store ``texts`` as pending messages to ``user`` (as a commit would), after an
        inbound message ``wrote_ago`` before now (``None``: none stored)."""
        now = at or self.clock()
        sid = f"s-{user}"
        session = Session(sid, key(user), Status.ACTIVE, now, now, now + timedelta(minutes=30))
        session.data, session.language, session.display_name = {"name": "Ana"}, "es", "Ana P"
        records = []
        if wrote_ago is not None:
            records.append(
                MessageRecord(
                    sid,
                    key(user),
                    Direction.IN,
                    "text",
                    "hola",
                    now - wrote_ago,
                    provider_id=f"wamid.in{next(self._ids)}",
                )
            )
        for text in texts:
            out = MessageRecord(
                sid, key(user), Direction.OUT, "text", text, now, status=Delivery.PENDING
            )
            out.priority, out.notice = priority, notice
            records.append(out)
        stored = await self.store.commit([session], records)
        return [m for m in stored if m.direction is Direction.OUT]

    async def history(self, user: str) -> list[MessageRecord]:
        """The outbound messages stored for ``user``, oldest first."""
        return [m for m in await self.store.messages(f"s-{user}") if m.direction is Direction.OUT]

    def counter(self, name: str, **labels: str) -> float:
        value = self.metrics.registry.get_sample_value(name, labels)
        return value or 0.0


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    store = SqliteStore(tmp_path / "bot.db")
    await store.open()
    async with FakeGraphAPI(access_token=TOKEN) as graph, aiohttp.ClientSession() as http:
        yield Rig(store=store, graph=graph, http=http, clock=FakeClock())
    await store.close()
