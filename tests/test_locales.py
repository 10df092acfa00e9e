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
    "thanks_reply",
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


LANGUAGES = ["es", "en", "pt"]
"""config.yaml's ``languages``: every shipped locale file."""


def test_the_shipped_locale_files_are_the_configured_languages() -> None:
    assert sorted(p.stem for p in (REPO / "locales").glob("*.yaml")) == sorted(LANGUAGES)
    assert "languages: [es, en, pt]" in (REPO / "config.yaml").read_text(encoding="utf-8")


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("key", REQUIRED)
def test_every_key_the_engine_uses_exists_in_every_language(lang: str, key: str) -> None:
    locales = Locales.load(REPO / "locales", LANGUAGES, "es")
    assert locales.text(lang, key).strip()


def test_every_shipped_language_has_every_key() -> None:
    locales = Locales.load(REPO / "locales", LANGUAGES, "es")  # raises on a missing key
    keys = {lang: set(locales.texts[lang]) for lang in LANGUAGES}
    assert keys["pt"] == keys["es"] == keys["en"]


def test_the_languages_differ() -> None:
    locales = Locales.load(REPO / "locales", LANGUAGES, "es")
    texts = {lang: locales.text(lang, "close.timeout") for lang in LANGUAGES}
    assert len(set(texts.values())) == 3
    assert texts["pt"].startswith("Encerrei a conversa")


def test_portuguese_plurals_numbers_and_dates_follow_pt_br(tmp_path: Path) -> None:
    """Babel's ``pt`` is Brazilian Portuguese (CLDR): 0 and 1 are singular, ``1.500``, and
    dates like ``22 de novembro de 2026``; ``pt_PT`` would make 0 plural."""
    for lang in ("es", "pt"):
        (tmp_path / f"{lang}.yaml").write_text(
            "n: '{count, plural, one {# pizza} other {# pizzas}} para {day:date}'\n",
            encoding="utf-8",
        )
    locales = Locales.load(tmp_path, ["es", "pt"], "es")
    assert locales.text("pt", "n", {"count": 0, "day": "2026-11-22"}) == (
        "0 pizza para 22 de novembro de 2026"
    )
    assert locales.text("pt", "n", {"count": 1500, "day": "2026-11-22"}).startswith("1.500 pizzas")
    assert locales.text("es", "n", {"count": 0, "day": "2026-11-22"}).startswith("0 pizzas")


def test_the_sample_order_text_in_portuguese() -> None:
    locales = Locales.load(REPO / "locales", LANGUAGES, "es")
    values = {"quantity": 2, "product_label": "Marguerita", "pizzas": 1}
    assert locales.text("pt", "order.ask_more", values) == (
        "Anotado: 2 × Marguerita. Até agora 1 pizza. Quer adicionar mais alguma coisa?"
    )


@pytest.mark.parametrize(("lang", "tag"), [("es", "es-MX"), ("en", "en-US"), ("pt", "pt-BR")])
def test_each_language_names_its_voice(lang: str, tag: str) -> None:
    locales = Locales.load(REPO / "locales", LANGUAGES, "es")
    assert locales.text(lang, "voice.language") == tag


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
