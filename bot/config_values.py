"""Reading one setting's value: numbers, ports, booleans, URLs, choices, and the compound
values (``SMTP_URL``, the Twilio account, the delivery section and its templates), each
checked; a bad one raises :class:`~bot.errors.ConfigError` naming the setting."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from bot.config_model import (
    DEFAULT_TWILIO_API_URL,
    SANDBOX_API_URL,
    SMTP_DEFAULT_PORTS,
    SMTP_SECURITY,
    DeliverySettings,
    NoticeTemplate,
    SmtpSettings,
    TwilioSettings,
)
from bot.errors import ConfigError


def smtp_settings(raw: str) -> SmtpSettings | None:
    """``SMTP_URL`` (``smtp://``, ``smtp+starttls://`` or ``smtps://user:pass@host:port``,
    optional ``?from=bot@example.com``); ``None`` when it is empty."""
    if not raw.strip():
        return None
    parts = urlsplit(raw.strip())
    expected = "smtp://, smtp+starttls:// or smtps://[user:pass@]host[:port][?from=address]"
    security = SMTP_SECURITY.get(parts.scheme.lower())
    if security is None or not parts.hostname:
        raise ConfigError("SMTP_URL", f"expected {expected}")
    try:
        port = parts.port or SMTP_DEFAULT_PORTS[security]
    except ValueError:
        raise ConfigError("SMTP_URL", f"bad port; expected {expected}") from None
    query = parse_qs(parts.query)
    unknown = set(query) - {"from"}
    if unknown:
        raise ConfigError("SMTP_URL", f"unknown parameters {sorted(unknown)} (only from=)")
    username = unquote(parts.username or "")
    sender = (query.get("from") or [""])[0] or (username if "@" in username else "")
    return SmtpSettings(
        host=parts.hostname,
        port=port,
        security=security,
        username=username,
        password=unquote(parts.password or ""),
        sender=sender or f"bot@{parts.hostname}",
    )


def section_of(data: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    """Section ``name`` of config.yaml (``{}`` when absent); not a mapping raises."""
    value = data.get(name) or {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"config.yaml: {name}", "must be a mapping")
    return value


def as_number(setting: str, raw: Any, *, positive: bool = True) -> float:
    """``raw`` as a finite number (greater than 0 when ``positive``)."""
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise ConfigError(setting, f"must be a number, got {raw!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ConfigError(setting, f"must be a finite number, got {raw!r}")
    if positive and value <= 0:
        raise ConfigError(setting, f"must be greater than 0, got {raw!r}")
    return value


def as_optional_number(setting: str, raw: Any) -> float | None:
    """``None`` for an absent/empty/zero value, else a positive number."""
    if raw in (None, "", 0, "0"):
        return None
    return as_number(setting, raw)


def as_port(setting: str, raw: Any) -> int:
    """``raw`` as a TCP port number."""
    try:
        value = int(str(raw))
    except ValueError:
        raise ConfigError(setting, f"must be a whole number from 1 to 65535, got {raw!r}") from None
    if not 0 <= value <= 65535:
        raise ConfigError(setting, f"must be a whole number from 1 to 65535, got {raw!r}")
    return value


def as_bool(setting: str, raw: Any) -> bool:
    """``raw`` as a boolean (1/0, true/false, yes/no, on/off)."""
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ConfigError(setting, f"must be true or false, got {raw!r}")


def as_http_url(setting: str, raw: str) -> str:
    """``raw`` as an http(s) URL without its trailing slash."""
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(setting, f"must be an http(s) URL, got {raw!r}")
    return raw.rstrip("/")


def as_whatsapp_api_url(raw: str) -> str:
    """``WHATSAPP_API_URL``: :data:`SANDBOX_API_URL` (any case), or an http(s) URL."""
    if raw.strip().lower() == SANDBOX_API_URL:
        return SANDBOX_API_URL
    try:
        return as_http_url("WHATSAPP_API_URL", raw)
    except ConfigError:
        raise ConfigError(
            "WHATSAPP_API_URL", f"must be an http(s) URL or {SANDBOX_API_URL}, got {raw!r}"
        ) from None


def as_choice(setting: str, raw: Any, choices: tuple[str, ...]) -> str:
    """``raw`` lower-cased, one of ``choices``."""
    value = str(raw).strip().lower()
    if value not in choices:
        raise ConfigError(setting, f"must be one of {', '.join(choices)}, got {raw!r}")
    return value


def is_are(names: list[str]) -> str:
    """The verb for ``names`` in an error message."""
    return "is" if len(names) == 1 else "are"


def it_them(names: list[str]) -> str:
    """The pronoun for ``names`` in an error message."""
    return "it" if len(names) == 1 else "them"


_TWILIO_SID = re.compile(r"AC[0-9a-fA-F]{32}")


def twilio_settings(env: Mapping[str, str], section: Mapping[str, Any]) -> TwilioSettings:
    """The Twilio settings; a half-configured account names the missing setting."""
    sid = env.get("TWILIO_ACCOUNT_SID", "").strip()
    token = env.get("TWILIO_AUTH_TOKEN", "").strip()
    service = env.get("TWILIO_MESSAGING_SERVICE_SID", "").strip()
    if not (sid or token or service):
        return TwilioSettings()
    missing = [n for n, v in (("TWILIO_ACCOUNT_SID", sid), ("TWILIO_AUTH_TOKEN", token)) if not v]
    if missing:
        raise ConfigError(
            ", ".join(missing),
            f"{is_are(missing)} not set, but other TWILIO_* settings are (set all or none)",
        )
    if not _TWILIO_SID.fullmatch(sid):
        raise ConfigError("TWILIO_ACCOUNT_SID", f"must be AC and 32 hex digits, got {sid!r}")
    raw_url = env.get("TWILIO_API_URL") or section.get("api_url", DEFAULT_TWILIO_API_URL)
    return TwilioSettings(
        account_sid=sid,
        auth_token=token,
        api_url=as_http_url("TWILIO_API_URL", str(raw_url)),
        messaging_service_sid=service,
        send_timeout_s=as_number(
            "config.yaml: twilio.send_timeout_seconds", section.get("send_timeout_seconds", 10)
        ),
    )


def as_whole(setting: str, raw: Any, minimum: int = 1) -> int:
    """``raw`` as a whole number of at least ``minimum``."""
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise ConfigError(setting, f"must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(setting, f"must be at least {minimum}, got {raw!r}")
    return value


TEMPLATE_ENV_PREFIX = "WHATSAPP_TEMPLATE_"
"""``WHATSAPP_TEMPLATE_CLOSE_TIMEOUT=name`` names the template of notice ``close.timeout``."""


def notice_templates(env: Mapping[str, str], raw: Any) -> dict[str, NoticeTemplate]:
    """``delivery.templates`` of config.yaml, with ``WHATSAPP_TEMPLATE_<KEY>`` names on top
    (``<KEY>`` is the locale key upper-cased, its first dot an underscore)."""
    where = "config.yaml: delivery.templates"
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise ConfigError(where, "must map notice keys (close.timeout) to templates")
    found: dict[str, NoticeTemplate] = {}
    for notice, spec in raw.items():
        here = f"{where}.{notice}"
        if isinstance(spec, str):
            spec = {"name": spec}
        if not isinstance(spec, Mapping) or not str(spec.get("name") or "").strip():
            raise ConfigError(here, "needs a name (the approved template's)")
        unknown = set(spec) - {"name", "parameters", "languages"}
        if unknown:
            raise ConfigError(here, f"unknown keys {sorted(unknown)} (name, parameters, languages)")
        parameters = spec.get("parameters") or []
        languages = spec.get("languages") or {}
        if not isinstance(parameters, list) or not all(isinstance(p, str) for p in parameters):
            raise ConfigError(f"{here}.parameters", "must be a list of slot names")
        if not isinstance(languages, Mapping):
            raise ConfigError(f"{here}.languages", "must map bot languages to template codes")
        found[str(notice)] = NoticeTemplate(
            str(spec["name"]).strip(),
            tuple(parameters),
            {str(k): str(v) for k, v in languages.items()},
        )
    for name, value in env.items():
        if not name.startswith(TEMPLATE_ENV_PREFIX) or not value.strip():
            continue
        section, _, rest = name.removeprefix(TEMPLATE_ENV_PREFIX).lower().partition("_")
        if not rest:
            raise ConfigError(name, "expected WHATSAPP_TEMPLATE_<SECTION>_<NAME> (_CLOSE_TIMEOUT)")
        notice = f"{section}.{rest}"
        previous = found.get(notice)
        found[notice] = NoticeTemplate(
            value.strip(),
            previous.parameters if previous else (),
            previous.languages if previous else {},
        )
    return found


SEND_TIME_BUDGET_S = 0.25
"""Time one Graph API send is assumed to take, in seconds, when sizing the sends in flight."""


def default_concurrency(max_mps: float) -> int:
    """Sends in flight per business number when ``DELIVERY_CONCURRENCY`` is not set: enough
    to reach ``max_mps`` when a send takes :data:`SEND_TIME_BUDGET_S`; at least 32, at most
    1,000 (80 messages/s, Meta's default throughput, gives 32; 1,000/s gives 250)."""
    return max(32, min(1_000, math.ceil(max_mps * SEND_TIME_BUDGET_S)))


def delivery_settings(
    env: Mapping[str, str], section: Mapping[str, Any], wa: Mapping[str, Any]
) -> DeliverySettings:
    """The ``delivery`` section and ``whatsapp.max_mps`` of config.yaml, under the environment."""

    def pick(name: str, key: str, default: Any, where: Mapping[str, Any] = section) -> Any:
        value = env.get(name)
        return value if value not in (None, "") else where.get(key, default)

    retry_base_s = as_number(
        "DELIVERY_RETRY_BASE_SECONDS", pick("DELIVERY_RETRY_BASE_SECONDS", "retry_base_seconds", 1)
    )
    retry_max_s = as_number(
        "DELIVERY_RETRY_MAX_SECONDS", pick("DELIVERY_RETRY_MAX_SECONDS", "retry_max_seconds", 300)
    )
    if retry_max_s < retry_base_s:
        raise ConfigError(
            "DELIVERY_RETRY_MAX_SECONDS",
            f"must be at least DELIVERY_RETRY_BASE_SECONDS ({retry_base_s:g})",
        )
    max_mps = as_number("WHATSAPP_MAX_MPS", pick("WHATSAPP_MAX_MPS", "max_mps", 80, wa))
    return DeliverySettings(
        max_mps=max_mps,
        max_attempts=as_whole(
            "DELIVERY_MAX_ATTEMPTS", pick("DELIVERY_MAX_ATTEMPTS", "max_attempts", 8)
        ),
        retry_base_s=retry_base_s,
        retry_max_s=retry_max_s,
        concurrency=as_whole(
            "DELIVERY_CONCURRENCY",
            pick("DELIVERY_CONCURRENCY", "concurrency", default_concurrency(max_mps)),
        ),
        shutdown_grace_s=as_number(
            "DELIVERY_SHUTDOWN_GRACE_SECONDS",
            pick("DELIVERY_SHUTDOWN_GRACE_SECONDS", "shutdown_grace_seconds", 10),
        ),
        interrupted_grace_s=as_number(
            "DELIVERY_INTERRUPTED_GRACE_SECONDS",
            pick("DELIVERY_INTERRUPTED_GRACE_SECONDS", "interrupted_grace_seconds", 20),
        ),
        templates=notice_templates(env, section.get("templates")),
    )
