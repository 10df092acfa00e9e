"""Each refused send logs its reason (connection refused, timeout, the provider's HTTP status
and message) on every attempt that is logged; the same reason repeating is rate-limited."""

from __future__ import annotations

import logging
import socket
from datetime import timedelta
from types import SimpleNamespace

import aiohttp
import pytest

from bot.channels.whatsapp import WhatsAppClient
from bot.config import DeliverySettings
from bot.delivery.errors import reason
from bot.delivery.outbox import Outbox
from bot.delivery.repeats import RepeatGate
from bot.errors import ChannelSendError
from tests.delivery.conftest import TOKEN, Rig
from tests.fakes.clock import FakeClock

ANA = "5491155550001"


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def retry_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "refused (" in r.getMessage()]


async def test_a_closed_port_is_named_connection_refused_on_the_first_attempt(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    api_url = f"http://127.0.0.1:{closed_port()}/v21.0"
    outbox = Outbox(
        rig.store,
        {"whatsapp": WhatsAppClient(rig.http, api_url, TOKEN)},
        clock=rig.clock,
        settings=DeliverySettings(max_mps=0.0, retry_base_s=0.5, retry_max_s=4.0),
    )
    [message] = await rig.queue(ANA, "hola")
    with caplog.at_level(logging.INFO, logger="bot.delivery"):
        await outbox.submit([message])
    [line] = retry_lines(caplog)
    assert "connection refused: Cannot connect to host 127.0.0.1" in line, line
    assert "attempt 2 of 8" in line and "status=None" not in line


async def test_a_503_names_the_status_and_the_providers_message(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    outbox = rig.outbox()
    rig.graph.fail_all(status=503, code=2, message="Service temporarily unavailable")
    [message] = await rig.queue(ANA, "hola")
    with caplog.at_level(logging.INFO, logger="bot.delivery"):
        await outbox.submit([message])
    [line] = retry_lines(caplog)
    assert "HTTP 503 code 2: (#2) Service temporarily unavailable; retry" in line, line


async def test_the_same_reason_repeating_is_logged_once_then_summarized_per_minute(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    outbox = rig.outbox(max_attempts=20, retry_base_s=1.0, retry_max_s=10.0)
    rig.graph.fail_all(status=503, code=2, message="Service temporarily unavailable")
    [message] = await rig.queue(ANA, "hola")
    with caplog.at_level(logging.INFO, logger="bot.delivery"):
        await outbox.submit([message])
        for _ in range(12):  # 12 more attempts, 10 s apart at most: 2 minutes
            rig.clock.advance(seconds=10)
            await outbox.run_once()
    assert len(rig.graph.requests) == 13
    lines = retry_lines(caplog)
    assert 2 <= len(lines) <= 3, lines  # the first, then at most one per 60 s
    assert "more refused like it since the last line" in lines[1], lines
    assert all("HTTP 503" in line for line in lines)


async def test_a_timeout_is_named_with_its_length() -> None:
    try:
        try:
            raise TimeoutError
        except TimeoutError as exc:
            raise ChannelSendError(None, None, "timed out after 10.0s") from exc
    except ChannelSendError as error:
        assert reason(error) == "timeout after 10.0 s"


def test_a_dns_failure_is_named() -> None:
    key = SimpleNamespace(host="graph.example", port=443, ssl=True)
    lookup = aiohttp.ClientConnectorError(key, socket.gaierror(-2, "Name or service not known"))  # type: ignore[arg-type]
    error = ChannelSendError(None, None, f"connection error: {lookup}")
    error.__cause__ = lookup
    assert reason(error) == f"DNS lookup failed: {lookup}"


def test_the_gate_lets_the_first_through_then_one_per_period_with_the_count() -> None:
    clock = FakeClock()
    gate = RepeatGate(clock, every_s=60.0)
    assert gate.admit("a", "refused") == 0
    assert gate.admit("b", "refused") == 0  # another number: its own first line
    assert gate.admit("a", "HTTP 503") == 0  # another reason: its own first line
    clock.advance(seconds=30)
    assert gate.admit("a", "refused") is None
    assert gate.admit("a", "refused") is None
    clock.advance(seconds=30)
    assert gate.admit("a", "refused") == 2
    assert gate.admit("a", "refused") is None


def test_the_gate_remembers_a_bounded_number_of_pairs() -> None:
    clock = FakeClock()
    gate = RepeatGate(clock, every_s=60.0, max_subjects=3)
    for user in "abcde":
        gate.admit(user, "x")
        clock.advance(seconds=1)
    assert len(gate._seen) <= 3
    clock.advance(seconds=timedelta(minutes=2).total_seconds())
    assert gate.admit("e", "x") == 0
