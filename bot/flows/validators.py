"""Answer validators for `collect` steps: each returns the cleaned value, or None if invalid."""

from __future__ import annotations

from collections.abc import Callable

from email_validator import EmailNotValidError, validate_email


def validate_text(answer: str) -> str | None:
    """Any non-blank text, stripped."""
    cleaned = " ".join(answer.split())
    return cleaned or None


def validate_email_address(answer: str) -> str | None:
    """An email address (syntax only, no DNS look-up), normalized by ``email-validator``."""
    candidate = answer.strip().strip("<>").strip()
    try:
        return validate_email(candidate, check_deliverability=False).normalized
    except EmailNotValidError:
        return None


VALIDATORS: dict[str, Callable[[str], str | None]] = {
    "text": validate_text,
    "email": validate_email_address,
}
"""Validators by the name used in ``validate:``."""
