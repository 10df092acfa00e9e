"""Reading a step's action: ``deliver_credentials`` (generated, from a pool file, or from an
HTTP call), ``http`` (a call whose JSON reply fills slots), ``email`` and ``handoff``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bot.errors import DataFileError
from bot.flows.credentials import read_pool
from bot.flows.model import (
    Action,
    CredentialsAction,
    EmailAction,
    HandoffAction,
    HttpAction,
    HttpCall,
)
from bot.flows.parse_fields import NAME_RE, FieldReader

HTTP_KEYS = frozenset({"url", "headers", "timeout_seconds", "retries", "backoff_seconds", "save"})
HANDOFF_REASON = "[a-z][a-z0-9_]{0,63}"
"""A ``handoff`` action's ``reason``."""
CREDENTIALS_KEYS = frozenset({"provider", "file"} | HTTP_KEYS - {"save"})


class ActionReader(FieldReader):
    """Reads the actions of one flow file's steps."""

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
                if not isinstance(slot, str) or not NAME_RE.match(slot):
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
        if raw == "handoff":
            return HandoffAction()
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
        if name == "handoff":
            return self.handoff_action(config)
        if name != "deliver_credentials":
            self.problem(
                raw, name, f"unknown action {name!r} (deliver_credentials, http, email, handoff)"
            )
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

    def handoff_action(self, config: Mapping[str, Any]) -> Action | None:
        """``handoff`` or ``{handoff: {reason: no_invoice}}``."""
        self.unknown_keys(config, {"reason"}, "handoff")
        reason = config.get("reason", "flow")
        if not isinstance(reason, str) or not re.fullmatch(HANDOFF_REASON, reason):
            self.bad_value(
                config, "reason", "reason is 1-64 lowercase letters, digits or _, starting a-z"
            )
            return None
        return HandoffAction(reason)
