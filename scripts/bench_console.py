#!/usr/bin/env python3
"""Benchmark (not a test) of the web console with a large project, on this machine.

It writes a project of --users users (100,000) straight into a fresh event log (no HTTP
sign-ups, no bcrypt), starts `astapa serve` on it (which builds its read models from the
log: the time that takes is reported), signs an instance admin in to the console, and then:

1. one request at a time, after a warm-up, times each console page of the project's users:
   the first page of the list, a search by address prefix, a page from the middle of the
   list (when the list offers a "Next" link), and a user's own page, at random: p50, p99 and
   the longest, in ms, against the target p99 < 50 ms;
2. drives client_credentials token requests with wrk (as scripts/bench_token.py does) alone,
   then while someone browses those pages one request at a time (a click every --pause
   seconds, and a "heavy" browser with no pause at all): tokens/s with and without, and
   each round's ratio, against the target >= 0.95 (the median of the rounds). The rounds
   alternate their order, to show noise; as a cross-check that other work on the machine
   moves less, the ratio the pages' own server CPU predicts is printed too.

Only 127.0.0.1 is targeted. The server is stopped on exit, error or Ctrl-C. The last line
printed is a JSON summary.

    .venv/bin/python scripts/bench_console.py [--users 100000] [--duration 10]
        [--connections 64] [--requests 300] [--pause 0.2] [--rounds 4]
"""

import argparse
import base64
import json
import os
import random
import re
import sys
import tempfile
import threading
import time
from html import unescape
from pathlib import Path
from urllib.parse import urljoin

import requests

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "scripts" / "bench"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

from harness import (  # noqa: E402  (scripts/bench/harness.py: shared with the other benches)
    ASTAPA,
    PASSWORD,
    cpu_seconds,
    ensure_wrk,
    free_port,
    hidden_fields,
    log,
    median,
    percentile_ms,
    ratio,
    run_benchmark,
    run_json,
    run_wrk,
    start,
    stop,
    wait_http,
)

REDIRECT_URI = "https://bench.example/cb"
ADMIN = "admin@console.example"
USER_ADDRESS = re.compile(r"user\d{6}@bench\.example")  # on every page timed
P99_TARGET_MS = 50.0
RATE_TARGET = 0.95
NEXT_LINK = re.compile(r'<a\s[^>]*href="([^"]+)"[^>]*>\s*Next\s*<')


# -- the project, written straight into the event log -------------------------------------

def seed(events_db: Path, users: int, batch: int = 2000) -> dict:
    """A sandbox project with `users` users (a User and its EmailIndex each, as sign-up
    writes them), some of them verified, with custom claims or on a paid plan. One
    transaction per `batch` users. The project's ids and secret."""
    from astapa.app import AstapaApplication

    app = AstapaApplication(events_db)
    try:
        started = time.monotonic()
        project, _ = app.execute(app.create_project, "Bench", [REDIRECT_URI], "sandbox", [])
        pid = project["project_id"]
        app.execute(app.create_plan, pid, "pro", "Pro", 99000, "IDR", "month", {"seats": 5}, project["client_id"])
        for first in range(1, users + 1, batch):
            app.save(*(aggregate for n in range(first, min(first + batch, users + 1))
                       for aggregate in new_user(pid, n, project["client_id"])))
        events = app.recorder.max_notification_id()
        log(f"  wrote {users} users ({events} events) in {time.monotonic() - started:.1f}s")
        return project
    finally:
        app.close()


def new_user(project_id: str, n: int, by: str) -> tuple:
    """User n and its email index: every 3rd verified, every 10th with a custom claim,
    every 25th on the `pro` plan (so a user's page has some history to show)."""
    from astapa.domain.users import EmailIndex, User, normalise_email

    email, key = normalise_email(f"user{n:06d}@bench.example")
    user = User(project_id=project_id, sub=str(n), email=email, password_hash=None)
    if n % 3 == 0:
        user.verify_email(email=email)
    if n % 10 == 0:
        user.change_claims(changed={"team": f"team-{n % 97}"}, removed=[], by=by)
    if n % 25 == 0:
        user.assign_plan(plan="pro", plan_claims={"seats": 5}, expires_at=None, by=by)
    return user, EmailIndex(project_id=project_id, email_key=key, sub=str(n))


