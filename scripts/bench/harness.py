"""Shared plumbing for the benchmarks in scripts/ (bench_token.py, bench_refresh.py,
bench_cluster.py and the others).

The same conventions as scripts/bench_token.py: each server runs in its own process group
on a temporary data dir (stopped on exit, error or Ctrl-C), only 127.0.0.1 is targeted,
projects are made with the `astapa project create` CLI, and hosted-page clients are plain
aiohttp (a core dependency) with cookies handled by hand, so nothing depends on the
cookie jar's rules for IP-address hosts.
"""

import asyncio
import base64
import json
import math
import os
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from typing import Iterator, Sequence
from urllib.parse import parse_qs, urlencode, urlsplit

import aiohttp
from eventsourcing.domain import Aggregate, event

ROOT = Path(__file__).resolve().parent.parent.parent
BENCH = ROOT / "scripts" / "bench"
PYTHON = ROOT / ".venv" / "bin" / "python"
ASTAPA = ROOT / ".venv" / "bin" / "astapa"
NODE = BENCH / "node_modules" / "node" / "bin" / "node"
REDIRECT_URI = "https://app.example/callback"
PASSWORD = "correct horse battery"
CSRF_COOKIE = "astapa_csrf"
HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')
STARTED: list[subprocess.Popen] = []
# The benchmarks sign up hundreds of users from one address: lift the sign-up and mail
# limits per client IP and per project, which would otherwise answer 429 (the bounded
# bcrypt queue still may: sign_up waits for Retry-After and tries again).
BENCH_LIMITS = {"ASTAPA_SIGNUPS_PER_IP_PER_HOUR": "100000", "ASTAPA_SIGNUPS_PER_PROJECT_PER_HOUR": "100000",
                "ASTAPA_MAILS_PER_IP_PER_HOUR": "100000"}


def log(message: str) -> None:
    print(message, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pinned(cmd: list, cpus: str | None) -> list:
    """`cmd` run on the CPUs `cpus` names (taskset's list, e.g. "0"), or as it is for None."""
    return ["taskset", "-c", cpus, *cmd] if cpus else list(cmd)


def start(cmd: list, logfile: Path, **kwargs) -> subprocess.Popen:
    """A process in its own process group (so it can be stopped whole), output to logfile."""
    kwargs["env"] = {**(kwargs.get("env") or os.environ), **BENCH_LIMITS}
    with open(logfile, "ab") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, **kwargs)
    STARTED.append(proc)
    return proc


def stop(proc: subprocess.Popen, grace: float = 15) -> None:
    if proc.poll() is None:
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5)):
            try:
                os.killpg(proc.pid, sig)
                proc.wait(timeout=wait)
                break
            except (ProcessLookupError, subprocess.TimeoutExpired):
                continue
    if proc in STARTED:
        STARTED.remove(proc)


def stop_all() -> None:
    for proc in list(STARTED):
        stop(proc, grace=5)


