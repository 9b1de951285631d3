/**
 * The waiting room's atomic operations on Redis, as Lua. Every script takes the key prefix first; a
 * concert's keys are `<p>:c:<concert>:…`, a token's hash `<p>:t:<token>`:
 * `waiting` (sorted by place in line), `prequeue` (joined before sales opened), `active` (by the end of their time), `seen` (waiters by when they were
 * last present), `activated` (admissions by time, for the rate), `live:<member>` (the member's live
 * token), and `<p>:concerts` (the concerts with anyone waiting or active).
 */

/**
 * A token and where it stands, as the store's `standingOf` reads it: {token, concert, member, status, seq,
 * activeUntil, position} — the position 1-based in line, -1 in the pre-queue, 0 when not waiting; {} when
 * there is no such token. Shared by the scripts below.
 */
const STANDING = `
local function standing(p, token)
  local h = redis.call('HMGET', p .. ':t:' .. token, 'concert', 'member', 'status', 'seq', 'activeUntil')
  if not h[1] then return {} end
  local position = 0
  if h[3] == 'WAITING' then
    local rank = redis.call('ZRANK', p .. ':c:' .. h[1] .. ':waiting', token)
    if rank then position = rank + 1 else position = -1 end
  end
  return {token, h[1], h[2], h[3], h[4] or '', h[5] or '', position}
end
`

/** ARGV: prefix, token… → each token's standing (see STANDING), seven values a token: seven '' for no such token */
export const STANDING_OF = `${STANDING}
local found = {}
for i = 2, #ARGV do
  local one = standing(ARGV[1], ARGV[i])
  if #one == 0 then one = {'', '', '', '', '', '', ''} end
  for _, value in ipairs(one) do found[#found + 1] = value end
end
return found
`

/**
 * ARGV: prefix, then joins of five each: concert, member, token, now (ms), preQueue (1|0). → for each, in
 * order, the member's live token's standing (see STANDING) and created (1|0): eight values a join. Joins in
 * one call are applied one after the other, as separate calls would be.
 */
export const JOIN = `${STANDING}
local function join(p, concert, member, token, now, preQueue)
  local c = p .. ':c:' .. concert
  local live = redis.call('GET', c .. ':live:' .. member)
  if live then
    local found = standing(p, live)
    -- A live token whose hash is gone (evicted, deleted by hand) is no token: the member joins anew.
    if #found > 0 then
      found[#found + 1] = 0
      return found
    end
  end
  local seq, position = '', -1
  if preQueue then
    redis.call('SADD', c .. ':prequeue', token)
  else
    seq = redis.call('INCR', p .. ':seq')
    redis.call('ZADD', c .. ':waiting', seq, token)
    position = redis.call('ZRANK', c .. ':waiting', token) + 1
  end
  redis.call('HSET', p .. ':t:' .. token, 'concert', concert, 'member', member, 'status', 'WAITING', 'seq', seq, 'joinedAt', now)
  redis.call('SET', c .. ':live:' .. member, token)
  redis.call('ZADD', c .. ':seen', now, token)
  redis.call('SADD', p .. ':concerts', concert)
  return {token, concert, member, 'WAITING', tostring(seq), '', position, 1}
end
local p = ARGV[1]
local joined = {}
for i = 2, #ARGV, 5 do
  for _, value in ipairs(join(p, ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4] == '1')) do joined[#joined + 1] = value end
end
return joined
`

/** ARGV: prefix, concert, token… → for each token its position: 1-based in line, -1 in the pre-queue, 0 when not waiting there */
export const LINE_OF = `
local c = ARGV[1] .. ':c:' .. ARGV[2]
local positions = {}
for i = 3, #ARGV do
  local rank = redis.call('ZRANK', c .. ':waiting', ARGV[i])
  if rank then positions[#positions + 1] = rank + 1
  elseif redis.call('SISMEMBER', c .. ':prequeue', ARGV[i]) == 1 then positions[#positions + 1] = -1
  else positions[#positions + 1] = 0 end
end
return positions
`

/** Ends a live token (status given) and takes it out of every set. Shared by the scripts below. */
const END = `
local function finish(p, token, status, now)
  local t = p .. ':t:' .. token
  local concert, member = redis.call('HGET', t, 'concert'), redis.call('HGET', t, 'member')
  local c = p .. ':c:' .. concert
  redis.call('HSET', t, 'status', status, 'endedAt', now)
  redis.call('PEXPIRE', t, 86400000) -- an ended token is answered for a day, then forgotten
  redis.call('ZREM', c .. ':waiting', token)
  redis.call('ZREM', c .. ':active', token)
  redis.call('ZREM', c .. ':seen', token)
  redis.call('SREM', c .. ':prequeue', token)
  if redis.call('GET', c .. ':live:' .. member) == token then redis.call('DEL', c .. ':live:' .. member) end
  return concert
end
`

