"""The classifier's answer, and the intent names every caller may rely on."""

from __future__ import annotations

from dataclasses import dataclass, replace

NONE_INTENT = "none"
"""Intent name returned when no intent reaches its threshold."""

GREET = "greet"
GOODBYE = "goodbye"
CANCEL = "cancel"
OPT_OUT = "opt_out"
"""The user wants no more messages from the business at all (WhatsApp's opt-out)."""
HANDOFF = "handoff"
"""The user asks for a person: the bot steps aside for up to a day (docs/handoff.md)."""

CLOSING_INTENTS: frozenset[str] = frozenset({GOODBYE, CANCEL})
"""Intents that end a conversation; guarded against questions, conditionals and free text."""


@dataclass(frozen=True, slots=True)
class IntentResult:
    """What a message asks for.

    Attributes:
        intent: Canonical intent name (``"greet"``, ``"goodbye"``, ``"cancel"``, an author's
            intent such as ``"request_trial"``) or :data:`NONE_INTENT`.
        confidence: Confidence in ``[0, 1]`` of the best-scoring intent. When ``intent`` is
            :data:`NONE_INTENT` this is the best score that stayed below its threshold
            (``0.0`` when nothing matched at all).
        lang: Language detected in the text (``"es"``, ``"en"``, ...), or ``None`` when the
            text carries no evidence (an email address, ``"ok"``, a bare name).
        ranked: Every intent found in the message with its confidence, best first (the acted-on
            ``intent`` included when it is not ``"none"``): "hola, quiero una prueba" ranks
            ``request_trial`` and ``greet``. Empty when nothing matched.
        confirm: A closing intent the message may mean but not clearly enough to act on: the
            engine asks the user (yes/no) instead of closing. ``intent`` is then what the
            engine acts on without asking (usually ``"none"``). ``None`` when there is nothing
            to ask.
        bare_thanks: The message is thanks alone, with fillers and at most one other word
            ("gracias!", "thank you so much", "blz, valeu"): ``intent`` is
            :data:`NONE_INTENT` (the user may go on), and the engine answers with a "you're
            welcome" rather than its help text.
    """

    intent: str
    confidence: float
    lang: str | None
    ranked: tuple[tuple[str, float], ...] = ()
    confirm: str | None = None
    bare_thanks: bool = False

    def without(self, intent: str) -> IntentResult:
        """This result with ``intent`` neither acted on nor asked about: the next ranked
        intent acts ("hola, un segundo" greets), else nothing."""
        ranked = tuple(item for item in self.ranked if item[0] != intent)
        confirm = None if self.confirm == intent else self.confirm
        if self.intent != intent:
            return replace(self, ranked=ranked, confirm=confirm)
        best, confidence = ranked[0] if ranked else (NONE_INTENT, 0.0)
        return replace(self, intent=best, confidence=confidence, ranked=ranked, confirm=confirm)

    def asking(self, intent: str) -> IntentResult:
        """This result :meth:`without` ``intent``, asking about it instead (``confirm``): the
        engine's yes/no question ("¿Querés terminar la conversación?")."""
        return replace(self.without(intent), confirm=intent)
