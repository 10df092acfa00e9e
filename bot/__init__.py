"""Intent-aware conversational bot service for WhatsApp."""

__version__ = "0.1.0"
