"""An in-process ``bot serve`` app (real engine, SQLite, fake clock) with local fakes of the
Graph API and Twilio's Messages API, and helpers to call it as operators and Twilio do."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from twilio.request_validator import RequestValidator

from bot.channels.base import InboundKind, InboundMessage
from bot.config import Settings, load_settings
from bot.locales import Locales
from bot.web.app import create_app
from bot.web.keys import RUNTIME
from bot.wiring import Content, Runtime
from tests.conftest import REPO
from tests.fakes.clock import FakeClock
from tests.fakes.graph_api import FakeGraphAPI
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, FakeTwilioAPI
from tests.web.free_trial import Walk, walk_free_trial

ADMIN_TOKEN = "test-admin-token"
WA_BOT = "1234567890"
TWILIO_NUMBER = "+14155550100"


@dataclass
class WebApp:
    """The app under test and its surroundings."""

    client: TestClient[web.Request, web.Application]
    settings: Settings
    clock: FakeClock
    graph: FakeGraphAPI
    twilio: FakeTwilioAPI
    _ids: list[int] = field(default_factory=lambda: [0])

    @property
    def runtime(self) -> Runtime:
        return self.client.app[RUNTIME]  # type: ignore[index]

    async def admin(
        self,
        method: str,
        path: str,
        *,
        token: str | None = ADMIN_TOKEN,
        json: Any = None,
        data: str | None = None,
    ) -> tuple[int, Any]:
        """Call the admin API; returns (status, parsed JSON body)."""
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        async with self.client.request(
            method, path, headers=headers, json=json, data=data
        ) as response:
            return response.status, await response.json()

    async def whatsapp_text(self, user: str, text: str) -> None:
        """A Cloud API text from ``user``, processed to the end (replies sent to the fake)."""
        self._ids[0] += 1
        await self.runtime.engine.handle(
            InboundMessage(
                channel="whatsapp",
                bot_id=WA_BOT,
                user_id=user,
                message_id=f"wamid.test{self._ids[0]}",
                kind=InboundKind.TEXT,
                text=text,
                timestamp=self.clock(),
            )
        )
        await self.runtime.outbox.join()  # the replies leave in the background

    async def whatsapp_free_trial(self, user: str, locales: Locales, lang: str = "es") -> Walk:
        """Walk the free-trial flow as ``user`` on the Cloud API channel."""
        base = len(self.graph.texts_to(user))

        async def say(text: str) -> None:
            await self.whatsapp_text(user, text)

        async def heard(count: int) -> list[str]:
            await self.graph.wait_for(lambda _: len(self.graph.texts_to(user)) >= base + count)
            return self.graph.texts_to(user)[base:]

        trigger = "quiero una prueba" if lang == "es" else "I want a free trial"
        return await walk_free_trial(say, heard, locales, lang, trigger, "Ana", "ana@example.com")

    def url(self, path: str) -> str:
        """The absolute URL of ``path`` as the client reaches it (what Twilio signs)."""
        return str(self.client.make_url(path))

    async def twilio_post(
        self,
        path: str,
        params: Mapping[str, str],
        *,
        signed_url: str | None = None,
        signature: str | None = None,
        token: str = AUTH_TOKEN,
    ) -> tuple[int, str]:
        """POST form ``params`` to ``path`` signed as Twilio does (official ``twilio``
        package), over ``signed_url`` (default: the request's own URL)."""
        if signature is None:
            signature = RequestValidator(token).compute_signature(
                signed_url or self.url(path), dict(params)
            )
        async with self.client.post(
            path, data=dict(params), headers={"X-Twilio-Signature": signature}
        ) as response:
            return response.status, await response.text()


def web_settings(tmp_path: Path, graph_url: str, twilio_url: str, **extra: str) -> Settings:
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
        "ADMIN_TOKEN": ADMIN_TOKEN,
        "WHATSAPP_ACCESS_TOKEN": "test-access-token",
        "WHATSAPP_VERIFY_TOKEN": "test-verify-token",
        "WHATSAPP_API_URL": graph_url,
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_API_URL": twilio_url,
        "SESSION_TIMEOUT_MINUTES": "30",
        "SESSION_SWEEP_INTERVAL_SECONDS": "3600",
        **extra,
    }
    return load_settings(REPO / "config.yaml", env)


@pytest.fixture
async def fakes() -> AsyncIterator[tuple[FakeGraphAPI, FakeTwilioAPI]]:
    async with FakeGraphAPI(access_token="test-access-token") as graph, FakeTwilioAPI() as tw:
        yield graph, tw


@pytest.fixture
def extra_env() -> dict[str, str]:
    """Override in a test module to add settings."""
    return {}


@pytest.fixture
async def webapp(
    tmp_path: Path,
    content: Content,
    fakes: tuple[FakeGraphAPI, FakeTwilioAPI],
    extra_env: dict[str, str],
) -> AsyncIterator[WebApp]:
    graph, tw = fakes
    settings = web_settings(tmp_path, graph.url, tw.url, **extra_env)
    clock = FakeClock()
    app = create_app(settings, content, clock)
    async with TestClient(TestServer(app)) as client:
        yield WebApp(client=client, settings=settings, clock=clock, graph=graph, twilio=tw)
