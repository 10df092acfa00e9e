"""The Redis session store (redis-py asyncio), for several ``bot serve`` workers on one Redis.

Key layout (frontends read these keys directly: keep them exactly; ``{botId}`` is the business
number id for the ``whatsapp`` channel and ``{channel}:{botId}`` for any other channel):

====================================  =====================================================
``session:{botId}:{userId}``          hash: the user's current (or latest) session:
                                      ``status``, ``lastSeen``, ``phoneNumber``,
                                      ``displayName``, ``sessionId``, ``createdAt``,
                                      ``expiresAt``, ``closedAt``, ``warnedAt`` (ISO 8601
                                      UTC), ``channel``, ``botId``, ``userId``, ``flow``,
                                      ``flowVersion``, ``step``, ``stepRetries``, ``data``
                                      (JSON), ``language``, ``closeReason``
``session:status:{botId}:{userId}``   string: the status; expires with the session (active)
                                      or after the retention period (closed)
``session:id:{sessionId}``            hash: every session by id, same fields as above
``sessions:deadlines``                sorted set: active session ids by ``expiresAt`` (epoch
                                      seconds); the sweeper reads due ones from here
``sessions:created``                  sorted set: all session ids by creation time
``sessions:user:{userId}``            sorted set: the user's session ids by creation time
``messages:{sessionId}``              list: the session's message ids, oldest first
``messages:nosession:{botId}:{user}``  list: ids of messages that arrived with no session
``message:{id}``                      string: one message (JSON); ids from ``messages:seq``
``outbox:pending``                    sorted set: outbound message ids not yet sent, by
                                      when their next attempt is due (epoch seconds)
``outbox:user:{botId}:{userId}``      sorted set: the user's pending outbound ids, by id
``outbox:lock:{botId}:{userId}``      string with a lease: the user's sender (one at a time)
``outbox:pace:{channel}:{botId}``     string: the business number's next free send slot
                                      (epoch microseconds, Redis ``TIME``)
``wamid:{providerId}``                string: outbound message id of a provider message id
``inbound:seen:{channel}:{id}``       string with a 7-day TTL: idempotency of inbound ids
``inbound:last:{botId}:{userId}``     string: when the user last wrote (ISO 8601 UTC; opens
                                      the 24-hour window); expires after the retention period
``inbox:{channel}:{botId}:{userId}``  list: inbound messages queued for processing (JSON)
``inbox:users``                       set: users whose inbox may hold messages
``lock:{botId}:{userId}``             string with a lease: the user's cross-worker lock
====================================  =====================================================

Each :meth:`RedisStore.commit` is one Lua script (atomic, like ``MULTI``/``EXEC``) after an
``INCRBY`` of the message ids.
"""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import redis.exceptions
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

from bot.channels.base import InboundMessage
from bot.delivery.pacing import SendSlots
from bot.delivery.redis_slots import RedisSendSlots
from bot.sessions.locks import UserLocks
from bot.sessions.model import (
    Delivery,
    Direction,
    MessageRecord,
    Session,
    SessionKey,
    Status,
    message_from_row,
)
from bot.sessions.redis_locks import RedisUserLocks
from bot.sessions.store import (
    DeletedCounts,
    DuplicateInbound,
    FlowStats,
    HourlyActivity,
    MessageSummary,
    SessionQuery,
    SessionStats,
    SessionStore,
    StepExit,
    StoreUnavailable,
)

SEEN_TTL_S = 7 * 24 * 3600
MAX_CONNECTIONS = 200
"""Connections to Redis per process; more requests wait for one (see :data:`POOL_WAIT_S`)."""
POOL_WAIT_S = 60.0
"""Longest wait for a free connection. A saturated worker queues hundreds of turns on the
pool: they wait their turn rather than fail (a command itself still times out after 5 s)."""
_RANK = {Delivery.PENDING: 0, Delivery.SENT: 1, Delivery.DELIVERED: 2, Delivery.READ: 3}

