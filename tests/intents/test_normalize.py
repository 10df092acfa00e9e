"""Text normalization: case, emoji, repeated letters, accents; sound keys and lemmas."""

from __future__ import annotations

import pytest

from bot.intents.lemmas import LemmaLookup
from bot.intents.normalize import (
    dedouble_variants,
    is_emoji,
    prepare,
    remove_apostrophes,
    split_word,
    strip_accents,
    without_mentions,
)
from bot.intents.phonetic import spanish_sound


@pytest.mark.parametrize(
    ("text", "prepared"),
    [
        ("HOLA", "hola"),
        ("holaaaa", "holaa"),
        ("Chauuuu!!!", "chauu!!!"),
        ("jajajaja ok", "jaja ok"),
        ("hahaha", "haha"),
        ("llamar 1000", "llamar 1000"),
        ("bye👋🏼", "bye 👋 "),
        ("✖️", " ✖ "),
        ("¿Adiós?", "¿adiós?"),
        ("ｈｏｌａ", "hola"),
    ],
)
def test_prepare(text: str, prepared: str) -> None:
    assert prepare(text) == prepared


@pytest.mark.parametrize(
    ("word", "plain"),
    [("adiós", "adios"), ("cancelación", "cancelacion"), ("ñandú", "nandu"), ("👋", "👋")],
)
def test_strip_accents(word: str, plain: str) -> None:
    assert strip_accents(word) == plain


@pytest.mark.parametrize(
    ("word", "variants"),
    [
        ("holaa", ["hola"]),
        ("byee", ["bye"]),
        ("goodbyee", ["godbyee", "goodbye", "godbye"]),
        ("hola", []),
    ],
)
def test_dedouble_variants_try_one_run_at_a_time(word: str, variants: list[str]) -> None:
    assert dedouble_variants(word) == variants


def test_emoji_detection() -> None:
    assert is_emoji("👋") and is_emoji("❌") and is_emoji("🛑👋")
    assert not is_emoji("hola") and not is_emoji("👋a")


def test_apostrophes_and_inner_punctuation() -> None:
    assert remove_apostrophes("don't i’m") == "dont im"
    assert split_word("bye-bye") == ["bye", "bye"]
    assert split_word("555-1234") == ["555", "1234"]


def test_prepare_can_keep_the_case_for_spotting_names() -> None:
    assert prepare("Me llamo CHAOOO 👋", keep_case=True) == "Me llamo CHAOO  👋 "


@pytest.mark.parametrize(
    ("typed", "known"),
    [("ola", "hola"), ("asta", "hasta"), ("bemos", "vemos"), ("kiero", "quiero"),
     ("canselar", "cancelar"), ("prueva", "prueba"), ("yamar", "llamar")],
)  # fmt: skip
def test_spanish_words_spelled_by_ear_share_a_key(typed: str, known: str) -> None:
    assert spanish_sound(typed) == spanish_sound(known)


@pytest.mark.parametrize(("one", "other"), [("chau", "cau"), ("casa", "cama"), ("hola", "bola")])
def test_different_sounds_keep_different_keys(one: str, other: str) -> None:
    assert spanish_sound(one) != spanish_sound(other)


@pytest.fixture(scope="module")
def spanish() -> LemmaLookup:
    return LemmaLookup("es")


@pytest.mark.parametrize(
    ("word", "lemma"),
    [
        ("olvídalo", "olvidar"),  # pronoun attached to an imperative
        ("dejémoslo", "dejar"),
        ("cancelarlo", "cancelar"),  # to an infinitive
        ("cancelá", "cancelar"),  # voseo
        ("gustaria", "gustar"),  # accent left out
        ("cancelaron", "cancelar"),
    ],
)
def test_spanish_lemmas_tolerate_pronouns_voseo_and_missing_accents(
    spanish: LemmaLookup, word: str, lemma: str
) -> None:
    assert spanish.lemma(word) == lemma


def test_spanish_diminutives_point_at_their_base(spanish: LemmaLookup) -> None:
    assert spanish.diminutive_bases("lueguito")[0] == "luego"
    assert "pronto" in spanish.diminutive_bases("prontito")
    assert "ahora" in spanish.diminutive_bases("ahorita")
    assert LemmaLookup("en").diminutive_bases("bonito") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('mi nene mandó "chau" desde mi celu', "mi nene mandó   desde mi celu"),
        ("what does «opt out» mean?", "what does   mean?"),
        ('"cancelar"', '"cancelar"'),  # all quotes: said, not mentioned
        ("don't go", "don't go"),  # single quotes are apostrophes too
        ('a "lone quote', 'a "lone quote'),
    ],
)
def test_quoted_words_are_mentioned_not_said(text: str, expected: str) -> None:
    assert without_mentions(text) == expected
