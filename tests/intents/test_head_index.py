"""The head found at start-up through the index, without reading its training sets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import bot.intents.examples as examples_module
from bot.intents import IntentClassifier
from bot.intents.config import ScoringConfig
from bot.intents.head import TrainingSettings
from bot.intents.head_index import KEEP, fingerprint, recall, remember
from bot.intents.labelled import LabelledMessage, load_labelled
from bot.intents.prebuilt import models_key
from bot.intents.semantic import Example, SemanticModel

REPO = Path(__file__).resolve().parents[2]
INTENTS = REPO / "intents"
EXAMPLES = [Example("hola", "greet"), Example("chau", "goodbye"), Example("ok", "none")]


def _labelled_set(path: Path, texts: list[tuple[str, str]]) -> Path:
    lines = [json.dumps({"text": t, "intent": i, "lang": "es"}) for t, i in texts]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _stamp(training_set: Path) -> str | None:
    key = models_key([INTENTS / "es.yaml"], ("es",), ScoringConfig())
    return fingerprint(key, [training_set], TrainingSettings())


def test_the_fingerprint_follows_each_source(tmp_path: Path) -> None:
    labelled = _labelled_set(tmp_path / "set.jsonl", [("buenas", "greet")])
    key = models_key([INTENTS / "es.yaml"], ("es",), ScoringConfig())
    first = fingerprint(key, [labelled], TrainingSettings())
    assert first == fingerprint(key, [labelled], TrainingSettings())
    assert first != fingerprint(key + "0", [labelled], TrainingSettings())  # a file or the code
    assert first != fingerprint(key, [labelled], TrainingSettings(epochs=31))
    _labelled_set(labelled, [("buenas", "none")])  # a label edited
    assert first != fingerprint(key, [labelled], TrainingSettings())
    assert fingerprint(key, [tmp_path / "missing.jsonl"], TrainingSettings()) is None


def test_an_entry_names_only_a_readable_head_of_its_folder(tmp_path: Path) -> None:
    SemanticModel.build(EXAMPLES, cache_dir=tmp_path)
    (head,) = tmp_path.glob("semantic-head-*.npz")
    assert recall(tmp_path, "a" * 32) is None  # not indexed
    remember(tmp_path, "a" * 32, head)
    found = recall(tmp_path, "a" * 32)
    assert found is not None and sorted(found.labels) == ["goodbye", "greet", "none"]
    (tmp_path / f"semantic-index-{'b' * 32}.txt").write_text(f"../{head.name}")
    assert recall(tmp_path, "b" * 32) is None  # outside the cache folder
    head.write_bytes(b"not a head")
    assert recall(tmp_path, "a" * 32) is None  # damaged: the caller rebuilds


def test_only_the_newest_entries_are_kept(tmp_path: Path) -> None:
    for n in range(KEEP + 3):
        remember(tmp_path, f"{n:032d}", tmp_path / "semantic-head-x.npz")
    assert len(list(tmp_path.glob("semantic-index-*.txt"))) == KEEP


def test_a_start_loads_the_indexed_head_without_reading_the_sets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    labelled = _labelled_set(tmp_path / "set.jsonl", [("buenas buenas", "greet")])
    SemanticModel.build(EXAMPLES, cache_dir=cache)  # a head, as a first start trains one
    (head,) = cache.glob("semantic-head-*.npz")
    stamp = _stamp(labelled)
    assert stamp is not None
    remember(cache, stamp, head)
    read: list[Path] = []

    def reading(path: Path) -> list[LabelledMessage]:
        read.append(path)
        return load_labelled(path)

    monkeypatch.setattr(examples_module, "load_labelled", reading)

    def start() -> IntentClassifier:
        return IntentClassifier.from_directory(
            INTENTS, ("es",), learned=True, training_sets=[labelled], cache_dir=cache, train=False
        )

    indexed = start()
    assert not indexed.head_pending and read == []
    assert indexed.classify("chau").intent == "goodbye"
    # an edited set is another fingerprint: its examples are read, and the indexed head
    # (trained without the edit) is not used
    _labelled_set(labelled, [("buenas buenas", "none")])
    edited = start()
    assert read == [labelled]
    assert edited.head_pending
