-- wrk script for bench/serve_load.py: POST JSON bodies read from a file, one body per line,
-- cycling through them (each wrk thread starts at its own offset), and print one JSON line
-- of results from done().
--
--   wrk -t1 -c64 -d10s -s post.lua http://127.0.0.1:8501/v1/models/tweet-classifier:predict -- bodies.jsonl

local counter = 0
local threads = {}

function setup(thread)
   thread:set("id", counter)
   table.insert(threads, thread)
   counter = counter + 1
end

function init(args)
   local path = args[1]
   local file = assert(io.open(path, "r"), "cannot open " .. tostring(path))
   local headers = { ["Content-Type"] = "application/json" }
   requests = {}
   for line in file:lines() do
      if #line > 0 then
         requests[#requests + 1] = wrk.format("POST", nil, headers, line)
      end
   end
   file:close()
   assert(#requests > 0, "no bodies in " .. path)
   -- spread the threads over the pool so they do not send the same texts at the same time
   index = (id * 7919) % #requests
end

function request()
   index = index % #requests + 1
   return requests[index]
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      'WRK_JSON {"duration_us": %d, "requests": %d, "bytes": %d, ' ..
      '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
      '"latency_us": {"mean": %.1f, "max": %d, "p50": %d, "p90": %d, "p99": %d, "p999": %d}}\n',
      summary.duration, summary.requests, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency.mean, latency.max, latency:percentile(50), latency:percentile(90),
      latency:percentile(99), latency:percentile(99.9)))
end
