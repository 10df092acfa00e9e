"""Every Redis key name the Redis store, its locks, its scripts and its send slots use, each
built here once.

Frontends read some keys directly (:func:`session`, :func:`session_status`): keep their names
exactly. ``{botId}`` is the business number id for the ``whatsapp`` channel and
``{channel}:{botId}`` for any other channel (:func:`bot_scope`). :data:`LAYOUT` lists every
key's template; :func:`template_of` tells which one a name fits (tests check that every key
the store writes is declared here).

A Lua script receives every key it touches in ``KEYS`` from Python (none is built while it
runs). On Redis Cluster the store's own keys are these names after the hash tag of the user's
partition (:mod:`bot.sessions.redis.tags`); the frontends' keys and those found by an id
alone (``wamid:``, ``outbox:pace:``, ``store:probe``) keep their names.
"""

from __future__ import annotations

import re

from bot.sessions.model import SessionKey
from bot.sessions.redis.tags import strip_tag

LAYOUT: tuple[str, ...] = (
    "session:status:{botId}:{userId}",
    "session:id:{sessionId}",
    "session:{botId}:{userId}",
    "optout:{botId}:{userId}",
    "sessions:deadlines",
    "sessions:created",
    "sessions:handoff",
    "sessions:user:{userId}",
    "messages:seq",
    "messages:nosession:{botId}:{userId}",
    "messages:{sessionId}",
    "message:{id}",
    "outbox:pending",
    "outbox:user:{botId}:{userId}",
    "outbox:lock:{botId}:{userId}",
    "outbox:pace:{channel}:{botId}",
    "wamid:{providerId}",
    "inbound:seen:{channel}:{providerId}",
    "inbound:done:{channel}:{providerId}",
    "inbound:last:{botId}:{userId}",
    "inbox:{channel}:{botId}:{userId}",
    "inbox:users",
    "lock:{botId}:{userId}",
    "store:probe",
)
"""The template of every key, as the functions and constants below build them (the more
specific of two that could both fit a name first)."""

# --- the user's current session (read by frontends) ---------------------------------------


def bot_scope(key: SessionKey) -> str:
    """``{botId}`` of the layout: the bot id, prefixed by the channel unless WhatsApp."""
    return key.bot_id if key.channel == "whatsapp" else f"{key.channel}:{key.bot_id}"


def _user(key: SessionKey) -> str:
    """``{botId}:{userId}``."""
    return f"{bot_scope(key)}:{key.user_id}"


def session(key: SessionKey) -> str:
    """``session:{botId}:{userId}``: hash, the user's current (or latest) session: ``status``,
    ``lastSeen``, ``phoneNumber``, ``displayName``, ``sessionId``, ``createdAt``,
    ``expiresAt``, ``closedAt``, ``warnedAt`` (ISO 8601 UTC), ``channel``, ``botId``,
    ``userId``, ``flow``, ``flowVersion``, ``step``, ``stepRetries``, ``data`` (JSON),
    ``language``, ``closeReason``, ``confirming`` (the closing intent a yes/no question asks
    about), ``optedOut`` (when the user opted out of messages, ISO 8601 UTC; empty when not),
    ``handoff`` (JSON of the latest handoff to a person: ``reason``, ``since``, ``flow_id``,
    ``step_id``, ``agent`` holding it, ``taken_at``, ``first_reply_at``, ``ended_at``; empty
    when none; written with the rest of the hash, under the user's lock, so who holds the
    conversation changes atomically with its status).
    No TTL; deleted by retention when it still shows a purged session. Written by each
    commit; read by the user's lock holder and by frontends."""
    return f"session:{_user(key)}"


def session_status(key: SessionKey) -> str:
    """``session:status:{botId}:{userId}``: string, the session's status; expires with the
    session (active: its deadline plus 60 s) or after the retention period (closed). Read by
    frontends."""
    return f"session:status:{_user(key)}"


SESSION_BY_ID_PREFIX = "session:id:"
"""Prefix of :func:`session_by_id`."""


def session_by_id(session_id: str) -> str:
    """``session:id:{sessionId}``: hash, every session by id: the fields of :func:`session`
    and the counters ``messagesIn``, ``messagesOut``. No TTL (retention deletes it). Read by
    the sweeper and the admin queries."""
    return f"{SESSION_BY_ID_PREFIX}{session_id}"


def optout(key: SessionKey) -> str:
    """``optout:{botId}:{userId}``: string, when the user opted out of messages (ISO 8601
    UTC); deleted when they opt back in. Read by the outbox and the admin queries."""
    return f"optout:{_user(key)}"


SESSIONS_DEADLINES = "sessions:deadlines"
"""Sorted set: active session ids by ``expiresAt`` (epoch seconds); the sweeper reads the due
ones from here."""
SESSIONS_CREATED = "sessions:created"
"""Sorted set: every session id by creation time (epoch seconds); admin queries and
retention page through it."""


SESSIONS_HANDOFF = "sessions:handoff"
"""Sorted set: the ids of sessions in status ``handoff`` (a person has them), by creation
time (epoch seconds); the agents' queue (``GET /v1/handoffs``) reads it instead of every
session. Written by the commit that changes a session's status."""


