"""What one turn of a flow gives the engine: the replies to send and where the session stands
afterwards (:class:`Turn`), built by :class:`~bot.flows.runner.FlowRunner`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.channels.base import Choice, choices_payload

__all__ = ["Reply", "Turn"]


@dataclass(frozen=True, slots=True)
class Reply:
    """A text to send, the step that produced it, and the options it offers (if any)."""

    text: str
    step_id: str | None
    choices: tuple[Choice, ...] = ()
    list_button: str = ""

    @property
    def payload(self) -> dict[str, Any] | None:
        """The outbound message payload (see :func:`bot.channels.base.choices_payload`)."""
        return choices_payload(self.choices, self.list_button) if self.choices else None


@dataclass(slots=True)
class Turn:
    """The outcome of one user input inside (or into) a flow.

    Attributes:
        replies: Texts to send, in order.
        flow_id: The flow the session is in afterwards (once it ended: the flow that ran, or
            ``None`` when the session left a flow that no longer exists).
        step_id: The step waiting for an answer afterwards (``None`` once it ended).
        version: The version of ``flow_id`` the session runs.
        retries: Invalid answers given so far to the waiting step.
        data: The session data afterwards (collected slots, action results).
        language: Set when the flow fixes the session's language.
        end_reason: Set when the flow ended: the session closes with this reason ...
        end_status: ... and this status (``completed`` or ``cancelled``).
        handoff_reason: Set when a ``handoff`` action ran: a person takes the conversation
            with this reason (``step_id`` is then where the flow resumes afterwards) ...
        handoff_step: ... from this step (the one whose action ran).
    """

    replies: list[Reply] = field(default_factory=list)
    flow_id: str | None = None
    step_id: str | None = None
    version: str | None = None
    retries: int = 0
    data: dict[str, Any] = field(default_factory=dict)
    language: str | None = None
    end_reason: str | None = None
    end_status: str = "completed"
    handoff_reason: str | None = None
    handoff_step: str | None = None

    def finish(self, reason: str, status: str = "completed") -> None:
        """End the flow: the session closes with ``status``/``reason``."""
        self.step_id = None
        self.retries = 0
        self.end_reason, self.end_status = reason, status

    def hand_off(self, reason: str, from_step: str, resume: Any) -> None:
        """Hand the conversation to a person at ``from_step``; the flow resumes at ``resume``
        (a :class:`~bot.flows.model.Step`, or ``None``: it ends there) when the bot gets it
        back."""
        self.handoff_reason, self.handoff_step = reason, from_step
        self.step_id = resume.id if resume is not None else None
        self.retries = 0
