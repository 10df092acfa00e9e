"""How the classifier copes with what people really type, and what it refuses to close on."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.intents import NONE_INTENT, IntentClassifier

INTENTS_DIR = Path(__file__).resolve().parents[2] / "intents"


@pytest.fixture(scope="module")
def classifier() -> IntentClassifier:
    return IntentClassifier.from_directory(INTENTS_DIR)


# (text, session language, expected intent)
SPELLING: list[tuple[str, str, str]] = [
    # spelled by ear (Spanish): silent h, b/v, s/c/z, k/qu
    ("ola", "es", "greet"),
    ("asta luego", "es", "goodbye"),
    ("nos bemos", "es", "goodbye"),
    ("canselar", "es", "cancel"),
    ("kiero una prueba", "es", "request_trial"),
    # one edit; swapping neighbours is one edit
    ("hoal", "es", "greet"),
    ("cnacel", "en", "cancel"),
    ("adiso", "es", "goodbye"),
    ("heya", "en", "greet"),  # hey + a
    ("byee", "en", "goodbye"),
    # short words accept no substitution, real words are not "corrected"
    ("chat", "es", NONE_INTENT),
    ("Canela", "es", NONE_INTENT),
    ("fino", "es", NONE_INTENT),
    # diminutives, attached pronouns, voseo
    ("hasta lueguito", "es", "goodbye"),
    ("chaucito", "es", "goodbye"),
    ("cancelámelo", "es", "cancel"),
    ("olvidate de todo", "es", "cancel"),
    # two words written as one
    ("goodnight!", "en", "goodbye"),
    ("thankyou, bye", "en", "goodbye"),
    # chat shorthand
    ("xfa cancela", "es", "cancel"),
    ("tnx, cya", "en", "goodbye"),
    ("nvm", "en", "cancel"),
    # alternatives written once in the YAML: "que (tengas|tenga|tengan) (un|) ..."
    ("que tengan un buen fin de semana", "es", "goodbye"),
    ("have a lovely day", "en", "goodbye"),
    # a phrase plus its intent's context words: objects, wishes, vocatives
    ("detené todo esto", "es", "cancel"),
    ("cancela la demo", "es", "cancel"),  # a lesser intent's word is part of the cancel
    ("stop the whole thing please", "en", "cancel"),
    ("que pasen una excelente semana", "es", "goodbye"),
    ("me voy a dormir", "es", "goodbye"),
    ("have a wonderful week", "en", "goodbye"),
    ("enjoy the rest of your day", "en", "goodbye"),
    # a short word with two letters swapped, emoji read as the cue they resemble
    ("talk to yuo soon", "en", "goodbye"),
    ("⛔", "en", "cancel"),
    ("🚫", "es", "cancel"),
]


@pytest.mark.parametrize(("text", "hint", "intent"), SPELLING)
def test_misspellings_and_variants(
    classifier: IntentClassifier, text: str, hint: str, intent: str
) -> None:
    assert classifier.classify(text, hint).intent == intent


NOT_A_CLOSE: list[tuple[str, str, str]] = [
    # the word is a noun here (a determiner before it)
    ("trabajo el fin de semana", "es", NONE_INTENT),
    ("the stop was far away", "en", NONE_INTENT),
    # a name (capitalized in mid-sentence)
    ("me llamo Chao", "es", NONE_INTENT),
    ("vivo en la calle Adiós 123", "es", NONE_INTENT),
    ("my name is Chao", "en", NONE_INTENT),
    ("hola soy Chao", "es", "greet"),  # the greeting survives the name
    # a report, not a request
    ("el vuelo fue cancelado", "es", NONE_INTENT),
    ("me cancelaron la tarjeta", "es", NONE_INTENT),
    ("my flight got cancelled", "en", NONE_INTENT),
    ("the cancel button does not work", "en", NONE_INTENT),
    ("lo cancelé ayer", "es", NONE_INTENT),  # a past-time word
    ("I quit smoking last year", "en", NONE_INTENT),
    # other senses
    ("me voy de vacaciones", "es", NONE_INTENT),
    ("take care of the invoice", "en", NONE_INTENT),
    # context words alone are no evidence
    ("una linda tarde", "es", NONE_INTENT),
    ("la conversación del chat", "es", NONE_INTENT),
    # a clause about closing that a guard stopped takes its other intents with it
    ("can I stop the trial whenever I want?", "en", NONE_INTENT),
    ("no cancelen la prueba", "es", NONE_INTENT),
    ("¿puedo cancelar la demo después?", "es", NONE_INTENT),
    # a 👋 beside a greeting is part of the greeting
    ("good morning 👋", "en", "greet"),
    ("hola gente 👋👋", "es", "greet"),
    ("gracias 👋", "es", "goodbye"),
]


@pytest.mark.parametrize(("text", "hint", "intent"), NOT_A_CLOSE)
def test_words_that_only_look_like_a_close(
    classifier: IntentClassifier, text: str, hint: str, intent: str
) -> None:
    assert classifier.classify(text, hint).intent == intent


def test_a_name_after_a_filler_is_still_a_goodbye(classifier: IntentClassifier) -> None:
    assert classifier.classify("Gracias Chau", "es").intent == "goodbye"


def test_a_phrase_and_a_keyword_of_one_intent_explain_a_message_together(
    classifier: IntentClassifier,
) -> None:
    # "me gustaría probar" (an example) and "probar gratis" (a keyword) overlap
    result = classifier.classify("me gustaría probar gratis", "es")

    assert (result.intent, result.confidence) == ("request_trial", 1.0)


@pytest.mark.parametrize(
    ("text", "hint", "outside", "inside"),
    [
        ("chua", "es", "goodbye", NONE_INTENT),  # a typo is not sure enough inside a flow
        ("cnacel", "en", "cancel", NONE_INTENT),
        ("asta luego", "es", "goodbye", "goodbye"),  # spelled by ear is
        ("hasta lueguito", "es", "goodbye", "goodbye"),
    ],
)
def test_corrected_words_need_more_while_a_flow_waits_for_free_text(
    classifier: IntentClassifier, text: str, hint: str, outside: str, inside: str
) -> None:
    assert classifier.classify(text, hint).intent == outside
    assert classifier.classify(text, hint, expecting_free_text=True).intent == inside