_ENQUEUE = """
if redis.call('set', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  redis.call('rpush', KEYS[2], ARGV[2])
  redis.call('sadd', KEYS[3], ARGV[3])
  return 1
end
return 0
"""
_APPLY = """
for _, name in ipairs(KEYS) do
  if redis.call('exists', name) == 1 then return 0 end
end
for _, command in ipairs(cjson.decode(ARGV[1])) do redis.call(unpack(command)) end
return 1
"""
"""Fails (returns 0, writes nothing) when one of KEYS exists; else runs each command of
ARGV[1], a JSON array of commands, each an array of strings (one argument: redis-py packs a
command with thousands of arguments slowly)."""
_PENDING_FOR = """
local ids = redis.call('zrange', KEYS[1], 0, tonumber(ARGV[1]) - 1)
if #ids == 0 then return {} end
local names = {}
for i, id in ipairs(ids) do names[i] = 'message:' .. id end
return redis.call('mget', unpack(names))
"""
_FORGET_IF_EMPTY = """
if redis.call('llen', KEYS[1]) == 0 then return redis.call('srem', KEYS[2], ARGV[1]) end
return 0
"""


def bot_scope(key: SessionKey) -> str:
    """``{botId}`` of the key layout: the bot id, prefixed by the channel unless WhatsApp."""
    return key.bot_id if key.channel == "whatsapp" else f"{key.channel}:{key.bot_id}"


def _iso(moment: datetime | None) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds") if moment else ""


