"""The semantic layer (issue 14): nearest intent example in a multilingual sentence space.

It knows paraphrases no file lists, in any language of the encoder, from the intent files
alone; it is heard only where the lexicon is unsure, a guard's veto wins, and business-object
cancels never close.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bot.intents import IntentClassifier
from bot.intents.encoder import SentenceEncoder
from bot.intents.result import IntentResult
from bot.intents.semantic import (
    Example,
    Fusion,
    Guess,
    LexiconView,
    SemanticModel,
    encoder_text,
    fuse,
)

INTENTS = Path(__file__).resolve().parents[2] / "intents"
LANGUAGES = ("es", "en")
OPEN = LexiconView(vetoed=False, closing=frozenset({"goodbye", "cancel", "opt_out"}))
NOTHING = IntentResult("none", 0.0, "en")


def guess(intent: str, similarity: float, agreeing: int = 3, words: int = 4) -> Guess:
    return Guess(intent, similarity, agreeing, "example", words)


@pytest.fixture(scope="module")
def lexicon() -> IntentClassifier:
    return IntentClassifier.from_directory(INTENTS, LANGUAGES)


@pytest.fixture(scope="module")
def classifier() -> IntentClassifier:
    return IntentClassifier.from_directory(INTENTS, LANGUAGES, learned=True)


@pytest.mark.parametrize(
    ("text", "lang", "intent"),
    [
        ("que les vaya súper bien", "es", "goodbye"),
        ("scrap the entire thing", "en", "cancel"),
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
    ],
)
def test_a_business_object_cancel_never_closes(classifier: IntentClassifier, text: str) -> None:
    result = classifier.classify(text)
    assert result.intent not in {"goodbye", "cancel", "opt_out"}
    assert result.confirm is None


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
    assert fuse(NOTHING, guess("cancel", 0.9), OPEN, fusion).intent == "cancel"
    asked = fuse(NOTHING, guess("goodbye", 0.82), OPEN, fusion)
    assert (asked.intent, asked.confirm) == ("none", "goodbye")
    assert fuse(NOTHING, guess("goodbye", 0.82, agreeing=2), OPEN, fusion) == NOTHING
    assert fuse(NOTHING, guess("opt_out", 0.82), OPEN, fusion) == NOTHING  # never asked
    assert fuse(NOTHING, guess("none", 0.99), OPEN, fusion) == NOTHING
    vetoed = LexiconView(vetoed=True, closing=OPEN.closing)
    assert fuse(NOTHING, guess("cancel", 1.0), vetoed, fusion) == NOTHING
    acted = IntentResult("greet", 0.9, "en", (("greet", 0.9),))
    assert fuse(acted, guess("cancel", 1.0), OPEN, fusion) == acted


def test_a_guard_word_that_vetoed_nothing_needs_a_near_identical_example() -> None:
    cautious = LexiconView(vetoed=False, closing=OPEN.closing, cautious=True)
    fusion = Fusion()
    assert fuse(NOTHING, guess("cancel", 0.9), cautious, fusion) == NOTHING
    assert fuse(NOTHING, guess("cancel", 0.95), cautious, fusion).intent == "cancel"
    assert fuse(NOTHING, guess("cancel", 0.99, words=1), cautious, fusion) == NOTHING


def test_an_unsure_close_of_the_lexicon_is_settled_by_the_layer() -> None:
    unsure = IntentResult("none", 0.6, "en", confirm="cancel")
    assert fuse(unsure, guess("cancel", 0.8), OPEN, Fusion()).intent == "cancel"
    assert fuse(unsure, guess("goodbye", 0.99), OPEN, Fusion()) == unsure


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


def test_vectors_are_cached_by_the_examples_hash(tmp_path: Path) -> None:
    examples = [Example("bye", "goodbye"), Example("cancel", "cancel")]
    first = SemanticModel.build(examples, cache_dir=tmp_path)
    [cached] = tmp_path.glob("semantic-*.npy")

    class NoEncoding(SentenceEncoder):
        def encode(self, texts):  # type: ignore[no-untyped-def]
            raise AssertionError("the cache should have been read")

    second = SemanticModel.build(examples, NoEncoding(tmp_path), cache_dir=tmp_path)
    assert np.array_equal(first._vectors, second._vectors)
    changed = SemanticModel.build([*examples, Example("hi", "greet")], cache_dir=tmp_path)
    assert len(list(tmp_path.glob("semantic-*.npy"))) == 2
    assert changed.labels == ("cancel", "goodbye", "greet")
    assert cached.exists()


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
    assert encoder_text("Cancel!!") == encoder_text("cancel!!")
