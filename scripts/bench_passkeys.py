#!/usr/bin/env python3
"""Benchmark (not a test) of passkey sign-in on this machine, against one core's raw
py_webauthn verification rate measured in the same run.

What is measured, in one run of this script:

- Raw rate: how many `webauthn.verify_authentication_response` calls one core does per
  second, single-threaded, flat out, on the core the server runs on (core 0) while the
  server is idle. The assertions are made before the clock starts, by the software
  authenticator of the tests (tests/fakes/authenticator.py: ES256, the algorithm nearly
  every passkey uses), so the figure is the verifier's alone: JSON and CBOR parsing, the
  checks, one ECDSA P-256 verification. Each call gets the JSON text, as the server would,
  and a stored sign count of 0, so every pre-made assertion (count 1..N) is valid in any
  order and can be reused. The first is verified before timing; a refusal stops the script.
  That is the ceiling for passkey sign-ins, the way raw RS256 signing is for token
  issuance (scripts/bench_token.py).
- The server: `astapa serve` (one process) pinned to core 0 with taskset, on a fresh temp
  data dir, issuer http://127.0.0.1:PORT (browsers refuse an IP as RP id; the server and
  py_webauthn accept it). --users users sign up with a password (bcrypt cost 10, the least
  `serve` takes: passwords play no part in what is measured) and add a passkey on
  /account, as tests/pages/test_passkeys.py does, through the real pages; not timed.
- Passkey sign-ins/s, the primary figure: login pages (GET /auth/login?client_id=...,
  each with its own options, sealed state, fresh challenge and CSRF cookie) are fetched and
  answered by each user's authenticator before the clock starts; then --users connections
  POST them (action=passkey, the page's hidden fields and passkey_response) for --seconds
  after a --warmup, each user's sign-ins one after another (a passkey's sign count must
  rise). Only 303s to the client's redirect_uri with a code count. Each is one server-side
  verification plus the sign-in it grants: the passkey's Used event, the answered
  challenge, a session and a code, saved durably before the answer.
- Full round trips/s, secondary: the same users each loop GET the login page, sign, POST,
  for --seconds after a short warm-up; completed 303s count.

The client is this process (Python asyncio + aiohttp, no cookie jar), pinned to core 1.
For each figure: the server's CPU seconds (from /proc), its share of a core, this
client's share, and what everything else on the machine used. Target (the issue): passkey
sign-ins/s >= 0.5 x the raw rate. --profile FILE records the server with py-spy during the
measured sign-ins, in one more run of the same load that no figure counts: collapsed
stacks into FILE, only of the thread holding the GIL (on one core, the Python work; SQLite,
OpenSSL and the kernel run without it), and prints where that time went.

Every 303 is checked against the Passkey.Used events in the store, and the events stored
per sign-in are counted by topic; the output also says how many times each passkey had
been used by the end (the server keeps the Passkey aggregates it wrote in memory, so a
passkey's history is not replayed on each sign-in). Only 127.0.0.1 is targeted; every process
started here is stopped on exit, error or Ctrl-C.

    .venv/bin/python scripts/bench_passkeys.py [--seconds 10] [--users 100] [--warmup 2]
        [--raw-seconds 3] [--quiet-wait 30] [--profile FILE]

Prints progress lines, then one JSON line with raw_verifications_per_second,
passkey_sign_ins_per_second, ratio, round_trips_per_second, the server's CPU and more.
"""

import argparse
import asyncio
import itertools
import json
import math
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts" / "bench"))

# After the path set-up above: the repo root (astapa, tests) and scripts/bench (harness).
import aiohttp
import webauthn
from harness import (
    BUSY_OTHERS_CORES,
    CSRF_COOKIE,
    REDIRECT_URI,
    STARTED,
    Server,
    astapa_server,
    busy_warning,
    count_events,
    log,
    machine_busy_seconds,
    open_form,
    percentile_ms,
    query_of,
    ratio,
    run_benchmark,
    session,
    stop,
    tree_cpu_seconds,
    wait_quiet,
)

