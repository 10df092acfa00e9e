"""spaCy without its command-line interface, which the classifier never calls.

spaCy's package ``__init__`` imports ``spacy.cli.info`` for its public ``spacy.info``, and
with it the whole CLI stack: typer, rich, requests, httpx, weasel, jinja2, pygments. The
classifier uses spaCy's tokenizers, vocabularies and lookup tables only; that stack cost
the service about 17 MiB of its idle RSS (#14 keeps it under 250 MB). :func:`skip_cli`
stands a small module in for ``spacy.cli`` before spaCy is first imported; ``spacy.info()``
then raises :class:`RuntimeError` instead of printing. ``python -m spacy`` in its own
process is unaffected.
"""

from __future__ import annotations

import sys
import types
from typing import NoReturn


def _info(*args: object, **kwargs: object) -> NoReturn:
    raise RuntimeError("spacy.info is not loaded inside the bot (bot/spacy_cli.py)")


def skip_cli() -> None:
    """Stand a stub in for ``spacy.cli`` and ``spacy.cli.info`` unless spaCy is already
    imported (then its real CLI is loaded and nothing changes)."""
    if "spacy" in sys.modules or "spacy.cli" in sys.modules:
        return
    cli = types.ModuleType("spacy.cli", "Stand-in: see bot/spacy_cli.py.")
    info = types.ModuleType("spacy.cli.info", "Stand-in: see bot/spacy_cli.py.")
    info.info = _info  # type: ignore[attr-defined]
    cli.info = info  # type: ignore[attr-defined]
    sys.modules["spacy.cli"] = cli
    sys.modules["spacy.cli.info"] = info
