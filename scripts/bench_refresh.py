#!/usr/bin/env python3
"""Benchmark (not a test) of refresh-token rotation on this machine, against raw RS256 signing.

What is measured, in one run of this script, on one `astapa serve` (one process) on a
fresh temp data dir:

- Rotations/s and p99: --connections wrk connections POST grant_type=refresh_token to
  /oauth/token with HTTP Basic client auth. Each connection's token comes from its own
  sign-in of its own user (signed up first, not timed), so each is its own refresh family;
  scripts/bench/refresh.lua takes the NEW refresh token out of every 200 answer and sends
  it next, so each family is a strictly sequential chain (rotation: an old token would
  revoke the family). Every answer must be a 200 with a new refresh token: non-200s,
  answers without a token, socket errors and timeouts are counted, and any of them makes
  the figure invalid. A rotation saves the family's Rotated event and an access token's
  Issued event and signs the access token (RS256), before it answers.
- Raw signing rate: one core signing an access token's claims with joserfc, flat out
  (scripts/bench/raw_sign.py, the same as scripts/bench_token.py), right after each load.
- Where the CPU went during the load: the server's cores, wrk's, and everyone else's.

Each run measures fresh families (each starts with a code exchange), so a family is at
most a few hundred rotations old by the end; --family-age N rotates each one N times
first (untimed), for the cost of long-lived families. The output says how old they were.

Before the load, one spare family checks that rotation is real: the new token works, the
old one is refused, and the family is then dead. After the load, the event log must hold
a Rotated event for every 200 seen (and no reuse beyond the check's).

Target: rotations/s >= 0.35 x one core's raw signing rate. With --runs N the figures are
medians of N runs (one server; fresh families, warm-up and measured load, raw rate in each
run). Only 127.0.0.1 is targeted; every process started here is stopped on exit, error or
Ctrl-C.

Custom claims. --claims N gives every user N custom claims through the management API
(PATCH /api/platform/users/{sub}/claims, the project's client with HTTP Basic; the sub from
GET /api/platform/users?email=E) after sign-up and before any load: realistic JSON mixing
strings, numbers, booleans, a list and an object, ~30 bytes a claim. Each PATCH must answer
200 with exactly those claims plus "plan". The rotation check's refreshed access token, and
one sampled from wrk's 200 answers per thread in every load, must carry exactly them
(its `custom_claims`: the N and "plan"): otherwise the script stops.

--compare-claims N answers "does the token path cost more for users with claims?": each of
--runs runs measures a fresh server whose users hold no custom claims and a fresh server
whose users hold N (order alternating run by run: 0 then N, N then 0, ...), and reports
rotations/s for each, the ratio with / without per run, its median and range. Target:
median ratio >= 0.90 (with claims within 10% of without).

    .venv/bin/python scripts/bench_refresh.py [--duration 10] [--connections 64] [--warmup 2]
        [--threads 1] [--runs 1] [--family-age 0] [--claims 0 | --compare-claims N]
"""

import argparse
import asyncio
import base64
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "bench"))

from harness import (  # noqa: E402
    report,
    run_benchmark,
    BENCH,
    Server,
    astapa_server,
    code_from_session,
    count_events,
    ensure_wrk,
    exchange,
    log,
    jwt_payload,
    median,
    patch_claims,
    ratio,
    raw_sign_rate,
    refresh,
    run_wrk,
    session,
    sign_up_many,
    user_sub,
)

RATIO_TARGET = 0.35
CLAIMS_RATIO_TARGET = 0.90  # rotations/s with the claims / without: within 10%
FREE_PLAN = {"plan": "free"}


def jwt_alg(token: str) -> str | None:
    head = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4))).get("alg")


def claims_for(count: int, sub: str) -> dict:
    """`count` custom claims for user `sub`, as an application would set them: strings,
    numbers and booleans named claim_00, claim_01, ..., and (from 2 on) the last two a small
    list ("flags") and a small object ("limits"). Deterministic, so a token can be checked."""
    n = int(sub)
    names = [f"claim_{i:02d}" for i in range(count)]
    if count >= 2:
        names[-2:] = ["flags", "limits"]
    claims: dict = {}
    for i, name in enumerate(names):
        if name == "flags":
            claims[name] = ["beta", "export-csv", f"region-{n % 7}"]
        elif name == "limits":
            claims[name] = {"seats": 25 + n % 10, "storage_gb": 100.5, "sso": n % 2 == 0}
        else:
            claims[name] = (
                f"value-{i:02d}-{sub}-org-acme-eu-west", 1000 * i + n % 1000, i % 4 == 2,
                f"tenant:{n % 97}:role-{i}", round(i * 1.25 + n % 10, 2),
            )[i % 5]
    return claims


