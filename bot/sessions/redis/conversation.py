"""A conversation's state on Redis: sessions, inboxes, a turn's commit (a Lua script), opt-outs."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

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
    message_json,
    score_text,
    session_from_hash,
    session_hash,
    to_iso,
    user_member,
)
from bot.sessions.redis.connection import SEEN_TTL_S, RedisConnection, reachable, translate_errors
from bot.sessions.store import ConversationStore, DuplicateInbound

log = logging.getLogger(__name__)

RESERVED_IDS = 8
"""Message ids taken with a user's lock, for the holder's commits (a turn's commit then needs
no round trip of its own to number its messages; unused ones are skipped)."""


@dataclass
class _Script:
    """One partition's part of a commit: the keys it declares and its commands (a key
    argument is ``[i]``, the i-th declared key)."""

    keys: list[str] = field(default_factory=list)
    ops: list[tuple[Any, ...]] = field(default_factory=list)
    checked: int = 0  # the first ``checked`` keys are set (``NX``) first: one exists: fail
    inbox: int = 0  # the declared inbox to report the head of (0: none)
    _at: dict[str, int] = field(default_factory=dict)

    def key(self, name: str) -> list[int]:
        at = self._at.get(name)
        if at is None:
            self.keys.append(name)
            at = self._at[name] = len(self.keys)
        return [at]

    def op(self, command: str, name: str, *args: str) -> None:
        self.ops.append((command, self.key(name), *args))


@translate_errors
class RedisConversation(RedisConnection, ConversationStore):
    """:class:`~bot.sessions.store.ConversationStore` on Redis."""

    def user_locks(self) -> UserLocks:
        """Locks shared by every worker on this Redis (``lock:{botId}:{userId}``); taking one
        also reads the user's inbox head and session (see :meth:`next_inbound`)."""
        return self._locks(redis_keys.user_lock, self._take_user_lock, self._user_lock_released)

    async def _take_user_lock(self, key: Hashable, name: str, token: str, lease_ms: int) -> bool:
        assert isinstance(key, SessionKey)
        tag = self.tags.of(key)
        with reachable():
            reply = await self._take_user(
                keys=[
                    name,
                    tag + redis_keys.inbox(key),
                    tag + redis_keys.session(key),
                    tag + redis_keys.MESSAGE_SEQ,
                ],
                args=[token, lease_ms, RESERVED_IDS],
            )
        if reply is None:
            return False
        head, flat, last = reply
        self._inbox_heads[key] = head
        self._held_sessions[key] = hash_of_pairs(flat)
        self._reserved[key] = (int(last) - RESERVED_IDS + 1, int(last))
        return True

    def _user_lock_released(self, key: Hashable) -> None:
        assert isinstance(key, SessionKey)
        self._inbox_heads.pop(key, None)
        self._held_sessions.pop(key, None)
        self._reserved.pop(key, None)

    async def _take_ids(self, wanted: list[tuple[str, list[MessageRecord]]]) -> list[int]:
        """The first counter value of each ``(partition prefix, messages)``: from the ids
        reserved when the messages' user's lock was taken (no round trip), else by ``INCRBY``
        on the partition's counter (all in one round trip). A user whose reservation falls
        short gives it up: a later id of theirs is never smaller than an earlier one."""
        firsts: dict[int, int] = {}
        asked: list[tuple[int, str, int]] = []
        for at, (tag, group) in enumerate(wanted):
            users = {m.key for m in group}
            key = next(iter(users)) if len(users) == 1 else None
            reserved = self._reserved.pop(key, None) if key is not None else None
            if (
                key is not None
                and reserved is not None
                and reserved[1] - reserved[0] + 1 >= len(group)
            ):
                firsts[at] = reserved[0]
                self._reserved[key] = (reserved[0] + len(group), reserved[1])
            else:
                asked.append((at, tag, len(group)))
        lasts = await asyncio.gather(
            *(self._batch.call("INCRBY", tag + redis_keys.MESSAGE_SEQ, n) for _, tag, n in asked)
        )
        for (at, _, n), last in zip(asked, lasts, strict=True):
            firsts[at] = int(last) - n + 1
        return [firsts[at] for at in range(len(wanted))]

    def forget_cached(self, key: SessionKey) -> None:
        self._held_sessions.pop(key, None)

    async def get_active(self, key: SessionKey) -> Session | None:
        fields = self._held_sessions.get(key)
        if fields is None:
            fields = await self.redis.hgetall(self.tags.of(key) + redis_keys.session(key))
        if not fields or fields.get("status") not in OPEN_STATUSES:
            return None
        return session_from_hash(fields)

    async def get(self, session_id: str) -> Session | None:
        prefix = (await self._tags_of([session_id])).get(session_id)
        if prefix is None:
            return None
        fields = await self.redis.hgetall(prefix + redis_keys.session_by_id(session_id))
        return session_from_hash(fields) if fields else None

    async def seen_inbound(self, channel: str, provider_id: str) -> bool:
        """On a cluster, asks every partition (the user is not known here)."""
        name = redis_keys.inbound_seen(channel, provider_id)
        if not self.tags.cluster:
            return bool(await self.redis.exists(name))
        async with self.redis.pipeline(transaction=False) as pipe:
            for prefix in self.tags.prefixes():
                pipe.exists(prefix + name)
            return any(await pipe.execute())

    async def enqueue_inbound(self, message: InboundMessage) -> bool:
        key = SessionKey(message.channel, message.bot_id, message.user_id)
        tag = self.tags.of(key)
        with reachable():
            queued = await self._enqueue(
                keys=[
                    tag + redis_keys.inbound_seen(message.channel, message.message_id),
                    tag + redis_keys.inbox(key),
                    tag + redis_keys.INBOX_USERS,
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
            raw = await self.redis.lindex(self.tags.of(key) + redis_keys.inbox(key), 0)
        return InboundMessage.from_json(json.loads(raw)) if raw else None

    async def inbox_keys(self, limit: int) -> list[SessionKey]:
        """Walks the partitions' ``inbox:users``, one further partition first each call: the
        first page of each in one round trip, then further pages while ``limit`` is not
        reached."""
        keys: list[SessionKey] = []
        prefixes = self._walk()
        async with self.redis.pipeline(transaction=False) as pipe:
            for prefix in prefixes:
                pipe.sscan(prefix + redis_keys.INBOX_USERS, 0, count=limit)
            pages = await pipe.execute()
        for prefix, (cursor, members) in zip(prefixes, pages, strict=True):
            users = prefix + redis_keys.INBOX_USERS
            while True:
                for member in members:
                    channel, bot_id, user_id = json.loads(member)
                    key = SessionKey(channel, bot_id, user_id)
                    inbox = prefix + redis_keys.inbox(key)
                    if await self._forget(keys=[inbox, users], args=[member]):
                        continue  # its inbox was empty: forgotten
                    keys.append(key)
                    if len(keys) >= limit:
                        return keys
                if int(cursor) == 0:
                    break
                cursor, members = await self.redis.sscan(users, cursor, count=limit)
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
        """Per partition (one on one Redis; a commit of one user's turn is always one), the
        message ids taken from its counter (``INCRBY``), then one script that checks the
        inbound provider ids and applies every write (atomic, like ``MULTI``/``EXEC``). On a
        cluster the frontends' keys follow (see :meth:`_mirror`)."""
        tags = self.tags
        by_tag: dict[str, tuple[list[Session], list[MessageRecord]]] = {}
        for s in sessions:
            by_tag.setdefault(tags.of(s.key), ([], []))[0].append(s)
        session_tags = {s.id: tags.of(s.key) for s in sessions}
        for m in messages:  # with its session (whose user it is from, but in odd tests)
            tag = session_tags.get(m.session_id or "") or tags.of(m.key)
            by_tag.setdefault(tag, ([], []))[1].append(m)
        consumed_tag = tags.of(key_of(consumed)) if consumed is not None else None
        if consumed_tag is not None:
            by_tag.setdefault(consumed_tag, ([], []))
        if not by_tag:
            return list(messages)
        counted = [(tag, ms) for tag, (_, ms) in by_tag.items() if ms]
        firsts = await self._take_ids(counted)
        ids: dict[int, int] = {}  # position in messages -> id
        position = {id(m): k for k, m in enumerate(messages)}
        for (tag, group), first in zip(counted, firsts, strict=True):
            for k, m in enumerate(group):
                ids[position[id(m)]] = tags.message_id(first + k, tags.number(tag))
        written: dict[SessionKey, dict[str, str]] = {}
        after: list[tuple[Any, ...]] = []
        scripts = []
        for tag, (group_sessions, group_messages) in by_tag.items():
            script = self._script(
                tag,
                group_sessions,
                [(ids[position[id(m)]], m) for m in group_messages],
                consumed if tag == consumed_tag else None,
                written,
                after,
            )
            scripts.append(
                self._apply(
                    keys=script.keys,
                    args=[dumps(script.ops), script.checked, script.inbox, SEEN_TTL_S],
                )
            )
        replies = await asyncio.gather(*scripts)
        for (tag, _), reply in zip(by_tag.items(), replies, strict=True):
            if reply is None:
                raise DuplicateInbound(f"an inbound message of partition {tag!r} is stored")
            consumed_key = key_of(consumed) if consumed is not None else None
            if tag == consumed_tag and consumed_key in self._inbox_heads:
                assert consumed_key is not None
                self._inbox_heads[consumed_key] = reply
        for k, m in enumerate(messages):
            m.id = ids[k]
        for key, hashed in written.items():
            if key in self._held_sessions:
                self._held_sessions[key] = hashed
        for s in sessions:
            self._remember_tag(s.id, tags.of(s.key))
        if after:
            await self._mirror(after)
        return list(messages)

    def _script(
        self,
        tag: str,
        sessions: Sequence[Session],
        messages: Sequence[tuple[int, MessageRecord]],
        consumed: InboundMessage | None,
        written: dict[SessionKey, dict[str, str]],
        after: list[tuple[Any, ...]],
    ) -> _Script:
        """The script of one partition's part of a commit; the frontends' keys go into
        ``after`` when they are not in the partition's slot (on a cluster)."""
        script = _Script()
        for _, m in messages:
            if m.direction is Direction.IN and m.provider_id:
                script.key(tag + redis_keys.inbound_done(m.key.channel, m.provider_id))
        script.checked = len(script.keys)
        now = self.clock()
        retention = str(int(self.retention_s))
        op = script.op
        mirror = self.tags.cluster
        by_id: dict[str, int] = {}  # a session's by-id hash -> its HSET's place in ops
        for s in sessions:
            hashed = session_hash(s)
            written[s.key] = hashed
            fields = [item for pair in hashed.items() for item in pair]
            by_id[tag + redis_keys.session_by_id(s.id)] = len(script.ops)
            op("hset", tag + redis_keys.session_by_id(s.id), *fields)
            op("hset", tag + redis_keys.session(s.key), *fields)
            if s.status.is_open and s.expires_at is not None:
                ttl = max(60, int((s.expires_at - now).total_seconds()) + 60)
                status: tuple[str, ...] = (s.status.value, "EX", str(ttl))
                deadline = score_text(epoch_s(s.expires_at))
                op("zadd", tag + redis_keys.SESSIONS_DEADLINES, deadline, s.id)
            else:
                status = (s.status.value, "EX", retention)
                op("zrem", tag + redis_keys.SESSIONS_DEADLINES, s.id)
            if s.status is Status.HANDOFF:
                created = score_text(epoch_s(s.created_at))
                op("zadd", tag + redis_keys.SESSIONS_HANDOFF, created, s.id)
            elif s.handoff is not None:  # it was in handoff: leaves the agents' queue
                op("zrem", tag + redis_keys.SESSIONS_HANDOFF, s.id)
            if mirror:
                after.append(("HSET", redis_keys.session(s.key), *fields))
                after.append(("SET", redis_keys.session_status(s.key), *status))
            else:
                op("set", redis_keys.session_status(s.key), *status)
            held = self._held_sessions.get(s.key)
            if held is None or held.get("sessionId") != s.id:  # else indexed when created
                created = score_text(epoch_s(s.created_at))
                op("zadd", tag + redis_keys.SESSIONS_CREATED, created, s.id)
                op("zadd", tag + redis_keys.sessions_of_user(s.key.user_id), created, s.id)
        bodies: list[str] = []  # one MSET
        lists: dict[str, list[str]] = {}  # one RPUSH per list
        counts: dict[tuple[str, str], int] = {}  # one HINCRBY per session and counter
        scores: dict[str, list[str]] = {}  # one ZADD per sorted set
        for m_id, m in messages:
            member = str(m_id)
            m.id = m_id
            bodies += [tag + redis_keys.message(m_id), message_json(m)]
            m.id = None
            if m.session_id is not None:
                lists.setdefault(tag + redis_keys.session_messages(m.session_id), []).append(member)
                counter = "messagesIn" if m.direction is Direction.IN else "messagesOut"
                name = tag + redis_keys.session_by_id(m.session_id)
                counts[name, counter] = counts.get((name, counter), 0) + 1
            else:
                lists.setdefault(tag + redis_keys.messages_without_session(m.key), []).append(
                    member
                )
            if m.direction is Direction.OUT and m.status is Delivery.PENDING:
                due = score_text(epoch_s(m.next_attempt_at or m.created_at))
                scores.setdefault(tag + redis_keys.OUTBOX_PENDING, []).extend((due, member))
                scores.setdefault(tag + redis_keys.user_outbox(m.key), []).extend((member, member))
            if m.direction is Direction.IN and m.kind != "system":
                last = to_iso(m.created_at)
                op("set", tag + redis_keys.last_inbound(m.key), last, "EX", retention)
        if bodies:
            script.ops.append(("mset", *self._keyed(script, bodies)))
        for name, members in lists.items():
            op("rpush", name, *members)
        for (name, counter), n in counts.items():
            at = by_id.get(name)
            if at is None:
                op("hincrby", name, counter, str(n))
                continue
            if script.ops[at][0] == "hset":  # the session's HSET counts its messages too
                _, key, *fields = script.ops[at]
                script.ops[at] = ("hsetcount", key, "0", "0", *fields)
            added = list(script.ops[at])
            added[2 if counter == "messagesIn" else 3] = str(n)
            script.ops[at] = tuple(added)
        for name, pairs in scores.items():
            op("zadd", name, *pairs)
        if consumed is not None:
            inbox = tag + redis_keys.inbox(key_of(consumed))
            op("lpop", inbox)
            script.inbox = script.key(inbox)[0]
        return script

    @staticmethod
    def _keyed(script: _Script, pairs: list[str]) -> list[Any]:
        """``key, value, key, value, ...`` with each key declared (``[i]``)."""
        return [script.key(v) if n % 2 == 0 else v for n, v in enumerate(pairs)]

    async def _mirror(self, commands: Sequence[tuple[Any, ...]]) -> None:
        """On a cluster, right after a commit: the frontends' copy of each session written
        (``session:{botId}:{userId}``, then ``session:status:{botId}:{userId}``; in their own
        slots, one round trip). A failure is logged, not raised: the commit stands, and the
        next commit of the user writes them again."""
        replies = await asyncio.gather(
            *(self._batch.call(*c) for c in commands), return_exceptions=True
        )
        failed = [r for r in replies if isinstance(r, BaseException)]
        if failed:
            log.warning(
                "%d of %d frontend session keys not written after a commit: %s",
                len(failed),
                len(commands),
                failed[0],
            )

    async def due_sessions(self, now: datetime, limit: int) -> list[Session]:
        """Two round trips: the first ``limit`` due ids of every partition (merged by
        deadline), then their hashes."""
        prefixes = self.tags.prefixes()
        async with self.redis.pipeline(transaction=False) as pipe:
            for prefix in prefixes:
                pipe.zrangebyscore(
                    prefix + redis_keys.SESSIONS_DEADLINES,
                    "-inf",
                    score_text(epoch_s(now)),
                    0,
                    limit,
                    withscores=True,
                )
            pages = await pipe.execute()
        due = sorted(
            (score, sid, prefix)
            for prefix, rows in zip(prefixes, pages, strict=True)
            for sid, score in rows
        )[:limit]
        return await self._sessions([(prefix, sid) for _, sid, prefix in due])

    async def set_opt_out(self, key: SessionKey, at: datetime | None) -> None:
        """One script: the ``optout:`` key and the ``optedOut`` field of the user's session
        hash (on a cluster, the frontends' copy of the hash right after)."""
        tag, value = self.tags.of(key), to_iso(at)
        with reachable():
            await self._opt_out(
                keys=[tag + redis_keys.optout(key), tag + redis_keys.session(key)], args=[value]
            )
            if self.tags.cluster:
                await self.redis.hset(redis_keys.session(key), "optedOut", value)
        held = self._held_sessions.get(key)
        if held is not None:
            held["optedOut"] = value

    async def opt_outs(self, keys: Sequence[SessionKey]) -> dict[SessionKey, datetime]:
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            return {}
        values = await self._mget([self.tags.of(k) + redis_keys.optout(k) for k in wanted])
        return {k: datetime.fromisoformat(v) for k, v in zip(wanted, values, strict=True) if v}
