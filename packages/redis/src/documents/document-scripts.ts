import { JSON_CONTAINMENT } from './json-containment-lua'

/**
 * The document store's server-side steps (see `DocumentKeys` for the layout). Every write is one script,
 * so the version check and the write it guards are atomic however many processes write the same document;
 * a script's effects are replicated and appended to the AOF as one transaction.
 */

/** Whether `version` of `source` is newer than what the document saw (a missing document takes anything). */
const PRELUDE = String.raw`
local function newer(doc, source, version)
  if redis.call('EXISTS', doc) == 0 then return true end
  local seen = redis.call('HGET', doc, 'v:' .. source)
  return tonumber(seen or '-1') < tonumber(version)
end

local function now_ms()
  local time = redis.call('TIME')
  return time[1] .. string.format('%03d', math.floor(tonumber(time[2]) / 1000))
end

-- Takes the document's fields out of their having sets (and a field whose set is now empty out of fields).
local function unindex(doc, id, having_prefix, fields)
  for _, name in ipairs(redis.call('HKEYS', doc)) do
    if string.sub(name, 1, 2) == 'f:' then
      local field = string.sub(name, 3)
      local having = having_prefix .. field
      redis.call('ZREM', having, id)
      if redis.call('EXISTS', having) == 0 then redis.call('SREM', fields, field) end
      redis.call('HDEL', doc, name)
    end
  end
end
`

/**
 * Changes applied one after another, each as `merge` does.
 * KEYS: ids, fields, then per change its document and the having set of each field it sets.
 * ARGV: per change: id, source, version, n, then n times field name and field JSON.
 * Returns how many changes were applied. A tombstone records the version but takes no field.
 */
export const MERGE = `${PRELUDE}
local ids, fields = KEYS[1], KEYS[2]
local now = now_ms()
local applied, k, a = 0, 3, 1
while a <= #ARGV do
  local doc, id, source, version, n = KEYS[k], ARGV[a], ARGV[a + 1], ARGV[a + 2], tonumber(ARGV[a + 3])
  if newer(doc, source, version) then
    applied = applied + 1
    local live = redis.call('HEXISTS', doc, 'removed') == 0
    redis.call('HSET', doc, 'v:' .. source, version, 'at', now)
    if live then
      for i = 1, n do
        local field = ARGV[a + 2 + 2 * i]
        redis.call('HSET', doc, 'f:' .. field, ARGV[a + 3 + 2 * i])
        redis.call('ZADD', KEYS[k + i], 0, id)
        redis.call('SADD', fields, field)
      end
      redis.call('ZADD', ids, 0, id)
    end
  end
  k = k + 1 + n
  a = a + 4 + 2 * n
end
return applied
`

/**
 * Tombstones a document unless its source already saw an equal or newer version.
 * KEYS: the document, ids, removed, fields. ARGV: id, source, version, having prefix. Returns 1 or 0.
 */
export const REMOVE = `${PRELUDE}
local doc, ids, removed, fields = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local id, source, version, having_prefix = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
if not newer(doc, source, version) then return 0 end
unindex(doc, id, having_prefix, fields)
redis.call('HSET', doc, 'v:' .. source, version, 'removed', '1', 'at', now_ms())
redis.call('ZREM', ids, id)
redis.call('SADD', removed, id)
return 1
`

/**
 * One step of a find: walks at most `budget` ids of a sorted set (ids, or the having set of a field) in
 * lexicographic range, in either direction, and returns the documents among them whose fields contain the
 * filter's, up to `limit`.
 * KEYS: the sorted set walked. ARGV: document key prefix, '1' for descending, range start, range end (as
 * ZRANGE BYLEX takes them, REV ones from the top), limit, budget, then pairs of field name and field JSON.
 * Returns `{ {{id, {field, value, …}}, …}, last id walked, 1 when the range has no more ids }`.
 * Document keys are built here from their ids: undeclared, but in the same slot (the hash tag).
 */
export const FIND_STEP = `${JSON_CONTAINMENT}
local walk = KEYS[1]
local doc_prefix, descending, from, to = ARGV[1], ARGV[2] == '1', ARGV[3], ARGV[4]
local limit, budget = tonumber(ARGV[5]), tonumber(ARGV[6])
local range
if descending then
  range = redis.call('ZRANGE', walk, from, to, 'BYLEX', 'REV', 'LIMIT', 0, budget)
else
  range = redis.call('ZRANGE', walk, from, to, 'BYLEX', 'LIMIT', 0, budget)
end
local found, last = {}, ''
for _, id in ipairs(range) do
  last = id
  local doc = doc_prefix .. id
  local matches = true
  for i = 7, #ARGV, 2 do
    local have = redis.call('HGET', doc, 'f:' .. ARGV[i])
    if not have or not json_contains(have, ARGV[i + 1]) then
      matches = false
      break
    end
  end
  if matches then
    local body = redis.call('HGETALL', doc)
    if #body > 0 then found[#found + 1] = { id, body } end
    if #found >= limit then break end
  end
end
return { found, last, #range < budget and 1 or 0 }
`

/**
 * Which documents lack a field: those that do not exist, or are live without it (a tombstone has them all).
 * KEYS: the documents. ARGV: the field. Returns the 1-based positions of the lacking ones.
 */
export const LACKING = String.raw`
local name, lacking = 'f:' .. ARGV[1], {}
for i, doc in ipairs(KEYS) do
  if redis.call('HEXISTS', doc, 'removed') == 0 and redis.call('HEXISTS', doc, name) == 0 then lacking[#lacking + 1] = i end
end
return lacking
`

/**
 * One step of emptying a collection: deletes up to `batch` live documents (and their index entries) and
 * up to `batch` tombstones; once neither is left, sweeps what `fields` still names.
 * KEYS: ids, removed, fields. ARGV: document key prefix, having prefix, batch. Returns how many members
 * the three sets still hold: the caller repeats until 0.
 */
export const CLEAR_STEP = `${PRELUDE}
local ids, removed, fields = KEYS[1], KEYS[2], KEYS[3]
local doc_prefix, having_prefix, batch = ARGV[1], ARGV[2], tonumber(ARGV[3])
for _, id in ipairs(redis.call('ZRANGE', ids, 0, batch - 1)) do
  local doc = doc_prefix .. id
  unindex(doc, id, having_prefix, fields)
  redis.call('DEL', doc)
  redis.call('ZREM', ids, id)
end
for _, id in ipairs(redis.call('SPOP', removed, batch)) do redis.call('DEL', doc_prefix .. id) end
if redis.call('ZCARD', ids) == 0 and redis.call('SCARD', removed) == 0 then
  for _, field in ipairs(redis.call('SPOP', fields, batch)) do redis.call('DEL', having_prefix .. field) end
end
return redis.call('ZCARD', ids) + redis.call('SCARD', removed) + redis.call('SCARD', fields)
`
