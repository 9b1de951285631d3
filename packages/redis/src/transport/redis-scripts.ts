/**
 * Server-side steps that must not interleave with another client's commands, as Lua (a script runs
 * atomically). ioredis sends them with EVALSHA and falls back to EVAL on a new connection or after a
 * restart emptied the script cache.
 */

/**
 * One page of a partition through the consumer's group, by offset.
 * KEYS[1] the stream; ARGV: group, consumer, after, limit. Returns the entries after `after` (at most
 * `limit`), delivered to the group: creates the group at `after` if needed, else moves its last-delivered
 * id to `after` unless it is there already, acknowledges every pending entry up to `after` (what the
 * caller has committed) and reads on with XREADGROUP `>`. Re-positioning inside the script makes each page
 * start exactly after `after` whatever else moved the group (another instance of the consumer, a read
 * whose answer was lost); a reader continuing where its last page ended writes nothing but the delivery.
 */
export const READ_PAGE = `
local key, group, consumer, after, limit = KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4]
if after == '0' then after = '0-0' end
local last
local groups = redis.pcall('XINFO', 'GROUPS', key)
if type(groups) == 'table' and not groups.err then
  for _, info in ipairs(groups) do
    local name, delivered
    for i = 1, #info, 2 do
      if info[i] == 'name' then name = info[i + 1] elseif info[i] == 'last-delivered-id' then delivered = info[i + 1] end
    end
    if name == group then last = delivered break end
  end
end
if last == nil then
  redis.call('XGROUP', 'CREATE', key, group, after, 'MKSTREAM')
elseif last ~= after then
  redis.call('XGROUP', 'SETID', key, group, after)
end
while true do
  local pending = redis.call('XPENDING', key, group, '-', after, 1000)
  if #pending == 0 then break end
  local ids = {}
  for i, entry in ipairs(pending) do ids[i] = entry[1] end
  redis.call('XACK', key, group, unpack(ids))
  if #pending < 1000 then break end
end
local read = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', limit, 'STREAMS', key, '>')
if not read then return {} end
return read[1][2]
`

/**
 * How many entries of a stream lie after a position, exactly, and the first of them.
 * KEYS[1] the stream; ARGV: after, chunk. Returns `{count}` or `{count, first entry}`. Counts whichever
 * side of `after` is shorter, a chunk at a time from both ends (entries after it forwards, the entries up
 * to it backwards, subtracted from XLEN), so a reader near either end costs little.
 */
export const LAG = `
local key, after, chunk = KEYS[1], ARGV[1], tonumber(ARGV[2])
local first = redis.call('XRANGE', key, '(' .. after, '+', 'COUNT', 1)
if #first == 0 then return {0} end
local total = redis.call('XLEN', key)
local ahead, behind = 0, 0
local up, down = '(' .. after, after
while true do
  local page = redis.call('XRANGE', key, up, '+', 'COUNT', chunk)
  ahead = ahead + #page
  if #page < chunk then return {ahead, first[1]} end
  up = '(' .. page[#page][1]
  page = redis.call('XREVRANGE', key, down, '-', 'COUNT', chunk)
  behind = behind + #page
  if #page < chunk then return {total - behind, first[1]} end
  down = '(' .. page[#page][1]
end
`
