"""The lemma tables' disk cache goes where the settings say (``Settings.cache_dir``)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from bot.config import Settings
from bot.wiring import load_content


def test_content_caches_lemma_tables_in_the_settings_cache_dir(
    repo_settings: Settings, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    # without the learned layer: a fresh cache dir would train a head on the 39 sets first
    # (about two minutes on a busy machine), which this test is not about
    settings = replace(
        repo_settings,
        cache_dir=cache,
        languages=("en",),
        default_language="en",
        intents_learned=False,
    )
    content = load_content(settings, {})
    assert content.classifier.languages == ("en",)
    assert [path.name.split("-")[:2] for path in cache.glob("lemma_lookup-*.npz")] == [
        ["lemma_lookup", "en"]
    ]
