"""Choose the session store from ``DATABASE_URL``, and check at start that it can be used."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from bot.clock import Clock, utc_now
from bot.config import Settings
from bot.errors import ConfigError
from bot.sessions.sqlite import SqliteStore
from bot.sessions.store import SessionStore, StoreUnavailable

if TYPE_CHECKING:
    from bot.sessions.redis import RedisStore

DATA_FOLDER = "data"
"""The project's own data folder (``<config.yaml's folder>/data``), created when missing."""


def sqlite_file(settings: Settings) -> Path:
    """The SQLite file of ``DATABASE_URL``, its folder ready.

    A folder under the project's ``data/`` is created (a fresh clone has none); any other
    folder must exist, so that a typo in the path is an error rather than a new empty store.

    Raises:
        ConfigError: The URL is not ``sqlite:///path``, or its folder does not exist (names
            ``DATABASE_URL`` and the folder).
    """
    path = settings.sqlite_path()
    folder = path.parent
    data = settings.base_dir / DATA_FOLDER
    if folder.is_dir():
        return path
    if folder == data or folder.is_relative_to(data):
        folder.mkdir(parents=True, exist_ok=True)
        return path
    raise ConfigError(
        "DATABASE_URL",
        f"the folder {folder} does not exist (create it, or use a path under the project's "
        "data/ folder, which is created)",
    )


def store_from_settings(settings: Settings, clock: Clock = utc_now) -> SessionStore:
    """The (unopened) store for ``settings.database_url``, telling the time by ``clock`` (the
    app's).

    Raises:
        ConfigError: The URL's scheme is not supported, or a SQLite file's folder does not
            exist (see :func:`sqlite_file`); the message names ``DATABASE_URL``.
    """
    scheme = settings.database_url.partition("://")[0]
    if scheme == "sqlite":
        return SqliteStore(sqlite_file(settings), clock=clock)
    if scheme in ("redis", "redis+cluster"):
        return _redis_store(settings.database_url, clock)
    raise ConfigError("DATABASE_URL", f"unsupported store {scheme!r}")


def redacted(url: str) -> str:
    """``url`` without its password (``redis://:***@host:6379/0``), to print it."""
    scheme, sep, rest = url.partition("://")
    auth, at, hosts = rest.rpartition("@")
    if scheme == "redis+cluster":  # several hosts: not a URL urlsplit reads
        if not at or ":" not in auth:
            return url
        return f"{scheme}{sep}{auth.partition(':')[0]}:***@{hosts}"
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


async def check_redis(settings: Settings) -> None:
    """Connect to the Redis of ``DATABASE_URL`` once and disconnect (``bot serve`` runs it
    before serving, so an unreachable Redis is one line naming the setting).

    Raises:
        ConfigError: Redis does not answer (names ``DATABASE_URL`` and the address).
    """
    store = _redis_store(settings.database_url)
    try:
        await store.open()
    except StoreUnavailable as exc:
        raise ConfigError(
            "DATABASE_URL",
            f"cannot reach Redis at {redacted(settings.database_url)} "
            f"({str(exc).removeprefix('redis: ')})",
        ) from None
    finally:
        await store.close()


def _redis_store(url: str, clock: Clock = utc_now) -> RedisStore:
    """The store of the Redis at ``url``. redis-py is imported here, when a Redis is
    configured: on the embedded default it would cost about 7 MiB and 60 ms of start-up."""
    from bot.sessions.redis import RedisStore

    return RedisStore(url, clock=clock)
