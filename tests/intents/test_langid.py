"""Language identification from word evidence, with small hand-made lexicons."""

from __future__ import annotations

import pytest

from bot.intents.langid import LanguageIdentifier, message_words

LEXICONS = {
    "es": frozenset({"hola", "adios", "gracias", "quiero", "prueba", "no", "ok", "si", "chau"}),
    "en": frozenset({"hello", "bye", "thanks", "want", "trial", "no", "ok", "yes", "i", "a"}),
    "pt": frozenset({"ola", "tchau", "obrigado", "quero", "no", "ok", "a"}),
}


@pytest.fixture
def identifier() -> LanguageIdentifier:
    return LanguageIdentifier(LEXICONS)


@pytest.mark.parametrize(
    ("text", "hint", "lang"),
    [
        ("hola, quiero una prueba", None, "es"),
        ("I want a trial", None, "en"),
        ("tchau, obrigado", None, "pt"),
        ("Adiós!!", None, "es"),
        ("byeee", None, "en"),
        ("ok", None, None),
        ("ok", "es", None),
        ("no", "en", None),
        ("juan.perez@gmail.com", None, None),
        ("https://example.com/hola", None, None),
        ("Juan Pérez", None, None),
        ("", None, None),
        ("bye", "es", "en"),
        ("gracias bye", "es", "es"),
        ("gracias bye", "en", "en"),
        ("gracias bye", None, None),
        ("hola", "pt", "es"),
    ],
)
def test_detect(
    identifier: LanguageIdentifier, text: str, hint: str | None, lang: str | None
) -> None:
    assert identifier.detect(text, hint) == lang


def test_shared_words_split_their_point(identifier: LanguageIdentifier) -> None:
    assert identifier.scores("a hola") == {"es": 1.0, "en": 0.5, "pt": 0.5}


def test_words_every_language_has_are_no_evidence(identifier: LanguageIdentifier) -> None:
    assert identifier.scores("ok no") == {"es": 0.0, "en": 0.0, "pt": 0.0}


def test_unknown_hint_is_ignored(identifier: LanguageIdentifier) -> None:
    assert identifier.detect("hello", "fr") == "en"


def test_message_words_drop_accents_apostrophes_emails_and_digits() -> None:
    assert message_words("¿Adiós? I'm at x@y.com 42 👋") == ["adios", "im", "at"]