def expected_claims(count: int, sub: str) -> dict:
    """The custom claims a token of `sub` must carry: its `count` claims and the free plan."""
    return {**claims_for(count, sub), **FREE_PLAN}


def check_token_claims(token: str, count: int, where: str) -> None:
    """The access token's `custom_claims` are exactly its user's (the N set, and plan); else stop."""
    payload = jwt_payload(token)
    carried = payload.get("custom_claims")
    want = expected_claims(count, str(payload.get("sub")))
    if carried != want:
        sys.exit(f"{where}: the access token of sub {payload.get('sub')} carries custom claims "
                 f"{json.dumps(carried)[:600]}, not the {len(want)} expected {json.dumps(want)[:600]}")


async def give_claims(server: Server, accounts: list[dict], count: int) -> None:
    """Each account's user gets `count` custom claims via the management API (checked)."""
    limit = asyncio.Semaphore(8)

    async def one(account: dict) -> int:
        async with limit:
            sub = await user_sub(http, server, account["email"])
            claims = claims_for(count, sub)
            user = await patch_claims(http, server, sub, claims)
        if user.get("sub") != sub or user.get("custom_claims") != {**claims, **FREE_PLAN}:
            sys.exit(f"PATCH /api/platform/users/{sub}/claims answered 200 with custom_claims "
                     f"{json.dumps(user.get('custom_claims'))[:600]}, not the {count} claims sent plus plan")
        return len(json.dumps(claims, separators=(",", ":")).encode())

    async with session() as http:
        sizes = await asyncio.gather(*(one(account) for account in accounts))
    log(f"  gave each of {len(accounts)} users {count} custom claims ({min(sizes)}-{max(sizes)} bytes of JSON) "
        f"via PATCH /api/platform/users/{{sub}}/claims: every answer 200 with the {count} claims + plan")


async def fresh_tokens(server: Server, accounts: list[dict]) -> list[str]:
    """One new refresh family per account: a code from its live session, then the exchange."""
    limit = asyncio.Semaphore(8)

    async def one(account: dict) -> str:
        async with limit:
            code = await code_from_session(http, server, account["session"])
            return (await exchange(http, server, code))["refresh_token"]

    async with session() as http:
        return list(await asyncio.gather(*(one(account) for account in accounts)))


async def age_families(server: Server, tokens: list[str], rotations: int) -> list[str]:
    """Rotate every family `rotations` times first (each chain sequential, all at once)."""

    async def chain(token: str) -> str:
        for _ in range(rotations):
            status, body = await refresh(http, server, token)
            if status != 200:
                sys.exit(f"ageing a family: refresh answered {status}: {str(body)[:300]}")
            token = body["refresh_token"]
        return token

    async with session(limit=len(tokens)) as http:
        return list(await asyncio.gather(*(chain(token) for token in tokens)))


async def check_rotation(server: Server, account: dict, claims: int) -> None:
    """A spare family: rotate twice, then reuse the first token (two generations back, so
    past any reuse grace); the family must then be dead."""
    (first,) = await fresh_tokens(server, [account])
    async with session() as http:
        status, body = await refresh(http, server, first)
        if status != 200 or not isinstance(body, dict) or body.get("refresh_token") in (None, first):
            sys.exit(f"refresh answered {status} without a new refresh token: {str(body)[:500]}")
        if jwt_alg(body["access_token"]) != "RS256":
            sys.exit("the refreshed access token is not an RS256 JWT")
        check_token_claims(body["access_token"], claims, "rotation check")
        status, second = await refresh(http, server, body["refresh_token"])
        if status != 200 or not isinstance(second, dict):
            sys.exit(f"the second refresh answered {status}: {str(second)[:500]}")
        reused, _ = await refresh(http, server, first)
        after, _ = await refresh(http, server, second["refresh_token"])
    if reused == 200 or after == 200:
        sys.exit(f"rotation not enforced: old token answered {reused}, then the newest one {after}")
    log(f"  rotation check: new tokens 200 (RS256, {'with' if 'id_token' in body else 'no'} id_token), "
        f"first token reused -> {reused}, then the newest one -> {after} (family revoked), "
        f"{claims} custom claims + plan in the access token: OK")