from astapa import passkeys
from tests.fakes.authenticator import SoftAuthenticator
from tests.flows import PASSWORD, Browser, hidden_fields

ISSUER = "http://localhost:8080"  # a host name: browsers refuse an IP address as RP id
RP_ID, ORIGIN = passkeys.rp_id_of(ISSUER), passkeys.origin_of(ISSUER)
ASSERTIONS = 256  # enough distinct inputs that no cache of any kind flatters the figure
BATCH = 20  # calls between clock reads
RATIO_TARGET = 0.5
SERVER_CORE, CLIENT_CORE = 0, 1
PREFETCH_CONCURRENCY = 32
SETUP_THREADS = 8
SPARE = 1.3  # pre-fetched pages for this many times the warm-up's rate x --seconds
MIN_RATE = 1200  # ... and for at least this rate (sign-ins/s)


# -- the raw rate -----------------------------------------------------------------------

def make_assertions(count: int) -> tuple[list[tuple[str, bytes]], bytes]:
    """`count` (assertion JSON, its challenge) pairs from one registered passkey, and the
    passkey's COSE public key."""
    authenticator = SoftAuthenticator(RP_ID, ORIGIN)
    options, challenge = passkeys.registration_options(RP_ID, "Bench", b"bench-user", "bench@example.org", [])
    passkey = passkeys.verify_registration(authenticator.register(options), challenge, RP_ID, ORIGIN)
    pairs = []
    for _ in range(count):
        options, challenge = passkeys.authentication_options(RP_ID)
        pairs.append((authenticator.sign_in(options), challenge))
    return pairs, passkey.public_key


def verify_one(response: str, challenge: bytes, public_key: bytes) -> int:
    """One raw library verification, as the server's sign-in makes it; the new sign count."""
    return webauthn.verify_authentication_response(
        credential=response,
        expected_challenge=challenge,
        expected_rp_id=RP_ID,
        expected_origin=ORIGIN,
        credential_public_key=public_key,
        credential_current_sign_count=0,
        require_user_verification=True,
    ).new_sign_count


def raw_rate(seconds: float) -> dict:
    """One core's webauthn.verify_authentication_response calls per second over `seconds`
    (on whatever core this thread is allowed), and the share of a core it got."""
    pairs, public_key = make_assertions(ASSERTIONS)
    if verify_one(*pairs[0], public_key) != 1:  # also warms up imports and caches
        sys.exit("the first assertion did not verify with sign count 1")
    inputs = itertools.cycle(pairs)
    count, cpu, start = 0, time.thread_time(), time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(BATCH):
            verify_one(*next(inputs), public_key)
        count += BATCH
        if time.perf_counter() >= deadline:
            break
    elapsed = time.perf_counter() - start
    share = (time.thread_time() - cpu) / elapsed
    log(f"  {count} verifications in {elapsed:.2f}s, {count / elapsed:.0f}/s "
        f"(the process had {share:.0%} of a core{'' if share >= 0.9 else ': busy machine, figure skewed'})")
    return {"per_s": round(count / elapsed, 1), "cpu_share": round(share, 3), "seconds": round(elapsed, 2)}


def pin(core: int) -> None:
    """This thread (and the threads it starts from now on) on `core` only."""
    os.sched_setaffinity(0, {core})


# -- users with passkeys, through the real pages (not timed) -----------------------------

