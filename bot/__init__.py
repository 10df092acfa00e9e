"""Intent-aware conversational bot service for WhatsApp."""

from bot.spacy_cli import skip_cli

__version__ = "0.1.0"

skip_cli()  # before spaCy's first import (bot.intents): its CLI stack is 17 MiB of idle RSS
