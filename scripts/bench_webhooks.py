#!/usr/bin/env python3
"""Benchmark (not a test) of webhook deliveries on this machine, against a raw HTTP client,
and of the token endpoint with and without webhooks.

What is measured, in one run of this script:

- Astapa's delivery rate: `astapa serve` (ASTAPA_WEBHOOK_ALLOW_HTTP_LOOPBACK=1) gets
  --events users (signed up, not timed), then one webhook (user.updated) to a port where
  nothing listens yet, then one claim change per user through the management API: a
  burst of deliveries, each scheduled (some tried and failed). The server is stopped, a
  receiver (this script with --receiver, its own process: aiohttp, answers 204) comes up,
  and, once every retry is due, the server starts again. Rate = deliveries / (last
  arrival - first arrival): each body built from its event, signed, POSTed (32 at a time)
  and its outcome recorded as an event.
- The raw limit: the same number of signed POSTs, sent to a fresh receiver by a bare
  aiohttp client (32 at a time, one HMAC each): what this machine's HTTP path allows with
  none of Astapa's work.
- The token endpoint (client_credentials, wrk as scripts/bench_token.py runs it) on one
  server WHILE a steady stream of user events flows (--stream claim changes a second
  through the management API, over --stream-users users signed up first, not timed),
  alternately with no webhook and with a webhook subscribed to every type, so that with it
  every event of the stream is delivered during the load (--pairs pairs, the order
  swapped every other pair). Each pair gives a ratio (with ÷ without); the median ratio
  and its range are reported (target: median within 5 %), and the deliveries that arrived
  during each load with the webhook.

Checks: every delivery arrived exactly once (distinct webhook-id headers), and the log
holds one WebhookDelivery.Delivered per delivery. Only 127.0.0.1 is used; every process
started here is stopped on exit, error or Ctrl-C.

    .venv/bin/python scripts/bench_webhooks.py [--events 1000] [--duration 10]
    .venv/bin/python scripts/bench_webhooks.py --receiver PORT OUT   (the receiver itself)
"""

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "bench"))

from harness import (  # noqa: E402
    ASTAPA,
    BENCH_LIMITS,
    PYTHON,
    REDIRECT_URI,
    STARTED,
    Server,
    check_token,
    count_events,
    ensure_wrk,
    free_port,
    log,
    median,
    ratio,
    run_benchmark,
    run_json,
    sign_up_many,
    start,
    stop,
    token_load,
    wait_http,
)

DELIVERIES_TARGET = 500.0
TOKEN_RATIO_TARGET = 0.95
CONCURRENCY = 32
ALL_TYPES = ["user.created", "user.updated", "user.disabled", "user.deleted", "plan.assigned", "payment.succeeded",
             "session.revoked"]


# -- the receiver (its own process) -------------------------------------------------------

