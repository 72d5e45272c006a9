"""A light, paced client for scripts/bench_login.py: GET /.well-known/jwks.json.

RATE requests a second (default 40) for SECONDS (default 10) on one keep-alive connection
to 127.0.0.1:PORT, as a resource server refreshing its keys would, but often enough to
give a p99. Plain GETs (no If-None-Match), so every answer is a full 200 body. A request
is sent at its scheduled time, or at once if the previous answer came late; its latency
is from just before sending to the last byte of the body. Prints one JSON line.

    .venv/bin/python scripts/bench/jwks_probe.py PORT [RATE] [SECONDS]
"""

import http.client
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import percentile_ms  # noqa: E402

PATH = "/.well-known/jwks.json"


def main() -> None:
    port = int(sys.argv[1])
    rate = float(sys.argv[2]) if len(sys.argv) > 2 else 40.0
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 10.0
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", PATH)  # connect and warm up, not counted
    conn.getresponse().read()
    latencies, non200, errors, late = [], 0, 0, 0
    cpu, start = time.process_time(), time.perf_counter()
    for i in range(int(rate * seconds)):
        scheduled = start + i / rate
        pause = scheduled - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        elif pause < -0.005:
            late += 1
        sent = time.perf_counter()
        try:
            conn.request("GET", PATH)
            response = conn.getresponse()
            body = response.read()
            status = response.status
        except (OSError, http.client.HTTPException):
            errors += 1
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            continue
        latencies.append(time.perf_counter() - sent)
        if status != 200 or b'"keys"' not in body:
            non200 += 1
    elapsed = time.perf_counter() - start
    latencies.sort()
    print(json.dumps({
        "requests": len(latencies) + errors, "non200": non200, "errors": errors, "late": late,
        "rate": rate, "seconds": round(elapsed, 3),
        "p50_ms": percentile_ms(latencies, 50), "p99_ms": percentile_ms(latencies, 99),
        "max_ms": percentile_ms(latencies, 100),
        "client_cores": round((time.process_time() - cpu) / elapsed, 3),
    }), flush=True)


if __name__ == "__main__":
    main()
