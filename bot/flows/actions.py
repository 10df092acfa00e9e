"""Actions a step can run when entered. Each takes the session data and returns slots to set."""

from __future__ import annotations

import re
import secrets
import string
import unicodedata
from collections.abc import Callable, Mapping
from typing import Any

_PASSWORD_ALPHABET = string.ascii_letters + string.digits


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "", ascii_text.lower())[:12]


def deliver_credentials(data: Mapping[str, Any]) -> dict[str, str]:
    """Generate trial credentials: ``{"username": ..., "password": ...}``.

    The username is built from the ``name`` slot (or ``email``) plus four random digits; the
    password is 12 characters from ``secrets`` (letters and digits).
    """
    base = _slug(str(data.get("name") or "")) or _slug(str(data.get("email") or "").split("@")[0])
    username = f"{base or 'user'}{secrets.randbelow(10_000):04d}"
    password = "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(12))
    return {"username": username, "password": password}


ACTIONS: dict[str, Callable[[Mapping[str, Any]], dict[str, str]]] = {
    "deliver_credentials": deliver_credentials,
}
"""Actions by the name used in ``action:``."""