def receive(port: int, out: Path) -> None:
    """Answer every POST with 204, noting when it arrived and its webhook-id."""
    from aiohttp import web

    out.mkdir(parents=True, exist_ok=True)
    arrivals = (out / "arrivals").open("a", buffering=1)

    async def hook(request: web.Request) -> web.Response:
        await request.read()
        arrivals.write(f"{time.time()} {request.headers.get('webhook-id', '-')}\n")
        return web.Response(status=204)

    async def main() -> None:
        app = web.Application()
        app.router.add_post("/hook", hook)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        print("READY", flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


def receiver(port: int, out: Path) -> subprocess.Popen:
    proc = subprocess.Popen([PYTHON, __file__, "--receiver", str(port), str(out)], stdout=subprocess.PIPE,
                            text=True, start_new_session=True)
    STARTED.append(proc)
    if proc.stdout.readline().strip() != "READY":
        sys.exit("the receiver did not start")
    return proc


def arrivals(out: Path) -> list[tuple[float, str]]:
    path = out / "arrivals"
    if not path.exists():
        return []
    return [(float(t), i) for t, i in (line.split() for line in path.read_text().splitlines() if " " in line)]


def wait_for(out: Path, count: int, timeout: float) -> list[tuple[float, str]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = arrivals(out)
        if len(found) >= count:
            return found
        time.sleep(0.05)
    sys.exit(f"only {len(arrivals(out))} of {count} deliveries arrived within {timeout:.0f}s")


def rate(times: list[float]) -> float:
    return round((len(times) - 1) / (times[-1] - times[0]), 1)


# -- the server -----------------------------------------------------------------------------

def serve(data: Path, port: int, logfile: Path) -> subprocess.Popen:
    env = {**os.environ, **BENCH_LIMITS, "ASTAPA_WEBHOOK_ALLOW_HTTP_LOOPBACK": "1"}
    proc = start([ASTAPA, "serve", "--host", "127.0.0.1", "--port", str(port), "--data-dir", data,
                  "--bcrypt-cost", "10"], logfile, env=env)
    wait_http(f"http://127.0.0.1:{port}/healthz", proc, logfile)
    return proc


def api(port: int, project: dict, method: str, path: str, body: dict | None = None) -> dict:
    import urllib.request

    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/platform{path}", method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={**basic(project), "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def deliveries_state(data: Path) -> tuple[int, int, float]:
    """Deliveries scheduled, the fewest attempts any has had, the latest next attempt."""
    with sqlite3.connect(f"file:{data / 'read.db'}?mode=ro", uri=True) as db:
        row = db.execute("SELECT COUNT(*), MIN(attempts), MAX(next_attempt_at) FROM webhook_deliveries").fetchone()
    return row[0], row[1] or 0, row[2] or 0.0


def delivery_rate(args: argparse.Namespace, tmp: Path) -> dict:
    data, port, hook_port = tmp / "data", free_port(), free_port()
    data.mkdir()
    logfile = tmp / "serve.log"
    server_proc = serve(data, port, logfile)
    project = run_json([ASTAPA, "project", "create", "--data-dir", data, "--name", "bench",
                        "--redirect-uri", REDIRECT_URI])
    server = Server(data, port, server_proc, project, logfile)
    wait_http(f"{server.base}/auth/login?{server.authorize_query()}", server_proc, logfile, timeout=30)
    started = time.monotonic()
    asyncio.run(sign_up_many(server, args.events, f"hook-{os.getpid()}-"))
    log(f"  {args.events} users signed up in {time.monotonic() - started:.1f}s, not timed")
    api(port, project, "POST", "/webhooks", {"url": f"http://127.0.0.1:{hook_port}/hook", "events": ["user.updated"]})
    subs = asyncio.run(all_subs(port, project))
    if len(subs) != args.events:
        sys.exit(f"{len(subs)} users listed, not {args.events}")
    started = time.monotonic()
    asyncio.run(change_claims(port, project, subs))
    while (state := deliveries_state(data))[0] < args.events:
        if time.monotonic() - started > 120:
            sys.exit(f"the deliveries were not all scheduled: {state}")
        time.sleep(0.1)
    stop(server_proc)
    log(f"  {args.events} claim changes (one per user), each a user.updated delivery scheduled (nothing "
        f"listening yet), in {time.monotonic() - started:.1f}s, not timed")
    received = tmp / "received"
    hook_proc = receiver(hook_port, received)
    time.sleep(max(0.0, deliveries_state(data)[2] - time.time()) + 0.5)  # every retry is due
    server_proc = serve(data, port, logfile)
    wait_for(received, args.events, timeout=300)
    time.sleep(1.0)  # any duplicate would arrive now
    stop(server_proc)
    stop(hook_proc)
    found = arrivals(received)
    ids = {i for _, i in found}
    delivered = count_events(data / "events.db", "%WebhookDelivery.Delivered%")
    astapa = rate(sorted(t for t, _ in found))
    log(f"  Astapa: {len(found)} deliveries arrived ({len(ids)} distinct webhook-ids), {astapa}/s; "
        f"WebhookDelivery.Delivered events: {delivered}")

    again = tmp / "raw"
    hook_proc = receiver(hook_port, again)
    asyncio.run(raw_posts(f"http://127.0.0.1:{hook_port}/hook", args.events))
    raw_found = wait_for(again, args.events, timeout=60)
    stop(hook_proc)
    raw_rate = rate(sorted(t for t, _ in raw_found))
    log(f"  raw aiohttp: {len(raw_found)} signed POSTs, {raw_rate}/s")
    return {"astapa_per_s": astapa, "raw_per_s": raw_rate, "ratio": ratio(astapa, raw_rate),
            "arrived": len(found), "distinct": len(ids), "delivered_events": delivered}


async def all_subs(port: int, project: dict) -> list[str]:
    """Every user's sub, through the management API's listing."""
    import aiohttp

    subs, cursor = [], "0"
    async with aiohttp.ClientSession(headers=basic(project)) as http:
        while cursor is not None:
            async with http.get(f"http://127.0.0.1:{port}/api/platform/users",
                                params={"limit": "200", "cursor": cursor}) as answer:
                page = await answer.json()
            subs += [user["sub"] for user in page["users"]]
            cursor = page["next_cursor"]
    return subs


async def change_claims(port: int, project: dict, subs: list[str]) -> None:
    """One custom claim set on each user (a user.updated event each), 16 at a time."""
    import aiohttp

    slots = asyncio.Semaphore(16)

    async def change(http: aiohttp.ClientSession, sub: str) -> None:
        async with slots, http.patch(f"http://127.0.0.1:{port}/api/platform/users/{sub}/claims",
                                     json={"team": "bench"}) as answer:
            if answer.status != 200:
                sys.exit(f"PATCH claims answered {answer.status}: {(await answer.text())[:300]}")

    async with aiohttp.ClientSession(headers=basic(project)) as http:
        await asyncio.gather(*(change(http, sub) for sub in subs))


def basic(project: dict) -> dict[str, str]:
    credentials = f"{project['client_id']}:{project['client_secret']}".encode()
    return {"Authorization": "Basic " + base64.b64encode(credentials).decode()}


async def raw_posts(url: str, count: int) -> None:
    """`count` signed JSON POSTs, CONCURRENCY at a time, with none of Astapa's work."""
    import aiohttp

    key, slots = os.urandom(32), asyncio.Semaphore(CONCURRENCY)

    async def post(http: aiohttp.ClientSession, n: int) -> None:
        body = json.dumps({"type": "user.created", "timestamp": "2026-12-01T09:00:00Z",
                           "data": {"project_id": "proj_bench", "sub": str(n), "email": f"raw{n}@bench.example"}},
                          separators=(",", ":")).encode()
        message_id, stamp = f"raw{n:08d}", str(int(time.time()))
        digest = hmac.new(key, f"{message_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
        headers = {"webhook-id": message_id, "webhook-timestamp": stamp, "Content-Type": "application/json",
                   "webhook-signature": "v1," + base64.b64encode(digest).decode()}
        async with slots, http.post(url, data=body, headers=headers) as answer:
            await answer.read()

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONCURRENCY)) as http:
        await asyncio.gather(*(post(http, n) for n in range(count)))


# -- the token endpoint with and without webhooks --------------------------------------------

class EventStream:
    """Claim changes at a steady rate in a thread of its own (a user.updated event each),
    until stopped: the user events that flow while the token endpoint is loaded."""

    def __init__(self, port: int, project: dict, subs: list[str], per_second: float) -> None:
        self.port, self.project, self.subs, self.per_second = port, project, subs, per_second
        self.sent = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    def start(self) -> "EventStream":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)

    async def _run(self) -> None:
        import aiohttp

        started = time.monotonic()
        async with aiohttp.ClientSession(headers=basic(self.project)) as http:
            while not self._stop.is_set():
                sub = self.subs[self.sent % len(self.subs)]
                url = f"http://127.0.0.1:{self.port}/api/platform/users/{sub}/claims"
                async with http.patch(url, json={"round": self.sent}) as answer:
                    await answer.read()
                self.sent += 1
                await asyncio.sleep(max(0.0, started + self.sent / self.per_second - time.monotonic()))


