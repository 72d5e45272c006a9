"""`astapa serve --workers N`: N server processes on the one port and data dir.

One Python process uses about one core (the GIL); workers use the others. The supervisor
(this module) holds the data dir's lock and starts N copies of the same `astapa serve`
command, each told its slot in ASTAPA_WORKER_SLOT. Each worker listens on the port with
SO_REUSEPORT (the kernel spreads connections over them), writes the one events.db (SQLite
serialises the commits), and follows the log into read models of its own
(`read-<slot>.db`). What they must share goes through the store: throttle counts, and the
lock naming the one worker that sends mail and runs the other one-time jobs.

A worker that dies, however it dies, is started again in its slot; its read models catch
up from where they were. SIGTERM or SIGINT stops every worker gracefully, then the
supervisor.
"""

import ctypes
import ctypes.util
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from functools import partial

from astapa.config import Settings
from astapa.metrics import MULTIPROCESS_DIR

log = logging.getLogger("astapa.workers")

SLOT_VARIABLE = "ASTAPA_WORKER_SLOT"
CHECK_INTERVAL = 0.2
# A worker that dies sooner than this after its start counts as a crash loop: the next
# start waits, doubling up to MAX_BACKOFF, so a broken configuration does not spin.
QUICK_DEATH = 5.0
MAX_BACKOFF = 10.0
STOP_TIMEOUT = 20.0
PR_SET_PDEATHSIG = 1
CONFIG_ERROR = 2  # the CLI's status for a configuration it cannot run with


@dataclass
class Slot:
    number: int
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    backoff: float = 0.0
    restart_at: float = 0.0


class Supervisor:
    def __init__(self, settings: Settings, argv: list[str]) -> None:
        self.settings = settings
        self.argv = _without_store(argv)
        self.slots = [Slot(number) for number in range(1, settings.workers + 1)]
        self.stopping = False
        self.status = 0
        self.metrics_dir = settings.data_dir / "metrics"
        self.prctl = _find_prctl()

    def run(self) -> int:
        """Until SIGTERM or SIGINT; the data dir is locked and the port checked by the caller."""
        self._fresh_metrics_dir()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._stop)
        for slot in self.slots:
            self._start(slot)
        while not self.stopping:
            time.sleep(CHECK_INTERVAL)
            for slot in self.slots:
                self._check(slot)
        return self._stop_all()

    def _environment(self, slot: Slot) -> dict[str, str]:
        """The store URL goes in the environment, never on a worker's command line, which
        any local user can read (ps, /proc/PID/cmdline): it may hold a password."""
        environment = {**os.environ, SLOT_VARIABLE: str(slot.number), MULTIPROCESS_DIR: str(self.metrics_dir)}
        if self.settings.store_url is not None:
            environment["ASTAPA_STORE_URL"] = self.settings.store_url
        return environment

    def _start(self, slot: Slot) -> None:
        slot.process = subprocess.Popen([sys.executable, "-m", "astapa", *self.argv], env=self._environment(slot),
                                        preexec_fn=partial(_die_with_parent, self.prctl, os.getpid()))
        slot.started_at = time.monotonic()
        log.info("worker %d started (pid %d)", slot.number, slot.process.pid)

    def _check(self, slot: Slot) -> None:
        """Start a worker again once it has died (after its backoff, if it dies young)."""
        if slot.process is None:
            if time.monotonic() >= slot.restart_at and not self.stopping:
                self._start(slot)
            return
        status = slot.process.poll()
        if status is None:
            return
        pid = slot.process.pid
        slot.process = None
        if status == CONFIG_ERROR:  # it said why on stderr; starting it again would say it again
            log.error("worker %d (pid %d) refused its configuration: stopping", slot.number, pid)
            self.stopping, self.status = True, CONFIG_ERROR
            return
        _forget_metrics_of(pid, self.metrics_dir)
        lived = time.monotonic() - slot.started_at
        slot.backoff = min(MAX_BACKOFF, max(0.5, slot.backoff * 2)) if lived < QUICK_DEATH else 0.0
        slot.restart_at = time.monotonic() + slot.backoff
        log.warning("worker %d (pid %d) exited with status %s after %.1f s; starting it again%s",
                    slot.number, pid, status, lived, f" in {slot.backoff:.1f} s" if slot.backoff else "")

    def _stop(self, signum, frame) -> None:
        self.stopping = True

    def _stop_all(self) -> int:
        running = [slot.process for slot in self.slots if slot.process is not None]
        for process in running:
            process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        for process in running:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("worker pid %d did not stop in time: killing it", process.pid)
                process.kill()
                process.wait()
        return self.status

    def _fresh_metrics_dir(self) -> None:
        """Values of an earlier run's workers would otherwise be counted again."""
        shutil.rmtree(self.metrics_dir, ignore_errors=True)
        self.metrics_dir.mkdir(mode=0o700, parents=True)


def _without_store(argv: list[str]) -> list[str]:
    """The command line without `--store URL` (or `--store=URL`)."""
    kept, skip = [], False
    for argument in argv:
        if skip:
            skip = False
        elif argument == "--store":
            skip = True
        elif not argument.startswith("--store="):
            kept.append(argument)
    return kept


def _find_prctl():
    """libc's prctl, looked up in the supervisor (never in a forked child, where the lookup
    would start a process); None where there is none (not Linux)."""
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True).prctl
    except (OSError, AttributeError):
        return None


def _die_with_parent(prctl, supervisor: int) -> None:
    """In the new worker, before it runs: the kernel sends it SIGTERM when the supervisor
    dies, however it dies (Linux's PR_SET_PDEATHSIG), so no worker outlives it; a worker
    whose supervisor died before that was set leaves at once."""
    if prctl is not None:
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != supervisor:
        os._exit(1)


def _forget_metrics_of(pid: int, metrics_dir) -> None:
    """A dead worker's live gauges no longer count (its counters do: they happened)."""
    from prometheus_client import multiprocess

    try:
        multiprocess.mark_process_dead(pid, str(metrics_dir))
    except Exception as e:  # the metrics are never worth a worker's restart
        log.warning("could not drop the metrics of worker pid %d: %s", pid, e)
