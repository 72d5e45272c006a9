#!/usr/bin/env python3
"""Benchmark (not a test) of Astapa in several processes and as a cluster, on this machine.

One run measures, side by side, client_credentials tokens under wrk (scripts/bench/token.lua,
HTTP Basic, every answer counted and checked against the AccessToken.Issued events):

1. The whole machine, nothing pinned, --connections connections: `astapa serve --workers 1`,
   `astapa serve --workers 2` (a supervisor and two workers on one port, SO_REUSEPORT) and
   node-oidc-provider (scripts/bench/oidc_peer.mjs: one process, NODE_ENV=production, as its
   docs run it). For each: tokens/s, p99, the server CPU seconds used (the server process
   and all its children: a supervisor's workers too), tokens per server CPU second.
   Targets: workers 2 / workers 1 >= 1.3; workers 2 / node-oidc-provider >= 1.2; workers 2
   p99 <= 100 ms; tokens per CPU second with 2 workers / with 1 >= 0.9.
2. One core: each server pinned to core 0 (taskset -c 0), wrk on core 1: Astapa (one
   process) against node-oidc-provider and one core's raw RS256 signing (joserfc, on core 0).
   Targets: Astapa / node-oidc-provider >= 1.0; Astapa / raw signing >= 0.6.
3. PostgreSQL: a throwaway server (tests/postgres.py), made durable as production runs it
   (fsync, synchronous_commit and full_page_writes on: the tests turn them off). Two nodes
   (`astapa serve --store URL`, each its own data dir and port, one ASTAPA_SECRET_KEY and
   ASTAPA_ISSUER) each get half the connections from their own wrk at once; then one node
   alone gets them all. Then the store's write ceiling, with no server running: one-event
   aggregates saved through astapa.store.events.EventStore one per save from one process,
   the same from 4 processes at once, and 100 per save (events/s). Every insert takes the
   events table's lock, so saves are one at a time whatever the number of writers. No targets.

Before each figure the script waits (up to --quiet-wait seconds) until other work on the
machine has stopped; a figure that other work overlapped anyway is flagged at the end.
Each server's log is checked for tracebacks, 5xx answers and restarted workers. With
--rounds N everything runs N times (the order of the servers reversed every other round)
and the figures are medians. Only 127.0.0.1 is targeted; every server started here is
stopped on exit, error or Ctrl-C. The last line is a JSON summary.

    .venv/bin/python scripts/bench_cluster.py [--duration 10] [--connections 128] [--rounds 1]
        [--skip-peer] [--skip-postgres] [--quiet-wait 180]
"""

import argparse
import multiprocessing
import os
import re
import secrets
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests.postgres, astapa
sys.path.insert(0, str(ROOT / "scripts" / "bench"))

from harness import (  # noqa: E402  (scripts/bench/harness.py: shared with the other benches)
    ASTAPA,
    REDIRECT_URI,
    Filler,
    Server,
    astapa_server,
    check_token,
    count_events,
    ensure_wrk,
    free_port,
    log,
    median,
    peer_server,
    ratio,
    raw_sign_rate,
    report,
    run_benchmark,
    run_json,
    start_astapa,
    stop,
    token_load,
    tree_cpu_seconds,
    wait_http,
    wait_quiet,
)

TOKEN_PATH = "/oauth/token"
ISSUED = "%AccessToken.Issued%"
SERVER_CORE, CLIENT_CORE = "0", "1"  # the pinned section
WRITERS = 4  # processes saving at once in the write ceiling
BATCH = 100  # aggregates per save in the batched write ceiling
DURABLE = {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}
WORKER_SERVING = re.compile(r"serving \S+ \(data dir .*, worker (\d+)\)")
WORKER_STARTED = re.compile(r"worker (\d+) started \(pid (\d+)\)")
ACCESS_5XX = re.compile(r"aiohttp\.access \S+ \S+ 5\d\d ")


# -- what went wrong in a server, from its log ---------------------------------------------

