"""Explanations: what the classifier read, which phrases matched, which guard vetoed."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.intents import IntentClassifier

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def classifier() -> IntentClassifier:
    return IntentClassifier.from_directory(REPO / "intents")


@pytest.mark.parametrize(
    "text",
    [
        "gracias, adiós",
        "no quiero cancelar",
        "cancleá",
        "hello 👋",
        "Juan Pérez",
        "nos bemos",
        "gracias, buenas tardes",  # settled: a farewell greeting after thanks
        "no espera, para, quise decir talla M",  # settled: a correction
    ],
)
def test_explain_gives_the_same_answer_as_classify(classifier: IntentClassifier, text: str) -> None:
    for hint in (None, "es", "en"):
        for free_text in (False, True):
            explanation = classifier.explain(text, hint, expecting_free_text=free_text)
            assert explanation.result == classifier.classify(
                text, hint, expecting_free_text=free_text
            )


def test_corrections_show_in_the_normalized_text_and_the_match(
    classifier: IntentClassifier,
) -> None:
    explanation = classifier.explain("cancleá", "es")

    assert explanation.normalized["es"] == "canclea>cancela"
    top = explanation.candidates[0]
    assert (top.intent, top.confidence, top.veto) == ("cancel", 0.85, None)
    assert top.matches[0].how == "keyword+typo"
    assert top.matches[0].words == "cancleá"


def test_clauses_keywords_fillers_and_lemmas_are_named(classifier: IntentClassifier) -> None:
    explanation = classifier.explain("gracias por todo, adiós!", "es")

    assert explanation.normalized["es"] == "gracias por todo | adios"
    assert explanation.result.intent == "goodbye"
    kinds = {(m.intent, m.how) for c in explanation.candidates for m in c.matches}
    assert ("goodbye", "keyword") in kinds
    lemma = classifier.explain("me cancelaron", "es")  # an anti-example (a report, not a request)
    assert [m.how for m in lemma.fillers] == ["anti-example"]


def test_context_words_are_named(classifier: IntentClassifier) -> None:
    explanation = classifier.explain("quit the chat", "en")

    top = explanation.candidates[0]
    assert (top.intent, top.confidence) == ("cancel", 1.0)
    assert [(m.how, m.words) for m in top.matches] == [
        ("example", "quit"),
        ("context", "the chat"),
    ]


@pytest.mark.parametrize(
    ("text", "hint", "intent", "veto"),
    [
        ("no quiero cancelar", "es", "cancel", "negated by 'no'"),
        ("¿puedo cancelar después?", "es", "cancel", "in a question"),
        ("si cancelo pierdo todo", "es", "cancel", "hypothetical: 'si'"),
        ("cancelo mañana", "es", "cancel", "put off by 'mañana'"),
        ("cancelé el pedido ayer", "es", "cancel_order", "a report of the past: 'ayer'"),
        (
            "I have to cancel my booking for Friday",
            "en",
            "cancel",
            "about a business object (a booking, an order), not the conversation",
        ),
        ("the stop was far away", "en", "cancel", "a noun here (after a determiner)"),
        ("me llamo Chao", "es", "goodbye", "a name here (capitalized in mid-sentence)"),
        ("good morning 👋", "en", "goodbye", "only an emoji, beside words of 'greet'"),
        ("can I stop the trial?", "en", "request_trial", "part of a guarded 'cancel'"),
    ],
)
def test_every_veto_says_why(
    classifier: IntentClassifier, text: str, hint: str, intent: str, veto: str
) -> None:
    explanation = classifier.explain(text, hint)

    vetoes = {c.intent: c.veto for c in explanation.candidates if c.veto}
    assert vetoes.get(intent) == veto


def test_the_free_text_threshold_is_shown(classifier: IntentClassifier) -> None:
    explanation = classifier.explain("Chao Ping", "en", expecting_free_text=True)

    goodbye = next(c for c in explanation.candidates if c.intent == "goodbye")
    assert goodbye.threshold == 0.9
    assert explanation.result.intent == "none"
    assert "(a flow waits for free text)" in "\n".join(explanation.lines())


def test_lines_and_summary_are_readable(classifier: IntentClassifier) -> None:
    explanation = classifier.explain("no, no quiero cancelar", "es")

    lines = explanation.lines()
    assert lines[0] == "text:        no, no quiero cancelar"
    assert lines[1] == "result:      none 0.000"
    assert lines[3] == "normalized:  [es] no | no quiero cancelar"
    assert any("vetoed: negated by 'no'" in line for line in lines)
    assert explanation.summary().startswith("intent=none confidence=0.00 lang=es")


def test_debug_logging_explains_each_classification(
    classifier: IntentClassifier, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="bot.intents.classifier"):
        classifier.classify("muchas gracias, chau", "es")

    assert any(
        "classified: intent=goodbye" in record.getMessage()
        and "keyword 'chau'" in record.getMessage()
        for record in caplog.records
    )


def test_no_explanation_is_built_when_debug_is_off(
    classifier: IntentClassifier, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="bot.intents.classifier"):
        classifier.classify("chau", "es")

    assert not [r for r in caplog.records if r.name == "bot.intents.classifier"]


def test_bot_classify_explain_prints_a_report_per_message(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        [
            "classify",
            "--explain",
            "--config",
            str(REPO / "config.yaml"),
            "--env-file",
            str(tmp_path / "none.env"),
        ],
        input="no quiero cancelar\nchauuu\n",
    )

    assert result.exit_code == 0, result.output
    blocks = result.output.strip().split("\n\n")
    assert len(blocks) == 2
    assert "normalized:  [es] no quiero cancelar" in blocks[0]
    assert "vetoed: negated by 'no'" in blocks[0]
    assert "result:      goodbye" in blocks[1]
    assert '<- "chauu"' in blocks[1]  # as read: runs of 3+ letters are cut to two first


def test_bot_classify_free_text_raises_the_bar_for_closing(tmp_path: Path) -> None:
    args = ["--config", str(REPO / "config.yaml"), "--env-file", str(tmp_path / "none.env")]
    normal = CliRunner().invoke(main, ["classify", "Adiós Ping", *args])
    in_flow = CliRunner().invoke(main, ["classify", "--free-text", "Adiós Ping", *args])

    assert '"intent": "goodbye"' in normal.output
    assert '"intent": "none"' in in_flow.output


@pytest.mark.parametrize(
    ("text", "settled"),
    [
        ("gracias, buenas tardes", "a farewell greeting after thanks (farewells): goodbye"),
        ("no espera, para, quise decir talla M", "a correction (corrections): no cancel"),
        ("gracias, chau", None),
    ],
)
def test_what_the_whole_message_changed_is_said(
    classifier: IntentClassifier, text: str, settled: str | None
) -> None:
    explanation = classifier.explain(text, "es")
    assert explanation.settled == settled
    assert (f"settled:     {settled}" in explanation.lines()) is (settled is not None)


def test_a_question_instead_of_a_close_is_shown(classifier: IntentClassifier) -> None:
    # "ok so I guess that is it" scores a goodbye between its floor and its threshold
    explanation = classifier.explain("ok so I guess that is it", "en")
    assert explanation.result.confirm == "goodbye"
    assert explanation.lines()[1].endswith("(asks about goodbye)")
