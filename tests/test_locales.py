"""Locale files: every key in every language; placeholders filled from session data."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import DataFileError
from bot.locales import Locales
from tests.conftest import REPO

REQUIRED = [
    "welcome",
    "help",
    "text_only",
    "invalid.text",
    "invalid.email",
    "close.completed",
    "close.cancelled",
    "close.timeout",
    "close.goodbye",
    "close.cancel",
    "close.credentials_delivered",
]


@pytest.mark.parametrize("lang", ["es", "en"])
@pytest.mark.parametrize("key", REQUIRED)
def test_every_key_the_engine_uses_exists_in_every_language(lang: str, key: str) -> None:
    locales = Locales.load(REPO / "locales", ["es", "en"], "es")
    assert locales.text(lang, key).strip()


def test_the_two_languages_differ() -> None:
    locales = Locales.load(REPO / "locales", ["es", "en"], "es")
    assert locales.text("es", "close.timeout") != locales.text("en", "close.timeout")


def test_a_key_missing_in_one_language_is_reported_at_its_line_in_the_other(
    tmp_path: Path,
) -> None:
    (tmp_path / "es.yaml").write_text("a: uno\nb: dos\nc:\n  d: tres\n", encoding="utf-8")
    (tmp_path / "en.yaml").write_text("a: one\nx: ex\n", encoding="utf-8")
    with pytest.raises(DataFileError) as caught:
        Locales.load(tmp_path, ["es", "en"], "es")
    es, en = tmp_path / "es.yaml", tmp_path / "en.yaml"
    assert [str(p) for p in caught.value.problems] == [  # type: ignore[attr-defined]
        f"{en}:2:1: 'x' has no es text: add it to {es}",
        f"{es}:2:1: 'b' has no en text: add it to {en}",
        f"{es}:4:3: 'c.d' has no en text: add it to {en}",
    ]


def test_unknown_language_falls_back_to_the_default() -> None:
    locales = Locales.load(REPO / "locales", ["es", "en"], "es")
    assert locales.text("fr", "welcome") == locales.text("es", "welcome")
    assert locales.text(None, "welcome") == locales.text("es", "welcome")


def test_texts_are_templates_with_plurals_in_their_language(tmp_path: Path) -> None:
    (tmp_path / "es.yaml").write_text(
        "n: 'Tienes {count, plural, one {# mensaje} other {# mensajes}}, {name}'\n",
        encoding="utf-8",
    )
    (tmp_path / "en.yaml").write_text(
        "n: 'You have {count, plural, one {# message} other {# messages}}, {name}'\n",
        encoding="utf-8",
    )
    locales = Locales.load(tmp_path, ["es", "en"], "es")
    assert locales.text("es", "n", {"count": 1, "name": "Ana"}) == "Tienes 1 mensaje, Ana"
    assert locales.text("en", "n", {"count": 1500, "name": "Bo"}) == "You have 1,500 messages, Bo"
