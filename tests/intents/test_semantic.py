"""The semantic layer (issue 14): a small neural head over a multilingual sentence space.

It knows paraphrases no file lists, in any language of the encoder, from the intent files
and the tuning sets; it is heard only where the lexicon acted on nothing, a guard's veto
wins, a close in a question is only asked about, and business-object cancels never close.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from bot.config import load_settings
from bot.intents import IntentClassifier
from bot.intents.coverage import Seen, onward, turns
from bot.intents.encoder import SentenceEncoder
from bot.intents.head import IntentHead, TrainingSettings
from bot.intents.result import IntentResult
from bot.intents.semantic import (
    MAX_WORDS,
    Example,
    Fusion,
    Guess,
    LexiconView,
    SemanticModel,
    beside_greeting,
    doubt,
    encoder_text,
    fuse,
    switched,
)

REPO = Path(__file__).resolve().parents[2]
INTENTS = REPO / "intents"
LANGUAGES = ("es", "en")
CLOSING = frozenset({"goodbye", "cancel", "opt_out"})
OPEN = LexiconView(closing=CLOSING, guarded=CLOSING | {"cancel_order"})
NOTHING = IntentResult("none", 0.0, "en")


def guess(intent: str, probability: float, words: int = 4) -> Guess:
    return Guess(intent, probability, words)


@pytest.fixture(scope="module")
def lexicon() -> IntentClassifier:
    return IntentClassifier.from_directory(INTENTS, LANGUAGES)


@pytest.fixture(scope="module")
def classifier() -> IntentClassifier:
    """The served languages and training sets: the head `make install` trained and cached
    (a head for other languages would train here, minutes on a small machine)."""
    settings = load_settings(REPO / "config.yaml", {})
    return IntentClassifier.from_directory(
        INTENTS, settings.languages, learned=True, training_sets=settings.intents_training
    )


@pytest.mark.parametrize(
    ("text", "lang", "intent"),
    [
        ("que te vaya re bien", "es", "goodbye"),
        ("scrap the entire thing", "en", "cancel"),
        ("please void order 5512", "en", "cancel_order"),  # an order cancel, not a close
    ],
)
def test_a_paraphrase_no_file_lists_is_understood(
    lexicon: IntentClassifier, classifier: IntentClassifier, text: str, lang: str, intent: str
) -> None:
    assert lexicon.classify(text, lang).intent == "none"
    assert classifier.classify(text, lang).intent == intent


@pytest.mark.parametrize(
    "text",
    [
        "I have to cancel my booking for Friday",
        "please cancel my spa reservation for Friday",
        "I wish to cancel my hotel booking",
        "tengo que cancelar el turno del sábado",
        # what was bought, named by its verb in another clause
        "i bought the wrong color by mistake, please cancel it",
        "compré dos por error, cancelalo",
        "dame de baja del club de lectura",  # a membership: no opt-out
        "unsubscribe me from the wine club, keep my account",
    ],
)
def test_a_business_object_cancel_never_closes(classifier: IntentClassifier, text: str) -> None:
    result = classifier.classify(text)
    assert result.intent not in {"goodbye", "cancel", "opt_out"}
    assert result.confirm is None


WELL_BEING = [
    ("how has your week been going?", "en"),
    ("how's life treating you these days?", "en"),
    ("¿qué tal te viene tratando el día?", "es"),
    ("¿cómo andan las cosas por allá?", "es"),
    ("¿cómo te ha ido esta semana?", "es"),
    ("e aí, como tão as coisas por aí?", "pt"),
    ("como tem passado, tudo tranquilo?", "pt"),
]
"""Well-being questions no phrase of the intent files says."""


def test_a_well_being_question_is_a_greeting(
    lexicon: IntentClassifier, classifier: IntentClassifier
) -> None:
    # the head hears what the lexicon does not; two in seven may fall below its bar (the
    # head is retrained whenever the labelled sets grow: round 17's puts "¿cómo te ha ido
    # esta semana?" at 0.72 against 0.75, and a 0.7 bar lost on the English held-out sets),
    # but none is read as anything but a greeting
    assert {lexicon.classify(text, lang).intent for text, lang in WELL_BEING} == {"none"}
    answers = {text: classifier.classify(text, lang).intent for text, lang in WELL_BEING}
    assert set(answers.values()) <= {"greet", "none"}, answers
    greeted = [text for text, intent in answers.items() if intent == "greet"]
    assert len(greeted) >= len(WELL_BEING) - 2, greeted


@pytest.mark.parametrize(
    "text", ["no", "don't cancel anything", "can I cancel later?", "I cancelled it last week"]
)
def test_guards_keep_their_veto(classifier: IntentClassifier, text: str) -> None:
    result = classifier.classify(text, "en")
    assert result.intent == "none"


def test_the_layer_is_not_heard_while_a_flow_waits_for_free_text(
    classifier: IntentClassifier,
) -> None:
    assert classifier.classify("scrap the entire thing", "en", expecting_free_text=True).intent == (
        "none"
    )


def test_fusion_acts_asks_or_keeps_the_lexicon() -> None:
    fusion = Fusion()
    assert fuse(NOTHING, guess("cancel", 0.97), OPEN, fusion).intent == "cancel"
    asked = fuse(NOTHING, guess("cancel", 0.85), OPEN, fusion)
    assert (asked.intent, asked.confirm) == ("none", "cancel")
    assert fuse(NOTHING, guess("goodbye", 0.85), OPEN, fusion).intent == "goodbye"  # farewell
    assert fuse(NOTHING, guess("goodbye", 0.5), OPEN, fusion) == NOTHING
    assert fuse(NOTHING, guess("opt_out", 0.85), OPEN, fusion) == NOTHING  # never asked
    assert fuse(NOTHING, guess("greet", 0.9), OPEN, fusion).intent == "greet"
    assert fuse(NOTHING, guess("none", 0.99), OPEN, fusion) == NOTHING
    acted = IntentResult("greet", 0.9, "en", (("greet", 0.9),))
    assert fuse(acted, guess("cancel", 1.0), OPEN, fusion) == acted


def test_a_close_in_a_question_or_beside_a_guard_word_is_asked_about() -> None:
    fusion = Fusion()
    asked = fuse(NOTHING, guess("cancel", 1.0), replace(OPEN, question=True), fusion)
    assert (asked.intent, asked.confirm) == ("none", "cancel")
    # giving up said negated ("not doing this anymore"): acted on only when the head is sure
    negated_close = fuse(NOTHING, guess("cancel", 0.95), replace(OPEN, cautious=True), fusion)
    assert (negated_close.intent, negated_close.confirm) == ("cancel", None)
    assert fuse(NOTHING, guess("cancel", 0.85), replace(OPEN, cautious=True), fusion) == NOTHING
    in_a_question = replace(OPEN, cautious=True, question=True)
    assert fuse(NOTHING, guess("cancel", 0.999), in_a_question, fusion).intent == "none"
    past = replace(OPEN, cautious=True, past=True)
    assert fuse(NOTHING, guess("cancel", 0.999), past, fusion) == NOTHING
    assert fuse(NOTHING, guess("opt_out", 1.0), replace(OPEN, question=True), fusion) == NOTHING
    # opting out is usually said negated ("no me manden más"): acted on when the head is sure
    negated = replace(OPEN, cautious=True)
    assert fuse(NOTHING, guess("opt_out", 0.96), negated, fusion).intent == "opt_out"
    assert fuse(NOTHING, guess("opt_out", 0.93), negated, fusion) == NOTHING
    question = replace(OPEN, question=True)
    assert fuse(NOTHING, guess("greet", 0.95), question, fusion).intent == "greet"
    assert fuse(NOTHING, guess("cancel_order", 1.0), question, fusion) == NOTHING


@pytest.mark.parametrize(
    ("text", "lang", "intent"),
    [
        ("honestly i'm not doing this form anymore", "en", "cancel"),
        ("don't stop now, keep asking", "en", "none"),
        ("no, no lo borres", "es", "none"),
        ("no lo dejes a medias", "es", "none"),
    ],
)
def test_giving_up_said_negated_closes_and_a_negated_close_does_not(
    classifier: IntentClassifier, text: str, lang: str, intent: str
) -> None:
    assert classifier.classify(text, lang).intent == intent


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("não quero troco", "pt"),  # paying cash: no change
        ("favor não deixar na calçada, chove muito aqui", "pt"),
        ("no quiero vuelto, pago justo", "es"),
        ("please don't leave it on the porch", "en"),
    ],
)
def test_a_negated_instruction_about_the_delivery_or_the_payment_closes_nothing(
    classifier: IntentClassifier, text: str, lang: str
) -> None:
    # "não quero ..." reads like giving up to a head (a head sure of a cancel here); the
    # noun, a business object, says what it is about
    result = classifier.with_semantic(_SpyHead("cancel")).classify(text, lang)  # type: ignore[arg-type]
    assert result.intent == "none"
    assert result.confirm is None


def test_a_business_object_lets_the_head_route_to_an_order_cancel_but_never_close() -> None:
    business = replace(OPEN, business=True, evidence=frozenset({"cancel_order"}))
    assert fuse(NOTHING, guess("cancel", 1.0), business, Fusion()) == NOTHING
    assert fuse(NOTHING, guess("cancel_order", 0.9), business, Fusion()).intent == "cancel_order"
    no_verb = replace(business, evidence=frozenset())  # "el pedido de ayer"
    assert fuse(NOTHING, guess("cancel_order", 1.0), no_verb, Fusion()) == NOTHING
    blocked = replace(OPEN, blocked=True)  # a conditional
    assert fuse(NOTHING, guess("cancel_order", 1.0), blocked, Fusion()) == NOTHING
    assert fuse(NOTHING, guess("cancel", 1.0), blocked, Fusion()) == NOTHING


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("ese pedido, anulalo porfa", "es"),
        ("el pedido 3321, cancélalo", "es"),
        ("the order from monday, cancel it please", "en"),
    ],
)
def test_an_order_named_in_another_clause_than_the_cancel_is_an_order_cancel(
    classifier: IntentClassifier, text: str, lang: str
) -> None:
    # The lexicon holds the cancel as about the order in another clause and routes it to
    # the intent whose objects name orders; the head agrees.
    assert classifier.with_semantic(None).classify(text, lang).intent == "cancel_order"
    assert classifier.classify(text, lang).intent == "cancel_order"


@pytest.mark.parametrize(
    "text",
    [
        "thanks for all your help, now how do i change my email",
        "much appreciated, bye. oh and how much is shipping to leeds",
    ],
)
def test_thanks_that_go_on_to_something_new_do_not_close(
    classifier: IntentClassifier, text: str
) -> None:
    # The lexicon is sure of the goodbye; the clause after it is a new request.
    assert classifier.with_semantic(None).classify(text, "en").intent == "goodbye"
    result = classifier.classify(text, "en")
    assert result.intent == "none"
    assert result.confirm == "goodbye"  # asked about: one extra turn, never a silent close


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("no that's it thanks", "goodbye"),  # answering "anything else?"
        ("no that's everything thank you", "goodbye"),
        ("nope, no that's all", "goodbye"),
        ("no cancel", "none"),  # a cancel keeps the negation's veto
        ("not goodbye yet", "none"),
    ],
)
def test_an_answer_word_before_a_goodbye_negates_nothing(
    lexicon: IntentClassifier, text: str, intent: str
) -> None:
    assert lexicon.classify(text, "en").intent == intent


@pytest.mark.parametrize(("text", "lang"), [("bye Peter", "en"), ("chau Martín", "es")])
def test_a_goodbye_said_to_someone_by_name_closes(
    classifier: IntentClassifier, text: str, lang: str
) -> None:
    assert classifier.classify(text, lang).intent == "goodbye"


@pytest.mark.parametrize(
    ("text", "lang"),
    [("thanks for everything, have a great day", "en"), ("gracias, nos vemos", "es")],
)
def test_thanks_and_a_goodbye_still_close(
    classifier: IntentClassifier, text: str, lang: str
) -> None:
    assert classifier.classify(text, lang).intent == "goodbye"


def test_the_head_is_heard_beside_a_greeting() -> None:
    greeting = IntentResult("greet", 1.0, "en", (("greet", 1.0),))
    ordered = replace(OPEN, evidence=frozenset({"cancel_order"}))  # an action word: "anular"
    routed = beside_greeting(greeting, guess("cancel_order", 0.9), ordered, Fusion())
    assert routed.ranked == (("cancel_order", 0.9), ("greet", 1.0))  # routes, and greets
    assert beside_greeting(greeting, guess("cancel_order", 0.6), ordered, Fusion()) == greeting
    assert beside_greeting(greeting, guess("cancel_order", 0.9), OPEN, Fusion()) == greeting
    opted = beside_greeting(greeting, guess("opt_out", 0.998), OPEN, Fusion())
    assert opted.ranked == (("opt_out", 0.998),)  # a close replaces the greeting
    # below `greeted` a close is neither acted on nor asked about ("oi, voltei")
    assert beside_greeting(greeting, guess("goodbye", 0.97), OPEN, Fusion()) == greeting
    assert beside_greeting(greeting, guess("goodbye", 0.999), OPEN, Fusion()) == greeting
    assert beside_greeting(greeting, guess("greet", 0.99), OPEN, Fusion()) == greeting
    guarded = replace(OPEN, question=True)  # "hi, can I cancel later?"
    assert beside_greeting(greeting, guess("cancel", 0.999), guarded, Fusion()) == greeting


@pytest.mark.parametrize(
    ("text", "lang", "intent"),
    [
        ("hola buenas, quisiera anular el pedido que hice ayer", "es", "cancel_order"),
        ("hi there, kindly stop messaging me with offers", "en", "opt_out"),
        ("hola, tengo una consulta sobre mi pedido", "es", "greet"),
        ("hi, i just got here", "en", "greet"),
    ],
)
def test_a_greeting_does_not_hide_what_follows_it(
    classifier: IntentClassifier, text: str, lang: str, intent: str
) -> None:
    assert classifier.classify(text, lang).intent == intent


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("that's all, but i still have a question about billing", "en"),
        ("eso es todo, pero tengo otra consulta", "es"),
        ("gracias por todo, aunque me queda una duda", "es"),
        ("eso sería todo, gracias. por cierto, ¿hacen envíos al interior?", "es"),  # new topic
    ],
)
def test_a_goodbye_that_turns_to_something_new_is_asked_about(
    classifier: IntentClassifier, text: str, lang: str
) -> None:
    # "but" / "pero" opens a clause with no close in it: whatever the head says
    result = classifier.classify(text, lang)
    assert (result.intent, result.confirm) == ("none", "goodbye")


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("hey good night, are you open tomorrow", "en"),  # a question after the goodbye
        ("gracias! una cosita más", "es"),  # a question announced
        ("thanks dear, one doubt is there", "en"),
        ("valeu, tchau! vcs abrem amanhã?", "pt"),
    ],
)
def test_a_goodbye_before_a_question_is_asked_about(
    classifier: IntentClassifier, text: str, lang: str
) -> None:
    # whatever the trained head says: a head sure of the goodbye is only asked about
    result = classifier.with_semantic(_SpyHead("goodbye")).classify(text, lang)  # type: ignore[arg-type]
    assert (result.intent, result.confirm) == ("none", "goodbye")
    assert classifier.classify(text, lang).intent == "none"  # the served head: never acted on


@pytest.mark.parametrize(
    ("text", "lang"),
    [("me dieron de baja sin avisar", "es"), ("ya me había dado de baja antes", "es")],
)
def test_an_opt_out_reported_in_the_past_is_none(
    classifier: IntentClassifier, text: str, lang: str
) -> None:
    # "dar de baja" in a past form of "dar" reports what happened
    result = classifier.classify(text, lang)
    assert result.intent == "none"
    assert result.confirm is None


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("my boss told me to unsubscribe from all this, can i keep the invoices", "en"),
        ("my son typed cancel by mistake", "en"),
        ("me dijeron que podía cancelar sin costo", "es"),
        ("o rapaz da loja falou pra eu cancelar aqui pelo zap", "pt"),
    ],
)
def test_what_someone_else_said_closes_nothing(
    classifier: IntentClassifier, text: str, lang: str
) -> None:
    # the head may still route it ("the shop told me to cancel here" is an order cancel to
    # the 36-set head), but neither closes nor asks about closing
    result = classifier.classify(text, lang)
    assert result.intent not in {"goodbye", "cancel", "opt_out"}
    assert result.confirm is None


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("could you cancel my lesson this arvo, thanks, bye", "en"),
        ("cancelame el turno del martes, gracias, chau", "es"),
        ("cancela a vistoria do carro, valeu, falou", "pt"),
    ],
)
def test_a_goodbye_beside_a_business_object_request_is_asked_about(
    classifier: IntentClassifier, text: str, lang: str
) -> None:
    # the request is about a booking: closing on the goodbye would drop it
    result = classifier.classify(text, lang)
    assert (result.intent, result.confirm) == ("none", "goodbye")


@pytest.mark.parametrize(
    ("text", "lang", "intent"),
    [
        ("no wait, stop, I meant size M", "en", "none"),  # stopping to correct an answer
        ("no espera, para, quise decir talla M", "es", "none"),
        ("não, para, quis dizer tamanho M", "pt", "none"),
        ("uy, me equivoqué, cancelá", "es", "cancel"),  # an apology alone corrects nothing
        ("stop, the zip is 10012 not 10021", "en", "none"),  # a number set against another
        ("stop, it's the 12th not the 21st", "en", "none"),  # ordinals, a determiner between
        ("para, es el 1º no el 2º", "es", "none"),
        ("para, para, el código postal es 11300, no 11200", "es", "none"),
        ("para, para, é 42 e não 44", "pt", "none"),
        ("cancelá, no quiero 2", "es", "cancel"),  # one number: nothing corrected
        # thanks for a request are no goodbye; thanks beside a few words of slang are
        ("my shift ends at 10pm so please come after that, cheers", "en", "none"),
        ("cheers, that's me done", "en", "goodbye"),
        ('perdón, mi nene mandó "chau" desde mi celu, sigo acá', "es", "none"),  # reported
        ('the message says "reply STOP to unsubscribe", is that free?', "en", "none"),  # quoted
    ],
)
def test_corrections_thanks_for_something_and_reported_goodbyes(
    classifier: IntentClassifier, text: str, lang: str, intent: str
) -> None:
    assert classifier.classify(text, lang).intent == intent  # (thanks for a request: asked about)


def test_a_greeting_below_its_threshold_opening_the_message_keeps_the_heads_goodbye_unheard(
    classifier: IntentClassifier,
) -> None:
    result = classifier.classify("holaa gracias por el seguimiento!!", "es")
    assert result.intent in ("none", "greet")  # a greeting, or nothing: no goodbye
    assert result.confirm is None


@pytest.mark.parametrize(
    ("text", "turned"),
    [
        ("me sirvió un montón. ahora contame de la garantía", True),
        ("me sirvió un montón. por cierto, ¿hacen envíos?", True),
        ("me sirvió un montón. ahora sí, chau", False),  # the later clause is a goodbye
        ("me sirvió un montón", False),
    ],
)
def test_a_later_clause_that_turns_to_something_new_is_found_without_a_lexicon_close(
    lexicon: IntentClassifier, text: str, turned: bool
) -> None:
    # what makes the head's own goodbye a question ("agora me explica a garantia")
    seen: Seen = []
    lexicon._lexicon(text, "es", False, None, seen)
    assert turns(seen[0][0], onward(seen[0], None, CLOSING)) is turned


@pytest.mark.parametrize(
    ("text", "lang", "intent"),
    [
        ("un momento porfa, ya te contesto", "es", "none"),  # the head read a goodbye
        ("estoy manejando, ahora te respondo", "es", "none"),
        ("gracias! ya vuelvo", "es", "none"),
        ("thanks, brb", "en", "none"),
        ("ok thank you, one sec", "en", "none"),
        ("hola, un segundo", "es", "greet"),  # the greeting still greets
        ("espera, mejor cancelá todo", "es", "cancel"),  # only a goodbye is no goodbye
        ("hold on, cancel the whole thing", "en", "cancel"),
    ],
)
def test_a_wait_is_no_goodbye(
    classifier: IntentClassifier, text: str, lang: str, intent: str
) -> None:
    result = classifier.classify(text, lang)
    assert (result.intent, result.confirm) == (intent, None)


@pytest.mark.parametrize(
    "text",
    [
        "calma aí, já volto",
        "tô dirigindo, já te respondo",
        "valeu, peraí que já volto",
        "deixa eu conferir o extrato aqui rapidinho",  # checking, then back
    ],
)
def test_a_wait_is_no_goodbye_in_portuguese(classifier: IntentClassifier, text: str) -> None:
    result = classifier.classify(text, "pt")
    assert (result.intent, result.confirm) == ("none", None)
    assert classifier.classify("valeu, tchau", "pt").intent == "goodbye"  # without a wait


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("isso mesmo, pode mandar", "pt"),  # the head read an opt-out
        ("perfeito, manda ver", "pt"),  # and a goodbye
        ("all correct, you can confirm", "en"),  # and asked about a goodbye
        ("sí, es correcto, confirmalo", "es"),
        ("isso, o de baixo", "pt"),  # choosing an option
        ("tá bom, pode ser no sábado", "pt"),
    ],
)
def test_a_go_ahead_is_no_close(classifier: IntentClassifier, text: str, lang: str) -> None:
    result = classifier.classify(text, lang)
    assert (result.intent, result.confirm) == ("none", None)


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("i don't want to continue", "en"),  # a negated go-ahead is none
        ("ok go ahead and cancel it", "en"),  # a close the lists find stands
        ("dale, cancelalo", "es"),
        ("não quero continuar", "pt"),
    ],
)
def test_a_close_beside_a_go_ahead_word_stands(
    classifier: IntentClassifier, text: str, lang: str
) -> None:
    assert classifier.classify(text, lang).intent == "cancel"


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("no more queries from me, cheers", "en"),
        ("I don't have any other questions", "en"),
        ("ya no me quedan dudas, mil gracias", "es"),
        ("listo, no le quito más tiempo", "es"),
        ("gracias, pero chau", "es"),  # the clause after "pero" is a goodbye itself
    ],
)
def test_no_more_questions_is_a_goodbye(classifier: IntentClassifier, text: str, lang: str) -> None:
    assert classifier.with_semantic(None).classify(text, lang).intent == "goodbye"


def test_a_lexicon_close_the_head_rates_another_intent_is_asked_about() -> None:
    close = IntentResult("goodbye", 0.77, "en", (("goodbye", 0.77),))  # "hey, good to see you"
    asked = doubt(close, guess("greet", 0.95), Fusion())
    assert (asked.intent, asked.confirm) == ("none", "goodbye")
    assert doubt(close, guess("greet", 0.6), Fusion()) == close
    assert doubt(close, guess("cancel", 0.9), Fusion()) == close  # another close: kept,
    assert doubt(close, guess("cancel", 0.99), Fusion()).intent == "cancel"  # unless sure
    authors = frozenset({"goodbye", "cancel", "opt_out", "end_survey"})  # a flow's own close
    assert doubt(close, guess("end_survey", 0.99), Fusion(), closing=authors) == close
    assert doubt(close, guess("end_survey", 0.99), Fusion()).confirm == "goodbye"


def test_the_head_learns_what_a_linear_map_cannot() -> None:
    # Exclusive or: "not" + "stop" and "go on" alone are one label, both or neither the other.
    rng = np.random.default_rng(0)
    corners = np.array([[1, 0], [0, 1], [1, 1], [0, 0]], dtype=np.float32)
    labels = ["cancel", "cancel", "none", "none"]
    points = np.repeat(corners, 50, axis=0) + rng.normal(0, 0.05, (200, 2)).astype(np.float32)
    head = IntentHead.train(points, [labels[i // 50] for i in range(200)])
    best = head.probabilities(corners).argmax(axis=1)
    assert [head.labels[i] for i in best] == labels


def test_the_head_is_the_mean_of_its_networks(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(60, 8)).astype(np.float32)
    labels = ["a", "b", "c"] * 20
    head = IntentHead.train(vectors, labels, settings=TrainingSettings(members=3, epochs=5))
    alone = [
        IntentHead.train(vectors, labels, settings=TrainingSettings(members=1, epochs=5, seed=k))
        for k in range(3)
    ]
    mean = sum(one.probabilities(vectors) for one in alone) / 3
    np.testing.assert_allclose(head.probabilities(vectors), mean, atol=1e-5)
    head.save(tmp_path / "head.npz")
    again = IntentHead.load(tmp_path / "head.npz")
    np.testing.assert_array_equal(again.probabilities(vectors), head.probabilities(vectors))


def test_an_unsure_close_of_the_lexicon_is_settled_by_the_head() -> None:
    unsure = IntentResult("none", 0.6, "en", confirm="cancel")
    assert fuse(unsure, guess("cancel", 0.7), OPEN, Fusion()).intent == "cancel"
    assert fuse(unsure, guess("goodbye", 0.9), OPEN, Fusion()) == unsure
    # the head's other close, sure from ``switch``: the message closes as the head says
    assert fuse(unsure, guess("goodbye", 0.99), OPEN, Fusion()).intent == "goodbye"


def test_a_third_language_works_from_its_examples_alone(tmp_path: Path) -> None:
    examples = [
        Example("tchau", "goodbye"),
        Example("até logo", "goodbye"),
        Example("cancelar tudo", "cancel"),
        Example("esquece isso", "cancel"),
        Example("olá", "greet"),
        Example("parada de ônibus", "none"),
    ]
    model = SemanticModel.build(examples, cache_dir=tmp_path)
    assert model.guess("até mais, tchau!").intent == "goodbye"
    assert model.guess("esquece tudo isso").intent == "cancel"


def test_the_trained_head_is_cached_by_the_examples_hash(tmp_path: Path) -> None:
    examples = [Example("bye", "goodbye"), Example("cancel", "cancel")]
    first = SemanticModel.build(examples, cache_dir=tmp_path)
    [cached] = tmp_path.glob("semantic-head-*.npz")

    class NoEncoding(SentenceEncoder):
        def encode(self, texts):  # type: ignore[no-untyped-def]
            raise AssertionError("the cache should have been read")

    second = SemanticModel.build(examples, NoEncoding(tmp_path), cache_dir=tmp_path)
    assert np.array_equal(first.head.weights, second.head.weights)
    changed = SemanticModel.build([*examples, Example("hi", "greet")], cache_dir=tmp_path)
    assert len(list(tmp_path.glob("semantic-head-*.npz"))) == 2
    assert changed.labels == ("cancel", "goodbye", "greet")
    weighted = SemanticModel.build(
        [examples[0], Example("cancel", "cancel", 3.0)], cache_dir=tmp_path
    )
    assert len(list(tmp_path.glob("semantic-head-*.npz"))) == 3  # weights are part of the key
    assert weighted.labels == first.labels
    assert cached.exists()


def test_the_head_trains_on_the_tuning_sets_and_never_on_a_held_out_set() -> None:
    training = load_settings(REPO / "config.yaml", {}).intents_training
    assert {path.name for path in training} >= {"dev.jsonl", "dev2.jsonl", "dev3.jsonl"}
    assert not [path for path in training if "holdout" in path.name]
    assert all(path.is_file() for path in training)


def test_the_encoder_maps_its_piece_table_instead_of_holding_it(tmp_path: Path) -> None:
    encoder = SentenceEncoder(tmp_path)
    vectors = encoder.encode(["hola", "hello"])
    assert vectors.shape == (2, 512)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)
    assert isinstance(encoder.load().table, np.memmap)
    assert float(vectors[0] @ vectors[1]) > 0.6  # the same greeting in two languages


def test_the_encoder_reads_a_bounded_normalized_text() -> None:
    assert encoder_text("  HOLAAAA   Gente ") == "holaa gente"
    assert len(encoder_text("bla " * 100_000)) <= 160
    assert len(encoder_text("bla " * 100_000).split()) <= MAX_WORDS
    assert encoder_text("Cancel!!") == encoder_text("cancel!!")


@pytest.mark.parametrize("text", ["+54 9 351 555 1234", "!!!???...", "😀😀😀 👍", "12/05 18:30hs"])
def test_a_text_mostly_without_letters_is_not_encoded(text: str) -> None:
    assert encoder_text(text) == ""


def test_the_encoder_reads_at_most_max_pieces_and_matches_the_batch_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.intents import encoder as encoder_module

    encoder = SentenceEncoder(tmp_path)
    short = "por favor cancelá todo esto"
    assert np.allclose(encoder.encode_one(short), encoder.encode([short])[0], atol=1e-5)
    seen: list[int] = []
    forward = encoder_module._forward

    def spy(backend, rows):  # type: ignore[no-untyped-def]
        seen.append(rows.shape[0])
        return forward(backend, rows)

    monkeypatch.setattr(encoder_module, "_forward", spy)
    rare = " ".join(f"qzx{n}ñw" for n in range(200))
    vector = encoder.encode_one(encoder_text(rare))
    assert seen == [encoder_module.MAX_PIECES]
    assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-3


def test_the_piece_cache_forgets_old_pieces_without_losing_a_texts_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a long-running process meets more pieces than the cache holds: the text's start and
    # end pieces, cached first, are the oldest when new pieces overflow it
    from bot.intents import encoder as encoder_module

    monkeypatch.setattr(encoder_module, "PIECE_CACHE", 8)
    encoder = SentenceEncoder(tmp_path)
    fresh = SentenceEncoder(tmp_path)
    texts = ["hola", "quiero cancelar mi pedido de ayer", "thanks a lot, bye for now", "hola"]
    for text in texts:
        vector = encoder.encode_one(text)
        assert np.allclose(vector, fresh.encode([text])[0], atol=1e-5)
    assert len(encoder._piece_cache) <= 8


def test_a_missing_training_set_is_skipped_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    examples = [Example("bye", "goodbye"), Example("cancel", "cancel"), Example("hi", "greet")]
    missing = tmp_path / "gone.jsonl"
    with caplog.at_level("INFO", logger="bot.intents.examples"):
        classifier = IntentClassifier.from_directory(
            INTENTS,
            LANGUAGES,
            learned=True,
            training=examples,
            training_sets=[missing],
            cache_dir=tmp_path,
        )
    assert f"intent training set {missing} not found: skipped" in caplog.text
    assert classifier.classify("hola", "es").intent == "greet"


def test_labelled_messages_train_the_head_beside_the_files(tmp_path: Path) -> None:
    labelled = tmp_path / "tuning.jsonl"
    labelled.write_text('{"text": "zorblax", "intent": "greet", "lang": "en"}\n', encoding="utf-8")
    examples = [Example("bye", "goodbye"), Example("cancel", "cancel"), Example("hi", "greet")]
    classifier = IntentClassifier.from_directory(
        INTENTS,
        LANGUAGES,
        learned=True,
        training=examples,
        training_sets=[labelled],
        cache_dir=tmp_path,
    )
    without = IntentClassifier.from_directory(
        INTENTS, LANGUAGES, learned=True, training=examples, cache_dir=tmp_path
    )
    assert classifier._learned is not None and without._learned is not None
    trained, plain = classifier._learned.guess("zorblax"), without._learned.guess("zorblax")
    assert trained.intent == "greet"
    assert (plain.intent, plain.probability) != (trained.intent, trained.probability)


class _Spy:
    """Counts the texts a semantic model is asked about."""

    def __init__(self, model: SemanticModel) -> None:
        self.model = model
        self.texts: list[str] = []

    def guess(self, text: str) -> Guess:
        self.texts.append(text)
        return self.model.guess(text)


@pytest.mark.parametrize(
    ("text", "asked"),
    [
        ("soy Martín", False),  # a slot answer: a name
        ("mi mail es ana@empresa.com", False),  # an address
        ("gracias", False),  # all fillers
        ("¿puedo cancelar después?", False),  # a question vetoed a close
        ("bye", False),  # the lexicon is sure
        ("scrap the entire thing", True),  # the lexicon acted on nothing
        ("how has your week been going?", True),  # a question without closing words
        ("I need to cancel the session on Thursday", True),  # a close among other words
    ],
)
def test_the_encoder_runs_only_where_the_head_may_be_heard(
    classifier: IntentClassifier, text: str, asked: bool
) -> None:
    assert classifier._learned is not None
    spy = _Spy(classifier._learned)
    twin = classifier.with_semantic(spy)  # type: ignore[arg-type]
    twin.classify(text, "es" if "ñ" in text or "¿" in text or "soy" in text else "en")
    assert bool(spy.texts) is asked


def test_a_negated_opt_out_is_understood_and_a_negated_contrast_is_not(
    lexicon: IntentClassifier, classifier: IntentClassifier
) -> None:
    # "ya no" right before a sending verb: the lexicon reads it too (round 23)
    assert lexicon.classify("ya no me escriban a este número", "es").intent == "opt_out"
    assert classifier.classify("ya no me escriban a este número", "es").intent == "opt_out"
    for text, lang in [("no, no me des de baja", "es"), ("no, don't unsubscribe me", "en")]:
        result = classifier.classify(text, lang)
        assert (result.intent, result.confirm) == ("none", None)


@pytest.mark.parametrize(
    ("text", "lang"),
    [("pedido", "es"), ("mi pedido", "es"), ("el pedido de ayer", "es"), ("my order", "en")],
)
def test_naming_an_order_is_not_cancelling_it(
    classifier: IntentClassifier, text: str, lang: str
) -> None:
    """The head links order nouns to ``cancel_order``; it may route there only when one of
    the intent's action words ("cancel", "void", "anular") is in the message ("pedido" is the
    order flow's keyword)."""
    assert classifier.classify(text, lang).intent == "none"


