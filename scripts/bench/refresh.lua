-- wrk script for scripts/bench_refresh.py: refresh-token rotation, one chain per family.
--
-- BENCH_TOKENS names a file of refresh tokens, one per line, one per connection (each
-- from its own sign-in, so each its own family). Thread k (1-based) takes lines
-- k, k + BENCH_THREADS, ... into a FIFO queue. request() pops a token and POSTs
-- grant_type=refresh_token with HTTP Basic client auth (BENCH_BASIC_AUTH); response()
-- reads the NEW refresh token from the 200 JSON body and pushes it back. So a family's
-- next request can only be built after its previous answer, and every token is sent
-- exactly once: each family is a strictly sequential chain, as a real client's would be,
-- while no connection ever waits for another. wrk calls response() before it asks the
-- same connection's next request(), so with one token per connection the queue never
-- runs dry unless a rotation failed; a request then made without a token is counted as
-- "starved" (and answers non-200). One exception: wrk calls request() once on the first
-- thread's state before any connection exists, only to check the request (main() in
-- wrk.c, script_verify_request); that call gets a placeholder and takes no token.
-- Prints one JSON line "BENCH_RESULT {...}" when done, then one line "BENCH_SAMPLE <jwt>"
-- per thread: an access token from one of its 200 answers (the first, then every 512th,
-- so the last one kept is from late in the load), for the caller to check its claims.
local threads = {}
local next_id = 1

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

local queue, head, tail = {}, 1, 0
local basic, path

local function push(token)
  tail = tail + 1
  queue[tail] = token
end

local function pop()
  if head > tail then return nil end
  local token = queue[head]
  queue[head] = nil
  head = head + 1
  return token
end

local function urlencode(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

function init(args)
  ok, non200, no_token, starved, id_tokens = 0, 0, 0, 0, 0
  basic = "Basic " .. os.getenv("BENCH_BASIC_AUTH")
  path = os.getenv("BENCH_PATH") or "/oauth/token"
  local threads_total = tonumber(os.getenv("BENCH_THREADS"))
  local per_thread = tonumber(os.getenv("BENCH_PER_THREAD"))
  local line_no, taken = 0, 0
  for line in io.lines(os.getenv("BENCH_TOKENS")) do
    line_no = line_no + 1
    if (line_no - 1) % threads_total == id - 1 and taken < per_thread and #line > 0 then
      push(line)
      taken = taken + 1
    end
  end
  loaded = taken
end

local verified = false

local function format(token)
  return wrk.format("POST", path, {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Authorization"] = basic,
  }, "grant_type=refresh_token&refresh_token=" .. urlencode(token))
end

function request()
  if id == 1 and not verified then  -- wrk's check of the request, never sent
    verified = true
    return format("verify")
  end
  local token = pop()
  if token == nil then
    starved = starved + 1
    token = "starved"
  end
  return format(token)
end

function response(status, headers, body)
  if status ~= 200 then
    non200 = non200 + 1
    return
  end
  local token = body:match('"refresh_token"%s*:%s*"([^"]+)"')
  if token == nil then
    no_token = no_token + 1
    return
  end
  ok = ok + 1
  if body:find('"id_token"', 1, true) then id_tokens = id_tokens + 1 end
  push(token)
  if ok % 512 == 1 then
    sample = body:match('"access_token"%s*:%s*"([^"]+)"') or sample
  end
end

function done(summary, latency, requests)
  local totals = {ok = 0, non200 = 0, no_token = 0, starved = 0, id_tokens = 0, loaded = 0}
  for _, thread in ipairs(threads) do
    for name, _ in pairs(totals) do
      totals[name] = totals[name] + thread:get(name)
    end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "ok": %d, "non200": %d, "no_token": %d, "starved": %d, ' ..
    '"id_tokens": %d, "tokens_loaded": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "max_us": %d, ' ..
    '"connect_errors": %d, "read_errors": %d, "write_errors": %d, "timeouts": %d}\n',
    summary.requests, totals.ok, totals.non200, totals.no_token, totals.starved, totals.id_tokens,
    totals.loaded, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.timeout))
  for _, thread in ipairs(threads) do
    local sample = thread:get("sample")
    if sample ~= nil then io.write("BENCH_SAMPLE " .. sample .. "\n") end
  end
end
