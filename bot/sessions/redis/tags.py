"""Hash tags: which keys of the Redis store share a slot on Redis Cluster.

Redis Cluster hashes a key to one of 16,384 slots by the text between its first ``{`` and the
next ``}`` (its hash tag), or by the whole name without one; a Lua script, and a ``MULTI``,
may only touch keys of one slot. So on a cluster the store prefixes every key it owns with
the hash tag of its user's **partition**: one of :data:`PARTITIONS` fixed tags, the user's by
``crc32(userId) % PARTITIONS`` (the user id alone: a user's sessions with every bot, and
``sessions:user:{userId}``, are in one partition). Each global index (``sessions:deadlines``,
``sessions:created``, ``outbox:pending``, ``inbox:users``) and the message id counter
(``messages:seq``) is kept once per partition, under the same tag, so a turn's commit
writes the user's keys and the user's partition of every index in one atomic script.

The partitions' tags are chosen so that partition ``p`` hashes into the ``p``-th of
:data:`PARTITIONS` equal ranges of slots: spread evenly over the slots, they are spread
evenly over any number of masters that share the slots in equal ranges (``redis-cli
--cluster create``), and resharding moves whole partitions. The sweeper, the outbox's scan
and the inbox recovery walk the partitions; the admin queries merge them.

A message id names its partition: ``id = seq * PARTITIONS + p`` with ``seq`` taken from the
partition's counter, so ``message:{id}`` is found from the id alone.

On one Redis (``redis://``) there is one partition and no tag: every name is exactly as
:mod:`bot.sessions.redis.keys` builds it, and ids are the counter itself.
"""

from __future__ import annotations

import zlib
from functools import cache

from redis.crc import REDIS_CLUSTER_HASH_SLOTS, key_slot

from bot.sessions.model import SessionKey

PARTITIONS = 256
"""Partitions on a cluster: at most this many masters share the load (fixed: changing it
moves every user to another partition)."""

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


def _base36(number: int) -> str:
    text = ""
    while True:
        number, digit = divmod(number, 36)
        text = _ALPHABET[digit] + text
        if number == 0:
            return text


@cache
def partition_tags(partitions: int) -> tuple[str, ...]:
    """The hash tag (``{...}``) of each partition: the first short text (``0``, ``1``, ...,
    base 36) whose slot falls in the partition's range of slots."""
    width = REDIS_CLUSTER_HASH_SLOTS // partitions
    tags: list[str | None] = [None] * partitions
    missing, number = partitions, 0
    while missing:
        text = _base36(number)
        number += 1
        bucket = key_slot(text.encode()) // width
        if bucket < partitions and tags[bucket] is None:
            tags[bucket] = "{" + text + "}"
            missing -= 1
    return tuple(t for t in tags if t is not None)


class Tags:
    """Where the store's keys live: the prefix of a user's, a partition's and a message's keys.

    Args:
        partitions: 1 (one Redis: no tags) or :data:`PARTITIONS` (a cluster).
    """

    def __init__(self, partitions: int) -> None:
        self.partitions = partitions
        self._prefixes: tuple[str, ...] = ("",) if partitions == 1 else partition_tags(partitions)
        self._numbers = {prefix: n for n, prefix in enumerate(self._prefixes)}

    def number(self, prefix: str) -> int:
        """The partition whose prefix is ``prefix``."""
        return self._numbers[prefix]

    @property
    def cluster(self) -> bool:
        return self.partitions > 1

    def prefixes(self) -> tuple[str, ...]:
        """The prefix of every partition, in order (``("",)`` on one Redis)."""
        return self._prefixes

    def partition(self, user_id: str) -> int:
        """The partition of a user (0 on one Redis)."""
        if self.partitions == 1:
            return 0
        return zlib.crc32(user_id.encode()) % self.partitions

    def of_user(self, user_id: str) -> str:
        """The prefix of a user's keys (``""`` on one Redis)."""
        return self._prefixes[self.partition(user_id)]

    def of(self, key: SessionKey) -> str:
        """The prefix of the keys of ``key``'s user."""
        return self.of_user(key.user_id)

    def of_message(self, message_id: int | str) -> str:
        """The prefix of ``message:{id}`` (the partition the id names)."""
        return self._prefixes[int(message_id) % self.partitions]

    def message_id(self, seq: int, partition: int) -> int:
        """The id of the ``seq``-th message taken from ``partition``'s counter."""
        return seq * self.partitions + partition


def strip_tag(name: str) -> str:
    """``name`` without a leading hash tag (``{1k}inbox:...`` -> ``inbox:...``)."""
    if name.startswith("{"):
        end = name.find("}")
        if end > 0:
            return name[end + 1 :]
    return name
