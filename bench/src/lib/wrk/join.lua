-- wrk -s join.lua <url> -- <tokens file> <concert id> <threads>
-- Every member joins the concert's waiting room once (POST /api/concerts/:id/queue, their bearer token):
-- thread `id` sends the tokens on the lines ≡ id (mod threads). It prints "first <id>" at its first 2xx
-- answer, "ok <id> <n>" every 250 of them and at each one once all its tokens are sent ("sent <id>"), and
-- "done <id>" when each of its tokens got one: the caller times the answers and stops wrk. A request lost
-- with its connection (wrk reconnects and goes on with the next token) is never answered: the caller stops
-- waiting for it. A connection whose thread has sent all its tokens sends nothing more: `delay` holds it
-- back for an hour.
local counter = 0
local threads = {}

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  threads[#threads + 1] = thread
end

function init(args)
  local file, concert, count = args[1], args[2], tonumber(args[3])
  -- wrk calls its first thread's request() once before it starts, to count the requests it returns: that call must not use a token.
  counted = id ~= 0
  local path = "/api/concerts/" .. concert .. "/queue"
  requests = {}
  local line = 0
  for token in io.lines(file) do
    if line % count == id then requests[#requests + 1] = wrk.format("POST", path, { ["Authorization"] = "Bearer " .. token }) end
    line = line + 1
  end
  sent, ok, other = 0, 0, 0
end

function delay()
  if sent < #requests then return 0 end
  return 3600000
end

function request()
  if not counted then
    counted = true
    return requests[1]
  end
  sent = sent + 1
  if sent == #requests then io.write("sent " .. id .. "\n"); io.flush() end
  return requests[sent]
end

function response(status)
  if status >= 200 and status < 300 then
    ok = ok + 1
    if ok == 1 then io.write("first " .. id .. "\n"); io.flush() end
    if ok % 250 == 0 or sent >= #requests then io.write("ok " .. id .. " " .. ok .. "\n"); io.flush() end
    if ok == #requests then io.write("done " .. id .. "\n"); io.flush() end
  else
    other = other + 1
  end
end

function done()
  for _, thread in ipairs(threads) do
    io.write("answers " .. thread:get("id") .. " " .. thread:get("ok") .. " " .. thread:get("other") .. "\n")
  end
end
