"""spaCy loads without its command-line stack in the service (bot/spacy_cli.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CLI_STACK = ("typer", "rich", "requests", "httpx", "weasel")


def _loaded_after(code: str) -> list[str]:
    """The CLI-stack modules loaded in a fresh interpreter after ``code`` runs."""
    probe = f"{code}\nimport sys\nprint(' '.join(m for m in {CLI_STACK!r} if m in sys.modules))"
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_the_classifier_classifies_without_loading_spacys_cli() -> None:
    code = (
        "from pathlib import Path\n"
        "from bot.intents import IntentClassifier\n"
        "c = IntentClassifier.from_directory(Path('intents'), ('es', 'en', 'pt'))\n"
        "assert c.classify('gracias, adiós', 'es').intent == 'goodbye'\n"
        "assert c.classify('cancelé la tarjeta ayer', 'es').intent == 'none'"
    )
    assert _loaded_after(code) == []


def test_spacy_imported_first_keeps_its_cli() -> None:
    # a program that imports spaCy itself gets the whole of it; the bot then changes nothing:
    # spacy.cli stays spaCy's own module (the stand-in has no file)
    code = (
        "import spacy\n"
        "import bot.intents, sys\n"
        "assert getattr(sys.modules['spacy.cli'], '__file__', None), 'spacy.cli replaced'"
    )
    assert _loaded_after(code) != []


def test_spacy_info_says_why_it_is_missing() -> None:
    code = (
        "import bot, spacy\n"
        "try:\n"
        "    spacy.info()\n"
        "except RuntimeError as error:\n"
        "    assert 'bot/spacy_cli.py' in str(error)\n"
        "else:\n"
        "    raise AssertionError('spacy.info ran')"
    )
    assert _loaded_after(code) == []
