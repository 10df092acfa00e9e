"""Log set-up: text or JSON lines, phone numbers masked, control characters escaped.

``LOG_FORMAT=text`` (the default) writes ``time LEVEL logger: message``; ``LOG_FORMAT=json``
writes one JSON object per line (``python-json-logger``) with ``time``, ``level``, ``logger``,
``message`` and the structured fields a call passed in ``extra`` (a session event, see
:mod:`bot.sessions.events`, carries ``event``, ``session_id``, ``channel``, ``bot_id``, ``user``,
``status``, ``reason``).

Every handler installed here (:class:`SafeRecordFilter`):

- masks phone numbers left in a message (``+5491155550089`` becomes ``+54911****89``), as a
  safety net behind the explicit :func:`~bot.privacy.mask_phone` calls;
- escapes control characters (``\\n``, ``\\r``, ``\\x1b``, C1 controls, U+2028/U+2029) and lone
  surrogates in the message and in string ``extra`` fields (``\\n`` is written ``\\x0a``), so a
  value a request carries (a path, a user id, a reason) can neither forge a log line nor break
  the stream; a traceback keeps its own newlines;
- writes a request aiohttp could not even parse (a bad header byte, a broken chunked body, a
  wrong ``Content-Length``) as one INFO line with the reason, without the traceback aiohttp
  attaches: it is the client's mistake, answered 400, not the service's.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import TextIO

from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web import RequestPayloadError
from pythonjsonlogger.json import JsonFormatter

from bot.privacy import mask_phone

FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_PHONE = re.compile(r"(?<![\w+*.\-])(\+?\d{8,15})(?![\w*])")


def mask_numbers_in(text: str) -> str:
    """``text`` with every stand-alone run of 8-15 digits (``+`` optional) masked."""
    return _PHONE.sub(lambda m: mask_phone(m.group(1)), text)


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
}


def escape_controls(text: str) -> str:
    """``text`` with every control character, line or paragraph separator and lone surrogate
    written as a Python escape (``"a\\nb"`` → ``"a\\\\x0ab"``, ``"\\ud800"`` → ``"\\\\ud800"``)."""
    return _CONTROL.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def _client_error(exc: BaseException | None) -> bool:
    """True for aiohttp's errors about a request it could not parse or whose body it could not
    decode: the client's mistake (answered 400), not the service's."""
    if isinstance(exc, HttpProcessingError):
        return exc.code < 500
    return isinstance(exc, RequestPayloadError)


class SafeRecordFilter(logging.Filter):
    """Makes every record it sees safe to write: phone numbers masked and control characters
    escaped in the message and string extras; an HTTP parse error of aiohttp's (a client's
    malformed request) turned into one INFO line without traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if _client_error(exc):
            reason = " ".join(str(exc).split()) or type(exc).__name__
            record.msg, record.args = f"{record.getMessage()}: bad request: {reason}", None
            record.exc_info = record.exc_text = None
            record.levelno, record.levelname = logging.INFO, logging.getLevelName(logging.INFO)
        message = record.getMessage()
        safe = escape_controls(mask_numbers_in(message))
        if safe != message:
            record.msg, record.args = safe, None
        for name, value in list(vars(record).items()):
            if name not in _RECORD_FIELDS and isinstance(value, str):
                setattr(record, name, escape_controls(value))
        return True


def setup_logging(level: str, fmt: str = "text", stream: TextIO | None = None) -> logging.Handler:
    """Send every log record of ``level`` and above to ``stream`` (stderr) in ``fmt``.

    Replaces the root logger's handlers, so calling it twice does not duplicate lines.

    Args:
        level: ``DEBUG``, ``INFO``, ``WARNING`` or ``ERROR``.
        fmt: ``"text"`` or ``"json"`` (one JSON object per line).
        stream: Where lines go; ``sys.stderr`` when omitted.

    Returns:
        The installed handler.

    Raises:
        ValueError: ``fmt`` is not one of :data:`FORMATS`.
    """
    if fmt not in FORMATS:
        raise ValueError(f"log format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    formatter: logging.Formatter
    if fmt == "json":
        formatter = JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )
    else:
        formatter = logging.Formatter(TEXT_FORMAT)
    handler.setFormatter(formatter)
    handler.addFilter(SafeRecordFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    return handler

