-- wrk script for millpond's addEvents as the Scalyr Agent sends it: POST deflate-compressed
-- Agent-dialect bodies (the token inside the body), `Content-Encoding: deflate`, no Content-Type.
--
--   wrk -t1 -c32 -d10s --latency -s addevents.lua 'http://HOST:PORT/addEvents' -- BODY_LIST
--
-- BODY_LIST is a file naming one body file per line (already compressed); the thread cycles
-- through them, one body per request. The headers are the Agent's (addEvents-headers.json in
-- the fixtures) minus Connection: Keep-Alive, which HTTP/1.1 implies.
-- done() prints one line `MILLPOND_JSON {...}` for benchmarks/run.py, the same keys as
-- upload.lua: request counts, how many answers were exactly
-- {"status":"success","bytesCharged":N} with HTTP 200 (a durable ack), and latency percentiles.

local threads = {}

function setup(thread)
   thread:set("thread_id", #threads + 1)
   table.insert(threads, thread)
end

local SUCCESS = '^{"status":"success","bytesCharged":%d+}$'
local bodies = {}
local prepared = {}
local next_body = 0
ok = 0
duplicate = 0  -- millpond acknowledges resent (si, sn) events as a success: always 0 here
other = 0

function init(args)
   local list = assert(io.open(args[1], "r"))
   for path in list:lines() do
      if path ~= "" then
         local f = assert(io.open(path, "rb"))
         table.insert(bodies, f:read("*a"))
         f:close()
      end
   end
   list:close()
   wrk.method = "POST"
   wrk.headers["Content-Type"] = nil
   wrk.headers["Content-Encoding"] = "deflate"
   wrk.headers["Accept-Encoding"] = "identity"
   wrk.headers["Accept"] = "application/json"
   wrk.headers["User-Agent"] = "Linux;python-3.11.7;agent-2.2.8;millpond-bench"
   for i, body in ipairs(bodies) do
      prepared[i] = wrk.format("POST", nil, nil, body)
   end
end

function request()
   next_body = next_body % #bodies + 1
   return prepared[next_body]
end

function response(status, headers, body)
   if status == 200 and string.find(body, SUCCESS) then
      ok = ok + 1
   else
      other = other + 1
   end
end

function done(summary, latency, requests)
   local n_ok, n_dup, n_other = 0, 0, 0
   for _, t in ipairs(threads) do
      n_ok = n_ok + t:get("ok")
      n_dup = n_dup + t:get("duplicate")
      n_other = n_other + t:get("other")
   end
   local e = summary.errors
   io.write(string.format(
      'MILLPOND_JSON {"requests":%d,"duration_us":%d,"bytes_read":%d,'
         .. '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},'
         .. '"ok":%d,"duplicate":%d,"other":%d,'
         .. '"latency_us":{"mean":%.1f,"stdev":%.1f,"max":%d,"p50":%d,"p90":%d,"p99":%d,'
         .. '"p999":%d}}\n',
      summary.requests, summary.duration, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      n_ok, n_dup, n_other,
      latency.mean, latency.stdev, latency.max, latency:percentile(50),
      latency:percentile(90), latency:percentile(99), latency:percentile(99.9)))
end
