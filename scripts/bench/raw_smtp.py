"""The raw limit for scripts/bench_mail.py: send ready-made messages to an SMTP server with
aiosmtplib as fast as this machine can, the way Astapa's mailer does (one connection per
message, CONCURRENCY at a time), with none of Astapa's work around it.

    raw_smtp.py PORT MESSAGES_DIR CONCURRENCY

prints one JSON line: {"sent", "seconds", "per_s"}.
"""

import asyncio
import json
import sys
import time
from email import message_from_bytes, policy
from pathlib import Path

import aiosmtplib


async def main() -> None:
    port, directory, concurrency = int(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
    messages = [message_from_bytes(p.read_bytes(), policy=policy.default) for p in sorted(directory.glob("*.eml"))]
    slots = asyncio.Semaphore(concurrency)

    async def send(message) -> None:
        async with slots:
            await aiosmtplib.send(message, hostname="127.0.0.1", port=port, start_tls=None, timeout=30)

    started = time.perf_counter()
    await asyncio.gather(*(send(m) for m in messages))
    seconds = time.perf_counter() - started
    print(json.dumps({"sent": len(messages), "seconds": round(seconds, 3),
                      "per_s": round(len(messages) / seconds, 1)}))


if __name__ == "__main__":
    asyncio.run(main())