def wait_http(url: str, proc: subprocess.Popen, logfile: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"server exited with {proc.returncode}; log {logfile}:\n{logfile.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    sys.exit(f"{url} not 200 within {timeout:.0f}s; log {logfile}")


def run_json(cmd: list, timeout: float = 120, **kwargs) -> dict:
    """Run a command and parse the JSON of its last output line."""
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kwargs)
    if result.returncode != 0:
        sys.exit(f"{' '.join(map(str, cmd))} failed ({result.returncode}):\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def ensure_wrk() -> str:
    if not shutil.which("wrk"):
        if os.geteuid() == 0 and shutil.which("apt-get"):
            log("wrk not found: apt-get install -y wrk")
            if subprocess.run(["apt-get", "install", "-y", "wrk"], timeout=600).returncode != 0:
                subprocess.run(["apt-get", "update"], timeout=600)
                subprocess.run(["apt-get", "install", "-y", "wrk"], timeout=600)
        if not shutil.which("wrk"):
            sys.exit("wrk is required: apt-get install -y wrk (Debian package 'wrk')")
    return shutil.which("wrk")


def run_wrk(wrk: str, script: Path, url: str, env: dict, threads: int, connections: int, duration: int,
            server_pid: int | Sequence[int], cpus: str | None = None) -> dict:
    """wrk with `script` for `duration` seconds: the script's BENCH_RESULT figures, plus its
    other output lines (`stdout`), the seconds it ran (`seconds`) and where the CPU went
    (`server_cores`: the server processes and their children, `client_cores`: wrk,
    `others_cores`: everything else on the machine). `cpus`: where wrk runs (taskset)."""
    return run_wrk_many(wrk, script, [url], env, threads, connections, duration, server_pid, cpus)[0]


def run_wrk_many(wrk: str, script: Path, urls: list[str], env: dict, threads: int, connections: int,
                 duration: int, server_pids: int | Sequence[int], cpus: str | None = None) -> list[dict]:
    """One wrk per URL, all at once (each with `connections`): run_wrk's figures for each.
    The CPU figures are for the whole run, the same in each: `server_cpu_by_pid` holds each
    server process tree's CPU seconds."""
    pids = [server_pids] if isinstance(server_pids, int) else list(server_pids)
    cmds = [pinned([wrk, f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--timeout", "5s", "-s", str(script),
                    url], cpus) for url in urls]
    before = {pid: tree_cpu_seconds(pid) for pid in pids}
    client_cpu, busy = children_cpu_seconds(), machine_busy_seconds()
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=dict(os.environ, **env)) for cmd in cmds]
    outputs = []
    try:
        for proc in procs:
            stdout, stderr = proc.communicate(timeout=duration + 60)
            outputs.append((proc.returncode, stdout, stderr))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    by_pid = {pid: round(tree_cpu_seconds(pid) - before[pid], 3) for pid in pids}
    server_cpu = sum(by_pid.values())
    client_cpu, busy = children_cpu_seconds() - client_cpu, machine_busy_seconds() - busy
    results = []
    for returncode, stdout, stderr in outputs:
        lines = [line for line in stdout.splitlines() if line.startswith("BENCH_RESULT ")]
        if returncode != 0 or not lines:
            sys.exit(f"wrk failed ({returncode}):\n{stdout}\n{stderr}")
        results.append(dict(json.loads(lines[-1].split(" ", 1)[1]), stdout=stdout))
    seconds = max(figures["duration_us"] for figures in results) / 1e6
    for figures in results:
        figures.update(
            seconds=figures["duration_us"] / 1e6, server_cpu=server_cpu, server_cpu_by_pid=by_pid,
            p50_ms=round(figures["p50_us"] / 1000, 2), p99_ms=round(figures["p99_us"] / 1000, 2),
            server_cores=round(server_cpu / seconds, 2), client_cores=round(client_cpu / seconds, 2),
            others_cores=round(max(0.0, busy - server_cpu - client_cpu) / seconds, 2),
        )
    return results


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its waited-for children, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def process_tree(pid: int) -> list[int]:
    """`pid` and every live process descended from it (a supervisor's workers), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                ppid = int(Path(f"/proc/{entry.name}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    tree, pending = [], [pid]
    while pending:
        tree.append(pending.pop())
        pending.extend(children.get(tree[-1], []))
    return tree


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of `pid` and all its descendants: the live ones' own, and the waited-for
    ones' through their parents (so a worker that died and was reaped still counts)."""
    total = 0.0
    for member in process_tree(pid):
        try:
            total += cpu_seconds(member)
        except (OSError, IndexError, ValueError):  # gone meanwhile: its parent reaps its time
            pass
    return total


def machine_busy_seconds() -> float:
    """CPU seconds spent by every process on the machine (all cores), from /proc/stat."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, idle, iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds() -> float:
    """User + system CPU time of this process's reaped children (wrk, the load clients)."""
    usage = os.times()
    return usage.children_user + usage.children_system


def raw_sign_rate(seconds: float = 3.0, cpus: str | None = None) -> dict:
    """One core's RS256 signing rate with joserfc (scripts/bench/raw_sign.py), and the share
    of a core the process got (below 1.0: other work on the machine slowed it). `cpus`: the
    core it runs on (taskset), else wherever the kernel puts it."""
    cpu, wall = children_cpu_seconds(), time.perf_counter()
    figures = run_json(pinned([PYTHON, BENCH / "raw_sign.py", str(seconds)], cpus), timeout=seconds + 60)
    figures["cpu_share"] = round((children_cpu_seconds() - cpu) / (time.perf_counter() - wall), 3)
    log(f"  {figures['per_s']} signatures/s ({figures['signatures']} in {figures['seconds']}s; "
        f"the process had {figures['cpu_share']:.0%} of a core)")
    return figures


