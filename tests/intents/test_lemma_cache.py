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
    settings = replace(repo_settings, cache_dir=cache, languages=("en",), default_language="en")
    content = load_content(settings, {})
    assert content.classifier.languages == ("en",)
    assert [path.name.split("-")[:2] for path in cache.glob("lemma_lookup-*.npz")] == [
        ["lemma_lookup", "en"]
    ]
