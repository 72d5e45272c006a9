"""The machine's raw password-check rate, for scripts/bench_login.py.

One process per core (os.cpu_count()) calls astapa.passwords.verify_password, the very
function the server's bcrypt pool runs (SHA-256 pre-hash, then bcrypt.checkpw), on one
stored hash of cost COST (default 12), each for SECONDS (default 5). Each worker's rate is
its own checks over its own time, so process start-up is not counted; the rates are added.
Prints one JSON line: {"checks": N, "workers": W, "cost": C, "seconds": S, "per_s": R,
"cpu_share": the workers' CPU time over their wall time, 1.0 when each had a whole core}.

    .venv/bin/python scripts/bench/raw_bcrypt.py [SECONDS] [COST]
"""

import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

from astapa.passwords import hash_password, verify_password  # noqa: E402

PASSWORD = "correct horse battery"


def worker(stored: str, seconds: float) -> tuple[int, float, float]:
    """(checks, wall seconds, CPU seconds) of one process checking flat out."""
    verify_password(PASSWORD, stored)  # warm-up
    count, start, cpu = 0, time.perf_counter(), time.process_time()
    while True:
        if not verify_password(PASSWORD, stored):
            raise SystemExit("verify_password refused the right password")
        count += 1
        if time.perf_counter() - start >= seconds:
            return count, time.perf_counter() - start, time.process_time() - cpu


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 5.0
    cost = int(sys.argv[2]) if len(sys.argv) > 2 else 12
    workers = os.cpu_count() or 1
    stored = hash_password(PASSWORD, cost)
    with ProcessPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(worker, [stored] * workers, [seconds] * workers))
    checks = sum(count for count, _, _ in results)
    per_s = sum(count / elapsed for count, elapsed, _ in results)
    # Below 1.0: the workers did not get whole cores (other work on the machine).
    cpu_share = sum(cpu for _, _, cpu in results) / sum(elapsed for _, elapsed, _ in results)
    print(json.dumps({"checks": checks, "workers": workers, "cost": cost,
                      "seconds": round(max(elapsed for _, elapsed, _ in results), 3), "per_s": round(per_s, 2),
                      "cpu_share": round(cpu_share, 3)}))


if __name__ == "__main__":
    main()
