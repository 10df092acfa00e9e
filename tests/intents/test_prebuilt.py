"""Built language models kept on disk between starts (bot/intents/prebuilt.py): a second
start reads them, an edited file or a damaged pickle is rebuilt, a bad file still fails."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from bot.errors import DataFileError
from bot.intents import IntentClassifier, prebuilt
from bot.intents.config import ScoringConfig
from bot.intents.prebuilt import load_models

REPO = Path(__file__).resolve().parents[2]
MESSAGES = [
    "gracias, chau",
    "no, no quiero cancelar",
    "cancelá el pedido 4411 porfa",
    "basta de promos, mándenme la factura por mail",
    "hola! quiero una prueba gratis",
    "olvidalo",
]


@pytest.fixture
def intents(tmp_path: Path) -> Path:
    folder = tmp_path / "intents"
    folder.mkdir()
    shutil.copy(REPO / "intents" / "es.yaml", folder / "es.yaml")
    return folder


def pickles(cache: Path) -> list[Path]:
    return sorted(cache.glob("models-*.pickle"))


def answers(directory: Path, cache: Path) -> list[tuple[str, float, str | None]]:
    classifier = IntentClassifier.from_directory(directory, ("es",), cache_dir=cache)
    return [
        (r.intent, r.confidence, r.confirm)
        for r in (classifier.classify(text, "es") for text in MESSAGES)
    ]


def test_a_second_start_reads_the_cached_models_and_answers_the_same(
    intents: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    built = answers(intents, cache)
    [cached] = pickles(cache)

    def no_yaml(path: Path, language: str) -> None:
        raise AssertionError(f"{path} was parsed again: the cache was not read")

    monkeypatch.setattr(prebuilt, "load_language_file", no_yaml)
    loaded = answers(intents, cache)
    assert loaded == built
    assert pickles(cache) == [cached]
    files, models, _ = load_models(intents, ("es",), ScoringConfig(), cache)  # the cache too
    assert [f.language for f in files] == ["es"] and list(models) == ["es"]
    assert "cancel" in models["es"].closing


def test_an_edited_intent_file_is_rebuilt_under_another_name(intents: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    answers(intents, cache)
    path = intents / "es.yaml"
    text = path.read_text(encoding="utf-8")
    assert (
        IntentClassifier.from_directory(intents, ("es",), cache_dir=cache)
        .classify("plátano frito", "es")
        .intent
        == "none"
    )
    path.write_text(text.replace("      - olvidalo\n", "      - olvidalo\n      - plátano frito\n"))
    edited = IntentClassifier.from_directory(intents, ("es",), cache_dir=cache)
    assert edited.classify("plátano frito", "es").intent == "cancel"  # the edit, not the cache
    assert len(pickles(cache)) == 2


def test_a_damaged_pickle_is_rebuilt_with_a_warning(
    intents: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cache = tmp_path / "cache"
    built = answers(intents, cache)
    [cached] = pickles(cache)
    cached.write_bytes(cached.read_bytes()[:1000])  # a start killed while writing it
    with caplog.at_level(logging.WARNING, logger="bot.intents.prebuilt"):
        assert answers(intents, cache) == built
    assert "unreadable" in caplog.text
    assert cached.stat().st_size > 1000  # written again


def test_a_bad_intent_file_still_fails_with_its_line_and_caches_nothing(
    intents: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    (intents / "es.yaml").write_text("language: es\nintents:\n  greet: [hola\n", encoding="utf-8")
    with pytest.raises(DataFileError, match=r"es\.yaml:\d+"):
        load_models(intents, ("es",), ScoringConfig(), cache)
    assert pickles(cache) == []
