"""Loading intent files: validation with file:line, aliases, author intents, new languages."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from bot.errors import DataFileError
from bot.intents import NONE_INTENT, IntentClassifier, canonical_intent
from bot.intents.data import load_language_file

INTENTS_DIR = Path(__file__).resolve().parents[2] / "intents"
# A flow author's Spanish file: alias keys, an intent of their own, a `none` anti-example.
AUTHOR_ES = """
language: es
intents:
  saludo:
    examples: [hola, buenas]
    keywords: [hola]
  despedida:
    examples: [chau, adiós, nos vemos]
    keywords: [chau]
  cancelación:
    examples: [cancelar, olvídalo]
    keywords: [cancelar]
  book_meeting:
    examples:
      - quiero agendar una reunión
      - agendar reunión
      - agendar
      - reservar una cita
    keywords: [agendar reunión, agendar una reunión, reunión]
    threshold_in_flow: 0.99
  none:
    examples: [la reunión de ayer]
fillers: [por favor, gracias, para el martes]
negations: ["no"]
"""


def write(directory: Path, lang: str, text: str) -> Path:
    path = directory / f"{lang}.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


# (file content, line the error must name, words the problem must contain)
BROKEN: list[tuple[str, int, str]] = [
    (
        """
        language: es
        intents:
          greet:
            examples: []
        """,
        3,
        "has no examples",
    ),
    (
        """
        language: es
        intents:
          greet:
            keywords: [hola]
        """,
        3,
        "has no examples",
    ),
    (
        """
        language: es
        intents:
          greet:
            examples:
              - hola
              - 42
        """,
        6,
        "must be text",
    ),
    (
        """
        language: es
        intents:
          greet: {examples: [hola]}
        extra: 1
        """,
        4,
        "unknown key 'extra'",
    ),
    (
        """
        language: es
        intents:
          greet:
            examples: [hola]
            treshold: 0.5
        """,
        5,
        "unknown key 'treshold'",
    ),
    (
        """
        language: en
        intents:
          greet: {examples: [hola]}
        """,
        1,
        "'language' must be 'es'",
    ),
    (
        """
        language: es
        intents:
          goodbye:
            examples: [chau]
            threshold_in_flow: 1.5
        """,
        5,
        "threshold_in_flow",
    ),
    (
        """
        language: es
        intents:
          goodbye:
            examples: [chau
          cancel: {examples: [cancelar]}
        """,
        5,
        "expected",
    ),
    (
        """
        language: es
        intents:
          goodbye: {examples: [chau]}
          despedida: {examples: [adiós]}
        """,
        4,
        "defined twice",
    ),
    (
        """
        language: es
        intents:
          Request Trial: {examples: [demo]}
        """,
        3,
        "invalid intent name",
    ),
    (
        """
        language: es
        intents:
          greet: hola
        """,
        3,
        "must be a mapping",
    ),
]


@pytest.mark.parametrize(("content", "line", "problem"), BROKEN)
def test_broken_file_names_file_and_line(
    tmp_path: Path, content: str, line: int, problem: str
) -> None:
    path = write(tmp_path, "es", content)

    with pytest.raises(DataFileError) as caught:
        load_language_file(path, "es")

    assert f"{path}:{line}" in str(caught.value)
    assert problem in caught.value.problem
    assert caught.value.line == line


def test_missing_file_is_a_data_file_error(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="no intent file for language 'pt'"):
        load_language_file(tmp_path / "pt.yaml", "pt")


def test_phrase_in_two_intents_is_rejected_at_build(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "en",
        """
        language: en
        intents:
          goodbye:
            examples: [bye, see you later]
          cancel:
            examples:
              - cancel
              - See you LATER!
        """,
    )

    with pytest.raises(DataFileError) as caught:
        IntentClassifier.from_directory(tmp_path, languages=("en",))

    assert f"{path}:8" in str(caught.value)
    assert "'goodbye'" in caught.value.problem


def test_phrase_without_words_is_rejected_at_build(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "en",
        """
        language: en
        intents:
          greet:
            examples: [hello, "!!!"]
        """,
    )

    with pytest.raises(DataFileError, match=f"{path}:4:23: .*has no words"):
        IntentClassifier.from_directory(tmp_path, languages=("en",))


def test_broken_shipped_style_file_fails_from_directory(tmp_path: Path) -> None:
    shutil.copy(INTENTS_DIR / "en.yaml", tmp_path / "en.yaml")
    path = write(tmp_path, "es", "language: es\nintents:\n  greet:\n    examples: [hola, null]\n")

    with pytest.raises(DataFileError, match=f"{path}:4"):
        IntentClassifier.from_directory(tmp_path)


@pytest.mark.parametrize(
    ("alias", "canonical"),
    [
        ("despedida", "goodbye"),
        ("cancelacion", "cancel"),
        ("cancelación", "cancel"),
        ("Cancelación", "cancel"),
        ("saludo", "greet"),
        ("goodbye", "goodbye"),
        ("request_trial", "request_trial"),
    ],
)
def test_spanish_aliases_map_to_canonical_names(alias: str, canonical: str) -> None:
    assert canonical_intent(alias) == canonical


def test_alias_keys_in_yaml_give_canonical_intents(tmp_path: Path) -> None:
    data = load_language_file(write(tmp_path, "es", AUTHOR_ES), "es")

    assert list(data.intents) == ["greet", "goodbye", "cancel", "book_meeting", NONE_INTENT]


@pytest.fixture(scope="module")
def author_classifier(tmp_path_factory: pytest.TempPathFactory) -> IntentClassifier:
    """Shipped en data plus a Spanish file using aliases and an author's own intent."""
    directory = tmp_path_factory.mktemp("intents")
    shutil.copy(INTENTS_DIR / "en.yaml", directory / "en.yaml")
    write(directory, "es", AUTHOR_ES)
    return IntentClassifier.from_directory(directory)


def test_author_intent_from_yaml_is_detected(author_classifier: IntentClassifier) -> None:
    result = author_classifier.classify("quiero agendar una reunión para el martes", "es")

    assert result.intent == "book_meeting"
    assert result.lang == "es"


def test_author_intent_keyword_and_typo(author_classifier: IntentClassifier) -> None:
    assert author_classifier.classify("hola, agendar reunion", "es").intent == "book_meeting"
    assert author_classifier.classify("quiero agendar una reunion", "es").intent == "book_meeting"


def test_alias_intents_classify_under_canonical_names(
    author_classifier: IntentClassifier,
) -> None:
    assert author_classifier.classify("chau", "es").intent == "goodbye"
    assert author_classifier.classify("cancelar", "es").intent == "cancel"
    assert author_classifier.classify("hola", "es").intent == "greet"
    assert "book_meeting" in author_classifier.intents
    assert "despedida" not in author_classifier.intents


def test_none_examples_block_a_keyword(author_classifier: IntentClassifier) -> None:
    assert author_classifier.classify("una reunión el lunes", "es").intent == "book_meeting"
    assert author_classifier.classify("la reunión de ayer", "es").intent == NONE_INTENT


def test_author_threshold_in_flow_applies(author_classifier: IntentClassifier) -> None:
    text = "quiero agendar una reunión con Juan"

    assert author_classifier.classify(text, "es").intent == "book_meeting"
    assert author_classifier.classify(text, "es", expecting_free_text=True).intent == NONE_INTENT


def test_a_language_is_added_with_a_code_and_a_file(tmp_path: Path) -> None:
    shutil.copy(INTENTS_DIR / "es.yaml", tmp_path / "es.yaml")
    write(
        tmp_path,
        "pt",
        """
        language: pt
        intents:
          goodbye:
            examples: [tchau, até logo, tchau tchau]
            keywords: [tchau]
          cancel:
            examples: [cancelar, esquece]
        fillers: [obrigado, obrigada, por favor]
        negations: [não]
        """,
    )

    classifier = IntentClassifier.from_directory(tmp_path, languages=("es", "pt"))

    assert classifier.classify("tchau, obrigado") == classifier.classify("obrigado, tchau")
    assert classifier.classify("obrigado, tchau").intent == "goodbye"
    assert classifier.detect_language("até logo, obrigado") == "pt"
    assert classifier.detect_language("hasta luego, gracias") == "es"
    assert classifier.classify("não cancelar", "pt").intent == NONE_INTENT


def test_alternatives_expand_into_one_example_each(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "es",
        """
        language: es
        intents:
          goodbye:
            examples:
              - que (tengas|tenga) (un|) buen día
            keywords: [(chau|chao)]
        """,
    )

    spec = load_language_file(path, "es").intents["goodbye"]

    assert [p.text for p in spec.examples] == [
        "que tengas un buen día",
        "que tengas buen día",
        "que tenga un buen día",
        "que tenga buen día",
    ]
    assert [p.text for p in spec.keywords] == ["chau", "chao"]
    assert {(p.line, p.column) for p in spec.examples} == {(5, 9)}


@pytest.mark.parametrize(
    ("example", "problem"),
    [
        ("que (tengas", "unbalanced or nested parenthesis"),
        ("que ((a|b)|c)", "unbalanced or nested parenthesis"),
        ("(a|b|c|d|e) (a|b|c|d|e) (a|b|c|d|e) (a|b|c|d|e)", "expands to 625 phrases"),
    ],
)
def test_bad_alternatives_name_the_line_and_column(
    tmp_path: Path, example: str, problem: str
) -> None:
    path = write(
        tmp_path,
        "es",
        f"""
        language: es
        intents:
          goodbye:
            examples: [chau, "{example}"]
        """,
    )

    with pytest.raises(DataFileError) as caught:
        load_language_file(path, "es")

    assert str(caught.value).startswith(f"{path}:4:")
    assert caught.value.column == 22
    assert problem in caught.value.problem


def test_errors_carry_the_column(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "es",
        """
        language: es
        intents:
          greet:
            examples: [hola]
            treshold: 0.8
        """,
    )

    with pytest.raises(DataFileError) as caught:
        load_language_file(path, "es")

    assert str(caught.value).startswith(f"{path}:5:5: intent 'greet': unknown key 'treshold'")


def test_determiners_make_a_closing_word_a_noun(tmp_path: Path) -> None:
    write(
        tmp_path,
        "en",
        """
        language: en
        intents:
          cancel:
            examples: [stop]
        determiners: [the]
        """,
    )
    classifier = IntentClassifier.from_directory(tmp_path, ("en",), statistical_language_id=False)

    assert classifier.classify("stop").intent == "cancel"
    assert classifier.classify("the stop").intent == NONE_INTENT


def test_names_make_a_closing_word_beside_a_capitalized_unknown_word_a_name(
    tmp_path: Path,
) -> None:
    write(
        tmp_path,
        "en",
        """
        language: en
        intents:
          goodbye:
            examples: [ciao, ciao friend]
            keywords: [ciao]
        names: [ciao]
        """,
    )
    classifier = IntentClassifier.from_directory(tmp_path, ("en",), statistical_language_id=False)

    assert classifier.classify("Ciao Marchetti").intent == NONE_INTENT
    assert classifier.classify("Ciao").intent == "goodbye"
    assert classifier.classify("Ciao Friend").intent == "goodbye"  # a word the file knows


CONTEXT_EN = """
language: en
intents:
  cancel:
    examples: [cancel, quit, ❌]
    keywords: [cancel]
    context: [this, "(the|my) (order|chat)"]
  book_meeting:
    examples: [book a meeting]
    context: [for tomorrow]
abbreviations: {"🚫": "❌", "⛔": cancel}
past: [yesterday, last week]
"""


@pytest.fixture(scope="module")
def context_classifier(tmp_path_factory: pytest.TempPathFactory) -> IntentClassifier:
    directory = tmp_path_factory.mktemp("context")
    write(directory, "en", CONTEXT_EN)
    return IntentClassifier.from_directory(directory, ("en",), statistical_language_id=False)


@pytest.mark.parametrize(
    ("text", "intent", "confidence"),
    [
        ("quit", "cancel", 1.0),
        ("quit this", "cancel", 1.0),  # context words count as explained...
        ("quit the chat", "cancel", 1.0),
        ("cancel my order", "cancel", 1.0),
        ("quit the game", NONE_INTENT, 0.4),  # ...other words do not
        ("this", NONE_INTENT, 0.0),  # and alone they are no evidence
        ("my order", NONE_INTENT, 0.0),
        ("book a meeting for tomorrow", "book_meeting", 1.0),  # each intent has its own
        ("quit for tomorrow", NONE_INTENT, 0.4),
    ],
)
def test_context_words_only_count_beside_a_phrase_of_their_intent(
    context_classifier: IntentClassifier, text: str, intent: str, confidence: float
) -> None:
    result = context_classifier.classify(text)

    assert (result.intent, result.confidence) == (intent, confidence)


@pytest.mark.parametrize(
    ("text", "intent"),
    [("🚫", "cancel"), ("🚫🚫", "cancel"), ("⛔", "cancel"), ("⛔ this", "cancel")],
)
def test_an_emoji_abbreviation_reads_as_another_emoji_or_as_words(
    context_classifier: IntentClassifier, text: str, intent: str
) -> None:
    assert context_classifier.classify(text).intent == intent


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("I cancelled the order yesterday", NONE_INTENT),
        ("cancel the order, last week was a mess", "cancel"),  # another clause
        ("quit last week", NONE_INTENT),
    ],
)
def test_past_words_make_a_close_a_report(
    context_classifier: IntentClassifier, text: str, intent: str
) -> None:
    assert context_classifier.classify(text, "en").intent == intent


