"""Issue 14: a business-object cancel goes to the author intent whose ``objects`` name that
object (the sample order flow's ``cancel_order``), however the object is described; other
business objects stay no close. Each routed case was ``none`` before (main at 0160e30).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import DataFileError
from bot.intents import IntentClassifier
from bot.intents.data import load_language_file


@pytest.mark.parametrize(
    ("text", "lang", "intent"),
    [
        # a cancel held as being about an order, with words between verb and noun
        ("please cancel the dog food order, he's on a new diet", "en", "cancel_order"),
        ("scrap my order of brake pads, found them cheaper", "en", "cancel_order"),
        ("no, ya no me traigan el pedido, cancelen", "es", "cancel_order"),
        ("che, dame de baja el pedido de la remera", "es", "cancel_order"),  # an opt-out word
        # the intent's own phrase, however long the order's description
        (
            "uai, cancela esse pedido do remédio do gato, sô, o veterinário trocou",
            "pt",
            "cancel_order",
        ),
        ("cancelem a encomenda da coleira, ganhei outra de presente", "pt", "cancel_order"),
        # the guards still hold: a question, a report, a negation, a condition
        ("can I cancel my order later?", "en", "none"),
        ("I cancelled the order yesterday", "en", "none"),
        ("my husband cancelled the order by mistake", "en", "none"),
        ("deixa a encomenda na sombra por favor", "pt", "none"),  # no action word of orders
        ("basta de verso, ¿cuándo llega mi pedido?", "es", "none"),  # a question
        ("don't cancel my order", "en", "none"),
        ("si no llega mañana cancelen el pedido", "es", "none"),
        ("cancelei o pedido ontem", "pt", "none"),
        # a close limited to a part of what was asked for is about the order, no close
        ("cancela só a batata, o resto pode mandar", "pt", "none"),
        ("cancel only the fries", "en", "none"),
        ("cancelá solo las papas", "es", "none"),
        ("just cancel it", "en", "cancel"),  # "just" before the phrase limits nothing
        # another business object has no author intent: no close, no route
        ("please cancel my dog's grooming appointment", "en", "none"),
    ],
)
def test_a_business_object_cancel_goes_to_the_intent_of_that_object(
    trilingual: IntentClassifier, text: str, lang: str, intent: str
) -> None:
    result = trilingual.classify(text, lang)
    assert result.intent == intent
    assert result.confirm is None


def test_objects_are_read_per_intent(tmp_path: Path) -> None:
    path = tmp_path / "en.yaml"
    path.write_text(
        "language: en\n"
        "intents:\n"
        "  cancel_booking:\n"
        "    examples: [cancel my booking]\n"
        "    objects: ['(booking|reservation)']\n",
        encoding="utf-8",
    )
    spec = load_language_file(path, "en").intents["cancel_booking"]
    assert [phrase.text for phrase in spec.objects] == ["booking", "reservation"]


def test_objects_must_be_a_list_of_phrases(tmp_path: Path) -> None:
    path = tmp_path / "en.yaml"
    path.write_text(
        "language: en\nintents:\n  cancel_booking:\n    examples: [x]\n    objects: 3\n",
        encoding="utf-8",
    )
    with pytest.raises(DataFileError, match=r"en\.yaml:5"):
        load_language_file(path, "en")


@pytest.mark.parametrize(
    ("text", "lang", "intent"),
    [
        ("my dog passed away last month. please stop the walk reminders", "en", "opt_out"),
        ("ya no me manden promociones", "es", "opt_out"),
        ("please stop the newsletters", "en", "opt_out"),
        ("pode parar os avisos do condomínio", "pt", "opt_out"),
        ("cancela o envio dessas cobranças pra mim, não sou mais cliente", "pt", "opt_out"),
        # the stop is about something else: no messages named after it
        ("the reminders are fine, stop the booking", "en", "none"),
        # a part of the messages: no opt-out
        ("tem como parar de receber só as mensagens de cobrança?", "pt", "none"),
    ],
)
def test_a_stop_of_the_messages_a_business_sends_is_an_opt_out(
    trilingual: IntentClassifier, text: str, lang: str, intent: str
) -> None:
    assert trilingual.classify(text, lang).intent == intent


def test_a_process_noun_is_read_in_a_file_without_making_verbs(tmp_path: Path) -> None:
    # "processes" and "making" are separate lists: a language that has process nouns but
    # no verbs of making still reads "the booking form" as the chat's own process
    (tmp_path / "en.yaml").write_text(
        "language: en\n"
        "intents:\n"
        "  cancel:\n"
        "    examples: [cancel, forget]\n"
        "    context: ['(the|my) (booking|booking form|form)']\n"
        "business_objects: [booking]\n"
        "processes: [form]\n",
        encoding="utf-8",
    )
    classifier = IntentClassifier.from_directory(tmp_path, ("en",), cache_dir=tmp_path / "cache")
    assert classifier.classify("forget the booking form", "en").intent == "cancel"
    assert classifier.classify("forget my booking", "en").intent == "none"
