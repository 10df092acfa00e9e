"""Load ``flows/*.yaml`` into :mod:`bot.flows.model` objects, reporting every problem.

Each file is parsed on its own (:class:`_FileLoader`, over the readers of its fields,
steps and actions: :mod:`bot.flows.parse_fields`, :mod:`bot.flows.parse_steps`,
:mod:`bot.flows.parse_actions`): unknown keys, bad values, missing locale
keys or languages, template and regular-expression syntax, options, actions, ``${VAR}``
references. Then :mod:`bot.flows.checks` looks across files: targets of ``next`` and friends,
unreachable steps, trigger intents and duplicate triggers, slots read by conditions. Every
problem carries ``file:line:column``; :func:`load_flows` raises them all together.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping
from pathlib import Path

from bot.errors import DataFileError
from bot.flows.checks import Reference, check_flows
from bot.flows.model import Flow, SlotType, Source, Step
from bot.flows.parse_actions import CREDENTIALS_KEYS, HTTP_KEYS
from bot.flows.parse_fields import (
    MAX_OPTION_DESCRIPTION_CHARS,
    MAX_OPTION_TITLE_CHARS,
    MAX_OPTION_VALUE_CHARS,
    MAX_OPTIONS,
    NAME_RE,
    OPTION_KEYS,
)
from bot.flows.parse_steps import ASK_KEYS, STEP_KEYS, StepReader
from bot.flows.problems import Problems
from bot.flows.slots import warm_dates
from bot.locales import Locales
from bot.yamlfile import load_yaml, where

__all__ = [
    "ASK_KEYS",
    "CREDENTIALS_KEYS",
    "FLOW_KEYS",
    "HTTP_KEYS",
    "MAX_OPTIONS",
    "MAX_OPTION_DESCRIPTION_CHARS",
    "MAX_OPTION_TITLE_CHARS",
    "MAX_OPTION_VALUE_CHARS",
    "OPTION_KEYS",
    "STEP_KEYS",
    "TRIGGER_KEYS",
    "flow_files",
    "load_flows",
]

FLOW_KEYS = frozenset(
    {
        "id",
        "description",
        "triggers",
        "language",
        "cancel_keywords",
        "timeout_minutes",
        "timeout_message",
        "finalization_keywords",
        "finalization_reason",
        "steps",
    }
)
TRIGGER_KEYS = frozenset({"keywords", "intents"})


class _FileLoader(StepReader):
    """Parses one flow file, recording problems instead of stopping at the first."""

    def flow(self) -> Flow | None:
        try:
            raw_bytes = self.path.read_bytes()
            self.lines = raw_bytes.decode("utf-8", errors="replace").splitlines()
            data = load_yaml(self.path)
        except OSError as exc:
            self.problems.add_error(DataFileError(str(self.path), None, f"cannot read: {exc}"))
            return None
        except DataFileError as exc:
            self.problems.add_error(exc)
            return None
        if not isinstance(data, Mapping):
            self.problems.add_error(
                DataFileError(
                    str(self.path), 1, "a flow file is a mapping with id, triggers, steps", 1
                )
            )
            return None
        self.unknown_keys(data, FLOW_KEYS, "flow")
        flow_id = data.get("id")
        if not isinstance(flow_id, str) or not NAME_RE.match(flow_id):
            self.problem(data, "id" if "id" in data else None, "a flow needs an id (a name)")
            flow_id = self.path.stem
        self.flow_id = flow_id
        language = data.get("language")
        if language is not None:
            if language not in self.locales.languages:
                known = ", ".join(self.locales.languages)
                self.bad_value(data, "language", f"language {language!r} is not one of {known}")
                language = None
            else:
                self.languages = (str(language),)
        triggers = data.get("triggers") or {}
        if not isinstance(triggers, Mapping):
            self.bad_value(data, "triggers", "triggers is a mapping with keywords and intents")
            triggers = {}
        self.unknown_keys(triggers, TRIGGER_KEYS, "trigger")
        timeout_min = None
        if "timeout_minutes" in data:
            timeout_min = self.number(data, "timeout_minutes", 0.0, minimum=0.001) or None
        steps_node = data.get("steps")
        steps: list[Step] = []
        if not isinstance(steps_node, list) or not steps_node:
            self.problem(data, "steps" if "steps" in data else None, "a flow needs steps")
        else:
            for i, node in enumerate(steps_node):
                step = self.step(node, i, steps_node)
                if step is None:
                    continue
                if any(s.id == step.id for s in steps):
                    self.problem(steps_node, i, f"duplicate step id {step.id!r}")
                steps.append(step)
        description = data.get("description", "")
        line, _ = where(data)
        return Flow(
            id=flow_id,
            steps=tuple(steps),
            description=str(description) if description is not None else "",
            keywords=self.words(triggers, "keywords"),
            intents=self.words(triggers, "intents"),
            language=language,
            cancel_keywords=self.words(data, "cancel_keywords"),
            timeout_min=timeout_min,
            timeout_message=self.text(data, "timeout_message"),
            finalization_keywords=self.words(data, "finalization_keywords"),
            finalization_reason=self.name(data, "finalization_reason", "a close reason")
            or "finalized",
            version=hashlib.sha256(raw_bytes).hexdigest()[:12],
            source=Source(str(self.path), line),
        )


def flow_files(directory: Path) -> list[Path]:
    """The flow files of ``directory``: ``*.yaml`` and ``*.yml`` directly in it, by name."""
    return sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])


def load_flows(
    directory: Path,
    locales: Locales,
    known_intents: Collection[str] | None = None,
    env: Mapping[str, str] | None = None,
) -> dict[str, Flow]:
    """Load every flow file of ``directory`` (one flow per file).

    Args:
        directory: The flows folder.
        locales: Texts that locale keys must exist in (in every language).
        known_intents: When given, trigger intents must be among them.
        env: Values for ``${VAR}`` in URLs and headers, handed over by the caller (the
            service passes :func:`bot.config.read_environment`'s); none when left out.

    Returns:
        Flows by id.

    Raises:
        InvalidFlows: Every problem found, each with ``file:line:column``.
    """
    problems = Problems()
    references: list[Reference] = []
    flows: list[Flow] = []
    for path in flow_files(directory):
        loader = _FileLoader(path, locales, {} if env is None else env, problems, references)
        flow = loader.flow()
        if flow is not None:
            flows.append(flow)
    check_flows(flows, references, known_intents, problems)
    problems.raise_if_any()
    if any(step.ask and step.ask.type is SlotType.DATE for flow in flows for step in flow.steps):
        warm_dates()  # at load time, not on the first date a user answers
    return {flow.id: flow for flow in flows}
