"""The embedded SQLite session store, the default backend (one process per file).

Writes, and the reads of the conversation's hot path, are jobs for one thread that owns the
connection (:mod:`bot.sessions.worker`): the writes queued while it works are committed
together in one transaction (group commit), and every result of a round reaches the event loop
in one hand-off. The admin and dashboard queries use a second, read-only connection (aiosqlite),
so a heavy report never delays a turn. The file is in WAL mode with ``synchronous=NORMAL``.

Since one process owns the file, the store keeps what a turn reads in memory, written through
on every commit: the active session of recently seen users (a bounded cache; a miss reads the
file), each user's inbox (loaded from the file at open, so a crash loses nothing) and when each
user last wrote. A second process writing the same file would not be seen: run one process per
SQLite file, or use Redis for several workers.

A write that fails because of the file rather than the change (read-only, I/O error, disk
full: :data:`FILE_ERRORS`) makes the store close both connections and open them again before
its next use. SQLite opens a file it may not write read-only and keeps it so, with the
``-shm`` file shared by every connection of the process: without that, writes would go on
failing after the cause is gone, until a restart.
"""

from __future__ import annotations

from bot.sessions.sqlite.connection import FILE_ERRORS, LAST_INBOUND_CACHE_SIZE, SESSION_CACHE_SIZE
from bot.sessions.sqlite.conversation import SqliteConversation
from bot.sessions.sqlite.maintenance import SqliteMaintenance
from bot.sessions.sqlite.outbox import SqliteOutbox
from bot.sessions.sqlite.queries import SqliteQueries
from bot.sessions.sqlite.rows import from_iso, to_iso
from bot.sessions.store import SessionStore

__all__ = [
    "FILE_ERRORS",
    "LAST_INBOUND_CACHE_SIZE",
    "SESSION_CACHE_SIZE",
    "SqliteStore",
    "from_iso",
    "to_iso",
]


class SqliteStore(SqliteConversation, SqliteOutbox, SqliteQueries, SqliteMaintenance, SessionStore):
    """Sessions and messages in one SQLite file (created with its folder when missing).

    Args:
        path: The database file.
        cache_size: Users whose active session is kept in memory (see the package docstring).
        clock: The current time (injected, like the app's): when an inbound id was seen (kept
            7 days), and what the write probe writes.

    Methods raise :class:`StoreUnavailable` when the file cannot be read or written (locked
    by another process beyond the busy timeout, read-only, disk full, I/O error); after a
    file error the connections are opened again before the next use (see the package
    docstring).
    """

    single_process = True
