"""The SQLite file's schema: its tables, the columns added since the first release, and what
runs in the writer's thread when it opens."""

from __future__ import annotations

import sqlite3

from bot.sessions.model import SessionKey

OPEN = "status IN ('active', 'handoff')"
"""The open statuses (:data:`~bot.sessions.model.OPEN_STATUSES`) in SQL: written exactly as in
the partial indexes' ``WHERE``, so SQLite uses them."""
DROPPED_INDEXES = ("sessions_one_active", "sessions_due")
"""Indexes of earlier releases (on ``status = 'active'`` only), replaced by the open ones."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    channel TEXT NOT NULL,
    bot_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    status TEXT NOT NULL,
    close_reason TEXT,
    flow_id TEXT,
    step_id TEXT,
    data TEXT NOT NULL DEFAULT '{}',
    language TEXT,
    display_name TEXT,
    created_at TEXT NOT NULL,
    last_activity_at TEXT NOT NULL,
    expires_at TEXT,
    closed_at TEXT,
    warned_at TEXT,
    flow_version TEXT,
    step_retries INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX IF NOT EXISTS sessions_one_open
    ON sessions (channel, bot_id, user_id) WHERE status IN ('active', 'handoff');
CREATE INDEX IF NOT EXISTS sessions_open_due
    ON sessions (expires_at) WHERE status IN ('active', 'handoff');
CREATE INDEX IF NOT EXISTS sessions_user ON sessions (user_id, created_at);
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT REFERENCES sessions (id),
    channel TEXT NOT NULL,
    bot_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    kind TEXT NOT NULL,
    text TEXT,
    step_id TEXT,
    created_at TEXT NOT NULL,
    provider_id TEXT,
    status TEXT NOT NULL,
    error_code INTEGER,
    error_detail TEXT,
    payload TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS messages_inbound_once
    ON messages (channel, provider_id) WHERE direction = 'in' AND provider_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS messages_outbound_provider
    ON messages (provider_id) WHERE direction = 'out';
CREATE INDEX IF NOT EXISTS messages_pending ON messages (id) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS messages_session ON messages (session_id, id);
CREATE INDEX IF NOT EXISTS messages_user_pending
    ON messages (channel, bot_id, user_id, id) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS messages_user_inbound
    ON messages (channel, bot_id, user_id, created_at) WHERE direction = 'in';
CREATE TABLE IF NOT EXISTS inbound_seen (
    channel TEXT NOT NULL,
    provider_id TEXT NOT NULL,
    seen_at TEXT NOT NULL,
    PRIMARY KEY (channel, provider_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS inbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    channel TEXT NOT NULL,
    bot_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    provider_id TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS inbox_user ON inbox (channel, bot_id, user_id, id);
CREATE TABLE IF NOT EXISTS opt_outs (
    channel TEXT NOT NULL,
    bot_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    opted_out_at TEXT NOT NULL,
    PRIMARY KEY (channel, bot_id, user_id)
) WITHOUT ROWID;
"""

ADDED_COLUMNS = (
    ("sessions", "warned_at", "TEXT"),
    ("sessions", "flow_version", "TEXT"),
    ("sessions", "step_retries", "INTEGER NOT NULL DEFAULT 0"),
    ("sessions", "confirming", "TEXT"),
    ("messages", "payload", "TEXT"),
    ("messages", "attempts", "INTEGER NOT NULL DEFAULT 0"),
    ("messages", "next_attempt_at", "TEXT"),
    ("messages", "priority", "INTEGER NOT NULL DEFAULT 0"),
    ("messages", "notice", "TEXT"),
    ("sessions", "handoff", "TEXT"),
)
"""Columns added after the first release: ``(table, column, type)``, added on open if missing."""

CREATE_PROBE = """CREATE TABLE IF NOT EXISTS store_probe (
    id INTEGER PRIMARY KEY CHECK (id = 1), written_at TEXT NOT NULL)"""
WRITE_PROBE = "INSERT OR REPLACE INTO store_probe (id, written_at) VALUES (1, ?)"


def setup(conn: sqlite3.Connection) -> None:
    """Pragmas, the schema, and the columns added since the first release (in the thread)."""
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=5000")
    for index in DROPPED_INDEXES:
        conn.execute(f"DROP INDEX IF EXISTS {index}")
    conn.executescript(SCHEMA)
    for table, column, kind in ADDED_COLUMNS:
        present = {row["name"] for row in conn.execute(f"PRAGMA table_info({table})")}
        if column not in present:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")


def load_inbox(conn: sqlite3.Connection) -> list[tuple[int, SessionKey, str]]:
    """Every queued inbound message, oldest first: ``(row id, key, JSON body)``."""
    rows = conn.execute("SELECT id, channel, bot_id, user_id, body FROM inbox ORDER BY id")
    return [(r["id"], SessionKey(r["channel"], r["bot_id"], r["user_id"]), r["body"]) for r in rows]
