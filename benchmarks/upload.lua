-- wrk script for millpond's uploadLogs: POST bodies read from files, token in the URL.
--
--   wrk -t1 -c32 -d10s --latency -s upload.lua 'http://HOST:PORT/api/uploadLogs?token=T' \
--       -- BODY_LIST [nonce] [NONCE_PREFIX]
--
-- BODY_LIST is a file naming one body file per line; each connection cycles through them.
-- With "nonce", every request carries a unique `Nonce` header (exercising the dedupe path).
-- done() prints one line `MILLPOND_JSON {...}` for benchmarks/run.py: request counts, how
-- many answers were exactly {"status":"success"} (a durable ack), and latency percentiles.

local threads = {}

function setup(thread)
   thread:set("thread_id", #threads + 1)
   table.insert(threads, thread)
end

local SUCCESS = '{"status":"success"}'
local bodies = {}
local prepared = {}
local next_body = 0
local use_nonce = false
local nonce_prefix = ""
local counter = 0
ok = 0
duplicate = 0
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
   use_nonce = args[2] == "nonce"
   nonce_prefix = (args[3] or "n") .. "-" .. tostring(thread_id) .. "-"
   wrk.method = "POST"
   wrk.headers["Content-Type"] = "text/plain"
   if not use_nonce then
      for i, body in ipairs(bodies) do
         prepared[i] = wrk.format("POST", nil, nil, body)
      end
   end
end

function request()
   next_body = next_body % #bodies + 1
   if not use_nonce then
      return prepared[next_body]
   end
   counter = counter + 1
   local headers = {
      ["Host"] = wrk.headers["Host"],
      ["Content-Type"] = "text/plain",
      ["Nonce"] = nonce_prefix .. tostring(counter),
   }
   return wrk.format("POST", nil, headers, bodies[next_body])
end

function response(status, headers, body)
   if status == 200 and body == SUCCESS then
      ok = ok + 1
   elseif status == 200 and string.find(body, "duplicate nonce", 1, true) then
      duplicate = duplicate + 1
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
