"""One thread that owns the SQLite connection and commits queued writes together.

The store's coroutines hand *jobs* (plain functions of a ``sqlite3.Connection``) to this thread
instead of awaiting every statement. The thread takes everything queued since its last round:
the write jobs run in one transaction and one ``COMMIT`` makes them all durable (group commit);
one job's error undoes that job only (the round is then run again with a savepoint per job);
then the read jobs run on the committed state. The results of a whole round reach the event
loop in one ``call_soon_threadsafe``. Under load a round holds many turns, so the cost of a
commit and of a thread hand-off is shared; when quiet, a job is a round of its own and waits
for nobody.

A write job's awaitable completes only after its round's ``COMMIT``: when it returns, the change
is in the WAL file (``synchronous=NORMAL``: it survives a crash of the process; a power loss may
take the last rounds, as SQLite documents for WAL mode).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from queue import SimpleQueue
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
Job = Callable[[sqlite3.Connection], Any]

MAX_ROUND = 512
"""Jobs taken in one round at most (a bound on how long one transaction holds the file)."""

_STOP = object()


class _Entry:
    __slots__ = ("future", "job", "write")

    def __init__(self, job: Job, write: bool, future: asyncio.Future[Any]) -> None:
        self.job = job
        self.write = write
        self.future = future


class SqliteWorker:
    """The thread that runs every job on one SQLite connection, writes grouped per round.

    Args:
        path: The database file.
        setup: Run once on the new connection before any job (pragmas, schema).

    Jobs raise in the awaiting coroutine what they raised in the thread (``sqlite3.Error``
    and its subclasses); a failed ``COMMIT`` fails every write job of its round.
    """

    def __init__(self, path: Path, setup: Callable[[sqlite3.Connection], None]) -> None:
        self.path = path
        self._setup = setup
        self._queue: SimpleQueue[list[_Entry] | object] = SimpleQueue()
        self._pending: list[_Entry] = []
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self) -> None:
        """Start the thread, open the connection and run ``setup``.

        Raises:
            sqlite3.Error: The file cannot be opened or set up (the thread is stopped).
        """
        self._loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = self._loop.create_future()
        self._thread = threading.Thread(
            target=self._run, args=(ready,), name=f"sqlite {self.path.name}", daemon=True
        )
        self._thread.start()
        await ready

    async def stop(self) -> None:
        """Finish the queued jobs, close the connection and end the thread."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        if self._pending:
            self._hand_over()
        self._queue.put(_STOP)
        await asyncio.to_thread(thread.join)

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return self._thread is not None

    def write(self, job: Callable[[sqlite3.Connection], T]) -> asyncio.Future[T]:
        """Queue ``job`` for the next round's transaction; the future is its result once the
        round is committed."""
        return self._submit(job, True)

    def read(self, job: Callable[[sqlite3.Connection], T]) -> asyncio.Future[T]:
        """Queue ``job`` to run after the next round's commit (it sees every write queued
        before it); the future is its result."""
        return self._submit(job, False)

    def _submit(self, job: Job, write: bool) -> asyncio.Future[Any]:
        if self._thread is None or self._loop is None:
            raise RuntimeError("SqliteWorker used before start() or after stop()")
        future: asyncio.Future[Any] = self._loop.create_future()
        if not self._pending:
            self._loop.call_soon(self._hand_over)
        self._pending.append(_Entry(job, write, future))
        return future

    def _hand_over(self) -> None:
        """Pass the jobs of this event-loop iteration to the thread at once (waking a thread
        costs more than the job itself)."""
        pending, self._pending = self._pending, []
        self._queue.put(pending)

    # --- the thread ------------------------------------------------------------------------

    def _run(self, ready: asyncio.Future[None]) -> None:
        loop = self._loop
        assert loop is not None
        try:
            conn = _connect(self.path)
            conn.row_factory = sqlite3.Row
            self._setup(conn)
        except BaseException as exc:  # handed to the awaiting coroutine
            self._thread = None
            loop.call_soon_threadsafe(_fail, ready, exc)
            return
        loop.call_soon_threadsafe(_succeed, ready, None)
        try:
            while True:
                first = self._queue.get()
                if first is _STOP:
                    break
                entries: list[_Entry] = list(first)  # type: ignore[call-overload]
                stop = False
                while len(entries) < MAX_ROUND and not self._queue.empty():
                    item = self._queue.get_nowait()
                    if item is _STOP:
                        stop = True
                        break
                    entries.extend(item)  # type: ignore[arg-type]
                try:
                    outcomes = _round(conn, entries)
                except BaseException as exc:  # a savepoint statement failed
                    log.exception("sqlite round failed")
                    outcomes = [(e, None, exc) for e in entries]
                    if conn.in_transaction:  # a failed ROLLBACK must not end the thread
                        with contextlib.suppress(sqlite3.Error):
                            conn.execute("ROLLBACK")
                loop.call_soon_threadsafe(_deliver, outcomes)
                if stop:
                    break
        finally:
            conn.close()


