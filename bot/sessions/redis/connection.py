"""What every concern of the Redis store shares: the client, the command batcher and its
scripts, what was read under a lock, and one exception for an unreachable server."""

from __future__ import annotations

import functools
import heapq
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
from bot.sessions.redis.codec import epoch_s, matches_query, session_from_hash
from bot.sessions.redis.locks import RedisUserLocks, Take
from bot.sessions.redis.tags import PARTITIONS, Tags
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
CLUSTER_SCHEME = "redis+cluster"
"""``DATABASE_URL`` scheme of a Redis Cluster (``redis+cluster://host:port[,host:port...]``)."""
MERGE_PAGE = 100
"""Ids read per partition and round trip when the admin queries merge the partitions."""
TAGS_KEPT = 100_000
"""At most this many sessions' partitions are remembered (else looked up across them)."""
CLUSTER_ERRORS: tuple[type[Exception], ...] = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    redis.exceptions.ClusterDownError,
    redis.exceptions.TryAgainError,
    redis.exceptions.RedisClusterException,
)
"""What a store that cannot be used now raises: a connection lost or refused, a timeout, and
on a cluster a failover in progress (``CLUSTERDOWN``, ``TRYAGAIN``, a slot not served)."""


@contextmanager
def reachable() -> Iterator[None]:
    try:
        yield
    except CLUSTER_ERRORS as exc:
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
    _take_user: BatchedScript
    _take_sender: BatchedScript
    _mark: BatchedScript
    _opt_out: BatchedScript
    _fail: BatchedScript
    _wamid: BatchedScript

    def __init__(self, url: str, retention_s: float = 168 * 3600, clock: Clock = utc_now) -> None:
        self.url = url
        self.retention_s = retention_s
        self.clock = clock
        cluster = url.partition("://")[0] == CLUSTER_SCHEME
        self.tags = Tags(PARTITIONS if cluster else 1)
        self._session_tags: dict[str, str] = {}  # session id -> its partition's prefix
        self._cursor = 0  # the partition the next walk of the outbox and the inboxes starts at
        # Typed Any: redis-py's annotations say ``bytes | str`` even with decode_responses=True.
        self._redis: Any = None
        # Read in the round trip that took a lock, trusted while this process holds it:
        self._inbox_heads: dict[SessionKey, str] = {}  # raw head of the inbox, '' when empty
        self._held_sessions: dict[SessionKey, dict[str, str]] = {}  # ``session:{botId}:..``
        self._last_inbound: dict[SessionKey, str] = {}  # taken by last_inbound_at
        self._reserved: dict[SessionKey, tuple[int, int]] = {}  # ids (first, last) with a lock
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
        tags = self.tags

        def name(key: Hashable) -> str:
            assert isinstance(key, SessionKey)
            return tags.of(key) + key_name(key)

        return RedisUserLocks(
            self.redis,
            name,
            take=take,
            released=released,
            script=self._batch.script,
            cluster=tags.cluster,
        )

    def _forget_reads(self) -> None:
        """Stop trusting anything read under a lock (after a write that bypassed them)."""
        self._inbox_heads.clear()
        self._held_sessions.clear()
        self._last_inbound.clear()
        self._pending.clear()
        self._reserved.clear()
        self._read.clear()

    def _remember_tag(self, session_id: str, prefix: str) -> None:
        if len(self._session_tags) >= TAGS_KEPT:
            del self._session_tags[next(iter(self._session_tags))]
        self._session_tags[session_id] = prefix

    async def _tags_of(self, session_ids: Sequence[str]) -> dict[str, str]:
        """The partition prefix of each of ``session_ids`` that exists: remembered, else
        looked up in every partition at once (one pipeline; on one Redis, ``""``)."""
        if not self.tags.cluster:
            return dict.fromkeys(session_ids, "")
        found = {sid: self._session_tags[sid] for sid in session_ids if sid in self._session_tags}
        unknown = [sid for sid in dict.fromkeys(session_ids) if sid not in found]
        if unknown:
            prefixes = self.tags.prefixes()
            async with self.redis.pipeline(transaction=False) as pipe:
                for sid in unknown:
                    for prefix in prefixes:
                        pipe.exists(prefix + redis_keys.session_by_id(sid))
                replies = await pipe.execute()
            for n, sid in enumerate(unknown):
                row = replies[n * len(prefixes) : (n + 1) * len(prefixes)]
                for prefix, exists in zip(prefixes, row, strict=True):
                    if exists:
                        found[sid] = prefix
                        self._remember_tag(sid, prefix)
        return found

    async def _mget(self, names: Sequence[str]) -> list[str | None]:
        """``MGET`` of ``names``; on a cluster, names of several slots in one pipeline."""
        if not names:
            return []
        if not self.tags.cluster:
            return list(await self.redis.mget(names))
        async with self.redis.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.get(name)
            return list(await pipe.execute())

    def _walk(self) -> list[str]:
        """Every partition's prefix, starting one further on each call (so that a walk that
        stops early does not always favour the first partitions)."""
        prefixes = self.tags.prefixes()
        start = self._cursor % len(prefixes)
        self._cursor += 1
        return [*prefixes[start:], *prefixes[:start]]

    async def _sessions(self, found: Sequence[tuple[str, str]]) -> list[Session]:
        """The sessions of ``(partition prefix, session id)`` pairs that exist, in order."""
        if not found:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for prefix, sid in found:
                pipe.hgetall(prefix + redis_keys.session_by_id(sid))
            rows = await pipe.execute()
        sessions = []
        for (prefix, sid), row in zip(found, rows, strict=True):
            if row:
                self._remember_tag(sid, prefix)
                sessions.append(session_from_hash(row))
        return sessions

    async def _merged(
        self, index: str, prefixes: Sequence[str], high: float | str, low: float | str
    ) -> AsyncIterator[tuple[str, str]]:
        """``(prefix, member)`` of the sorted set ``index`` of each partition in
        ``prefixes``, scored from ``high`` down to ``low``, merged: highest score first (and
        of equal scores, the greater member first, as ``ZREVRANGEBYSCORE`` orders them)."""
        page = 500 if len(prefixes) == 1 else MERGE_PAGE
        starts = dict.fromkeys(prefixes, 0)

        async def read(wanted: Sequence[str]) -> list[list[tuple[str, float]]]:
            async with self.redis.pipeline(transaction=False) as pipe:
                for prefix in wanted:
                    pipe.zrevrangebyscore(
                        prefix + index, high, low, starts[prefix], page, withscores=True
                    )
                pages: list[list[tuple[str, float]]] = await pipe.execute()
            for prefix, rows in zip(wanted, pages, strict=True):
                starts[prefix] += len(rows)
            return pages

        heap: list[tuple[float, _Descending, str, int, list[tuple[str, float]]]] = []
        for prefix, rows in zip(prefixes, await read(prefixes), strict=True):
            if rows:
                heapq.heappush(heap, (-rows[0][1], _Descending(rows[0][0]), prefix, 0, rows))
        while heap:
            _, member, prefix, at, rows = heapq.heappop(heap)
            yield prefix, member.text
            at += 1
            if at == len(rows) and len(rows) == page:
                [rows] = await read([prefix])
                at = 0
            if at < len(rows):
                entry = (-rows[at][1], _Descending(rows[at][0]), prefix, at, rows)
                heapq.heappush(heap, entry)

    async def _matching(self, query: SessionQuery) -> AsyncIterator[Session]:
        """Sessions matching ``query``'s filters, newest first (offset and limit ignored):
        the creation index of every partition merged (of the user's alone, by user; the
        agents' queue has its own small index per partition)."""
        if query.user_id:
            index = redis_keys.sessions_of_user(query.user_id)
            prefixes: Sequence[str] = [self.tags.of_user(query.user_id)]
        elif query.status == "handoff":
            index, prefixes = redis_keys.SESSIONS_HANDOFF, self.tags.prefixes()
        else:
            index, prefixes = redis_keys.SESSIONS_CREATED, self.tags.prefixes()
        high = epoch_s(query.created_to) - 1e-6 if query.created_to else "+inf"
        low = epoch_s(query.created_from) if query.created_from else "-inf"
        chunk: list[tuple[str, str]] = []
        merged = self._merged(index, prefixes, high, low)
        while True:
            done = True
            async for found in merged:
                chunk.append(found)
                if len(chunk) >= 500:
                    done = False
                    break
            sessions = [s for s in await self._sessions(chunk) if matches_query(s, query)]
            chunk.clear()
            if query.opted_out is not None:
                opted = await self.opt_outs([s.key for s in sessions])
                sessions = [s for s in sessions if (s.key in opted) is query.opted_out]
            for session in sessions:
                yield session
            if done:
                return


class _Descending:
    """A text that sorts in reverse (a heap's smallest is the greatest text)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __lt__(self, other: _Descending) -> bool:
        return self.text > other.text

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Descending) and self.text == other.text

    __hash__ = None  # type: ignore[assignment]