BUSY_OTHERS_CORES = 0.2  # other processes' load during a measurement that skews it
BUSY_RAW_SHARE = 0.9  # a raw-rate process with less of a core than this was slowed


def wait_quiet(max_wait: float, own_pids: Sequence[int] = (), sample: float = 3.0) -> float:
    """Up to `max_wait` seconds until the rest of the machine (everything but this process's
    children and the trees of `own_pids`, e.g. an idle server) uses under BUSY_OTHERS_CORES
    for `sample` seconds: a shared machine's other work would skew the next figure. The
    seconds waited (the caller goes on anyway after `max_wait`; the figure's others_cores
    then tells)."""
    began = time.monotonic()
    while True:
        own = sum(tree_cpu_seconds(pid) for pid in own_pids)
        children, busy = children_cpu_seconds(), machine_busy_seconds()
        time.sleep(sample)
        own = sum(tree_cpu_seconds(pid) for pid in own_pids) - own + children_cpu_seconds() - children
        others = (machine_busy_seconds() - busy - own) / sample
        waited = time.monotonic() - began
        if others < BUSY_OTHERS_CORES or waited >= max_wait:
            if waited > sample + 1:
                log(f"  waited {waited:.0f}s for other work to finish (others now {others:.2f} cores)")
            return waited


def busy_warning(others_cores: float | None, raw_share: float | None) -> str | None:
    """A warning when the machine was busy with other work during the figures."""
    notes = []
    if others_cores is not None and others_cores > BUSY_OTHERS_CORES:
        notes.append(f"other processes used {others_cores} cores during the load")
    if raw_share is not None and raw_share < BUSY_RAW_SHARE:
        notes.append(f"the raw-rate measurement got only {raw_share:.0%} of its core(s)")
    if not notes:
        return None
    return "WARNING, busy machine: " + "; ".join(notes) + ". The ratio is skewed; rerun when the machine is idle."


def median(values: list) -> float | None:
    values = [v for v in values if v is not None]
    return round(statistics.median(values), 3) if values else None


def percentile_ms(sorted_seconds: list[float], p: float) -> float | None:
    """The nearest-rank percentile of sorted durations in seconds, in milliseconds."""
    if not sorted_seconds:
        return None
    return round(sorted_seconds[max(0, math.ceil(p / 100 * len(sorted_seconds)) - 1)] * 1000, 2)


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a and b else None


def count_events(events_db: Path, topic_like: str) -> int:
    with sqlite3.connect(events_db) as db:
        return db.execute("SELECT count(*) FROM stored_events WHERE topic LIKE ?", (topic_like,)).fetchone()[0]


class Server:
    """`astapa serve` on a fresh temp data dir, plus one project made with the CLI."""

    def __init__(self, data: Path, port: int, proc: subprocess.Popen, project: dict, logfile: Path) -> None:
        self.data = data
        self.port = port
        self.proc = proc
        self.project = project
        self.logfile = logfile
        self.base = f"http://127.0.0.1:{port}"

    @property
    def events_db(self) -> Path:
        return self.data / "events.db"

    def authorize_query(self, state: str = "s") -> str:
        return urlencode({"client_id": self.project["client_id"], "redirect_uri": REDIRECT_URI,
                          "response_type": "code", "state": state})


def start_astapa(data: Path, port: int, logfile: Path, extra_args: tuple = (), cpus: str | None = None,
                 env: dict | None = None) -> subprocess.Popen:
    """`astapa serve` on 127.0.0.1:port with the data dir `data`, answering /healthz."""
    proc = start(pinned([ASTAPA, "serve", "--host", "127.0.0.1", "--port", str(port), "--data-dir", data,
                         *extra_args], cpus), logfile, env=env)
    wait_http(f"http://127.0.0.1:{port}/healthz", proc, logfile)
    return proc


