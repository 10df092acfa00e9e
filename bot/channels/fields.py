"""Provider fields decoded once, at the edge, into values every layer below can hold.

Python strings may hold lone UTF-16 surrogates (``"\\ud800"``, which JSON's ``\\ud800`` escape
and some form charsets produce), but no UTF-8 encoder takes them: SQLite, Redis and the log
files all refuse them, deep inside a turn. So the webhooks replace them here, in every string,
with U+FFFD (the replacement character a user sees for a broken character anywhere else), and
check the fields that name things (users, business numbers, message ids) against a plain
ASCII shape, answering 400 with a reason for one that cannot be valid.

The shapes, the same for every channel:

- an address (a user or a business number): :data:`ADDRESS_PATTERN`, an optional ``+`` then
  1 to 64 ASCII letters, digits, ``.``, ``_`` or ``-``, starting with a letter or a digit. A
  WhatsApp ``wa_id`` / ``phone_number_id`` (digits), an E.164 number (``+5491155550001``), a
  short code and Meta's business-scoped user ids (``US.1349...``) fit; an empty user, spaces,
  control characters or other scripts do not.
- a provider message id (``wamid...``, Twilio's ``SM...``): :data:`PROVIDER_ID_PATTERN`, 1 to
  256 printable ASCII characters without spaces.
"""

from __future__ import annotations

import json
import re
from typing import Any

from bot.errors import BadRequest

REPLACEMENT = "\N{REPLACEMENT CHARACTER}"
ADDRESS_PATTERN = re.compile(r"\+?[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
"""What a user or business address must fully match (after a ``whatsapp:`` prefix)."""
PROVIDER_ID_PATTERN = re.compile(r"[!-~]{1,256}")
"""What a provider message id must fully match."""
_ADDRESS_CHAR = re.compile(r"[A-Za-z0-9._+-]")
_ID_CHAR = re.compile(r"[!-~]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
"""A JSON escape of a UTF-16 surrogate (paired or not): the only way JSON text decoded from
strict UTF-8 can yield a surrogate."""


def valid_text(value: str) -> str:
    """``value`` with every lone surrogate replaced by U+FFFD (a high surrogate followed by a
    low one becomes the character they encode). Linear in ``len(value)``."""
    if value.isascii():
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return value


def valid_json(text: str) -> Any:
    """Parse JSON ``text`` (already decoded from strict UTF-8) into values whose every string,
    object keys included, is valid text (see :func:`valid_text`).

    Raises:
        json.JSONDecodeError: ``text`` is not JSON.
        ValueError: an integer has too many digits.
        RecursionError: it nests too deeply.
    """
    data = json.loads(text)
    if _SURROGATE_ESCAPE.search(text) is None:
        return data  # strict UTF-8 text without such escapes holds no surrogate
    # Rare: write it back out (surrogates raw), mend it in one linear pass and parse again.
    mended = valid_text(json.dumps(data, ensure_ascii=False))
    return json.loads(mended)


def address(field: str, value: str) -> str:
    """``value`` when it is a plausible user or business address (:data:`ADDRESS_PATTERN`).

    Args:
        field: The field's name in the provider's payload, for the reason (``"From"``).

    Raises:
        BadRequest: (400) it is empty or has another shape; the reason names ``field`` and
            what is wrong (the first character not allowed, escaped), not the value itself,
            which may be someone's phone number.
    """
    if ADDRESS_PATTERN.fullmatch(value) is None:
        raise BadRequest(f"{field} is not a valid address ({_why(value, 64, _ADDRESS_CHAR)})")
    return value


def provider_id(field: str, value: str) -> str:
    """``value`` when it is a plausible provider message id (:data:`PROVIDER_ID_PATTERN`).

    Raises:
        BadRequest: (400) it is empty, has spaces, control or non-ASCII characters, or is
            longer than 256 characters.
    """
    if PROVIDER_ID_PATTERN.fullmatch(value) is None:
        raise BadRequest(f"{field} is not a valid message id ({_why(value, 256, _ID_CHAR)})")
    return value


def _why(value: str, limit: int, allowed: re.Pattern[str]) -> str:
    """What keeps ``value`` from matching: empty, too long, or its first bad character."""
    if not value:
        return "empty"
    if len(value) > limit:
        return f"{len(value)} characters, at most {limit}"
    bad = next((c for c in value if allowed.fullmatch(c) is None), None)
    if bad is not None:
        return f"character {shown(bad)} not allowed"
    return "must start with a letter or a digit, after an optional '+'"


def shown(value: object, limit: int = 40) -> str:
    """``repr(value)`` cut to about ``limit`` characters: ASCII-safe for a reason or a log
    line (control characters and surrogates come out escaped)."""
    text = ascii(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
