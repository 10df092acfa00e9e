"""The admin API's inputs, parsed and checked against the limits its OpenAPI document declares
(:mod:`bot.web.openapi.limits`: formats, ranges, lengths, enums); each raises
:class:`~bot.errors.BadRequest` (400 with a reason) for a bad one."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from aiohttp import web

from bot.errors import BadRequest
from bot.sessions.store import SessionQuery
from bot.web.body import read_body
from bot.web.openapi.limits import (
    CHANNELS,
    DATE_TIME_PATTERN,
    MAX_ID_LENGTH,
    MAX_LIMIT,
    MAX_OFFSET,
    MAX_SESSION_ID_LENGTH,
    STATUSES,
)

_WHOLE = re.compile(r"-?[0-9]{1,12}")
_DATE_TIME = re.compile(DATE_TIME_PATTERN)


def whole(request: web.Request, name: str, default: int, maximum: int) -> int:
    """The query parameter ``name`` as a whole number in ``[0, maximum]`` (``default`` when
    absent).

    Raises:
        BadRequest: 400 for anything else (``1.5``, ``-1``, more than 12 digits).
    """
    raw = request.query.get(name)
    if raw is None:
        return default
    if not _WHOLE.fullmatch(raw):
        raise BadRequest(f"{name} must be a whole number, got {raw!r}")
    value = int(raw)
    if not 0 <= value <= maximum:
        raise BadRequest(f"{name} must be between 0 and {maximum}")
    return value


def moment(request: web.Request, name: str) -> datetime | None:
    """The query parameter ``name`` as an aware datetime (``None`` when absent).

    Raises:
        BadRequest: 400 unless an RFC 3339 date-time with a zone (``2026-01-31T12:00:00Z``,
            ``...+05:00``) in the years 0002-9998 (in UTC it must stay inside what a
            ``datetime`` holds: ``0001-01-01T00:00:00+05:00`` does not).
    """
    raw = request.query.get(name)
    if raw is None:
        return None
    match = _DATE_TIME.fullmatch(raw)
    if match is None and _naive(raw):
        raise BadRequest(f"{name} must include a time zone (e.g. Z or +00:00), got {raw!r}")
    if match is None:
        raise BadRequest(
            f"{name} must be an RFC 3339 date-time with a zone (e.g. 2026-01-31T12:00:00Z) "
            f"in the years 0002-9998, got {raw!r}"
        )
    date, clock, fraction, zone = match.groups()
    if clock.endswith(":60"):  # a leap second: the last second of that minute
        clock, fraction = clock[:-2] + "59", ".999999"
    zone = "+00:00" if zone in ("Z", "z") else zone
    try:
        return datetime.fromisoformat(f"{date}T{clock}{(fraction or '')[:7]}{zone}")
    except ValueError:
        raise BadRequest(f"{name} is not a valid date-time, got {raw!r}") from None


def _naive(raw: str) -> bool:
    """True for an ISO-8601 date-time without a zone (``2026-01-01T00:00:00``)."""
    try:
        return datetime.fromisoformat(raw).tzinfo is None
    except ValueError:
        return False


def text(request: web.Request, name: str) -> str | None:
    """The query parameter ``name`` (``None`` when absent or empty).

    Raises:
        BadRequest: 400 when longer than ``MAX_ID_LENGTH`` characters.
    """
    value = request.query.get(name) or None
    if value is not None and len(value) > MAX_ID_LENGTH:
        raise BadRequest(f"{name} must be at most {MAX_ID_LENGTH} characters")
    return value


def path(request: web.Request, name: str) -> str:
    """The path parameter ``name``.

    Raises:
        BadRequest: 400 when longer than ``MAX_ID_LENGTH`` characters.
    """
    value = request.match_info[name]
    if len(value) > MAX_ID_LENGTH:
        raise BadRequest(f"{name} must be at most {MAX_ID_LENGTH} characters")
    return value


def session_id(request: web.Request) -> str:
    """The ``session_id`` path parameter.

    Raises:
        BadRequest: 400 when longer than ``MAX_SESSION_ID_LENGTH`` (ids are 32 hex digits).
    """
    value = request.match_info["session_id"]
    if len(value) > MAX_SESSION_ID_LENGTH:
        raise BadRequest(f"session_id must be at most {MAX_SESSION_ID_LENGTH} characters")
    return value


def channels(request: web.Request) -> tuple[str, ...]:
    """The ``channel`` filter: known channels, comma-separated (``()`` when absent).

    Raises:
        BadRequest: 400 for a channel that is not one of ``CHANNELS``.
    """
    raw = request.query.get("channel", "")
    if not raw:
        return ()
    channels = tuple(dict.fromkeys(raw.split(",")))
    if any(channel not in CHANNELS for channel in channels):
        raise BadRequest(f"channel must be one or more of {', '.join(CHANNELS)}, comma-separated")
    return channels


def status(request: web.Request) -> str | None:
    """The ``status`` filter (``None`` when absent).

    Raises:
        BadRequest: 400 unless a session status (``active``, ``completed``, ...).
    """
    value = request.query.get("status")
    if value is not None and value not in STATUSES:
        raise BadRequest(f"status must be one of {', '.join(STATUSES)}")
    return value


def boolean(request: web.Request, name: str) -> bool | None:
    """The query parameter ``name`` as ``true``/``false`` (``None`` when absent).

    Raises:
        BadRequest: 400 for any other value.
    """
    raw = request.query.get(name)
    if raw is None:
        return None
    if raw not in ("true", "false"):
        raise BadRequest(f"{name} must be true or false, got {raw!r}")
    return raw == "true"


def session_query(request: web.Request, **fixed: Any) -> SessionQuery:
    """The :class:`SessionQuery` of the request's filters (``fixed`` ones win); ``channel``
    may list several, comma-separated (``whatsapp,twilio_whatsapp``)."""
    wanted = channels(request)
    values: dict[str, Any] = {
        "user_id": text(request, "user"),
        "status": status(request),
        "channel": wanted[0] if len(wanted) == 1 else None,
        "channels": wanted if len(wanted) > 1 else (),
        "bot_id": text(request, "bot"),
        "flow_id": text(request, "flow"),
        "opted_out": boolean(request, "opted_out"),
        "created_from": moment(request, "created_from"),
        "created_to": moment(request, "created_to"),
        "active_from": moment(request, "last_activity_from"),
        "active_to": moment(request, "last_activity_to"),
        "limit": whole(request, "limit", 50, MAX_LIMIT),
        "offset": whole(request, "offset", 0, MAX_OFFSET),
        **fixed,
    }
    return SessionQuery(**values)


async def json_body(request: web.Request, *, required: bool) -> dict[str, Any]:
    """The JSON object in the request body (``{}`` when optional and empty).

    Raises:
        BadRequest: 400 for a body that is not a JSON object in UTF-8, or that holds a lone
            surrogate (``"\\ud800"``: valid JSON, but no store can keep it).
    """
    raw = await read_body(request)
    if not raw.strip():
        if required:
            raise BadRequest("a JSON object body is required")
        return {}
    try:
        data = json.loads(raw)
        json.dumps(data, ensure_ascii=False).encode("utf-8")  # lone surrogates raise
    except UnicodeEncodeError:
        raise BadRequest("the body holds a lone surrogate (U+D800-U+DFFF)") from None
    except (ValueError, RecursionError):
        raise BadRequest("the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object")
    return data


def flag(body: dict[str, Any], name: str, default: bool) -> bool:
    """The boolean ``name`` of a JSON body (``default`` when absent).

    Raises:
        BadRequest: 400 for a value that is not ``true`` or ``false``.
    """
    value = body.get(name, default)
    if not isinstance(value, bool):
        raise BadRequest(f"{name} must be true or false, got {value!r}")
    return value