def _dt(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _epoch(moment: datetime) -> float:
    return moment.timestamp()


def _score(value: float) -> str:
    """A sorted-set score as Redis reads it back exactly."""
    return repr(value)


def session_hash(session: Session) -> dict[str, str]:
    """The hash fields of a session (``""`` for an absent value)."""
    key = session.key
    return {
        "sessionId": session.id,
        "channel": key.channel,
        "botId": key.bot_id,
        "userId": key.user_id,
        "phoneNumber": f"+{key.user_id}" if key.user_id.isdigit() else key.user_id,
        "displayName": session.display_name or "",
        "status": session.status.value,
        "closeReason": session.close_reason or "",
        "flow": session.flow_id or "",
        "step": session.step_id or "",
        "data": json.dumps(session.data, ensure_ascii=False),
        "language": session.language or "",
        "createdAt": _iso(session.created_at),
        "lastSeen": _iso(session.last_activity_at),
        "expiresAt": _iso(session.expires_at),
        "closedAt": _iso(session.closed_at),
        "warnedAt": _iso(session.warned_at),
        "flowVersion": session.flow_version or "",
        "stepRetries": str(session.step_retries),
    }


def session_from_hash(fields: dict[str, str]) -> Session:
    """Inverse of :func:`session_hash`."""
    created, last = _dt(fields["createdAt"]), _dt(fields["lastSeen"])
    assert created is not None and last is not None
    return Session(
        id=fields["sessionId"],
        key=SessionKey(fields["channel"], fields["botId"], fields["userId"]),
        status=Status(fields["status"]),
        close_reason=fields.get("closeReason") or None,
        flow_id=fields.get("flow") or None,
        step_id=fields.get("step") or None,
        data=json.loads(fields.get("data") or "{}"),
        language=fields.get("language") or None,
        display_name=fields.get("displayName") or None,
        created_at=created,
        last_activity_at=last,
        expires_at=_dt(fields.get("expiresAt")),
        closed_at=_dt(fields.get("closedAt")),
        warned_at=_dt(fields.get("warnedAt")),
        flow_version=fields.get("flowVersion") or None,
        step_retries=int(fields.get("stepRetries") or 0),
    )


def _message_json(m: MessageRecord) -> str:
    return json.dumps(
        {
            "id": m.id,
            "session_id": m.session_id,
            "channel": m.key.channel,
            "bot_id": m.key.bot_id,
            "user_id": m.key.user_id,
            "direction": m.direction.value,
            "kind": m.kind,
            "text": m.text,
            "step_id": m.step_id,
            "created_at": _iso(m.created_at),
            "provider_id": m.provider_id,
            "status": m.status.value,
            "error_code": m.error_code,
            "error_detail": m.error_detail,
            "payload": m.payload,
            "attempts": m.attempts,
            "next_attempt_at": _iso(m.next_attempt_at) or None,
            "priority": int(m.priority),
            "notice": m.notice,
        },
        ensure_ascii=False,
    )


def _message(raw: str) -> MessageRecord:
    return message_from_row(json.loads(raw))


def _matches(session: Session, query: SessionQuery) -> bool:
    """``query``'s filters (but time of creation, applied by the index) on one session."""
    checks = (
        (query.user_id, session.key.user_id),
        (query.status, session.status.value),
        (query.channel, session.key.channel),
        (query.bot_id, session.key.bot_id),
        (query.flow_id, session.flow_id),
    )
    if any(wanted is not None and wanted != actual for wanted, actual in checks):
        return False
    if query.channels and session.key.channel not in query.channels:
        return False
    if query.active_from is not None and session.last_activity_at < query.active_from:
        return False
    return not (query.active_to is not None and session.last_activity_at >= query.active_to)


def _inbox_name(key: SessionKey) -> str:
    return f"inbox:{key.channel}:{bot_scope(key)}:{key.user_id}"


def _outbox_name(key: SessionKey) -> str:
    return f"outbox:user:{bot_scope(key)}:{key.user_id}"


def _user_member(key: SessionKey) -> str:
    return json.dumps([key.channel, key.bot_id, key.user_id])


@contextmanager
def _reachable() -> Iterator[None]:
    try:
        yield
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
        raise StoreUnavailable(f"redis: {exc}") from exc


def _translate_errors(cls: type[RedisStore]) -> type[RedisStore]:
    """Make every public coroutine method raise :class:`StoreUnavailable` for connection
    errors and timeouts, so callers handle one exception whatever the backend."""
    for name, member in list(vars(cls).items()):
        if name.startswith("_") or not inspect.iscoroutinefunction(member):
            continue

        def wrap(method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
            @functools.wraps(method)
            async def translated(*args: Any, **kwargs: Any) -> Any:
                with _reachable():
                    return await method(*args, **kwargs)

            return translated

        setattr(cls, name, wrap(member))
    return cls


@_translate_errors
class RedisStore(SessionStore):
    """Sessions, messages, inboxes and locks on one Redis database.

    Args:
        url: ``redis://host:port/db``.
        retention_s: How long the status key of a closed session lives.
    """

    def __init__(self, url: str, retention_s: float = 168 * 3600) -> None:
        self.url = url
        self.retention_s = retention_s
        # Typed Any: redis-py's annotations say ``bytes | str`` even with decode_responses=True.
        self._redis: Any = None

    @property
    def redis(self) -> Any:
        if self._redis is None:
            raise RuntimeError("RedisStore used before open()")
        return self._redis

    async def open(self) -> None:
        """Connect (retrying briefly on connection errors) and check the server answers.

        Raises:
            StoreUnavailable: Redis does not answer.
        """
        # A blocking pool: a burst waits for one of the connections instead of failing with
        # "Too many connections".
        pool = BlockingConnectionPool.from_url(
            self.url,
            max_connections=MAX_CONNECTIONS,
            timeout=POOL_WAIT_S,
            decode_responses=True,
            socket_timeout=5,
            socket_connect_timeout=5,
            health_check_interval=15,
            retry=Retry(ExponentialBackoff(cap=0.5, base=0.02), retries=3),
            retry_on_error=[redis.exceptions.ConnectionError, redis.exceptions.TimeoutError],
        )
        self._redis = Redis.from_pool(pool)
        self._enqueue = self._redis.register_script(_ENQUEUE)
        self._forget = self._redis.register_script(_FORGET_IF_EMPTY)
        self._apply = self._redis.register_script(_APPLY)
        self._pending_for = self._redis.register_script(_PENDING_FOR)
        with _reachable():
            await self._redis.ping()

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None

    def user_locks(self) -> UserLocks:
        """Locks shared by every worker on this Redis (``lock:{botId}:{userId}``)."""
        return self._locks("lock")

    def outbox_locks(self) -> UserLocks:
        """Sender locks shared by every worker (``outbox:lock:{botId}:{userId}``)."""
        return self._locks("outbox:lock")

    def _locks(self, prefix: str) -> UserLocks:
        def name(key: Hashable) -> str:
            assert isinstance(key, SessionKey)
            return f"{prefix}:{bot_scope(key)}:{key.user_id}"

        return RedisUserLocks(self.redis, name)

    def send_slots(self) -> SendSlots:
        """Send slots shared by every worker (``outbox:pace:{channel}:{botId}``)."""
        return RedisSendSlots(self.redis)

    async def ping(self) -> None:
        """Check Redis answers; raises StoreUnavailable when it does not."""
        with _reachable():
            await self.redis.ping()

    async def get_active(self, key: SessionKey) -> Session | None:
        fields = await self.redis.hgetall(f"session:{bot_scope(key)}:{key.user_id}")
        if not fields or fields.get("status") != Status.ACTIVE.value:
            return None
        return session_from_hash(fields)

    async def get(self, session_id: str) -> Session | None:
        fields = await self.redis.hgetall(f"session:id:{session_id}")
        return session_from_hash(fields) if fields else None

    async def seen_inbound(self, channel: str, provider_id: str) -> bool:
        return bool(await self.redis.exists(f"inbound:seen:{channel}:{provider_id}"))

    async def enqueue_inbound(self, message: InboundMessage) -> bool:
        key = SessionKey(message.channel, message.bot_id, message.user_id)
        with _reachable():
            queued = await self._enqueue(
                keys=[
                    f"inbound:seen:{message.channel}:{message.message_id}",
                    _inbox_name(key),
                    "inbox:users",
                ],
                args=[
                    SEEN_TTL_S,
                    json.dumps(message.to_json(), ensure_ascii=False),
                    _user_member(key),
                ],
            )
        return bool(queued)

    async def next_inbound(self, key: SessionKey) -> InboundMessage | None:
        raw = await self.redis.lindex(_inbox_name(key), 0)
        return InboundMessage.from_json(json.loads(raw)) if raw else None

    async def inbox_keys(self, limit: int) -> list[SessionKey]:
        keys: list[SessionKey] = []
        async for member in self.redis.sscan_iter("inbox:users", count=limit):
            channel, bot_id, user_id = json.loads(member)
            key = SessionKey(channel, bot_id, user_id)
            if await self._forget(keys=[_inbox_name(key), "inbox:users"], args=[member]):
                continue  # its inbox was empty: forgotten
            keys.append(key)
            if len(keys) >= limit:
                break
        return keys

    async def commit(
        self,
        sessions: Sequence[Session],
        messages: Sequence[MessageRecord],
        consumed: InboundMessage | None = None,
    ) -> list[MessageRecord]:
        with _reachable():
            return await self._commit(sessions, messages, consumed)

    async def _commit(
        self,
        sessions: Sequence[Session],
        messages: Sequence[MessageRecord],
        consumed: InboundMessage | None,
    ) -> list[MessageRecord]:
        """Two round trips: ``INCRBY messages:seq`` for the ids, then one script that checks
        the inbound provider ids and applies every write (atomic, like ``MULTI``/``EXEC``)."""
        done_keys = [
            f"inbound:done:{m.key.channel}:{m.provider_id}"
            for m in messages
            if m.direction is Direction.IN and m.provider_id
        ]
        if messages:
            last = int(await self.redis.incrby("messages:seq", len(messages)))
            for offset, m in enumerate(messages):
                m.id = last - len(messages) + 1 + offset
        now = datetime.now(UTC)
        ops: list[tuple[str, ...]] = []
        retention = str(int(self.retention_s))

        def op(*args: str) -> None:
            ops.append(args)

        for s in sessions:
            scope = f"{bot_scope(s.key)}:{s.key.user_id}"
            fields = [item for pair in session_hash(s).items() for item in pair]
            op("hset", f"session:id:{s.id}", *fields)
            op("hset", f"session:{scope}", *fields)
            if s.status is Status.ACTIVE and s.expires_at is not None:
                ttl = max(60, int((s.expires_at - now).total_seconds()) + 60)
                op("set", f"session:status:{scope}", s.status.value, "EX", str(ttl))
                op("zadd", "sessions:deadlines", _score(_epoch(s.expires_at)), s.id)
            else:
                op("set", f"session:status:{scope}", s.status.value, "EX", retention)
                op("zrem", "sessions:deadlines", s.id)
            created = _score(_epoch(s.created_at))
            op("zadd", "sessions:created", created, s.id)
            op("zadd", f"sessions:user:{s.key.user_id}", created, s.id)
        for m in messages:
            member = str(m.id)
            op("set", f"message:{member}", _message_json(m))
            if m.session_id is not None:
                op("rpush", f"messages:{m.session_id}", member)
                counter = "messagesIn" if m.direction is Direction.IN else "messagesOut"
                op("hincrby", f"session:id:{m.session_id}", counter, "1")
            else:
                scope = f"{bot_scope(m.key)}:{m.key.user_id}"
                op("rpush", f"messages:nosession:{scope}", member)
            if m.direction is Direction.OUT and m.status is Delivery.PENDING:
                op(
                    "zadd",
                    "outbox:pending",
                    _score(_epoch(m.next_attempt_at or m.created_at)),
                    member,
                )
                op("zadd", _outbox_name(m.key), member, member)
            if m.direction is Direction.IN and m.kind != "system":
                name = f"inbound:last:{bot_scope(m.key)}:{m.key.user_id}"
                op("set", name, _iso(m.created_at), "EX", retention)
        for name in done_keys:
            op("set", name, "1", "EX", str(SEEN_TTL_S))
        if consumed is not None:
            op("lpop", _inbox_name(SessionKey(consumed.channel, consumed.bot_id, consumed.user_id)))
        commands = json.dumps(ops, ensure_ascii=False, separators=(",", ":"))
        if ops and not await self._apply(keys=done_keys, args=[commands]):
            raise DuplicateInbound(", ".join(done_keys))
        return list(messages)

    async def due_sessions(self, now: datetime, limit: int) -> list[Session]:
        ids = await self.redis.zrangebyscore("sessions:deadlines", "-inf", _epoch(now), 0, limit)
        return await self._sessions(ids)

    async def _sessions(self, ids: Sequence[str]) -> list[Session]:
        if not ids:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for sid in ids:
                pipe.hgetall(f"session:id:{sid}")
            rows = await pipe.execute()
        return [session_from_hash(r) for r in rows if r]

    async def pending_outbound(
        self, limit: int, due_by: datetime | None = None
    ) -> list[MessageRecord]:
        if due_by is None:
            ids = await self.redis.zrange("outbox:pending", 0, limit - 1)
            raws = await self.redis.mget([f"message:{i}" for i in ids]) if ids else []
            return sorted((_message(r) for r in raws if r), key=lambda m: m.id or 0)
        found: list[MessageRecord] = []
        start = 0
        for _ in range(_DUE_PAGES):  # later messages of a user in backoff are passed over
            ids = await self.redis.zrangebyscore(
                "outbox:pending", "-inf", _epoch(due_by), start, _DUE_PAGE
            )
            if not ids:
                break
            start += len(ids)
            raws = await self.redis.mget([f"message:{i}" for i in ids])
            candidates = [_message(r) for r in raws if r]
            async with self.redis.pipeline(transaction=False) as pipe:
                for m in candidates:
                    pipe.zrange(_outbox_name(m.key), 0, 0)
                heads = await pipe.execute()
            found.extend(
                m for m, head in zip(candidates, heads, strict=True) if head == [str(m.id)]
            )
            if len(found) >= limit:
                break
        return sorted(found, key=lambda m: m.id or 0)[:limit]

    async def pending_for(self, key: SessionKey, limit: int) -> list[MessageRecord]:
        raws = await self._pending_for(keys=[_outbox_name(key)], args=[limit])
        return [m for m in (_message(r) for r in raws if r) if m.status is Delivery.PENDING]

    async def last_inbound_at(self, key: SessionKey) -> datetime | None:
        return _dt(await self.redis.get(f"inbound:last:{bot_scope(key)}:{key.user_id}"))

    async def _update_message(self, message_id: int, **changes: Any) -> MessageRecord | None:
        raw = await self.redis.get(f"message:{message_id}")
        if raw is None:
            return None
        m = _message(raw)
        for name, value in changes.items():
            setattr(m, name, value)
        await self.redis.set(f"message:{message_id}", _message_json(m))
        return m

    async def mark_outbound(
        self,
        message_id: int,
        status: Delivery,
        provider_id: str | None = None,
        error_code: int | None = None,
        error_detail: str | None = None,
        *,
        attempts: int | None = None,
        next_attempt_at: datetime | None = None,
    ) -> None:
        raw = await self.redis.get(f"message:{message_id}")
        member = str(message_id)
        m = _message(raw) if raw is not None else None
        async with self.redis.pipeline(transaction=True) as pipe:
            if m is not None:
                m.status, m.error_code, m.error_detail = status, error_code, error_detail
                m.next_attempt_at = next_attempt_at
                m.attempts = m.attempts if attempts is None else attempts
                m.provider_id = provider_id or m.provider_id
                pipe.set(f"message:{message_id}", _message_json(m))
            if provider_id is not None:
                pipe.set(f"wamid:{provider_id}", member, ex=int(self.retention_s))
            if status is Delivery.PENDING:
                if m is not None:
                    pipe.zadd("outbox:pending", {member: _epoch(next_attempt_at or m.created_at)})
            else:
                pipe.zrem("outbox:pending", member)
                if m is not None:
                    pipe.zrem(_outbox_name(m.key), member)
            await pipe.execute()

    async def update_delivery(
        self,
        provider_id: str,
        status: Delivery,
        error_code: int | None = None,
        error_detail: str | None = None,
    ) -> bool:
        message_id = await self.redis.get(f"wamid:{provider_id}")
        if message_id is None:
            return False
        raw = await self.redis.get(f"message:{message_id}")
        if raw is None:
            return False
        current = _message(raw)
        if status is not Delivery.FAILED and _RANK.get(current.status, 99) >= _RANK.get(status, 0):
            return True
        await self._update_message(
            int(message_id),
            status=status,
            error_code=error_code if error_code is not None else current.error_code,
            error_detail=error_detail if error_detail is not None else current.error_detail,
        )
        return True

    async def _matching(self, query: SessionQuery) -> AsyncIterator[Session]:
        """Sessions matching ``query``'s filters, newest first (offset and limit ignored)."""
        index = f"sessions:user:{query.user_id}" if query.user_id else "sessions:created"
        high = _epoch(query.created_to) - 1e-6 if query.created_to else "+inf"
        low = _epoch(query.created_from) if query.created_from else "-inf"
        start, page = 0, 500
        while True:
            ids = await self.redis.zrevrangebyscore(index, high, low, start, page)
            if not ids:
                return
            start += page
            for session in await self._sessions(ids):
                if _matches(session, query):
                    yield session

    async def list_sessions(self, query: SessionQuery) -> list[Session]:
        found: list[Session] = []
        skipped = 0
        async for session in self._matching(query):
            if skipped < query.offset:
                skipped += 1
                continue
            found.append(session)
            if len(found) >= query.limit:
                break
        return found

    async def count_sessions(self, query: SessionQuery) -> int:
        return sum([1 async for _ in self._matching(query)])

    async def session_stats(
        self, created_from: datetime | None = None, created_to: datetime | None = None
    ) -> SessionStats:
        query = SessionQuery(created_from=created_from, created_to=created_to)
        by_status: dict[str, int] = {}
        by_reason: dict[str, int] = {}
        flows: dict[str, dict[str, int]] = {}
        durations: list[float] = []
        ids: list[str] = []
        async for s in self._matching(query):
            ids.append(s.id)
            by_status[s.status.value] = by_status.get(s.status.value, 0) + 1
            if s.close_reason:
                by_reason[s.close_reason] = by_reason.get(s.close_reason, 0) + 1
            if s.closed_at is not None:
                durations.append((s.closed_at - s.created_at).total_seconds())
            if s.flow_id:
                reason = s.close_reason or "active"
                per_flow = flows.setdefault(s.flow_id, {})
                per_flow[reason] = per_flow.get(reason, 0) + 1
        messages_in = messages_out = 0
        async with self.redis.pipeline(transaction=False) as pipe:
            for sid in ids:
                pipe.hmget(f"session:id:{sid}", "messagesIn", "messagesOut")
            for counts in await pipe.execute() if ids else []:
                messages_in += int(counts[0] or 0)
                messages_out += int(counts[1] or 0)
        sessions = len(ids)
        return SessionStats(
            sessions=sessions,
            by_status=by_status,
            by_close_reason=by_reason,
            messages_in=messages_in,
            messages_out=messages_out,
            avg_duration_s=sum(durations) / len(durations) if durations else None,
            avg_messages=(messages_in + messages_out) / sessions if sessions else None,
            flows={
                flow: FlowStats(sessions=sum(reasons.values()), by_close_reason=reasons)
                for flow, reasons in flows.items()
            },
        )

    async def delete_user(self, bot_id: str, user_id: str) -> DeletedCounts:
        sessions = [
            s async for s in self._matching(SessionQuery(user_id=user_id)) if s.key.bot_id == bot_id
        ]
        message_ids: list[str] = []
        for s in sessions:
            message_ids.extend(await self.redis.lrange(f"messages:{s.id}", 0, -1))
        scopes = {f"{bot_scope(s.key)}:{user_id}" for s in sessions}
        scopes.add(f"{bot_id}:{user_id}")
        for scope in scopes:
            message_ids.extend(await self.redis.lrange(f"messages:nosession:{scope}", 0, -1))
        with _reachable():
            async with self.redis.pipeline(transaction=True) as pipe:
                for s in sessions:
                    pipe.delete(f"session:id:{s.id}", f"messages:{s.id}")
                    pipe.zrem("sessions:created", s.id)
                    pipe.zrem("sessions:deadlines", s.id)
                    pipe.zrem(f"sessions:user:{user_id}", s.id)
                for scope in scopes:
                    pipe.delete(
                        f"session:{scope}",
                        f"session:status:{scope}",
                        f"messages:nosession:{scope}",
                        f"outbox:user:{scope}",
                        f"inbound:last:{scope}",
                    )
                for mid in message_ids:
                    pipe.delete(f"message:{mid}")
                    pipe.zrem("outbox:pending", mid)
                await pipe.execute()
        return DeletedCounts(sessions=len(sessions), messages=len(message_ids))

    async def purge_closed(self, closed_before: datetime) -> DeletedCounts:
        """Inbound idempotency keys expire by themselves (7-day TTL)."""
        ids = await self.redis.zrangebyscore("sessions:created", "-inf", _epoch(closed_before))
        old = [
            s
            for s in await self._sessions(ids)
            if s.status is not Status.ACTIVE and s.closed_at and s.closed_at < closed_before
        ]
        deleted_messages = 0
        for s in old:
            message_ids = await self.redis.lrange(f"messages:{s.id}", 0, -1)
            deleted_messages += len(message_ids)
            scope = f"{bot_scope(s.key)}:{s.key.user_id}"
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.delete(f"session:id:{s.id}", f"messages:{s.id}")
                if message_ids:
                    pipe.delete(*[f"message:{m}" for m in message_ids])
                    pipe.zrem("outbox:pending", *message_ids)
                    pipe.zrem(f"outbox:user:{scope}", *message_ids)
                pipe.zrem("sessions:created", s.id)
                pipe.zrem(f"sessions:user:{s.key.user_id}", s.id)
                await pipe.execute()
            # The user's current-session hash goes too if it still shows this old session.
            current = await self.redis.hget(f"session:{scope}", "sessionId")
            if current == s.id:
                await self.redis.delete(f"session:{scope}")
        return DeletedCounts(sessions=len(old), messages=deleted_messages)

    async def messages(self, session_id: str, limit: int = 200) -> list[MessageRecord]:
        ids = await self.redis.lrange(f"messages:{session_id}", -limit, -1)
        if not ids:
            return []
        raws = await self.redis.mget([f"message:{i}" for i in ids])
        return [_message(r) for r in raws if r]

    # --- dashboard queries (issue #8) --------------------------------------------------------

    async def message_summaries(self, session_ids: Sequence[str]) -> dict[str, MessageSummary]:
        ids = list(dict.fromkeys(session_ids))
        if not ids:
            return {}
        async with self.redis.pipeline(transaction=False) as pipe:
            for sid in ids:
                pipe.hmget(f"session:id:{sid}", "messagesIn", "messagesOut")
                pipe.lindex(f"messages:{sid}", -1)
            replies = await pipe.execute()
        counts, newest = replies[0::2], replies[1::2]
        with_messages = [
            (sid, c, last) for sid, c, last in zip(ids, counts, newest, strict=True) if last
        ]
        if not with_messages:
            return {}
        raws = await self.redis.mget([f"message:{last}" for _, _, last in with_messages])
        found: dict[str, MessageSummary] = {}
        for (sid, (n_in, n_out), _), raw in zip(with_messages, raws, strict=True):
            if raw:
                found[sid] = MessageSummary(
                    int(n_in or 0), int(n_out or 0), _message(raw).created_at
                )
        return found

    async def hourly_activity(self, since: datetime, until: datetime) -> HourlyActivity:
        """Reads every session created before ``until`` (no index by close time)."""
        opened: dict[datetime, int] = {}
        closed: dict[datetime, dict[str, int]] = {}
        async for s in self._matching(SessionQuery(created_to=until)):
            if since <= s.created_at < until:
                hour = _hour(s.created_at)
                opened[hour] = opened.get(hour, 0) + 1
            if s.closed_at is not None and since <= s.closed_at < until:
                per_hour = closed.setdefault(_hour(s.closed_at), {})
                reason = s.close_reason or s.status.value
                per_hour[reason] = per_hour.get(reason, 0) + 1
        return HourlyActivity(opened=opened, closed=closed)

    async def flow_exits(
        self, created_from: datetime | None = None, created_to: datetime | None = None
    ) -> list[StepExit]:
        counts: dict[tuple[str, str | None, str], int] = {}
        pending: list[Session] = []  # closed sessions whose last step is read from messages

        async def resolve() -> None:
            steps = await self._last_steps([s.id for s in pending])
            for session, step in zip(pending, steps, strict=True):
                assert session.flow_id is not None
                row = (session.flow_id, step, session.close_reason or session.status.value)
                counts[row] = counts.get(row, 0) + 1
            pending.clear()

        query = SessionQuery(created_from=created_from, created_to=created_to)
        async for s in self._matching(query):
            if s.flow_id is None:
                continue
            if s.step_id is not None or s.status is Status.ACTIVE:
                row = (s.flow_id, s.step_id, s.close_reason or "active")
                counts[row] = counts.get(row, 0) + 1
                continue
            pending.append(s)
            if len(pending) >= _STEP_BATCH:
                await resolve()
        await resolve()
        return [StepExit(flow, step, outcome, n) for (flow, step, outcome), n in counts.items()]

    async def _last_steps(self, session_ids: Sequence[str]) -> list[str | None]:
        """Per session, the ``step_id`` of its newest message that has one (``None``: none).

        Reads the last :data:`_STEP_TAIL` messages of each session, and all of them only for a
        session whose tail has no step (a long exchange after its flow)."""
        if not session_ids:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for sid in session_ids:
                pipe.lrange(f"messages:{sid}", -_STEP_TAIL, -1)
            tails = await pipe.execute()
        steps: list[str | None] = []
        for sid, tail in zip(session_ids, tails, strict=True):
            step = await self._newest_step(tail)
            if step is None and len(tail) == _STEP_TAIL:
                step = await self._newest_step(await self.redis.lrange(f"messages:{sid}", 0, -1))
            steps.append(step)
        return steps

    async def _newest_step(self, message_ids: Sequence[str]) -> str | None:
        if not message_ids:
            return None
        raws = await self.redis.mget([f"message:{i}" for i in message_ids])
        for raw in reversed(raws):
            if raw:
                step: str | None = json.loads(raw).get("step_id")
                if step is not None:
                    return step
        return None


_DUE_PAGE = 500
"""Due outbox entries read per round trip by :meth:`RedisStore.pending_outbound`."""
_DUE_PAGES = 20
"""At most this many pages are read per call (entries behind a user's retry are skipped)."""

_STEP_BATCH = 200
"""Closed sessions whose last step :meth:`RedisStore.flow_exits` looks up in one pipeline."""
_STEP_TAIL = 16
"""Newest messages read first when looking for a session's last step."""


def _hour(moment: datetime) -> datetime:
    """The start of ``moment``'s UTC hour."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
