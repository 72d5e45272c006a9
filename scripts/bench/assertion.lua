-- wrk script for scripts/bench_client_auth.py: client_credentials token requests whose
-- client authenticates with private_key_jwt (RFC 7523 §2.2), each with its own assertion.
--
-- BENCH_ASSERTIONS names a file of signed client assertions (JWTs), one a line; each jti
-- works once, so each line is sent at most once. Thread k (1-based) of BENCH_THREADS takes
-- lines k, k + BENCH_THREADS, ... in init() and request() hands them out in file order.
-- When a thread's assertions run out it counts the request as "starved", sends a harmless
-- GET /healthz instead (wrk needs a request) and stops the thread: the caller must then
-- treat the figure as understated (wrk still divides by the whole -d duration).
-- One exception: wrk calls request() once on the first thread's state before any
-- connection exists, only to check the request (main() in wrk.c, script_verify_request);
-- that call gets a placeholder and takes no assertion.
--
-- ok counts 200 answers carrying an access_token, non200 any other status, other a 200
-- without a token (the /healthz of a starved thread). Prints one JSON line
-- "BENCH_RESULT {...}" when done.
local threads = {}
local next_id = 1

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

local assertions, head, count = {}, 1, 0
local path, prefix
local verified = false

function init(args)
  ok, non200, other, starved, loaded = 0, 0, 0, 0, 0
  path = os.getenv("BENCH_PATH") or "/oauth/token"
  prefix = "grant_type=client_credentials&scope=api" ..
    "&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer" ..
    "&client_assertion="
  local threads_total = tonumber(os.getenv("BENCH_THREADS") or "1")
  local line_no = 0
  for line in io.lines(os.getenv("BENCH_ASSERTIONS")) do
    line_no = line_no + 1
    if (line_no - 1) % threads_total == id - 1 and #line > 0 then
      count = count + 1
      assertions[count] = line
    end
  end
  loaded = count
end

local function format(assertion)
  -- A JWT is base64url and dots: nothing in it needs form-encoding.
  return wrk.format("POST", path, {["Content-Type"] = "application/x-www-form-urlencoded"},
                    prefix .. assertion)
end

function request()
  if id == 1 and not verified then  -- wrk's check of the request, never sent
    verified = true
    return format("verify")
  end
  if head > count then
    starved = starved + 1
    wrk.thread:stop()
    return wrk.format("GET", "/healthz")
  end
  local assertion = assertions[head]
  assertions[head] = nil
  head = head + 1
  return format(assertion)
end

function response(status, headers, body)
  if status ~= 200 then
    non200 = non200 + 1
  elseif body:find('"access_token"', 1, true) then
    ok = ok + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local totals = {ok = 0, non200 = 0, other = 0, starved = 0, loaded = 0}
  for _, thread in ipairs(threads) do
    for name, _ in pairs(totals) do
      totals[name] = totals[name] + thread:get(name)
    end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "ok": %d, "non200": %d, "other": %d, "starved": %d, "loaded": %d, ' ..
    '"duration_us": %d, "p50_us": %d, "p99_us": %d, "max_us": %d, "connect_errors": %d, ' ..
    '"read_errors": %d, "write_errors": %d, "timeouts": %d}\n',
    summary.requests, totals.ok, totals.non200, totals.other, totals.starved, totals.loaded,
    summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.timeout))
end
