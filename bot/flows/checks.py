"""Checks across flow files, run after each file is parsed (see :func:`check_flows`).

- every ``next`` / ``goto`` / ``on_error`` / ``on_max_retries`` step exists in its flow, and
  every ``flow:<id>`` target is a flow;
- every step can be reached from the first one (not reported in a flow where a target is
  already reported wrong: that mistake is the cause, and one mistake gives one error);
- trigger intents exist in ``intents/*.yaml``; no keyword or intent triggers two flows;
- every slot a condition or a template reads is set by some step (collected, ``set``, saved
  from an action) in some flow.

An unknown name is reported with the closest known one ("did you mean 'ask_party'?").
"""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from bot.errors import FlowError
from bot.flows.model import CredentialsAction, EmailAction, Flow, HttpAction, SlotType
from bot.flows.problems import Problems

BUILT_IN_SLOTS = frozenset({"username", "password"})
"""Slots set by ``deliver_credentials``."""
EMAIL_SENT = "email_sent"
"""Slot set by the ``email`` action: true when sent, false when no SMTP server is set."""
TRIGGER_SLOT = "trigger"
"""Set by the runner when a flow starts: the trigger intent that started it (unset when a
keyword did)."""


@dataclass(frozen=True, slots=True)
class Reference:
    """A name in a flow file that is checked against the other files.

    Attributes:
        kind: ``step``, ``flow`` (targets), ``keyword``, ``intent`` (triggers), ``slot``
            (read by a condition or a template), or ``broken``: a target or branch the loader
            already reported and dropped (its flow's reachability is then unknown).
        name: The name referred to.
        flow_id: The flow whose file holds the reference.
        path, line, column: Where it is written.
    """

    kind: str
    name: str
    flow_id: str
    path: str
    line: int | None
    column: int | None

    def error(self, message: str) -> FlowError:
        return FlowError(self.path, self.line, message, self.column)


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower().strip())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


def close_match(name: str, known: Iterable[str]) -> str | None:
    """The known name closest to ``name`` (a likely typo of it), or None."""
    found = difflib.get_close_matches(name, sorted(set(known)), n=1)
    return found[0] if found else None


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the known name closest to ``name``, or ``""``."""
    match = close_match(name, known)
    return f"; did you mean {match!r}?" if match is not None else ""


def reachable(flow: Flow, aliases: Mapping[str, str] | None = None) -> set[str]:
    """Ids of the steps reachable from the first step of ``flow``.

    Args:
        aliases: Unknown step names → the step meant (a reported typo's suggestion), so
            that the step a misspelt target meant is not reported unreachable too.
    """
    aliases = aliases or {}
    if not flow.steps:
        return set()
    seen: set[str] = set()
    stack = [flow.steps[0].id]
    while stack:
        step = flow.step(stack.pop())
        if step is None or step.id in seen:
            continue
        seen.add(step.id)
        targets = [rule.target for rule in step.next]
        if step.ask is not None:
            targets.append(step.ask.on_max_retries)
        if step.on_error is not None:
            targets.append(step.on_error)
        stack.extend(aliases.get(t.name, t.name) for t in targets if t.kind == "step")
        always = any(rule.value is None and rule.condition is None for rule in step.next)
        following = flow.after(step.id)
        if step.end is None and not always and following is not None:
            stack.append(following.id)
    return seen


def known_slots(flows: Iterable[Flow]) -> set[str]:
    """Every slot some step of ``flows`` can set."""
    slots = {*BUILT_IN_SLOTS, TRIGGER_SLOT}
    for flow in flows:
        for step in flow.steps:
            slots.update(step.set)
            if step.ask is not None:
                slots.add(step.ask.slot)
                if step.ask.type is SlotType.CHOICE:
                    slots.add(f"{step.ask.slot}_label")
            if isinstance(step.action, HttpAction):
                slots.update(step.action.call.save)
            elif isinstance(step.action, CredentialsAction):
                slots.update(BUILT_IN_SLOTS)
            elif isinstance(step.action, EmailAction):
                slots.add(EMAIL_SENT)
    return slots


def check_flows(
    flows: list[Flow],
    references: list[Reference],
    known_intents: Collection[str] | None,
    problems: Problems,
) -> None:
    """Record every cross-file problem of ``flows`` in ``problems``.

    Duplicate flow ids are removed from ``flows`` (the first one stays). Unknown names are
    reported with the closest known one; a step is not reported unreachable when a wrong
    target of its flow is the likely cause (the target's suggestion is that step, or the
    target has no suggestion).
    """
    by_id: dict[str, Flow] = {}
    for flow in list(flows):
        if flow.id in by_id:
            problems.add_error(
                FlowError(
                    flow.source.path,
                    flow.source.line,
                    f"duplicate flow id {flow.id!r} (also in {by_id[flow.id].source.path})",
                    1,
                )
            )
            flows.remove(flow)
            continue
        by_id[flow.id] = flow
    slots = known_slots(flows)
    triggers: dict[tuple[str, str], Reference] = {}
    aliases: dict[str, dict[str, str]] = {}  # flow id -> unknown step name -> the step meant
    uncertain: set[str] = set()  # flows with a wrong target nothing suggests a step for
    for ref in references:
        owner = by_id.get(ref.flow_id)
        if ref.kind == "broken":
            uncertain.add(ref.flow_id)
        elif ref.kind == "step" and owner is not None and owner.step(ref.name) is None:
            meant = close_match(ref.name, (s.id for s in owner.steps))
            if meant is not None:
                aliases.setdefault(ref.flow_id, {})[ref.name] = meant
                hint = f"; did you mean {meant!r}?"
            else:
                uncertain.add(ref.flow_id)
                hint = f"; did you mean 'flow:{ref.name}'?" if ref.name in by_id else ""
            problems.add_error(
                ref.error(f"unknown step {ref.name!r} in flow {ref.flow_id!r}{hint}")
            )
        elif ref.kind == "flow" and ref.name not in by_id:
            hint = did_you_mean(ref.name, by_id)
            problems.add_error(ref.error(f"unknown flow {ref.name!r}{hint}"))
        elif ref.kind == "slot" and ref.name not in slots:
            hint = did_you_mean(ref.name, slots)
            problems.add_error(ref.error(f"no step sets the slot {ref.name!r}{hint}"))
        elif ref.kind in ("keyword", "intent"):
            if ref.kind == "intent" and known_intents is not None and ref.name not in known_intents:
                hint = did_you_mean(ref.name, known_intents)
                problems.add_error(
                    ref.error(f"trigger intent {ref.name!r} is not defined in intents/*.yaml{hint}")
                )
            key = (ref.kind, _fold(ref.name))
            first = triggers.setdefault(key, ref)
            if first is not ref and first.flow_id != ref.flow_id:
                problems.add_error(
                    ref.error(
                        f"{ref.kind} {ref.name!r} already triggers flow {first.flow_id!r} "
                        f"({first.path}:{first.line})"
                    )
                )
    for flow in flows:
        if flow.id in uncertain:
            continue  # a wrong target was reported: any unreached step may be the one it meant
        reached = reachable(flow, aliases.get(flow.id))
        for step in flow.steps:
            if step.id not in reached:
                problems.add_error(
                    FlowError(
                        step.source.path,
                        step.source.line,
                        f"step {step.id!r} cannot be reached (no next/goto leads to it, and "
                        "the step before it ends or always jumps)",
                        step.source.column,
                    )
                )
    problems.items.sort(key=lambda e: (e.path, e.line or 0, e.column or 0))
