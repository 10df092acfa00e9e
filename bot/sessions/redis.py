"""The Redis session store (redis-py asyncio), for several ``bot serve`` workers on one Redis.

Key layout: :mod:`bot.sessions.redis_keys` builds every key name (frontends read
``session:{botId}:{userId}`` and ``session:status:{botId}:{userId}`` directly: their names
stay exactly as they are).

Each :meth:`RedisStore.commit` is one Lua script (atomic, like ``MULTI``/``EXEC``) that also
takes the message ids from ``messages:seq``; :meth:`RedisStore.mark_outbound` is one script
too (a compare-and-set of the message as it was last read). Taking a user's lock reads in the
same round trip what its holder reads first (the inbox's head and the session; for the
sender, the pending messages and the start of the 24-hour window). What was read under a lock
is trusted only while this process holds it, and is kept up to date by this process's own
commits: every writer of a session, an inbox's head or a pending message holds that lock.
"""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import orjson
import redis.exceptions
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

from bot.channels.base import InboundMessage
from bot.clock import Clock, utc_now
from bot.delivery.redis_slots import RedisSendSlots
from bot.sessions import redis_keys
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
from bot.sessions.redis_batch import CommandBatcher
from bot.sessions.redis_locks import RedisUserLocks, Take
from bot.sessions.slots import SendSlots
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
SENDER_READ_AHEAD = 50
"""Pending messages read with a user's sender lock (the outbox sends up to 50 per turn)."""
_READ_KEPT = 20_000
"""At most this many messages read by :meth:`RedisStore.pending_for` are remembered."""
POOL_WAIT_S = 60.0
"""Longest wait for a free connection. A saturated worker queues hundreds of turns on the
pool: they wait their turn rather than fail (a command itself still times out after 5 s)."""
_PROBE_TTL_MS = 60_000

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
for i = 2, #KEYS do
  if redis.call('exists', KEYS[i]) == 1 then return false end
end
local count = tonumber(ARGV[2])
local first = 0
if count > 0 then first = redis.call('incrby', KEYS[1], count) - count + 1 end
for _, command in ipairs(cjson.decode(ARGV[1])) do
  for i, arg in ipairs(command) do
    if type(arg) == 'table' then
      command[i] = arg[2] .. string.format('%d', first + arg[1]) .. arg[3]
    end
  end
  redis.call(unpack(command))
