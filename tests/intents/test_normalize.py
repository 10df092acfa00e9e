"""Text normalization: case, emoji, repeated letters, accents."""

from __future__ import annotations

import pytest

from bot.intents.normalize import (
    dedouble_variants,
    is_emoji,
    prepare,
    remove_apostrophes,
    split_word,
    strip_accents,
)


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
