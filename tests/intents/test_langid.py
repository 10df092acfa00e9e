"""Language identification: word evidence with small hand-made lexicons, then lingua."""

from __future__ import annotations

import pytest

from bot.intents.langid import LanguageIdentifier, LinguaFallback, message_words

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


def test_fallback_is_asked_only_without_evidence_and_without_hint() -> None:
    asked: list[str] = []

    def fallback(text: str) -> str | None:
        asked.append(text)
        return "pt"

    identifier = LanguageIdentifier(LEXICONS, fallback=fallback)

    assert identifier.detect("hola") == "es"  # words decide
    assert identifier.detect("Juan Pérez", hint="es") is None  # the session already has one
    assert identifier.detect("Juan Pérez") == "pt"
    assert asked == ["Juan Pérez"]


def test_misspelled_words_decide_before_the_fallback() -> None:
    asked: list[str] = []

    def fallback(text: str) -> str | None:
        asked.append(text)
        return "pt"

    identifier = LanguageIdentifier(
        LEXICONS,
        fallback=fallback,
        corrections={
            "es": lambda word: word in {"canselar", "grasias", "hye"},
            "en": lambda word: word in {"hlelo", "hye"},
        },
    )

    assert identifier.detect("canselar") == "es"
    assert identifier.detect("hlelo, grasias hlelo") == "en"  # 2 points to 1
    assert identifier.detect("canselar", hint="en") is None  # the session already has one
    assert identifier.detect("hye") == "pt"  # corrected in both: no evidence, ask
    assert identifier.detect("Juan Pérez") == "pt"
    assert asked == ["hye", "Juan Pérez"]


@pytest.fixture(scope="module")
def lingua() -> LinguaFallback:
    return LinguaFallback(("es", "en"))


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("María José Fernández", "es"),
        ("Mary Johnson", "en"),
        ("ok", None),  # too few letters to ask
        ("12345", None),
        ("👋", None),
        ("ana_lopez99@gmail.com", None),  # addresses are left out
    ],
)
def test_lingua_fallback_answers_only_when_clearly_ahead(
    lingua: LinguaFallback, text: str, lang: str | None
) -> None:
    assert lingua(text) == lang


def test_lingua_fallback_only_names_our_languages() -> None:
    only_one_known = LinguaFallback(("es", "xx"))

    assert only_one_known("Mary Johnson went home") is None  # nothing to choose between
