#!/usr/bin/env python3
"""Benchmark (not a test) of client_credentials token issuance with private_key_jwt client
authentication (RFC 7523 §2.2) against a client secret, on this machine, in one run.

One `astapa serve` (one process) on a fresh temp data dir, three machine clients of one
project (scope api), each measured in turn with wrk (--connections, --duration, after a
--warmup whose figures are discarded), POST /oauth/token grant_type=client_credentials:

1. secret: HTTP Basic with the client's secret (scripts/bench/token.lua, as
   scripts/bench_token.py does);
2. ES256: private_key_jwt, the client registered with `astapa client create --jwk-file`
   (its public JWK), each request carrying its own assertion (scripts/bench/assertion.lua);
3. RS256: the same with an RSA-2048 key (--skip-rs256 leaves it out).

An assertion's jti works once (the server records a ClientAssertion.Used event and refuses
a second use), so the assertions are signed beforehand, while the server is idle and not
timed: iss = sub = the client_id, aud = the issuer (http://127.0.0.1:PORT), exp 15 minutes
on, a unique jti. How many: --margin x the rate expected (the secret's measured rate for
ES256, the faster of secret and ES256 for RS256) x the seconds of load, plus one per
connection. wrk (-t1 by default) hands each out once, in file order; if they run out, the
thread stops and the figure is marked understated (rerun with a larger --margin).

Then, with the server stopped (nothing else of this script running):
- raw verify rate, one core: joserfc jwt.decode(assertion, public key) over the same
  assertions, for ES256 and RS256; also Astapa's own verify_assertion() (what the server
  calls: it imports the client's JWK Set on every call, then checks the claims);
- raw RS256 signing rate, one core (scripts/bench/raw_sign.py, as scripts/bench_token.py).

Ratios: private_key_jwt / secret tokens/s; secret / raw signing (bench_token.py's ratio);
private_key_jwt / "raw verify+sign", where raw verify+sign = 1 / (1/verify + 1/sign) is
what one core could do if a token cost nothing but its two crypto operations (verify the
assertion, sign the access token); comparing that ratio with secret / raw signing says
whether the assertion path loses more than its extra verify. Also the server's CPU
milliseconds per token for each method, and how much of the difference the server's
verify_assertion() accounts for.

Checks: every 200 has one ClientAssertion.Used event (counted in the events db by topic
per phase; at most one per connection more, for requests wrk left in flight at its stop),
the secret phase writes none, and after the load a replayed assertion (the first one the
measured load sent) is refused (401 invalid_client) without a new event.

Only 127.0.0.1 is targeted; every process started here is stopped on exit, error or Ctrl-C.

    .venv/bin/python scripts/bench_client_auth.py [--duration 8] [--connections 32]
        [--warmup 2] [--threads 1] [--margin 1.5] [--skip-rs256]
"""

import argparse
import base64
import json
import math
import multiprocessing
import os
import secrets
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent / "bench"))

from joserfc import jwt  # noqa: E402
from joserfc.jwk import ECKey, RSAKey  # noqa: E402

from harness import (  # noqa: E402  (scripts/bench/harness.py: shared with the other benches)
    ASTAPA,
    BENCH,
    Server,
    astapa_server,
    count_events,
    ensure_wrk,
    jwt_payload,
    log,
    ratio,
    raw_sign_rate,
    report,
    run_benchmark,
    run_json,
    run_wrk,
)

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_TTL = 900  # seconds; the server takes at most 3600
USED = "%ClientAssertion.Used%"
ISSUED = "%AccessToken.Issued%"


# -- keys and assertions -------------------------------------------------------------------

def generate_key(alg: str) -> ECKey | RSAKey:
    parameters = {"alg": alg, "use": "sig"}
    if alg == "ES256":
        return ECKey.generate_key("P-256", parameters=parameters, private=True, auto_kid=True)
    return RSAKey.generate_key(2048, parameters=parameters, private=True, auto_kid=True)


def import_key(jwk: dict) -> ECKey | RSAKey:
    return ECKey.import_key(jwk) if jwk["kty"] == "EC" else RSAKey.import_key(jwk)


def sign_chunk(jwk: dict, client_id: str, audience: str, nonce: str, first: int, count: int) -> list[str]:
    """`count` assertions with jtis nonce-first ... (in a pool worker)."""
    key = import_key(jwk)
    header = {"alg": jwk["alg"], "kid": jwk["kid"], "typ": "JWT"}
    now = int(time.time())
    return [jwt.encode(header, {"iss": client_id, "sub": client_id, "aud": audience, "iat": now,
                                "exp": now + ASSERTION_TTL, "jti": f"{nonce}-{i}"}, key)
            for i in range(first, first + count)]


