"""Reading the fields of a flow file: names, words, numbers, texts (locale keys or
``{lang: text}``), templates, ``${VAR}`` references, targets and options, each checked, with
every problem recorded (``file:line:column``) instead of stopping at the first.

:class:`FieldReader` is the base of the step and action readers (:mod:`bot.flows.parse_steps`,
:mod:`bot.flows.parse_actions`) and of the file loader (:mod:`bot.flows.loader`).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from bot import templates
from bot.flows.checks import Reference, did_you_mean
from bot.flows.model import (
    Option,
    Target,
    Text,
)
from bot.flows.problems import Problems, value_where
from bot.locales import Locales
from bot.yamlfile import where

OPTION_KEYS = frozenset({"value", "title", "description"})
MAX_OPTIONS = 10
MAX_OPTION_TITLE_CHARS = 24
MAX_OPTION_DESCRIPTION_CHARS = 72
MAX_OPTION_VALUE_CHARS = 200
NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
"""A name in a flow file: a flow or step id, a slot, a close reason."""
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def is_number(value: Any) -> bool:
    """True for an int or float (a YAML ``true`` is not a number)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


class FieldReader:
    """Reads the fields of one flow file, recording problems instead of stopping at the first."""

    def __init__(
        self,
        path: Path,
        locales: Locales,
        env: Mapping[str, str],
        problems: Problems,
        references: list[Reference],
    ) -> None:
        self.path = path
        self.locales = locales
        self.env = env
        self.problems = problems
        self.references = references
        self.languages: tuple[str, ...] = locales.languages
        self.flow_id = path.stem
        self.lines: list[str] = []
        self._checked_keys: set[str] = set()

    # -- small pieces -------------------------------------------------------------------

    def problem(self, node: Any, key: Any, message: str) -> None:
        self.problems.add(self.path, node, key, message)

    def bad_value(self, node: Any, key: Any, message: str) -> None:
        self.problems.add_value(self.path, node, key, message)

    def name(self, node: Mapping[str, Any], key: str, what: str) -> str | None:
        value = node.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not NAME_RE.match(value):
            self.bad_value(node, key, f"{key} must be {what} (letters, digits, _), got {value!r}")
            return None
        return value

    def words(self, node: Mapping[str, Any], key: str) -> tuple[str, ...]:
        value = node.get(key, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            self.bad_value(node, key, f"{key} must be a list of words or phrases")
            return ()
        if key in ("keywords", "intents") and isinstance(node.get(key), list):
            for i, word in enumerate(value):
                self.refer(key.rstrip("s"), str(word), node[key], i)
        return tuple(str(v) for v in value)

    def number(
        self, node: Mapping[str, Any], key: str, default: float, *, minimum: float = 0
    ) -> float:
        value = node.get(key, default)
        if not is_number(value) or value < minimum:
            self.bad_value(node, key, f"{key} must be a number of at least {minimum:g}")
            return default
        return float(value)

    def whole(self, node: Mapping[str, Any], key: str, default: int, *, maximum: int) -> int:
        value = node.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= maximum:
            self.bad_value(node, key, f"{key} must be a whole number from 0 to {maximum}")
            return default
        return value

    def unknown_keys(self, node: Mapping[str, Any], allowed: Collection[str], what: str) -> None:
        for key in node:
            if key not in allowed:
                known = ", ".join(sorted(allowed))
                self.problem(node, key, f"unknown {what} key {key!r} (known: {known})")

    def template(self, node: Any, key: Any, template: str, label: str) -> None:
        try:
            templates.check(template)
        except templates.TemplateError as exc:
            self.bad_value(node, key, f"{label}: {exc}")
            return
        for slot in sorted(templates.names(template)):
            self.refer("slot", slot, node, key)

    def text(self, node: Mapping[str, Any], key: str) -> Text | None:
        """A ``say``-like value: a locale key or ``{lang: template}`` for every language."""
        value = node.get(key)
        if value is None:
            return None
        if isinstance(value, str):
            if not self.locales.has(value):
                hint = did_you_mean(value, self.locales.texts[self.locales.default_language])
                self.bad_value(node, key, f"unknown locale key {value!r} in {key}{hint}")
                return None
            if value not in self._checked_keys:
                self._checked_keys.add(value)
                for lang in self.locales.languages:
                    template = self.locales.texts[lang][value]
                    self.template(node, key, template, f"locale text {value!r} ({lang})")
            return Text(key=value)
        if isinstance(value, Mapping):
            for lang in value:
                if lang not in self.locales.languages:
                    self.problem(value, lang, f"unknown language {lang!r} in {key}")
            missing = [lang for lang in self.languages if lang not in value]
            if missing:
                self.bad_value(node, key, f"{key} has no text for {', '.join(missing)}")
            for lang, template in value.items():
                if not isinstance(template, str):
                    self.bad_value(value, lang, f"{key}.{lang} must be a text")
                else:
                    self.template(value, lang, template, f"{key}.{lang}")
            return Text(inline={str(k): str(v) for k, v in value.items()})
        self.bad_value(node, key, f"{key} must be a locale key or {{lang: text}}")
        return None

    def expand(self, node: Mapping[str, Any], key: Any, raw: str) -> str:
        """``raw`` with ``${VAR}`` / ``${VAR:-default}`` replaced from the environment."""

        def replace(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            if self.env.get(name):
                return self.env[name]
            if default is not None:
                return default
            self.bad_value(
                node, key, f"environment variable {name} is not set (or write ${{{name}:-default}})"
            )
            return ""

        return _ENV.sub(replace, raw)

    def target(self, node: Any, key: Any, raw: Any) -> Target | None:
        if not isinstance(raw, str) or not raw:
            self.bad_value(node, key, "a target is a step id, flow:<flow id> or cancel")
            self.refer("broken", "", node, key)
            return None
        if raw == "cancel":
            return Target("cancel")
        kind, name = ("flow", raw[5:]) if raw.startswith("flow:") else ("step", raw)
        if not NAME_RE.match(name):
            self.bad_value(node, key, f"{raw!r} is not a step id, flow:<flow id> or cancel")
            self.refer("broken", "", node, key)
            return None
        found = Target("flow" if kind == "flow" else "step", name)
        self.refer(found.kind, name, node, key)
        return found

    def refer(self, kind: str, name: str, node: Any, key: Any) -> None:
        """Remember a name to check across files (a target, a trigger, a slot read)."""
        line, column = where(node, key) if isinstance(node, list) else value_where(node, key)
        self.references.append(Reference(kind, name, self.flow_id, str(self.path), line, column))

    # -- steps ----------------------------------------------------------------------------

    def options(self, node: Mapping[str, Any]) -> tuple[Option, ...]:
        raw = node.get("options")
        if not isinstance(raw, list) or not raw:
            self.bad_value(node, "options", "a choice needs a list of options")
            return ()
        if len(raw) > MAX_OPTIONS:
            self.bad_value(node, "options", f"at most {MAX_OPTIONS} options (a WhatsApp list)")
        options: list[Option] = []
        for i, item in enumerate(raw):
            if not isinstance(item, Mapping):
                self.problem(raw, i, "an option is a mapping with value and title")
                continue
            self.unknown_keys(item, OPTION_KEYS, "option")
            value = item.get("value")
            if isinstance(value, bool | int | float):
                value = str(value).lower()
            if not isinstance(value, str) or not 1 <= len(value) <= MAX_OPTION_VALUE_CHARS:
                self.problem(raw, i, f"an option needs a value of 1-{MAX_OPTION_VALUE_CHARS} chars")
                continue
            if any(o.value == value for o in options):
                self.bad_value(item, "value", f"duplicate option value {value!r}")
            title = self.text(item, "title") if "title" in item else Text(inline={})
            if "title" not in item:
                self.problem(raw, i, "an option needs a title")
            elif title is not None:
                self.check_length(item, "title", title, MAX_OPTION_TITLE_CHARS)
            description = self.text(item, "description")
            if description is not None:
                self.check_length(item, "description", description, MAX_OPTION_DESCRIPTION_CHARS)
            options.append(Option(value=value, title=title or Text(), description=description))
        return tuple(options)

    def check_length(self, node: Mapping[str, Any], key: str, text: Text, limit: int) -> None:
        for lang in self.locales.languages:
            shown = (
                self.locales.texts[lang].get(text.key, "")
                if text.key is not None
                else text.inline.get(lang, "")
            )
            if "{" not in shown and len(shown) > limit:
                self.bad_value(
                    node,
                    key,
                    f"{key} ({lang}) has {len(shown)} characters; WhatsApp allows {limit}",
                )
