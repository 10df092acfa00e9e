"""One ``bot serve`` per SQLite file: an exclusive OS lock on ``<database>.lock``.

The SQLite store keeps what a turn reads in memory (see :mod:`bot.sessions.sqlite`), so a
second process writing the same file would go unseen. ``bot serve`` takes this lock before it
opens the store and holds it while it runs; the OS drops it when the process ends, however it
ends (``SIGKILL`` included), so no stale lock is left to clear. The lock file stays, holding
the pid of its last holder (named in the error of a refused second instance).

``bot sessions cleanup`` does not take it: it only deletes closed sessions and their messages,
which the serving process does not keep in memory, so it runs beside ``bot serve``.

Where ``fcntl`` is missing (Windows) nothing is locked.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from bot.errors import BotError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


class DatabaseInUse(BotError):
    """Another process holds the lock of the database (one line, names ``DATABASE_URL``)."""


def lock_path(database: Path) -> Path:
    """The lock file of ``database``: ``bot.db`` -> ``bot.db.lock``, in the same folder."""
    return database.with_name(f"{database.name}.lock")


class DatabaseLock:
    """An exclusive, non-blocking ``flock`` on the lock file of ``database``.

    Args:
        database: The SQLite file (it need not exist; its folder is created if missing).
    """

    def __init__(self, database: Path) -> None:
        self.database = database
        self.path = lock_path(database)
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock at once, or fail.

        Raises:
            DatabaseInUse: Another process holds it, or the lock file cannot be opened.
        """
        if fcntl is None:  # pragma: no cover - Windows
            return
        fd, writable = self._open()
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(fd)
            os.close(fd)
            by = f"another bot serve (pid {holder})" if holder else "another bot serve"
            raise DatabaseInUse(
                f"{self.database} is in use by {by}: run one bot serve per SQLite file, "
                "or use Redis for several workers (DATABASE_URL)"
            ) from None
        except OSError as exc:
            os.close(fd)
            raise DatabaseInUse(f"cannot lock {self.path}: {_reason(exc)} (DATABASE_URL)") from exc
        if writable:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
                os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        """Let the lock go (closing the file drops it)."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def _open(self) -> tuple[int, bool]:
        """The lock file's descriptor, and whether it is writable (a read-only folder with
        the file already there still locks: ``flock`` needs no write access)."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            return os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644), True
        except OSError as exc:
            try:
                return os.open(self.path, os.O_RDONLY | os.O_CLOEXEC), False
            except OSError:
                raise DatabaseInUse(
                    f"cannot create {self.path}: {_reason(exc)} (DATABASE_URL)"
                ) from exc


def _read_pid(fd: int) -> str:
    """The pid the holder wrote in the lock file, or ``""``."""
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return ""
    return text if text.isdigit() else ""


def _reason(exc: OSError) -> str:
    """``exc``'s system message in lower case (``permission denied``)."""
    return (exc.strerror or str(exc)).lower()
