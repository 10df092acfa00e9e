"""The Redis session store (redis-py asyncio), for several ``bot serve`` workers on one Redis.

Key layout: :mod:`bot.sessions.redis.keys` builds every key name (frontends read
``session:{botId}:{userId}`` and ``session:status:{botId}:{userId}`` directly: their names
stay exactly as they are).

Each :meth:`RedisStore.commit` is one Lua script (atomic, like ``MULTI``/``EXEC``) per
partition (one on one Redis; a user's turn is always one), numbering its messages with ids
taken from ``messages:seq`` when the user's lock was taken (else by ``INCRBY`` just before);
:meth:`RedisStore.mark_outbound` is one script too (a compare-and-set of the message as it
was last read). Taking a user's lock reads in the same round trip what its holder reads first
(the inbox's head and the session; for the sender, the pending ids and the start of the
24-hour window). On Redis Cluster (``redis+cluster://``) every key the store owns carries
its user's partition's hash tag (:mod:`bot.sessions.redis.tags`). What was read under a lock
is trusted only while this process holds it, and is kept up to date by this process's own
commits: every writer of a session, an inbox's head or a pending message holds that lock.
"""

from __future__ import annotations

from bot.sessions.redis.codec import session_from_hash, session_hash
from bot.sessions.redis.connection import (
    MAX_CONNECTIONS,
    POOL_WAIT_S,
    SEEN_TTL_S,
    SENDER_READ_AHEAD,
)
from bot.sessions.redis.conversation import RedisConversation
from bot.sessions.redis.maintenance import RedisMaintenance
from bot.sessions.redis.outbox import RedisOutbox
from bot.sessions.redis.queries import RedisQueries
from bot.sessions.store import SessionStore

__all__ = [
    "MAX_CONNECTIONS",
    "POOL_WAIT_S",
    "SEEN_TTL_S",
    "SENDER_READ_AHEAD",
    "RedisStore",
    "session_from_hash",
    "session_hash",
]


class RedisStore(RedisConversation, RedisOutbox, RedisQueries, RedisMaintenance, SessionStore):
    """Sessions, messages, inboxes and locks on one Redis database, or on a Redis Cluster.

    Args:
        url: ``redis://host:port/db``, or ``redis+cluster://host:port[,host:port...]``.
        retention_s: How long the status key of a closed session lives.
        clock: The current time (injected, like the app's): what the probe writes, and the
            moment a session's status key's TTL counts from.
    """
