"""Helpers for the providers' HTTP answers, shared by the channel clients."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


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
