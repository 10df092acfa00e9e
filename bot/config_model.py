"""The settings' shapes: frozen dataclasses of every setting the service reads, and their
defaults (read and checked by :mod:`bot.config`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bot.errors import ConfigError

DEFAULT_API_URL = "https://graph.facebook.com/v21.0"
SANDBOX_API_URL = "sandbox"
"""``WHATSAPP_API_URL=sandbox``: replies are kept in the store as sent, nothing calls Meta
(see :mod:`bot.channels.sandbox`)."""
DEFAULT_TWILIO_API_URL = "https://api.twilio.com"
LOG_FORMATS = ("text", "json")
SUPPORTED_STORES = ("sqlite", "redis", "redis+cluster")


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
        handoff_timeout_min: Inactivity (minutes) after which a session a person has (status
            ``handoff``) closes with ``close.handoff_timeout`` (default 24 h, WhatsApp's
            customer service window).
        retention_h: Hours a closed session and its messages are kept.
        database_url: ``sqlite:///path`` (relative to ``base_dir``), ``sqlite:////abs/path``,
            or ``redis://host:port/db`` for several workers on one Redis, or
            ``redis+cluster://host:port[,host:port...]`` on a Redis Cluster.
        intent_threshold: Minimum confidence (0..1) for an intent to count.
        intents_learned: Use the semantic layer (``bot.intents.semantic``: a sentence encoder
            and a head trained on the intent files and ``intents_training``, cached by input
            hash) where the lexicon is unsure (on by default; about 50 MB and, on a first
            start without the cache, about 4 s more).
        intents_training: Labelled JSON Lines files the learned layer's head trains on besides
            the intent files (``config.yaml`` ``intents.training``, relative to the config's
            folder; a missing one is skipped, logged at INFO).
        welcome_on_greet: Answer a greeting outside a flow with the localized welcome.
        fallback: ``"help"`` (answer unrecognised input with the help text, thanks alone with
            ``thanks_reply``) or ``"ignore"``.
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
    handoff_timeout_min: float = 1440.0
    retention_h: float = 168.0
    database_url: str = "sqlite:///data/bot.db"
    intent_threshold: float = 0.75
    intents_learned: bool = True
    intents_training: tuple[Path, ...] = ()
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