def test_a_close_among_words_the_lexicon_does_not_explain_may_be_the_heads_other_close() -> None:
    fusion = Fusion()
    goodbye = IntentResult("goodbye", 1.0, "pt", (("goodbye", 1.0),))
    cancel = IntentResult("cancel", 1.0, "pt", (("cancel", 1.0),))
    assert (
        switched(goodbye, guess("cancel", 0.97), fusion).intent == "cancel"
    )  # "cansei, vou embora"
    assert switched(cancel, guess("goodbye", 0.99), fusion).intent == "goodbye"
    assert switched(cancel, guess("opt_out", 0.96), fusion).intent == "opt_out"
    assert switched(goodbye, guess("cancel", 0.9), fusion) == goodbye  # not sure enough
    assert switched(goodbye, guess("opt_out", 1.0), fusion) == goodbye  # no goodbye opts out
    assert switched(cancel, guess("none", 1.0), fusion) == cancel


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Many thanks for your patience. That will be all for today. Kind regards, R. Patel", "en"),
        ("Muchas gracias por todo, eso sería todo. Saludos, J. M. Pérez", "es"),
    ],
)
def test_a_signature_with_initials_is_no_question(
    classifier: IntentClassifier, text: str, lang: str
) -> None:
    # "R." was read as the chat shorthand "r" (are), a question opener after the goodbye
    assert classifier.classify(text, lang).intent == "goodbye"


