-- wrk script for scripts/bench_token.py: POST a client_credentials token request with
-- HTTP Basic client auth (BENCH_BASIC_AUTH = base64 of id:secret), count 200s and
-- non-200s per thread, and print one JSON line "BENCH_RESULT {...}" when done.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  ok, non200 = 0, 0
  wrk.method = "POST"
  wrk.path = os.getenv("BENCH_PATH") or "/oauth/token"
  wrk.body = "grant_type=client_credentials&scope=api"
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  wrk.headers["Authorization"] = "Basic " .. os.getenv("BENCH_BASIC_AUTH")
end

function response(status, headers, body)
  if status == 200 then ok = ok + 1 else non200 = non200 + 1 end
end

function done(summary, latency, requests)
  local total_ok, total_non200 = 0, 0
  for _, thread in ipairs(threads) do
    total_ok = total_ok + thread:get("ok")
    total_non200 = total_non200 + thread:get("non200")
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "ok": %d, "non200": %d, "duration_us": %d, ' ..
    '"p50_us": %d, "p99_us": %d, "max_us": %d, "connect_errors": %d, "read_errors": %d, ' ..
    '"write_errors": %d, "timeouts": %d}\n',
    summary.requests, total_ok, total_non200, summary.duration,
    latency:percentile(50), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.timeout))
end