def server_problems(logfile: Path, workers: int = 1) -> dict:
    """Tracebacks, 5xx answers, ERROR lines and worker restarts in a server's log."""
    text = logfile.read_text(errors="replace")
    problems = {
        "tracebacks": text.count("Traceback (most recent call last)"),
        "answers_5xx": len(ACCESS_5XX.findall(text)),
        "error_lines": sum(1 for line in text.splitlines() if " ERROR " in line or " CRITICAL " in line),
        "worker_restarts": max(0, len(WORKER_STARTED.findall(text)) - workers) if workers > 1 else 0,
    }
    if any(problems.values()):
        lines = [line for line in text.splitlines() if " ERROR " in line or "Traceback" in line or " 5" in line]
        log(f"  PROBLEMS in {logfile.name}: {problems}; first lines: {lines[:5]}")
    return problems


def add_problems(total: dict, problems: dict) -> None:
    for key, value in problems.items():
        total[key] = total.get(key, 0) + value


def wait_workers(server: Server, workers: int, timeout: float = 60) -> list[int]:
    """Until every worker says it is serving (a worker that is not yet listening gets no
    connections, so the first load would measure fewer); their pids, from the log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = server.logfile.read_text(errors="replace")
        serving = {int(n) for n in WORKER_SERVING.findall(text)}
        if serving >= set(range(1, workers + 1)):
            return [int(pid) for _, pid in WORKER_STARTED.findall(text)]
        if server.proc.poll() is not None:
            sys.exit(f"the supervisor exited with {server.proc.returncode}; log {server.logfile}")
        time.sleep(0.2)
    sys.exit(f"not all {workers} workers serving within {timeout:.0f}s; log {server.logfile}")


def quiet(args: argparse.Namespace, own_pids: list[int] = ()) -> None:
    """Before a figure, wait (up to --quiet-wait seconds) for other work on the machine to end."""
    if args.quiet_wait > 0:
        args.waited += wait_quiet(args.quiet_wait, own_pids)


def tokens_per_cpu(figures: dict) -> float | None:
    return round(figures["ok"] / figures["server_cpu"], 1) if figures["server_cpu"] else None


def check_issued(issued: int, answered: int, label: str) -> bool:
    """Every 200 counted (the checks, the warm-ups, the measured loads) is an event in the store."""
    good = issued >= answered
    log(f"  AccessToken.Issued events: {issued} vs {answered} x 200 answered: {'OK' if good else 'MISSING EVENTS'}"
        f" ({label})")
    return good


# -- 1 and 2: one server, a load ------------------------------------------------------------

def bench_astapa(wrk: str, args: argparse.Namespace, workers: int | None, cpus: str | None = None,
                 wrk_cpus: str | None = None) -> dict:
    """`astapa serve` (with --workers `workers`, unless None) on a fresh data dir."""
    extra = ("--workers", str(workers)) if workers else ()
    with astapa_server(extra, cpus=cpus, project_args=("--scope", "api")) as server:
        pids = wait_workers(server, workers) if workers and workers > 1 else [server.proc.pid]
        if workers and workers > 1:
            log(f"  supervisor pid {server.proc.pid}, workers {pids}")
        client_id, secret = server.project["client_id"], server.project["client_secret"]
        check_token(f"{server.base}{TOKEN_PATH}", client_id, secret)
        quiet(args, [server.proc.pid])
        log(f"  warm-up {args.warmup}s:")
        warm = token_load(wrk, server.base, TOKEN_PATH, client_id, secret, args.threads, args.connections,
                          args.warmup, server.proc.pid, wrk_cpus)
        figures = token_load(wrk, server.base, TOKEN_PATH, client_id, secret, args.threads, args.connections,
                             args.duration, server.proc.pid, wrk_cpus)
        figures["events_ok"] = check_issued(count_events(server.events_db, ISSUED), 1 + warm["ok"] + figures["ok"],
                                            "SQLite")
        figures["problems"] = server_problems(server.logfile, workers or 1)
    figures["tokens_per_cpu_s"] = tokens_per_cpu(figures)
    log(f"  server CPU {figures['server_cpu']:.1f} s: {figures['tokens_per_cpu_s']} tokens per CPU second; "
        f"wrk {figures['client_cores']} cores, other processes {figures['others_cores']} cores")
    return figures


def bench_peer(wrk: str, args: argparse.Namespace, cpus: str | None = None,
               wrk_cpus: str | None = None) -> dict | None:
    with peer_server(cpus) as peer:
        if peer is None:
            return None
        quiet(args, [peer.proc.pid])
        log(f"  warm-up {args.warmup}s:")
        token_load(wrk, peer.base, peer.path, peer.client_id, peer.secret, args.threads, args.connections,
                   args.warmup, peer.proc.pid, wrk_cpus)
        figures = token_load(wrk, peer.base, peer.path, peer.client_id, peer.secret, args.threads,
                             args.connections, args.duration, peer.proc.pid, wrk_cpus)
    figures["tokens_per_cpu_s"] = tokens_per_cpu(figures)
    log(f"  server CPU {figures['server_cpu']:.1f} s: {figures['tokens_per_cpu_s']} tokens per CPU second; "
        f"wrk {figures['client_cores']} cores, other processes {figures['others_cores']} cores")
    return figures


def raw_on_core(args: argparse.Namespace) -> dict:
    quiet(args)
    return raw_sign_rate(cpus=SERVER_CORE)


def whole_machine(wrk: str, args: argparse.Namespace, reverse: bool) -> dict:
    runs = [("workers1", f"Astapa --workers 1: POST {TOKEN_PATH}", lambda: bench_astapa(wrk, args, 1)),
            ("workers2", f"Astapa --workers 2: POST {TOKEN_PATH}", lambda: bench_astapa(wrk, args, 2))]
    if not args.skip_peer:
        runs.append(("node", "node-oidc-provider, one process: POST /token", lambda: bench_peer(wrk, args)))
    figures = {}
    for key, title, run in reversed(runs) if reverse else runs:
        log(f"{title}, {args.connections} connections, {args.duration}s, whole machine")
        figures[key] = run()
    return figures


def per_core(wrk: str, args: argparse.Namespace, reverse: bool) -> dict:
    where = f"server on core {SERVER_CORE}, wrk on core {CLIENT_CORE}"
    runs = [("astapa", f"Astapa, one process: POST {TOKEN_PATH}, {args.connections} connections, "
                       f"{args.duration}s, {where}",
             lambda: bench_astapa(wrk, args, None, SERVER_CORE, CLIENT_CORE)),
            ("raw", f"Raw RS256 signing, joserfc, core {SERVER_CORE}, 3s",
             lambda: raw_on_core(args))]
    if not args.skip_peer:
        runs.insert(1, ("node", f"node-oidc-provider, one process: POST /token, {args.connections} connections, "
                                f"{args.duration}s, {where}",
                        lambda: bench_peer(wrk, args, SERVER_CORE, CLIENT_CORE)))
    figures = {}
    for key, title, run in reversed(runs) if reverse else runs:
        log(title)
        figures[key] = run()
    return figures


# -- 3: PostgreSQL ----------------------------------------------------------------------

def start_postgres():
    """The throwaway server of the tests, then made durable (its superuser over the socket)."""
    import psycopg

    from tests.postgres import SUPERUSER, PostgresServer

    pg = PostgresServer()
    try:
        pg.start()
        with psycopg.connect(host=str(pg.root), port=pg.port, user=SUPERUSER, dbname="postgres",
                             autocommit=True) as admin:
            for name, value in DURABLE.items():
                admin.execute(f"ALTER SYSTEM SET {name} = {value}")
            admin.execute("SELECT pg_reload_conf()")
            time.sleep(0.5)
            settings = {name: admin.execute(f"SHOW {name}").fetchone()[0] for name in DURABLE}
            version = admin.execute("SHOW server_version").fetchone()[0]
    except BaseException:
        pg.close()
        raise
    if settings != DURABLE:
        pg.close()
        sys.exit(f"PostgreSQL did not take the durable settings: {settings}")
    log(f"  PostgreSQL {version} on port {pg.port}: " + ", ".join(f"{k}={v}" for k, v in settings.items()))
    return pg


def postmaster_pid(pg) -> int:
    return int((pg.data / "postmaster.pid").read_text().splitlines()[0])


def pg_count(url: str, topic_like: str) -> int:
    """Events whose topic is like `topic_like` in the server's events table (eventsourcing
    names it after the server's application class)."""
    import psycopg
    from psycopg import sql

    from astapa.app import AstapaApplication

    table = sql.Identifier(f"{AstapaApplication.name.lower()}_events")
    with psycopg.connect(url) as db:
        query = sql.SQL("SELECT count(*) FROM {} WHERE topic LIKE %s").format(table)
        return db.execute(query, [topic_like]).fetchone()[0]


