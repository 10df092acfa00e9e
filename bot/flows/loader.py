"""Load and validate ``flows/*.yaml`` into :mod:`bot.flows.model` objects.

Every problem is reported as a :class:`~bot.errors.FlowError` with ``file:line:column``: an
unknown key, a missing locale key, a duplicate step or flow id, an unknown validator or action,
a trigger intent the classifier does not know.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from bot.errors import DataFileError, FlowError
from bot.flows.model import Flow, Source, Step, Text
from bot.flows.validators import VALIDATORS
from bot.locales import Locales
from bot.yamlfile import load_yaml, where

ACTIONS = frozenset({"deliver_credentials"})
FLOW_KEYS = frozenset({"id", "description", "triggers", "steps"})
TRIGGER_KEYS = frozenset({"keywords", "intents"})
STEP_KEYS = frozenset({"id", "say", "collect", "validate", "invalid", "action", "end"})
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _err(path: Path, node: Any, key: Any, problem: str) -> FlowError:
    line, column = where(node, key)
    return FlowError(str(path), line, problem, column)


class _FileLoader:
    def __init__(self, path: Path, locales: Locales) -> None:
        self.path = path
        self.locales = locales

    def text(self, node: Mapping[str, Any], key: str) -> Text | None:
        value = node.get(key)
        if value is None:
            return None
        if isinstance(value, str):
            if not self.locales.has(value):
                raise _err(self.path, node, key, f"unknown locale key {value!r} in {key}")
            return Text(key=value)
        if isinstance(value, Mapping):
            langs = set(self.locales.languages)
            unknown = sorted(set(map(str, value)) - langs)
            if unknown:
                raise _err(self.path, value, unknown[0], f"unknown language {unknown[0]!r}")
            missing = sorted(langs - set(value))
            if missing:
                raise _err(self.path, node, key, f"{key} has no text for {', '.join(missing)}")
            if not all(isinstance(v, str) for v in value.values()):
                raise _err(self.path, node, key, f"{key}: every text must be a string")
            return Text(inline={str(k): str(v) for k, v in value.items()})
        raise _err(self.path, node, key, f"{key} must be a locale key or {{lang: text}}")

    def names(self, node: Mapping[str, Any], key: str) -> tuple[str, ...]:
        value = node.get(key, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise _err(self.path, node, key, f"{key} must be a list of words")
        return tuple(str(v) for v in value)

    def step(self, node: Any, index: int, seq: Any) -> Step:
        if not isinstance(node, Mapping):
            raise _err(self.path, seq, index, "a step must be a mapping")
        for key in node:
            if key not in STEP_KEYS:
                raise _err(self.path, node, key, f"unknown step key {key!r}")
        step_id = node.get("id")
        if not isinstance(step_id, str) or not _NAME.match(step_id):
            raise _err(
                self.path, node, "id" if "id" in node else None, "a step needs an id (a name)"
            )
        collect = node.get("collect")
        if collect is not None and (not isinstance(collect, str) or not _NAME.match(collect)):
            raise _err(self.path, node, "collect", "collect must be a slot name")
        validate = str(node.get("validate", "text"))
        if validate not in VALIDATORS:
            known = ", ".join(sorted(VALIDATORS))
            raise _err(self.path, node, "validate", f"unknown validator {validate!r} ({known})")
        action = node.get("action")
        if action is not None and action not in ACTIONS:
            raise _err(self.path, node, "action", f"unknown action {action!r}")
        end = node.get("end")
        if end is not None and (not isinstance(end, str) or not _NAME.match(end)):
            raise _err(self.path, node, "end", "end must be a close reason (a name)")
        if collect is not None and end is not None:
            raise _err(self.path, node, "end", "a step cannot both collect an answer and end")
        say = self.text(node, "say")
        invalid = self.text(node, "invalid")
        if collect is not None and say is None:
            raise _err(
                self.path, node, "collect", "a step that collects an answer must say a question"
            )
        if collect is not None and invalid is None:
            default_key = f"invalid.{validate}"
            if not self.locales.has(default_key):
                raise _err(
                    self.path,
                    node,
                    "validate",
                    f"no 'invalid' text and no locale key {default_key}",
                )
            invalid = Text(key=default_key)
        line, _ = where(seq, index)
        return Step(
            id=step_id,
            say=say,
            collect=collect,
            validate=validate,
            invalid=invalid,
            action=action,
            end=end,
            source=Source(str(self.path), line),
        )

    def flow(self) -> Flow:
        try:
            data = load_yaml(self.path)
        except DataFileError as exc:
            raise FlowError(exc.path, exc.line, exc.problem, exc.column) from exc
        if not isinstance(data, Mapping):
            raise FlowError(
                str(self.path), 1, "a flow file must be a mapping with id, triggers and steps"
            )
        for key in data:
            if key not in FLOW_KEYS:
                raise _err(self.path, data, key, f"unknown flow key {key!r}")
        flow_id = data.get("id")
        if not isinstance(flow_id, str) or not _NAME.match(flow_id):
            raise _err(
                self.path, data, "id" if "id" in data else None, "a flow needs an id (a name)"
            )
        triggers = data.get("triggers") or {}
        if not isinstance(triggers, Mapping):
            raise _err(self.path, data, "triggers", "triggers must be a mapping")
        for key in triggers:
            if key not in TRIGGER_KEYS:
                raise _err(self.path, triggers, key, f"unknown trigger kind {key!r}")
        steps_node = data.get("steps")
        if not isinstance(steps_node, list) or not steps_node:
            raise _err(self.path, data, "steps" if "steps" in data else None, "a flow needs steps")
        steps = tuple(self.step(node, i, steps_node) for i, node in enumerate(steps_node))
        seen: set[str] = set()
        for i, step in enumerate(steps):
            if step.id in seen:
                raise _err(self.path, steps_node, i, f"duplicate step id {step.id!r}")
            seen.add(step.id)
        line, _ = where(data)
        return Flow(
            id=flow_id,
            description=str(data.get("description", "")),
            keywords=self.names(triggers, "keywords"),
            intents=self.names(triggers, "intents"),
            steps=steps,
            source=Source(str(self.path), line),
        )


def load_flows(
    directory: Path, locales: Locales, known_intents: Collection[str] | None = None
) -> dict[str, Flow]:
    """Load every ``*.yaml`` in ``directory`` (one flow per file), sorted by file name.

    Args:
        directory: The flows folder.
        locales: Texts that ``say``/``invalid`` keys must exist in.
        known_intents: When given, trigger intents must be among them.

    Returns:
        Flows by id.

    Raises:
        FlowError: The first problem found, with ``file:line:column``.
    """
    flows: dict[str, Flow] = {}
    for path in sorted(directory.glob("*.yaml")):
        flow = _FileLoader(path, locales).flow()
        if flow.id in flows:
            raise FlowError(
                str(path),
                flow.source.line,
                f"duplicate flow id {flow.id!r} (also in {flows[flow.id].source})",
            )
        if known_intents is not None:
            for intent in flow.intents:
                if intent not in known_intents:
                    raise FlowError(
                        str(path),
                        flow.source.line,
                        f"trigger intent {intent!r} is not defined in intents/*.yaml",
                    )
        flows[flow.id] = flow
    return flows
