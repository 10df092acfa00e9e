"""Keeping personal data out of logs."""

from __future__ import annotations


def mask_phone(number: str | None) -> str:
    """Mask a phone number / wa_id for logs, keeping only the last 4 digits.

    ``"5491155550001"`` becomes ``"*********0001"``; numbers of 4 characters or fewer are
    masked entirely, ``None`` gives ``"-"``.
    """
    if not number:
        return "-"
    if len(number) <= 4:
        return "*" * len(number)
    return "*" * (len(number) - 4) + number[-4:]
