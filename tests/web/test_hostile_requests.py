"""Requests no client library would send, as raw bytes over a real socket to the app: each is
a 4xx with a reason, and nothing in the log carries a traceback or an ERROR."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.logs import setup_logging
from bot.web.app import create_app
from bot.wiring import Content
from tests.fakes.graph_api import FakeGraphAPI
from tests.fakes.twilio_api import FakeTwilioAPI
from tests.redis_server import RedisServer
from tests.web.conftest import ADMIN_TOKEN, WebApp, web_settings
from tests.web.raw_http import request_bytes, send_raw

FORM = b"application/x-www-form-urlencoded"
AUTH = (b"Authorization", b"Bearer " + ADMIN_TOKEN.encode())
EXTREME_FROM = "created_from=0001-01-01T00:00:00%2B05:00"
EXTREME_TO = "created_to=9999-12-31T23:59:59-05:00"
DATE_REASON = (
    "{name} must be an RFC 3339 date-time with a zone (e.g. 2026-01-31T12:00:00Z) in the "
    "years 0002-9998, got '{value}'"
)

CASES = [
    pytest.param(
        "POST",
        "/webhook/twilio",
        [(b"Host", b"127.0.0.1:abc"), (b"Content-Type", FORM)],
        b"From=%2B5491155550001",
        400,
        "invalid Host header: '127.0.0.1:abc'",
        id="twilio-host-port-not-a-number",
    ),
    pytest.param(
        "POST",
        "/webhook/twilio",
        [(b"Host", b"127.0.0.1:99999"), (b"Content-Type", FORM)],
        b"From=%2B5491155550001",
        400,
        "invalid Host header: '127.0.0.1:99999'",
        id="twilio-host-port-out-of-range",
    ),
    pytest.param(
        "POST",
        "/webhook/twilio/status",
        [(b"Host", b"\xff:1"), (b"Content-Type", FORM)],
        b"a=b",
        400,
        "invalid Host header: '\\udcff:1'",
        id="twilio-host-not-utf8",
    ),
    pytest.param(
        "POST",
        "/webhook/twilio",
        [(b"Host", b"x"), (b"Content-Type", FORM + b"; charset=nonexistent")],
        b"a=b",
        415,
        "charset must be utf-8, got 'nonexistent'",
        id="twilio-charset-unknown",
    ),
    pytest.param(
        "POST",
        "/webhook/twilio",
        [(b"Host", b"x"), (b"Content-Type", FORM + b"; charset=utf-16")],
        b"a=b",
        415,
        "charset must be utf-8, got 'utf-16'",
        id="twilio-charset-utf16",
    ),
    pytest.param(
        "POST",
        "/webhook/twilio",
        [(b"Host", b"x"), (b"Content-Type", FORM)],
        b"Body=\xff",
        400,
        "the form is not valid UTF-8",
        id="twilio-raw-ff-byte",
    ),
    pytest.param(
        "POST",
        "/webhook/twilio",
        [(b"Host", b"x"), (b"Content-Type", FORM)],
        b"Body=%ED%A0%80",
        400,
        "the form is not valid UTF-8",
        id="twilio-escaped-lone-surrogate",
    ),
    pytest.param(
        "POST",
        "/webhook/twilio",
        [(b"Host", b"x"), (b"Content-Type", b"multipart/form-data")],
        b"--x\r\n",
        415,
        "Content-Type must be application/x-www-form-urlencoded, got 'multipart/form-data'",
        id="twilio-multipart-without-boundary",
    ),
    pytest.param(
        "POST",
        "/webhook/twilio/voice",
        [(b"Host", b"x"), (b"Content-Type", b"multipart/form-data; boundary=x")],
        b'--x\r\nContent-Disposition: form-data; name="a"\r\n\r\nbb',
        415,
        "Content-Type must be application/x-www-form-urlencoded, got 'multipart/form-data'",
        id="twilio-multipart-truncated",
    ),
    pytest.param(
        "POST",
        "/webhook/twilio",
        [(b"Host", b"x"), (b"Content-Type", FORM), (b"Content-Encoding", b"gzip")],
        b"a=b",
        400,
        "the request body could not be read: Can not decode content-encoding: gzip",
        id="twilio-body-not-gzip",
    ),
    pytest.param(
        "POST",
        "/webhook/whatsapp",
        [(b"Host", b"x"), (b"Content-Encoding", b"gzip")],
        b"{}",
        400,
        "the request body could not be read: Can not decode content-encoding: gzip",
        id="whatsapp-body-not-gzip",
    ),
    pytest.param(
        "GET",
        "/v1/sessions",
        [(b"Host", b"x"), (b"Authorization", b"Bearer \xff")],
        b"",
        401,
        "missing or invalid bearer token",
        id="admin-token-not-utf8",
    ),
    pytest.param(
        "POST",
        "/v1/whatsapp/clear-session/1",
        [(b"Host", b"x"), AUTH],
        b'{"userId": "\\ud800", "clearSession": true}',
        400,
        "the body holds a lone surrogate (U+D800-U+DFFF)",
        id="admin-body-lone-surrogate",
    ),
    *(
        pytest.param(
            "GET",
            f"{path}?{query}",
            [(b"Host", b"x"), AUTH],
            b"",
            400,
            DATE_REASON.format(name=query.split("=")[0], value=value),
            id=f"extreme-date-{path}-{query[:10]}",
        )
        for path in ("/v1/sessions", "/v1/stats", "/v1/stats/flows")
        for query, value in (
            (EXTREME_FROM, "0001-01-01T00:00:00+05:00"),
            (EXTREME_TO, "9999-12-31T23:59:59-05:00"),
        )
    ),
]


@pytest.fixture
def service_log() -> Iterator[io.StringIO]:
    """What ``bot serve`` would write (its log set-up), from INFO up."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    out = io.StringIO()
    setup_logging("INFO", "text", out)
    yield out
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