end
if ARGV[3] then return {first, redis.call('lindex', ARGV[3], 0) or ''} end
return {first}
"""
"""Fails (returns nil, writes nothing) when one of KEYS but the first exists. Else takes
ARGV[2] ids from KEYS[1] (``messages:seq``) and runs each command of ARGV[1], a JSON array of
commands (one argument: redis-py packs a command with thousands of arguments slowly); an
argument is a string, or
``[k, prefix, suffix]`` for ``prefix .. (first id + k) .. suffix``. Returns the first id, and
the head of inbox ARGV[3] (``''``: empty) when given."""
_PENDING_FOR = """
local ids = redis.call('zrange', KEYS[1], 0, tonumber(ARGV[1]) - 1)
if #ids == 0 then return {} end
local names = {}
for i, id in ipairs(ids) do names[i] = ARGV[2] .. id end
return redis.call('mget', unpack(names))
"""
"""The first ARGV[1] messages (keys ARGV[2] .. id) of the user's outbox KEYS[1]."""
_TAKE_USER = """
if not redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return false end
return {redis.call('lindex', KEYS[2], 0) or '', redis.call('hgetall', KEYS[3])}
"""
"""The user's lock KEYS[1] (token ARGV[1], lease ARGV[2] ms) and, when taken, the head of
inbox KEYS[2] (``''``: empty) and session hash KEYS[3]; nil when someone holds it."""
_TAKE_SENDER = """
if not redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return false end
local reply = {redis.call('get', KEYS[2]) or ''}
local ids = redis.call('zrange', KEYS[3], 0, tonumber(ARGV[3]) - 1)
if #ids > 0 then
  local names = {}
  for i, id in ipairs(ids) do names[i] = ARGV[4] .. id end
  for i, raw in ipairs(redis.call('mget', unpack(names))) do reply[i + 1] = raw or '' end
end
return reply
"""
"""The user's sender lock KEYS[1] (token ARGV[1], lease ARGV[2] ms) and, when taken, when
the user last wrote (KEYS[2], ``''``: never) and the first ARGV[3] pending messages (keys
ARGV[4] .. id) of outbox KEYS[3] (``''`` for one deleted); nil when someone holds it."""
_MARK = """
local current = redis.call('get', KEYS[1])
if (current or '') ~= ARGV[1] then return {0, current or ''} end
if current then redis.call('set', KEYS[1], ARGV[2]) end
if ARGV[5] ~= '' then redis.call('set', ARGV[5], ARGV[3], 'EX', ARGV[6]) end
if ARGV[4] ~= '' then
  if current then redis.call('zadd', KEYS[2], ARGV[4], ARGV[3]) end
else
  redis.call('zrem', KEYS[2], ARGV[3])
  if current then redis.call('zrem', KEYS[3], ARGV[3]) end
end
return {1}
"""
"""Compare-and-set of message KEYS[1]: when it still reads ARGV[1] (``''``: absent), write
ARGV[2] (if present), map provider key ARGV[5] (if any) to id ARGV[3] for ARGV[6] s, and
either schedule the next attempt at ARGV[4] (epoch s) in ``outbox:pending`` (KEYS[2]) or,
when ARGV[4] is ``''`` (settled), take the id out of it and out of the user's outbox
KEYS[3]. Returns ``{1}``, or ``{0, current}`` with nothing written."""
_SESSIONS = """
local ids = {}
if KEYS[1] then
  ids = redis.call('zrangebyscore', KEYS[1], '-inf', ARGV[2], 'LIMIT', 0, ARGV[3])
else
  for i = 2, #ARGV do ids[i - 1] = ARGV[i] end
end
local found = {}
for i, id in ipairs(ids) do found[i] = redis.call('hgetall', ARGV[1] .. id) end
return found
"""
"""The session hashes (keys ARGV[1] .. id; flat field-value arrays, empty for a missing one)
of the ids ARGV[2..], or with KEYS[1] (``sessions:deadlines``) of the first ARGV[3] ids
scored up to ARGV[2]."""
_FORGET_IF_EMPTY = """
if redis.call('llen', KEYS[1]) == 0 then return redis.call('srem', KEYS[2], ARGV[1]) end
return 0
"""


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
        "data": _json(session.data),
        "language": session.language or "",
        "createdAt": _iso(session.created_at),
        "lastSeen": _iso(session.last_activity_at),
        "expiresAt": _iso(session.expires_at),
        "closedAt": _iso(session.closed_at),
        "warnedAt": _iso(session.warned_at),
        "flowVersion": session.flow_version or "",
        "stepRetries": str(session.step_retries),
        "confirming": session.confirming or "",
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
        confirming=fields.get("confirming") or None,
    )


def _message_json(m: MessageRecord) -> str:
    return _json(
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
        }
    )