def bench_postgres(wrk: str, args: argparse.Namespace, pg, round_number: int) -> dict:
    url = pg.create_database(f"bench_{round_number}_{secrets.token_hex(4)}")
    env = {**os.environ, "ASTAPA_SECRET_KEY": secrets.token_urlsafe(32),
           "ASTAPA_ISSUER": f"http://127.0.0.1:{free_port()}"}  # the load balancer's URL, shared
    postgres = postmaster_pid(pg)
    figures: dict = {"problems": {}}
    with tempfile.TemporaryDirectory(prefix="astapa-cluster-") as tmp:
        nodes: list[Server] = []
        try:
            for name in ("a", "b"):
                data, port, logfile = Path(tmp) / name, free_port(), Path(tmp) / f"node-{name}.log"
                data.mkdir()
                proc = start_astapa(data, port, logfile, ("--store", url), env=env)
                nodes.append(Server(data, port, proc, {}, logfile))
            project = run_json([ASTAPA, "project", "create", "--store", url, "--name", "bench",
                                "--redirect-uri", REDIRECT_URI, "--scope", "api"], env=env)
            client_id, secret = project["client_id"], project["client_secret"]
            for node in nodes:
                node.project = project
                wait_http(f"{node.base}/auth/login?{node.authorize_query()}", node.proc, node.logfile, timeout=30)
                check_token(f"{node.base}{TOKEN_PATH}", client_id, secret)
            bases, pids = [node.base for node in nodes], [node.proc.pid for node in nodes]
            half = max(1, args.connections // 2)
            log(f"Two nodes on one PostgreSQL: POST {TOKEN_PATH}, {half} connections to each at once, "
                f"{args.duration}s")
            quiet(args, [*pids, postgres])
            log(f"  warm-up {args.warmup}s:")
            warm = token_load(wrk, bases, TOKEN_PATH, client_id, secret, args.threads, half, args.warmup,
                              [*pids, postgres])
            both = token_load(wrk, bases, TOKEN_PATH, client_id, secret, args.threads, half, args.duration,
                              [*pids, postgres])
            log_cpu(both, {"node a": pids[0], "node b": pids[1], "PostgreSQL": postgres})
            stop(nodes[1].proc)
            log(f"One node on PostgreSQL (the other stopped): {args.connections} connections, {args.duration}s")
            quiet(args, [pids[0], postgres])
            log(f"  warm-up {args.warmup}s:")
            warm_one = token_load(wrk, bases[0], TOKEN_PATH, client_id, secret, args.threads, args.connections,
                                  args.warmup, [pids[0], postgres])
            one = token_load(wrk, bases[0], TOKEN_PATH, client_id, secret, args.threads, args.connections,
                             args.duration, [pids[0], postgres])
            log_cpu(one, {"node a": pids[0], "PostgreSQL": postgres})
            answered = len(nodes) + warm["ok"] + both["ok"] + warm_one["ok"] + one["ok"]
            figures["events_ok"] = check_issued(pg_count(url, ISSUED), answered, "PostgreSQL")
        finally:
            for node in nodes:
                stop(node.proc)
        for node in nodes:
            add_problems(figures["problems"], server_problems(node.logfile))
    figures.update(two=both, one=one)
    log(f"Write ceiling of the store: one-event aggregates saved through EventStore, "
        f"{args.write_seconds}s each, no server running")
    figures.update(write_ceiling(url, args, postgres))
    return figures


def log_cpu(figures: dict, pids: dict[str, int]) -> None:
    by_pid = figures["server_cpu_by_pid"]
    figures["cores"] = {name: round(by_pid[pid] / figures["seconds"], 2) for name, pid in pids.items()}
    cores = ", ".join(f"{name} {value:.2f}" for name, value in figures["cores"].items())
    figures["tokens_per_cpu_s"] = tokens_per_cpu(figures)
    log(f"  cores used: {cores}; wrk {figures['client_cores']}, other processes {figures['others_cores']}; "
        f"{figures['tokens_per_cpu_s']} tokens per CPU second (nodes and PostgreSQL)")


def save_loop(url: str, seconds: float, batch: int, start_at: float) -> tuple[int, float, float]:
    """Save one-event aggregates, `batch` per save, for `seconds` from `start_at` (time.time):
    (events saved, seconds taken, this process's CPU seconds meanwhile). Runs in a process
    of its own, as each writer does."""
    from eventsourcing.persistence import InternalError

    from astapa.store.events import EventStore

    for attempt in range(10):
        try:
            store = EventStore(store_url=url)
            break
        except InternalError:  # "tuple concurrently updated": eventsourcing's CREATE OR REPLACE
            if attempt == 9:  # FUNCTION at the start of each store, racing another writer's
                raise
            time.sleep(0.1 + 0.1 * attempt)
    try:
        store.save(Filler())  # the table exists and a connection is open before the clock
        time.sleep(max(0.0, start_at - time.time()))
        saved, began, cpu = 0, time.perf_counter(), time.process_time()
        deadline = began + seconds
        while time.perf_counter() < deadline:
            store.save(*(Filler() for _ in range(batch)))
            saved += batch
        return saved, time.perf_counter() - began, time.process_time() - cpu
    finally:
        store.close()


def write_ceiling(url: str, args: argparse.Namespace, postgres: int) -> dict:
    seconds, results = args.write_seconds, {}
    for key, label, writers, batch in (("one_by_one", "one process, one aggregate per save", 1, 1),
                                       ("writers", f"{WRITERS} processes at once, one aggregate per save",
                                        WRITERS, 1),
                                       ("batched", f"one process, {BATCH} aggregates per save", 1, BATCH)):
        quiet(args, [postgres])
        with multiprocessing.get_context("spawn").Pool(writers) as pool:
            start_at = time.time() + 3  # every writer imported and connected by then
            pending = pool.starmap_async(save_loop, [(url, seconds, batch, start_at)] * writers)
            time.sleep(max(0.0, start_at - time.time()))
            pg_cpu = tree_cpu_seconds(postgres)
            done = pending.get(timeout=seconds + 120)
            pg_cpu = tree_cpu_seconds(postgres) - pg_cpu
        events = sum(saved for saved, _, _ in done)
        took = max(elapsed for _, elapsed, _ in done)
        rate = round(events / took, 1)
        results[key] = {"events_per_s": rate, "saves_per_s": round(rate / batch, 1), "events": events,
                        "seconds": round(took, 2), "postgres_cores": round(pg_cpu / took, 2),
                        "writer_cores": round(sum(cpu for _, _, cpu in done) / took, 2)}
        log(f"  {label}: {results[key]['saves_per_s']} saves/s, {rate} events/s ({events} events in "
            f"{took:.1f}s); cores: PostgreSQL {results[key]['postgres_cores']}, "
            f"writers {results[key]['writer_cores']}")
    return results


# -- the run ------------------------------------------------------------------------------

def spread(values: list) -> dict:
    values = [v for v in values if v is not None]
    return {"median": median(values), "min": min(values) if values else None, "max": max(values) if values else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per figure (10)")
    parser.add_argument("--connections", type=int, default=128, help="concurrent connections (128)")
    parser.add_argument("--rounds", type=int, default=1, help="times to measure everything; medians reported (1)")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of discarded load before each figure (2)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (1)")
    parser.add_argument("--skip-peer", action="store_true", help="no node-oidc-provider figures")
    parser.add_argument("--skip-postgres", action="store_true", help="no PostgreSQL figures")
    parser.add_argument("--quiet-wait", type=int, default=180,
                        help="before each figure, wait up to this many seconds for other work on the machine to "
                             "end (180; 0: do not wait)")
    args = parser.parse_args()
    args.write_seconds = max(2, args.duration // 2)
    args.waited = 0.0
    wrk = ensure_wrk()
    log(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} before the run (other work skews every figure)")

    pg = None
    if not args.skip_postgres:
        log("PostgreSQL: a throwaway server (tests/postgres.py)")
        pg = start_postgres()
    rounds = []
    try:
        for number in range(args.rounds):
            log(f"=== Round {number + 1} of {args.rounds}")
            reverse = number % 2 == 1
            figures = {"machine": whole_machine(wrk, args, reverse), "core": per_core(wrk, args, reverse)}
            if pg is not None:
                figures["postgres"] = bench_postgres(wrk, args, pg, number + 1)
            rounds.append(figures)
    finally:
        if pg is not None:
            pg.close()

    def each(*path: str) -> list:
        values = []
        for figures in rounds:
            value = figures
            for key in path:
                value = value.get(key) if isinstance(value, dict) else None
            values.append(value)
        return values

    w1, w2, node = (each("machine", k, "tokens_per_s") for k in ("workers1", "workers2", "node"))
    e1, e2 = (each("machine", k, "tokens_per_cpu_s") for k in ("workers1", "workers2"))
    core_astapa, core_node = each("core", "astapa", "tokens_per_s"), each("core", "node", "tokens_per_s")
    core_raw = each("core", "raw", "per_s")
    pg_two, pg_one = each("postgres", "two", "tokens_per_s"), each("postgres", "one", "tokens_per_s")
    summary: dict = {"rounds": args.rounds, "duration": args.duration, "connections": args.connections}
    for name, values in (
        ("workers1_tokens_per_s", w1), ("workers2_tokens_per_s", w2), ("node_tokens_per_s", node),
        ("workers1_p99_ms", each("machine", "workers1", "p99_ms")),
        ("workers2_p99_ms", each("machine", "workers2", "p99_ms")),
        ("node_p99_ms", each("machine", "node", "p99_ms")),
        ("workers1_server_cpu_s", each("machine", "workers1", "server_cpu")),
        ("workers2_server_cpu_s", each("machine", "workers2", "server_cpu")),
        ("node_server_cpu_s", each("machine", "node", "server_cpu")),
        ("workers1_tokens_per_cpu_s", e1), ("workers2_tokens_per_cpu_s", e2),
        ("node_tokens_per_cpu_s", each("machine", "node", "tokens_per_cpu_s")),
        ("core_astapa_tokens_per_s", core_astapa), ("core_astapa_p99_ms", each("core", "astapa", "p99_ms")),
        ("core_astapa_tokens_per_cpu_s", each("core", "astapa", "tokens_per_cpu_s")),
        ("core_node_tokens_per_s", core_node), ("core_node_p99_ms", each("core", "node", "p99_ms")),
        ("core_node_tokens_per_cpu_s", each("core", "node", "tokens_per_cpu_s")),
        ("core_raw_sign_per_s", core_raw),
        ("pg_two_nodes_tokens_per_s", pg_two), ("pg_two_nodes_p99_ms", each("postgres", "two", "p99_ms")),
        ("pg_two_nodes_tokens_per_cpu_s", each("postgres", "two", "tokens_per_cpu_s")),
        ("pg_two_nodes_postgres_cores", each("postgres", "two", "cores", "PostgreSQL")),
        ("pg_one_node_tokens_per_s", pg_one), ("pg_one_node_p99_ms", each("postgres", "one", "p99_ms")),
        ("pg_one_node_tokens_per_cpu_s", each("postgres", "one", "tokens_per_cpu_s")),
        ("pg_one_node_node_cpu_ms_per_token", [round(1000 * cores / rate, 3) if cores and rate else None
                                               for cores, rate in zip(each("postgres", "one", "cores", "node a"),
                                                                      pg_one)]),
        ("pg_saves_per_s", each("postgres", "one_by_one", "saves_per_s")),
        ("pg_saves_per_s_writers", each("postgres", "writers", "saves_per_s")),
        ("pg_batched_events_per_s", each("postgres", "batched", "events_per_s")),
        ("pg_saves_postgres_cores", each("postgres", "one_by_one", "postgres_cores")),
        ("pg_saves_writers_postgres_cores", each("postgres", "writers", "postgres_cores")),
        ("pg_saves_writers_writer_cores", each("postgres", "writers", "writer_cores")),
        ("workers2_over_workers1", [ratio(b, a) for a, b in zip(w1, w2)]),
        ("workers2_over_node", [ratio(b, n) for b, n in zip(w2, node)]),
        ("cpu_efficiency_2_over_1", [ratio(b, a) for a, b in zip(e1, e2)]),
        ("core_astapa_over_node", [ratio(a, n) for a, n in zip(core_astapa, core_node)]),
        ("core_astapa_over_raw", [ratio(a, r) for a, r in zip(core_astapa, core_raw)]),
        ("pg_two_over_one", [ratio(t, o) for t, o in zip(pg_two, pg_one)]),
    ):
        summary[name] = spread(values)
    # every load measured, with its server's log problems and its check of the events
    loads = [f for r in rounds for f in (*r["machine"].values(), r["core"].get("astapa"), r["core"].get("node"))
             if f is not None]
    loads += [r["postgres"][k] for r in rounds if "postgres" in r for k in ("two", "one")]
    problems: dict = {}
    for f in loads + [r["postgres"] for r in rounds if "postgres" in r]:
        add_problems(problems, f.get("problems") or {})
    problems = {k: v for k, v in problems.items() if v}
    summary["non200"] = sum(f["non200"] for f in loads)
    summary["socket_errors"] = sum(f["errors"] for f in loads)
    summary["server_problems"] = problems
    summary["events_checked"] = all(f.get("events_ok", True) for f in loads + [r.get("postgres", {}) for r in rounds])
    summary["others_cores"] = max((f["others_cores"] for f in loads), default=None)
    summary["raw_cpu_share"] = median(each("core", "raw", "cpu_share"))
    summary["waited_for_quiet_s"] = round(args.waited)

    log("Medians (range)" if args.rounds > 1 else "Figures")
    for name, value in list(summary.items()):
        if isinstance(value, dict) and "median" in value:
            summary[name] = value["median"]
            if args.rounds > 1:
                summary[f"{name}_range"] = [value["min"], value["max"]]
            if value["median"] is not None:
                log(f"  {name}: {value['median']}" + (f" ({value['min']}-{value['max']})" if args.rounds > 1 else ""))
    log("Targets")

    report(summary, [
        ("workers 2 / workers 1, tokens/s", summary["workers2_over_workers1"], ">= 1.3", lambda v: v >= 1.3),
        ("workers 2 / node-oidc-provider, tokens/s", summary["workers2_over_node"], ">= 1.2", lambda v: v >= 1.2),
        (f"workers 2 p99 ms at {args.connections} connections", summary["workers2_p99_ms"], "<= 100", lambda v: v <= 100),
        ("tokens per CPU second, workers 2 / workers 1", summary["cpu_efficiency_2_over_1"], ">= 0.9",
         lambda v: v >= 0.9),
        ("one core: Astapa / node-oidc-provider", summary["core_astapa_over_node"], ">= 1.0", lambda v: v >= 1.0),
        ("one core: Astapa / raw RS256 signing", summary["core_astapa_over_raw"], ">= 0.6", lambda v: v >= 0.6),
    ], f"  non-200 answers {summary['non200']}, socket errors/timeouts {summary['socket_errors']}, "
       f"server log problems {problems or 'none'}, every 200 an event in the store: {summary['events_checked']}")


if __name__ == "__main__":
    run_benchmark(main)
