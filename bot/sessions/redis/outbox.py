"""The outbox on Redis: pending messages per user, their sends' results, delivery statuses."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from datetime import datetime
from typing import Any

from bot.sessions.locks import UserLocks
from bot.sessions.model import Delivery, Direction, MessageRecord, SessionKey
from bot.sessions.redis import keys as redis_keys
from bot.sessions.redis.codec import (
    epoch_s,
    from_iso,
    id_of,
    message_json,
    message_of,
    score_text,
)
from bot.sessions.redis.connection import (
    DUE_PAGE,
    DUE_PAGES,
    MARK_TRIES,
    OUTBOX_STATES,
    READ_KEPT,
    SENDER_READ_AHEAD,
    RedisConnection,
    reachable,
    translate_errors,
)
from bot.sessions.redis.slots import RedisSendSlots
from bot.sessions.redis.statuses import marked_score
from bot.sessions.slots import SendSlots
from bot.sessions.store import OutboxStore, StoreUnavailable


@translate_errors
class RedisOutbox(RedisConnection, OutboxStore):
    """:class:`~bot.sessions.store.OutboxStore` on Redis."""

    def outbox_locks(self) -> UserLocks:
        """Sender locks shared by every worker (``outbox:lock:{botId}:{userId}``); taking one
        also reads the user's pending messages and last inbound time (see
        :meth:`pending_for`)."""
        return self._locks(
            redis_keys.sender_lock, self._take_sender_lock, self._sender_lock_released
        )

    async def _take_sender_lock(self, key: Hashable, name: str, token: str, lease_ms: int) -> bool:
        assert isinstance(key, SessionKey)
        tag = self.tags.of(key)
        with reachable():
            reply = await self._take_sender(
                keys=[name, tag + redis_keys.last_inbound(key), tag + redis_keys.user_outbox(key)],
                args=[token, lease_ms, SENDER_READ_AHEAD],
            )
        if reply is None:
            return False
        self._last_inbound[key] = reply[0]
        self._pending[key] = reply[1]  # ids: their messages are read by pending_for
        return True

    def _message_names(self, ids: Sequence[int | str]) -> list[str]:
        return [self.tags.of_message(i) + redis_keys.message(i) for i in ids]

    def _sender_lock_released(self, key: Hashable) -> None:
        assert isinstance(key, SessionKey)
        self._last_inbound.pop(key, None)
        self._pending.pop(key, None)

    def send_slots(self) -> SendSlots:
        """Send slots shared by every worker (:func:`~bot.sessions.keys.pace`)."""
        return RedisSendSlots(self._batch.script)

    async def pending_outbound(
        self, limit: int, due_by: datetime | None = None
    ) -> list[MessageRecord]:
        """Walks the partitions' ``outbox:pending``: the first page of each in one round trip;
        when due by ``due_by``, one further partition first each call."""
        prefixes = self._walk()
        if due_by is None:
            async with self.redis.pipeline(transaction=False) as pipe:
                for prefix in prefixes:
                    pipe.zrange(prefix + redis_keys.OUTBOX_PENDING, 0, limit - 1, withscores=True)
                pages = await pipe.execute()
            first = sorted((score, int(i)) for rows in pages for i, score in rows)[:limit]
            raws = await self._mget(self._message_names([i for _, i in first]))
            return sorted((message_of(r) for r in raws if r), key=lambda m: m.id or 0)
        high = epoch_s(due_by)
        # A first look at each partition: a small page on a cluster (most are empty), then
        # pages of DUE_PAGE in those that have more.
        first_page = DUE_PAGE if len(prefixes) == 1 else max(8, 2 * limit // len(prefixes))
        async with self.redis.pipeline(transaction=False) as pipe:
            for prefix in prefixes:
                pipe.zrangebyscore(prefix + redis_keys.OUTBOX_PENDING, "-inf", high, 0, first_page)
            pages = await pipe.execute()
        found: list[MessageRecord] = []
        for prefix, ids in zip(prefixes, pages, strict=True):
            if ids:
                found.extend(await self._due_in(prefix, ids, high, limit - len(found), first_page))
            if len(found) >= limit:
                break
        return sorted(found, key=lambda m: m.id or 0)[:limit]

    async def _due_in(
        self, prefix: str, ids: list[str], high: float, limit: int, page: int
    ) -> list[MessageRecord]:
        """The due messages of one partition that head their user's outbox (a later message
        of a user in backoff is passed over), starting with the page ``ids`` (of ``page``
        at most)."""
        found: list[MessageRecord] = []
        start = 0
        for _ in range(DUE_PAGES):
            if not ids:
                break
            start += len(ids)
            raws = await self._mget(self._message_names(ids))
            candidates = [message_of(r) for r in raws if r]
            async with self.redis.pipeline(transaction=False) as pipe:
                for m in candidates:
                    pipe.zrange(prefix + redis_keys.user_outbox(m.key), 0, 0)
                heads = await pipe.execute()
            found.extend(
                m for m, head in zip(candidates, heads, strict=True) if head == [str(m.id)]
            )
            if len(found) >= limit or len(ids) < page:
                break
            page = DUE_PAGE
            ids = await self.redis.zrangebyscore(
                prefix + redis_keys.OUTBOX_PENDING, "-inf", high, start, page
            )
        return found

    async def pending_for(self, key: SessionKey, limit: int) -> list[MessageRecord]:
        """Served from the ids taking the sender lock read, the first time after it was taken
        (when that covers ``limit``): one ``MGET``, sent with the other tasks' batched calls."""
        ids = self._pending.pop(key, None)
        if ids is None or (limit > len(ids) and len(ids) >= SENDER_READ_AHEAD):
            outbox = self.tags.of(key) + redis_keys.user_outbox(key)
            ids = await self.redis.zrange(outbox, 0, limit - 1)
        names = self._message_names(ids[:limit])  # the user's: one slot
        raws = await self._batch.call("MGET", *names) if names else []  # shares a round trip
        found = []
        for raw in raws:
            if raw:
                m = message_of(raw)
                if m.status in OUTBOX_STATES:
                    found.append(m)
                    self._remember(m, raw)
        return found

    def _remember(self, m: MessageRecord, raw: str) -> None:
        if len(self._read) >= READ_KEPT:
            del self._read[next(iter(self._read))]
        self._read[id_of(m)] = raw

    async def last_inbound_at(self, key: SessionKey) -> datetime | None:
        """Served from what taking the sender lock read, the first time after it was taken."""
        raw = self._last_inbound.pop(key, None)
        if raw is None:
            raw = await self.redis.get(self.tags.of(key) + redis_keys.last_inbound(key))
        return from_iso(raw)

    async def _marked(
        self,
        name: str,
        tag: str,
        user_outbox: str,
        args: list[Any],
        provider_id: str | None,
        status: Delivery,
    ) -> Any:
        """The compare-and-set script of message ``name``; ``args``: as-read, new, id, next
        attempt. The provider id's statuses key (:mod:`bot.sessions.redis.statuses`) is
        created by the script on one Redis, and right after it on a cluster (it is in its own
        slot: a status finds it by the id alone). Not before: a key whose message a crash
        left unmarked would make its status look applied, and the send be made again after
        the interrupted grace; a crash after the mark leaves a settled message whose status
        creates the key (:meth:`settle_by_status`)."""
        wamid = [redis_keys.provider_message(provider_id)] if provider_id is not None else []
        retention = int(self.retention_s)
        score = marked_score(status)
        after = wamid if self.tags.cluster else []  # in its own slot: after the script
        reply = await self._mark(
            keys=[name, tag + redis_keys.OUTBOX_PENDING, user_outbox or name, *wamid[len(after) :]],
            args=[*args, retention, score],
        )
        if after and int(reply[0]) == 1:
            await self._wamid(keys=after, args=[score, retention])
        return reply

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
        [name], member = self._message_names([message_id]), str(message_id)
        tag = self.tags.of_message(message_id)
        raw = self._read.pop(message_id, None)
        if raw is None:
            raw = await self.redis.get(name) or ""
        for _ in range(MARK_TRIES):
            m = message_of(raw) if raw else None
            new = user_outbox = ""
            score = "-"  # pending, but unknown: nothing to schedule
            if m is not None:
                self._pending.pop(m.key, None)  # what the sender lock read is stale now
                scheduled = (
                    score_text(epoch_s(m.next_attempt_at or m.created_at))
                    if m.status in OUTBOX_STATES
                    else None
                )
                m.status, m.error_code, m.error_detail = status, error_code, error_detail
                m.next_attempt_at = next_attempt_at
                m.attempts = m.attempts if attempts is None else attempts
                m.provider_id = provider_id or m.provider_id
                new, user_outbox = message_json(m), tag + redis_keys.user_outbox(m.key)
                score = score_text(epoch_s(next_attempt_at or m.created_at))
                if score == scheduled:
                    score = "="  # already due then in outbox:pending: left as it is
            reply = await self._marked(
                name,
                tag,
                user_outbox,
                [raw, new, member, score if status in OUTBOX_STATES else ""],
                provider_id,
                status,
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
        [name], member = self._message_names([message_id]), str(message_id)
        tag = self.tags.of_message(message_id)
        self._read.pop(message_id, None)
        for _ in range(MARK_TRIES):
            raw = await self.redis.get(name)
            if not raw:
                return None
            m = message_of(raw)
            if m.direction is not Direction.OUT or m.key.bot_id != bot_id:
                return None
            if m.status not in OUTBOX_STATES or m.attempts == 0:
                if self.tags.cluster and m.provider_id == provider_id:  # see _marked
                    key = redis_keys.provider_message(provider_id)
                    await self._wamid(
                        keys=[key], args=[marked_score(m.status), int(self.retention_s)]
                    )
                return None
            before = message_of(raw)
            m.status, m.provider_id, m.next_attempt_at = Delivery.SENT, provider_id, None
            m.error_code = m.error_detail = None
            new = message_json(m)
            reply = await self._marked(
                name,
                tag,
                tag + redis_keys.user_outbox(m.key),
                [raw, new, member, ""],
                provider_id,
                Delivery.SENT,
            )
            if int(reply[0]) == 1:
                self._pending.pop(m.key, None)
                return before
        raise StoreUnavailable(f"redis: message {message_id} kept changing while settled")
