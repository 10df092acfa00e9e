"""The providers' HTTP client and helpers for their answers, shared by the channel clients."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
import orjson


def retry_after_s(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from an HTTP ``Retry-After`` header (RFC 9110, section 10.2.3): either
    a number of seconds (``"30"``) or an HTTP date (``"Wed, 21 Oct 2026 07:28:00 GMT"``).

    Args:
        value: The header, or ``None`` when absent.
        now: The current time for an HTTP date (default: the wall clock).

    Returns:
        Seconds (0 or more), or ``None`` when the header is absent or unreadable.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - (now or datetime.now(UTC))).total_seconds())


def json_object(raw: bytes) -> dict[str, Any]:
    """A provider's answer body as a JSON object; ``{}`` when it is not JSON or not an object
    (error pages from proxies, empty bodies)."""
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


def http_client(in_flight: int) -> aiohttp.ClientSession:
    """A provider's HTTP client, one per provider and process: keep-alive connections for
    ``in_flight`` sends at once (at least 100; idle ones closed after 30 s), request bodies
    as compact JSON by orjson. Senders give each call its own total timeout."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=max(100, in_flight), keepalive_timeout=30),
        json_serialize=_json_text,
    )


def _json_text(value: object) -> str:
    return orjson.dumps(value).decode()