@pytest.mark.parametrize(
    ("text", "lang", "intent"),
    [
        ("tchau e obrigado", "pt", "goodbye"),  # "e" (and) was read as "é" (is)
        ("tem mais alguma coisa que eu precise saber?", "pt", "none"),  # "té mais" by lemma
        ("valeu, tchau e até amanhã", "pt", "goodbye"),
        ("tchau é com ch ou x?", "pt", "none"),  # the word talked about
        ("cancelar é fácil?", "pt", "none"),
    ],
)
def test_and_is_not_is_in_portuguese(
    classifier: IntentClassifier, text: str, lang: str, intent: str
) -> None:
    assert classifier.classify(text, lang).intent == intent


@pytest.mark.parametrize(
    ("text", "lang"),
    [("no no that's everything thanks", "en"), ("não não, era só isso, valeu", "pt")],
)
def test_a_run_of_answer_words_before_a_goodbye_negates_nothing(
    classifier: IntentClassifier, text: str, lang: str
) -> None:
    # "no no" answers "anything else?": the goodbye's veto silenced the head too
    assert classifier.classify(text, lang).intent == "goodbye"


class _SpyHead:
    """A semantic layer that records what reaches it and always names ``intent``."""

    def __init__(self, intent: str) -> None:
        self.intent = intent
        self.asked: list[str] = []

    def guess(self, text: str) -> Guess:
        self.asked.append(text)
        return Guess(self.intent, 1.0, len(text.split()))


