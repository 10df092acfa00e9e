"""The WhatsApp sandbox (``WHATSAPP_API_URL=sandbox``): the settings it needs, the Graph-like
answers of its sender, and a Cloud API webhook answered in the app with the replies recorded
``sent`` (``wamid.sandbox.<n>``) in the admin API's history while no HTTP request leaves."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

import bot.web.app as app_module
from bot.channels.base import OUTBOUND_REFERENCE, Choice
from bot.channels.sandbox import WAMID_PREFIX, SandboxSender
from bot.config import Settings, load_settings, require_serve_settings
from bot.errors import ConfigError
from bot.locales import Locales
from bot.sandbox_client import Exchange, format_exchange, replies_after
from bot.web.app import create_app
from bot.web.keys import RUNTIME, TASKS
from bot.wiring import Content
from tests.conftest import REPO
from tests.fakes.cloud_payloads import envelope, signed, text_message

SECRET = "sandbox-secret"
ADMIN = "sandbox-admin"
USER = "5491100000077"
BOT = "1234567890"
NO_WHATSAPP_TOKENS = {"WHATSAPP_ACCESS_TOKEN": "", "WHATSAPP_VERIFY_TOKEN": ""}


def sandbox_settings(tmp_path: Path, **extra: str) -> Settings:
    env = {
        "WHATSAPP_API_URL": "sandbox",
        **NO_WHATSAPP_TOKENS,
        "WHATSAPP_APP_SECRET": SECRET,
        "ADMIN_TOKEN": ADMIN,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
        "SESSION_SWEEP_INTERVAL_SECONDS": "3600",
        **extra,
    }
    return load_settings(REPO / "config.yaml", env)


# --- settings ------------------------------------------------------------------------------


def test_sandbox_serves_whatsapp_without_any_whatsapp_token(tmp_path: Path) -> None:
    settings = sandbox_settings(tmp_path)
    assert settings.whatsapp.sandbox
    assert settings.whatsapp.enabled  # the webhook route is on, for `bot send`
    require_serve_settings(settings)  # no ConfigError


def test_sandbox_is_spelt_in_any_case(tmp_path: Path) -> None:
    assert sandbox_settings(tmp_path, WHATSAPP_API_URL=" Sandbox ").whatsapp.sandbox


def test_a_real_graph_url_still_needs_the_access_token(tmp_path: Path) -> None:
    settings = sandbox_settings(tmp_path, WHATSAPP_API_URL="https://graph.facebook.com/v21.0")
    assert not settings.whatsapp.sandbox
    with pytest.raises(ConfigError, match="WHATSAPP_ACCESS_TOKEN"):
        require_serve_settings(settings)


def test_a_bad_api_url_names_both_accepted_forms(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        sandbox_settings(tmp_path, WHATSAPP_API_URL="sandbx")
    assert str(caught.value) == (
        "WHATSAPP_API_URL: must be an http(s) URL or sandbox, got 'sandbx'"
    )


# --- the sender ----------------------------------------------------------------------------


async def test_a_text_is_answered_like_the_graph_api_with_our_id_in_the_wamid() -> None:
    sender = SandboxSender()
    token = OUTBOUND_REFERENCE.set("42")
    try:
        wamid = await sender.send_text(BOT, USER, "hola")
    finally:
        OUTBOUND_REFERENCE.reset(token)
    assert wamid == "wamid.sandbox.42"
    (request,) = sender.requests
    assert request.bot_id == BOT
    assert request.body == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": USER,
        "type": "text",
        "text": {"preview_url": False, "body": "hola"},
        "biz_opaque_callback_data": "42",
    }
    assert request.answer == {
        "messaging_product": "whatsapp",
        "contacts": [{"input": USER, "wa_id": USER}],
        "messages": [{"id": "wamid.sandbox.42"}],
    }


async def test_outside_the_outbox_ids_count_up() -> None:
    sender = SandboxSender()
    first = await sender.send_text(BOT, USER, "a")
    second = await sender.send_template(BOT, USER, "session_closed", "es", ["Ana"])
    assert (first, second) == ("wamid.sandbox.1", "wamid.sandbox.2")
    assert sender.requests[-1].body["template"] == {
        "name": "session_closed",
        "language": {"code": "es"},
        "components": [{"type": "body", "parameters": [{"type": "text", "text": "Ana"}]}],
    }


async def test_choices_are_built_as_the_cloud_api_client_builds_them() -> None:
    sender = SandboxSender()
    await sender.send_choices(
        BOT, USER, "¿Tamaño?", [Choice("s", "Chica"), Choice("l", "Grande")], "Ver"
    )
    interactive = sender.requests[-1].body["interactive"]
    assert interactive["type"] == "button"
    assert [b["reply"]["title"] for b in interactive["action"]["buttons"]] == ["Chica", "Grande"]


# --- in the app, seen through the admin API -------------------------------------------------


class Recorder:
    """Every HTTP request the service's own client sessions start."""

    def __init__(self) -> None:
        self.urls: list[str] = []

    def config(self) -> aiohttp.TraceConfig:
        async def started(
            session: aiohttp.ClientSession, context: SimpleNamespace, params: Any
        ) -> None:
            self.urls.append(str(params.url))

        trace = aiohttp.TraceConfig()
        trace.on_request_start.append(started)
        return trace