def _connect(path: Path) -> sqlite3.Connection:
    """A connection to ``path`` (the file is created when missing) in autocommit mode, for
    the worker's thread. SQLite opens a file it may not write read-only, silently."""
    return sqlite3.connect(path, isolation_level=None, check_same_thread=False)


def _round(conn: sqlite3.Connection, entries: list[_Entry]) -> list[tuple[_Entry, Any, Any]]:
    """Run one round: every write in one transaction, then every read."""
    outcomes: list[tuple[_Entry, Any, Any]] = []
    writes = [e for e in entries if e.write]
    if writes:
        done = _writes(conn, writes, careful=False)
        if done is None:  # a job failed: again, each job in a savepoint of its own
            done = _writes(conn, writes, careful=True)
        assert done is not None
        outcomes.extend(done)
    for entry in entries:
        if not entry.write:
            try:
                outcomes.append((entry, entry.job(conn), None))
            except BaseException as exc:  # handed to the awaiting coroutine
                outcomes.append((entry, None, exc))
    return outcomes


def _writes(
    conn: sqlite3.Connection, writes: list[_Entry], *, careful: bool
) -> list[tuple[_Entry, Any, Any]] | None:
    """Run ``writes`` in one transaction and commit it.

    Not careful (the usual case), the jobs run back to back and the first one that raises
    rolls everything back: returns ``None``, to be run again carefully, where each job has a
    savepoint so that its failure undoes only its own changes. (Savepoints cost two
    statements per job; failures, such as a duplicate inbound message, are rare.)
    """
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.Error as exc:
        return [(e, None, exc) for e in writes]
    done: list[tuple[_Entry, Any, Any]] = []
    for entry in writes:
        if careful:
            conn.execute("SAVEPOINT job")
        try:
            result = entry.job(conn)
        except BaseException as exc:  # handed to the awaiting coroutine
            if not careful:
                conn.execute("ROLLBACK")
                return None
            conn.execute("ROLLBACK TO job")
            conn.execute("RELEASE job")
            done.append((entry, None, exc))
        else:
            if careful:
                conn.execute("RELEASE job")
            done.append((entry, result, None))
    try:
        conn.execute("COMMIT")
    except sqlite3.Error as exc:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        return [(e, None, exc if err is None else err) for e, _, err in done]
    return done


def _deliver(outcomes: list[tuple[_Entry, Any, Any]]) -> None:
    """On the event loop: complete every future of a round (skipping cancelled ones)."""
    for entry, result, error in outcomes:
        if error is None:
            _succeed(entry.future, result)
        else:
            _fail(entry.future, error)


def _succeed(future: asyncio.Future[Any], result: Any) -> None:
    if not future.done():
        future.set_result(result)


def _fail(future: asyncio.Future[Any], error: BaseException) -> None:
    if not future.done():
        future.set_exception(error)