@pytest.mark.parametrize(("method", "path", "headers", "body", "status", "reason"), CASES)
async def test_a_hostile_request_is_a_4xx_with_a_reason_and_no_traceback(
    webapp: WebApp,
    service_log: io.StringIO,
    method: str,
    path: str,
    headers: list[tuple[bytes, bytes]],
    body: bytes,
    status: int,
    reason: str,
) -> None:
    port = webapp.client.server.port
    assert port is not None
    answer = await send_raw(port, request_bytes(method, path, headers, body))
    assert (answer.status, answer.json()) == (status, {"error": reason})
    await asyncio.sleep(0)  # let the connection's close be handled (and logged)
    log = service_log.getvalue()
    assert "Traceback" not in log and " ERROR " not in log, log


async def test_a_405_keeps_the_allow_header(webapp: WebApp) -> None:
    async with webapp.client.delete("/v1/sessions") as response:
        assert response.status == 405
        assert response.headers["Allow"] == "GET,HEAD"
        assert await response.json() == {"error": "Method Not Allowed"}


@pytest.fixture
def on_redis(redis_server: RedisServer) -> RedisServer:
    redis_server.flush()
    return redis_server


@pytest.mark.parametrize("path", ["/v1/sessions", "/v1/stats", "/v1/stats/flows"])
@pytest.mark.parametrize(
    ("query", "value"),
    [(EXTREME_FROM, "0001-01-01T00:00:00+05:00"), (EXTREME_TO, "9999-12-31T23:59:59-05:00")],
)
async def test_extreme_dates_are_a_400_on_redis_too(
    on_redis: RedisServer,
    tmp_path: Path,
    content: Content,
    fakes: tuple[FakeGraphAPI, FakeTwilioAPI],
    path: str,
    query: str,
    value: str,
) -> None:
    graph, tw = fakes
    settings = web_settings(tmp_path, graph.url, tw.url, DATABASE_URL=on_redis.url)
    async with TestClient(TestServer(create_app(settings, content))) as client:
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        async with client.get(f"{path}?{query}", headers=headers) as response:
            reason = DATE_REASON.format(name=query.split("=")[0], value=value)
            assert (response.status, await response.json()) == (400, {"error": reason})
