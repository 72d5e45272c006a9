"""One core's raw RS256 signing rate with joserfc, for scripts/bench_token.py.

Signs one representative RFC 9068 access-token claims set in a loop for SECONDS (default 3)
and prints one JSON line: {"signatures": N, "seconds": S, "per_s": R}.
"""

import json
import sys
import time

from joserfc import jwt
from joserfc.jwk import RSAKey


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
    key = RSAKey.generate_key(2048, parameters={"kid": "bench-1", "use": "sig", "alg": "RS256"}, private=True)
    header = {"alg": "RS256", "kid": "bench-1", "typ": "at+jwt"}
    now = int(time.time())
    claims = {
        "iss": "http://127.0.0.1:8080",
        "sub": "cli_3kq8YfJ2mT0aVx9LpR4w",
        "aud": "http://127.0.0.1:8080/api",
        "exp": now + 3600,
        "iat": now,
        "jti": "at_Q1w2E3r4T5y6U7i8O9p0AsDfGhJkL",
        "scope": "api",
        "project_id": "prj_7ZbN4cX1vQ8sW2eR6tY0",
        "client_id": "cli_3kq8YfJ2mT0aVx9LpR4w",
    }
    jwt.encode(header, claims, key)  # warm-up
    count, start = 0, time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(20):
            jwt.encode(header, claims, key)
        count += 20
        if time.perf_counter() >= deadline:
            break
    elapsed = time.perf_counter() - start
    print(json.dumps({"signatures": count, "seconds": round(elapsed, 3), "per_s": round(count / elapsed, 1)}))


if __name__ == "__main__":
    main()
