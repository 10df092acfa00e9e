"""The real ``bot serve`` process (Twilio on, SQLite) against requests no client library would
send, as raw bytes over a socket: each is a 4xx with a reason, the process stays up, and its
log holds no traceback, no ERROR line and no line a request forged."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from tests.e2e.server import ADMIN_TOKEN, BotServer
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, FakeTwilioAPI
from tests.web.raw_http import request_bytes, send_raw

pytestmark = pytest.mark.asyncio(loop_scope="module")

FORM = b"application/x-www-form-urlencoded"
AUTH = (b"Authorization", b"Bearer " + ADMIN_TOKEN.encode())
FORGED = "FORGED ERROR bot.web: the admin token is admin"


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[BotServer]:
    async with FakeTwilioAPI() as fake:
        bot = BotServer(
            tmp_path_factory.mktemp("hostile"),
            "http://127.0.0.1:9/v21.0",
            TWILIO_ACCOUNT_SID=ACCOUNT_SID,
            TWILIO_AUTH_TOKEN=AUTH_TOKEN,
            TWILIO_API_URL=fake.url,
        )
        await bot.start()
        yield bot
        assert await bot.stop() == 0, bot.log()


@pytest.mark.parametrize(
    ("method", "path", "headers", "body", "status", "reason"),
    [
        (
            "POST",
            "/webhook/twilio",
            [(b"Host", b"127.0.0.1:abc"), (b"Content-Type", FORM)],
            b"a=b",
            400,
            "invalid Host header: '127.0.0.1:abc'",
        ),
        (
            "POST",
            "/webhook/twilio/status",
            [(b"Host", b"127.0.0.1:99999"), (b"Content-Type", FORM)],
            b"a=b",
            400,
            "invalid Host header: '127.0.0.1:99999'",
        ),
        (
            "POST",
            "/webhook/twilio",
            [(b"Host", b"x"), (b"Content-Type", FORM + b"; charset=nonexistent")],
            b"a=b",
            415,
            "charset must be utf-8, got 'nonexistent'",
        ),
        (
            "POST",
            "/webhook/twilio/voice",
            [(b"Host", b"x"), (b"Content-Type", FORM + b"; charset=utf-16")],
            b"a=b",
            415,
            "charset must be utf-8, got 'utf-16'",
        ),
        (
            "POST",
            "/webhook/twilio",
            [(b"Host", b"x"), (b"Content-Type", FORM)],
            b"Body=\xff",
            400,
            "the form is not valid UTF-8",
        ),
        (
            "POST",
            "/webhook/twilio",
            [(b"Host", b"x"), (b"Content-Type", b"multipart/form-data")],
            b"--x\r\n",
            415,
            "Content-Type must be application/x-www-form-urlencoded, got 'multipart/form-data'",
        ),
        (
            "GET",
            "/v1/stats",
            [(b"Host", b"x"), (b"Authorization", b"Bearer \xff\xfe")],
            b"",
            401,
            "missing or invalid bearer token",
        ),
        (
            "GET",
            "/v1/stats/flows?created_to=9999-12-31T23:59:59-05:00",
            [(b"Host", b"x"), AUTH],
            b"",
            400,
            "created_to must be an RFC 3339 date-time with a zone (e.g. 2026-01-31T12:00:00Z) "
            "in the years 0002-9998, got '9999-12-31T23:59:59-05:00'",
        ),
        (
            "GET",
            "/v1/users/x%0A" + FORGED.replace(" ", "%20") + "/session",
            [(b"Host", b"x"), AUTH],
            b"",
            404,
            "no sessions for this user",
        ),
    ],
)
async def test_a_hostile_request_is_a_4xx_with_a_reason(
    server: BotServer,
    method: str,
    path: str,
    headers: list[tuple[bytes, bytes]],
    body: bytes,
    status: int,
    reason: str,
) -> None:
    answer = await send_raw(server.port, request_bytes(method, path, headers, body))
    assert (answer.status, answer.json()) == (status, {"error": reason})


async def test_a_request_aiohttp_cannot_parse_is_a_400(server: BotServer) -> None:
    raw = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\nConnection: close\r\n\r\n"
    answer = await send_raw(server.port, raw)
    assert answer.status == 400


async def test_the_log_has_no_traceback_no_error_and_no_forged_line(server: BotServer) -> None:
    """Runs after the requests above (same module, in order)."""
    status, _ = await server.admin("/v1/health")
    assert status == 200  # still up
    log = server.log()
    levels = [line.split(" ")[2] for line in log.splitlines()]  # date time LEVEL logger: ...
    assert "Traceback" not in log and set(levels) == {"INFO"}, log
    assert not [line for line in log.splitlines() if line.startswith("FORGED")], log
    assert f"x\\x0a{FORGED}" in log  # the value is there, escaped, on its own request's line
