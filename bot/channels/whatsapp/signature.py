"""Verify the ``X-Hub-Signature-256`` header Meta puts on every webhook delivery.

Meta signs the raw request body with HMAC-SHA256 keyed by the app secret and sends
``X-Hub-Signature-256: sha256=<64 lowercase hex digits>``. Verify the exact bytes received,
before any JSON parsing.
"""

from __future__ import annotations

import hashlib
import hmac
import re

SIGNATURE_HEADER = "X-Hub-Signature-256"

_PREFIX = "sha256="
_HEX_DIGEST = re.compile(r"[0-9a-fA-F]{64}")


def sign(app_secret: str, body: bytes) -> str:
    """Sign ``body`` the way Meta does.

    Args:
        app_secret: The Meta app secret (UTF-8 encoded as the HMAC key).
        body: The exact bytes that will be sent.

    Returns:
        The header value, ``"sha256=<hex>"``.
    """
    return _PREFIX + _digest(app_secret, body)


def verify_signature(app_secret: str, body: bytes, header_value: str | None) -> bool:
    """Check a ``X-Hub-Signature-256`` header against the raw body, in constant time.

    Args:
        app_secret: The Meta app secret. An empty secret never verifies (anyone could sign
            with it).
        body: The raw request body, exactly as received.
        header_value: The header's value, or ``None`` when the header is absent.

    Returns:
        True only for a well-formed ``sha256=<64 hex digits>`` value matching the body's
        HMAC-SHA256; False when it is missing, malformed or wrong. Never raises.
    """
    if not app_secret or header_value is None:
        return False
    value = header_value.strip()
    if not value.startswith(_PREFIX):
        return False
    given = value[len(_PREFIX) :]
    if _HEX_DIGEST.fullmatch(given) is None:
        return False
    return hmac.compare_digest(given.lower(), _digest(app_secret, body))


def _digest(app_secret: str, body: bytes) -> str:
    return hmac.new(app_secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
