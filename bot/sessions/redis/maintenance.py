"""The Redis store's life and upkeep: open, close, probes, retention, erasure."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from datetime import datetime
from typing import Any

import redis.exceptions
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.crc import key_slot

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
    FAIL,
    FORGET_IF_EMPTY,
    MARK,
    OPT_OUT,
    TAKE_SENDER,
    TAKE_USER,
    WAMID,
)
from bot.sessions.store import DeletedCounts, MaintenanceStore, SessionQuery, StoreUnavailable

CLUSTER_MAX_CONNECTIONS = 1000
SOCKET_TIMEOUT_S = 5
"""Longest wait for a connection or a reply of one Redis before the call fails."""
HEALTH_CHECK_INTERVAL_S = 15
"""An idle connection is pinged before reuse after this long."""


def _client_options() -> dict[str, Any]:
    """Options shared by the client of one Redis and of a cluster: text replies, the socket
    timeouts, three quick retries (20 ms doubling to 0.5 s) on a lost connection or a
    timeout (a fresh ``Retry`` for each client: it counts its own attempts)."""
    return {
        "decode_responses": True,
        "socket_timeout": SOCKET_TIMEOUT_S,
        "socket_connect_timeout": SOCKET_TIMEOUT_S,
        "health_check_interval": HEALTH_CHECK_INTERVAL_S,
        "retry": Retry(ExponentialBackoff(cap=0.5, base=0.02), retries=3),
        "retry_on_error": [redis.exceptions.ConnectionError, redis.exceptions.TimeoutError],
    }


"""Connections per cluster node and process (redis-py's cluster client fails a command that
finds them all busy rather than waiting; the command batcher keeps the scripts to a few)."""


def cluster_nodes(url: str) -> list[ClusterNode]:
    """The startup nodes of ``redis+cluster://[user:password@]host:port[,host:port...]``.

    Raises:
        ValueError: A node is not ``host:port``.
    """
    rest = url.partition("://")[2].partition("/")[0]
    nodes = rest.rpartition("@")[2]
    found = []
    for node in nodes.split(","):
        host, _, port = node.strip().rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"expected host:port, got {node!r}")
        found.append(ClusterNode(host.strip("[]"), int(port)))
    return found


def node_of(client: RedisCluster) -> Callable[[tuple[Any, ...]], Hashable]:
    """The name of the node serving a command's first key (``EVALSHA``: its first key);
    ``None`` for a command without one, or a slot no node serves now."""

    def route(args: tuple[Any, ...]) -> Hashable:
        if args[0] == "EVALSHA":
            key = args[3] if int(args[2]) > 0 else None
        else:
            key = args[1] if len(args) > 1 else None
        if key is None:
            return None
        try:
            node = client.nodes_manager.get_node_from_slot(key_slot(str(key).encode()))
        except redis.exceptions.RedisClusterException:
            return None
        return node.name if node is not None else None

    return route


def cluster_credentials(url: str) -> tuple[str | None, str | None]:
    """``(username, password)`` of a ``redis+cluster://`` URL (``None`` when absent)."""
    rest = url.partition("://")[2].partition("/")[0]
    auth, at, _ = rest.rpartition("@")
    if not at:
        return None, None
    user, colon, password = auth.partition(":")
    return (user or None), (password if colon else None)


