"""The generic flow runner: given where a session stands and what the user said, the next turn.

The runner is pure with respect to storage and channels: it returns a :class:`Turn` (texts to
send, the new position, the new session data, and whether the flow ended) and the session
service persists and sends it. Goodbye and cancel are handled before the runner, in one place.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz

from bot.flows.actions import ACTIONS
from bot.flows.model import Flow, Step, Text
from bot.flows.validators import VALIDATORS
from bot.locales import Locales, render

FLOW_COMPLETED = "flow_completed"
"""Close reason when a flow runs past its last step without an explicit ``end``."""


@dataclass(frozen=True, slots=True)
class Reply:
    """A text to send, and the step that produced it (recorded in the message history)."""

    text: str
    step_id: str | None


@dataclass(slots=True)
class Turn:
    """The outcome of one user input inside (or into) a flow.

    Attributes:
        replies: Texts to send, in order.
        flow_id: The flow the session is in afterwards (``None`` once it ended).
        step_id: The step waiting for an answer afterwards (``None`` once it ended).
        data: The session data afterwards (collected slots, action results).
        end_reason: Set when the flow ended: the session closes as completed with this reason.
    """

    replies: list[Reply] = field(default_factory=list)
    flow_id: str | None = None
    step_id: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    end_reason: str | None = None


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


class FlowRunner:
    """Runs flows loaded by :func:`bot.flows.load_flows` with texts from :class:`Locales`."""

    def __init__(self, flows: Mapping[str, Flow], locales: Locales) -> None:
        self.flows = dict(flows)
        self.locales = locales
        self._keywords = [(_fold(k), flow) for flow in self.flows.values() for k in flow.keywords]

    def render(self, text: Text, lang: str | None, data: Mapping[str, Any]) -> str:
        """The text in ``lang`` with ``{slot}`` placeholders filled from ``data``."""
        if text.key is not None:
            return self.locales.text(lang, text.key, data)
        return render(text.inline[self.locales.language_or_default(lang)], data)

    def match_trigger(self, text: str, intent: str | None) -> Flow | None:
        """The flow that ``text`` (or its classified ``intent``) starts, or ``None``.

        An intent trigger wins over a keyword; a keyword matches a whole word of the text
        (accents and case ignored), or a close misspelling of a word of five letters or more.
        """
        if intent:
            for flow in self.flows.values():
                if intent in flow.intents:
                    return flow
        words = [w.strip(".,;:!?¡¿\"'()") for w in _fold(text).split()]
        joined = " ".join(words)
        for keyword, flow in self._keywords:
            if " " in keyword:
                if keyword in joined:
                    return flow
                continue
            for word in words:
                if word == keyword or (
                    len(keyword) >= 5 and fuzz.ratio(word, keyword, score_cutoff=85) > 0
                ):
                    return flow
        return None

    def start(self, flow: Flow, lang: str | None, data: Mapping[str, Any]) -> Turn:
        """Enter ``flow`` at its first step."""
        turn = Turn(flow_id=flow.id, data=dict(data))
        self._enter(flow, flow.steps[0], lang, turn)
        return turn

    def answer(
        self, flow_id: str, step_id: str, text: str, lang: str | None, data: Mapping[str, Any]
    ) -> Turn:
        """Feed the user's ``text`` to the step waiting at ``flow_id``/``step_id``.

        An invalid answer re-asks with the step's ``invalid`` text and stays on the step.
        A session whose flow or step no longer exists (the flows changed) leaves the flow.
        """
        turn = Turn(flow_id=flow_id, step_id=step_id, data=dict(data))
        flow = self.flows.get(flow_id)
        step = flow.step(step_id) if flow else None
        if flow is None or step is None or step.collect is None:
            turn.flow_id = turn.step_id = None
            return turn
        value = VALIDATORS[step.validate](text)
        if value is None:
            if step.invalid is not None:
                turn.replies.append(Reply(self.render(step.invalid, lang, turn.data), step.id))
            return turn
        turn.data[step.collect] = value
        following = flow.after(step.id)
        if following is None:
            turn.flow_id = turn.step_id = None
            turn.end_reason = FLOW_COMPLETED
        else:
            self._enter(flow, following, lang, turn)
        return turn

    def waiting_step(self, flow_id: str | None, step_id: str | None) -> Step | None:
        """The step a session waits at, if it still exists."""
        if flow_id is None or step_id is None:
            return None
        flow = self.flows.get(flow_id)
        return flow.step(step_id) if flow else None

    def _enter(self, flow: Flow, step: Step | None, lang: str | None, turn: Turn) -> None:
        while step is not None:
            if step.action is not None:
                turn.data.update(ACTIONS[step.action](turn.data))
            if step.say is not None:
                turn.replies.append(Reply(self.render(step.say, lang, turn.data), step.id))
            if step.collect is not None:
                turn.step_id = step.id
                return
            if step.end is not None:
                turn.flow_id = turn.step_id = None
                turn.end_reason = step.end
                return
            step = flow.after(step.id)
        turn.flow_id = turn.step_id = None
        turn.end_reason = FLOW_COMPLETED
