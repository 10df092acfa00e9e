"""Past forms told from the typed word and its lemma."""

from __future__ import annotations

import pytest

from bot.intents.tense import is_past_form, tells_past

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
    ("es", "dieron", "dar", "me", True),  # "me dieron de baja": short irregular verbs
    ("es", "dado", "dar", "habia", True),
    ("es", "doy", "dar", "me", False),  # "me doy de baja"
    ("es", "dame", "dar", None, False),
    ("es", "olvidaba", "olvidar", "me", True),  # imperfect: what was going on
    ("es", "cancelaban", "cancelar", None, True),
    ("es", "desistía", "desistir", None, True),
    ("es", "desistiría", "desistir", None, False),  # conditional
    ("es", "quería", "querer", None, False),  # "quería cancelar": a polite present
    ("es", "estaba", "estar", "como", False),  # "dejá todo como estaba"
    ("pt", "esquecia", "esquecer", None, True),
    ("pt", "cancelava", "cancelar", "eu", True),
    ("pt", "queria", "querer", None, False),  # "queria cancelar o pedido"
    ("pt", "deram", "dar", "me", True),
    ("pt", "dá", "dar", "me", False),
    ("en", "cancelled", "cancel", None, True),
    ("en", "canceled", "cancel", "i", True),
    ("en", "forgot", "forget", "already", True),
    ("en", "cancelled", "cancel", "order", False),  # "get my order cancelled"
    ("en", "cancel", "cancel", "i", False),
    ("en", "cancelling", "cancel", "i", False),
    ("en", "cancels", "cancel", None, False),
    ("fr", "annulé", "annuler", None, False),  # no rules for other languages
    # Portuguese: preterite and participle; not the present, the imperative or "-amos"
    ("pt", "cancelei", "cancelar", None, True),
    ("pt", "cancelou", "cancelar", None, True),
    ("pt", "cancelaram", "cancelar", None, True),
    ("pt", "cancelado", "cancelar", None, True),
    ("pt", "esqueci", "esquecer", None, True),
    ("pt", "desistiu", "desistir", None, True),
    ("pt", "cheguei", "chegar", None, True),  # chegar → cheguei
    ("pt", "fiquei", "ficar", None, True),  # ficar → fiquei
    ("pt", "saí", "sair", None, True),
    ("pt", "sai", "sair", None, False),  # goes out / get out
    ("pt", "cancele", "cancelar", None, False),
    ("pt", "cancela", "cancelar", None, False),
    ("pt", "cancelo", "cancelar", None, False),
    ("pt", "cancelamos", "cancelar", None, False),
    ("pt", "desisto", "desistir", None, False),
]


@pytest.mark.parametrize(("language", "orth", "lemma", "before", "past"), CASES)
def test_is_past_form(language: str, orth: str, lemma: str, before: str | None, past: bool) -> None:
    assert is_past_form(language, orth, lemma, before) is past


@pytest.mark.parametrize(
    ("language", "orth", "lemma", "told"),
    [
        ("en", "helped", "help", True),
        ("en", "more", "much", False),  # past for is_past_form after a subject, no thanks
        ("en", "got", "get", False),
        ("pt", "ajudou", "ajudar", True),
        ("pt", "ajuda", "ajudar", False),
        ("es", "ayudaste", "ayudar", True),
    ],
)
def test_a_goodbye_tells_the_past_only_with_a_past_form(
    language: str, orth: str, lemma: str, told: bool
) -> None:
    assert tells_past(language, orth, lemma) is told
