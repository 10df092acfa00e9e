"""Opting out and back in (WhatsApp's policy; Twilio's standard keywords on SMS): which
messages do it. The engine acts on them in a turn and while a person has the session.
"""

from __future__ import annotations

from functools import lru_cache

from bot.flows.slots import fold
from bot.intents.result import OPT_OUT

SMS_CHANNELS = frozenset({"sms"})
"""Channels where Twilio's keywords apply."""
SMS_OPT_OUT_WORDS = frozenset({"stop", "stopall", "unsubscribe", "cancel", "end", "quit"})
"""Twilio's standard opt-out keywords: on SMS a message that is only one of them opts out
(Twilio itself blocks further messages to that number after them)."""
TWILIO_OPT_IN_WORDS = frozenset({"start", "unstop"})
"""Twilio's standard opt-in keywords; with each language's ``opt_in`` list of
``intents/<lang>.yaml``, a message that is only one of them, from a user who opted out,
opts back in."""


def wants_opt_out(channel: str, folded: str, intent: str) -> bool:
    """Whether a message opts its user out: the classifier said ``opt_out``, or on SMS the
    message (``folded``: :func:`~bot.flows.slots.fold` of its text) is one of Twilio's
    keywords."""
    return intent == OPT_OUT or (channel in SMS_CHANNELS and folded in SMS_OPT_OUT_WORDS)


@lru_cache(maxsize=8)
def opt_in_words(messages: tuple[tuple[str, str], ...]) -> dict[str, str | None]:
    """Folded opt-in message -> its language (``None``: Twilio's keywords, or a message
    several languages list), from the languages' ``(language, message)`` pairs (the
    classifier's ``opt_in_messages``; one classifier's tuple is built once, so this is
    computed once per content version)."""
    words: dict[str, str | None] = dict.fromkeys(TWILIO_OPT_IN_WORDS)
    for language, text in messages:
        folded = fold(text)
        words[folded] = language if words.get(folded, language) == language else None
    return words
