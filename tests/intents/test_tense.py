"""Past forms told from the typed word and its lemma."""

from __future__ import annotations

import pytest

from bot.intents.tense import is_past_form

# (language, typed word, lemma, previous word, past form?)
CASES: list[tuple[str, str, str, str | None, bool]] = [
    ("es", "cancelé", "cancelar", None, True),
    ("es", "canceló", "cancelar", "se", True),
    ("es", "cancelaste", "cancelar", None, True),
    ("es", "cancelaron", "cancelar", "me", True),
    ("es", "cancelado", "cancelar", "he", True),
    ("es", "canceladas", "cancelar", None, True),
    ("es", "busqué", "buscar", None, True),  # c → qu before -é
    ("es", "llegué", "llegar", None, True),  # g → gu
    ("es", "comí", "comer", None, True),
    ("es", "desistió", "desistir", None, True),
    ("es", "cancele", "cancelar", None, False),  # please cancel (usted)
    ("es", "cancelo", "cancelar", None, False),  # I cancel
    ("es", "cancelá", "cancelar", None, False),  # cancel! (voseo)
    ("es", "cancelaré", "cancelar", None, False),  # future
    ("es", "cancelamos", "cancelar", None, False),  # we cancel / we cancelled
    ("es", "salí", "salir", None, False),  # voseo imperative too
    ("es", "cancelar", "cancelar", None, False),
    ("en", "cancelled", "cancel", None, True),
    ("en", "canceled", "cancel", "i", True),
    ("en", "forgot", "forget", "already", True),
    ("en", "cancelled", "cancel", "order", False),  # "get my order cancelled"
    ("en", "cancel", "cancel", "i", False),
    ("en", "cancelling", "cancel", "i", False),
    ("en", "cancels", "cancel", None, False),
    ("pt", "cancelei", "cancelar", None, False),  # no rules for other languages
]


@pytest.mark.parametrize(("language", "orth", "lemma", "before", "past"), CASES)
def test_is_past_form(language: str, orth: str, lemma: str, before: str | None, past: bool) -> None:
    assert is_past_form(language, orth, lemma, before) is past
