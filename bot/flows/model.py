"""The flow model: what ``flows/*.yaml`` means once loaded and validated (see docs/flows.md).

Shapes (all frozen):

- :class:`Flow`: ``id``, triggers, optional fixed ``language``, per-flow ``cancel_keywords``,
  ``timeout_min`` and ``timeout_message``, finalization keywords, ordered ``steps``, and a
  ``version`` (hash of the file) that a conversation keeps while it runs.
- :class:`Step`: entering it runs, in order: ``set`` slots, the ``action``, ``say``; then it
  waits for an answer (``ask``), or ``end`` s the flow, or follows ``next`` / the next step.
- :class:`Ask`: the slot an answer goes to, its :class:`SlotType` and checks, the re-ask text,
  ``max_retries`` and what happens when they run out.
- :class:`Rule`: one branch of ``next``: a target, taken when the answer equals ``value`` or
  the ``condition`` on the session data is true (or always, when neither is given).
- :class:`Text`: a locale key, or inline texts per language.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from bot.flows.conditions import Condition


@dataclass(frozen=True, slots=True)
class Source:
    """Where a definition stands: file, 1-based line and column, for messages and logs."""

    path: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        return f"{self.path}:{self.line}" if self.line is not None else self.path


@dataclass(frozen=True, slots=True)
class Text:
    """A text to send: a locale ``key`` or ``inline`` templates by language (exactly one set)."""

    key: str | None = None
    inline: Mapping[str, str] = field(default_factory=dict)


class SlotType(StrEnum):
    """What an answer must be, and what is stored (see :mod:`bot.flows.slots`)."""

    TEXT = "text"
    NUMBER = "number"
    EMAIL = "email"
    PHONE = "phone"
    DATE = "date"
    CHOICE = "choice"
    YES_NO = "yes_no"


@dataclass(frozen=True, slots=True)
class Option:
    """One option of a ``choice`` question.

    Attributes:
        value: Stored in the slot; also the reply-button / list-row id (1-200 characters).
        title: Shown on the button or list row (at most 20 / 24 characters).
        description: A second line under a list row (at most 72 characters).
    """

    value: str
    title: Text
    description: Text | None = None


@dataclass(frozen=True, slots=True)
class Target:
    """Where to go: a ``step`` of this flow, the first step of another ``flow``, or ``cancel``
    (close the session as cancelled)."""

    kind: Literal["step", "flow", "cancel"]
    name: str = ""

    def __str__(self) -> str:
        return {"step": self.name, "flow": f"flow:{self.name}", "cancel": "cancel"}[self.kind]


@dataclass(frozen=True, slots=True)
class Rule:
    """One branch of a step's ``next``.

    Attributes:
        target: Where the branch leads.
        value: Taken when the step's answer equals this (``yes``/``no`` for ``yes_no``).
        condition: Taken when this expression on the session data is true.
            With neither ``value`` nor ``condition`` the rule always applies (the default).
    """

    target: Target
    value: str | None = None
    condition: Condition | None = None


@dataclass(frozen=True, slots=True)
class Ask:
    """A question: the answer is checked, converted and stored in ``slot``.

    Attributes:
        slot: Session-data key that receives the converted answer.
        type: What the answer must be.
        options: For ``choice``: the options, in the order shown (numbered from 1).
        minimum, maximum: For ``number``: inclusive bounds.
        integer: For ``number``: only whole numbers.
        region: For ``phone``: ISO country (``AR``) for numbers typed without ``+``; by
            default the country of the user's own WhatsApp number.
        pattern: The whole (stripped) answer must match this regular expression.
        invalid: Sent (and the question repeated for choices) when the answer is invalid.
        max_retries: How many times an invalid answer is re-asked; the next invalid answer
            takes ``on_max_retries``.
        on_max_retries: ``cancel`` (close the session as cancelled, reason
            ``too_many_retries``) or a step / flow to continue at.
    """

    slot: str
    type: SlotType
    invalid: Text
    options: tuple[Option, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    integer: bool = False
    region: str | None = None
    pattern: re.Pattern[str] | None = None
    max_retries: int = 3
    on_max_retries: Target = field(default_factory=lambda: Target("cancel"))


@dataclass(frozen=True, slots=True)
class HttpCall:
    """An HTTP POST of the session data, with its reply's fields saved into slots.

    Attributes:
        url: The endpoint (``${VAR}`` already expanded from the environment).
        headers: Extra request headers (``${VAR}`` expanded; for tokens).
        timeout_s: Total time allowed for one attempt, in seconds.
        retries: Further attempts after a failed one (network error, timeout, 5xx, 429).
        backoff_s: Wait before the first retry, in seconds; doubled each time (capped at 30 s).
        save: Slot -> dotted path in the JSON reply (``{order_number: order.id}``).
    """

    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    timeout_s: float = 10.0
    retries: int = 2
    backoff_s: float = 0.5
    save: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Credential:
    """One ``username``/``password`` pair of a static pool file."""

    username: str
    password: str


@dataclass(frozen=True, slots=True)
class CredentialsAction:
    """``deliver_credentials``: sets the ``username`` and ``password`` slots.

    Attributes:
        provider: ``generated`` (from the ``name``/``email`` slots plus random digits, and a
            random password), ``pool`` (the next unused pair of ``pool``; each is handed out
            once) or ``http`` (the JSON reply of ``http``: ``{"username": ..., "password": ...}``).
        pool_file: The pool's CSV file (``username,password`` header), for ``pool``.
        pool: The pool's rows, read when the flow was loaded.
        http: The endpoint, for ``http``.
    """

    provider: Literal["generated", "pool", "http"] = "generated"
    pool_file: Path | None = None
    pool: tuple[Credential, ...] = ()
    http: HttpCall | None = None


@dataclass(frozen=True, slots=True)
class HttpAction:
    """``http``: POST the session data to ``call.url`` and save fields of the JSON reply."""

    call: HttpCall


@dataclass(frozen=True, slots=True)
class EmailAction:
    """``email``: send ``subject``/``body`` (in the reply language) to ``to`` through SMTP.

    Sets the slot ``email_sent``: true once the server accepted the message, false when no
    ``SMTP_URL`` is configured (nothing is sent). A refused or failed send is a failed action.

    Attributes:
        to: A template for the recipient (default ``{email}``, the slot of an ``email`` ask).
        subject, body: The message's texts, rendered with the session data like ``say``.
    """

    subject: Text
    body: Text
    to: str = "{email}"


@dataclass(frozen=True, slots=True)
class HandoffAction:
    """``handoff``: a person of the team takes the conversation. The user gets the localized
    ``handoff.notice`` (after the step's ``say``, if any), the session moves to status
    ``handoff`` with ``reason`` and this step, and the bot stays silent until an agent gives
    it back; the flow then resumes at the step this one leads to (``next``, else the
    following one; the bot greets again when there is none).

    Attributes:
        reason: Recorded with the handoff (statistics, the agents' queue).
    """

    reason: str = "flow"


Action = CredentialsAction | HttpAction | EmailAction | HandoffAction
"""What a step's ``action`` can be."""


@dataclass(frozen=True, slots=True)
class Step:
    """One step of a flow.

    Attributes:
        id: Unique within the flow.
        say: Sent when the step is entered (for a question: the question itself).
        ask: When set, the flow waits here for an answer to store in a slot.
        set: Slots to set on entering, before anything else: plain values, templates (text),
            or a :class:`~bot.flows.conditions.Condition` for ``"= expression"`` values.
        action: Run on entering, after ``set`` and before ``say`` (so ``say`` can use its results).
        error: The apology sent when ``action`` fails (default: locale key ``action_failed``).
        on_error: Where to go after a failed action; by default the flow ends and the session
            closes as cancelled with reason ``action_failed``.
        next: Branches, tried in order after the answer (or on entering, without ``ask``);
            when none applies, the flow goes on with the following step.
        end: Close reason: the flow ends here and the session closes as completed.
        source: Where the step is defined.
    """

    id: str
    say: Text | None = None
    ask: Ask | None = None
    set: Mapping[str, Any] = field(default_factory=dict)
    action: Action | None = None
    error: Text | None = None
    on_error: Target | None = None
    next: tuple[Rule, ...] = ()
    end: str | None = None
    source: Source = field(default_factory=lambda: Source("<memory>"))

    @property
    def collect(self) -> str | None:
        """The slot this step waits for, or ``None`` when it does not wait."""
        return self.ask.slot if self.ask is not None else None

    def has_option(self, value: str | None) -> bool:
        """True when ``value`` is the id of one of this question's buttons or list rows."""
        if value is None or self.ask is None:
            return False
        if self.ask.type is SlotType.YES_NO:
            return value in ("yes", "no")
        return any(option.value == value for option in self.ask.options)


@dataclass(frozen=True, slots=True)
class Flow:
    """A conversation a user starts by a keyword or an intent.

    Attributes:
        id: Unique across ``flows/``.
        steps: In order; the first is entered when the flow starts.
        description: For authors and the admin API.
        keywords: Words or short phrases that start the flow (matched on normalized text).
        intents: Intent names that start the flow.
        language: When set, the flow always speaks this language (and sets the session's).
        cancel_keywords: Extra words that mean "cancel" while this flow runs.
        timeout_min: Inactivity, in minutes, that closes a session in this flow (instead of
            the global ``SESSION_TIMEOUT_MINUTES``).
        timeout_message: The notice sent when that happens (instead of ``close.timeout``).
        finalization_keywords: When a reply of this flow contains one of these phrases
            (accents and case ignored), the session closes after it is sent.
        finalization_reason: The close reason then.
        version: Short hash of the file's bytes; a conversation keeps its version.
        source: Where the flow is defined.
    """

    id: str
    steps: tuple[Step, ...]
    description: str = ""
    keywords: tuple[str, ...] = ()
    intents: tuple[str, ...] = ()
    language: str | None = None
    cancel_keywords: tuple[str, ...] = ()
    timeout_min: float | None = None
    timeout_message: Text | None = None
    finalization_keywords: tuple[str, ...] = ()
    finalization_reason: str = "finalized"
    version: str = ""
    source: Source = field(default_factory=lambda: Source("<memory>"))

    def step(self, step_id: str | None) -> Step | None:
        """The step called ``step_id``, or ``None``."""
        for step in self.steps:
            if step.id == step_id:
                return step
        return None

    def after(self, step_id: str) -> Step | None:
        """The step that follows ``step_id`` in the file, or ``None`` at the end."""
        ids = [s.id for s in self.steps]
        index = ids.index(step_id) + 1
        return self.steps[index] if index < len(self.steps) else None