@pytest.mark.parametrize(
    ("text", "lang", "asked", "intent"),
    [
        ("no, no, cancelá", "es", False, "cancel"),  # negations only: no encoder
        ("pará, pará", "es", False, "cancel"),
        ("nah forget it, this is going nowhere", "en", True, "goodbye"),  # the head's close
    ],
)
def test_a_sure_close_asks_the_head_which_close_only_beside_a_word_that_says_more(
    classifier: IntentClassifier, text: str, lang: str, asked: bool, intent: str
) -> None:
    spy = _SpyHead("goodbye")
    result = classifier.with_semantic(spy).classify(text, lang)  # type: ignore[arg-type]
    assert bool(spy.asked) is asked
    assert result.intent == intent


@pytest.mark.parametrize(
    ("text", "lang", "intent"),
    [
        # A closing word read as a noun or mentioned closes nothing, but the head still hears
        # the rest.
        ("all sorted on my end, thanks again", "en", "goodbye"),
        ("I've sent STOP three times and you keep texting me", "en", "goodbye"),
        ("tudo resolvido do meu lado, uma boa tarde pra você", "pt", "goodbye"),
        # A negation, a question or a condition still silences it.
        ("don't end the chat yet", "en", "none"),
        ("should I end the chat?", "en", "none"),
    ],
)
def test_a_noun_vetoed_leaves_the_message_to_the_head(
    classifier: IntentClassifier, text: str, lang: str, intent: str
) -> None:
    spy = _SpyHead("goodbye")
    result = classifier.with_semantic(spy).classify(text, lang)  # type: ignore[arg-type]
    assert result.intent == intent


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("ya te hice el SINPE, revisá porfa", "es"),
        ("i said bye earlier by mistake lol, still need help", "en"),
        ("o boleto não chegou, me ajuda", "pt"),
    ],
)
def test_a_request_for_help_is_no_close_whatever_the_head_says(
    classifier: IntentClassifier, text: str, lang: str
) -> None:
    result = classifier.with_semantic(_SpyHead("goodbye")).classify(text, lang)  # type: ignore[arg-type]
    assert (result.intent, result.confirm) == ("none", None)


