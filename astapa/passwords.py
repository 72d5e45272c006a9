"""Passwords: bcrypt in a thread pool, never on the event loop.

bcrypt reads at most 72 bytes (and bcrypt 5 refuses more). Every password is therefore
pre-hashed to 44 bytes (base64 of its SHA-256) before bcrypt, so a 64-character password
of two-byte letters counts in full and changing its last byte changes the outcome. The
prefix `$astapa-sha256$` on stored hashes says so. A sign-in for an unknown email checks
a dummy hash of the same cost, so it takes as long as a wrong password.

The pool's work is bounded: hashes (sign-ups, resets) run on at most half its threads, so
sign-in checks always have the rest, and each kind has a bounded queue in front of the pool.
A full queue refuses at once (PasswordsBusyError, a 429 on the pages) rather than letting a
flood of sign-ups make every sign-in wait.
"""

import asyncio
import base64
import hashlib
import math
import os
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import bcrypt
from zxcvbn.frequency_lists import FREQUENCY_LISTS

MIN_LENGTH = 8
MAX_LENGTH = 1024
PREFIX = "$astapa-sha256$"
# The 3,000 most common passwords of zxcvbn's leaked-password list (ASVS 5 §6.2.4).
COMMON = frozenset(FREQUENCY_LISTS["passwords"][:3000])


class PasswordPolicyError(ValueError):
    """A password the policy refuses; the message is shown to the user."""


class PasswordsBusyError(Exception):
    """The queue in front of the bcrypt pool is full: try again after `retry_after` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"bcrypt queue full, retry after {retry_after}s")
        self.retry_after = retry_after


def check_policy(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise PasswordPolicyError(f"Use at least {MIN_LENGTH} characters.")
    if len(password) > MAX_LENGTH:
        raise PasswordPolicyError(f"Use at most {MAX_LENGTH} characters.")
    if password.lower() in COMMON:
        raise PasswordPolicyError("This password is one of the most common ones. Choose another.")


def _prehash(password: str) -> bytes:
    return base64.b64encode(hashlib.sha256(password.encode("utf-8", "surrogatepass")).digest())


def hash_password(password: str, cost: int) -> str:
    return PREFIX + bcrypt.hashpw(_prehash(password), bcrypt.gensalt(cost)).decode("ascii")


def verify_password(password: str, stored: str) -> bool:
    if not stored.startswith(PREFIX):
        return False
    return bcrypt.checkpw(_prehash(password), stored[len(PREFIX):].encode("ascii"))


class Lane:
    """One kind of bcrypt work: at most `threads` of it in the pool, `queue` more waiting."""

    def __init__(self, threads: int, queue: int) -> None:
        self.threads = threads
        self.queue = queue
        self.taken = 0  # running or waiting
        self.slots = asyncio.Semaphore(threads)


class Passwords:
    """The bcrypt pool: one worker per core, since bcrypt releases the GIL; hashes on at
    most half of them, checks on any, each kind behind its own bounded queue."""

    def __init__(self, cost: int, workers: int | None = None, hash_queue: int = 16,
                 check_queue: int = 64) -> None:
        self.cost = cost
        self.workers = workers or os.cpu_count() or 2
        self.pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="astapa-bcrypt")
        started = time.perf_counter()
        self.dummy = hash_password("astapa dummy password", cost)
        self.seconds = time.perf_counter() - started  # one bcrypt at this cost on this machine
        self.hashes = Lane(max(1, self.workers // 2), hash_queue)
        self.checks = Lane(self.workers, check_queue)

    async def hash(self, password: str) -> str:
        """PasswordsBusyError when as many hashes wait as the queue holds."""
        return await self._run(self.hashes, hash_password, password, self.cost)

    async def verify(self, password: str, stored: str | None) -> bool:
        """Always one bcrypt check: against the dummy hash when there is no account.
        PasswordsBusyError when as many checks wait as the queue holds."""
        ok = await self._run(self.checks, verify_password, password, stored or self.dummy)
        return ok and stored is not None

    async def _run(self, lane: Lane, work: Callable[..., Any], *args: Any) -> Any:
        if lane.taken >= lane.threads + lane.queue:
            # The queue drains at `threads` bcrypts at a time.
            raise PasswordsBusyError(max(1, math.ceil(self.seconds * lane.taken / lane.threads)))
        lane.taken += 1
        try:
            await lane.slots.acquire()
        except BaseException:
            lane.taken -= 1
            raise
        loop = asyncio.get_running_loop()
        try:
            running: Future = self.pool.submit(work, *args)
        except BaseException:
            lane.taken -= 1
            lane.slots.release()
            raise
        # The slot is free when the thread is, even if the request was abandoned meanwhile.
        running.add_done_callback(lambda _: _release_on(loop, lane))
        return await asyncio.wrap_future(running)

    def close(self) -> None:
        self.pool.shutdown(wait=True)


def _release(lane: Lane) -> None:
    lane.taken -= 1
    lane.slots.release()


def _release_on(loop: asyncio.AbstractEventLoop, lane: Lane) -> None:
    """From the bcrypt thread: the lane lives on the event loop (gone at shutdown)."""
    try:
        loop.call_soon_threadsafe(_release, lane)
    except RuntimeError:  # the loop is closed: nobody waits any more
        pass