# -- the server and the console's browser ---------------------------------------------------

def serve(data: Path, logfile: Path, timeout: float) -> tuple:
    """`astapa serve` on `data`: (process, port, seconds until /healthz answered 200, which
    is when the read models have caught up with the log)."""
    port = free_port()
    started = time.monotonic()
    proc = start([ASTAPA, "serve", "--host", "127.0.0.1", "--port", str(port), "--data-dir", data], logfile)
    wait_http(f"http://127.0.0.1:{port}/healthz", proc, logfile, timeout=timeout)
    return proc, port, time.monotonic() - started


def signed_in_browser(data: Path, base: str) -> requests.Session:
    """An instance admin, set up through the link `astapa console add-admin` prints:
    choosing the password signs the browser in (through the hosted sign-in) to /dashboard."""
    link = run_json([ASTAPA, "console", "add-admin", "--email", ADMIN, "--issuer", base, "--data-dir", data])
    browser = requests.Session()
    form = browser.get(link["setup_url"], timeout=30)
    if form.status_code != 200:
        sys.exit(f"GET the setup link answered {form.status_code}: {form.text[:500]}")
    landed = browser.post(urljoin(base, "/dashboard/setup"), timeout=60,
                          data={**hidden_fields(form.text), "password": PASSWORD})
    if landed.status_code != 200 or not landed.url.rstrip("/").endswith("/dashboard"):
        sys.exit(f"the console sign-in ended at {landed.url} ({landed.status_code}): {landed.text[:500]}")
    return browser


def machine_client(data: Path, base: str, project_id: str) -> dict:
    """A client_credentials client of the project, once the server knows it (it polls)."""
    client = run_json([ASTAPA, "client", "create", "--data-dir", data, "--project", project_id,
                       "--name", "bench", "--scope", "api"])
    deadline = time.monotonic() + 30
    while True:
        answer = requests.post(urljoin(base, "/oauth/token"), data={"grant_type": "client_credentials",
                               "scope": "api"}, auth=(client["client_id"], client["client_secret"]), timeout=10)
        if answer.status_code == 200:
            return client
        if time.monotonic() > deadline:
            sys.exit(f"the token endpoint answered {answer.status_code}: {answer.text[:500]}")
        time.sleep(0.3)


# -- the pages ------------------------------------------------------------------------------

def first_page(browser: requests.Session, base: str, project_id: str) -> requests.Response:
    """The users list's first page (a console without users pages answers 404: no figures)."""
    url = f"{base}/dashboard/projects/{project_id}/users"
    page = browser.get(url, timeout=60)
    if page.status_code != 200:
        sys.exit(f"GET {url} answered {page.status_code}: {page.text[:500]}")
    return page


def page_paths(html: str, project_id: str, users: int) -> dict:
    """Name -> a function giving the next path to ask for that page."""
    users_path = f"/dashboard/projects/{project_id}/users"
    paths = {"list": lambda: users_path}
    middle = middle_cursor_path(html, users)
    if middle:
        paths["next_page"] = lambda: middle
    else:
        log("  the users list shows no Next link: no figure for a page from the middle")
    prefix = f"user{users // 2:06d}"[:6]  # "user05" for 100,000 users: a tenth of them match
    paths["search"] = lambda: f"{users_path}?email={prefix}"
    paths["user"] = lambda: f"{users_path}/{random.randint(1, users)}"
    return paths


def middle_cursor_path(html: str, users: int) -> str | None:
    """The first page's Next link, its cursor moved to the middle of the list when it is a
    number (the users' registration sequence, 1 to `users` here), else as it is."""
    match = NEXT_LINK.search(html)
    if not match:
        return None
    href = unescape(match.group(1))
    return re.sub(r"([?&](?:cursor|before)=)\d+", lambda m: f"{m.group(1)}{users // 2}", href)


