-- wrk script of benchmarks/load.py: rotate over the request paths of a file (one per line,
-- each thread from its own offset) so that no cache can answer the same URL twice in a row;
-- an optional second argument is where to start in the list, so that a run goes on where
-- the previous one (the warm-up) stopped instead of replaying the URLs it cached;
-- count non-2xx answers; print one JSON line (prefixed "WRKJSON ") with the percentiles.
-- Usage: wrk ... -s wrk_rotate.lua http://127.0.0.1:PORT -- paths.txt [start]

local threads = {}
local counter = 1

function setup(thread)
  thread:set("number", #threads)
  table.insert(threads, thread)
end

function init(args)
  paths = {}
  for line in io.lines(args[1]) do
    if line ~= "" then
      paths[#paths + 1] = line
    end
  end
  local start = tonumber(args[2] or "0")
  counter = (start + number * 7919) % #paths
  non2xx = 0
end

function request()
  counter = counter % #paths + 1
  return wrk.format("GET", paths[counter])
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  end
end

function done(summary, latency, requests)
  local bad = 0
  for _, thread in ipairs(threads) do
    bad = bad + thread:get("non2xx")
  end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "bytes": %d, "connect": %d, "read": %d, '
      .. '"write": %d, "timeout": %d, "non2xx": %d, "p50_us": %d, "p90_us": %d, '
      .. '"p95_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write,
    e.timeout, bad, latency:percentile(50), latency:percentile(90), latency:percentile(95),
    latency:percentile(99), latency.max, latency.mean))
end
