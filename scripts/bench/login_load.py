"""The sign-in load for scripts/bench_login.py, in a process of its own.

USERS concurrent users (accounts already signed up), each on its own keep-alive connection:
GET /auth/login once for the CSRF cookie and the form's hidden fields, then POST
/auth/login with the right password again and again, one request at a time. A success is
a 303 to the client's redirect_uri carrying a `code`; anything else is a failure.

Prints "MEASURING" when the warm-up is over and "MEASURED" when the window closes (so the
caller can sample the server around exactly that window), waits for the requests still in
flight (not counted, so the server is idle again on exit), then one JSON line.

    .venv/bin/python scripts/bench/login_load.py CONFIG_JSON
    CONFIG_JSON: {"base", "query", "emails": [...], "password", "warmup", "duration"}
"""

import asyncio
import json
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

import aiohttp  # noqa: E402
from harness import CSRF_COOKIE, hidden_fields, percentile_ms  # noqa: E402


class Load:
    def __init__(self, config: dict) -> None:
        self.config = config
        self.window: tuple[float, float] | None = None
        self.stopping = False
        self.latencies: list[float] = []  # seconds, successes completed inside the window
        self.ok = self.failures = self.ok_outside = 0
        self.failure_samples: list[str] = []

    async def user(self, http: aiohttp.ClientSession, email: str, ready: asyncio.Event) -> None:
        base, query = self.config["base"], self.config["query"]
        async with http.get(f"{base}/auth/login?{query}", allow_redirects=False) as r:
            html = await r.text()
            if r.status != 200 or CSRF_COOKIE not in r.cookies:
                raise SystemExit(f"GET /auth/login answered {r.status} without a CSRF cookie")
            csrf = r.cookies[CSRF_COOKIE].value
        data = {**hidden_fields(html), "email": email, "password": self.config["password"], "action": "login"}
        headers = {"Cookie": f"{CSRF_COOKIE}={csrf}"}
        await ready.wait()
        while not self.stopping:
            sent = time.perf_counter()
            try:
                async with http.post(f"{base}/auth/login", data=data, headers=headers,
                                     allow_redirects=False) as r:
                    body = await r.read()
                    location = r.headers.get("Location", "")
                    status = r.status
            except (aiohttp.ClientError, asyncio.TimeoutError) as e:
                status, location, body = 0, "", repr(e).encode()
            done = time.perf_counter()
            success = status == 303 and location.startswith(self.config["redirect_uri"] + "?") and \
                "code" in parse_qs(urlsplit(location).query)
            start, end = self.window
            if not success:  # counted wherever it falls: any failure makes the run invalid
                self.failures += 1
                if len(self.failure_samples) < 3:
                    self.failure_samples.append(f"{status}: {body[:200]!r}")
            elif start <= done <= end:
                self.ok += 1
                self.latencies.append(done - sent)
            else:
                self.ok_outside += 1

    async def run(self) -> dict:
        emails = self.config["emails"]
        ready = asyncio.Event()
        connector = aiohttp.TCPConnector(limit=len(emails) + 1)
        async with aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar(),
                                         timeout=aiohttp.ClientTimeout(total=120)) as http:
            tasks = [asyncio.create_task(self.user(http, email, ready)) for email in emails]
            await asyncio.sleep(0)
            now = time.perf_counter()
            start = now + 1.0 + self.config["warmup"]  # every form is fetched well within a second
            self.window = (start, start + self.config["duration"])
            ready.set()
            await asyncio.sleep(start - time.perf_counter())
            cpu = time.process_time()
            print("MEASURING", flush=True)
            await asyncio.sleep(self.window[1] - time.perf_counter())
            print("MEASURED", flush=True)
            cpu = time.process_time() - cpu
            self.stopping = True
            await asyncio.gather(*tasks)
        latencies = sorted(self.latencies)
        seconds = self.window[1] - self.window[0]
        return {
            "users": len(emails), "seconds": round(seconds, 3), "ok": self.ok, "failures": self.failures,
            "signins_per_s": round(self.ok / seconds, 2),
            "p50_ms": percentile_ms(latencies, 50), "p99_ms": percentile_ms(latencies, 99),
            "max_ms": percentile_ms(latencies, 100),
            "ok_outside_window": self.ok_outside, "client_cores": round(cpu / seconds, 3),
            "failure_samples": self.failure_samples,
        }


def main() -> None:
    config = json.loads(sys.argv[1])
    result = asyncio.run(Load(config).run())
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