class PageError(Exception):
    """A console page that did not answer 200 with users on it."""


def fetch(browser: requests.Session, base: str, path: str) -> float:
    """One GET, which must answer 200 with the console page; its seconds."""
    started = time.perf_counter()
    page = browser.get(urljoin(base, path), timeout=60)
    elapsed = time.perf_counter() - started
    if page.status_code != 200 or not USER_ADDRESS.search(page.text):
        raise PageError(f"GET {path} answered {page.status_code}: {page.text[:500]}")
    return elapsed


def time_page(browser: requests.Session, base: str, path_of, count: int, warmup: int, server_pid: int) -> dict:
    """p50, p99 and the longest of `count` requests, and the server's CPU per request."""
    for _ in range(warmup):
        fetch(browser, base, path_of())
    cpu = cpu_seconds(server_pid)
    times = sorted(fetch(browser, base, path_of()) for _ in range(count))
    cpu = cpu_seconds(server_pid) - cpu
    return {"p50_ms": percentile_ms(times, 50), "p99_ms": percentile_ms(times, 99),
            "max_ms": round(times[-1] * 1000, 2), "server_cpu_ms": round(cpu / count * 1000, 2), "requests": count}


def time_pages(browser: requests.Session, base: str, paths: dict, server_pid: int,
               args: argparse.Namespace) -> dict:
    figures = {}
    for name, path_of in paths.items():
        figures[name] = f = time_page(browser, base, path_of, args.requests, args.warmup_requests, server_pid)
        verdict = "met" if f["p99_ms"] < P99_TARGET_MS else "MISSED"
        log(f"  {name:9} {path_of()}: p50 {f['p50_ms']} ms, p99 {f['p99_ms']} ms, max {f['max_ms']} ms "
            f"(p99 < {P99_TARGET_MS:g} ms: {verdict}); server CPU {f['server_cpu_ms']} ms a page")
    return figures


# -- the token rate, with and without someone browsing --------------------------------------

class Browsing:
    """A thread going round the pages, one request at a time, `pause` seconds apart."""

    def __init__(self, browser: requests.Session, base: str, paths: dict, pause: float) -> None:
        self.browser, self.base, self.paths, self.pause = browser, base, list(paths.values()), pause
        self.times: list[float] = []
        self.error: PageError | None = None
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="browsing", daemon=True)

    def _run(self) -> None:
        try:
            while not self.stopping.is_set():
                for path_of in self.paths:
                    self.times.append(fetch(self.browser, self.base, path_of()))
                    if self.stopping.wait(self.pause):
                        return
        except PageError as e:
            self.error = e

    def __enter__(self):
        self.cpu = time.process_time()
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopping.set()
        self.thread.join(timeout=120)
        self.cpu = time.process_time() - self.cpu
        if self.error is not None:
            raise self.error


def token_load(wrk: str, base_port: int, client: dict, server_pid: int, args: argparse.Namespace,
               duration: int | None = None) -> dict:
    auth = base64.b64encode(f"{client['client_id']}:{client['client_secret']}".encode()).decode()
    figures = run_wrk(wrk, BENCH / "token.lua", f"http://127.0.0.1:{base_port}/",
                      {"BENCH_PATH": "/oauth/token", "BENCH_BASIC_AUTH": auth}, args.threads,
                      args.connections, duration or args.duration, server_pid)
    figures["tokens_per_s"] = round(figures["ok"] / figures["seconds"], 1)
    return figures


