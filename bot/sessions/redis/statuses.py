"""Delivery statuses on Redis, kept by the provider's message id (``wamid:{providerId}``).

A provider posts about three statuses per outbound message (Meta: ``sent``, ``delivered``,
``read``), found by its id alone. So a status is not written into the message (its key is
not known from the provider id without a read first, and on a cluster lives in another slot)
but into the provider id's own key, a sorted set whose member ``status`` is scored by the
status's rank (:data:`SCORE`): ``ZADD ... XX GT CH`` applies a status in one command, only
when the key exists (the message was sent with that id) and only forwards. ``failed`` always
applies and carries its error (one script, :data:`~bot.sessions.redis.scripts.FAIL`).

The send's result creates the key, scored just under its own status's rank (``sent``: 0.5),
so that the provider's first status counts as a change; an integer score is a provider's
status, which readers of the message apply over what the message JSON holds
(:func:`apply_statuses`). Keys written before this layout (a string holding the message id)
are still served, the old way (:meth:`RedisStatuses._update_legacy`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import redis.exceptions

from bot.sessions.model import Delivery, Direction, MessageRecord
from bot.sessions.redis import keys as redis_keys
from bot.sessions.redis.codec import RANK, dumps, message_json, message_of
from bot.sessions.redis.connection import RedisConnection, translate_errors

SCORE = {Delivery.SENT: 1, Delivery.DELIVERED: 2, Delivery.READ: 3, Delivery.FAILED: 4}
"""The score of member ``status`` after a provider's status: never moves down but for
``failed``, which always applies."""
BY_SCORE = {score: status for status, score in SCORE.items()}
ERROR_SCORE = -1
"""Score of the member holding the error of a ``failed`` status (JSON ``[code, detail]``)."""


def marked_score(status: Delivery) -> float:
    """The score the send's result gives the key: just under ``status``'s own rank (so that
    the provider's status of the same rank counts as applied), 0 for an unranked one."""
    return max(SCORE.get(status, 0) - 0.5, 0.0)


def apply_statuses(messages: Sequence[MessageRecord], rows: Sequence[Any]) -> list[MessageRecord]:
    """``messages`` with the provider's status of each applied (``rows``: for each outbound
    message with a provider id, in order, its key's ``ZRANGE 0 -1 WITHSCORES``, or an
    error for a key of the old layout)."""
    it = iter(rows)
    for m in messages:
        if m.direction is not Direction.OUT or not m.provider_id:
            continue
        row = next(it)
        if isinstance(row, BaseException) or not row:
            continue
        members = {member: float(score) for member, score in row}
        score = members.get("status", 0.0)
        if score < 1 or score != int(score):
            continue  # only the send's result so far: the message JSON says it
        m.status = BY_SCORE[int(score)]
        if m.status is Delivery.FAILED:
            errors = [member for member, s in members.items() if s == ERROR_SCORE]
            if errors:
                m.error_code, m.error_detail = json.loads(errors[0])
    return list(messages)


@translate_errors
class RedisStatuses(RedisConnection):
    """``update_delivery`` of :class:`~bot.sessions.store.OutboxStore` on Redis."""

    async def _with_statuses(self, messages: list[MessageRecord]) -> list[MessageRecord]:
        """``messages`` with their provider's statuses applied (one pipeline)."""
        sent = [m for m in messages if m.direction is Direction.OUT and m.provider_id]
        if not sent:
            return messages
        async with self.redis.pipeline(transaction=False) as pipe:
            for m in sent:
                assert m.provider_id is not None
                pipe.zrange(redis_keys.provider_message(m.provider_id), 0, -1, withscores=True)
            rows = await pipe.execute(raise_on_error=False)
        return apply_statuses(messages, rows)

    async def update_delivery(
        self,
        provider_id: str,
        status: Delivery,
        error_code: int | None = None,
        error_detail: str | None = None,
    ) -> bool:
        """One command (``ZADD XX GT CH``), and a second (``EXISTS``) only when the status
        changed nothing (late or repeated); ``failed``: one script."""
        name = redis_keys.provider_message(provider_id)
        try:
            if status is Delivery.FAILED:
                error = dumps([error_code, error_detail])
                return bool(await self._fail(keys=[name], args=[SCORE[status], error]))
            score = SCORE.get(status)
            if score is None:
                return bool(await self._batch.call("EXISTS", name))
            if await self._batch.call("ZADD", name, "XX", "GT", "CH", score, "status"):
                return True
            return bool(await self._batch.call("EXISTS", name))
        except redis.exceptions.ResponseError as exc:
            if "WRONGTYPE" not in str(exc):
                raise
            return await self._update_legacy(provider_id, status, error_code, error_detail)

    async def _update_legacy(
        self,
        provider_id: str,
        status: Delivery,
        error_code: int | None,
        error_detail: str | None,
    ) -> bool:
        """A status for a message sent before statuses were kept by provider id: its key
        holds the message id; the message JSON is updated (read, compared, written)."""
        message_id = await self.redis.get(redis_keys.provider_message(provider_id))
        if message_id is None:
            return False
        name = self.tags.of_message(message_id) + redis_keys.message(message_id)
        raw = await self.redis.get(name)
        if raw is None:
            return False
        m = message_of(raw)
        if status is not Delivery.FAILED and RANK.get(m.status, 99) >= RANK.get(status, 0):
            return True
        m.status = status
        m.error_code = error_code if error_code is not None else m.error_code
        m.error_detail = error_detail if error_detail is not None else m.error_detail
        await self.redis.set(name, message_json(m))
        return True
