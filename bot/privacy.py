"""Keeping personal data out of logs."""

from __future__ import annotations

_KEEP_HEAD = 5
_KEEP_TAIL = 2


def mask_phone(number: str | None) -> str:
    """Mask a phone number for logs: country and area code stay, the rest but 2 digits go.

    ``"+5491155550089"`` → ``"+54911****89"``; ``"whatsapp:+5491155550089"`` →
    ``"whatsapp:+54911****89"``; a number of fewer than 8 digits keeps only its last 2
    (``"****89"``); ``None`` or ``""`` → ``"-"``.
    """
    if not number:
        return "-"
    scheme, sep, rest = number.rpartition(":")
    prefix = scheme + sep
    plus = "+" if rest.startswith("+") else ""
    digits = rest.lstrip("+")
    if len(digits) < 8:
        return f"{prefix}{plus}****{digits[-_KEEP_TAIL:]}"
    return f"{prefix}{plus}{digits[:_KEEP_HEAD]}****{digits[-_KEEP_TAIL:]}"
