-- wrk -s poll.lua <url> -- <paths file> <threads>
-- GET of a path drawn at random from the file (one a line, e.g. /api/queue/<token>) on every request.
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

function init(args)
  requests = {}
  for path in io.lines(args[1]) do requests[#requests + 1] = wrk.format("GET", path) end
  math.randomseed(7919 * (id + 1))
end

function request()
  return requests[math.random(#requests)]
end