@pytest.fixture
async def sandbox_app(
    tmp_path: Path,
    content: Content,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> AsyncIterator[tuple[TestClient[web.Request, web.Application], Recorder]]:
    caplog.set_level(logging.INFO, logger="bot")
    recorder = Recorder()

    def recorded_client(concurrency: int) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(trace_configs=[recorder.config()])

    monkeypatch.setattr(app_module, "http_client", recorded_client)
    app = create_app(sandbox_settings(tmp_path), content)
    async with TestClient(TestServer(app)) as client:
        yield client, recorder


async def admin(client: TestClient[web.Request, web.Application], path: str) -> Any:
    async with client.get(path, headers={"Authorization": f"Bearer {ADMIN}"}) as response:
        assert response.status == 200, await response.text()
        return await response.json()


async def test_replies_are_recorded_sent_with_sandbox_wamids_and_nothing_leaves(
    sandbox_app: tuple[TestClient[web.Request, web.Application], Recorder],
    caplog: pytest.LogCaptureFixture,
) -> None:
    client, recorder = sandbox_app
    started = [r.getMessage() for r in caplog.get_records("setup")]
    assert started.count("WHATSAPP_API_URL=sandbox: replies are kept in the store, not sent") == 1
    for text in ("hola", "quiero una prueba"):
        body, headers = signed(
            envelope(text_message(text, wa_id=USER, phone_number_id=BOT)), SECRET
        )
        async with client.post("/webhook/whatsapp", data=body, headers=headers) as response:
            assert response.status == 200
        runtime = client.app[RUNTIME]  # type: ignore[index]
        await client.app[TASKS].drain(10)  # type: ignore[index]
        await runtime.outbox.join()

    listed = await admin(client, f"/v1/sessions?user={USER}")
    (session,) = listed["sessions"]
    history = (await admin(client, f"/v1/sessions/{session['id']}"))["messages"]
    locales = Locales.load(REPO / "locales", ["es", "en"], "es")
    outbound = [m for m in history if m["direction"] == "out"]
    assert [m["text"] for m in outbound] == [
        locales.text("es", "welcome", {}),
        locales.text("es", "free_trial.ask_name", {}),
    ]
    assert [m["status"] for m in outbound] == ["sent", "sent"]
    assert [m["provider_id"] for m in outbound] == [f"{WAMID_PREFIX}{m['id']}" for m in outbound]
    assert [m["attempts"] for m in outbound] == [1, 1]
    assert recorder.urls == []  # no request to Meta, nor to anywhere else


async def test_an_unsigned_webhook_is_refused_in_the_sandbox_too(
    sandbox_app: tuple[TestClient[web.Request, web.Application], Recorder],
) -> None:
    client, _ = sandbox_app
    body, _ = signed(envelope(text_message("hola", wa_id=USER, phone_number_id=BOT)), SECRET)
    async with client.post("/webhook/whatsapp", data=body) as response:
        assert response.status == 401
        assert await response.json() == {"error": "missing or invalid X-Hub-Signature-256"}


# --- how bot send prints what it read -------------------------------------------------------


def test_bot_send_shows_a_failed_or_unsettled_reply_with_its_status_and_graph_error() -> None:
    history = [
        {"direction": "out", "provider_id": "wamid.sandbox.1", "text": "old", "status": "sent"},
        {"direction": "in", "provider_id": "wamid.in1", "text": "hola", "status": "received"},
        {"direction": "out", "text": "Hola\nsegunda línea", "status": "sent"},
        {
            "direction": "out",
            "text": "¿Plan?",
            "status": "failed",
            "error_code": 131030,
            "error_detail": "Recipient phone number not in allowed list",
        },
        {"direction": "out", "text": "luego", "status": "pending"},
        {"direction": "in", "provider_id": "wamid.in2", "text": "next", "status": "received"},
        {"direction": "out", "text": "not this one", "status": "sent"},
    ]
    replies = replies_after(history, "wamid.in1")
    assert replies is not None
    assert replies_after(history, "wamid.unknown") is None
    lines = format_exchange(Exchange("hola", "wamid.in1", tuple(replies), settled=False))
    assert lines == [
        "you> hola",
        "bot> Hola",
        "     segunda línea",
        "bot> ¿Plan?",
        "     [failed 131030: Recipient phone number not in allowed list]",
        "bot> luego",
        "     [pending]",
    ]
    assert format_exchange(Exchange("👍", "w", (), settled=True)) == [
        "you> 👍",
        "bot> (no reply)",
    ]