def sign_assertions(pool, key, client_id: str, audience: str, count: int) -> list[str]:
    """`count` assertions with unique jtis, signed on every core."""
    jwk, nonce = key.as_dict(private=True), secrets.token_hex(8)
    chunks = max(1, min(count // 200, (os.cpu_count() or 1) * 4))
    size = math.ceil(count / chunks)
    jobs = [(jwk, client_id, audience, nonce, first, min(size, count - first)) for first in range(0, count, size)]
    return [a for part in pool.starmap(sign_chunk, jobs) for a in part]


def write_lines(directory: Path, name: str, lines: list[str]) -> Path:
    path = directory / name
    path.write_text("\n".join(lines) + "\n")
    return path


# -- requests --------------------------------------------------------------------------------

def post_token(server: Server, body: str, headers: dict | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(f"{server.base}/oauth/token", data=body.encode(), method="POST",
                                     headers={"Content-Type": "application/x-www-form-urlencoded", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw)
        except ValueError:
            return e.code, {"raw": raw[:300].decode(errors="replace")}


def basic(client: dict) -> str:
    return base64.b64encode(f"{client['client_id']}:{client['client_secret']}".encode()).decode()


def assertion_body(assertion: str) -> str:
    return (f"grant_type=client_credentials&scope=api&client_assertion_type={ASSERTION_TYPE.replace(':', '%3A')}"
            f"&client_assertion={assertion}")


def check_answer(status: int, body: dict, client_id: str, what: str) -> None:
    """A 200 with an RS256 JWT access token for this client; else stop."""
    if status != 200:
        sys.exit(f"{what}: token request answered {status}: {json.dumps(body)[:500]}")
    token = body.get("access_token", "")
    head = token.split(".")[0]
    alg = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4))).get("alg")
    if alg != "RS256" or jwt_payload(token).get("client_id") != client_id:
        sys.exit(f"{what}: the access token is not an RS256 JWT for {client_id}: alg {alg}, "
                 f"claims {jwt_payload(token)}")


def wait_secret_client(server: Server, client: dict) -> None:
    """The server learns of new clients by polling: retry a few times (each 401 counts
    toward the client-auth throttle's 20 failures per 5 minutes, so not too many)."""
    time.sleep(1.0)
    for attempt in range(12):
        status, body = post_token(server, "grant_type=client_credentials&scope=api",
                                  {"Authorization": f"Basic {basic(client)}"})
        if status != 401:
            break
        time.sleep(0.5)
    check_answer(status, body, client["client_id"], "secret client check")


# -- the load --------------------------------------------------------------------------------

def load(wrk: str, server: Server, script: str, env: dict, args: argparse.Namespace, duration: int) -> dict:
    """wrk with `script` for `duration` seconds; its figures and where the CPU went."""
    figures = run_wrk(wrk, BENCH / script, f"{server.base}/",
                      dict(BENCH_PATH="/oauth/token", BENCH_THREADS=str(args.threads), **env),
                      args.threads, args.connections, duration, server.proc.pid)
    seconds, server_cpu = figures["seconds"], figures["server_cpu"]
    figures.setdefault("starved", 0)
    figures.setdefault("other", 0)
    figures["tokens_per_s"] = round(figures["ok"] / seconds, 1)
    figures["server_cpu_ms_per_token"] = round(server_cpu * 1000 / figures["ok"], 3) if figures["ok"] else None
    sockets = sum(figures[k] for k in ("connect_errors", "read_errors", "write_errors", "timeouts"))
    figures["failures"] = figures["non200"] + figures["other"] + sockets
    log(f"    {figures['tokens_per_s']} tokens/s ({figures['ok']} x 200 in {seconds:.1f}s; {figures['non200']} non-200, "
        f"{sockets} socket errors/timeouts{', %d STARVED (figure understated)' % figures['starved'] if figures['starved'] else ''}), "
        f"p50 {figures['p50_ms']} ms, p99 {figures['p99_ms']} ms; cores: server {figures['server_cores']}, "
        f"wrk {figures['client_cores']}, everything else {figures['others_cores']}; "
        f"server CPU {figures['server_cpu_ms_per_token']} ms/token")
    return figures


def settle_and_count(server: Server) -> tuple[int, int]:
    time.sleep(0.5)  # requests wrk left in flight finish
    return count_events(server.events_db, USED), count_events(server.events_db, ISSUED)


def events_verdict(label: str, used: int, issued: int, answered: int, slack: int, expect_used: bool) -> bool:
    """used/issued: the phase's new events; answered: its 200s; slack: requests possibly in
    flight when wrk stopped (one per connection per wrk run)."""
    if expect_used:
        ok = answered <= used <= answered + slack and answered <= issued <= answered + slack
        want = f"{answered} to {answered + slack}"
    else:
        ok = used == 0 and answered <= issued <= answered + slack
        want = f"0 Used, {answered} to {answered + slack} Issued"
    log(f"    events of the phase: {used} ClientAssertion.Used, {issued} AccessToken.Issued for {answered} x 200 "
        f"answered (expected {want}; the excess is requests in flight at wrk's stop): {'OK' if ok else 'MISMATCH'}")
    return ok


def secret_phase(wrk: str, server: Server, client: dict, args: argparse.Namespace) -> dict:
    log(f"Client secret (HTTP Basic): warm-up {args.warmup}s, then {args.duration}s on {args.connections} connections")
    used0, issued0 = settle_and_count(server)
    env = {"BENCH_BASIC_AUTH": basic(client)}
    warm = load(wrk, server, "token.lua", env, args, args.warmup)["ok"] if args.warmup > 0 else 0
    figures = load(wrk, server, "token.lua", env, args, args.duration)
    used, issued = settle_and_count(server)
    figures["events_ok"] = events_verdict("secret", used - used0, issued - issued0, warm + figures["ok"],
                                          2 * args.connections, expect_used=False)
    figures["warmup_tokens_per_s"] = round(warm / args.warmup, 1) if args.warmup > 0 else None
    return figures


def assertion_phase(wrk: str, server: Server, client: dict, key, alg: str, expected_rate: float,
                    args: argparse.Namespace, pool, tmp: Path) -> dict:
    """Sign enough assertions (untimed), check one, warm up, measure, count events, replay."""
    client_id, audience = client["client_id"], server.base
    need_warm = math.ceil(expected_rate * args.warmup * args.margin) + args.connections + 50 if args.warmup > 0 else 0
    need = math.ceil(expected_rate * args.duration * args.margin) + args.connections + 50
    started = time.perf_counter()
    assertions = sign_assertions(pool, key, client_id, audience, 1 + need_warm + need)
    log(f"{alg} private_key_jwt: signed {len(assertions)} assertions in {time.perf_counter() - started:.1f}s "
        f"(untimed; {args.margin} x {expected_rate:.0f}/s expected x the seconds, + 1 a connection)")
    check, warm_set, measured_set = assertions[0], assertions[1:1 + need_warm], assertions[1 + need_warm:]
    status, body = post_token(server, assertion_body(check))
    check_answer(status, body, client_id, f"{alg} assertion check")
    log(f"  check: one assertion -> 200 with an RS256 access token for {client_id}")
    log(f"  warm-up {args.warmup}s, then {args.duration}s on {args.connections} connections")
    used0, issued0 = settle_and_count(server)
    warm = 0
    if args.warmup > 0:
        env = {"BENCH_ASSERTIONS": str(write_lines(tmp, f"{alg}-warm.txt", warm_set))}
        warm_figures = load(wrk, server, "assertion.lua", env, args, args.warmup)
        warm = warm_figures["ok"]
    env = {"BENCH_ASSERTIONS": str(write_lines(tmp, f"{alg}-measured.txt", measured_set))}
    figures = load(wrk, server, "assertion.lua", env, args, args.duration)
    if figures["loaded"] != len(measured_set):
        figures["failures"] += 1
        log(f"    only {figures['loaded']} of {len(measured_set)} assertions reached wrk's threads")
    used, issued = settle_and_count(server)
    figures["events_ok"] = events_verdict(alg, used - used0, issued - issued0, warm + figures["ok"],
                                          2 * args.connections, expect_used=True)
    # Replay the first assertion the measured load sent (thread 1's first line).
    status, body = post_token(server, assertion_body(measured_set[0]))
    after, _ = settle_and_count(server)
    figures["replay_refused"] = status == 401 and body.get("error") == "invalid_client" and after == used
    log(f"  replay of an assertion the load used: {status} {body.get('error')}, "
        f"{after - used} new ClientAssertion.Used events: {'refused, OK' if figures['replay_refused'] else 'NOT REFUSED'}")
    figures["warmup_tokens_per_s"] = round(warm / args.warmup, 1) if args.warmup > 0 else None
    figures["sample"] = measured_set[:2000]
    figures["jwks"] = {"keys": [key.as_dict(private=False)]}
    figures["client_id"] = client_id
    figures["audience"] = audience
    return figures


# -- raw rates -------------------------------------------------------------------------------

def timed_loop(call, items: list, seconds: float) -> dict:
    """Call `call(item)` over `items` (cycling) for `seconds`: rate and share of a core."""
    call(items[0])  # warm-up
    count, i, wall, cpu = 0, 0, time.perf_counter(), time.process_time()
    deadline = wall + seconds
    while True:
        for _ in range(20):
            call(items[i])
            i = (i + 1) % len(items)
        count += 20
        if time.perf_counter() >= deadline:
            break
    elapsed = time.perf_counter() - wall
    return {"per_s": round(count / elapsed, 1), "cpu_share": round((time.process_time() - cpu) / elapsed, 3)}


def raw_verify_rates(alg: str, phase: dict, seconds: float) -> dict:
    """One core: joserfc jwt.decode with the imported public key, and Astapa's
    verify_assertion() as the server calls it (the JWK Set imported each call, claims checked)."""
    from astapa.oauth.client_keys import verify_assertion

    public = import_key(phase["jwks"]["keys"][0])
    raw = timed_loop(lambda a: jwt.decode(a, public, algorithms=[alg]), phase["sample"], seconds)
    audiences = {phase["audience"], phase["audience"] + "/oauth/token"}
    server = timed_loop(lambda a: verify_assertion(a, phase["jwks"], phase["client_id"], audiences, time.time()),
                        phase["sample"], seconds)
    log(f"  {alg}: jwt.decode {raw['per_s']}/s ({raw['cpu_share']:.0%} of a core); Astapa's verify_assertion "
        f"{server['per_s']}/s ({server['cpu_share']:.0%} of a core)")
    return {"raw": raw, "server": server}


def combined(verify: float | None, sign: float | None) -> float | None:
    """Tokens/s one core could do if a token cost one verify and one signature, nothing else."""
    return round(1 / (1 / verify + 1 / sign), 1) if verify and sign else None


# -- main ------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=8, help="seconds of measured load per method (8)")
    parser.add_argument("--connections", type=int, default=32, help="concurrent connections (32)")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of discarded load before each figure (2)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (1: leave the other core to the server)")
    parser.add_argument("--margin", type=float, default=1.5,
                        help="assertions signed per request expected (1.5); raise it if a run says STARVED")
    parser.add_argument("--raw-seconds", type=float, default=1.5, help="seconds of each raw verify rate (1.5)")
    parser.add_argument("--skip-rs256", action="store_true", help="no RS256 private_key_jwt figure")
    args = parser.parse_args()
    if args.connections % args.threads:
        sys.exit("--connections must be a multiple of --threads")
    wrk = ensure_wrk()
    log(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} before the run (other work skews every figure)")
    algs = ["ES256"] if args.skip_rs256 else ["ES256", "RS256"]
    keys = {alg: generate_key(alg) for alg in algs}
    phases: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="client-auth-bench-") as tmp_name, \
            multiprocessing.get_context("fork").Pool(os.cpu_count() or 1) as pool:
        tmp = Path(tmp_name)
        with astapa_server() as server:
            project_id = server.project["project_id"]
            clients = {}
            for alg in algs:  # the key clients first, the secret one last (see wait_secret_client)
                jwk_file = write_lines(tmp, f"{alg}.jwk.json", [json.dumps(keys[alg].as_dict(private=False))])
                clients[alg] = run_json([ASTAPA, "client", "create", "--data-dir", server.data, "--project",
                                         project_id, "--name", f"bench-{alg}", "--scope", "api",
                                         "--jwk-file", jwk_file])
                if clients[alg].get("token_endpoint_auth_method") != "private_key_jwt":
                    sys.exit(f"client create --jwk-file made {clients[alg]}")
            clients["secret"] = run_json([ASTAPA, "client", "create", "--data-dir", server.data, "--project",
                                          project_id, "--name", "bench-secret", "--scope", "api"])
            log(f"astapa serve on {server.base} (issuer, the assertions' aud); clients: "
                + ", ".join(f"{k} {c['client_id']}" for k, c in clients.items()))
            wait_secret_client(server, clients["secret"])
            phases["secret"] = secret_phase(wrk, server, clients["secret"], args)
            expected = max(200.0, phases["secret"]["tokens_per_s"], phases["secret"]["warmup_tokens_per_s"] or 0)
            for alg in algs:
                phases[alg] = assertion_phase(wrk, server, clients[alg], keys[alg], alg, expected, args, pool, tmp)
                expected = max(expected, phases[alg]["tokens_per_s"])
    log("Raw rates, one core, the server stopped")
    raw_sign = raw_sign_rate()
    verify = {alg: raw_verify_rates(alg, phases[alg], args.raw_seconds) for alg in algs}

    secret = phases["secret"]
    summary: dict = {
        "secret_tokens_per_s": secret["tokens_per_s"],
        "secret_p99_ms": secret["p99_ms"],
        "raw_sign_per_s": raw_sign["per_s"],
        "ratio_secret_raw_sign": ratio(secret["tokens_per_s"], raw_sign["per_s"]),
        "secret_server_cpu_ms_per_token": secret["server_cpu_ms_per_token"],
    }
    for alg in algs:
        p, a = phases[alg], alg.lower()
        raw_both = combined(verify[alg]["raw"]["per_s"], raw_sign["per_s"])
        extra_ms = (round(p["server_cpu_ms_per_token"] - secret["server_cpu_ms_per_token"], 3)
                    if p["server_cpu_ms_per_token"] and secret["server_cpu_ms_per_token"] else None)
        summary.update({
            f"{a}_tokens_per_s": p["tokens_per_s"],
            f"{a}_p99_ms": p["p99_ms"],
            f"raw_verify_{a}_per_s": verify[alg]["raw"]["per_s"],
            f"server_verify_{a}_per_s": verify[alg]["server"]["per_s"],
            f"raw_verify_sign_{a}_per_s": raw_both,
            f"ratio_{a}_secret": ratio(p["tokens_per_s"], secret["tokens_per_s"]),
            f"ratio_{a}_raw_verify_sign": ratio(p["tokens_per_s"], raw_both),
            f"{a}_server_cpu_ms_per_token": p["server_cpu_ms_per_token"],
            f"{a}_extra_cpu_ms_per_token": extra_ms,
            f"{a}_server_verify_ms": round(1000 / verify[alg]["server"]["per_s"], 3),
            f"{a}_starved": p["starved"],
            f"{a}_replay_refused": p["replay_refused"],
        })
    summary.update({
        "failures": sum(phases[k]["failures"] for k in phases),
        "starved": sum(phases[k]["starved"] for k in phases),
        "events_ok": all(phases[k]["events_ok"] for k in phases),
        "replay_refused": all(phases[alg]["replay_refused"] for alg in algs),
        "connections": args.connections, "duration_s": args.duration,
        "server_cores": {k: phases[k]["server_cores"] for k in phases},
        "others_cores": max(phases[k]["others_cores"] for k in phases),
        "raw_cpu_share": min([raw_sign["cpu_share"]] + [verify[alg][w]["cpu_share"] for alg in algs
                                                        for w in ("raw", "server")]),
    })
    log("Figures (one run)")
    for alg in algs:
        a = alg.lower()
        log(f"  {alg} private_key_jwt / secret: {summary[f'ratio_{a}_secret']} "
            f"({summary[f'{a}_tokens_per_s']} vs {summary['secret_tokens_per_s']} tokens/s; p99 "
            f"{summary[f'{a}_p99_ms']} vs {summary['secret_p99_ms']} ms)")
        log(f"  {alg} private_key_jwt / raw verify+sign ({summary[f'raw_verify_sign_{a}_per_s']}/s = 1/(1/verify "
            f"{summary[f'raw_verify_{a}_per_s']} + 1/sign {summary['raw_sign_per_s']})): "
            f"{summary[f'ratio_{a}_raw_verify_sign']}  (secret / raw sign: {summary['ratio_secret_raw_sign']})")
        log(f"  {alg} server CPU per token {summary[f'{a}_server_cpu_ms_per_token']} ms vs secret "
            f"{summary['secret_server_cpu_ms_per_token']} ms: {summary[f'{a}_extra_cpu_ms_per_token']} ms more, of "
            f"which Astapa's verify_assertion() alone is {summary[f'{a}_server_verify_ms']} ms")
    valid = (summary["failures"] == 0 and summary["events_ok"] and summary["replay_refused"]
             and summary["starved"] == 0)
    details = "  every check passed" if valid else "  INVALID: see the checks above"
    if summary["starved"]:
        details += "; a load ran out of assertions, so its tokens/s is understated: rerun with a larger --margin"
    summary["valid"] = valid
    report(summary, [
        ("failed answers (non-200, socket errors, timeouts)", summary["failures"], "0", lambda v: v == 0),
        ("one ClientAssertion.Used per 200, none for secrets", summary["events_ok"], "true", lambda v: v),
        ("replayed assertion refused", summary["replay_refused"], "true", lambda v: v),
        ("loads that ran out of assertions", summary["starved"], "0", lambda v: v == 0),
    ], details)


if __name__ == "__main__":
    run_benchmark(main)