def load(wrk: str, server: Server, tokens: list[str], args: argparse.Namespace, duration: int) -> dict:
    """wrk with refresh.lua for `duration` seconds over `tokens`; its figures and the CPU split."""
    per_thread = args.connections // args.threads
    with tempfile.NamedTemporaryFile("w", prefix="refresh-tokens-", suffix=".txt") as file:
        file.write("\n".join(tokens) + "\n")
        file.flush()
        basic = f"{server.project['client_id']}:{server.project['client_secret']}"
        env = dict(BENCH_PATH="/oauth/token", BENCH_TOKENS=file.name, BENCH_THREADS=str(args.threads),
                   BENCH_PER_THREAD=str(per_thread), BENCH_BASIC_AUTH=base64.b64encode(basic.encode()).decode())
        figures = run_wrk(wrk, BENCH / "refresh.lua", f"{server.base}/", env, args.threads, args.connections,
                          duration, server.proc.pid)
    figures["samples"] = [line.split(" ", 1)[1] for line in figures["stdout"].splitlines()
                          if line.startswith("BENCH_SAMPLE ")]
    seconds = figures["seconds"]
    figures["rotations_per_s"] = round(figures["ok"] / seconds, 1)
    figures["failures"] = failures = sum(figures[k] for k in (
        "non200", "no_token", "starved", "connect_errors", "read_errors", "write_errors", "timeouts"))
    if figures["tokens_loaded"] != per_thread * args.threads:
        figures["failures"] += 1
        log(f"  only {figures['tokens_loaded']} of {per_thread * args.threads} tokens reached wrk's threads")
    log(f"  {figures['rotations_per_s']} rotations/s ({figures['ok']} x 200 with a new refresh token in "
        f"{seconds:.1f}s; {figures['non200']} non-200, {figures['no_token']} without a token, "
        f"{figures['starved']} starved, {failures - figures['non200'] - figures['no_token'] - figures['starved']} "
        f"socket errors/timeouts), p50 {figures['p50_ms']} ms, p99 {figures['p99_ms']} ms; cores used: server "
        f"{figures['server_cores']}, wrk {figures['client_cores']}, everything else {figures['others_cores']}")
    return figures


def check_samples(figures: dict, claims: int) -> None:
    """Access tokens wrk sampled from its 200 answers carry the users' claims; else stop."""
    if figures["ok"] and not figures["samples"]:
        sys.exit("wrk's output has no sampled access token (BENCH_SAMPLE) to check the claims with")
    for token in figures["samples"]:
        check_token_claims(token, claims, "during the load")
    log(f"  {len(figures['samples'])} access token(s) sampled from the load's answers carry the users' "
        f"{claims} custom claims + plan: OK")


