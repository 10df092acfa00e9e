"""The flow model: what ``flows/*.yaml`` means once loaded and validated.

Shapes (all frozen):

- :class:`Flow`: ``id``, ``description``, trigger keywords and intents, ordered ``steps``.
- :class:`Step`: an ``id``; optionally a text to ``say``; optionally ``collect`` the user's answer
  into a session-data slot, checked by ``validate``; optionally an ``action`` run when the step is
  entered; optionally ``end`` (a close reason) that ends the flow and the session.
- :class:`Text`: a locale key, or inline texts per language.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Source:
    """Where a definition stands: file and 1-based line, for error messages."""

    path: str
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.path}:{self.line}" if self.line is not None else self.path


@dataclass(frozen=True, slots=True)
class Text:
    """A text to send: a locale ``key`` or ``inline`` texts by language (exactly one is set)."""

    key: str | None = None
    inline: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Step:
    """One step of a flow.

    Attributes:
        id: Unique within the flow.
        say: Sent when the step is entered (for a ``collect`` step: the question).
        collect: Session-data slot that receives the user's answer; the flow waits here.
        validate: ``"text"`` (non-empty) or ``"email"``; applies to ``collect``.
        invalid: Sent when the answer fails ``validate`` (defaults to ``invalid.<validate>``).
        action: Run on entering the step, before ``say`` (``"deliver_credentials"``).
        end: Close reason: entering this step ends the flow and completes the session.
        source: Where the step is defined.
    """

    id: str
    say: Text | None = None
    collect: str | None = None
    validate: str = "text"
    invalid: Text | None = None
    action: str | None = None
    end: str | None = None
    source: Source = field(default_factory=lambda: Source("<memory>"))


@dataclass(frozen=True, slots=True)
class Flow:
    """A conversation a user can start by a keyword or an intent.

    Attributes:
        id: Unique across ``flows/``.
        description: For authors and the admin API.
        keywords: Words or short phrases that start the flow (matched on normalized text).
        intents: Intent names that start the flow.
        steps: In order; the first is entered when the flow starts.
        source: Where the flow is defined.
    """

    id: str
    steps: tuple[Step, ...]
    description: str = ""
    keywords: tuple[str, ...] = ()
    intents: tuple[str, ...] = ()
    source: Source = field(default_factory=lambda: Source("<memory>"))

    def step(self, step_id: str) -> Step | None:
        """The step called ``step_id``, or ``None``."""
        for step in self.steps:
            if step.id == step_id:
                return step
        return None

    def after(self, step_id: str) -> Step | None:
        """The step that follows ``step_id``, or ``None`` at the end of the flow."""
        ids = [s.id for s in self.steps]
        index = ids.index(step_id) + 1
        return self.steps[index] if index < len(self.steps) else None
