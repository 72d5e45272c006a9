"""Passwords: bcrypt in a thread pool, never on the event loop.

bcrypt reads at most 72 bytes (and bcrypt 5 refuses more). Every password is therefore
pre-hashed to 44 bytes (base64 of its SHA-256) before bcrypt, so a 64-character password
of two-byte letters counts in full and changing its last byte changes the outcome. The
prefix `$astapa-sha256$` on stored hashes says so. A sign-in for an unknown email checks
a dummy hash of the same cost, so it takes as long as a wrong password.
"""

import asyncio
import base64
import hashlib
import os
from concurrent.futures import ThreadPoolExecutor

import bcrypt
from zxcvbn.frequency_lists import FREQUENCY_LISTS

MIN_LENGTH = 8
MAX_LENGTH = 1024
PREFIX = "$astapa-sha256$"
# The 3,000 most common passwords of zxcvbn's leaked-password list (ASVS 5 §6.2.4).
COMMON = frozenset(FREQUENCY_LISTS["passwords"][:3000])


class PasswordPolicyError(ValueError):
    """A password the policy refuses; the message is shown to the user."""


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


class Passwords:
    """The bcrypt pool: one worker per core, since bcrypt releases the GIL."""

    def __init__(self, cost: int, workers: int | None = None) -> None:
        self.cost = cost
        self.pool = ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 2,
                                       thread_name_prefix="astapa-bcrypt")
        self.dummy = hash_password("astapa dummy password", cost)

    async def hash(self, password: str) -> str:
        return await asyncio.get_running_loop().run_in_executor(
            self.pool, hash_password, password, self.cost)

    async def verify(self, password: str, stored: str | None) -> bool:
        """Always one bcrypt check: against the dummy hash when there is no account."""
        ok = await asyncio.get_running_loop().run_in_executor(
            self.pool, verify_password, password, stored or self.dummy)
        return ok and stored is not None

    def close(self) -> None:
        self.pool.shutdown(wait=True)
