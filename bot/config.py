"""Typed settings: ``config.yaml`` for structure, environment variables (and ``.env``) on top.

Precedence, highest first: the process environment, the ``.env`` file, ``config.yaml``, the
defaults below. Settings are read once, when :func:`load_settings` is called (never at import
time); a missing or invalid one raises :class:`~bot.errors.ConfigError` naming it.

Relative paths in ``config.yaml`` (data folders, ``sqlite:///relative.db``) are resolved against
the folder that holds ``config.yaml``.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from dotenv import dotenv_values

from bot.errors import ConfigError
from bot.yamlfile import load_yaml

DEFAULT_API_URL = "https://graph.facebook.com/v21.0"
SANDBOX_API_URL = "sandbox"
"""``WHATSAPP_API_URL=sandbox``: replies are kept in the store as sent, nothing calls Meta
(see :mod:`bot.channels.sandbox`)."""
DEFAULT_TWILIO_API_URL = "https://api.twilio.com"
LOG_FORMATS = ("text", "json")
SUPPORTED_STORES = ("sqlite", "redis")


@dataclass(frozen=True, slots=True)
class WhatsAppSettings:
    """WhatsApp Cloud API credentials and endpoint (secrets hidden from ``repr``)."""

    api_url: str = DEFAULT_API_URL
    phone_number_id: str = ""
    access_token: str = field(default="", repr=False)
    app_secret: str = field(default="", repr=False)
    verify_token: str = field(default="", repr=False)
    send_timeout_s: float = 10.0

    @property
    def sandbox(self) -> bool:
        """True for ``WHATSAPP_API_URL=sandbox``: replies are kept in the store, not sent."""
        return self.api_url == SANDBOX_API_URL

    @property
    def enabled(self) -> bool:
        """True when an access token is set, or in the sandbox: ``bot serve`` serves the
        Cloud API channel."""
        return bool(self.access_token) or self.sandbox


@dataclass(frozen=True, slots=True)
class TwilioSettings:
    """Twilio account and endpoint for the ``twilio_whatsapp``, ``sms`` and ``voice`` channels.

    The channels are enabled when both ``account_sid`` and ``auth_token`` are set. Replies leave
    from the number the user wrote to, or through ``messaging_service_sid`` when it is set.
    """

    account_sid: str = ""
    auth_token: str = field(default="", repr=False)
    api_url: str = DEFAULT_TWILIO_API_URL
    messaging_service_sid: str = ""
    send_timeout_s: float = 10.0

    @property
    def enabled(self) -> bool:
        """True when the Twilio channels are configured."""
        return bool(self.account_sid and self.auth_token)


SMTP_SECURITY = {"smtp": "plain", "smtp+starttls": "starttls", "smtps": "tls"}
"""``SMTP_URL`` scheme -> how the connection is protected."""
SMTP_DEFAULT_PORTS = {"plain": 25, "starttls": 587, "tls": 465}


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    """Where the ``email`` flow action sends, from ``SMTP_URL`` (password hidden from ``repr``).

    Attributes:
        host, port: The SMTP server.
        security: ``plain`` (``smtp://``: no TLS, for a relay on the same host), ``starttls``
            (``smtp+starttls://``: STARTTLS required) or ``tls`` (``smtps://``: TLS from the
            first byte).
        username, password: Login, when the URL has them (percent-decoded).
        sender: The ``From`` address: the URL's ``?from=``, else the username when it is an
            address, else ``bot@<host>``.
        timeout_s: Seconds allowed for connecting and for each SMTP command.
    """

    host: str
    port: int
    security: str = "plain"
    username: str = ""
    password: str = field(default="", repr=False)
    sender: str = ""
    timeout_s: float = 10.0


def _smtp(raw: str) -> SmtpSettings | None:
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


@dataclass(frozen=True, slots=True)
class NoticeTemplate:
    """An approved WhatsApp template sent instead of a notice that would fall outside the user's
    24-hour customer service window (Meta only accepts templates there).

    Attributes:
        name: The template's name as approved in WhatsApp Manager.
        parameters: Values of the body's ``{{1}}``, ``{{2}}``, ...: each a session slot name
            (``name``) or ``display_name`` (the user's profile name); a missing one is ``""``.
        languages: Bot language → the template's language code (``{"es": "es_MX"}``); a
            language not listed is used as the code itself.
    """

    name: str
    parameters: tuple[str, ...] = ()
    languages: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DeliverySettings:
    """How outbound messages are paced and retried (see :mod:`bot.delivery`).

    Attributes:
        max_mps: Messages per second per WhatsApp business number (Meta's default throughput
            is 80).
        max_attempts: Sends tried per message before it is recorded ``failed``.
        retry_base_s: Backoff before the second attempt, in seconds; it doubles per attempt.
        retry_max_s: Longest backoff between two attempts, in seconds.
        concurrency: Sends in flight at once per business number (default:
            :func:`default_concurrency` of ``max_mps``).
        shutdown_grace_s: Seconds a stopping service keeps sending; the rest stays pending
            for the next start.
        interrupted_grace_s: Seconds a send a dead process left in flight waits, after the
            restart, for the provider's status webhook naming it (then it is recorded sent,
            not sent again); without one it is sent again (at least once). WhatsApp only:
            Twilio echoes nothing back, so its interrupted sends are sent again after it.
        templates: Notice locale key (``close.timeout``) → the template sent instead of it
            outside the 24-hour window; a notice without one is recorded ``skipped_window``.
    """

    max_mps: float = 80.0
    max_attempts: int = 8
    retry_base_s: float = 1.0
    retry_max_s: float = 300.0
    concurrency: int = 32
    shutdown_grace_s: float = 10.0
    interrupted_grace_s: float = 20.0
    templates: Mapping[str, NoticeTemplate] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the service needs to start.

    Attributes:
        base_dir: Folder of ``config.yaml``; relative paths were resolved against it.
        flows_dir, intents_dir, locales_dir: Data folders of YAML files.
        languages: Language codes the bot speaks (each needs ``locales/<lang>.yaml``).
        default_language: Reply language when the user's cannot be told.
        session_timeout_min: Inactivity (minutes, decimals allowed) after which a session closes.
        sweep_interval_s: Seconds between two sweeps for due sessions.
        warn_before_min: Minutes before the timeout to send an "are you still there?"
            warning; ``None`` sends none.
        notify_timeout: Send the timeout notice; when False sessions close silently.
        retention_h: Hours a closed session and its messages are kept.
        database_url: ``sqlite:///path`` (relative to ``base_dir``), ``sqlite:////abs/path``,
            or ``redis://host:port/db`` for several workers on one Redis.
        intent_threshold: Minimum confidence (0..1) for an intent to count.
        intents_learned: Train the learned layer (``bot.intents.learned``) at start-up and ask
            it where the lexicon is unsure (about 1 s more start-up and 20 MB; off by default).
        welcome_on_greet: Answer a greeting outside a flow with the localized welcome.
        fallback: ``"help"`` (answer unrecognised input with the help text) or ``"ignore"``.
        admin_token: Bearer token of the admin API; empty disables it (every call 401).
        host, port: Where ``bot serve`` listens.
        log_level: ``DEBUG``, ``INFO``, ``WARNING`` or ``ERROR``.
        twilio: Twilio channels (disabled unless configured).
        public_base_url: The service's public ``https://host[/prefix]`` as callers see it
            (behind a proxy); Twilio signatures are checked against it. Empty: the request's
            own URL.
        log_format: ``"text"`` or ``"json"`` (one JSON object per line).
        delivery: Pacing, retries and templates of outbound messages.
        smtp: Where the ``email`` flow action sends (``SMTP_URL``); ``None``: it sends nothing
            and sets ``email_sent`` to false.
        cache_dir: Folder of the classifier's disk cache (lemma tables):
            ``$XDG_CACHE_HOME/whatsapp-intent-bot``, else ``~/.cache/whatsapp-intent-bot``;
            ``None``: the classifier's own default.
    """

    base_dir: Path
    flows_dir: Path
    intents_dir: Path
    locales_dir: Path
    languages: tuple[str, ...] = ("es", "en")
    default_language: str = "es"
    session_timeout_min: float = 30.0
    sweep_interval_s: float = 1.0
    warn_before_min: float | None = None
    notify_timeout: bool = True
    retention_h: float = 168.0
    database_url: str = "sqlite:///data/bot.db"
    intent_threshold: float = 0.75
    intents_learned: bool = False
    welcome_on_greet: bool = True
    fallback: str = "help"
    admin_token: str = field(default="", repr=False)
    host: str = "0.0.0.0"  # noqa: S104 - a service listens on every interface by default
    port: int = 8080
    log_level: str = "INFO"
    whatsapp: WhatsAppSettings = field(default_factory=WhatsAppSettings)
    twilio: TwilioSettings = field(default_factory=TwilioSettings)
    public_base_url: str = ""
    log_format: str = "text"
    delivery: DeliverySettings = field(default_factory=DeliverySettings)
    smtp: SmtpSettings | None = None
    cache_dir: Path | None = None

    @property
    def session_timeout_s(self) -> float:
        """The inactivity timeout in seconds."""
        return self.session_timeout_min * 60.0

    def sqlite_path(self) -> Path:
        """The SQLite file of ``database_url``.

        Raises:
            ConfigError: ``DATABASE_URL`` is not a ``sqlite:///`` URL.
        """
        scheme, _, rest = self.database_url.partition("://")
        if scheme != "sqlite" or not rest.startswith("/") or rest == "/":
            raise ConfigError("DATABASE_URL", f"expected sqlite:///path, got {self.database_url!r}")
        raw = rest[1:]
        path = Path(raw)
        return path if path.is_absolute() else self.base_dir / path


def _section(data: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = data.get(name) or {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"config.yaml: {name}", "must be a mapping")
    return value


def _number(setting: str, raw: Any, *, positive: bool = True) -> float:
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise ConfigError(setting, f"must be a number, got {raw!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ConfigError(setting, f"must be a finite number, got {raw!r}")
    if positive and value <= 0:
        raise ConfigError(setting, f"must be greater than 0, got {raw!r}")
    return value


def _optional_number(setting: str, raw: Any) -> float | None:
    """``None`` for an absent/empty/zero value, else a positive number."""
    if raw in (None, "", 0, "0"):
        return None
    return _number(setting, raw)


def _port(setting: str, raw: Any) -> int:
    try:
        value = int(str(raw))
    except ValueError:
        raise ConfigError(setting, f"must be a whole number from 1 to 65535, got {raw!r}") from None
    if not 0 <= value <= 65535:
        raise ConfigError(setting, f"must be a whole number from 1 to 65535, got {raw!r}")
    return value


def _bool(setting: str, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ConfigError(setting, f"must be true or false, got {raw!r}")


def _http_url(setting: str, raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(setting, f"must be an http(s) URL, got {raw!r}")
    return raw.rstrip("/")


def _whatsapp_api_url(raw: str) -> str:
    """``WHATSAPP_API_URL``: :data:`SANDBOX_API_URL` (any case), or an http(s) URL."""
    if raw.strip().lower() == SANDBOX_API_URL:
        return SANDBOX_API_URL
    try:
        return _http_url("WHATSAPP_API_URL", raw)
    except ConfigError:
        raise ConfigError(
            "WHATSAPP_API_URL", f"must be an http(s) URL or {SANDBOX_API_URL}, got {raw!r}"
        ) from None


def _choice(setting: str, raw: Any, choices: tuple[str, ...]) -> str:
    value = str(raw).strip().lower()
    if value not in choices:
        raise ConfigError(setting, f"must be one of {', '.join(choices)}, got {raw!r}")
    return value


def _is_are(names: list[str]) -> str:
    return "is" if len(names) == 1 else "are"


def _it_them(names: list[str]) -> str:
    return "it" if len(names) == 1 else "them"


_TWILIO_SID = re.compile(r"AC[0-9a-fA-F]{32}")


def _twilio(env: Mapping[str, str], section: Mapping[str, Any]) -> TwilioSettings:
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
            f"{_is_are(missing)} not set, but other TWILIO_* settings are (set all or none)",
        )
    if not _TWILIO_SID.fullmatch(sid):
        raise ConfigError("TWILIO_ACCOUNT_SID", f"must be AC and 32 hex digits, got {sid!r}")
    raw_url = env.get("TWILIO_API_URL") or section.get("api_url", DEFAULT_TWILIO_API_URL)
    return TwilioSettings(
        account_sid=sid,
        auth_token=token,
        api_url=_http_url("TWILIO_API_URL", str(raw_url)),
        messaging_service_sid=service,
        send_timeout_s=_number(
            "config.yaml: twilio.send_timeout_seconds", section.get("send_timeout_seconds", 10)
        ),
    )


def _whole(setting: str, raw: Any, minimum: int = 1) -> int:
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise ConfigError(setting, f"must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(setting, f"must be at least {minimum}, got {raw!r}")
    return value


TEMPLATE_ENV_PREFIX = "WHATSAPP_TEMPLATE_"
"""``WHATSAPP_TEMPLATE_CLOSE_TIMEOUT=name`` names the template of notice ``close.timeout``."""


def _templates(env: Mapping[str, str], raw: Any) -> dict[str, NoticeTemplate]:
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


def _delivery(
    env: Mapping[str, str], section: Mapping[str, Any], wa: Mapping[str, Any]
) -> DeliverySettings:
    """The ``delivery`` section and ``whatsapp.max_mps`` of config.yaml, under the environment."""

    def pick(name: str, key: str, default: Any, where: Mapping[str, Any] = section) -> Any:
        value = env.get(name)
        return value if value not in (None, "") else where.get(key, default)

    retry_base_s = _number(
        "DELIVERY_RETRY_BASE_SECONDS", pick("DELIVERY_RETRY_BASE_SECONDS", "retry_base_seconds", 1)
    )
    retry_max_s = _number(
        "DELIVERY_RETRY_MAX_SECONDS", pick("DELIVERY_RETRY_MAX_SECONDS", "retry_max_seconds", 300)
    )
    if retry_max_s < retry_base_s:
        raise ConfigError(
            "DELIVERY_RETRY_MAX_SECONDS",
            f"must be at least DELIVERY_RETRY_BASE_SECONDS ({retry_base_s:g})",
        )
    max_mps = _number("WHATSAPP_MAX_MPS", pick("WHATSAPP_MAX_MPS", "max_mps", 80, wa))
    return DeliverySettings(
        max_mps=max_mps,
        max_attempts=_whole(
            "DELIVERY_MAX_ATTEMPTS", pick("DELIVERY_MAX_ATTEMPTS", "max_attempts", 8)
        ),
        retry_base_s=retry_base_s,
        retry_max_s=retry_max_s,
        concurrency=_whole(
            "DELIVERY_CONCURRENCY",
            pick("DELIVERY_CONCURRENCY", "concurrency", default_concurrency(max_mps)),
        ),
        shutdown_grace_s=_number(
            "DELIVERY_SHUTDOWN_GRACE_SECONDS",
            pick("DELIVERY_SHUTDOWN_GRACE_SECONDS", "shutdown_grace_seconds", 10),
        ),
        interrupted_grace_s=_number(
            "DELIVERY_INTERRUPTED_GRACE_SECONDS",
            pick("DELIVERY_INTERRUPTED_GRACE_SECONDS", "interrupted_grace_seconds", 20),
        ),
        templates=_templates(env, section.get("templates")),
    )


def _cache_dir(env: Mapping[str, str]) -> Path:
    """The service's cache folder: ``$XDG_CACHE_HOME/whatsapp-intent-bot``, else
    ``~/.cache/whatsapp-intent-bot`` (the XDG base directory rule)."""
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "whatsapp-intent-bot"


def read_environment(env_file: Path | None) -> dict[str, str]:
    """Merge ``env_file`` (python-dotenv syntax, optional) under the process environment."""
    merged: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        merged.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    merged.update(os.environ)
    return merged


def load_settings(config_path: Path, env: Mapping[str, str]) -> Settings:
    """Read ``config_path`` and apply ``env`` on top.

    Args:
        config_path: The ``config.yaml`` file (must exist).
        env: Environment variables, e.g. from :func:`read_environment`.

    Raises:
        ConfigError: A setting is missing or invalid; the message names it.
        DataFileError: ``config.yaml`` is not valid YAML (with file:line).
    """
    if not config_path.is_file():
        raise ConfigError("--config", f"file not found: {config_path}")
    data = load_yaml(config_path) or {}
    if not isinstance(data, Mapping):
        raise ConfigError(str(config_path), "must be a mapping of sections")
    base = config_path.resolve().parent

    paths = _section(data, "paths")
    server = _section(data, "server")
    session = _section(data, "session")
    store = _section(data, "store")
    intents = _section(data, "intents")
    behaviour = _section(data, "behaviour")
    wa = _section(data, "whatsapp")

    def env_or(name: str, fallback: Any) -> Any:
        value = env.get(name)
        return value if value not in (None, "") else fallback

    languages_raw = data.get("languages", ["es", "en"])
    if (
        not isinstance(languages_raw, list)
        or not languages_raw
        or not all(isinstance(x, str) and x for x in languages_raw)
    ):
        raise ConfigError("config.yaml: languages", "must be a non-empty list of language codes")
    languages = tuple(str(x) for x in languages_raw)
    default_language = str(env_or("DEFAULT_LANGUAGE", data.get("default_language", languages[0])))
    if default_language not in languages:
        raise ConfigError("DEFAULT_LANGUAGE", f"{default_language!r} is not one of {languages}")

    fallback = str(behaviour.get("fallback", "help"))
    if fallback not in ("help", "ignore"):
        raise ConfigError("config.yaml: behaviour.fallback", "must be 'help' or 'ignore'")
    log_level = str(env_or("LOG_LEVEL", data.get("log_level", "INFO"))).upper()
    if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError("LOG_LEVEL", f"must be DEBUG, INFO, WARNING or ERROR, got {log_level!r}")
    threshold = _number("config.yaml: intents.threshold", intents.get("threshold", 0.75))
    if threshold > 1:
        raise ConfigError("config.yaml: intents.threshold", "must be above 0 and at most 1")

    settings = Settings(
        base_dir=base,
        flows_dir=base / str(paths.get("flows", "flows")),
        intents_dir=base / str(paths.get("intents", "intents")),
        locales_dir=base / str(paths.get("locales", "locales")),
        languages=languages,
        default_language=default_language,
        session_timeout_min=_number(
            "SESSION_TIMEOUT_MINUTES",
            env_or("SESSION_TIMEOUT_MINUTES", session.get("timeout_minutes", 30)),
        ),
        sweep_interval_s=_number(
            "SESSION_SWEEP_INTERVAL_SECONDS",
            env_or("SESSION_SWEEP_INTERVAL_SECONDS", session.get("sweep_interval_seconds", 1)),
        ),
        warn_before_min=_optional_number(
            "SESSION_WARN_BEFORE_MINUTES",
            env_or("SESSION_WARN_BEFORE_MINUTES", session.get("warn_before_minutes")),
        ),
        notify_timeout=_bool(
            "SESSION_TIMEOUT_NOTIFY",
            env_or("SESSION_TIMEOUT_NOTIFY", session.get("timeout_notify", True)),
        ),
        retention_h=_number(
            "SESSION_RETENTION_HOURS",
            env_or("SESSION_RETENTION_HOURS", session.get("retention_hours", 168)),
        ),
        database_url=str(env_or("DATABASE_URL", store.get("url", "sqlite:///data/bot.db"))),
        intent_threshold=threshold,
        intents_learned=_bool("config.yaml: intents.learned", intents.get("learned", False)),
        welcome_on_greet=_bool(
            "config.yaml: behaviour.welcome_on_greet", behaviour.get("welcome_on_greet", True)
        ),
        fallback=fallback,
        admin_token=str(env.get("ADMIN_TOKEN", "")),
        host=str(env_or("HOST", server.get("host", "0.0.0.0"))),  # noqa: S104
        port=_port("PORT", env_or("PORT", server.get("port", 8080))),
        log_level=log_level,
        whatsapp=WhatsAppSettings(
            api_url=_whatsapp_api_url(
                str(env_or("WHATSAPP_API_URL", wa.get("api_url", DEFAULT_API_URL)))
            ),
            phone_number_id=str(env.get("WHATSAPP_PHONE_NUMBER_ID", "")),
            access_token=str(env.get("WHATSAPP_ACCESS_TOKEN", "")),
            app_secret=str(env.get("WHATSAPP_APP_SECRET", "")),
            verify_token=str(env.get("WHATSAPP_VERIFY_TOKEN", "")),
            send_timeout_s=_number(
                "config.yaml: whatsapp.send_timeout_seconds", wa.get("send_timeout_seconds", 10)
            ),
        ),
        twilio=_twilio(env, _section(data, "twilio")),
        public_base_url=(
            _http_url("PUBLIC_BASE_URL", env["PUBLIC_BASE_URL"])
            if env.get("PUBLIC_BASE_URL")
            else ""
        ),
        log_format=_choice("LOG_FORMAT", env_or("LOG_FORMAT", "text"), LOG_FORMATS),
        delivery=_delivery(env, _section(data, "delivery"), wa),
        smtp=_smtp(env.get("SMTP_URL", "")),
        cache_dir=_cache_dir(env),
    )
    if (
        settings.warn_before_min is not None
        and settings.warn_before_min >= settings.session_timeout_min
    ):
        raise ConfigError(
            "SESSION_WARN_BEFORE_MINUTES",
            f"must be shorter than SESSION_TIMEOUT_MINUTES ({settings.session_timeout_min:g})",
        )
    scheme = settings.database_url.partition("://")[0]
    if scheme not in SUPPORTED_STORES:
        raise ConfigError(
            "DATABASE_URL",
            f"unsupported store {scheme!r} in {settings.database_url!r}; "
            "use sqlite:///path or redis://host:port/db",
        )
    if scheme == "sqlite":
        settings.sqlite_path()  # validates the URL's shape
    else:
        parts = urlsplit(settings.database_url)
        if not parts.hostname:
            raise ConfigError(
                "DATABASE_URL", f"expected redis://host:port/db, got {settings.database_url!r}"
            )
        try:
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError:
            raise ConfigError("DATABASE_URL", f"bad port in {settings.database_url!r}") from None
    for name, folder in (
        ("paths.flows", settings.flows_dir),
        ("paths.intents", settings.intents_dir),
        ("paths.locales", settings.locales_dir),
    ):
        if not folder.is_dir():
            raise ConfigError(f"config.yaml: {name}", f"folder not found: {folder}")
    return settings


def require_serve_settings(settings: Settings) -> None:
    """Check what ``bot serve`` needs beyond what ``bot chat`` needs.

    A deployment on Twilio only (``TWILIO_ACCOUNT_SID`` and ``TWILIO_AUTH_TOKEN`` set, no
    ``WHATSAPP_*`` token) serves without the Cloud API channel. The sandbox
    (``WHATSAPP_API_URL=sandbox``) needs no WhatsApp token: nothing is sent to Meta.

    Raises:
        ConfigError: ``WHATSAPP_ACCESS_TOKEN`` and/or ``WHATSAPP_VERIFY_TOKEN`` is missing (one
            error naming every missing one, so one run shows them all).
    """
    wa = settings.whatsapp
    if wa.sandbox:
        return
    if settings.twilio.enabled and not (wa.access_token or wa.verify_token):
        return
    missing = [
        name
        for name, value in (
            ("WHATSAPP_ACCESS_TOKEN", wa.access_token),
            ("WHATSAPP_VERIFY_TOKEN", wa.verify_token),
        )
        if not value
    ]
    if missing:
        raise ConfigError(
            ", ".join(missing),
            f"{_is_are(missing)} not set (put {_it_them(missing)} in .env or the environment; "
            "to serve Twilio only, without the WhatsApp Cloud API, set TWILIO_ACCOUNT_SID and "
            "TWILIO_AUTH_TOKEN instead)",
        )

