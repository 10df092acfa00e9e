"""The Redis store's life and upkeep: open, close, probes, retention, erasure."""

from __future__ import annotations

from datetime import datetime

import redis.exceptions
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

from bot.sessions.model import SessionKey
from bot.sessions.redis import keys as redis_keys
from bot.sessions.redis.batch import CommandBatcher
from bot.sessions.redis.codec import epoch_s, to_iso
from bot.sessions.redis.connection import (
    MAX_CONNECTIONS,
    POOL_WAIT_S,
    PROBE_TTL_MS,
    RedisConnection,
    reachable,
    translate_errors,
)
from bot.sessions.redis.scripts import (
    APPLY,
    ENQUEUE,
    FORGET_IF_EMPTY,
    MARK,
    PENDING_FOR,
    SESSIONS,
    TAKE_SENDER,
    TAKE_USER,
)
from bot.sessions.store import DeletedCounts, MaintenanceStore, SessionQuery, StoreUnavailable


@translate_errors
class RedisMaintenance(RedisConnection, MaintenanceStore):
    """:class:`~bot.sessions.store.MaintenanceStore` on Redis."""

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
        # The scripts on every message's path share round trips (see bot.sessions.redis.batch).
        self._batch = CommandBatcher(self._redis)
        script = self._batch.script
        self._enqueue = script(ENQUEUE)
        self._forget = script(FORGET_IF_EMPTY)
        self._apply = script(APPLY)
        self._pending_for = script(PENDING_FOR)
        self._take_user = script(TAKE_USER)
        self._sessions_by_id = script(SESSIONS)
        self._take_sender = script(TAKE_SENDER)
        self._mark = script(MARK)
        with reachable():
            await self._redis.ping()

    async def close(self) -> None:
        if self._redis is not None:
            await self._batch.aclose()
            await self._redis.aclose()
            self._redis = None
        self._forget_reads()

    async def ping(self) -> None:
        """Check Redis answers; raises StoreUnavailable when it does not."""
        with reachable():
            await self.redis.ping()

    async def _write_probe(self) -> None:
        """``SET store:probe`` with a TTL: Redis refuses writes it answers reads for when it
        cannot save (``MISCONF``) or is a read-only replica."""
        with reachable():
            try:
                await self.redis.set(redis_keys.PROBE, to_iso(self.clock()), px=PROBE_TTL_MS)
            except redis.exceptions.ResponseError as exc:
                raise StoreUnavailable(f"redis: {exc}") from exc

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
        with reachable():
            async with self.redis.pipeline(transaction=True) as pipe:
                for s in sessions:
                    pipe.delete(redis_keys.session_by_id(s.id), redis_keys.session_messages(s.id))
                    pipe.zrem(redis_keys.SESSIONS_CREATED, s.id)
                    pipe.zrem(redis_keys.SESSIONS_HANDOFF, s.id)
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

    async def purge_closed(self, closed_before: datetime) -> DeletedCounts:
        """Inbound idempotency keys expire by themselves (7-day TTL)."""
        self._forget_reads()
        ids = await self.redis.zrangebyscore(
            redis_keys.SESSIONS_CREATED, "-inf", epoch_s(closed_before)
        )
        old = [
            s
            for s in await self._sessions(ids)
            if not s.status.is_open and s.closed_at and s.closed_at < closed_before
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