@pytest.mark.parametrize(
    ("text", "lang", "intent"),
    [
        # A business object beside the messages it sends: the head's opt-out is heard.
        ("gostaria de não receber mais mensagens da academia", "pt", "opt_out"),
        ("ya no quiero recibir recordatorios de la clínica dental", "es", "opt_out"),
        # A business object alone: a business cancel, never an opt-out.
        ("please end my gym membership at the end of the month", "en", "none"),
    ],
)
def test_an_opt_out_beside_a_business_object_needs_the_messages_named(
    classifier: IntentClassifier, text: str, lang: str, intent: str
) -> None:
    result = classifier.with_semantic(_SpyHead("opt_out")).classify(text, lang)  # type: ignore[arg-type]
    assert result.intent == intent


class _SureHead:
    """A semantic layer that names ``intent`` with ``probability`` whatever the text."""

    def __init__(self, intent: str, probability: float) -> None:
        self.intent = intent
        self.probability = probability

    def guess(self, text: str) -> Guess:
        return Guess(self.intent, self.probability, len(text.split()))


def test_the_head_agreeing_with_a_partial_phrase_acts_below_its_close_probability() -> None:
    partial = replace(OPEN, partial=frozenset({"opt_out"}))
    fusion = Fusion()
    agreed = guess("opt_out", fusion.agreed)
    below = guess("opt_out", fusion.agreed - 0.01)

    assert fuse(NOTHING, agreed, partial, fusion).intent == "opt_out"
    assert fuse(NOTHING, below, partial, fusion).intent == "none"
    assert fuse(NOTHING, agreed, OPEN, fusion).intent == "none"  # no phrase found: 0.95
    assert fuse(NOTHING, guess("cancel", 0.9), partial, fusion).intent != "cancel"


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("descadastra meu zap daí", "opt_out"),  # 'descadastra' explains part of it
        ("vi que vocês mandam muita coisa pelo zap", "none"),  # no opt-out phrase at all
    ],
)
def test_a_partial_opt_out_phrase_and_the_head_together_opt_out(
    classifier: IntentClassifier, text: str, intent: str
) -> None:
    head = _SureHead("opt_out", 0.85)
    result = classifier.with_semantic(head).classify(text, "pt")  # type: ignore[arg-type]
    assert result.intent == intent


