"""Tokenizing a prepared message into clauses of tokens."""

from __future__ import annotations

import pytest

from bot.intents.analyzer import Analyzer
from bot.intents.normalize import prepare


@pytest.fixture
def analyzer() -> Analyzer:
    return Analyzer("es", {"xq": "porque"})


def words(analyzer: Analyzer, text: str) -> list[list[tuple[str, bool]]]:
    """Each clause's (norm, capital) pairs."""
    clauses = analyzer.analyze(prepare(text, keep_case=True))
    return [[(token.norm, token.capital) for token in clause.tokens] for clause in clauses]


def test_a_capital_counts_only_in_a_mixed_case_message_whatever_came_before(
    analyzer: Analyzer,
) -> None:
    # Pieces of text are tokenized once and cached: the message's case must still decide.
    for _ in range(2):
        assert words(analyzer, "me llamo Chao") == [
            [("me", False), ("llamo", False), ("chao", True)]
        ]
        assert words(analyzer, "ME LLAMO CHAO") == [
            [("me", False), ("llamo", False), ("chao", False)]
        ]


def test_line_breaks_and_punctuation_end_clauses(analyzer: Analyzer) -> None:
    clauses = analyzer.analyze(prepare("hola,\n\n¿xq   cancelás?\tchau"))

    assert [[t.norm for t in c.tokens] for c in clauses] == [
        ["hola"],
        ["porque", "cancelas"],
        ["chau"],
    ]
    assert [c.is_question for c in clauses] == [False, True, False]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("DONT CANCEL", [("do", False), ("not", False), ("cancel", False)]),
        ("I WASNT THERE", [("i", False), ("was", False), ("not", False), ("there", False)]),
        ("please DONT go", [("please", False), ("do", True), ("not", False), ("go", False)]),
        ("Dont go", [("do", True), ("not", False), ("go", False)]),
    ],
)
def test_a_contraction_without_its_apostrophe_splits_in_capitals_too(
    text: str, expected: list[tuple[str, bool]]
) -> None:
    # spaCy's tokenizer exceptions are case-sensitive: "DONT" used to stay one word, so
    # "DONT CANCEL" read as a cancel. No abbreviation list is given here.
    assert words(Analyzer("en", {}), text) == [expected]


def test_a_number_written_in_groups_is_one_number() -> None:
    english = Analyzer("en", {})
    clauses = english.analyze(prepare("cancel order #55-1023. thanks", keep_case=True))
    assert [[(t.norm, t.kind.name) for t in clause.tokens] for clause in clauses] == [
        [("cancel", "WORD"), ("order", "WORD"), ("551023", "NUMBER")],
        [("thanks", "WORD")],
    ]
    assert words(english, "call 555-1234 or 10/4") == [
        [("call", False), ("5551234", False), ("or", False), ("104", False)]
    ]


def test_no_before_a_number_abbreviates_number_and_ends_no_clause() -> None:
    english = Analyzer("en", {})
    assert words(english, "Kindly cancel my order No. 55") == [
        [
            ("kindly", True),
            ("cancel", False),
            ("my", False),
            ("order", False),
            ("no", True),
            ("55", False),
        ]
    ]
    assert words(english, "no. I want it") == [
        [("no", False)],
        [("i", False), ("want", False), ("it", False)],
    ]


def test_english_i_is_no_hint_of_a_name() -> None:
    assert words(Analyzer("en", {}), "but I want Chao") == [
        [("but", False), ("i", False), ("want", False), ("chao", True)]
    ]