def measure_rate(variant: str, wrk: str, port: int, client: dict, server_pid: int, browser: requests.Session,
                 paths: dict, args: argparse.Namespace) -> dict:
    """Tokens/s under wrk load for --duration seconds, with the browsing of `variant`."""
    pause = {"alone": None, "browsing": args.pause, "heavy": 0.0}[variant]
    browsed = None
    if pause is None:
        figures = token_load(wrk, port, client, server_pid, args)
    else:
        with Browsing(browser, f"http://127.0.0.1:{port}", paths, pause) as browsing:
            figures = token_load(wrk, port, client, server_pid, args)
        browsed = browsing_figures(browsing, figures["seconds"])
    result = {"tokens_per_s": figures["tokens_per_s"], "token_p99_ms": figures["p99_ms"],
              "non200": figures["non200"], "server_cores": figures["server_cores"],
              "others_cores": round(figures["others_cores"] - (browsed["client_cores"] if browsed else 0), 2),
              "browsing": browsed}
    pages = f"; {browsed['pages_per_s']} console pages/s, p50 {browsed['p50_ms']} ms, p99 {browsed['p99_ms']} ms, " \
        f"the browser used {browsed['client_cores']} cores" if browsed else ""
    log(f"  {variant:8} {result['tokens_per_s']} tokens/s (p99 {result['token_p99_ms']} ms, "
        f"{result['non200']} non-200, server {result['server_cores']} cores){pages}")
    return result


def browsing_figures(browsing: Browsing, seconds: float) -> dict:
    times = sorted(browsing.times)
    return {"pages": len(times), "pages_per_s": round(len(times) / seconds, 1),
            "p50_ms": percentile_ms(times, 50), "p99_ms": percentile_ms(times, 99),
            "client_cores": round(browsing.cpu / seconds, 2)}


def token_rounds(wrk: str, port: int, client: dict, server_pid: int, browser: requests.Session, paths: dict,
                 args: argparse.Namespace) -> list[dict]:
    """--rounds of (alone, browsing, heavy), every other round in the reverse order."""
    log(f"  warm-up {args.warmup}s")
    token_load(wrk, port, client, server_pid, args, duration=args.warmup)
    rounds = []
    for number in range(args.rounds):
        order = ["alone", "browsing", "heavy"]
        if number % 2:
            order.reverse()
        log(f"  round {number + 1}: {', '.join(order)}")
        figures = {v: measure_rate(v, wrk, port, client, server_pid, browser, paths, args) for v in order}
        for variant in ("browsing", "heavy"):
            figures[f"ratio_{variant}"] = ratio(figures[variant]["tokens_per_s"], figures["alone"]["tokens_per_s"])
        log(f"    with browsing / alone: {figures['ratio_browsing']}; heavy / alone: {figures['ratio_heavy']}")
        rounds.append(figures)
    return rounds


# -- the run --------------------------------------------------------------------------------

def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=100_000, help="users in the project (100000)")
    parser.add_argument("--requests", type=int, default=300, help="timed requests per page (300)")
    parser.add_argument("--warmup-requests", type=int, default=20, help="untimed requests before each page (20)")
    parser.add_argument("--duration", type=int, default=10, help="seconds of token load per figure (10)")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of discarded token load first (2)")
    parser.add_argument("--connections", type=int, default=64, help="wrk connections (64)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (1: leave the other core to the server)")
    parser.add_argument("--pause", type=float, default=0.2, help="seconds between a browser's clicks (0.2)")
    parser.add_argument("--rounds", type=int, default=4, help="rounds of token figures, alternating order (4)")
    parser.add_argument("--start-timeout", type=float, default=1800, help="seconds the server may take to start")
    return parser.parse_args()


def cpu_estimate(pages: dict, rounds: list[dict], variant: str) -> float | None:
    """The ratio the pages' CPU alone predicts, a cross-check of the noisy measured one: the
    server's cores under token load alone, less what `variant`'s pages/s take of them (the
    server CPU per page, measured one at a time, averaged over the pages)."""
    cpu_per_page = sum(f["server_cpu_ms"] for f in pages.values()) / len(pages) / 1000
    cores = median([r["alone"]["server_cores"] for r in rounds])
    pages_per_s = median([r[variant]["browsing"]["pages_per_s"] for r in rounds])
    return round(1 - pages_per_s * cpu_per_page / cores, 3) if cores else None


