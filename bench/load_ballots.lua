-- wrk script for bench/load_bench.py: sends each line of $LOAD_REQUESTS exactly once, writes every
-- response's status (and, for a 201, the elector named in its receipt) to $LOAD_OUT, then a line
-- "END <microseconds from the first request to the last response>". Lines of $LOAD_REQUESTS:
-- cookie, CSRF token, method, path, JSON body, tab-separated (cookie "-" for none). With
-- LOAD_LOOP=1 the lines are sent round and round until wrk is stopped (no END line). Run with one
-- thread (-t1); the caller stops wrk (SIGINT) once END is written (or when it has seen enough),
-- and wrk prints the latency summary.

local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_usec; } load_timeval;
  int gettimeofday(load_timeval *tv, void *tz);
]]
local tv = ffi.new("load_timeval")
local function now_us()
  ffi.C.gettimeofday(tv, nil)
  return tonumber(tv.tv_sec) * 1000000 + tonumber(tv.tv_usec)
end

local requests = {}
local total = 0
local reserved = 0 -- lines promised to a connection by delay()
local sent = 0
local responses = 0
local first_us = nil
local out
local loop = os.getenv("LOAD_LOOP") == "1"

function init(args)
  local f = assert(io.open(os.getenv("LOAD_REQUESTS"), "r"))
  for line in f:lines() do
    local cookie, csrf, method, path, body =
      line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
    local headers = {}
    if method == "POST" then
      headers["Content-Type"] = "application/json"
    else
      body = nil
    end
    if cookie ~= "-" then
      headers["Cookie"] = "consult_session=" .. cookie
      headers["X-CSRF-Token"] = csrf
    end
    requests[#requests + 1] = wrk.format(method, path, headers, body)
  end
  f:close()
  total = #requests
  out = assert(io.open(os.getenv("LOAD_OUT"), "w"))
end

-- Called before each request of a connection: a connection gets a line, or waits (past the end).
function delay()
  if loop then
    return 0
  end
  if reserved >= total then
    return 3600000
  end
  reserved = reserved + 1
  return 0
end

local verified = false

function request()
  -- wrk calls this once at start-up to check the request (script_verify_request): not sent
  if not verified then
    verified = true
    return requests[1]
  end
  if first_us == nil then
    first_us = now_us()
  end
  sent = sent + 1
  if loop then
    return requests[(sent - 1) % total + 1]
  end
  local r = requests[sent]
  requests[sent] = nil
  return r
end

function response(status, headers, body)
  if loop then
    responses = responses + 1
    out:write(status, "\t\n")
    if responses % 100 == 0 then
      out:flush() -- wrk is stopped from outside: what was written must be in the file
    end
    return
  end
  if responses >= total then
    return
  end
  responses = responses + 1
  local elector = ""
  if status == 201 then
    elector = body:match('"elector_id":%s*"([^"]*)"') or ""
  end
  out:write(status, "\t", elector, "\n")
  if responses >= total then
    out:write("END\t", now_us() - first_us, "\n")
    out:close()
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  io.write(string.format(
    '{"requests": %d, "p50_us": %d, "p90_us": %d, "p95_us": %d, "p99_us": %d, "p999_us": %d, ' ..
    '"max_us": %d, ' ..
    '"connect_errors": %d, "read_errors": %d, "write_errors": %d, "timeouts": %d}\n',
    summary.requests, latency:percentile(50), latency:percentile(90), latency:percentile(95),
    latency:percentile(99),
    latency:percentile(99.9),
    latency.max, summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.timeout))
end