def user_with_passkey(server: Server, index: int) -> SoftAuthenticator:
    """A password sign-up, then a passkey added on /account (with the password again), as
    tests/pages/test_passkeys.py does."""
    browser = Browser(server.base)
    browser.sign_up(browser.authorize_url(server.project["client_id"]), f"passkey-{index}@bench.example")
    page = browser.get(f"{server.base}/account")
    fields = hidden_fields(page.text)
    if page.status_code != 200 or "passkey_options" not in fields:
        sys.exit(f"GET /account answered {page.status_code} without passkey options: {page.text[:500]}")
    device = SoftAuthenticator("127.0.0.1", server.base)
    added = browser.session.post(f"{server.base}/account/passkeys", allow_redirects=False, timeout=30, data={
        "csrf_token": fields["csrf_token"], "passkey_state": fields["passkey_state"],
        "passkey_response": device.register(fields["passkey_options"]), "action": "passkey",
        "current_password": PASSWORD})  # re-authentication: the session alone adds no passkey
    if added.status_code != 303 or "passkey_added" not in added.headers.get("Location", ""):
        sys.exit(f"adding a passkey answered {added.status_code} {added.headers.get('Location')}: "
                 f"{added.text[:500]}")
    browser.session.close()
    return device


def users_with_passkeys(server: Server, count: int) -> list[SoftAuthenticator]:
    with ThreadPoolExecutor(SETUP_THREADS) as pool:
        return list(pool.map(lambda i: user_with_passkey(server, i), range(count)))


# -- sign-ins ----------------------------------------------------------------------------

def signed_in(status: int, location: str | None) -> bool:
    """A completed sign-in: a 303 to the client's redirect_uri with a code."""
    return status == 303 and bool(location) and location.startswith(REDIRECT_URI) \
        and bool(query_of(location).get("code"))


class Tally:
    """What a load saw: completed sign-ins inside the window, failures, POST latencies."""

    def __init__(self) -> None:
        self.ok = self.ok_outside = 0
        self.failures: Counter = Counter()
        self.sample: str | None = None
        self.latencies: list[float] = []

    def post_answered(self, status: int, location: str | None, body: str, began: float, ended: float,
                      window: tuple[float, float]) -> None:
        if signed_in(status, location):
            if window[0] <= ended <= window[1]:
                self.ok += 1
                self.latencies.append(ended - began)
            else:
                self.ok_outside += 1
        else:
            self.failures[status] += 1
            self.sample = self.sample or f"{status} {location} {body[:300]}"


async def post_sign_in(http: aiohttp.ClientSession, server: Server, fields: dict, csrf: str,
                       response: str) -> tuple[int, str | None, str]:
    data = {**fields, "action": "passkey", "passkey_response": response}
    async with http.post(f"{server.base}/auth/login", data=data, allow_redirects=False,
                         headers={"Cookie": f"{CSRF_COOKIE}={csrf}"}) as r:
        body = "" if r.status == 303 else await r.text()
        return r.status, r.headers.get("Location"), body


async def prefetch(server: Server, devices: list[SoftAuthenticator], per_user: int) -> list[list[tuple]]:
    """`per_user` fresh login pages for each user, answered by the user's authenticator in
    the order they will be posted (the sign count rises by one each): per user, a list of
    (hidden fields, CSRF cookie, passkey_response)."""
    total, pages = per_user * len(devices), []
    semaphore = asyncio.Semaphore(PREFETCH_CONCURRENCY)

    async def one(http: aiohttp.ClientSession) -> tuple[dict, str]:
        async with semaphore:
            return await open_form(http, server, "/auth/login")

    async with session(limit=PREFETCH_CONCURRENCY) as http:
        pages = await asyncio.gather(*(one(http) for _ in range(total)))
    chains: list[list[tuple]] = [[] for _ in devices]
    for i, (fields, csrf) in enumerate(pages):
        if "passkey_options" not in fields or "passkey_state" not in fields:
            sys.exit("the login page has no passkey form (passkey_options, passkey_state)")
        user = i % len(devices)
        chains[user].append((fields, csrf, devices[user].sign_in(fields["passkey_options"])))
    return chains


