"""Fixtures shared by the intent tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.intents import IntentClassifier

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def trilingual() -> IntentClassifier:
    """The shipped intent files in es, en and pt, lexicon only (no semantic head)."""
    return IntentClassifier.from_directory(REPO / "intents", ("es", "en", "pt"))
