"""The Lua scripts of the Redis store (each atomic, run through the command batcher)."""

from __future__ import annotations

ENQUEUE = """
if redis.call('set', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  redis.call('rpush', KEYS[2], ARGV[2])
  redis.call('sadd', KEYS[3], ARGV[3])
  return 1
end
return 0
"""

APPLY = """
for i = 2, #KEYS do
  if redis.call('exists', KEYS[i]) == 1 then return false end
end
local count = tonumber(ARGV[2])
local first = 0
if count > 0 then first = redis.call('incrby', KEYS[1], count) - count + 1 end
for _, command in ipairs(cjson.decode(ARGV[1])) do
  for i, arg in ipairs(command) do
    if type(arg) == 'table' then
      command[i] = arg[2] .. string.format('%d', first + arg[1]) .. arg[3]
    end
  end
  redis.call(unpack(command))
end
if ARGV[3] then return {first, redis.call('lindex', ARGV[3], 0) or ''} end
return {first}
"""
"""Fails (returns nil, writes nothing) when one of KEYS but the first exists. Else takes
ARGV[2] ids from KEYS[1] (``messages:seq``) and runs each command of ARGV[1], a JSON array of
commands (one argument: redis-py packs a command with thousands of arguments slowly); an
argument is a string, or
``[k, prefix, suffix]`` for ``prefix .. (first id + k) .. suffix``. Returns the first id, and
the head of inbox ARGV[3] (``''``: empty) when given."""

PENDING_FOR = """
local ids = redis.call('zrange', KEYS[1], 0, tonumber(ARGV[1]) - 1)
if #ids == 0 then return {} end
local names = {}
for i, id in ipairs(ids) do names[i] = ARGV[2] .. id end
return redis.call('mget', unpack(names))
"""
"""The first ARGV[1] messages (keys ARGV[2] .. id) of the user's outbox KEYS[1]."""

TAKE_USER = """
if not redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return false end
return {redis.call('lindex', KEYS[2], 0) or '', redis.call('hgetall', KEYS[3])}
"""
"""The user's lock KEYS[1] (token ARGV[1], lease ARGV[2] ms) and, when taken, the head of
inbox KEYS[2] (``''``: empty) and session hash KEYS[3]; nil when someone holds it."""

TAKE_SENDER = """
if not redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return false end
local reply = {redis.call('get', KEYS[2]) or ''}
local ids = redis.call('zrange', KEYS[3], 0, tonumber(ARGV[3]) - 1)
if #ids > 0 then
  local names = {}
  for i, id in ipairs(ids) do names[i] = ARGV[4] .. id end
  for i, raw in ipairs(redis.call('mget', unpack(names))) do reply[i + 1] = raw or '' end
end
return reply
"""
"""The user's sender lock KEYS[1] (token ARGV[1], lease ARGV[2] ms) and, when taken, when
the user last wrote (KEYS[2], ``''``: never) and the first ARGV[3] pending messages (keys
ARGV[4] .. id) of outbox KEYS[3] (``''`` for one deleted); nil when someone holds it."""

MARK = """
local current = redis.call('get', KEYS[1])
if (current or '') ~= ARGV[1] then return {0, current or ''} end
if current then redis.call('set', KEYS[1], ARGV[2]) end
if ARGV[5] ~= '' then redis.call('set', ARGV[5], ARGV[3], 'EX', ARGV[6]) end
if ARGV[4] ~= '' then
  if current then redis.call('zadd', KEYS[2], ARGV[4], ARGV[3]) end
else
  redis.call('zrem', KEYS[2], ARGV[3])
  if current then redis.call('zrem', KEYS[3], ARGV[3]) end
end
return {1}
"""
"""Compare-and-set of message KEYS[1]: when it still reads ARGV[1] (``''``: absent), write
ARGV[2] (if present), map provider key ARGV[5] (if any) to id ARGV[3] for ARGV[6] s, and
either schedule the next attempt at ARGV[4] (epoch s) in ``outbox:pending`` (KEYS[2]) or,
when ARGV[4] is ``''`` (settled), take the id out of it and out of the user's outbox
KEYS[3]. Returns ``{1}``, or ``{0, current}`` with nothing written."""

SESSIONS = """
local ids = {}
if KEYS[1] then
  ids = redis.call('zrangebyscore', KEYS[1], '-inf', ARGV[2], 'LIMIT', 0, ARGV[3])
else
  for i = 2, #ARGV do ids[i - 1] = ARGV[i] end
end
local found = {}
for i, id in ipairs(ids) do found[i] = redis.call('hgetall', ARGV[1] .. id) end
return found
"""
"""The session hashes (keys ARGV[1] .. id; flat field-value arrays, empty for a missing one)
of the ids ARGV[2..], or with KEYS[1] (``sessions:deadlines``) of the first ARGV[3] ids
scored up to ARGV[2]."""

FORGET_IF_EMPTY = """
if redis.call('llen', KEYS[1]) == 0 then return redis.call('srem', KEYS[2], ARGV[1]) end
return 0
"""