def test_context_and_past_are_checked_like_the_other_lists(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "en",
        """
        language: en
        intents:
          cancel:
            examples: [cancel]
            context: this
        """,
    )

    with pytest.raises(DataFileError, match=f"{path}:5:.*'context' must be a list of texts"):
        load_language_file(path, "en")
    write(tmp_path, "en", "language: en\nintents:\n  cancel:\n    examples: [cancel]\npast: [7]\n")
    with pytest.raises(DataFileError, match=f"{path}:5:.*'past' entries must be text"):
        load_language_file(path, "en")


def test_a_goodbye_is_a_farewell_unless_the_file_says_otherwise(tmp_path: Path) -> None:
    path = tmp_path / "en.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            language: en
            intents:
              goodbye:
                examples: [bye]
              cancel:
                examples: [cancel]
              see_you_there:
                examples: [see you at the clinic]
                closing: true
                farewell: true
            """
        ),
        encoding="utf-8",
    )
    intents = load_language_file(path, "en").intents
    assert intents["goodbye"].farewell
    assert not intents["cancel"].farewell
    assert intents["see_you_there"].farewell


def test_a_farewell_is_said_whatever_the_clause_before_supposes(tmp_path: Path) -> None:
    """A condition in the clause before vetoes a close that is asked for, not a farewell."""
    for farewell in (True, False):
        folder = tmp_path / str(farewell)
        folder.mkdir()
        (folder / "en.yaml").write_text(
            textwrap.dedent(
                f"""\
                language: en
                intents:
                  goodbye:
                    examples: [bye]
                    farewell: {str(farewell).lower()}
                conditionals: [if]
                """
            ),
            encoding="utf-8",
        )
        result = IntentClassifier.from_directory(folder, ("en",)).classify(
            "if I need anything I will write. bye", "en"
        )
        assert (result.intent == "goodbye") is farewell
