-- wrk script for bench/bench_http.py: POST real comments to /api/v1/moderate.
-- BENCH_BODIES names a file of JSON request bodies, one per line (written by bench_http.py
-- from the shared datasets at run time, never committed); BENCH_KEY is the site API key.
-- Each thread cycles through the bodies from its own offset and counts status codes;
-- done() prints one JSON line with the totals for bench_http.py to parse.

local bodies = {}
local threads = {}
local counter = 0

function setup(thread)
   counter = counter + 1
   thread:set("offset", counter * 7919)
   table.insert(threads, thread)
end

function init(args)
   local path = os.getenv("BENCH_BODIES")
   for line in io.lines(path) do
      table.insert(bodies, line)
   end
   ok, failed, index = 0, 0, offset
   wrk.method = "POST"
   wrk.headers["Content-Type"] = "application/json"
   wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_KEY")
end

function request()
   index = index + 1
   return wrk.format(nil, nil, nil, bodies[(index % #bodies) + 1])
end

function response(status, headers, body)
   if status == 200 or status == 201 then
      ok = ok + 1
   else
      failed = failed + 1
   end
end

function done(summary, latency, requests)
   local total_ok, total_failed = 0, 0
   for _, thread in ipairs(threads) do
      total_ok = total_ok + thread:get("ok")
      total_failed = total_failed + thread:get("failed")
   end
   io.write(string.format(
      '{"ok": %d, "failed": %d, "requests": %d, "duration_us": %d, "socket_errors": %d, '
         .. '"timeouts": %d, "p50_us": %d, "p99_us": %d}\n',
      total_ok, total_failed, summary.requests, summary.duration,
      summary.errors.connect + summary.errors.read + summary.errors.write,
      summary.errors.timeout, latency:percentile(50), latency:percentile(99)))
end