def token_rates(args: argparse.Namespace, tmp: Path) -> dict:
    wrk = ensure_wrk()
    data, port, hook_port = tmp / "tokens", free_port(), free_port()
    data.mkdir()
    logfile = tmp / "tokens.log"
    hooks = tmp / "token-hooks"
    hook_proc = receiver(hook_port, hooks)
    server_proc = serve(data, port, logfile)
    stream = None
    try:
        project = run_json([ASTAPA, "project", "create", "--data-dir", data, "--name", "bench",
                            "--redirect-uri", REDIRECT_URI])
        client = run_json([ASTAPA, "client", "create", "--data-dir", data, "--project", project["project_id"],
                           "--name", "bench", "--scope", "api"])
        server = Server(data, port, server_proc, project, logfile)
        wait_http(f"{server.base}/auth/login?{server.authorize_query()}", server_proc, logfile, timeout=30)
        asyncio.run(sign_up_many(server, args.stream_users, f"stream-{os.getpid()}-"))
        subs = asyncio.run(all_subs(port, project))
        url = f"http://127.0.0.1:{port}"
        check_token(f"{url}/oauth/token", client["client_id"], client["client_secret"])
        stream = EventStream(port, project, subs, args.stream).start()
        log(f"  {len(subs)} users signed up (not timed); {args.stream} claim changes/s flow from now on")

        def load(label: str, duration: int) -> float:
            log(f"  token endpoint, {label}:")
            return token_load(wrk, url, "/oauth/token", client["client_id"], client["client_secret"],
                              args.threads, args.connections, duration, server_proc.pid)["tokens_per_s"]

        def with_webhook() -> tuple[float, int]:
            made = api(port, project, "POST", "/webhooks",
                       {"url": f"http://127.0.0.1:{hook_port}/hook", "events": ALL_TYPES})
            before = len(arrivals(hooks))
            rate_with = load("a webhook of every type, deliveries flowing", args.duration)
            delivered = len(arrivals(hooks)) - before
            api(port, project, "DELETE", f"/webhooks/{made['webhook_id']}")
            return rate_with, delivered

        load("warm-up", 3)
        without, with_hooks, delivered, ratios = [], [], [], []
        for pair in range(args.pairs):
            if pair % 2 == 0:
                plain = load("no webhook, the same events", args.duration)
                hooked, arrived = with_webhook()
            else:
                hooked, arrived = with_webhook()
                plain = load("no webhook, the same events", args.duration)
            without.append(plain)
            with_hooks.append(hooked)
            delivered.append(arrived)
            ratios.append(ratio(hooked, plain))
            log(f"  pair {pair + 1}: {hooked} with ÷ {plain} without = {ratios[-1]}; {arrived} deliveries arrived")
        sent = stream.sent
    finally:
        if stream is not None:
            stream.stop()
        stop(server_proc)
        stop(hook_proc)
    return {"tokens_per_s_without": median(without), "tokens_per_s_with": median(with_hooks),
            "token_ratio": median(ratios), "token_ratio_range": [min(ratios), max(ratios)], "pair_ratios": ratios,
            "without_runs": without, "with_runs": with_hooks, "deliveries_during_loads": delivered,
            "stream_events_sent": sent}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1000, help="deliveries in the burst (1000)")
    parser.add_argument("--duration", type=int, default=10, help="seconds of each token load (10)")
    parser.add_argument("--pairs", type=int, default=5, help="token loads without and with a webhook (5)")
    parser.add_argument("--stream", type=float, default=100.0, help="user events a second during the loads (100)")
    parser.add_argument("--stream-users", type=int, default=200, help="users the stream changes (200)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (2)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (32)")
    args = parser.parse_args()
    log(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} before the run")
    with tempfile.TemporaryDirectory(prefix="astapa-bench-webhooks-") as tmp:
        log("Deliveries to a local receiver")
        summary = delivery_rate(args, Path(tmp))
        log("Token endpoint with and without webhooks")
        summary.update(token_rates(args, Path(tmp)))
    exact = summary["arrived"] == summary["distinct"] == summary["delivered_events"] == args.events
    summary.update(events=args.events, exactly_once=exact)
    met = ["met" if good else "MISSED" for good in (summary["astapa_per_s"] >= DELIVERIES_TARGET,
                                                     (summary["token_ratio"] or 0) >= TOKEN_RATIO_TARGET)]
    log(f"Figures: {summary['astapa_per_s']} deliveries/s (raw {summary['raw_per_s']}/s, ratio {summary['ratio']};"
        f" target >= {DELIVERIES_TARGET:.0f}/s: {met[0]}); tokens/s {summary['tokens_per_s_with']} with webhooks vs"
        f" {summary['tokens_per_s_without']} without (medians), ratio per pair: median {summary['token_ratio']},"
        f" range {summary['token_ratio_range']} (target >= {TOKEN_RATIO_TARGET}: {met[1]}); every delivery"
        f" exactly once: {exact}")
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--receiver":
        receive(int(sys.argv[2]), Path(sys.argv[3]))
    else:
        run_benchmark(main)