def measure(wrk: str, args: argparse.Namespace, claims: int, runs_count: int, label: str = "") -> dict:
    """One fresh server: sign-ups, `claims` custom claims each, the rotation check, then
    `runs_count` runs (warm-up, load, raw rate). Each run's figures, and the events check."""
    families = (args.connections // args.threads) * args.threads
    runs, answered = [], 2  # the rotation check's two 200s
    with astapa_server() as server:
        started = time.monotonic()
        accounts = asyncio.run(sign_up_many(server, families + 1, "refresh-"))
        log(f"{label}Signed up {len(accounts)} users (bcrypt cost 12) in {time.monotonic() - started:.1f}s, "
            "not timed")
        if claims:
            asyncio.run(give_claims(server, accounts, claims))
        asyncio.run(check_rotation(server, accounts.pop(), claims))
        for run in range(1, runs_count + 1):
            if args.warmup > 0:
                log(f"{label}Run {run}/{runs_count}: warm-up {args.warmup}s on {families} fresh families, discarded")
                answered += load(wrk, server, asyncio.run(fresh_tokens(server, accounts)), args, args.warmup)["ok"]
            log(f"{label}Run {run}/{runs_count}: POST /oauth/token grant_type=refresh_token, {families} fresh "
                f"families ({claims} custom claims each) on {args.connections} connections, {args.duration}s")
            tokens = asyncio.run(fresh_tokens(server, accounts))
            if args.family_age:
                started = time.monotonic()
                tokens = asyncio.run(age_families(server, tokens, args.family_age))
                answered += args.family_age * len(tokens)
                log(f"  aged each family by {args.family_age} rotations first "
                    f"({time.monotonic() - started:.1f}s, not timed)")
            figures = load(wrk, server, tokens, args, args.duration)
            check_samples(figures, claims)
            log(f"  each family had {args.family_age} rotations behind it at the start, "
                f"{args.family_age + figures['ok'] / families:.0f} on average at the end")
            answered += figures["ok"]
            log(f"{label}Run {run}/{runs_count}: raw RS256 signing, joserfc, one core, 3s (server idle)")
            raw = raw_sign_rate()
            runs.append({"rotations_per_s": figures["rotations_per_s"], "raw_sign_per_s": raw["per_s"],
                         "ratio": ratio(figures["rotations_per_s"], raw["per_s"]), "raw_cpu_share": raw["cpu_share"],
                         "p50_ms": figures["p50_ms"], "p99_ms": figures["p99_ms"],
                         "server_cores": figures["server_cores"],
                         "client_cores": figures["client_cores"], "others_cores": figures["others_cores"],
                         "id_tokens": figures["id_tokens"], "failures": figures["failures"], "ok": figures["ok"]})
        rotated = count_events(server.events_db, "%RefreshFamily.Rotated%")
        reuse = count_events(server.events_db, "%RefreshFamily.ReuseDetected%")
    events_ok = rotated >= answered and reuse == 1
    log(f"{label}RefreshFamily.Rotated events: {rotated} vs {answered} x 200 seen (check, warm-ups, measured); "
        f"ReuseDetected: {reuse} (1 expected, the check's): {'OK' if events_ok else 'MISMATCH'}")
    return {"runs": runs, "events_ok": events_ok, "families": families}


def single(wrk: str, args: argparse.Namespace) -> None:
    """One server, --runs runs, users with --claims custom claims: figures against raw signing."""
    measured = measure(wrk, args, args.claims, args.runs)
    runs, events_ok = measured["runs"], measured["events_ok"]
    summary = {key: median([r[key] for r in runs]) for key in runs[0] if key not in ("failures", "ok", "id_tokens")}
    summary.update(runs=len(runs), connections=args.connections, families=measured["families"],
                   duration_s=args.duration, family_age=args.family_age, claims=args.claims,
                   signatures_per_rotation=1 + (1 if any(r["id_tokens"] for r in runs) else 0),
                   failures=sum(r["failures"] for r in runs), events_ok=events_ok, per_run=runs)
    valid = summary["failures"] == 0 and events_ok
    label = f"median of {len(runs)} runs" if len(runs) > 1 else "one run"
    log(f"Figures ({label}; targets)")
    report(summary, [
        ("rotations/s / one core's raw signing", summary["ratio"], f">= {RATIO_TARGET}", lambda v: v >= RATIO_TARGET),
        ("failed or invalid answers", summary["failures"], "0", lambda v: v == 0),
    ], f"  rotations/s {summary['rotations_per_s']}, p99 {summary['p99_ms']} ms, raw signing "
        f"{summary['raw_sign_per_s']}/s, {summary['signatures_per_rotation']} RS256 signature(s) per rotation, "
        f"{args.claims} custom claims per user"
        + ("" if valid else "  -- INVALID: failures or event mismatch"))


def compare(wrk: str, args: argparse.Namespace) -> None:
    """--runs pairs of fresh servers, users without and with --compare-claims N custom claims
    (alternating which goes first): rotations/s of each, and the ratio with / without."""
    n = args.compare_claims
    pairs, measurements, events_ok = [], [], True
    for run in range(1, args.runs + 1):
        order = (0, n) if run % 2 else (n, 0)
        figures = {}
        for claims in order:
            label = f"[run {run}/{args.runs}, {claims} claims] "
            log(f"{label}fresh server")
            measured = measure(wrk, args, claims, 1, label)
            figures[claims] = measured["runs"][0]
            events_ok = events_ok and measured["events_ok"]
            measurements.append(figures[claims])
        without, with_ = figures[0]["rotations_per_s"], figures[n]["rotations_per_s"]
        pairs.append({"run": run, "order": list(order), "without": without, "with": with_,
                      "ratio": ratio(with_, without),
                      "p99_ms_without": figures[0]["p99_ms"], "p99_ms_with": figures[n]["p99_ms"],
                      "server_cores_without": figures[0]["server_cores"], "server_cores_with": figures[n]["server_cores"],
                      "others_cores_without": figures[0]["others_cores"], "others_cores_with": figures[n]["others_cores"],
                      "raw_sign_per_s_without": figures[0]["raw_sign_per_s"],
                      "raw_sign_per_s_with": figures[n]["raw_sign_per_s"],
                      "failures": figures[0]["failures"] + figures[n]["failures"]})
        log(f"[run {run}/{args.runs}] rotations/s: {without} without claims, {with_} with {n}: "
            f"ratio {pairs[-1]['ratio']}")
    ratios = [p["ratio"] for p in pairs]
    summary = {
        "mode": "compare-claims", "claims": n, "runs": len(pairs),
        "rotations_per_s_without": median([p["without"] for p in pairs]),
        "rotations_per_s_with": median([p["with"] for p in pairs]),
        "ratio": median(ratios), "ratio_min": min(filter(None, ratios), default=None),
        "ratio_max": max(filter(None, ratios), default=None),
        "p99_ms_without": median([p["p99_ms_without"] for p in pairs]),
        "p99_ms_with": median([p["p99_ms_with"] for p in pairs]),
        "raw_sign_per_s": median([m["raw_sign_per_s"] for m in measurements]),
        # for the busy-machine warning: the worst of all measurements
        "others_cores": max(m["others_cores"] for m in measurements),
        "raw_cpu_share": min(m["raw_cpu_share"] for m in measurements),
        "connections": args.connections, "duration_s": args.duration, "family_age": args.family_age,
        "failures": sum(p["failures"] for p in pairs), "events_ok": events_ok, "per_run": pairs,
    }
    summary["ratio_of_medians"] = ratio(summary["rotations_per_s_with"], summary["rotations_per_s_without"])
    summary["within_10pct"] = summary["ratio"] is not None and summary["ratio"] >= CLAIMS_RATIO_TARGET
    valid = summary["failures"] == 0 and events_ok
    label = f"median of {len(pairs)} runs" if len(pairs) > 1 else "one run"
    log(f"Figures ({label}; targets)")
    report(summary, [
        (f"rotations/s with {n} custom claims / with none", summary["ratio"], f">= {CLAIMS_RATIO_TARGET}",
         lambda v: v >= CLAIMS_RATIO_TARGET),
        ("failed or invalid answers", summary["failures"], "0", lambda v: v == 0),
    ], f"  rotations/s {summary['rotations_per_s_without']} without claims, {summary['rotations_per_s_with']} "
        f"with {n} (per run: " + ", ".join(f"{p['without']} vs {p['with']}" for p in pairs)
        + f"); ratio median {summary['ratio']}, range {summary['ratio_min']}-{summary['ratio_max']}; "
        f"p99 {summary['p99_ms_without']} vs {summary['p99_ms_with']} ms"
        + ("" if valid else "  -- INVALID: failures or event mismatch"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10, help="seconds of measured load per run (10)")
    parser.add_argument("--connections", type=int, default=64, help="concurrent connections = families (64)")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of discarded load before each figure (2)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (1: leave the other core to the server)")
    parser.add_argument("--runs", type=int, default=1, help="runs; figures are their medians (1)")
    parser.add_argument("--family-age", type=int, default=0,
                        help="rotations of each family before the measured load, untimed (0: fresh families)")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--claims", type=int, default=0,
                       help="custom claims each user gets via the management API before the load (0)")
    group.add_argument("--compare-claims", type=int, metavar="N",
                       help="each run: a fresh server with users holding no custom claims and one with N; "
                            "report both rotation rates and their ratio (target >= 0.90)")
    args = parser.parse_args()
    if args.connections < args.threads:
        parser.error("--connections must be at least --threads")
    if args.claims < 0 or (args.compare_claims is not None and args.compare_claims < 1):
        parser.error("--claims must be 0 or more, --compare-claims 1 or more")
    wrk = ensure_wrk()
    log(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} before the run (other work skews every figure)")
    if args.compare_claims is not None:
        compare(wrk, args)
    else:
        single(wrk, args)


if __name__ == "__main__":
    run_benchmark(main)