async def post_chains(server: Server, chains: list[list[tuple]], seconds: float, tally: Tally) -> dict:
    """Each user's pre-answered pages POSTed one after another, all users at once, until
    `seconds` have passed or the first user has none left (then the window ends there,
    before the concurrency drops). The window's start, end and whether pages ran out."""
    clock: dict = {}
    window = [0.0, math.inf]

    async def chain(http: aiohttp.ClientSession, pages: list[tuple]) -> None:
        for fields, csrf, response in pages:
            began = time.perf_counter()
            if began >= window[1]:
                return
            status, location, body = await post_sign_in(http, server, fields, csrf, response)
            tally.post_answered(status, location, body, began, time.perf_counter(), window)
        if time.perf_counter() < window[1]:  # the first to run dry ends the window
            window[1] = time.perf_counter()
            clock["ran_out"] = True

    async with session(limit=len(chains)) as http:
        window[0] = time.perf_counter()
        window[1] = window[0] + seconds
        await asyncio.gather(*(chain(http, pages) for pages in chains))
    return {"start": window[0], "end": window[1], "ran_out": clock.get("ran_out", False)}


async def round_trips(server: Server, devices: list[SoftAuthenticator], warmup: float, seconds: float,
                      tally: Tally) -> dict:
    """Each user in a loop: GET a login page, sign, POST it; `warmup` seconds uncounted,
    then `seconds` counted. The window's start and end (and the CPU figures' marks)."""
    marks: dict = {}
    start = time.perf_counter()
    window = (start + warmup, start + warmup + seconds)

    async def marker() -> None:
        await asyncio.sleep(max(0.0, window[0] - time.perf_counter()))
        marks["start"] = cpu_marks()
        await asyncio.sleep(max(0.0, window[1] - time.perf_counter()))
        marks["end"] = cpu_marks()

    async def user(http: aiohttp.ClientSession, device: SoftAuthenticator) -> None:
        while time.perf_counter() < window[1]:
            fields, csrf = await open_form(http, server, "/auth/login")
            began = time.perf_counter()
            status, location, body = await post_sign_in(http, server, fields, csrf,
                                                         device.sign_in(fields["passkey_options"]))
            tally.post_answered(status, location, body, began, time.perf_counter(), window)

    async with session(limit=len(devices)) as http:
        await asyncio.gather(marker(), *(user(http, device) for device in devices))
    return marks


# -- CPU accounting ---------------------------------------------------------------------

SERVER_PID: list[int] = []


