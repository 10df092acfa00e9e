"""The generic flow runner: given where a session stands and what the user said, the next turn.

The runner never writes the store nor sends: it returns a :class:`Turn` (replies, the new
position, the new session data, and how the flow ended, if it did) that the engine commits and
sends. Goodbye and cancel are handled by the engine before the runner, in one place.

Versions: every loaded flow is kept by ``(id, version)``; a conversation carries the version it
started with (``Session.flow_version``) and keeps running it, with the texts of that version,
after a hot reload changes the file. A version the process no longer knows (after a restart)
falls back to the current flow of the same id.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rapidfuzz import fuzz

from bot import templates
from bot.channels.base import Choice
from bot.clock import Clock, utc_now
from bot.flows.actions import ActionContext, ActionFailed, Actions
from bot.flows.checks import TRIGGER_SLOT
from bot.flows.conditions import Condition
from bot.flows.model import Flow, HandoffAction, SlotType, Step, Target, Text
from bot.flows.slots import fold, parse_answer, region_of
from bot.flows.turn import Reply, Turn
from bot.locales import Locales
from bot.sessions.model import Session

log = logging.getLogger(__name__)

FLOW_COMPLETED = "flow_completed"
"""Close reason when a flow runs past its last step without an explicit ``end``."""
TOO_MANY_RETRIES = "too_many_retries"
"""Close reason when ``max_retries`` invalid answers ran out and ``on_max_retries`` is cancel."""
ACTION_FAILED = "action_failed"
"""Close reason when an action failed and its step has no ``on_error``."""
FLOW_LOOP = "flow_loop"
"""Close reason when a flow jumps around without asking anything (an authoring mistake)."""
MAX_HOPS = 50
"""Steps one turn may enter before the runner stops a loop that never asks anything."""


@dataclass(slots=True)
class _Context:
    """The flow version a turn runs, its texts, and for whom."""

    flow: Flow
    locales: Locales
    lang: str
    session: Session


class FlowRunner:
    """Runs flows loaded by :func:`bot.flows.load_flows`.

    Args:
        flows: The current flows by id.
        locales: Their texts.
        actions: Runs ``action`` steps (default: real HTTP, pool claims next to pool files).
        clock: Current time, for date answers (``mañana``) relative to now.
        earlier: The runner of the previous content (hot reload): the flow versions it ran
            stay runnable here, for the conversations that started in them.

    A runner's flows and texts never change once built: a reload builds a new runner.
    """

    def __init__(
        self,
        flows: Mapping[str, Flow],
        locales: Locales,
        actions: Actions | None = None,
        clock: Clock = utc_now,
        *,
        earlier: FlowRunner | None = None,
    ) -> None:
        self.actions = actions or Actions()
        self.clock = clock
        self._versions: dict[tuple[str, str], tuple[Flow, Locales]] = (
            dict(earlier._versions) if earlier is not None else {}
        )
        for flow in flows.values():
            self._versions[(flow.id, flow.version)] = (flow, locales)
        self.flows: Mapping[str, Flow] = dict(flows)
        self.locales = locales
        self._keywords = [(fold(k), flow) for flow in self.flows.values() for k in flow.keywords]
        self._titles: dict[int, tuple[Step, Locales, list[tuple[str, list[str]]]]] = (
            earlier._titles if earlier is not None else {}
        )

    # -- content ------------------------------------------------------------------------

    def _resolve(self, flow_id: str | None, version: str | None) -> tuple[Flow, Locales] | None:
        if flow_id is None:
            return None
        kept = self._versions.get((flow_id, version or ""))
        if kept is not None:
            return kept
        current = self.flows.get(flow_id)
        return (current, self.locales) if current is not None else None

    def _context(self, session: Session) -> _Context | None:
        resolved = self._resolve(session.flow_id, session.flow_version)
        if resolved is None:
            return None
        flow, locales = resolved
        lang = flow.language or locales.language_or_default(session.language)
        return _Context(flow, locales, lang, session)

    # -- questions the engine and the session service ask ---------------------------------

    def waiting_step(self, session: Session) -> Step | None:
        """The step ``session`` waits at for an answer, if it still exists."""
        if session.step_id is None:
            return None
        context = self._context(session)
        step = context.flow.step(session.step_id) if context else None
        return step if step is not None and step.ask is not None else None

    def question(self, session: Session) -> Reply | None:
        """The question ``session`` waits at, rendered again (with its options), or ``None``
        outside a question."""
        step = self.waiting_step(session)
        context = self._context(session)
        if step is None or context is None or step.say is None:
            return None
        choices, button = self._choices(context, step, session.data)
        return Reply(self._render(context, step.say, session.data), step.id, choices, button)

    def accepts_tap(self, session: Session, payload: str | None) -> bool:
        """True when ``payload`` is the id of an option of the question ``session`` waits at."""
        step = self.waiting_step(session)
        return step is not None and step.has_option(payload)

    def is_cancel_keyword(self, session: Session, text: str) -> bool:
        """True when ``text`` holds one of the running flow's ``cancel_keywords``."""
        context = self._context(session) if session.step_id is not None else None
        if context is None or not context.flow.cancel_keywords:
            return False
        padded = f" {fold(text)} "
        return any(f" {fold(k)} " in padded for k in context.flow.cancel_keywords)

    def timeout_s(self, session: Session) -> float | None:
        """The running flow's own inactivity timeout in seconds, if it has one."""
        context = self._context(session) if session.step_id is not None else None
        if context is None or context.flow.timeout_min is None:
            return None
        return context.flow.timeout_min * 60.0

    def timeout_notice(self, session: Session) -> str | None:
        """The running flow's own timeout message, rendered for ``session``, if it has one."""
        context = self._context(session) if session.step_id is not None else None
        if context is None or context.flow.timeout_message is None:
            return None
        return self._render(context, context.flow.timeout_message, session.data)

    def match_trigger(self, text: str, intent: str | None) -> Flow | None:
        """The flow that ``text`` (or its classified ``intent``) starts, or ``None``.

        An intent trigger wins over a keyword; a keyword matches whole words of the text
        (accents and case ignored), or a close misspelling of a word of five letters or more.
        """
        if intent:
            for flow in self.flows.values():
                if intent in flow.intents:
                    return flow
        words = fold(text).split()
        padded = f" {' '.join(words)} "
        for keyword, flow in self._keywords:
            if " " in keyword:
                if f" {keyword} " in padded:
                    return flow
                continue
            for word in words:
                if word == keyword or (
                    len(keyword) >= 5 and fuzz.ratio(word, keyword, score_cutoff=85) > 0
                ):
                    return flow
        return None

    # -- turns ----------------------------------------------------------------------------

    async def start(self, flow: Flow, session: Session, intent: str | None = None) -> Turn:
        """Enter ``flow`` (its current version) at its first step for ``session``.

        The slot ``trigger`` holds the trigger ``intent`` that started it (unset when a
        keyword started it), so a flow can branch on it (``if: trigger == 'cancel_order'``).
        """
        turn = Turn(
            flow_id=flow.id, version=flow.version, data=dict(session.data), language=flow.language
        )
        if intent is not None and intent in flow.intents:
            turn.data[TRIGGER_SLOT] = intent
        else:
            turn.data.pop(TRIGGER_SLOT, None)  # unset: reads as null in conditions
        lang = flow.language or self.locales.language_or_default(session.language)
        context = _Context(flow, self.locales, lang, session)
        await self._run(context, flow.steps[0], turn)
        return turn

    async def answer(self, session: Session, text: str, payload: str | None = None) -> Turn:
        """Feed the user's ``text`` (or tapped ``payload``) to the step ``session`` waits at.

        An invalid answer re-asks (with the options again, for choices) and stays, until
        ``max_retries`` run out. A session whose flow or step no longer exists leaves the flow.
        """
        turn = Turn(
            flow_id=session.flow_id,
            step_id=session.step_id,
            version=session.flow_version,
            retries=session.step_retries,
            data=dict(session.data),
        )
        context = self._context(session)
        step = context.flow.step(session.step_id) if context else None
        if context is None or step is None or step.ask is None:
            turn.flow_id = turn.step_id = turn.version = None
            turn.retries = 0
            return turn
        ask = step.ask
        value = parse_answer(
            ask,
            text,
            payload,
            lang=context.lang,
            now=self.clock(),
            user_region=region_of(session.key.user_id),
            option_titles=self._option_titles(context, step),
        )
        if value is None:
            turn.retries += 1
            if turn.retries > ask.max_retries:
                log.info("%s/%s: retries exhausted", context.flow.id, step.id)
                turn.retries = 0
                following = self._go(context, ask.on_max_retries, turn, TOO_MANY_RETRIES)
                await self._run(context, following, turn)
            else:
                choices, button = self._choices(context, step, turn.data)
                reply = self._render(context, ask.invalid, turn.data)
                turn.replies.append(Reply(reply, step.id, choices, button))
            return turn
        turn.retries = 0
        turn.data[ask.slot] = value
        if ask.type is SlotType.CHOICE:
            option = next(o for o in ask.options if o.value == value)
            turn.data[f"{ask.slot}_label"] = self._render(context, option.title, turn.data)
        await self._run(context, self._next(context, step, turn, value), turn)
        return turn

    async def resume(self, session: Session) -> Turn:
        """Go on with ``session``'s flow where it stands, after a person gave the conversation
        back (handoff): ``step_id`` is entered again (a question is asked again). Outside a
        flow, or when its flow or step no longer exists, the turn has no flow and no reply."""
        turn = Turn(flow_id=session.flow_id, version=session.flow_version, data=dict(session.data))
        context = self._context(session) if session.step_id is not None else None
        step = context.flow.step(session.step_id or "") if context is not None else None
        if context is None or step is None:
            turn.flow_id = turn.version = None
            return turn
        await self._run(context, step, turn)
        return turn

    # -- the walk -------------------------------------------------------------------------

    async def _run(self, context: _Context, step: Step | None, turn: Turn) -> None:
        """Enter ``step`` and go on until a question waits or the flow ends."""
        hops = 0
        while step is not None and turn.end_reason is None:
            hops += 1
            if hops > MAX_HOPS:
                log.error("flow %s loops without asking anything at %s", context.flow.id, step.id)
                turn.finish(FLOW_LOOP, "cancelled")
                return
            turn.step_id = step.id
            for slot, value in step.set.items():
                if isinstance(value, Condition):
                    turn.data[slot] = value.evaluate(turn.data)
                elif isinstance(value, str):
                    turn.data[slot] = templates.render(value, turn.data, context.lang)
                else:
                    turn.data[slot] = value
            if isinstance(step.action, HandoffAction):  # a person takes it from here
                if step.say is not None:
                    turn.replies.append(Reply(self._render(context, step.say, turn.data), step.id))
                turn.hand_off(step.action.reason, step.id, self._next(context, step, turn, None))
                return
            if step.action is not None:
                failed = await self._act(context, step, turn)
                if failed:
                    if step.on_error is None:
                        turn.finish(ACTION_FAILED, "cancelled")
                        return
                    step = self._go(context, step.on_error, turn, ACTION_FAILED)
                    continue
            if step.say is not None:
                choices, button = self._choices(context, step, turn.data)
                text = self._render(context, step.say, turn.data)
                turn.replies.append(Reply(text, step.id, choices, button))
                if self._finalizes(context.flow, text):
                    turn.finish(context.flow.finalization_reason)
                    return
            if step.ask is not None:
                turn.retries = 0
                return
            if step.end is not None:
                turn.finish(step.end)
                return
            step = self._next(context, step, turn, None)
        if turn.end_reason is None and step is None:
            turn.finish(FLOW_COMPLETED)

    async def _act(self, context: _Context, step: Step, turn: Turn) -> bool:
        """Run ``step``'s action; on failure send its apology and return True."""
        assert step.action is not None
        action_context = ActionContext(
            session_id=context.session.id,
            user_id=context.session.key.user_id,
            flow_id=context.flow.id,
            step_id=step.id,
            language=context.lang,
            data=turn.data,
            render=lambda text: self._render(context, text, turn.data),
        )
        try:
            turn.data.update(await self.actions.run(step.action, action_context))
        except ActionFailed as exc:
            log.warning("action of %s/%s failed: %s", context.flow.id, step.id, exc.reason)
            apology = step.error or Text(key="action_failed")
            turn.replies.append(Reply(self._render(context, apology, turn.data), step.id))
            return True
        return False

    def _next(self, context: _Context, step: Step, turn: Turn, answer: Any) -> Step | None:
        """The step after ``step``: the first ``next`` rule that applies, else the following."""
        for rule in step.next:
            if rule.value is not None:
                taken = answer is not None and _answer_key(answer) == fold(rule.value)
            elif rule.condition is not None:
                taken = rule.condition.holds(turn.data)
            else:
                taken = True
            if taken:
                return self._go(context, rule.target, turn, "cancel")
        return context.flow.after(step.id)

    def _go(self, context: _Context, target: Target, turn: Turn, cancel_reason: str) -> Step | None:
        """The step ``target`` leads to (switching ``context`` to another flow for
        ``flow:<id>``), or ``None`` after ending the turn for ``cancel``."""
        if target.kind == "cancel":
            turn.finish(cancel_reason, "cancelled")
            return None
        if target.kind == "flow":
            flow = self.flows.get(target.name)
            if flow is None:  # validation prevents it; a reload may have removed the flow
                log.error("flow %s jumps to unknown flow %s", context.flow.id, target.name)
                turn.finish(FLOW_COMPLETED)
                return None
            context.flow, context.locales = flow, self.locales
            context.lang = flow.language or self.locales.language_or_default(
                context.session.language
            )
            turn.flow_id, turn.version = flow.id, flow.version
            turn.language = flow.language or turn.language
            return flow.steps[0]
        return context.flow.step(target.name)

    # -- texts ----------------------------------------------------------------------------

    def _render(self, context: _Context, text: Text, data: Mapping[str, Any]) -> str:
        return render_text(context.locales, text, context.lang, data)

    def _choices(
        self, context: _Context, step: Step, data: Mapping[str, Any]
    ) -> tuple[tuple[Choice, ...], str]:
        ask = step.ask
        if ask is None or ask.type not in (SlotType.CHOICE, SlotType.YES_NO):
            return (), ""
        button = self._render(context, Text(key="choices.button"), data)
        if ask.type is SlotType.YES_NO:
            return (
                Choice("yes", self._render(context, Text(key="choices.yes"), data)),
                Choice("no", self._render(context, Text(key="choices.no"), data)),
            ), button
        choices = tuple(
            Choice(
                option.value,
                self._render(context, option.title, data),
                self._render(context, option.description, data) if option.description else None,
            )
            for option in ask.options
        )
        return choices, button

    def _option_titles(self, context: _Context, step: Step) -> list[tuple[str, list[str]]]:
        """Each option's value and its title in every language (remembered per step and
        locales: the same for every answer)."""
        known = self._titles.get(id(step))
        if known is not None and known[0] is step and known[1] is context.locales:
            return known[2]
        titles = self._render_titles(context, step)
        self._titles[id(step)] = (step, context.locales, titles)  # keeps step: no id reuse
        return titles

    def _render_titles(self, context: _Context, step: Step) -> list[tuple[str, list[str]]]:
        ask = step.ask
        assert ask is not None
        langs = context.locales.languages
        if ask.type is SlotType.YES_NO:
            return [
                (
                    value,
                    [
                        render_text(context.locales, Text(key=f"choices.{value}"), x, {})
                        for x in langs
                    ],
                )
                for value in ("yes", "no")
            ]
        return [
            (o.value, [render_text(context.locales, o.title, x, {}) for x in langs])
            for o in ask.options
        ]

    @staticmethod
    def _finalizes(flow: Flow, text: str) -> bool:
        if not flow.finalization_keywords:
            return False
        folded = f" {fold(text)} "
        return any(f" {fold(k)} " in folded for k in flow.finalization_keywords)


def render_text(locales: Locales, text: Text, lang: str, data: Mapping[str, Any]) -> str:
    """``text`` in ``lang`` (a locale key's template, or the inline template of ``lang``, else
    of the default language) with ``data`` filled in (see :mod:`bot.templates`)."""
    if text.key is not None:
        template = locales.texts[locales.language_or_default(lang)].get(text.key, text.key)
    else:
        template = (
            text.inline.get(lang)
            or text.inline.get(locales.default_language)
            or next(iter(text.inline.values()), "")
        )
    return templates.render(template, data, lang)


def _answer_key(answer: Any) -> str:
    """How an answer compares with ``next`` keys: ``yes``/``no`` for booleans, ``2`` for 2.0."""
    if isinstance(answer, bool):
        return "yes" if answer else "no"
    if isinstance(answer, float) and answer.is_integer():
        return str(int(answer))
    return fold(str(answer))
