"""Reading a flow's steps: what a step says, the answer it collects (type, options, bounds,
pattern, retries), the slots it sets, its action and where it goes next (rules on the
answer's value or on conditions)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bot.errors import DataFileError
from bot.flows.conditions import Condition, ConditionSyntaxError
from bot.flows.model import (
    Ask,
    HandoffAction,
    Rule,
    SlotType,
    Source,
    Step,
    Target,
    Text,
)
from bot.flows.parse_actions import ActionReader
from bot.flows.parse_fields import NAME_RE, is_number
from bot.flows.problems import value_where
from bot.yamlfile import where

ASK_KEYS = frozenset(
    {
        "type",
        "options",
        "min",
        "max",
        "integer",
        "region",
        "pattern",
        "invalid",
        "max_retries",
        "on_max_retries",
    }
)
STEP_KEYS = frozenset(
    {"id", "say", "collect", "set", "action", "error", "on_error", "next", "end"} | ASK_KEYS
)


class StepReader(ActionReader):
    """Reads the steps of one flow file."""

    def ask(self, node: Mapping[str, Any], slot: str) -> Ask:
        raw_type = node.get("type", "text")
        try:
            kind = SlotType(raw_type)
        except ValueError:
            known = ", ".join(t.value for t in SlotType)
            self.bad_value(node, "type", f"unknown type {raw_type!r} ({known})")
            kind = SlotType.TEXT
        options = self.options(node) if kind is SlotType.CHOICE else ()
        if kind is not SlotType.CHOICE and "options" in node:
            self.problem(node, "options", "options are for type: choice")
        minimum = maximum = None
        for key in ("min", "max"):
            if key in node:
                if kind is not SlotType.NUMBER:
                    self.problem(node, key, f"{key} is for type: number")
                elif not is_number(node[key]):
                    self.bad_value(node, key, f"{key} must be a number")
                elif key == "min":
                    minimum = float(node[key])
                else:
                    maximum = float(node[key])
        if minimum is not None and maximum is not None and minimum > maximum:
            self.problem(node, "max", "max is below min")
        integer = node.get("integer", False)
        if not isinstance(integer, bool):
            self.bad_value(node, "integer", "integer must be true or false")
            integer = False
        elif integer and kind is not SlotType.NUMBER:
            self.problem(node, "integer", "integer is for type: number")
        region = node.get("region")
        if region is not None and (
            kind is not SlotType.PHONE
            or not isinstance(region, str)
            or not re.fullmatch("[A-Z]{2}", region)
        ):
            self.bad_value(
                node, "region", "region is a two-letter country (AR, US) for type: phone"
            )
            region = None
        pattern = None
        if "pattern" in node:
            try:
                pattern = re.compile(str(node["pattern"]))
            except re.error as exc:
                line, column = value_where(node, "pattern")
                if line is not None and column is not None and exc.pos is not None:
                    written = self.lines[line - 1] if line <= len(self.lines) else ""
                    column += exc.pos + (1 if written[column - 1 : column] in ("'", '"') else 0)
                message = f"bad regular expression: {exc.msg} at position {exc.pos}"
                self.problems.add_error(DataFileError(str(self.path), line, message, column))
        invalid = self.text(node, "invalid")
        if invalid is None and "invalid" not in node:
            default_key = f"invalid.{kind.value}"
            if self.locales.has(default_key):
                invalid = Text(key=default_key)
            else:
                self.problem(node, "collect", f"no 'invalid' text and no locale key {default_key}")
        on_max = Target("cancel")
        if "on_max_retries" in node:
            on_max = self.target(node, "on_max_retries", node["on_max_retries"]) or on_max
        return Ask(
            slot=slot,
            type=kind,
            invalid=invalid or Text(),
            options=options,
            minimum=minimum,
            maximum=maximum,
            integer=integer,
            region=region,
            pattern=pattern,
            max_retries=self.whole(node, "max_retries", 3, maximum=20),
            on_max_retries=on_max,
        )

    def rules(self, node: Mapping[str, Any], ask: Ask | None) -> tuple[Rule, ...]:
        raw = node.get("next")
        if raw is None:
            return ()
        if isinstance(raw, str):
            target = self.target(node, "next", raw)
            return (Rule(target),) if target else ()
        if isinstance(raw, list):
            return self.condition_rules(raw)
        if isinstance(raw, Mapping):
            return self.value_rules(node, raw, ask)
        self.bad_value(node, "next", "next is a target, {answer: target} or a list of {if, goto}")
        self.refer("broken", "", node, "next")
        return ()

    def condition_rules(self, raw: list[Any]) -> tuple[Rule, ...]:
        rules: list[Rule] = []
        default_seen = False
        for i, item in enumerate(raw):
            if not isinstance(item, Mapping) or "goto" not in item:
                self.problem(raw, i, "a branch is {if: condition, goto: target} or {goto: target}")
                self.refer("broken", "", raw, i)
                continue
            self.unknown_keys(item, {"if", "goto"}, "branch")
            if default_seen:
                self.problem(raw, i, "this branch comes after a branch without 'if' and never runs")
            condition = None
            if "if" in item:
                condition = self.condition(item)
            else:
                default_seen = True
            target = self.target(item, "goto", item["goto"])
            if target is not None and ("if" not in item or condition is not None):
                rules.append(Rule(target, condition=condition))
            elif target is not None:
                self.refer("broken", "", item, "goto")  # the branch is dropped: reported above
        return tuple(rules)

    def condition(self, item: Mapping[str, Any]) -> Condition | None:
        raw = item["if"]
        if isinstance(raw, bool):
            raw = str(raw)
        if not isinstance(raw, str) or not raw.strip():
            self.bad_value(item, "if", "a condition is an expression, like quantity > 10")
            return None
        return self.expression(item, "if", raw)

    def expression(self, node: Mapping[str, Any], key: Any, raw: str) -> Condition | None:
        try:
            expression = Condition.parse(raw)
        except ConditionSyntaxError as exc:
            line, column = value_where(node, key)
            if column is not None and exc.offset is not None:
                column += exc.offset - 1
            self.problems.add_error(DataFileError(str(self.path), line, str(exc), column))
            return None
        for slot in sorted(expression.names):
            self.refer("slot", slot, node, key)
        return expression

    def value_rules(
        self, node: Mapping[str, Any], raw: Mapping[Any, Any], ask: Ask | None
    ) -> tuple[Rule, ...]:
        if ask is None:
            self.bad_value(node, "next", "branching by answer needs a step that collects one")
            self.refer("broken", "", node, "next")
            return ()
        allowed: set[str] | None = None
        if ask.type is SlotType.CHOICE:
            allowed = {o.value for o in ask.options}
        elif ask.type is SlotType.YES_NO:
            allowed = {"yes", "no"}
        rules: list[Rule] = []
        default: Rule | None = None
        for key, raw_target in raw.items():
            target = self.target(raw, key, raw_target)
            if key == "else":
                default = Rule(target) if target else None
                continue
            value = (
                {True: "yes", False: "no"}.get(key, str(key)) if not isinstance(key, str) else key
            )
            if allowed is not None and value not in allowed:
                self.problem(
                    raw,
                    key,
                    f"{value!r} is not an answer of this question ({', '.join(sorted(allowed))})",
                )
            if target is not None:
                rules.append(Rule(target, value=value))
        return (*rules, default) if default else tuple(rules)

    def set_values(self, node: Mapping[str, Any]) -> dict[str, Any]:
        raw = node.get("set", {})
        if not isinstance(raw, Mapping):
            self.bad_value(node, "set", "set maps slot names to values")
            return {}
        values: dict[str, Any] = {}
        for slot, value in raw.items():
            if not isinstance(slot, str) or not NAME_RE.match(slot):
                self.problem(raw, slot, f"{slot!r} is not a slot name")
            elif isinstance(value, Mapping | list):
                self.bad_value(raw, slot, "a slot value is a text, a number, true/false or null")
            elif isinstance(value, str) and value.lstrip().startswith("="):
                expression = self.expression(raw, slot, value.lstrip()[1:])
                if expression is not None:
                    values[slot] = expression
            else:
                if isinstance(value, str):
                    self.template(raw, slot, value, f"set.{slot}")
                values[slot] = value
        return values

    def step(self, node: Any, index: int, seq: Any) -> Step | None:
        if not isinstance(node, Mapping):
            self.problem(seq, index, "a step must be a mapping")
            return None
        self.unknown_keys(node, STEP_KEYS, "step")
        step_id = node.get("id")
        if not isinstance(step_id, str) or not NAME_RE.match(step_id):
            self.problem(
                node if "id" in node else seq,
                "id" if "id" in node else index,
                "a step needs an id (letters, digits, _)",
            )
            step_id = f"#{index + 1}"
        say = self.text(node, "say")
        ask = None
        slot = self.name(node, "collect", "a slot name")
        if slot is not None:
            ask = self.ask(node, slot)
            if say is None and "say" not in node:
                self.problem(node, "collect", "a step that collects an answer must say a question")
        elif "collect" not in node:
            for key in sorted(ASK_KEYS & set(node)):
                self.problem(node, key, f"{key} needs collect: <slot>")
        action = self.action(node)
        error = self.text(node, "error")
        on_error = None
        if "on_error" in node:
            on_error = self.target(node, "on_error", node["on_error"])
        if action is None and ("on_error" in node or "error" in node):
            key = "on_error" if "on_error" in node else "error"
            self.problem(node, key, f"{key} needs an action")
        end = self.name(node, "end", "a close reason")
        if end is not None and "collect" in node:
            self.problem(node, "end", "a step cannot both collect an answer and end")
        if end is not None and "next" in node:
            self.problem(node, "next", "a step that ends the flow has no next")
        if isinstance(action, HandoffAction):
            for key in sorted({"collect", "end", "on_error", "error"} & set(node)):
                self.problem(node, key, f"a handoff step has no {key}")
        line, column = where(seq, index)
        return Step(
            id=step_id,
            say=say,
            ask=ask,
            set=self.set_values(node),
            action=action,
            error=error,
            on_error=on_error,
            next=self.rules(node, ask),
            end=end,
            source=Source(str(self.path), line, column),
        )