def server_system_seconds() -> float:
    """The server process's CPU seconds in the kernel (stime: syscalls, loopback TCP, fsync)."""
    fields = Path(f"/proc/{SERVER_PID[0]}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[12]) / os.sysconf("SC_CLK_TCK")


def cpu_marks() -> tuple[float, float, float, float, float]:
    """(wall clock, server CPU s, this process's CPU s, the whole machine's busy CPU s,
    the server's kernel CPU s)."""
    return (time.perf_counter(), tree_cpu_seconds(SERVER_PID[0]), time.process_time(), machine_busy_seconds(),
            server_system_seconds())


def cpu_split(start: tuple, end: tuple) -> dict:
    seconds = end[0] - start[0]
    server, client, busy = end[1] - start[1], end[2] - start[2], end[3] - start[3]
    return {"seconds": round(seconds, 2), "server_cpu_s": round(server, 2),
            "server_kernel_share": round((end[4] - start[4]) / server, 2) if server else None,
            "server_cores": round(server / seconds, 2), "client_cores": round(client / seconds, 2),
            "others_cores": round(max(0.0, busy - server - client) / seconds, 2)}


def figures_of(tally: Tally, split: dict, label: str, answered: int | None = None) -> dict:
    """The figures of a load; `answered`: the sign-ins the server CPU figure paid for
    (default: those counted in the window)."""
    latencies = sorted(tally.latencies)
    answered = tally.ok if answered is None else answered
    per_s = round(tally.ok / split["seconds"], 1)
    figures = {"per_s": per_s, "ok": tally.ok, "ok_outside_window": tally.ok_outside,
               "failures": sum(tally.failures.values()), "failures_by_status": dict(tally.failures),
               "p50_ms": percentile_ms(latencies, 50), "p99_ms": percentile_ms(latencies, 99),
               "server_cpu_ms_per_sign_in": round(split["server_cpu_s"] * 1000 / answered, 3) if answered else None,
               **split}
    log(f"  {per_s} {label}/s ({tally.ok} x 303 with a code in {split['seconds']}s, {figures['failures']} failures"
        f"{' ' + str(dict(tally.failures)) if tally.failures else ''}), POST p50 {figures['p50_ms']} ms, "
        f"p99 {figures['p99_ms']} ms; server CPU {split['server_cpu_s']} s ({split['server_kernel_share'] or 0:.0%} in the "
        f"kernel) = {figures['server_cpu_ms_per_sign_in']} ms a sign-in; cores used: server "
        f"{split['server_cores']}, client {split['client_cores']}, "
        f"everything else {split['others_cores']}")
    if tally.sample:
        log(f"  first failure: {tally.sample}")
    return figures


def post_only(server: Server, devices: list[SoftAuthenticator], args: argparse.Namespace,
              profile: Path | None) -> dict:
    """Warm-up on pre-fetched pages (which also sizes the measured batch), then the
    measured POSTs on pre-fetched pages. The measured figures."""
    users = len(devices)
    warm_per_user = max(2, math.ceil(1000 * args.warmup / users))  # a guess of 1,000/s; it stops at --warmup
    started = time.monotonic()
    chains = asyncio.run(prefetch(server, devices, warm_per_user))
    log(f"  warm-up: {warm_per_user * users} login pages fetched and answered in "
        f"{time.monotonic() - started:.1f}s (not timed)")
    warm = Tally()
    window = asyncio.run(post_chains(server, chains, args.warmup, warm))
    warm_rate = warm.ok / (window["end"] - window["start"])
    log(f"  warm-up: {warm.ok} sign-ins in {window['end'] - window['start']:.1f}s, {warm_rate:.0f}/s "
        f"({sum(warm.failures.values())} failures), discarded")
    if warm.failures:
        log(f"  first failure: {warm.sample}")
    # Sized by the warm-up's rate, but never for less than MIN_RATE: a warm-up slowed by
    # other work must not leave the measured load short of pages.
    per_user = max(2, math.ceil(max(warm_rate, MIN_RATE) * args.seconds * SPARE / users))
    started = time.monotonic()
    chains = asyncio.run(prefetch(server, devices, per_user))
    log(f"  {per_user * users} login pages fetched and answered in {time.monotonic() - started:.1f}s "
        f"({per_user} a user, not timed)")
    tally, begin = Tally(), cpu_marks()
    window = asyncio.run(post_chains(server, chains, args.seconds, tally))
    end = cpu_marks()
    # The CPU marks bracket every POST (those answered after the window too: the CPU per
    # sign-in counts them all); the rate is the window's.
    split = cpu_split(begin, end)
    split["seconds"] = round(window["end"] - window["start"], 2)
    if window["ran_out"]:
        log(f"  NOTE: pages ran out after {split['seconds']}s of {args.seconds:g}s: the window ends there")
    figures = figures_of(tally, split, "passkey sign-ins (POST, pre-fetched page)",
                         tally.ok + tally.ok_outside + sum(tally.failures.values()))
    figures["ran_out"] = window["ran_out"]
    figures["warmup_ok"] = warm.ok + warm.ok_outside
    figures["warmup_failures"] = sum(warm.failures.values())
    if profile:
        figures["profile"] = profiled(server, devices, per_user, args.seconds, profile)
    return figures


def profiled(server: Server, devices: list[SoftAuthenticator], per_user: int, seconds: float,
             output: Path) -> dict:
    """The same load again, not counted in any figure, with py-spy recording the server."""
    chains = asyncio.run(prefetch(server, devices, per_user))
    log(f"  profile: the same load again for {seconds:g}s with py-spy attached (not in the figures)")
    spy = start_profile(seconds, output)
    if spy is None:
        return {}
    tally, begin = Tally(), cpu_marks()
    window = asyncio.run(post_chains(server, chains, seconds, tally))
    split = cpu_split(begin, cpu_marks())
    split["seconds"] = round(window["end"] - window["start"], 2)
    figures_of(tally, split, "passkey sign-ins under py-spy",
               tally.ok + tally.ok_outside + sum(tally.failures.values()))
    return finish_profile(spy, output, math.ceil(seconds)) | {"sign_ins_per_s_under_profile": round(
        tally.ok / split["seconds"], 1), "ok": tally.ok + tally.ok_outside, "failures": sum(tally.failures.values())}


# -- py-spy ------------------------------------------------------------------------------

# Where a sample of the server goes: the first of these found on its stack (its text:
# function and file), in this order; anything else is "other".
BUCKETS = [
    ("py_webauthn verify_authentication_response (executor thread)", "verify_authentication_response"),
    ("writer: the sign-in command (load Passkey and User, challenge check, session, code)", "Writer._decide"),
    ("writer: the commit (events into SQLite, group commit)", "Writer._commit"),
    ("writer: other", "astapa/store/writer.py"),
    ("read models catching up (projections)", "projections/"),
    ("passkey look-up in the read models", "ReadModels.query"),
    ("POST body: reading and parsing the form", "posted_form"),
    ("opening the sealed state (SeedBox)", "SeedBox.open"),
    ("sending the answer", "finish_response"),
    ("the rest of the page handler and middlewares", "Application._handle"),
    ("aiohttp and asyncio: HTTP parsing, the loop, sockets", "run_app"),
]


def start_profile(seconds: float, output: Path) -> subprocess.Popen | None:
    """py-spy sampling only the thread holding the GIL (--gil): on one core, that is the
    Python work; time in C with the GIL released (SQLite, fsync) and idle time are not in it."""
    spy = shutil.which("py-spy", path=str(ROOT / ".venv" / "bin")) or shutil.which("py-spy")
    if not spy:
        log("  py-spy not found: no profile")
        return None
    proc = subprocess.Popen(["taskset", "-c", str(CLIENT_CORE), spy, "record", "--pid", str(SERVER_PID[0]),
                             "--duration", str(math.ceil(seconds)), "--rate", "250", "--gil", "--nonblocking",
                             "--format", "raw", "--output", str(output)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    STARTED.append(proc)
    time.sleep(0.5)  # attached before the clock starts
    return proc


def finish_profile(proc: subprocess.Popen, output: Path, seconds: float) -> dict:
    """Where the server's GIL time went, from py-spy's collapsed stacks: the buckets above,
    the top functions by their own samples, and Astapa's and py_webauthn's functions by
    the samples they were on the stack for."""
    try:
        proc.wait(timeout=120)
    finally:
        stop(proc)
    if proc.returncode != 0 or not output.exists():
        log(f"  py-spy failed ({proc.returncode}): {proc.stderr.read()[-500:] if proc.stderr else ''}")
        return {}
    own, inclusive, buckets, total, torn = Counter(), Counter(), Counter(), 0, 0
    for line in output.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n, frames = int(count), stack.split(";")
        if not frames[0].startswith(("Thread._bootstrap ", "<module> ")):
            torn += n  # read while the thread ran on (--nonblocking): not a whole stack
            continue
        names = [f"{frame.split(' (')[0]} ({frame.rsplit('(', 1)[-1].split(':')[0]})" for frame in frames]
        total += n
        own[names[-1]] += n
        for name in set(names):
            if "astapa/" in name or "webauthn/" in name or "eventsourcing/" in name:
                inclusive[name] += n
        buckets[next((label for label, marker in BUCKETS if marker in stack), "other")] += n
    if not total:
        log("  py-spy recorded no samples")
        return {}

    def shares(counter: Counter, most: int) -> list:
        return [(name, round(n / total, 3)) for name, n in counter.most_common(most)]

    profile = {"samples": total, "torn_samples": torn, "gil_share": round((total + torn) / (seconds * 250), 3),
               "file": str(output),
               "buckets": shares(buckets, len(BUCKETS) + 1), "top_own": shares(own, 15),
               "top_inclusive": shares(inclusive, 25)}
    log(f"  py-spy: {total + torn} samples of the thread holding the GIL ({output}): a thread held it "
        f"~{profile['gil_share']:.0%} of the time; {torn} torn stacks left out; shares of the {total} others:")
    for name, share in profile["buckets"]:
        log(f"    {share:6.1%}  {name}")
    log("  top functions by own samples:")
    for name, share in profile["top_own"]:
        log(f"    {share:6.1%}  {name}")
    log("  Astapa's, eventsourcing's and py_webauthn's functions by samples on the stack:")
    for name, share in profile["top_inclusive"]:
        log(f"    {share:6.1%}  {name}")
    return profile


def topic_counts(server: Server) -> dict[str, int]:
    """Stored events by topic."""
    with sqlite3.connect(server.events_db) as db:
        return dict(db.execute("SELECT topic, count(*) FROM stored_events GROUP BY topic").fetchall())


# -- main --------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds of each measured load (10)")
    parser.add_argument("--users", type=int, default=100,
                        help="users, each with a passkey, signing in at once: the concurrency (100)")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of uncounted load before each (2)")
    parser.add_argument("--raw-seconds", type=float, default=3.0, help="seconds of raw verification (3)")
    parser.add_argument("--quiet-wait", type=float, default=30.0,
                        help="most seconds to wait for other work on the machine to stop before the figures (30)")
    parser.add_argument("--profile", type=Path, metavar="FILE",
                        help="after the measured sign-ins, the same load again with py-spy --gil recording the server")
    args = parser.parse_args()
    if args.seconds <= 0 or args.raw_seconds <= 0 or args.warmup < 0:
        parser.error("--seconds and --raw-seconds must be positive, --warmup not negative")
    if args.users < 1:
        parser.error("--users must be at least 1")
    if os.cpu_count() < 2 or not {SERVER_CORE, CLIENT_CORE} <= os.sched_getaffinity(0):
        sys.exit("needs cores 0 and 1: the server on core 0, this client on core 1")
    log(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} before the run "
        "(other work skews every figure)")
    pin(CLIENT_CORE)
    with astapa_server(("--bcrypt-cost", "10"), cpus=str(SERVER_CORE)) as server:
        SERVER_PID.append(server.proc.pid)
        log(f"astapa serve on {server.base} (pid {server.proc.pid}), pinned to core {SERVER_CORE}; "
            f"this client on core {CLIENT_CORE}")
        started = time.monotonic()
        devices = users_with_passkeys(server, args.users)
        log(f"{len(devices)} users signed up (password, bcrypt cost 10) and added a passkey on /account in "
            f"{time.monotonic() - started:.1f}s, not timed")

        before = topic_counts(server)
        wait_quiet(args.quiet_wait, [server.proc.pid])
        log(f"Raw passkey verification: webauthn {webauthn.__version__}, ES256, core {SERVER_CORE} "
            f"(server idle), {args.raw_seconds:g}s")
        pin(SERVER_CORE)
        raw = raw_rate(args.raw_seconds)
        pin(CLIENT_CORE)

        wait_quiet(args.quiet_wait, [server.proc.pid])
        log(f"Passkey sign-ins: POST /auth/login action=passkey on pre-fetched pages, {args.users} users at once, "
            f"{args.warmup:g}s warm-up, {args.seconds:g}s measured")
        posts = post_only(server, devices, args, args.profile)

        wait_quiet(args.quiet_wait, [server.proc.pid])
        log(f"Full round trips: GET /auth/login, sign, POST, {args.users} users at once, "
            f"{min(args.warmup, 1.0):g}s warm-up, {args.seconds:g}s measured")
        tally = Tally()
        marks = asyncio.run(round_trips(server, devices, min(args.warmup, 1.0), args.seconds, tally))
        trips = figures_of(tally, cpu_split(marks["start"], marks["end"]), "round trips (GET + POST)")

        used = count_events(server.events_db, "%Passkey.Used%")
        after = topic_counts(server)
    answered = (posts["warmup_ok"] + posts["ok"] + posts["ok_outside_window"] + trips["ok"]
                + trips["ok_outside_window"] + posts.get("profile", {}).get("ok", 0))
    events_ok = used == answered
    log(f"Passkey.Used events: {used} vs {answered} sign-ins answered 303 (warm-ups included): "
        f"{'OK' if events_ok else 'MISMATCH'}; each passkey was used {answered / len(devices):.0f} times by the end")
    per_sign_in = {topic.split(":")[-1]: round((n - before.get(topic, 0)) / answered, 2)
                   for topic, n in after.items() if answered and n > before.get(topic, 0)}
    log(f"  events stored per sign-in: {round(sum(per_sign_in.values()), 2)} ("
        + ", ".join(f"{topic} {n:g}" for topic, n in sorted(per_sign_in.items(), key=lambda kv: -kv[1])) + ")")

    summary = {
        "raw_verifications_per_second": raw["per_s"],
        "passkey_sign_ins_per_second": posts["per_s"],
        "ratio": ratio(posts["per_s"], raw["per_s"]),
        "round_trips_per_second": trips["per_s"],
        "round_trip_ratio": ratio(trips["per_s"], raw["per_s"]),
        "server_cpu_s": posts["server_cpu_s"], "server_cores": posts["server_cores"],
        "server_cpu_ms_per_sign_in": posts["server_cpu_ms_per_sign_in"],
        "server_kernel_share": posts["server_kernel_share"],
        "raw_cpu_ms_per_verification": round(1000 / raw["per_s"], 3),
        "p50_ms": posts["p50_ms"], "p99_ms": posts["p99_ms"],
        "client_cores": posts["client_cores"], "others_cores": posts["others_cores"],
        "round_trip_others_cores": trips["others_cores"],
        "raw_cpu_share": raw["cpu_share"], "users": args.users, "seconds": args.seconds,
        "uses_per_passkey_at_end": round(answered / len(devices)),
        "failures": posts["failures"] + posts["warmup_failures"] + trips["failures"]
        + posts.get("profile", {}).get("failures", 0), "events_ok": events_ok,
        "events_per_sign_in": per_sign_in,
        "sign_ins": posts, "round_trips": trips, "raw": raw,
    }
    met = summary["ratio"] is not None and summary["ratio"] >= RATIO_TARGET
    log("Figures (one run; target)")
    log(f"  passkey sign-ins/s / raw verifications/s: {summary['ratio']} (target >= {RATIO_TARGET}): "
        f"{'met' if met else 'MISSED'}")
    log(f"  sign-ins {posts['per_s']}/s (server CPU {posts['server_cpu_ms_per_sign_in']} ms each), round trips "
        f"{trips['per_s']}/s (server CPU {trips['server_cpu_ms_per_sign_in']} ms each), raw {raw['per_s']}/s "
        f"({summary['raw_cpu_ms_per_verification']} ms each); failures {summary['failures']}"
        + ("" if summary["failures"] == 0 and events_ok else "  -- INVALID: failures or event mismatch"))
    warning = busy_warning(summary["others_cores"], raw["cpu_share"])
    if warning:
        log(f"  {warning}")
    if trips["others_cores"] > BUSY_OTHERS_CORES:
        log(f"  NOTE: other processes used {trips['others_cores']} cores during the round trips: that figure is "
            "skewed")
    summary["busy_machine"] = warning is not None
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    run_benchmark(main)