/** ARGV: prefix, token, now. → 1 when it was live */
export const LEAVE = `${END}
local p, token, now = ARGV[1], ARGV[2], ARGV[3]
local status = redis.call('HGET', p .. ':t:' .. token, 'status')
if status ~= 'WAITING' and status ~= 'ACTIVE' then return 0 end
finish(p, token, 'EXPIRED', now)
return 1
`

/** ARGV: prefix, concert, member, paidAt, now. → 1 when an ACTIVE token admitted by paidAt ended COMPLETED */
export const COMPLETE = `${END}
local p, concert, member, paidAt, now = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5]
local token = redis.call('GET', p .. ':c:' .. concert .. ':live:' .. member)
if not token then return 0 end
local t = p .. ':t:' .. token
if redis.call('HGET', t, 'status') ~= 'ACTIVE' or tonumber(redis.call('HGET', t, 'activatedAt')) > paidAt then return 0 end
finish(p, token, 'COMPLETED', now)
return 1
`

/** ARGV: prefix, now, idleBefore. → {the end of the first ACTIVE token's time (ms; '' when none), the concerts where places freed…} */
export const SWEEP = `${END}
local p, now, idleBefore = ARGV[1], ARGV[2], ARGV[3]
local swept = {''}
for _, concert in ipairs(redis.call('SMEMBERS', p .. ':concerts')) do
  local c = p .. ':c:' .. concert
  local ended = 0
  for _, token in ipairs(redis.call('ZRANGEBYSCORE', c .. ':active', '-inf', now)) do finish(p, token, 'EXPIRED', now); ended = ended + 1 end
  for _, token in ipairs(redis.call('ZRANGEBYSCORE', c .. ':seen', '-inf', '(' .. idleBefore)) do finish(p, token, 'EXPIRED', now); ended = ended + 1 end
  if ended > 0 then swept[#swept + 1] = concert end
  local first = redis.call('ZRANGE', c .. ':active', 0, 0, 'WITHSCORES')[2]
  if first and (swept[1] == '' or tonumber(first) < tonumber(swept[1])) then swept[1] = first end
  if redis.call('ZCARD', c .. ':waiting') == 0 and redis.call('ZCARD', c .. ':active') == 0 and redis.call('SCARD', c .. ':prequeue') == 0 then redis.call('SREM', p .. ':concerts', concert) end
end
return swept
`

/** ARGV: prefix, concert, capacity, now, activeUntil, keepActivationsSince. → the tokens admitted, in arrival order */
export const ADMIT = `
local p, concert, capacity, now, activeUntil, keepSince = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5], ARGV[6]
local c = p .. ':c:' .. concert
redis.call('ZREMRANGEBYSCORE', c .. ':activated', '-inf', '(' .. keepSince)
local free = capacity - redis.call('ZCARD', c .. ':active')
if free <= 0 then return {} end
local admitted = redis.call('ZRANGE', c .. ':waiting', 0, free - 1)
for _, token in ipairs(admitted) do
  redis.call('ZREM', c .. ':waiting', token)
  redis.call('ZREM', c .. ':seen', token)
  redis.call('ZADD', c .. ':active', activeUntil, token)
  redis.call('ZADD', c .. ':activated', now, token)
  redis.call('HSET', p .. ':t:' .. token, 'status', 'ACTIVE', 'activatedAt', now, 'activeUntil', activeUntil)
end
return admitted
`

/** ARGV: prefix, concert, token… (the pre-queue in its new order) → puts them in line ahead of everyone */
export const OPEN_LINE = `
local p, concert = ARGV[1], ARGV[2]
local c = p .. ':c:' .. concert
local n = #ARGV - 2
-- The first opening puts them ahead of everyone; anyone pre-queued after it goes behind everyone.
local opened = redis.call('SET', c .. ':opened', '1', 'NX') == false
for i = 3, #ARGV do
  local token = ARGV[i]
  if redis.call('SREM', c .. ':prequeue', token) == 1 then
    local seq = (i - 2) - n - 1
    if opened then seq = redis.call('INCR', p .. ':seq') end
    redis.call('ZADD', c .. ':waiting', seq, token)
    redis.call('HSET', p .. ':t:' .. token, 'seq', seq)
  end
end
return 0
`

/** ARGV: prefix. → the concerts with anyone waiting (in line or in the pre-queue) */
export const WAITING_CONCERTS = `
local p = ARGV[1]
local waiting = {}
for _, concert in ipairs(redis.call('SMEMBERS', p .. ':concerts')) do
  local c = p .. ':c:' .. concert
  if redis.call('ZCARD', c .. ':waiting') > 0 or redis.call('SCARD', c .. ':prequeue') > 0 then waiting[#waiting + 1] = concert end
end
return waiting
`
