"""Typed settings: ``config.yaml`` for structure, environment variables (and ``.env``) on top.

Precedence, highest first: the process environment, the ``.env`` file, ``config.yaml``, the
defaults below. Settings are read once, when :func:`load_settings` is called (never at import
time); a missing or invalid one raises :class:`~bot.errors.ConfigError` naming it.

Relative paths in ``config.yaml`` (data folders, ``sqlite:///relative.db``) are resolved against
the folder that holds ``config.yaml``.

The settings' shapes are in :mod:`bot.config_model`, the reading of one value in
:mod:`bot.config_values`, what ``bot serve`` needs more in :mod:`bot.config_serve`; this
module reads the environment and the file, and puts them together (every name importable
from here).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from dotenv import dotenv_values

from bot.config_model import (
    DEFAULT_API_URL,
    DEFAULT_TWILIO_API_URL,
    LOG_FORMATS,
    SANDBOX_API_URL,
    SMTP_DEFAULT_PORTS,
    SMTP_SECURITY,
    SUPPORTED_STORES,
    DeliverySettings,
    NoticeTemplate,
    Settings,
    SmtpSettings,
    TwilioSettings,
    WhatsAppSettings,
)
from bot.config_serve import require_serve_settings
from bot.config_values import (
    SEND_TIME_BUDGET_S,
    TEMPLATE_ENV_PREFIX,
    as_bool,
    as_choice,
    as_http_url,
    as_number,
    as_optional_number,
    as_port,
    as_whatsapp_api_url,
    default_concurrency,
    delivery_settings,
    section_of,
    smtp_settings,
    twilio_settings,
)
from bot.errors import ConfigError
from bot.yamlfile import load_yaml

__all__ = [
    "DEFAULT_API_URL",
    "DEFAULT_TWILIO_API_URL",
    "LOG_FORMATS",
    "SANDBOX_API_URL",
    "SEND_TIME_BUDGET_S",
    "SMTP_DEFAULT_PORTS",
    "SMTP_SECURITY",
    "SUPPORTED_STORES",
    "TEMPLATE_ENV_PREFIX",
    "DeliverySettings",
    "NoticeTemplate",
    "Settings",
    "SmtpSettings",
    "TwilioSettings",
    "WhatsAppSettings",
    "default_concurrency",
    "load_settings",
    "read_environment",
    "require_serve_settings",
]


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

    paths = section_of(data, "paths")
    server = section_of(data, "server")
    session = section_of(data, "session")
    store = section_of(data, "store")
    intents = section_of(data, "intents")
    behaviour = section_of(data, "behaviour")
    wa = section_of(data, "whatsapp")

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
    threshold = as_number("config.yaml: intents.threshold", intents.get("threshold", 0.75))
    if threshold > 1:
        raise ConfigError("config.yaml: intents.threshold", "must be above 0 and at most 1")

    settings = Settings(
        base_dir=base,
        flows_dir=base / str(paths.get("flows", "flows")),
        intents_dir=base / str(paths.get("intents", "intents")),
        locales_dir=base / str(paths.get("locales", "locales")),
        languages=languages,
        default_language=default_language,
        session_timeout_min=as_number(
            "SESSION_TIMEOUT_MINUTES",
            env_or("SESSION_TIMEOUT_MINUTES", session.get("timeout_minutes", 30)),
        ),
        sweep_interval_s=as_number(
            "SESSION_SWEEP_INTERVAL_SECONDS",
            env_or("SESSION_SWEEP_INTERVAL_SECONDS", session.get("sweep_interval_seconds", 1)),
        ),
        warn_before_min=as_optional_number(
            "SESSION_WARN_BEFORE_MINUTES",
            env_or("SESSION_WARN_BEFORE_MINUTES", session.get("warn_before_minutes")),
        ),
        handoff_timeout_min=as_number(
            "HANDOFF_TIMEOUT_MINUTES",
            env_or("HANDOFF_TIMEOUT_MINUTES", session.get("handoff_timeout_minutes", 1440)),
        ),
        notify_timeout=as_bool(
            "SESSION_TIMEOUT_NOTIFY",
            env_or("SESSION_TIMEOUT_NOTIFY", session.get("timeout_notify", True)),
        ),
        retention_h=as_number(
            "SESSION_RETENTION_HOURS",
            env_or("SESSION_RETENTION_HOURS", session.get("retention_hours", 168)),
        ),
        database_url=str(env_or("DATABASE_URL", store.get("url", "sqlite:///data/bot.db"))),
        intent_threshold=threshold,
        intents_learned=as_bool("config.yaml: intents.learned", intents.get("learned", True)),
        intents_training=tuple(base / str(path) for path in intents.get("training") or ()),
        welcome_on_greet=as_bool(
            "config.yaml: behaviour.welcome_on_greet", behaviour.get("welcome_on_greet", True)
        ),
        fallback=fallback,
        admin_token=str(env.get("ADMIN_TOKEN", "")),
        host=str(env_or("HOST", server.get("host", "0.0.0.0"))),  # noqa: S104
        port=as_port("PORT", env_or("PORT", server.get("port", 8080))),
        log_level=log_level,
        whatsapp=WhatsAppSettings(
            api_url=as_whatsapp_api_url(
                str(env_or("WHATSAPP_API_URL", wa.get("api_url", DEFAULT_API_URL)))
            ),
            phone_number_id=str(env.get("WHATSAPP_PHONE_NUMBER_ID", "")),
            access_token=str(env.get("WHATSAPP_ACCESS_TOKEN", "")),
            app_secret=str(env.get("WHATSAPP_APP_SECRET", "")),
            verify_token=str(env.get("WHATSAPP_VERIFY_TOKEN", "")),
            send_timeout_s=as_number(
                "config.yaml: whatsapp.send_timeout_seconds", wa.get("send_timeout_seconds", 10)
            ),
        ),
        twilio=twilio_settings(env, section_of(data, "twilio")),
        public_base_url=(
            as_http_url("PUBLIC_BASE_URL", env["PUBLIC_BASE_URL"])
            if env.get("PUBLIC_BASE_URL")
            else ""
        ),
        log_format=as_choice("LOG_FORMAT", env_or("LOG_FORMAT", "text"), LOG_FORMATS),
        delivery=delivery_settings(env, section_of(data, "delivery"), wa),
        smtp=smtp_settings(env.get("SMTP_URL", "")),
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
            "use sqlite:///path, redis://host:port/db or redis+cluster://host:port[,host:port...]",
        )
    if scheme == "sqlite":
        settings.sqlite_path()  # validates the URL's shape
    elif scheme == "redis+cluster":
        _check_cluster_url(settings.database_url)
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


def _check_cluster_url(url: str) -> None:
    """``redis+cluster://[user:password@]host:port[,host:port...]``: at least one node, each
    ``host:port``.

    Raises:
        ConfigError: A node is not ``host:port`` (names ``DATABASE_URL``).
    """
    rest = url.partition("://")[2].partition("/")[0].rpartition("@")[2]
    for node in rest.split(","):
        host, _, port = node.strip().rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ConfigError(
                "DATABASE_URL",
                f"expected redis+cluster://host:port[,host:port...], got node {node!r}",
            )
