"""Canonical intent names and their Spanish aliases."""

from __future__ import annotations

import re
from types import MappingProxyType

from bot.intents.normalize import strip_accents
from bot.intents.result import CANCEL, GOODBYE, GREET

INTENT_ALIASES: MappingProxyType[str, str] = MappingProxyType(
    {
        "despedida": GOODBYE,
        "cancelacion": CANCEL,
        "saludo": GREET,
    }
)
"""Alias (lowercase, without accents) → canonical name. Read-only."""

_NAME_RE = re.compile(r"[a-z][a-z0-9_]*")


def canonical_intent(name: str) -> str:
    """Return the canonical name for an intent name or alias.

    Case, surrounding blanks and accents are ignored, so ``"Cancelación"`` gives ``"cancel"``.
    Names that are not aliases come back lowercased and otherwise unchanged.

    Args:
        name: An intent name as written by a flow author or caller.

    Returns:
        The canonical name, e.g. ``"goodbye"`` for ``"despedida"``.
    """
    key = strip_accents(name.strip().lower())
    return INTENT_ALIASES.get(key, key)


def is_valid_intent_name(name: str) -> bool:
    """True when ``name`` (already canonical) is a lowercase identifier like ``request_trial``."""
    return _NAME_RE.fullmatch(name) is not None