def test_a_close_the_lexicon_asks_about_becomes_the_head_s_other_close_when_it_is_sure() -> None:
    asked = IntentResult("none", 0.57, "en", confirm="goodbye")  # "i'm gonna bounce, ..."
    fusion = Fusion()

    assert fuse(asked, guess("cancel", fusion.switch), OPEN, fusion).intent == "cancel"
    assert fuse(asked, guess("cancel", fusion.switch - 0.01), OPEN, fusion) == asked
    cautious = replace(OPEN, cautious=True)
    assert fuse(asked, guess("cancel", 1.0), cautious, fusion) == asked
    question = replace(OPEN, question=True)
    assert fuse(asked, guess("cancel", 1.0), question, fusion) == asked
    assert fuse(asked, guess("request_trial", 1.0), OPEN, fusion) == asked  # closes only


@pytest.mark.parametrize(
    ("text", "lang", "heard", "intent", "confirm"),
    [
        # a cancel only the head hears beside a wait is asked about...
        ("pera, falta coisa", "pt", "cancel", "none", "cancel"),
        ("hold on, something's missing", "en", "cancel", "none", "cancel"),
        ("pera, cancela tudo", "pt", "cancel", "cancel", None),  # ...the lexicon's stands
        # a goodbye after a statement about an object: nothing about it is asked for
        ("gracias 🙏 ya quedó la cita, nos vemos el martes", "es", "goodbye", "goodbye", None),
        # a goodbye after a request about one: thanks for the request, asked about
        ("cancelame el turno del martes, gracias, chau", "es", "goodbye", "none", "goodbye"),
        ("could you cancel my lesson this arvo, thanks, bye", "en", "goodbye", "none", "goodbye"),
    ],
)
def test_a_close_is_asked_about_where_the_message_leaves_it_in_doubt(
    classifier: IntentClassifier, text: str, lang: str, heard: str, intent: str, confirm: str | None
) -> None:
    result = classifier.with_semantic(_SpyHead(heard)).classify(text, lang)  # type: ignore[arg-type]
    assert (result.intent, result.confirm) == (intent, confirm)


@pytest.mark.parametrize(
    ("text", "intent", "confirm"),
    [
        # "will" before a verb says what the user will do: the goodbye stands
        ("thank you so much, will contact again if needed. bye", "goodbye", None),
        ("ok bye, will revert if any issue", "goodbye", None),
        # before its subject it asks: the goodbye turns to a question and is asked about
        ("thanks, bye. will you send the invoice", "none", "goodbye"),
        ("bye for now, would the courier come tomorrow", "none", "goodbye"),
        ("ok bye, will John be there tomorrow", "none", "goodbye"),  # a name is a subject
    ],
)
def test_will_before_a_verb_says_and_before_a_subject_asks(
    classifier: IntentClassifier, text: str, intent: str, confirm: str | None
) -> None:
    result = classifier.with_semantic(_SpyHead("goodbye")).classify(text, "en")  # type: ignore[arg-type]
    assert (result.intent, result.confirm) == (intent, confirm)


