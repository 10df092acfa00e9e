"""Evaluation: reading labelled files, metrics, the keyword baseline and `bot eval`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.errors import DataFileError
from bot.intents.data import load_language_file
from bot.intents.evaluation import (
    KeywordBaseline,
    LabelledMessage,
    evaluate,
    evaluate_language,
    format_report,
    load_labelled,
)

REPO = Path(__file__).resolve().parents[2]


def write_lines(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_load_labelled_reads_messages_aliases_tags_and_lines(tmp_path: Path) -> None:
    data = write_lines(
        tmp_path / "dev.jsonl",
        "# a comment",
        '{"text": "chau", "intent": "despedida", "lang": "es", "tags": ["plain"]}',
        "",
        '{"text": "stop", "intent": "Cancel", "lang": "EN"}',
    )

    messages = load_labelled(data)

    assert messages == [
        LabelledMessage("chau", "goodbye", "es", ("plain",), 2),
        LabelledMessage("stop", "cancel", "en", (), 4),
    ]


@pytest.mark.parametrize(
    ("line", "where", "problem"),
    [
        ('{"text": "hola", "intent": "greet", "lang": "es"', ":1:49:", "invalid JSON"),
        ('["hola", "greet", "es"]', ":1:1:", "each line must be an object"),
        ('{"text": "hola", "intent": "greet"}', ":1:1:", "'lang' must be a non-empty text"),
        ('{"text": "", "intent": "greet", "lang": "es"}', ":1:1:", "'text' must be"),
        ('{"text": "a", "intent": "greet", "lang": "es", "note": 1}', ":1:1:", "unknown key"),
        ('{"text": "a", "intent": "Greet Me", "lang": "es"}', ":1:1:", "invalid intent name"),
        ('{"text": "a", "intent": "greet", "lang": "spanish"}', ":1:1:", "language code"),
        ('{"text": "a", "intent": "greet", "lang": "es", "tags": "x"}', ":1:1:", "'tags'"),
    ],
)
def test_a_bad_line_is_reported_with_file_line_and_column(
    tmp_path: Path, line: str, where: str, problem: str
) -> None:
    data = write_lines(tmp_path / "bad.jsonl", line)

    with pytest.raises(DataFileError) as caught:
        load_labelled(data)

    assert str(caught.value).startswith(f"{data}{where}")
    assert problem in str(caught.value)


def test_an_empty_or_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="no labelled messages"):
        load_labelled(write_lines(tmp_path / "empty.jsonl", "# nothing"))
    with pytest.raises(DataFileError, match="cannot read file"):
        load_labelled(tmp_path / "missing.jsonl")


def msg(text: str, intent: str) -> LabelledMessage:
    return LabelledMessage(text, intent, "en")


def test_metrics_confusion_and_false_close_rate() -> None:
    messages = [
        msg("bye", "goodbye"),
        msg("see you", "goodbye"),
        msg("cancel", "cancel"),
        msg("hi", "greet"),
        msg("bus stop", "none"),
        msg("John", "none"),
        msg("ok", "none"),
        msg("later", "goodbye"),
    ]
    answers = {
        "bye": "goodbye",
        "see you": "goodbye",
        "cancel": "cancel",
        "hi": "greet",
        "bus stop": "cancel",  # a false close
        "John": "none",
        "ok": "none",
        "later": "none",  # a missed close
    }

    report = evaluate(messages, lambda m: answers[m.text])

    assert report.labels == ("cancel", "goodbye", "greet", "none")
    cancel = report.per_intent["cancel"]
    assert (cancel.precision, cancel.recall, cancel.support) == (0.5, 1.0, 1)
    assert cancel.f1 == pytest.approx(2 / 3)
    goodbye = report.per_intent["goodbye"]
    assert (goodbye.precision, goodbye.recall) == (1.0, pytest.approx(2 / 3))
    assert report.per_intent["none"].recall == pytest.approx(2 / 3)
    assert report.confusion["none"]["cancel"] == 1
    assert report.confusion["goodbye"]["none"] == 1
    assert (report.false_closes, report.false_close_total) == (1, 4)
    assert report.false_close_rate == 0.25
    assert report.missed_closes == 1
    assert report.accuracy == 6 / 8
    assert report.macro_f1 == pytest.approx(sum(m.f1 for m in report.per_intent.values()) / 4)
    assert [m.text for m, _ in report.errors] == ["bus stop", "later"]


def test_a_predicted_intent_the_file_never_labels_is_an_error_not_a_class() -> None:
    """A set written before an intent existed (``handoff``) cannot score it as a class: its
    predictions are errors of the gold label (recall) and are reported as unlabelled."""
    messages = [msg("hi", "greet"), msg("hello", "greet"), msg("ok", "none")]
    answers = {"hi": "greet", "hello": "handoff", "ok": "none"}
    report = evaluate(messages, lambda m: answers[m.text])

    assert report.labels == ("greet", "handoff", "none")
    assert report.unlabelled == {"handoff": 1}
    assert report.per_intent["greet"].recall == 0.5
    assert report.macro_f1 == pytest.approx((2 / 3 + 1.0) / 2)  # greet and none only
    assert report.accuracy == pytest.approx(2 / 3)
    assert "unlabelled        predicted intents the file has no label for" in format_report(
        report, "set"
    )


def test_format_report_prints_the_table_and_the_figures() -> None:
    report = evaluate([msg("bye", "goodbye"), msg("ok", "none")], lambda m: m.intent)

    text = format_report(report, "tiny")

    assert "tiny: 2 messages" in text
    assert ["goodbye", "1.000", "1.000", "1.000", "1"] in [
        line.split() for line in text.splitlines()
    ]
    assert "macro-F1          1.000" in text
    assert "false-close rate  0.00% (0 of 1 greet/none messages" in text


def test_language_report_counts_right_wrong_and_undecided() -> None:
    messages = [
        LabelledMessage(t, "none", lang) for t, lang in [("a", "es"), ("b", "en"), ("c", "es")]
    ]
    guesses = {"a": "es", "b": "es", "c": None}

    report = evaluate_language(messages, guesses.get)

    assert (report.right, report.wrong, report.undecided, report.total) == (1, 1, 1, 3)


@pytest.fixture(scope="module")
def baseline() -> KeywordBaseline:
    return KeywordBaseline(
        load_language_file(REPO / "intents" / f"{code}.yaml", code) for code in ("es", "en")
    )


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("hola", "greet"),
        ("Adiós!!", "goodbye"),
        ("quiero cancelar", "cancel"),
        ("hola, quiero una prueba gratis", "request_trial"),  # the longest phrase wins
        ("the bus stop is near", "cancel"),  # no guards: the yardstick's weakness
        ("no quiero cancelar", "cancel"),
        ("cancleá", "none"),  # no typos either
        ("holanda", "none"),  # whole words only
    ],
)
def test_keyword_baseline_matches_whole_phrases_and_nothing_else(
    baseline: KeywordBaseline, text: str, intent: str
) -> None:
    assert baseline.classify(text) == intent


def test_bot_eval_prints_the_table_and_the_comparison(tmp_path: Path) -> None:
    data = write_lines(
        tmp_path / "small.jsonl",
        *(
            json.dumps({"text": text, "intent": intent, "lang": lang})
            for text, intent, lang in [
                ("chau, gracias", "goodbye", "es"),
                ("no quiero cancelar", "none", "es"),
                ("the bus stop is near", "none", "en"),
                ("hola", "greet", "es"),
            ]
        ),
    )

    result = CliRunner().invoke(
        main,
        [
            "eval",
            str(data),
            "--errors",
            "--config",
            str(REPO / "config.yaml"),
            "--env-file",
            str(tmp_path / "none.env"),
        ],
    )

    assert result.exit_code == 0, result.output
    assert "macro-F1          1.000" in result.output
    # 2 of the 3 greet/none messages close a session with plain keywords
    assert "false-close rate         0.00%      66.67%" in result.output
    assert "language id (no hint): 100.0% right" in result.output


def test_bot_eval_rejects_a_bad_file_with_its_line(tmp_path: Path) -> None:
    data = write_lines(tmp_path / "bad.jsonl", '{"text": "hola", "intent": "greet"}')

    result = CliRunner().invoke(
        main,
        [
            "eval",
            str(data),
            "--config",
            str(REPO / "config.yaml"),
            "--env-file",
            str(tmp_path / "none.env"),
        ],
    )

    assert result.exit_code == 2
    assert f"error: {data}:1:1: 'lang' must be a non-empty text" in result.output
