"""An SMTP server that accepts everything (aiosmtpd) and notes when each message arrived.

Run as a child process by scripts/bench_mail.py, so its CPU is its own:

    smtp_sink.py PORT OUT_DIR

writes each message to OUT_DIR/<n>.eml and appends `<monotonic seconds> <n>` to
OUT_DIR/arrivals; runs until SIGTERM.
"""

import signal
import sys
import threading
import time
from pathlib import Path

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, out: Path) -> None:
        self.out = out
        self.count = 0
        self.arrivals = open(out / "arrivals", "a", buffering=1)

    async def handle_DATA(self, server, session, envelope) -> str:
        self.count += 1
        (self.out / f"{self.count:06d}.eml").write_bytes(envelope.original_content or envelope.content)
        self.arrivals.write(f"{time.monotonic()} {self.count}\n")
        return "250 OK"


def main() -> None:
    port, out = int(sys.argv[1]), Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    controller = Controller(Sink(out), hostname="127.0.0.1", port=port)
    controller.start()
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    print("READY", flush=True)
    stopping.wait()
    controller.stop()


if __name__ == "__main__":
    main()