def summarise(args: argparse.Namespace, catch_up: float, pages: dict, rounds: list[dict]) -> dict:
    rate = {v: median([r[v]["tokens_per_s"] for r in rounds]) for v in ("alone", "browsing", "heavy")}
    summary = {
        "users": args.users,
        "catch_up_s": round(catch_up, 1),
        **{f"{name}_{k}": f[k] for name, f in pages.items() for k in ("p50_ms", "p99_ms", "max_ms", "server_cpu_ms")},
        "pages_p99_met": all(f["p99_ms"] < P99_TARGET_MS for f in pages.values()),
        "tokens_per_s_alone": rate["alone"],
        "tokens_per_s_browsing": rate["browsing"],
        "tokens_per_s_heavy": rate["heavy"],
        # Each round's own ratio (its figures were measured back to back), the median of them:
        # other work on the machine moves whole rounds, not one figure of a round.
        "ratio_browsing": median([r["ratio_browsing"] for r in rounds]),
        "ratio_heavy": median([r["ratio_heavy"] for r in rounds]),
        "pages_per_s_browsing": median([r["browsing"]["browsing"]["pages_per_s"] for r in rounds]),
        "pages_per_s_heavy": median([r["heavy"]["browsing"]["pages_per_s"] for r in rounds]),
        "ratio_browsing_rounds": [r["ratio_browsing"] for r in rounds],
        "ratio_heavy_rounds": [r["ratio_heavy"] for r in rounds],
        "ratio_browsing_from_cpu": cpu_estimate(pages, rounds, "browsing"),
        "ratio_heavy_from_cpu": cpu_estimate(pages, rounds, "heavy"),
        "others_cores_max": max(r[v]["others_cores"] for r in rounds for v in ("alone", "browsing", "heavy")),
    }
    summary["rate_met"] = bool(summary["ratio_browsing"] and summary["ratio_browsing"] >= RATE_TARGET)
    return summary


def main() -> None:
    try:
        run(parse_args())
    except PageError as e:
        sys.exit(str(e))


def run(args: argparse.Namespace) -> None:
    wrk = ensure_wrk()
    log(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} before the run (other work skews every figure)")
    with tempfile.TemporaryDirectory(prefix="astapa-bench-console-") as tmp:
        data, logfile = Path(tmp) / "data", Path(tmp) / "serve.log"
        data.mkdir()
        log(f"A project of {args.users} users, written straight into the event log")
        project = seed(data / "events.db", args.users)
        log("astapa serve: building the read models from the log")
        server, port, catch_up = serve(data, logfile, args.start_timeout)
        base = f"http://127.0.0.1:{port}"
        try:
            log(f"  /healthz answered 200 after {catch_up:.1f}s (start-up and catching up with the log)")
            browser = signed_in_browser(data, base)
            client = machine_client(data, base, project["project_id"])
            paths = page_paths(first_page(browser, base, project["project_id"]).text, project["project_id"],
                               args.users)
            log(f"Console pages, one request at a time, {args.requests} each after {args.warmup_requests} untimed")
            pages = time_pages(browser, base, paths, server.pid, args)
            log(f"Token rate: wrk, {args.connections} connections, {args.duration}s per figure; a browser clicks "
                f"every {args.pause}s (browsing) or without a pause (heavy)")
            rounds = token_rounds(wrk, port, client, server.pid, browser, paths, args)
        finally:
            stop(server)
    summary = summarise(args, catch_up, pages, rounds)
    log("Targets")
    log(f"  every page p99 < {P99_TARGET_MS:g} ms: {'met' if summary['pages_p99_met'] else 'MISSED'}")
    log(f"  tokens/s with browsing / alone, median of the rounds: {summary['ratio_browsing']} "
        f"(target >= {RATE_TARGET}): "
        f"{'met' if summary['rate_met'] else 'MISSED'}; heavy browsing / alone: {summary['ratio_heavy']}")
    log(f"  (what the pages' server CPU predicts: {summary['ratio_browsing_from_cpu']} with browsing, "
        f"{summary['ratio_heavy_from_cpu']} heavy)")
    if summary["others_cores_max"] > 0.2:
        log(f"  WARNING, busy machine: other processes used up to {summary['others_cores_max']} cores during "
            "the token load; rerun when the machine is idle.")
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    run_benchmark(main)
