"""Log set-up: text or JSON lines, masked phone numbers, one line per session event."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from aiohttp.http_exceptions import BadHttpMessage

from bot.logs import mask_numbers_in, setup_logging
from bot.privacy import mask_phone
from bot.sessions.events import session_event
from bot.sessions.model import Session, SessionKey, Status

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


@pytest.fixture
def restore_root() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("+5491155550089", "+54911****89"),
        ("5491155550089", "54911****89"),
        ("whatsapp:+5491155550089", "whatsapp:+54911****89"),
        ("+1555123", "+****23"),
        ("", "-"),
        (None, "-"),
    ],
)
def test_mask_phone(number: str | None, masked: str) -> None:
    assert mask_phone(number) == masked


def test_numbers_left_in_a_message_are_masked() -> None:
    text = "from +5491155550089 and 15550001111 at 2026-11-21 12:00:00, id abc5491155550089, 1234"
    assert mask_numbers_in(text) == (
        "from +54911****89 and 15550****11 at 2026-11-21 12:00:00, id abc5491155550089, 1234"
    )


def _session(status: Status = Status.ACTIVE, reason: str | None = None) -> Session:
    key = SessionKey("sms", "+14155550100", "+5491155550089")
    return Session("abc123", key, status, NOW, NOW, None, close_reason=reason)


@pytest.mark.usefixtures("restore_root")
def test_text_lines_mask_phones() -> None:
    out = io.StringIO()
    setup_logging("INFO", "text", out)
    log = logging.getLogger("bot.test")
    log.info("reply to %s failed", "+5491155550089")
    session_event(log, "closed", _session(Status.COMPLETED, "goodbye"))
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].endswith("INFO bot.test: reply to +54911****89 failed")
    assert lines[1].endswith(
        "INFO bot.test: session closed session_id=abc123 channel=sms bot_id=+14155****00 "
        "user=+54911****89 status=completed reason=goodbye"
    )


@pytest.mark.usefixtures("restore_root")
def test_json_lines_carry_the_session_fields() -> None:
    out = io.StringIO()
    setup_logging("INFO", "json", out)
    log = logging.getLogger("bot.test")
    session_event(log, "created", _session())
    log.debug("not shown")
    (line,) = out.getvalue().splitlines()
    record = json.loads(line)
    assert record["level"] == "INFO"
    assert record["logger"] == "bot.test"
    assert record["event"] == "session_created"
    assert (record["session_id"], record["channel"], record["user"], record["status"]) == (
        "abc123",
        "sms",
        "+54911****89",
        "active",
    )
    assert "5491155550089" not in line
    assert "time" in record


@pytest.mark.usefixtures("restore_root")
def test_set_up_twice_writes_each_line_once() -> None:
    out = io.StringIO()
    setup_logging("INFO", "text", out)
    setup_logging("INFO", "text", out)
    logging.getLogger("bot.test").info("once")
    assert out.getvalue().count("once") == 1


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="log format must be one of text, json"):
        setup_logging("INFO", "xml")


FORGED = "x\n2026-11-21 12:00:00,000 ERROR bot.web: forged\r\x1b[2J\u2028\ud800"


@pytest.mark.usefixtures("restore_root")
def test_control_characters_in_values_cannot_forge_text_lines() -> None:
    out = io.StringIO()
    setup_logging("INFO", "text", out)
    logging.getLogger("bot.test").info("GET %s rejected", FORGED)
    (line,) = out.getvalue().splitlines()
    assert line.endswith(
        "INFO bot.test: GET x\\x0a2026-11-21 12:00:00,000 ERROR bot.web: forged"
        "\\x0d\\x1b[2J\\u2028\\ud800 rejected"
    )


@pytest.mark.usefixtures("restore_root")
def test_control_characters_in_json_messages_and_extras_are_escaped() -> None:
    out = io.StringIO()
    setup_logging("INFO", "json", out)
    logging.getLogger("bot.test").info("user %s", "a\x1bb\u2028", extra={"user": FORGED})
    (line,) = out.getvalue().splitlines()
    record = json.loads(line)
    assert record["message"] == "user a\\x1bb\\u2028"
    assert record["user"].startswith("x\\x0a2026-11-21") and "\\ud800" in record["user"]
    assert "\x1b" not in line and "\u2028" not in line


@pytest.mark.usefixtures("restore_root")
def test_a_traceback_keeps_its_lines_and_its_message_is_escaped() -> None:
    out = io.StringIO()
    setup_logging("INFO", "text", out)
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logging.getLogger("bot.test").exception("failed for %s", "a\nb")
    lines = out.getvalue().splitlines()
    assert lines[0].endswith("ERROR bot.test: failed for a\\x0ab")
    assert lines[1] == "Traceback (most recent call last):"
    assert lines[-1] == "RuntimeError: boom"


@pytest.mark.usefixtures("restore_root")
def test_a_request_aiohttp_could_not_parse_is_one_info_line() -> None:
    out = io.StringIO()
    setup_logging("INFO", "text", out)
    error = BadHttpMessage("Invalid header value char:\n\n  b'X-A: \\x00'\n       ^")
    logging.getLogger("aiohttp.server").error(
        "Error handling request from %s", "127.0.0.1", exc_info=error
    )
    (line,) = out.getvalue().splitlines()
    assert line.endswith(
        "INFO aiohttp.server: Error handling request from 127.0.0.1: bad request: 400, "
        "message: Invalid header value char: b'X-A: \\x00' ^"
    )