@contextmanager
def astapa_server(extra_args: tuple = (), *, cpus: str | None = None, env: dict | None = None,
                  project_args: tuple = ()) -> Iterator[Server]:
    """A server on a fresh temp data dir with one project made by the CLI (`project_args`
    added, e.g. ("--scope", "api")). `cpus`: the cores it runs on (taskset)."""
    with tempfile.TemporaryDirectory(prefix="astapa-bench-") as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        port, logfile = free_port(), Path(tmp) / "serve.log"
        proc = start_astapa(data, port, logfile, extra_args, cpus, env)
        try:
            project = run_json([ASTAPA, "project", "create", "--data-dir", data, "--name", "bench",
                                "--redirect-uri", REDIRECT_URI, *project_args])
            server = Server(data, port, proc, project, logfile)
            # The server polls for new clients: wait until the sign-in page knows this one.
            wait_http(f"{server.base}/auth/login?{server.authorize_query()}", proc, logfile, timeout=30)
            yield server
        finally:
            stop(proc)


# -- client_credentials tokens under wrk (scripts/bench/token.lua), and the peer --------

def check_token(url: str, client_id: str, secret: str) -> None:
    """One request before the load: it must be 200 with an RS256 JWT access token."""
    auth = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    request = urllib.request.Request(url, data=b"grant_type=client_credentials&scope=api", method="POST",
                                     headers={"Authorization": f"Basic {auth}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            token = json.load(response)["access_token"]
    except urllib.error.HTTPError as e:
        sys.exit(f"token request to {url} answered {e.code}: {e.read()[:500]!r}")
    head = token.split(".")[0]
    header = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    if header.get("alg") != "RS256":
        sys.exit(f"token from {url} is not an RS256 JWT: header {header}")


def token_load(wrk: str, bases: str | list[str], path: str, client_id: str, secret: str, threads: int,
               connections: int, duration: int, server_pids: int | Sequence[int],
               cpus: str | None = None) -> dict:
    """`connections` token requests (client_credentials, HTTP Basic) to each base URL at once
    for `duration` seconds: run_wrk's figures with `tokens_per_s` and `errors` (socket errors
    and timeouts). With several bases, counts and rates are summed over them, p50 and p99
    are the worst base's, and `runs` holds each base's own figures."""
    bases = [bases] if isinstance(bases, str) else bases
    env = {"BENCH_PATH": path, "BENCH_BASIC_AUTH": base64.b64encode(f"{client_id}:{secret}".encode()).decode()}
    runs = run_wrk_many(wrk, BENCH / "token.lua", [f"{base}/" for base in bases], env, threads, connections,
                        duration, server_pids, cpus)
    for figures in runs:
        figures["tokens_per_s"] = round(figures["ok"] / figures["seconds"], 1)
        figures["errors"] = sum(figures[k] for k in ("connect_errors", "read_errors", "write_errors", "timeouts"))
    figures = runs[0]
    if len(runs) > 1:
        figures = {**runs[0], "runs": runs}
        for key in ("requests", "ok", "non200", "errors", "connect_errors", "read_errors", "write_errors",
                    "timeouts"):
            figures[key] = sum(run[key] for run in runs)
        figures["tokens_per_s"] = round(sum(run["tokens_per_s"] for run in runs), 1)
        for key in ("p50_us", "p99_us", "max_us", "p50_ms", "p99_ms"):
            figures[key] = max(run[key] for run in runs)
    each = f" ({' + '.join(str(run['tokens_per_s']) for run in runs)})" if len(runs) > 1 else ""
    log(f"  {figures['tokens_per_s']} tokens/s{each} ({figures['ok']} x 200, {figures['non200']} non-200, "
        f"{figures['errors']} socket errors/timeouts), p50 {figures['p50_us'] / 1000:.2f} ms, "
        f"p99 {figures['p99_ms']} ms, server used {figures['server_cores']} cores")
    return figures


def ensure_peer() -> bool:
    """node-oidc-provider and Node 22 under scripts/bench/node_modules (npm install on first use)."""
    if NODE.exists() and (BENCH / "node_modules" / "oidc-provider").exists():
        return True
    if not shutil.which("npm"):
        log("  npm not found (apt-get install -y npm); skipping the peer")
        return False
    log("  npm install --prefix scripts/bench (oidc-provider, node@22)")
    subprocess.run(["npm", "install", "--prefix", BENCH, "--no-package-lock", "--no-audit", "--no-fund"],
                   timeout=600, check=True)
    return NODE.exists()


@dataclass
class Peer:
    proc: subprocess.Popen
    port: int
    client_id: str
    secret: str
    version: str
    path: str = "/token"

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextmanager
def peer_server(cpus: str | None = None) -> Iterator[Peer | None]:
    """node-oidc-provider (scripts/bench/oidc_peer.mjs, one process, NODE_ENV=production)
    with one client_credentials client, checked with one token; None without npm."""
    if not ensure_peer():
        yield None
        return
    version = subprocess.run([NODE, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    client_id, secret = "bench", base64.urlsafe_b64encode(os.urandom(24)).decode()
    with tempfile.TemporaryDirectory(prefix="oidc-peer-") as tmp:
        port, logfile = free_port(), Path(tmp) / "peer.log"
        proc = start(pinned([NODE, BENCH / "oidc_peer.mjs", str(port), client_id, secret], cpus), logfile,
                     cwd=BENCH, env=dict(os.environ, NODE_ENV="production"))
        try:
            wait_http(f"http://127.0.0.1:{port}/.well-known/openid-configuration", proc, logfile)
            log(f"  node {version}, oidc-provider on port {port}")
            peer = Peer(proc, port, client_id, secret, version)
            check_token(f"{peer.base}{peer.path}", client_id, secret)
            yield peer
        finally:
            stop(proc)


class Filler(Aggregate):
    """Events no server reads, written straight into a store: Filler.Created, then Filler.Noted."""

    @event("Noted")
    def note(self) -> None:
        pass


# -- the hosted pages, as a browser without JavaScript -----------------------------------

def hidden_fields(html: str) -> dict[str, str]:
    return {name: unescape(value) for name, value in HIDDEN.findall(html)}


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query, keep_blank_values=True).items()}


def session(limit: int = 100) -> aiohttp.ClientSession:
    """No cookie jar: every cookie is sent by hand, exactly as the caller decides."""
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=limit),
                                 cookie_jar=aiohttp.DummyCookieJar(),
                                 timeout=aiohttp.ClientTimeout(total=120))


