"""Choose the session store from ``DATABASE_URL``."""

from __future__ import annotations

from bot.config import Settings
from bot.errors import ConfigError
from bot.sessions.redis import RedisStore
from bot.sessions.sqlite import SqliteStore
from bot.sessions.store import SessionStore


def store_from_settings(settings: Settings) -> SessionStore:
    """The (unopened) store for ``settings.database_url``.

    Raises:
        ConfigError: The URL's scheme is not supported (names ``DATABASE_URL``).
    """
    scheme = settings.database_url.partition("://")[0]
    if scheme == "sqlite":
        return SqliteStore(settings.sqlite_path())
    if scheme == "redis":
        return RedisStore(settings.database_url)
    raise ConfigError("DATABASE_URL", f"unsupported store {scheme!r}")