def sessions_of_user(user_id: str) -> str:
    """``sessions:user:{userId}``: sorted set, the user's session ids by creation time (all
    bots). Read by the admin queries filtered by user."""
    return f"sessions:user:{user_id}"


# --- messages ----------------------------------------------------------------------------

MESSAGE_SEQ = "messages:seq"
"""String (integer): the last message id taken (on a cluster, one per partition, and an id is
``seq * 256 + partition``); taking a user's lock takes a few for its holder's commits."""
MESSAGE_PREFIX = "message:"
"""Prefix of :func:`message`."""


def message(message_id: int | str) -> str:
    """``message:{id}``: string, one message (JSON); no TTL (retention deletes it). Read by
    the outbox and the admin queries."""
    return f"{MESSAGE_PREFIX}{message_id}"


def session_messages(session_id: str) -> str:
    """``messages:{sessionId}``: list, the session's message ids, oldest first. Read by the
    admin queries and retention."""
    return f"messages:{session_id}"


def messages_without_session(key: SessionKey) -> str:
    """``messages:nosession:{botId}:{userId}``: list, ids of the user's messages that arrived
    with no session. Read when the user's data is deleted."""
    return f"messages:nosession:{_user(key)}"


# --- outbox --------------------------------------------------------------------------------

OUTBOX_PENDING = "outbox:pending"
"""Sorted set: outbound message ids not yet sent, by when their next attempt is due (epoch
seconds). Read by the outbox's scan for due messages."""


def user_outbox(key: SessionKey) -> str:
    """``outbox:user:{botId}:{userId}``: sorted set, the user's pending outbound ids, by id.
    Read by the holder of the user's sender lock."""
    return f"outbox:user:{_user(key)}"


def sender_lock(key: SessionKey) -> str:
    """``outbox:lock:{botId}:{userId}``: string with a lease (``PX``, renewed while held),
    the token of the user's sender (one at a time across workers)."""
    return f"outbox:lock:{_user(key)}"


def pace(lane: str) -> str:
    """``outbox:pace:{channel}:{botId}`` (``lane`` is ``{channel}:{botId}``): string, the
    business number's next free send slot (epoch microseconds of Redis ``TIME``); expires a
    second after that slot. Read and written by the send-slot scripts only."""
    return f"outbox:pace:{lane}"


def provider_message(provider_id: str) -> str:
    """``wamid:{providerId}``: sorted set, the delivery status of the outbound message sent
    with that provider message id: member ``status`` scored by its rank, and the error of a
    ``failed`` one (:mod:`bot.sessions.redis.statuses`); created by the send's result, expires
    after the retention period. Written by delivery status updates, read with the message."""
    return f"wamid:{provider_id}"


# --- inbound -------------------------------------------------------------------------------


def inbound_seen(channel: str, provider_id: str) -> str:
    """``inbound:seen:{channel}:{providerId}``: string ``1`` with a 7-day TTL, idempotency of
    inbound ids at the webhook (set when queued). Read by the webhook."""
    return f"inbound:seen:{channel}:{provider_id}"


def inbound_done(channel: str, provider_id: str) -> str:
    """``inbound:done:{channel}:{providerId}``: string ``1`` with a 7-day TTL, set by the
    commit that stores the inbound message (a second commit of it fails)."""
    return f"inbound:done:{channel}:{provider_id}"


def last_inbound(key: SessionKey) -> str:
    """``inbound:last:{botId}:{userId}``: string, when the user last wrote (ISO 8601 UTC;
    opens the 24-hour window); expires after the retention period. Read by the holder of the
    user's sender lock."""
    return f"inbound:last:{_user(key)}"


def inbox(key: SessionKey) -> str:
    """``inbox:{channel}:{botId}:{userId}``: list, inbound messages queued for processing
    (JSON), oldest first. Read by the holder of the user's lock."""
    return f"inbox:{key.channel}:{_user(key)}"


INBOX_USERS = "inbox:users"
"""Set: users (JSON ``[channel, botId, userId]``) whose inbox may hold messages; read by the
workers looking for work."""


def user_lock(key: SessionKey) -> str:
    """``lock:{botId}:{userId}``: string with a lease (``PX``, renewed while held), the token
    of the user's cross-worker lock (engine turns and the sweeper)."""
    return f"lock:{_user(key)}"


PROBE = "store:probe"
"""String with a 60-second TTL: readiness's probe write (the time it was written)."""

# --- checking names against the layout ------------------------------------------------------

_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_PART = {"botId": r"(?:[a-z_]+:)?[^:]+"}
"""Placeholders that may hold a colon; every other one is one segment."""


def _regex(template: str) -> re.Pattern[str]:
    pieces = _PLACEHOLDER.split(template)
    out = [
        _PART.get(piece, r"[^:]+") if odd else re.escape(piece)
        for odd, piece in ((i % 2 == 1, p) for i, p in enumerate(pieces))
    ]
    return re.compile("".join(out))


_REGEXES = [(t, _regex(t)) for t in LAYOUT]


def template_of(name: str) -> str | None:
    """The first template of :data:`LAYOUT` that ``name`` fits (``None``: undeclared), after
    the hash tag of its partition on a cluster (:mod:`bot.sessions.redis.tags`)."""
    name = strip_tag(name)
    for template, regex in _REGEXES:
        if regex.fullmatch(name):
            return template
    return None