@translate_errors
class RedisMaintenance(RedisConnection, MaintenanceStore):
    """:class:`~bot.sessions.store.MaintenanceStore` on Redis."""

    async def open(self) -> None:
        """Connect (retrying briefly on connection errors) and check the server answers.

        Raises:
            StoreUnavailable: Redis does not answer.
        """
        if self.tags.cluster:
            username, password = cluster_credentials(self.url)
            self._redis = RedisCluster(
                startup_nodes=cluster_nodes(self.url),
                username=username,
                password=password,
                max_connections=CLUSTER_MAX_CONNECTIONS,
                **_client_options(),
            )
        else:
            self._redis = self._single()
        self._scripts()
        with reachable():
            if self.tags.cluster:
                await self._redis.initialize()
            await self._redis.ping()

    def _single(self) -> Redis:
        """The client of one Redis."""
        # A blocking pool: a burst waits for one of the connections instead of failing with
        # "Too many connections".
        pool = BlockingConnectionPool.from_url(
            self.url, max_connections=MAX_CONNECTIONS, timeout=POOL_WAIT_S, **_client_options()
        )
        return Redis.from_pool(pool)

    def _scripts(self) -> None:
        # The scripts on every message's path share round trips (see bot.sessions.redis.batch).
        self._batch = CommandBatcher(
            self._redis, node_of(self._redis) if self.tags.cluster else None
        )
        script = self._batch.script
        self._enqueue = script(ENQUEUE)
        self._forget = script(FORGET_IF_EMPTY)
        self._apply = script(APPLY)
        self._take_user = script(TAKE_USER)
        self._take_sender = script(TAKE_SENDER)
        self._mark = script(MARK)
        self._opt_out = script(OPT_OUT)
        self._fail = script(FAIL)
        self._wamid = script(WAMID)

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
            sid_tag = self.tags.of(s.key)
            message_ids.extend(
                await self.redis.lrange(sid_tag + redis_keys.session_messages(s.id), 0, -1)
            )
        # The user's keys of each channel they had a session on, and of WhatsApp (whose keys
        # carry the bot id alone), each once.
        users = {redis_keys.session(k): k for k in [s.key for s in sessions]}
        users.setdefault(
            redis_keys.session(SessionKey("whatsapp", bot_id, user_id)),
            SessionKey("whatsapp", bot_id, user_id),
        )
        tag = self.tags.of_user(user_id)  # every key of the user (one slot on a cluster)
        for k in users.values():
            without = tag + redis_keys.messages_without_session(k)
            message_ids.extend(await self.redis.lrange(without, 0, -1))
        with reachable():
            async with self.redis.pipeline(transaction=True) as pipe:
                for s in sessions:
                    pipe.delete(
                        tag + redis_keys.session_by_id(s.id),
                        tag + redis_keys.session_messages(s.id),
                    )
                    pipe.zrem(tag + redis_keys.SESSIONS_CREATED, s.id)
                    pipe.zrem(tag + redis_keys.SESSIONS_HANDOFF, s.id)
                    pipe.zrem(tag + redis_keys.SESSIONS_DEADLINES, s.id)
                    pipe.zrem(tag + redis_keys.sessions_of_user(user_id), s.id)
                for k in users.values():
                    pipe.delete(
                        tag + redis_keys.session(k),
                        tag + redis_keys.messages_without_session(k),
                        tag + redis_keys.user_outbox(k),
                        tag + redis_keys.last_inbound(k),
                    )
                    if not self.tags.cluster:
                        pipe.delete(redis_keys.session_status(k))
                for mid in message_ids:  # in the user's partition: their ids name it
                    pipe.delete(tag + redis_keys.message(mid))
                    pipe.zrem(tag + redis_keys.OUTBOX_PENDING, mid)
                await pipe.execute()
            if self.tags.cluster:  # the frontends' keys, in their own slots: right after
                for k in users.values():
                    await self.redis.delete(redis_keys.session(k))
                    await self.redis.delete(redis_keys.session_status(k))
        return DeletedCounts(sessions=len(sessions), messages=len(message_ids))

    async def purge_closed(self, closed_before: datetime) -> DeletedCounts:
        """Inbound idempotency keys expire by themselves (7-day TTL). Walks the partitions."""
        self._forget_reads()
        deleted = DeletedCounts(sessions=0, messages=0)
        for prefix in self.tags.prefixes():
            counts = await self._purge_partition(prefix, closed_before)
            deleted = DeletedCounts(
                sessions=deleted.sessions + counts.sessions,
                messages=deleted.messages + counts.messages,
            )
        return deleted

    async def _purge_partition(self, tag: str, closed_before: datetime) -> DeletedCounts:
        ids = await self.redis.zrangebyscore(
            tag + redis_keys.SESSIONS_CREATED, "-inf", epoch_s(closed_before)
        )
        old = [
            s
            for s in await self._sessions([(tag, sid) for sid in ids])
            if not s.status.is_open and s.closed_at and s.closed_at < closed_before
        ]
        deleted_messages = 0
        for s in old:
            message_ids = await self.redis.lrange(tag + redis_keys.session_messages(s.id), 0, -1)
            deleted_messages += len(message_ids)
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.delete(
                    tag + redis_keys.session_by_id(s.id), tag + redis_keys.session_messages(s.id)
                )
                if message_ids:
                    pipe.delete(*[tag + redis_keys.message(m) for m in message_ids])
                    pipe.zrem(tag + redis_keys.OUTBOX_PENDING, *message_ids)
                    pipe.zrem(tag + redis_keys.user_outbox(s.key), *message_ids)
                pipe.zrem(tag + redis_keys.SESSIONS_CREATED, s.id)
                pipe.zrem(tag + redis_keys.sessions_of_user(s.key.user_id), s.id)
                await pipe.execute()
            # The user's current-session hash goes too if it still shows this old session
            # (on a cluster, the store's own copy and then the frontends').
            names = [tag + redis_keys.session(s.key)]
            if self.tags.cluster:
                names.append(redis_keys.session(s.key))
            for name in names:
                if await self.redis.hget(name, "sessionId") == s.id:
                    await self.redis.delete(name)
        return DeletedCounts(sessions=len(old), messages=deleted_messages)
