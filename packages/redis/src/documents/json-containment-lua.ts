/**
 * JSON containment in Lua, with the semantics of PostgreSQL's `jsonb @>` below the top level: an object
 * contains another when it has each of its keys with a value that contains that key's value; an array
 * contains another when each of its elements is contained by some element (order and repeats do not
 * matter); a scalar contains only an equal scalar.
 *
 * Redis' cjson cannot tell `[]` from `{}` (both decode to an empty table), so this parses JSON itself into
 * `{kind = 'o' | 'a', items}` and `{text}`. A scalar is compared by its JSON text: every value stored and
 * every filter is written by `JSON.stringify`, which writes one value always the same way (and strings with
 * the same escapes), so equal texts mean equal values and different texts different ones. Object keys stay
 * in their escaped form for the same reason.
 *
 * Defines `json_contains(have_text, want_text)`; only top-level fields' texts are ever passed in, and a
 * scalar filter (the usual case) costs one string comparison, without parsing.
 */
export const JSON_CONTAINMENT = String.raw`
local byte, sub, find = string.byte, string.sub, string.find

local function skip_space(s, i)
  return find(s, '[^ \t\r\n]', i) or #s + 1
end

-- A string starting at i (its opening quote): the index after its closing quote.
local function string_end(s, i)
  local j = i + 1
  while true do
    local k = find(s, '["\\]', j)
    if byte(s, k) == 34 then return k + 1 end
    j = k + 2 -- a backslash escapes the next character
  end
end

local function parse(s, i)
  i = skip_space(s, i)
  local c = byte(s, i)
  if c == 123 or c == 91 then -- { or [
    local object = c == 123
    local node = { kind = object and 'o' or 'a', items = {} }
    i = skip_space(s, i + 1)
    if byte(s, i) == 125 or byte(s, i) == 93 then return node, i + 1 end
    while true do
      local key
      if object then
        local key_end = string_end(s, i)
        key = sub(s, i, key_end - 1)
        i = skip_space(s, key_end) + 1 -- past the colon
      end
      local value
      value, i = parse(s, i)
      if object then node.items[key] = value else node.items[#node.items + 1] = value end
      i = skip_space(s, i)
      local separator = byte(s, i)
      i = skip_space(s, i + 1)
      if separator ~= 44 then return node, i end -- no comma: that was the closing bracket
    end
  end
  local stop = c == 34 and string_end(s, i) or (find(s, '[,%]} \t\r\n]', i) or #s + 1)
  return { text = sub(s, i, stop - 1) }, stop
end

local function contains(have, want)
  if want.text then return have.text == want.text end
  if have.kind ~= want.kind then return false end
  if want.kind == 'o' then
    for key, wanted in pairs(want.items) do
      local had = have.items[key]
      if had == nil or not contains(had, wanted) then return false end
    end
    return true
  end
  for _, wanted in ipairs(want.items) do
    local found = false
    for _, had in ipairs(have.items) do
      if contains(had, wanted) then
        found = true
        break
      end
    end
    if not found then return false end
  end
  return true
end

local parsed_wants = {}
local function json_contains(have_text, want_text)
  local first = byte(want_text, 1)
  if first ~= 123 and first ~= 91 then return have_text == want_text end
  local first_had = byte(have_text, 1)
  if first_had ~= first then return false end
  local want = parsed_wants[want_text]
  if want == nil then
    want = parse(want_text, 1)
    parsed_wants[want_text] = want
  end
  return contains(parse(have_text, 1), want)
end
`
