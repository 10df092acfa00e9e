"""A conversation's state on Redis: sessions, inboxes, a turn's commit (a Lua script), opt-outs."""

from __future__ import annotations

import json
from collections.abc import Hashable, Sequence
from datetime import datetime

import orjson

from bot.messages import InboundMessage
from bot.sessions.locks import UserLocks
from bot.sessions.model import (
    OPEN_STATUSES,
    Delivery,
    Direction,
    MessageRecord,
    Session,
    SessionKey,
    Status,
)
from bot.sessions.redis import keys as redis_keys
from bot.sessions.redis.codec import (
    dumps,
    epoch_s,
    hash_of_pairs,
    key_of,
    message_json_without_id,
    score_text,
    session_from_hash,
    session_hash,
    to_iso,
    user_member,
)
from bot.sessions.redis.connection import SEEN_TTL_S, RedisConnection, reachable, translate_errors
from bot.sessions.store import ConversationStore, DuplicateInbound


@translate_errors
class RedisConversation(RedisConnection, ConversationStore):
    """:class:`~bot.sessions.store.ConversationStore` on Redis."""

    def user_locks(self) -> UserLocks:
        """Locks shared by every worker on this Redis (``lock:{botId}:{userId}``); taking one
        also reads the user's inbox head and session (see :meth:`next_inbound`)."""
        return self._locks(redis_keys.user_lock, self._take_user_lock, self._user_lock_released)

    async def _take_user_lock(self, key: Hashable, name: str, token: str, lease_ms: int) -> bool:
        assert isinstance(key, SessionKey)
        with reachable():
            reply = await self._take_user(
                keys=[name, redis_keys.inbox(key), redis_keys.session(key)], args=[token, lease_ms]
            )
        if reply is None:
            return False
        head, flat = reply
        self._inbox_heads[key] = head
        self._held_sessions[key] = hash_of_pairs(flat)
        return True

    def _user_lock_released(self, key: Hashable) -> None:
        assert isinstance(key, SessionKey)
        self._inbox_heads.pop(key, None)
        self._held_sessions.pop(key, None)

    def forget_cached(self, key: SessionKey) -> None:
        self._held_sessions.pop(key, None)

    async def get_active(self, key: SessionKey) -> Session | None:
        fields = self._held_sessions.get(key)
        if fields is None:
            fields = await self.redis.hgetall(redis_keys.session(key))
        if not fields or fields.get("status") not in OPEN_STATUSES:
            return None
        return session_from_hash(fields)

    async def get(self, session_id: str) -> Session | None:
        fields = await self.redis.hgetall(redis_keys.session_by_id(session_id))
        return session_from_hash(fields) if fields else None

    async def seen_inbound(self, channel: str, provider_id: str) -> bool:
        return bool(await self.redis.exists(redis_keys.inbound_seen(channel, provider_id)))

    async def enqueue_inbound(self, message: InboundMessage) -> bool:
        key = SessionKey(message.channel, message.bot_id, message.user_id)
        with reachable():
            queued = await self._enqueue(
                keys=[
                    redis_keys.inbound_seen(message.channel, message.message_id),
                    redis_keys.inbox(key),
                    redis_keys.INBOX_USERS,
                ],
                args=[
                    SEEN_TTL_S,
                    # Strict (no dumps fallback): what the commit could not write must fail
                    # here, before the webhook's 200, not be acknowledged and then dropped.
                    orjson.dumps(message.to_json()).decode(),
                    user_member(key),
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
            with reachable():
                return await self._commit(sessions, messages, consumed)
        except DuplicateInbound:
            raise
        except BaseException:  # it may or may not have been applied: read again
            for s in sessions:
                self._held_sessions.pop(s.key, None)
            if consumed is not None:
                self._inbox_heads.pop(key_of(consumed), None)
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
            if s.status.is_open and s.expires_at is not None:
                ttl = max(60, int((s.expires_at - now).total_seconds()) + 60)
                op("set", status, s.status.value, "EX", str(ttl))
                op("zadd", redis_keys.SESSIONS_DEADLINES, score_text(epoch_s(s.expires_at)), s.id)
            else:
                op("set", status, s.status.value, "EX", retention)
                op("zrem", redis_keys.SESSIONS_DEADLINES, s.id)
            if s.status is Status.HANDOFF:
                op("zadd", redis_keys.SESSIONS_HANDOFF, score_text(epoch_s(s.created_at)), s.id)
            elif s.handoff is not None:  # it was in handoff: leaves the agents' queue
                op("zrem", redis_keys.SESSIONS_HANDOFF, s.id)
            held = self._held_sessions.get(s.key)
            if held is None or held.get("sessionId") != s.id:  # else indexed when created
                created = score_text(epoch_s(s.created_at))
                op("zadd", redis_keys.SESSIONS_CREATED, created, s.id)
                op("zadd", redis_keys.sessions_of_user(s.key.user_id), created, s.id)
        for k, m in enumerate(messages):
            m.id = None
            member = (k, "", "")
            message = (k, redis_keys.MESSAGE_PREFIX, "")
            op("set", message, (k, '{"id":', message_json_without_id(m)))
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
                    score_text(epoch_s(m.next_attempt_at or m.created_at)),
                    member,
                )
                op("zadd", redis_keys.user_outbox(m.key), member, member)
            if m.direction is Direction.IN and m.kind != "system":
                op("set", redis_keys.last_inbound(m.key), to_iso(m.created_at), "EX", retention)
        for name in done_keys:
            op("set", name, "1", "EX", str(SEEN_TTL_S))
        inbox = redis_keys.inbox(key_of(consumed)) if consumed is not None else None
        if inbox is not None:
            op("lpop", inbox)
        if not ops:
            return list(messages)
        commands = dumps(ops)
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
        if consumed is not None and key_of(consumed) in self._inbox_heads:
            self._inbox_heads[key_of(consumed)] = reply[1]
        return list(messages)

    async def due_sessions(self, now: datetime, limit: int) -> list[Session]:
        """One round trip (a script reads the due ids and their hashes)."""
        rows = await self._sessions_by_id(
            keys=[redis_keys.SESSIONS_DEADLINES],
            args=[redis_keys.SESSION_BY_ID_PREFIX, score_text(epoch_s(now)), limit],
        )
        return [session_from_hash(hash_of_pairs(r)) for r in rows if r]

    async def set_opt_out(self, key: SessionKey, at: datetime | None) -> None:
        """One transaction: the ``optout:`` key and the ``optedOut`` field of the user's
        session hash."""
        optout, current = redis_keys.optout(key), redis_keys.session(key)
        with reachable():
            async with self.redis.pipeline(transaction=True) as pipe:
                if at is None:
                    pipe.delete(optout)
                    pipe.hset(current, "optedOut", "")
                else:
                    pipe.set(optout, to_iso(at))
                    pipe.hset(current, "optedOut", to_iso(at))
                await pipe.execute()
        held = self._held_sessions.get(key)
        if held is not None:
            held["optedOut"] = to_iso(at)

    async def opt_outs(self, keys: Sequence[SessionKey]) -> dict[SessionKey, datetime]:
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            return {}
        values = await self.redis.mget([redis_keys.optout(k) for k in wanted])
        return {k: datetime.fromisoformat(v) for k, v in zip(wanted, values, strict=True) if v}