ROUND_11 = [
    # (text, lang, the head's intent and probability, the answer and its question)
    # a tag after a statement asks for assent, not about it
    ("nada de mandar mais promoção pra esse número, ok?", "pt", "opt_out", 1.0, "opt_out", None),
    ("stop sending me the promos, right?", "en", "opt_out", 1.0, "opt_out", None),
    ("ya no me manden más ofertas, ¿sí?", "es", "opt_out", 1.0, "opt_out", None),
    ("¿siguen mandando promos los sábados?", "es", "opt_out", 1.0, "none", None),
    ("¿ok? ¿me siguen mandando promos?", "es", "opt_out", 1.0, "none", None),
    # another language's misspelling ("free" as es "frene") vetoed in a question
    ("can i try the coworking for a day free?", "en", "request_trial", 1.0, "request_trial", None),
    ("is the first clean free?", "en", "request_trial", 1.0, "request_trial", None),
    ("can i cancell it later?", "en", "cancel", 1.0, "none", None),  # its own language's
    # the message's own language tells a request from a question
    ("¿me haces el favor de parar esto?", "es", "cancel", 0.97, "cancel", None),
    ("¿sería posible detener el registro?", "es", "cancel", 0.97, "cancel", None),
    ("¿lo podemos cortar acá?", "es", "cancel", 0.97, "cancel", None),
    ("¿y si paro acá qué pasa con mis datos?", "es", "cancel", 0.97, "none", None),
    ("is there a way to just end this?", "en", "cancel", 0.99, "cancel", None),
    ("será que a gente pode deixar pra lá?", "pt", "cancel", 0.99, "cancel", None),
    (
        "O senhor poderia interromper esse procedimento, por obséquio?",
        "pt",
        "cancel",
        0.99,
        "cancel",
        None,
    ),
    ("is it possible to cancel afterwards?", "en", "cancel", 0.99, "none", None),  # policy
    ("¿se puede cancelar en cualquier momento?", "es", "cancel", 0.99, "none", None),
    # asking to go on is no close
    ("mi nieto cerró el chat sin querer, ¿podemos seguir?", "es", "cancel", 0.97, "none", None),
    ("sorry, wrong button. can we continue?", "en", "cancel", 0.97, "none", None),
    ("apertei errado, a gente pode seguir?", "pt", "cancel", 0.97, "none", None),
    # an order cancel on evidence of one: its own phrase in part, a stop about an order
    ("i want to call off my order", "en", "cancel_order", 0.97, "cancel_order", None),
    ("larga mão desse pedido aí", "pt", "cancel_order", 0.97, "cancel_order", None),
    ("no me manden el pedido, ya no lo quiero", "es", "cancel_order", 0.97, "cancel_order", None),
    ("el pedido de ayer llegó frío", "es", "cancel_order", 0.97, "none", None),
    ("where's my order? it's been an hour", "en", "cancel_order", 0.97, "none", None),
    # a goodbye before where the user will meet the business
    ("see you at the show!", "en", "goodbye", 0.99, "goodbye", None),
    ("gracias, nos vemos en la mudanza", "es", "goodbye", 0.99, "goodbye", None),
    ("that's all for the booking", "en", "goodbye", 0.99, "none", None),
    # a phrase the lexicon scored below its threshold: the head may agree
    ("ativa o teste pra mim", "pt", "request_trial", 0.99, "request_trial", None),
    ("STOP mensagens", "pt", "opt_out", 0.99, "opt_out", None),
    ("ok", "es", "goodbye", 0.99, "none", None),  # fillers only: not asked
    ("dale, perfecto", "es", "goodbye", 0.99, "none", None),
    ("oxe, tem teste gratuito não?", "pt", "request_trial", 0.99, "request_trial", None),  # tag
    ("não quero teste não", "pt", "request_trial", 0.99, "none", None),
    # thanks the lexicon explains with fillers alone end nothing, whatever the head says
    # (round 25: bare thanks are none; a farewell or "that's all" beside them closes)
    ("got it got it, thanks", "en", "goodbye", 0.99, "none", None),
    ("listo parce, muchas gracias", "es", "goodbye", 0.97, "none", None),
    ("ok thank you", "en", "goodbye", 0.99, "none", None),
    ("gracias", "es", "none", 0.99, "none", None),  # a bare thanks stays none
]
"""Round 11's rules on what the message's own words say, each with a head that names
``intent`` at ``p`` whatever the text (docs/intents.md, "Round 11")."""


ROUND_12 = [
    # (text, lang, the head's intent and probability, the answer and its question)
    # a goodbye the head names is acted on from Fusion.farewell, a cancel asked about
    ("o gás chegou, obrigado", "pt", "goodbye", 0.85, "goodbye", None),
    # ...but thanks beside one word at most only from Fusion.close (round 25): asked below
    ("tá joia, brigado", "pt", "goodbye", 0.85, "none", "goodbye"),
    ("tá joia, brigado", "pt", "goodbye", 0.97, "goodbye", None),
    ("tidy, thank you", "en", "goodbye", 0.9, "none", "goodbye"),
    ("please stand down, I've handled it", "en", "cancel", 0.85, "none", "cancel"),
    ("ok signing off", "en", "goodbye", 0.75, "none", None),
    ("ok signing off", "en", "goodbye", 0.85, "goodbye", None),
    # after a greeting, a close the head names from Fusion.greeted (0.9) replaces it
    ("morning, please stop the promo texts", "en", "opt_out", 0.96, "opt_out", None),
    # (below it, the greeting before a request about a business object is none, round 29)
    ("morning, please stop the promo texts", "en", "opt_out", 0.85, "none", None),
    # a close after a subordinator is the background: the head may name what is asked
    (
        "before i cancel my plan, can i try yours for free?",
        "en",
        "request_trial",
        0.9,
        "request_trial",
        None,
    ),
    ("before i cancel my plan, can i try yours for free?", "en", "cancel", 0.99, "none", None),
]
"""Round 12's rules where the head is heard (docs/intents.md, "Round 12")."""

ROUND_13 = [
    # a cancel followed by an object no phrase explains is asked about, even when the head
    # is sure of the cancel ("cancela o recolhimento do tapete"); after a possessive it is
    # the user's own thing, none like a listed object (round 29): "cancel my photo shoot"
    ("cancel my photo shoot", "en", "cancel", 0.99, "none", None),
    ("cancela o recolhimento do tapete", "pt", "cancel", 0.99, "none", "cancel"),
    ("cancelá el afinado del piano", "es", "cancel", 0.99, "none", "cancel"),
    # ...routed when the head is sure of the order cancel...
    ("cancela o gás que pedi agora há pouco", "pt", "cancel_order", 0.99, "cancel_order", None),
    # ...while the chat's own process, or one pointed at, is cancelled
    ("cancel my registration", "en", "cancel", 0.99, "cancel", None),
    ("cancela essa parada aí, mano", "pt", "cancel", 0.99, "cancel", None),
    ("cancela a operação", "pt", "cancel", 0.99, "cancel", None),
    ("cancel the whole lot", "en", "cancel", 0.99, "cancel", None),
    # a goodbye taken back by an afterthought (contrasts) is asked about, whatever the head
    ("ok adiós, ah no perdón, me falta el número", "es", "goodbye", 0.99, "none", "goodbye"),
    ("obrigado, tchau! quer dizer, ainda falta o boleto", "pt", "goodbye", 0.99, "none", "goodbye"),
    ("bye! oh wait, i still need the receipt", "en", "goodbye", 0.99, "none", "goodbye"),
]
"""Round 13's rules where the head is heard (docs/intents.md, "Round 13")."""

ROUND_14 = [
    # a goodbye beside an instruction to the business is asked about, whatever the head
    ("dejala en la puerta del edificio, gracias!", "es", "goodbye", 0.99, "none", "goodbye"),
    ("pop it through the letterbox, thanks, bye", "en", "goodbye", 0.99, "none", "goodbye"),
    # ...while a goodbye after what the business did still closes
    ("the courier left it with security, cheers", "en", "goodbye", 0.99, "goodbye", None),
]
"""Round 14's rules where the head is heard (docs/intents.md, "Round 14")."""

