"""Close languages (es and pt): marked words, sticky sessions, the shipped lexicons.

Spanish and Portuguese share many short words ("no", "para", "todo", "como"); a session's
language must not flip between them on a short or ambiguous message, and must follow a
message clearly written in the other one (issue 18).
"""

from __future__ import annotations

import pytest

from bot.intents import IntentClassifier
from bot.intents.langid import LanguageIdentifier, close_pairs, distinctive_letters

LEXICONS = {
    "es": frozenset({"hola", "gracias", "quiero", "bueno", "para", "todo", "como", "no", "ok"}),
    "pt": frozenset({"ola", "obrigado", "quero", "bom", "para", "todo", "como", "nao", "no", "ok"}),
    "en": frozenset({"hello", "thanks", "want", "good", "for", "no", "ok"}),
}


@pytest.fixture
def identifier() -> LanguageIdentifier:
    return LanguageIdentifier(LEXICONS, marks={"es": frozenset("ñ"), "pt": frozenset("ãç")})


def test_languages_sharing_much_of_their_lexicons_are_close() -> None:
    assert close_pairs(LEXICONS) == frozenset({frozenset({"es", "pt"})})


def test_distinctive_letters_are_those_of_one_language_only() -> None:
    found = distinctive_letters({"es": ["año", "así"], "pt": ["não", "assim", "aí"], "en": ["hi"]})
    assert found == {"es": frozenset("ñ"), "pt": frozenset("ã"), "en": frozenset()}


@pytest.mark.parametrize(
    ("text", "hint", "lang"),
    [
        ("para", "es", "es"),  # shared by both: the session's
        ("para", "pt", "pt"),
        ("todo", "pt", "pt"),
        ("bom", "es", "es"),  # one unmarked word of the other language: stays
        ("bueno", "pt", "pt"),
        ("obrigado", "es", "es"),
        ("não", "es", "pt"),  # a marked word is clear
        ("mañana", "pt", "es"),
        ("bom, obrigado", "es", "pt"),  # two words ahead is clear
        ("thanks", "es", "en"),  # English is not close: one word is enough, as before
        ("obrigado", None, "pt"),  # without a session, the words decide
        ("para todo", None, None),  # shared words only: undecided
    ],
)
def test_a_session_keeps_its_language_unless_the_message_is_clearly_another(
    identifier: LanguageIdentifier, text: str, hint: str | None, lang: str | None
) -> None:
    assert identifier.detect(text, hint) == lang


@pytest.mark.parametrize("text", ["no", "para", "todo", "bueno", "ok", "como", "ola", "desisto"])
def test_a_spanish_session_stays_spanish_on_short_shared_words(
    trilingual: IntentClassifier, text: str
) -> None:
    assert trilingual.classify(text, "es").lang in ("es", None)
    assert trilingual.detect_language(text, "es") in ("es", None)


@pytest.mark.parametrize("text", ["no", "para", "todo", "bom", "ok", "como", "hola", "gracias"])
def test_a_portuguese_session_stays_portuguese_on_short_words(
    trilingual: IntentClassifier, text: str
) -> None:
    assert trilingual.detect_language(text, "pt") in ("pt", None)


@pytest.mark.parametrize(
    ("text", "hint", "lang"),
    [
        ("não, obrigado", "es", "pt"),
        ("você pode me ajudar?", "es", "pt"),
        ("no gracias, ¿usted me puede llamar mañana?", "pt", "es"),
        ("oi, tudo bem?", None, "pt"),
        ("hola, ¿cómo estás?", None, "es"),
        ("hello, how are you?", "pt", "en"),
    ],
)
def test_a_message_clearly_in_another_language_moves_the_session(
    trilingual: IntentClassifier, text: str, hint: str | None, lang: str
) -> None:
    assert trilingual.detect_language(text, hint) == lang


def test_a_misspelling_of_a_close_languages_word_is_checked_with_the_fallback() -> None:
    said: list[str | None] = ["es"]
    identifier = LanguageIdentifier(
        LEXICONS,
        fallback=lambda text: said[0],
        corrections={"pt": lambda word: word == "salida", "es": lambda word: False},
        marks={},
    )
    assert identifier.detect("Calle Salida") == "es"  # lingua: a Spanish street, no typo
    said[0] = "en"
    assert identifier.detect("Calle Salida") == "pt"  # not a close language: ignored
    said[0] = None
    assert identifier.detect("Calle Salida") == "pt"  # unsure: the correction stands
