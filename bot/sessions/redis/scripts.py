"""The Lua scripts of the Redis store (each atomic, run through the command batcher).

Every key a script touches is passed in ``KEYS`` (none is built from ``ARGV`` or found while
it runs): Redis Cluster routes a call by its keys, and they all share the user's hash tag
(:mod:`bot.sessions.redis.tags`)."""

from __future__ import annotations

ENQUEUE = """
if redis.call('set', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  if redis.call('rpush', KEYS[2], ARGV[2]) == 1 then redis.call('sadd', KEYS[3], ARGV[3]) end
  return 1
end
return 0
"""
"""Idempotency key KEYS[1] (ARGV[1] s); when new, message ARGV[2] onto inbox KEYS[2], and
when that inbox was empty, user ARGV[3] into the partition's ``inbox:users`` KEYS[3] (a
user with a non-empty inbox is there already: it is only taken out with an empty inbox,
:data:`FORGET_IF_EMPTY`). Returns 1 when queued."""

APPLY = """
for i = 1, tonumber(ARGV[2]) do
  if not redis.call('set', KEYS[i], '1', 'NX', 'EX', ARGV[4]) then
    for j = 1, i - 1 do redis.call('del', KEYS[j]) end
    return false
  end
end
for _, command in ipairs(cjson.decode(ARGV[1])) do
  for i, arg in ipairs(command) do
    if type(arg) == 'table' then command[i] = KEYS[arg[1]] end
  end
  if command[1] == 'hsetcount' then
    local n = redis.call('hmget', command[2], 'messagesIn', 'messagesOut')
    redis.call('hset', command[2],
      'messagesIn', (tonumber(n[1]) or 0) + tonumber(command[3]),
      'messagesOut', (tonumber(n[2]) or 0) + tonumber(command[4]), unpack(command, 5))
  else
    redis.call(unpack(command))
  end
end
local inbox = tonumber(ARGV[3] or '0')
if inbox > 0 then return redis.call('lindex', KEYS[inbox], 0) or '' end
return ''
"""
"""Sets each of the first ARGV[2] KEYS (inbound provider ids stored) for ARGV[4] s, and fails
(returns nil, writes nothing) when one of them exists already. Else runs
each command of ARGV[1], a JSON array of commands (one argument: redis-py packs a command with
thousands of arguments slowly) whose key arguments are ``[i]`` for ``KEYS[i]``; the
pseudo-command ``hsetcount key in out field value ...`` is an ``HSET`` of the fields that
also adds ``in`` and ``out`` to the hash's ``messagesIn`` and ``messagesOut`` (read with
``HMGET``: two commands instead of an ``HSET`` and two ``HINCRBY``). Returns the
head of inbox ``KEYS[ARGV[3]]`` (``''``: empty, or no inbox given)."""

TAKE_USER = """
if not redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return false end
return {
  redis.call('lindex', KEYS[2], 0) or '',
  redis.call('hgetall', KEYS[3]),
  redis.call('incrby', KEYS[4], ARGV[3])
}
"""
"""The user's lock KEYS[1] (token ARGV[1], lease ARGV[2] ms) and, when taken, the head of
inbox KEYS[2] (``''``: empty), session hash KEYS[3], and the last of ARGV[3] message ids taken
from the partition's counter KEYS[4] (for the holder's commits); nil when someone holds it."""

TAKE_SENDER = """
if not redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return false end
return {redis.call('get', KEYS[2]) or '', redis.call('zrange', KEYS[3], 0, tonumber(ARGV[3]) - 1)}
"""
"""The user's sender lock KEYS[1] (token ARGV[1], lease ARGV[2] ms) and, when taken, when
the user last wrote (KEYS[2], ``''``: never) and the ids of the first ARGV[3] pending messages
of outbox KEYS[3]; nil when someone holds it."""

MARK = """
local current = redis.call('set', KEYS[1], ARGV[2], 'XX', 'GET')
if (current or '') ~= ARGV[1] then
  if current then redis.call('set', KEYS[1], current) end
  return {0, current or ''}
end
if KEYS[4] then
  redis.call('zadd', KEYS[4], 'GT', ARGV[6], 'status')
  redis.call('expire', KEYS[4], ARGV[5])
end
if ARGV[4] == '=' then
elseif ARGV[4] ~= '' then
  if current then redis.call('zadd', KEYS[2], ARGV[4], ARGV[3]) end
else
  redis.call('zrem', KEYS[2], ARGV[3])
  if current then redis.call('zrem', KEYS[3], ARGV[3]) end
end
return {1}
"""
"""Compare-and-set of message KEYS[1]: when it still reads ARGV[1] (``''``: absent), write
ARGV[2] (if present; written first, ``SET XX GET``, and put back as it was when it did not
read ARGV[1]: one command, not a read and a write), create the provider id's statuses
KEYS[4] (if given; member ``status``
scored ARGV[6], see :mod:`bot.sessions.redis.statuses`) for ARGV[5] s, and
either leave it scheduled as it is (ARGV[4] ``=``), or schedule the next attempt at ARGV[4]
(epoch s) in the partition's ``outbox:pending``
(KEYS[2]) or, when ARGV[4] is ``''`` (settled), take the id out of it and out of the user's
outbox KEYS[3]. Returns ``{1}``, or ``{0, current}`` with nothing written."""

OPT_OUT = """
if ARGV[1] == '' then redis.call('del', KEYS[1]) else redis.call('set', KEYS[1], ARGV[1]) end
redis.call('hset', KEYS[2], 'optedOut', ARGV[1])
return 1
"""
"""Opt-out KEYS[1] set to ARGV[1] (deleted when ``''``) and field ``optedOut`` of the user's
session hash KEYS[2], together."""

FORGET_IF_EMPTY = """
if redis.call('llen', KEYS[1]) == 0 then return redis.call('srem', KEYS[2], ARGV[1]) end
return 0
"""
"""User ARGV[1] out of the partition's ``inbox:users`` KEYS[2] when inbox KEYS[1] is empty."""

WAMID = """
redis.call('zadd', KEYS[1], 'GT', ARGV[1], 'status')
return redis.call('expire', KEYS[1], ARGV[2])
"""
"""The provider id's statuses KEYS[1]: member ``status`` scored ARGV[1] (or left higher), for
ARGV[2] s (on a cluster, right after the mark script: the key is in its own slot)."""

FAIL = """
if redis.call('exists', KEYS[1]) == 0 then return 0 end
redis.call('zremrangebyscore', KEYS[1], '-inf', '(0')
redis.call('zadd', KEYS[1], ARGV[1], 'status', -1, ARGV[2])
return 1
"""
"""A ``failed`` status on the provider id's statuses KEYS[1], when it exists: member
``status`` scored ARGV[1] whatever it was, and the error (JSON ARGV[2], scored -1) replacing
any earlier one. Returns 1, or 0 when there is no such key."""