ROUND_15 = [
    # an article that is written like a pronoun ("la", "os") introduces a business object
    ("cancelá las chispas de la torta, mi hija es alérgica", "es", "cancel", 0.7, "none", "cancel"),
    ("cancela os passeios da semana que vem", "pt", "cancel", 0.7, "none", "cancel"),
    # ...but before a word the file knows it stays a pronoun: "ya no lo quiero" gives up
    ("vos olvidate, ya no lo quiero", "es", "cancel", 0.7, "cancel", None),
    # what the user ordered is a business object ("que pedí", "que eu pedi": the file's
    # business_objects and cancel_order's objects): the order cancel, whatever the head...
    ("ya no quiero lo que pedí, cancélenlo", "es", "cancel", 0.99, "cancel_order", None),
    ("não manda mais o galão que eu pedi, cancela", "pt", "cancel", 0.99, "cancel_order", None),
    ("the cake i ordered, cancel it", "en", "none", 0.99, "cancel_order", None),
    # ...while what the user asked the bot for, or did not order, is no order
    ("olvidá lo que te pedí, cancelá", "es", "cancel", 0.99, "cancel", None),
    ("eu não pedi nada, cancela isso", "pt", "cancel", 0.99, "cancel", None),
]
"""Round 15's rules where the head is heard (docs/intents.md, "Round 15")."""

ROUND_16 = [
    # a cancel the lexicon is not sure of, followed by a question, makes way for the
    # question: asked about, however sure the head
    ("olvidate de la lija gruesa, ¿tenés fina?", "es", "cancel", 0.99, "none", "cancel"),
    (
        "desisto de entender essa tabela do IR kkk, me explica?",
        "pt",
        "cancel",
        0.99,
        "none",
        "cancel",
    ),
    (
        "i want to quit sugar, do you stock sugar-free cough syrup",
        "en",
        "cancel",
        0.99,
        "none",
        "cancel",
    ),
    # a question word negated before a verb opens no question ("do" in "don't"): the head
    # is heard...
    ("thanks, dont need anything else", "en", "goodbye", 0.99, "goodbye", None),
    ("don't continue", "en", "cancel", 0.99, "cancel", None),
    # ...before a pronoun it still opens a question about cancelling
    ("don't you think we should cancel", "en", "cancel", 0.99, "none", None),
    # ...a polite request that ends with a courtesy is no new question
    (
        "O senhor poderia interromper esse procedimento, por obséquio?",
        "pt",
        "cancel",
        0.99,
        "cancel",
        None,
    ),
]
"""Round 16's rules where the head is heard (docs/intents.md, "Round 16")."""


@pytest.mark.parametrize(
    ("text", "lang", "head", "p", "intent", "confirm"),
    ROUND_11 + ROUND_12 + ROUND_13 + ROUND_14 + ROUND_15 + ROUND_16,
)
def test_what_the_messages_own_words_say(
    classifier: IntentClassifier,
    text: str,
    lang: str,
    head: str,
    p: float,
    intent: str,
    confirm: str | None,
) -> None:
    result = classifier.with_semantic(_SureHead(head, p)).classify(text, lang)  # type: ignore[arg-type]
    assert (result.intent, result.confirm) == (intent, confirm)


@pytest.mark.parametrize(
    ("text", "lang", "intent", "confirm"),
    [
        # without a head, a cancel the lexicon is unsure of, followed by a business object
        # it does not know, is asked about as the head's path asks about it (after a
        # possessive it is the user's own thing, none: "cancel my photo shoot")...
        ("cancel my photo shoot", "en", "none", None),
        ("cancel the photo shoot", "en", "none", "cancel"),
        ("cancelá el afinado del piano", "es", "none", "cancel"),
        # ...and what the user ordered is a business object of the order cancel
        ("la pizza que pedí, cancelen", "es", "cancel_order", None),
        # ...while the chat's own process (a sure phrase) or the whole of it still closes
        ("cancel my registration", "en", "cancel", None),
        ("stop the sign-up", "en", "cancel", None),
        ("cancel the whole lot", "en", "cancel", None),
    ],
)
def test_a_business_object_is_asked_about_without_a_head(
    lexicon: IntentClassifier, text: str, lang: str, intent: str, confirm: str | None
) -> None:
    result = lexicon.classify(text, lang)
    assert (result.intent, result.confirm) == (intent, confirm)


class _StoryHead:
    """Rates a long text ``none`` and a short one ``intent``: a head that hears the story,
    not the goodbye at its end."""

    def __init__(self, intent: str) -> None:
        self.intent = intent
        self.asked: list[str] = []

    def guess(self, text: str) -> Guess:
        self.asked.append(text)
        words = len(text.split())
        return Guess("none" if words > 8 else self.intent, 0.99, words)


@pytest.mark.parametrize(
    ("text", "lang", "intent", "confirm"),
    [
        (
            "resulta que el auto tenía el tanque lleno y yo pensando que me iban a cobrar, "
            "así que todo perfecto, muchas gracias y hasta luego",
            "es",
            "goodbye",
            None,
        ),
        (
            "ok so the electrician came and fixed the breaker in ten minutes, turns out it "
            "was a loose wire. see you in the spring",
            "en",
            "goodbye",
            None,
        ),
    ],
)
def test_a_close_said_at_the_end_of_a_story_is_heard_apart(
    classifier: IntentClassifier, text: str, lang: str, intent: str, confirm: str | None
) -> None:
    head = _StoryHead("goodbye")
    result = classifier.with_semantic(head).classify(text, lang)  # type: ignore[arg-type]
    assert (result.intent, result.confirm) == (intent, confirm)
    assert len(head.asked) == 2  # the whole message, then its last clause
    # a head that hears no goodbye at the end either: asked about, as before
    unsure = classifier.with_semantic(_StoryHead("none")).classify(text, lang)  # type: ignore[arg-type]
    assert (unsure.intent, unsure.confirm) == ("none", "goodbye")


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("I'd like to order a pizza", "en"),
        ("quiero hacer un pedido", "es"),
        ("my order is late", "en"),
    ],
)
def test_a_sure_head_never_routes_a_named_order_to_its_cancel_without_an_action_word(
    classifier: IntentClassifier, text: str, lang: str
) -> None:
    """A head trained on the intent files alone (a deployment without labelled sets) names
    ``cancel_order`` for "I'd like to order a pizza" with 0.95 and more: only an action word
    of the intent, or a stop vetoed beside its object, lets it route (round 23 tried an
    order named after a clause's first word as enough; the order flow's end-to-end test
    caught it)."""
    spy = _SpyHead("cancel_order")
    assert classifier.with_semantic(spy).classify(text, lang).intent == "none"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("no frenes, está buenísimo", "es"),
        ("no, ni loco pares, justo eso quería saber", "es"),
        ("não para não irmão, tá indo bem", "pt"),
    ],
)
def test_a_stop_said_negated_keeps_a_sure_heads_close_unheard(
    trilingual: IntentClassifier, text: str, lang: str
) -> None:
    """The head does not read negation (round 27): "don't stop" is no close however sure
    it is (no phrase of the lexicon is negated there, so it does not veto the head; the
    English files' phrases cover "don't stop", whose veto keeps the head unheard)."""
    sure = trilingual.with_semantic(_SpyHead("cancel"))  # type: ignore[arg-type]
    result = sure.classify(text, lang)
    assert (result.intent, result.confirm) == ("none", None)


def test_giving_up_said_negated_still_closes_beside_a_sure_head(
    trilingual: IntentClassifier,
) -> None:
    sure = trilingual.with_semantic(_SpyHead("cancel"))  # type: ignore[arg-type]
    assert sure.classify("no quiero seguir, me aburrí", "es").intent == "cancel"
    assert sure.classify("i'm not doing this anymore, too slow", "en").intent == "cancel"
