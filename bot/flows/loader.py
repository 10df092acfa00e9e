"""Load ``flows/*.yaml`` into :mod:`bot.flows.model` objects, reporting every problem.

Each file is parsed on its own (:class:`_FileLoader`): unknown keys, bad values, missing locale
keys or languages, template and regular-expression syntax, options, actions, ``${VAR}``
references. Then :mod:`bot.flows.checks` looks across files: targets of ``next`` and friends,
unreachable steps, trigger intents and duplicate triggers, slots read by conditions. Every
problem carries ``file:line:column``; :func:`load_flows` raises them all together.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from bot import templates
from bot.errors import DataFileError
from bot.flows.checks import Reference, check_flows, did_you_mean
from bot.flows.conditions import Condition, ConditionSyntaxError
from bot.flows.credentials import read_pool
from bot.flows.model import (
    Action,
    Ask,
    CredentialsAction,
    EmailAction,
    Flow,
    HttpAction,
    HttpCall,
    Option,
    Rule,
    SlotType,
    Source,
    Step,
    Target,
    Text,
)
from bot.flows.problems import Problems, value_where
from bot.locales import Locales
from bot.yamlfile import load_yaml, where

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
HTTP_KEYS = frozenset({"url", "headers", "timeout_seconds", "retries", "backoff_seconds", "save"})
CREDENTIALS_KEYS = frozenset({"provider", "file"} | HTTP_KEYS - {"save"})
OPTION_KEYS = frozenset({"value", "title", "description"})
MAX_OPTIONS = 10
MAX_OPTION_TITLE_CHARS = 24
MAX_OPTION_DESCRIPTION_CHARS = 72
MAX_OPTION_VALUE_CHARS = 200
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class _FileLoader:
    """Parses one flow file, recording problems instead of stopping at the first."""

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
        if not isinstance(value, str) or not _NAME.match(value):
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
        if not _is_number(value) or value < minimum:
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
        if not _NAME.match(name):
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
                elif not _is_number(node[key]):
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

    def http_call(self, node: Mapping[str, Any], what: str, *, saves: bool) -> HttpCall | None:
        self.unknown_keys(node, HTTP_KEYS if saves else CREDENTIALS_KEYS, what)
        raw_url = node.get("url")
        if not isinstance(raw_url, str) or not raw_url:
            self.problem(node, None, f"{what} needs a url")
            return None
        url = self.expand(node, "url", raw_url)
        if url and not re.match(r"^https?://[^/\s]+", url):
            self.bad_value(node, "url", f"url must be http(s)://..., got {url!r}")
        headers: dict[str, str] = {}
        raw_headers = node.get("headers", {})
        if not isinstance(raw_headers, Mapping):
            self.bad_value(node, "headers", "headers must be a mapping of names to texts")
        else:
            for name, value in raw_headers.items():
                if not isinstance(value, str | int):
                    self.bad_value(raw_headers, name, "a header value must be a text")
                else:
                    headers[str(name)] = self.expand(raw_headers, name, str(value))
        save: dict[str, str] = {}
        raw_save = node.get("save", {}) if saves else {}
        if not isinstance(raw_save, Mapping):
            self.bad_value(node, "save", "save maps slot names to fields of the JSON reply")
        else:
            for slot, path in raw_save.items():
                if not isinstance(slot, str) or not _NAME.match(slot):
                    self.problem(raw_save, slot, f"{slot!r} is not a slot name")
                elif not isinstance(path, str) or not path:
                    self.bad_value(raw_save, slot, "a field path is like order.id")
                else:
                    save[slot] = path
        return HttpCall(
            url=url,
            headers=headers,
            timeout_s=self.number(node, "timeout_seconds", 10.0, minimum=0.001),
            retries=self.whole(node, "retries", 2, maximum=10),
            backoff_s=self.number(node, "backoff_seconds", 0.5),
            save=save,
        )

    def action(self, node: Mapping[str, Any]) -> Action | None:
        raw = node.get("action")
        if raw is None:
            return None
        if raw == "deliver_credentials":
            return CredentialsAction()
        if not isinstance(raw, Mapping) or len(raw) != 1:
            self.bad_value(
                node,
                "action",
                "action is deliver_credentials, {deliver_credentials: ...} or {http: ...}",
            )
            return None
        ((name, config),) = raw.items()
        if config is None:
            config = {}
        if not isinstance(config, Mapping):
            self.bad_value(raw, name, f"{name} takes a mapping of settings")
            return None
        if name == "http":
            call = self.http_call(config, "http", saves=True)
            return HttpAction(call) if call is not None else None
        if name == "email":
            return self.email_action(raw, config)
        if name != "deliver_credentials":
            self.problem(raw, name, f"unknown action {name!r} (deliver_credentials, http, email)")
            return None
        provider = config.get("provider", "generated")
        if provider == "generated":
            self.unknown_keys(config, {"provider"}, "deliver_credentials")
            return CredentialsAction()
        if provider == "pool":
            self.unknown_keys(config, {"provider", "file"}, "deliver_credentials")
            raw_file = config.get("file")
            if not isinstance(raw_file, str) or not raw_file:
                self.problem(config, "provider", "a pool needs file: path/to/pool.csv")
                return None
            pool_file = (self.path.parent / raw_file).resolve()
            if not pool_file.is_file():
                self.bad_value(config, "file", f"pool file not found: {pool_file}")
                return None
            try:
                pool = read_pool(pool_file)
            except DataFileError as exc:
                self.problems.add_error(exc)
                return None
            return CredentialsAction(provider="pool", pool_file=pool_file, pool=pool)
        if provider == "http":
            call = self.http_call(config, "deliver_credentials", saves=False)
            return CredentialsAction(provider="http", http=call) if call else None
        self.bad_value(config, "provider", f"unknown provider {provider!r} (generated, pool, http)")
        return None

    def email_action(self, raw: Mapping[str, Any], config: Mapping[str, Any]) -> Action | None:
        self.unknown_keys(config, {"to", "subject", "body"}, "email")
        for key in ("subject", "body"):
            if key not in config:
                self.problem(raw, "email", f"email needs {key}: a locale key or {{lang: text}}")
        to = config.get("to", "{email}")
        if not isinstance(to, str) or not to.strip():
            self.bad_value(config, "to", "to is a template such as '{email}'")
            return None
        self.template(config, "to", to, "email.to")
        subject, body = self.text(config, "subject"), self.text(config, "body")
        if subject is None or body is None:
            return None
        return EmailAction(subject=subject, body=body, to=to)

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
            if not isinstance(slot, str) or not _NAME.match(slot):
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
        if not isinstance(step_id, str) or not _NAME.match(step_id):
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

    # -- the file -------------------------------------------------------------------------

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
        if not isinstance(flow_id, str) or not _NAME.match(flow_id):
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
        loader = _FileLoader(
            path, locales, {} if env is None else env, problems, references
        )
        flow = loader.flow()
        if flow is not None:
            flows.append(flow)
    check_flows(flows, references, known_intents, problems)
    problems.raise_if_any()
    return {flow.id: flow for flow in flows}