async def open_form(http: aiohttp.ClientSession, server: Server, path: str) -> tuple[dict, str]:
    """GET /auth/login or /auth/signup: (hidden fields, the CSRF cookie value)."""
    async with http.get(f"{server.base}{path}?{server.authorize_query()}", allow_redirects=False) as r:
        html = await r.text()
        if r.status != 200:
            sys.exit(f"GET {path} answered {r.status}: {html[:500]}")
        cookie = r.cookies.get(CSRF_COOKIE)
    fields = hidden_fields(html)
    if cookie is None or "csrf_token" not in fields or "authorization" not in fields:
        sys.exit(f"GET {path}: no CSRF cookie or hidden fields in the form")
    return fields, cookie.value


async def sign_up(http: aiohttp.ClientSession, server: Server, email: str) -> dict:
    """One new account: {"email", "session": session cookie, "code": the first code}."""
    fields, csrf = await open_form(http, server, "/auth/signup")
    data = {**fields, "email": email, "password": PASSWORD, "action": "signup"}
    while True:
        async with http.post(f"{server.base}/auth/signup", data=data, allow_redirects=False,
                             headers={"Cookie": f"{CSRF_COOKIE}={csrf}"}) as r:
            body = await r.text()
            if r.status != 429:  # 429: the bcrypt queue is full for now
                break
            await asyncio.sleep(int(r.headers.get("Retry-After", "1")))
    if r.status != 303:
        sys.exit(f"sign-up of {email} answered {r.status}: {body[:500]}")
    cookies = {name: morsel.value for name, morsel in r.cookies.items()}
    code = query_of(r.headers["Location"]).get("code")
    session_cookie = next((f"{k}={v}" for k, v in cookies.items() if k.endswith("astapa_session")), None)
    if not code or not session_cookie:
        sys.exit(f"sign-up of {email}: no code or no session cookie")
    return {"email": email, "session": session_cookie, "code": code}


