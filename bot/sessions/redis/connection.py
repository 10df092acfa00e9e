"""What every concern of the Redis store shares: the client, the command batcher and its
scripts, what was read under a lock, and one exception for an unreachable server."""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import redis.exceptions

from bot.clock import Clock, utc_now
from bot.sessions.locks import UserLocks
from bot.sessions.model import Delivery, Session, SessionKey
from bot.sessions.redis import keys as redis_keys
from bot.sessions.redis.batch import BatchedScript, CommandBatcher
from bot.sessions.redis.codec import epoch_s, hash_of_pairs, matches_query, session_from_hash
from bot.sessions.redis.locks import RedisUserLocks, Take
from bot.sessions.store import SessionLookup, SessionQuery, StoreUnavailable

C = TypeVar("C", bound=type)

SEEN_TTL_S = 7 * 24 * 3600
MAX_CONNECTIONS = 200
"""Connections to Redis per process; more requests wait for one (see :data:`POOL_WAIT_S`)."""
SENDER_READ_AHEAD = 50
"""Pending messages read with a user's sender lock (the outbox sends up to 50 per turn)."""
READ_KEPT = 20_000
"""At most this many messages read by :meth:`RedisStore.pending_for` are remembered."""
POOL_WAIT_S = 60.0
"""Longest wait for a free connection. A saturated worker queues hundreds of turns on the
pool: they wait their turn rather than fail (a command itself still times out after 5 s)."""
PROBE_TTL_MS = 60_000
OUTBOX_STATES = frozenset({Delivery.PENDING, Delivery.SENDING})
"""Statuses that keep a message in the outbox: ``sending`` stays there so that the next holder
of the user's sender lock finds an attempt a dead worker left (and records it ``unknown``)."""
MARK_TRIES = 5
"""Compare-and-set attempts of :meth:`RedisStore.mark_outbound` before it gives up."""
DUE_PAGE = 500
"""Due outbox entries read per round trip by :meth:`RedisStore.pending_outbound`."""
DUE_PAGES = 20
"""At most this many pages are read per call (entries behind a user's retry are skipped)."""
STEP_BATCH = 200
"""Closed sessions whose last step :meth:`RedisStore.flow_exits` looks up in one pipeline."""
STEP_TAIL = 16
"""Newest messages read first when looking for a session's last step."""


@contextmanager
def reachable() -> Iterator[None]:
    try:
        yield
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
        raise StoreUnavailable(f"redis: {exc}") from exc


def translate_errors(cls: C) -> C:
    """Make every public coroutine method raise :class:`StoreUnavailable` for connection
    errors and timeouts, so callers handle one exception whatever the backend."""
    for name, member in list(vars(cls).items()):
        if name.startswith("_") or not inspect.iscoroutinefunction(member):
            continue

        def wrap(method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
            @functools.wraps(method)
            async def translated(*args: Any, **kwargs: Any) -> Any:
                with reachable():
                    return await method(*args, **kwargs)

            return translated

        setattr(cls, name, wrap(member))
    return cls


class RedisConnection(SessionLookup):
    """The client and the state shared by the mixins of :class:`~bot.sessions.redis.RedisStore`."""

    _batch: CommandBatcher
    _enqueue: BatchedScript
    _forget: BatchedScript
    _apply: BatchedScript
    _pending_for: BatchedScript
    _take_user: BatchedScript
    _sessions_by_id: BatchedScript
    _take_sender: BatchedScript
    _mark: BatchedScript

    def __init__(self, url: str, retention_s: float = 168 * 3600, clock: Clock = utc_now) -> None:
        self.url = url
        self.retention_s = retention_s
        self.clock = clock
        # Typed Any: redis-py's annotations say ``bytes | str`` even with decode_responses=True.
        self._redis: Any = None
        # Read in the round trip that took a lock, trusted while this process holds it:
        self._inbox_heads: dict[SessionKey, str] = {}  # raw head of the inbox, '' when empty
        self._held_sessions: dict[SessionKey, dict[str, str]] = {}  # ``session:{botId}:..``
        self._last_inbound: dict[SessionKey, str] = {}  # taken by last_inbound_at
        self._pending: dict[SessionKey, list[str]] = {}  # raw pending messages, by pending_for
        # Raw JSON of pending messages as pending_for last read them, for mark_outbound's
        # compare-and-set without a read (a stale one only costs a second round trip).
        self._read: dict[int, str] = {}

    @property
    def redis(self) -> Any:
        if self._redis is None:
            raise RuntimeError("RedisStore used before open()")
        return self._redis

    def _locks(
        self,
        key_name: Callable[[SessionKey], str],
        take: Take,
        released: Callable[[Hashable], None],
    ) -> UserLocks:
        def name(key: Hashable) -> str:
            assert isinstance(key, SessionKey)
            return key_name(key)

        return RedisUserLocks(
            self.redis, name, take=take, released=released, script=self._batch.script
        )

    def _forget_reads(self) -> None:
        """Stop trusting anything read under a lock (after a write that bypassed them)."""
        self._inbox_heads.clear()
        self._held_sessions.clear()
        self._last_inbound.clear()
        self._pending.clear()
        self._read.clear()

    async def _sessions(self, ids: Sequence[str]) -> list[Session]:
        if not ids:
            return []
        rows = await self._sessions_by_id(keys=[], args=[redis_keys.SESSION_BY_ID_PREFIX, *ids])
        return [session_from_hash(hash_of_pairs(r)) for r in rows if r]

    async def _matching(self, query: SessionQuery) -> AsyncIterator[Session]:
        """Sessions matching ``query``'s filters, newest first (offset and limit ignored)."""
        if query.user_id:
            index = redis_keys.sessions_of_user(query.user_id)
        elif query.status == "handoff":  # the agents' queue: its own small index
            index = redis_keys.SESSIONS_HANDOFF
        else:
            index = redis_keys.SESSIONS_CREATED
        high = epoch_s(query.created_to) - 1e-6 if query.created_to else "+inf"
        low = epoch_s(query.created_from) if query.created_from else "-inf"
        start, page = 0, 500
        while True:
            ids = await self.redis.zrevrangebyscore(index, high, low, start, page)
            if not ids:
                return
            start += page
            sessions = [s for s in await self._sessions(ids) if matches_query(s, query)]
            if query.opted_out is not None:
                opted = await self.opt_outs([s.key for s in sessions])
                sessions = [s for s in sessions if (s.key in opted) is query.opted_out]
            for session in sessions:
                yield session