def _json(value: Any) -> str:
    """Compact JSON text: orjson (several times faster), or ``json`` with ASCII escapes for
    the text orjson refuses (lone surrogates, which no UTF-8 encoder takes either)."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value, separators=(",", ":"))


def _message(raw: str) -> MessageRecord:
    return message_from_row(json.loads(raw))


_NO_ID_PREFIX = '{"id":null'


def _message_json_without_id(m: MessageRecord) -> str:
    """:func:`_message_json` of ``m`` (whose id is not known yet) after its ``{"id":``."""
    text = _message_json(m)
    assert text.startswith(_NO_ID_PREFIX), "a new message has no id"
    return text[len(_NO_ID_PREFIX) :]


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
        clock: The current time (injected, like the app's): what the probe writes, and the
            moment a session's status key's TTL counts from.
    """

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
        # The scripts on every message's path share round trips (see redis_batch).
        self._batch = CommandBatcher(self._redis)
        script = self._batch.script
        self._enqueue = script(_ENQUEUE)
        self._forget = script(_FORGET_IF_EMPTY)
        self._apply = script(_APPLY)
        self._pending_for = script(_PENDING_FOR)
        self._take_user = script(_TAKE_USER)
        self._sessions_by_id = script(_SESSIONS)
        self._take_sender = script(_TAKE_SENDER)
        self._mark = script(_MARK)
        with _reachable():
            await self._redis.ping()

    async def close(self) -> None:
        if self._redis is not None:
            await self._batch.aclose()
            await self._redis.aclose()
            self._redis = None
        self._forget_reads()

    def user_locks(self) -> UserLocks:
        """Locks shared by every worker on this Redis (``lock:{botId}:{userId}``); taking one
        also reads the user's inbox head and session (see :meth:`next_inbound`)."""
        return self._locks(redis_keys.user_lock, self._take_user_lock, self._user_lock_released)

    def outbox_locks(self) -> UserLocks:
        """Sender locks shared by every worker (``outbox:lock:{botId}:{userId}``); taking one
        also reads the user's pending messages and last inbound time (see
        :meth:`pending_for`)."""
        return self._locks(
            redis_keys.sender_lock, self._take_sender_lock, self._sender_lock_released
        )

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

    async def _take_user_lock(self, key: Hashable, name: str, token: str, lease_ms: int) -> bool:
        assert isinstance(key, SessionKey)
        with _reachable():
            reply = await self._take_user(
                keys=[name, redis_keys.inbox(key), redis_keys.session(key)], args=[token, lease_ms]
            )
        if reply is None:
            return False
        head, flat = reply
        self._inbox_heads[key] = head
        self._held_sessions[key] = _pairs(flat)
        return True

    def _user_lock_released(self, key: Hashable) -> None:
        assert isinstance(key, SessionKey)
        self._inbox_heads.pop(key, None)
        self._held_sessions.pop(key, None)

    async def _take_sender_lock(self, key: Hashable, name: str, token: str, lease_ms: int) -> bool:
        assert isinstance(key, SessionKey)
        with _reachable():
            reply = await self._take_sender(
                keys=[name, redis_keys.last_inbound(key), redis_keys.user_outbox(key)],
                args=[token, lease_ms, SENDER_READ_AHEAD, redis_keys.MESSAGE_PREFIX],
            )
        if reply is None:
            return False
        self._last_inbound[key] = reply[0]
        self._pending[key] = reply[1:]
        return True

    def _sender_lock_released(self, key: Hashable) -> None:
        assert isinstance(key, SessionKey)
        self._last_inbound.pop(key, None)
        self._pending.pop(key, None)

    def _forget_reads(self) -> None:
        """Stop trusting anything read under a lock (after a write that bypassed them)."""
        self._inbox_heads.clear()
        self._held_sessions.clear()
        self._last_inbound.clear()
        self._pending.clear()
        self._read.clear()

    def forget_cached(self, key: SessionKey) -> None:
        self._held_sessions.pop(key, None)

    def send_slots(self) -> SendSlots:
        """Send slots shared by every worker (:func:`~bot.sessions.redis_keys.pace`)."""
        return RedisSendSlots(self._batch.script)

    async def ping(self) -> None:
        """Check Redis answers; raises StoreUnavailable when it does not."""
        with _reachable():
            await self.redis.ping()

    async def _write_probe(self) -> None:
        """``SET store:probe`` with a TTL: Redis refuses writes it answers reads for when it
        cannot save (``MISCONF``) or is a read-only replica."""
        with _reachable():
            try:
                await self.redis.set(redis_keys.PROBE, _iso(self.clock()), px=_PROBE_TTL_MS)
            except redis.exceptions.ResponseError as exc:
                raise StoreUnavailable(f"redis: {exc}") from exc

    async def get_active(self, key: SessionKey) -> Session | None:
        fields = self._held_sessions.get(key)
        if fields is None:
            fields = await self.redis.hgetall(redis_keys.session(key))
        if not fields or fields.get("status") != Status.ACTIVE.value:
            return None
        return session_from_hash(fields)

    async def get(self, session_id: str) -> Session | None:
        fields = await self.redis.hgetall(redis_keys.session_by_id(session_id))
        return session_from_hash(fields) if fields else None

    async def seen_inbound(self, channel: str, provider_id: str) -> bool:
        return bool(await self.redis.exists(redis_keys.inbound_seen(channel, provider_id)))

    async def enqueue_inbound(self, message: InboundMessage) -> bool:
        key = SessionKey(message.channel, message.bot_id, message.user_id)
        with _reachable():
            queued = await self._enqueue(
                keys=[
                    redis_keys.inbound_seen(message.channel, message.message_id),
                    redis_keys.inbox(key),
                    redis_keys.INBOX_USERS,
                ],
                args=[
                    SEEN_TTL_S,
                    # Strict (no _json fallback): what the commit could not write must fail
                    # here, before the webhook's 200, not be acknowledged and then dropped.
                    orjson.dumps(message.to_json()).decode(),
                    _user_member(key),
                ],
            )
        return bool(queued)

    async def next_inbound(self, key: SessionKey) -> InboundMessage | None:
        raw = self._inbox_heads.get(key)
        if raw is None:
            raw = await self.redis.lindex(redis_keys.inbox(key), 0)
        return InboundMessage.from_json(json.loads(raw)) if raw else None

    async def inbox_keys(self, limit: int) -> list[SessionKey]:
        keys: list[SessionKey] = []
        async for member in self.redis.sscan_iter(redis_keys.INBOX_USERS, count=limit):
            channel, bot_id, user_id = json.loads(member)
            key = SessionKey(channel, bot_id, user_id)
            if await self._forget(
                keys=[redis_keys.inbox(key), redis_keys.INBOX_USERS], args=[member]
            ):
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
        try:
            with _reachable():
                return await self._commit(sessions, messages, consumed)
        except DuplicateInbound:
            raise
        except BaseException:  # it may or may not have been applied: read again
            for s in sessions:
                self._held_sessions.pop(s.key, None)
            if consumed is not None:
                self._inbox_heads.pop(_consumed_key(consumed), None)
            raise

    async def _commit(
        self,
        sessions: Sequence[Session],
        messages: Sequence[MessageRecord],
        consumed: InboundMessage | None,
    ) -> list[MessageRecord]:
        """One round trip: a script that checks the inbound provider ids, takes the message
        ids and applies every write (atomic, like ``MULTI``/``EXEC``)."""
        done_keys = [
            redis_keys.inbound_done(m.key.channel, m.provider_id)
            for m in messages
            if m.direction is Direction.IN and m.provider_id
        ]
        now = self.clock()
        ops: list[tuple[str | tuple[int, str, str], ...]] = []
        retention = str(int(self.retention_s))

        def op(*args: str | tuple[int, str, str]) -> None:
            ops.append(args)

        written: dict[SessionKey, dict[str, str]] = {}
        for s in sessions:
            hashed = session_hash(s)
            written[s.key] = hashed
            fields = [item for pair in hashed.items() for item in pair]
            op("hset", redis_keys.session_by_id(s.id), *fields)
            op("hset", redis_keys.session(s.key), *fields)
            status = redis_keys.session_status(s.key)
            if s.status is Status.ACTIVE and s.expires_at is not None:
                ttl = max(60, int((s.expires_at - now).total_seconds()) + 60)
                op("set", status, s.status.value, "EX", str(ttl))
                op("zadd", redis_keys.SESSIONS_DEADLINES, _score(_epoch(s.expires_at)), s.id)
            else:
                op("set", status, s.status.value, "EX", retention)
                op("zrem", redis_keys.SESSIONS_DEADLINES, s.id)
            held = self._held_sessions.get(s.key)
            if held is None or held.get("sessionId") != s.id:  # else indexed when created
                created = _score(_epoch(s.created_at))
                op("zadd", redis_keys.SESSIONS_CREATED, created, s.id)
                op("zadd", redis_keys.sessions_of_user(s.key.user_id), created, s.id)
        for k, m in enumerate(messages):
            m.id = None
            member = (k, "", "")
            message = (k, redis_keys.MESSAGE_PREFIX, "")
            op("set", message, (k, '{"id":', _message_json_without_id(m)))
            if m.session_id is not None:
                op("rpush", redis_keys.session_messages(m.session_id), member)
                counter = "messagesIn" if m.direction is Direction.IN else "messagesOut"
                op("hincrby", redis_keys.session_by_id(m.session_id), counter, "1")
            else:
                op("rpush", redis_keys.messages_without_session(m.key), member)
            if m.direction is Direction.OUT and m.status is Delivery.PENDING:
                op(
                    "zadd",
                    redis_keys.OUTBOX_PENDING,
                    _score(_epoch(m.next_attempt_at or m.created_at)),
                    member,
                )
                op("zadd", redis_keys.user_outbox(m.key), member, member)
            if m.direction is Direction.IN and m.kind != "system":
                op("set", redis_keys.last_inbound(m.key), _iso(m.created_at), "EX", retention)
        for name in done_keys:
            op("set", name, "1", "EX", str(SEEN_TTL_S))
        inbox = redis_keys.inbox(_consumed_key(consumed)) if consumed is not None else None
        if inbox is not None:
            op("lpop", inbox)
        if not ops:
            return list(messages)
        commands = _json(ops)
        args = [commands, len(messages)] + ([inbox] if inbox is not None else [])
        reply = await self._apply(keys=[redis_keys.MESSAGE_SEQ, *done_keys], args=args)
        if reply is None:
            raise DuplicateInbound(", ".join(done_keys))
        first = int(reply[0])
        for k, m in enumerate(messages):
            m.id = first + k
        for key, hashed in written.items():
            if key in self._held_sessions:
                self._held_sessions[key] = hashed
        if consumed is not None and _consumed_key(consumed) in self._inbox_heads:
            self._inbox_heads[_consumed_key(consumed)] = reply[1]
        return list(messages)

    async def due_sessions(self, now: datetime, limit: int) -> list[Session]:
        """One round trip (a script reads the due ids and their hashes)."""
        rows = await self._sessions_by_id(
            keys=[redis_keys.SESSIONS_DEADLINES],
            args=[redis_keys.SESSION_BY_ID_PREFIX, _score(_epoch(now)), limit],
        )
        return [session_from_hash(_pairs(r)) for r in rows if r]

    async def _sessions(self, ids: Sequence[str]) -> list[Session]:
        if not ids:
            return []
        rows = await self._sessions_by_id(keys=[], args=[redis_keys.SESSION_BY_ID_PREFIX, *ids])
        return [session_from_hash(_pairs(r)) for r in rows if r]

    async def pending_outbound(
        self, limit: int, due_by: datetime | None = None
    ) -> list[MessageRecord]:
        if due_by is None:
            ids = await self.redis.zrange(redis_keys.OUTBOX_PENDING, 0, limit - 1)
            raws = await self.redis.mget([redis_keys.message(i) for i in ids]) if ids else []
            return sorted((_message(r) for r in raws if r), key=lambda m: m.id or 0)
        found: list[MessageRecord] = []
        start = 0
        for _ in range(_DUE_PAGES):  # later messages of a user in backoff are passed over
            ids = await self.redis.zrangebyscore(
                redis_keys.OUTBOX_PENDING, "-inf", _epoch(due_by), start, _DUE_PAGE
            )
            if not ids:
                break
            start += len(ids)
            raws = await self.redis.mget([redis_keys.message(i) for i in ids])
            candidates = [_message(r) for r in raws if r]
            async with self.redis.pipeline(transaction=False) as pipe:
                for m in candidates:
                    pipe.zrange(redis_keys.user_outbox(m.key), 0, 0)
                heads = await pipe.execute()
            found.extend(
                m for m, head in zip(candidates, heads, strict=True) if head == [str(m.id)]
            )
            if len(found) >= limit:
                break
        return sorted(found, key=lambda m: m.id or 0)[:limit]

    async def pending_for(self, key: SessionKey, limit: int) -> list[MessageRecord]:
        """Served from what taking the sender lock read, the first time after it was taken
        (when that covers ``limit``)."""
        raws = self._pending.pop(key, None)
        if raws is not None and len(raws) < SENDER_READ_AHEAD:
            raws = raws[:limit]
        elif raws is None or limit > len(raws):
            raws = await self._pending_for(
                keys=[redis_keys.user_outbox(key)], args=[limit, redis_keys.MESSAGE_PREFIX]
            )
        else:
            raws = raws[:limit]
        found = []
        for raw in raws:
            if raw:
                m = _message(raw)
                if m.status in _OUTBOX_STATES:
                    found.append(m)
                    self._remember(m, raw)
        return found

    def _remember(self, m: MessageRecord, raw: str) -> None:
        if len(self._read) >= _READ_KEPT:
            del self._read[next(iter(self._read))]
        self._read[_id_of(m)] = raw

    async def last_inbound_at(self, key: SessionKey) -> datetime | None:
        """Served from what taking the sender lock read, the first time after it was taken."""
        raw = self._last_inbound.pop(key, None)
        if raw is None:
            raw = await self.redis.get(redis_keys.last_inbound(key))
        return _dt(raw)

    async def _update_message(self, message_id: int, **changes: Any) -> MessageRecord | None:
        raw = await self.redis.get(redis_keys.message(message_id))
        if raw is None:
            return None
        m = _message(raw)
        for name, value in changes.items():
            setattr(m, name, value)
        await self.redis.set(redis_keys.message(message_id), _message_json(m))
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
        """One round trip when the message was read by :meth:`pending_for` in this process
        and has not changed since (a compare-and-set); else it is read first."""
        name, member = redis_keys.message(message_id), str(message_id)
        raw = self._read.pop(message_id, None)
        if raw is None:
            raw = await self.redis.get(name) or ""
        for _ in range(_MARK_TRIES):
            m = _message(raw) if raw else None
            new = user_outbox = ""
            score = "-"  # pending, but unknown: nothing to schedule
            if m is not None:
                self._pending.pop(m.key, None)  # what the sender lock read is stale now
                m.status, m.error_code, m.error_detail = status, error_code, error_detail
                m.next_attempt_at = next_attempt_at
                m.attempts = m.attempts if attempts is None else attempts
                m.provider_id = provider_id or m.provider_id
                new, user_outbox = _message_json(m), redis_keys.user_outbox(m.key)
                score = _score(_epoch(next_attempt_at or m.created_at))
            reply = await self._mark(
                keys=[name, redis_keys.OUTBOX_PENDING, user_outbox or name],
                args=[
                    raw,
                    new,
                    member,
                    score if status in _OUTBOX_STATES else "",
                    redis_keys.provider_message(provider_id) if provider_id is not None else "",
                    int(self.retention_s),
                ],
            )
            if int(reply[0]) == 1:
                if m is not None and status is Delivery.SENDING:  # its result comes next
                    self._remember(m, new)
                return
            raw = reply[1]  # changed since it was read: apply the change to what it is now
        raise StoreUnavailable(f"redis: message {message_id} kept changing while marked")

    async def settle_by_status(
        self, message_id: int, bot_id: str, provider_id: str
    ) -> MessageRecord | None:
        """A compare-and-set, like :meth:`mark_outbound`: a sender recording its own result
        meanwhile makes it read again (and find the message settled)."""
        name, member = redis_keys.message(message_id), str(message_id)
        self._read.pop(message_id, None)
        for _ in range(_MARK_TRIES):
            raw = await self.redis.get(name)
            if not raw:
                return None
            m = _message(raw)
            if (
                m.direction is not Direction.OUT
                or m.key.bot_id != bot_id
                or m.status not in _OUTBOX_STATES
                or m.attempts == 0
            ):
                return None
            before = _message(raw)
            m.status, m.provider_id, m.next_attempt_at = Delivery.SENT, provider_id, None
            m.error_code = m.error_detail = None
            new = _message_json(m)
            reply = await self._mark(
                keys=[name, redis_keys.OUTBOX_PENDING, redis_keys.user_outbox(m.key)],
                args=[
                    raw,
                    new,
                    member,
                    "",
                    redis_keys.provider_message(provider_id),
                    int(self.retention_s),
                ],
            )
            if int(reply[0]) == 1:
                self._pending.pop(m.key, None)
                return before
        raise StoreUnavailable(f"redis: message {message_id} kept changing while settled")

    async def update_delivery(
        self,
        provider_id: str,
        status: Delivery,
        error_code: int | None = None,
        error_detail: str | None = None,
    ) -> bool:
        message_id = await self.redis.get(redis_keys.provider_message(provider_id))
        if message_id is None:
            return False
        self._read.pop(int(message_id), None)
        raw = await self.redis.get(redis_keys.message(message_id))
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
        index = (
            redis_keys.sessions_of_user(query.user_id)
            if query.user_id
            else redis_keys.SESSIONS_CREATED
        )
        high = _epoch(query.created_to) - 1e-6 if query.created_to else "+inf"
        low = _epoch(query.created_from) if query.created_from else "-inf"
        start, page = 0, 500
        while True:
            ids = await self.redis.zrevrangebyscore(index, high, low, start, page)
            if not ids:
                return
            start += page
            sessions = [s for s in await self._sessions(ids) if _matches(s, query)]
            if query.opted_out is not None:
                opted = await self.opt_outs([s.key for s in sessions])
                sessions = [s for s in sessions if (s.key in opted) is query.opted_out]
            for session in sessions:
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
                pipe.hmget(redis_keys.session_by_id(sid), "messagesIn", "messagesOut")
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
        self._forget_reads()
        sessions = [
            s async for s in self._matching(SessionQuery(user_id=user_id)) if s.key.bot_id == bot_id
        ]
        message_ids: list[str] = []
        for s in sessions:
            message_ids.extend(await self.redis.lrange(redis_keys.session_messages(s.id), 0, -1))
        # The user's keys of each channel they had a session on, and of WhatsApp (whose keys
        # carry the bot id alone), each once.
        users = {redis_keys.session(k): k for k in [s.key for s in sessions]}
        users.setdefault(
            redis_keys.session(SessionKey("whatsapp", bot_id, user_id)),
            SessionKey("whatsapp", bot_id, user_id),
        )
        for k in users.values():
            without = redis_keys.messages_without_session(k)
            message_ids.extend(await self.redis.lrange(without, 0, -1))
        with _reachable():
            async with self.redis.pipeline(transaction=True) as pipe:
                for s in sessions:
                    pipe.delete(redis_keys.session_by_id(s.id), redis_keys.session_messages(s.id))
                    pipe.zrem(redis_keys.SESSIONS_CREATED, s.id)
                    pipe.zrem(redis_keys.SESSIONS_DEADLINES, s.id)
                    pipe.zrem(redis_keys.sessions_of_user(user_id), s.id)
                for k in users.values():
                    pipe.delete(
                        redis_keys.session(k),
                        redis_keys.session_status(k),
                        redis_keys.messages_without_session(k),
                        redis_keys.user_outbox(k),
                        redis_keys.last_inbound(k),
                    )
                for mid in message_ids:
                    pipe.delete(redis_keys.message(mid))
                    pipe.zrem(redis_keys.OUTBOX_PENDING, mid)
                await pipe.execute()
        return DeletedCounts(sessions=len(sessions), messages=len(message_ids))

    async def set_opt_out(self, key: SessionKey, at: datetime | None) -> None:
        """One transaction: the ``optout:`` key and the ``optedOut`` field of the user's
        session hash."""
        optout, current = redis_keys.optout(key), redis_keys.session(key)
        with _reachable():
            async with self.redis.pipeline(transaction=True) as pipe:
                if at is None:
                    pipe.delete(optout)
                    pipe.hset(current, "optedOut", "")
                else:
                    pipe.set(optout, _iso(at))
                    pipe.hset(current, "optedOut", _iso(at))
                await pipe.execute()
        held = self._held_sessions.get(key)
        if held is not None:
            held["optedOut"] = _iso(at)

    async def opt_outs(self, keys: Sequence[SessionKey]) -> dict[SessionKey, datetime]:
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            return {}
        values = await self.redis.mget([redis_keys.optout(k) for k in wanted])
        return {k: datetime.fromisoformat(v) for k, v in zip(wanted, values, strict=True) if v}

    async def purge_closed(self, closed_before: datetime) -> DeletedCounts:
        """Inbound idempotency keys expire by themselves (7-day TTL)."""
        self._forget_reads()
        ids = await self.redis.zrangebyscore(
            redis_keys.SESSIONS_CREATED, "-inf", _epoch(closed_before)
        )
        old = [
            s
            for s in await self._sessions(ids)
            if s.status is not Status.ACTIVE and s.closed_at and s.closed_at < closed_before
        ]
        deleted_messages = 0
        for s in old:
            message_ids = await self.redis.lrange(redis_keys.session_messages(s.id), 0, -1)
            deleted_messages += len(message_ids)
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.delete(redis_keys.session_by_id(s.id), redis_keys.session_messages(s.id))
                if message_ids:
                    pipe.delete(*[redis_keys.message(m) for m in message_ids])
                    pipe.zrem(redis_keys.OUTBOX_PENDING, *message_ids)
                    pipe.zrem(redis_keys.user_outbox(s.key), *message_ids)
                pipe.zrem(redis_keys.SESSIONS_CREATED, s.id)
                pipe.zrem(redis_keys.sessions_of_user(s.key.user_id), s.id)
                await pipe.execute()
            # The user's current-session hash goes too if it still shows this old session.
            current = await self.redis.hget(redis_keys.session(s.key), "sessionId")
            if current == s.id:
                await self.redis.delete(redis_keys.session(s.key))
        return DeletedCounts(sessions=len(old), messages=deleted_messages)

    async def messages(self, session_id: str, limit: int = 200) -> list[MessageRecord]:
        ids = await self.redis.lrange(redis_keys.session_messages(session_id), -limit, -1)
        if not ids:
            return []
        raws = await self.redis.mget([redis_keys.message(i) for i in ids])
        return [_message(r) for r in raws if r]

    # --- dashboard queries (issue #8) --------------------------------------------------------

    async def message_summaries(self, session_ids: Sequence[str]) -> dict[str, MessageSummary]:
        ids = list(dict.fromkeys(session_ids))
        if not ids:
            return {}
        async with self.redis.pipeline(transaction=False) as pipe:
            for sid in ids:
                pipe.hmget(redis_keys.session_by_id(sid), "messagesIn", "messagesOut")
                pipe.lindex(redis_keys.session_messages(sid), -1)
            replies = await pipe.execute()
        counts, newest = replies[0::2], replies[1::2]
        with_messages = [
            (sid, c, last) for sid, c, last in zip(ids, counts, newest, strict=True) if last
        ]
        if not with_messages:
            return {}
        raws = await self.redis.mget([redis_keys.message(last) for _, _, last in with_messages])
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
                pipe.lrange(redis_keys.session_messages(sid), -_STEP_TAIL, -1)
            tails = await pipe.execute()
        steps: list[str | None] = []
        for sid, tail in zip(session_ids, tails, strict=True):
            step = await self._newest_step(tail)
            if step is None and len(tail) == _STEP_TAIL:
                every = await self.redis.lrange(redis_keys.session_messages(sid), 0, -1)
                step = await self._newest_step(every)
            steps.append(step)
        return steps

    async def _newest_step(self, message_ids: Sequence[str]) -> str | None:
        if not message_ids:
            return None
        raws = await self.redis.mget([redis_keys.message(i) for i in message_ids])
        for raw in reversed(raws):
            if raw:
                step: str | None = json.loads(raw).get("step_id")
                if step is not None:
                    return step
        return None


_OUTBOX_STATES = frozenset({Delivery.PENDING, Delivery.SENDING})
"""Statuses that keep a message in the outbox: ``sending`` stays there so that the next holder
of the user's sender lock finds an attempt a dead worker left (and records it ``unknown``)."""
_MARK_TRIES = 5
"""Compare-and-set attempts of :meth:`RedisStore.mark_outbound` before it gives up."""
_DUE_PAGE = 500
"""Due outbox entries read per round trip by :meth:`RedisStore.pending_outbound`."""
_DUE_PAGES = 20
"""At most this many pages are read per call (entries behind a user's retry are skipped)."""

_STEP_BATCH = 200
"""Closed sessions whose last step :meth:`RedisStore.flow_exits` looks up in one pipeline."""
_STEP_TAIL = 16
"""Newest messages read first when looking for a session's last step."""


def _pairs(flat: Sequence[str]) -> dict[str, str]:
    """A hash from the flat field-value array a script returns for ``HGETALL``."""
    return dict(zip(flat[0::2], flat[1::2], strict=True))


def _consumed_key(message: InboundMessage) -> SessionKey:
    return SessionKey(message.channel, message.bot_id, message.user_id)


def _id_of(m: MessageRecord) -> int:
    assert m.id is not None
    return m.id


def _hour(moment: datetime) -> datetime:
    """The start of ``moment``'s UTC hour."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