async def sign_up_many(server: Server, count: int, prefix: str) -> list[dict]:
    """`count` accounts, signed up concurrently (bcrypt hashing dominates)."""
    async with session() as http:
        return list(await asyncio.gather(*(sign_up(http, server, f"{prefix}{i}@bench.example")
                                           for i in range(count))))


async def code_from_session(http: aiohttp.ClientSession, server: Server, session_cookie: str) -> str:
    """GET /auth/login with a live session: straight back to the client with a new code."""
    async with http.get(f"{server.base}/auth/login?{server.authorize_query()}", allow_redirects=False,
                        headers={"Cookie": session_cookie}) as r:
        if r.status != 303:
            sys.exit(f"GET /auth/login with a session answered {r.status}: {(await r.text())[:500]}")
        return query_of(r.headers["Location"])["code"]


async def exchange(http: aiohttp.ClientSession, server: Server, code: str) -> dict:
    """The authorization code grant: the token response (access and refresh tokens)."""
    auth = aiohttp.BasicAuth(server.project["client_id"], server.project["client_secret"])
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
    async with http.post(f"{server.base}/oauth/token", data=data, auth=auth) as r:
        body = await r.text()
        if r.status != 200:
            sys.exit(f"code exchange answered {r.status}: {body[:500]}")
        return json.loads(body)


async def refresh(http: aiohttp.ClientSession, server: Server, refresh_token: str) -> tuple[int, dict | str]:
    auth = aiohttp.BasicAuth(server.project["client_id"], server.project["client_secret"])
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    async with http.post(f"{server.base}/oauth/token", data=data, auth=auth) as r:
        body = await r.text()
        return r.status, (json.loads(body) if r.status == 200 else body)


def jwt_payload(token: str) -> dict:
    """A JWT's claims, decoded without any verification (for checking what a token carries)."""
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


# -- the management API (the project's own client, HTTP Basic) --------------------------

def project_auth(server: Server) -> aiohttp.BasicAuth:
    return aiohttp.BasicAuth(server.project["client_id"], server.project["client_secret"])


async def user_sub(http: aiohttp.ClientSession, server: Server, email: str) -> str:
    """GET /api/platform/users?email=E: the one user's sub (exits on anything else)."""
    async with http.get(f"{server.base}/api/platform/users", params={"email": email},
                        auth=project_auth(server)) as r:
        body = await r.text()
        if r.status != 200:
            sys.exit(f"GET /api/platform/users?email={email} answered {r.status}: {body[:500]}")
    users = json.loads(body).get("users")
    if not isinstance(users, list) or len(users) != 1 or not users[0].get("sub"):
        sys.exit(f"GET /api/platform/users?email={email}: not one user with a sub: {body[:500]}")
    return users[0]["sub"]


async def patch_claims(http: aiohttp.ClientSession, server: Server, sub: str, claims: dict) -> dict:
    """PATCH /api/platform/users/{sub}/claims with `claims`: the user answered (exits on non-200)."""
    async with http.patch(f"{server.base}/api/platform/users/{sub}/claims", json=claims,
                          auth=project_auth(server)) as r:
        body = await r.text()
        if r.status != 200:
            sys.exit(f"PATCH /api/platform/users/{sub}/claims answered {r.status}: {body[:500]}")
    return json.loads(body)


def install_signal_handlers() -> None:
    def shutdown(signum, frame) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started with SIGINT ignored


def report(summary: dict, targets: list[tuple], details: str) -> None:
    """Print each (name, value, target text, check) as met or MISSED, the details line, a
    warning when other processes skewed the run, then the summary as one JSON line."""
    for name, value, target, good in targets:
        status = "n/a" if value is None else ("met" if good(value) else "MISSED")
        log(f"  {name}: {value} (target {target}): {status}")
    log(details)
    warning = busy_warning(summary["others_cores"], summary["raw_cpu_share"])
    if warning:
        log(f"  {warning}")
    summary["busy_machine"] = warning is not None
    print(json.dumps(summary), flush=True)


def run_benchmark(main) -> None:
    """Run a benchmark's main(); whatever happens, stop every process it started."""
    install_signal_handlers()
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)
    finally:
        stop_all()
