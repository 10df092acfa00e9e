"""Credential providers for the ``deliver_credentials`` action.

- ``generated``: a username from the ``name`` slot (or the ``email``'s local part) plus four
  random digits, and a 12-character password from ``secrets``.
- ``pool``: the next unused ``username,password`` row of a CSV file. Each row is handed out
  once, also across restarts and processes: claims are rows of a small SQLite file (the
  primary key makes a claim atomic). The same session asking again gets the same pair.
- ``http``: the JSON reply (``{"username": ..., "password": ...}``) of a POST to an endpoint.
"""

from __future__ import annotations

import csv
import re
import secrets
import sqlite3
import string
import unicodedata
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite

from bot.errors import DataFileError
from bot.flows.http_action import ActionFailed
from bot.flows.model import Credential

_PASSWORD_ALPHABET = string.ascii_letters + string.digits
CLAIMS_SCHEMA = """
CREATE TABLE IF NOT EXISTS claims (
    pool TEXT NOT NULL,
    username TEXT NOT NULL,
    session_id TEXT NOT NULL,
    claimed_at TEXT NOT NULL,
    PRIMARY KEY (pool, username)
);
CREATE INDEX IF NOT EXISTS claims_session ON claims (pool, session_id);
"""


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "", ascii_text.lower())[:12]


def generate(data: Mapping[str, Any]) -> dict[str, str]:
    """Generated credentials: ``{"username": "ana1234", "password": "<12 letters/digits>"}``."""
    base = _slug(str(data.get("name") or "")) or _slug(str(data.get("email") or "").split("@")[0])
    username = f"{base or 'user'}{secrets.randbelow(10_000):04d}"
    password = "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(12))
    return {"username": username, "password": password}


def read_pool(path: Path) -> tuple[Credential, ...]:
    """Read a pool file: CSV with a ``username,password`` header, one pair per row.

    Raises:
        DataFileError: The file cannot be read, lacks the header, has an empty field or a
            duplicate username (with the file's line and column).
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise DataFileError(str(path), None, f"cannot read pool file: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise DataFileError(str(path), None, "pool file is not valid UTF-8") from exc
    rows = list(csv.reader(text.splitlines()))
    header = [h.strip().lower() for h in rows[0]] if rows else []
    if "username" not in header or "password" not in header:
        raise DataFileError(str(path), 1, "the first row must be the header username,password", 1)
    user_col, pass_col = header.index("username"), header.index("password")
    pool: list[Credential] = []
    seen: set[str] = set()
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        cells = [*row, "", ""]
        username, password = cells[user_col].strip(), cells[pass_col].strip()
        if not username or not password:
            column = user_col + 1 if not username else pass_col + 1
            raise DataFileError(
                str(path), line, "every row needs a username and a password", column
            )
        if username in seen:
            raise DataFileError(str(path), line, f"duplicate username {username!r}", user_col + 1)
        seen.add(username)
        pool.append(Credential(username, password))
    return tuple(pool)


def claims_path(pool_file: Path, state_dir: Path | None) -> Path:
    """Where the claims of ``pool_file`` are kept: ``<state_dir>/<name>.claims.sqlite``, or next
    to the pool file when no state folder is configured."""
    folder = state_dir if state_dir is not None else pool_file.parent
    return folder / f"{pool_file.name}.claims.sqlite"


async def claim(
    pool: tuple[Credential, ...], pool_file: Path, session_id: str, state_dir: Path | None
) -> dict[str, str]:
    """Hand the next unclaimed pair of ``pool`` to ``session_id`` (the same pair again when this
    session already has one).

    Raises:
        ActionFailed: Every pair is taken, or the claims file cannot be written.
    """
    path = claims_path(pool_file, state_dir)
    name = str(pool_file)  # absolute: the loader resolved it
    by_name = {c.username: c for c in pool}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        async with aiosqlite.connect(path) as db:
            await db.execute("PRAGMA busy_timeout=5000")
            await db.executescript(CLAIMS_SCHEMA)
            async with db.execute(
                "SELECT username FROM claims WHERE pool=? AND session_id=?", (name, session_id)
            ) as cursor:
                mine = await cursor.fetchone()
            if mine is not None and mine[0] in by_name:
                return _pair(by_name[mine[0]])
            async with db.execute("SELECT username FROM claims WHERE pool=?", (name,)) as cursor:
                taken = {row[0] for row in await cursor.fetchall()}
            now = datetime.now(UTC).isoformat()
            for credential in pool:
                if credential.username in taken:
                    continue
                cursor = await db.execute(
                    "INSERT OR IGNORE INTO claims (pool, username, session_id, claimed_at) "
                    "VALUES (?,?,?,?)",
                    (name, credential.username, session_id, now),
                )
                await db.commit()
                if cursor.rowcount == 1:
                    return _pair(credential)
    except (sqlite3.Error, OSError) as exc:
        raise ActionFailed(f"cannot record a claim in {path}: {exc}") from exc
    raise ActionFailed(f"credentials pool {pool_file} is exhausted ({len(pool)} handed out)")


def _pair(credential: Credential) -> dict[str, str]:
    return {"username": credential.username, "password": credential.password}
