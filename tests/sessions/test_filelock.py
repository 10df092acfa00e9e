"""The lock that keeps one ``bot serve`` per SQLite file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.sessions.filelock import DatabaseInUse, DatabaseLock, lock_path


def test_a_held_lock_refuses_another_holder_naming_the_file_and_pid(tmp_path: Path) -> None:
    database = tmp_path / "new folder" / "bot.db"
    first = DatabaseLock(database)
    first.acquire()
    try:
        assert lock_path(database).read_text() == f"{os.getpid()}\n"
        assert not database.exists(), "the database itself is not touched"
        with pytest.raises(DatabaseInUse) as refused:
            DatabaseLock(database).acquire()
        assert str(refused.value) == (
            f"{database} is in use by another bot serve (pid {os.getpid()}): run one bot serve "
            "per SQLite file, or use Redis for several workers (DATABASE_URL)"
        )
    finally:
        first.release()
    again = DatabaseLock(database)
    again.acquire()  # released: free again
    again.release()


def test_a_lock_file_that_cannot_be_created_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    one_line = r"^cannot create .*bot\.db\.lock: .* \(DATABASE_URL\)$"
    with pytest.raises(DatabaseInUse, match=one_line):
        DatabaseLock(blocker / "bot.db").acquire()  # its folder is a file
