#!/usr/bin/env python3
"""Benchmark (not a test): a realistic event log, its effect on the hot paths, and how fast
the read models rebuild from it.

1. The log. --users N users (100,000) of one project live through --days days (60) of a
   simulated clock, written in-process through the same commands the server runs (no HTTP):
   sign-up (user, email index, verification link and its mail, browser session, code), the
   mail's delivery (a few retried, a few bounced), the code exchange (refresh family and
   access token), email verification for some (which, as on the server, ends the sessions
   and refresh tokens from before), later password sign-ins and returning sessions,
   refresh rotations (each with its access token; most families never rotate, a few
   hundred rotate 100-260 times, so snapshots exist), sign-outs, revocations by the client
   (a family, an access token), refresh-token reuse, password resets, plan assignments
   (some trials that expire), custom claims, a few users revoked or disabled by the
   management API, and client_credentials tokens of a machine client. Commands run in
   simulated-time order, so the log interleaves users as a real one does, and event
   timestamps follow the simulated clock; many decisions are saved per transaction
   (`save_decisions`). One bcrypt hash (cost 12, of harness.PASSWORD) serves every user.
   The generation rate is printed. Target: at least 10 events a user (about 1,000,000 for
   the default 100,000; the flows as recorded come to more).
2. Hot paths. Two servers: one on that log, one on a near-empty log (the same project and
   clients, and nothing else but the load's users). Both get the same load users just
   before they start (signed up and through the code exchange in-process, like
   scripts/bench_refresh.py's fresh families). In each of --runs runs, both servers get
   client_credentials with wrk (scripts/bench/token.lua, as scripts/bench_token.py), one
   right after the other, then refresh rotations with wrk (scripts/bench/refresh.lua, as
   scripts/bench_refresh.py), the same way; each after a --warmup, each once both servers
   are idle again, the order alternating run by run. Target: on the log >= 0.90 x the
   near-empty figure (median of the runs' ratios, range printed); the same ratio per CPU
   second of the server is printed too (what is left when other work on a shared machine
   takes cores away). Before the load, the log server
   must answer for generated users: current refresh tokens of randomly chosen live families
   rotate (200), reuse of an old one revokes the family, a generated user signs in with the
   password on the hosted page and exchanges the code.
3. Rebuild. `scripts/rebuild_projections.py --data-dir DIR --into PATH` on SQLite, and with
   `--store URL` on PostgreSQL (a throwaway server from tests/postgres.py, the log copied
   into it notification by notification, snapshots too), run under a pseudo-terminal so
   the tqdm bar is drawn. Rate = events in the log / wall time of the whole command
   (interpreter start included); tqdm's own figure is printed too. Target >= 20,000
   events/s. The PostgreSQL copy is then served by `astapa serve --store URL` (keys made at
   its first start) and generated users' refresh tokens are checked there too.

Generation is the slow part: --keep DIR keeps the data (DIR/log, DIR/empty), --reuse DIR
takes it again (fresh load users are added to it); with --skip-rebuild --skip-postgres
only the hot paths are measured. Only 127.0.0.1 is targeted; every process started here
is stopped on exit, error or Ctrl-C.

    .venv/bin/python scripts/bench_log.py [--users 100000] [--duration 10] [--runs 3]
        [--rebuild-runs 2] [--skip-postgres] [--skip-rebuild] [--keep DIR | --reuse DIR]
"""

import argparse
import asyncio
import base64
import fcntl
import heapq
import json
import os
import pty
import random
import re
import secrets
import shutil
import sqlite3
import struct
import subprocess
import sys
import tempfile
import termios
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts" / "bench"))

import eventsourcing.domain
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import StoredEvent
from harness import (
    ASTAPA,
    BENCH,
    CSRF_COOKIE,
    PASSWORD,
    PYTHON,
    REDIRECT_URI,
    Server,
    busy_warning,
    check_token,
    children_cpu_seconds,
    ensure_wrk,
    exchange,
    free_port,
    log,
    machine_busy_seconds,
    median,
    open_form,
    query_of,
    ratio,
    refresh,
    run_benchmark,
    run_wrk,
    session,
    start,
    stop,
    token_load,
    tree_cpu_seconds,
    wait_http,
    wait_quiet,
)

from astapa.app import KEEP, AstapaApplication, LinkRequest
from astapa.crypto import LinkTokens, TokenIds, random_secret
from astapa.domain.codes import AuthorizationCode, CodeRequest
from astapa.domain.errors import DomainError
from astapa.domain.links import RESET_PASSWORD, VERIFY_EMAIL, ActionLink
from astapa.domain.mail import Message
from astapa.domain.sessions import BrowserSession
from astapa.domain.tokens import AccessToken
from astapa.domain.users import EmailIndex, normalise_email
from astapa.oauth.pkce import s256
from astapa.passwords import hash_password
from astapa.store.vault import FileVault
from astapa.web.csrf import load_page_key

RATIO_TARGET = 0.90
REBUILD_TARGET = 20_000  # events/s
EVENTS_PER_USER_TARGET = 10  # about 1,000,000 events for 100,000 users
ACCESS_TOKEN_TTL = 3600  # the server's default (Settings.access_token_ttl)
BCRYPT_COST = 12  # the server's default
DAY = 86400
PROJECT_NAME = "Acme Notes"
DOMAINS = ("mail.example", "inbox.example", "corp.example", "uni.example", "post.example")
SAMPLES = 40  # live families whose current refresh token is kept for the checks

# -- the simulated clock: event timestamps follow it while the log is generated ------------

CLOCK: list[float | None] = [None]  # None: the real clock
_real_now = eventsourcing.domain.datetime_now_with_tzinfo


def _simulated_now() -> datetime:
    return _real_now() if CLOCK[0] is None else datetime.fromtimestamp(CLOCK[0], tz=UTC)


eventsourcing.domain.datetime_now_with_tzinfo = _simulated_now  # this process only


class LogBuilder(AstapaApplication):
    """The application, for writing a log in-process: an aggregate decided on but not saved
    yet (many decisions go into one transaction) is found by the next command, as the same
    object (`mem`); nothing is kept otherwise, and nothing is deep-copied."""

    name = AstapaApplication.name

    def __init__(self, events_db: Path) -> None:
        super().__init__(events_db)
        self.mem: dict = {}

    def load(self, aggregate_id, missing, read_only: bool = False):
        aggregate = self.mem.get(aggregate_id)
        if aggregate is None:
            try:
                aggregate = self.repository.get(aggregate_id)
            except AggregateNotFoundError:
                raise missing() from None
            self.mem[aggregate_id] = aggregate
        return aggregate

    def exists(self, aggregate_id) -> bool:
        return aggregate_id in self.mem or bool(self.recorder.select_events(aggregate_id, limit=1))

    def _remember(self, aggregates) -> None:
        pass


class Family:
    __slots__ = ("alive", "heavy", "key", "last_used", "left", "previous", "scopes", "token", "user")

    def __init__(self, token: str, user: "SimUser", t: float, scopes: tuple) -> None:
        self.key = token.split(".", 1)[0]
        self.token, self.previous, self.user, self.last_used = token, None, user, t
        self.alive, self.left, self.heavy, self.scopes = True, 0, False, scopes


class SimUser:
    __slots__ = (
        "cookie",
        "disabled",
        "email",
        "families",
        "i",
        "key",
        "query",
        "request",
        "session_id",
        "sub",
    )

    def __init__(self, i: int) -> None:
        self.i, self.families, self.disabled, self.cookie, self.session_id = i, [], False, None, None


class Simulation:
    """Users' lives as timed steps, run in time order; each step runs the server's commands
    and hands their decisions to `record`, which saves them many to a transaction."""

    def __init__(self, app: LogBuilder, setup: dict, password_hash: str, batch: int, seed: int) -> None:
        self.app = app
        self.project = setup["project"]
        self.machine = setup["machine"]
        self.pid, self.client_id = self.project["project_id"], self.project["client_id"]
        self.password_hash = password_hash
        self.batch_size = batch
        self.rng = random.Random(seed)
        self.ids = TokenIds()
        self.heap: list = []
        self.seq = 0
        self.end = float("inf")
        self.batch: list = []
        self.in_batch: set = set()
        self.drop: list = []
        self.users: list[SimUser] = []
        self.decisions = 0
        self.transactions = 0

    # -- plumbing --------------------------------------------------------------------------

    def at(self, t: float, step, *args) -> None:
        if t <= self.end:
            heapq.heappush(self.heap, (t, self.seq, step, args))
            self.seq += 1

    def record(self, decision) -> None:
        # An aggregate already in the batch (a code issued, then redeemed) is the same
        # object, its new events pending after the first: it is listed once.
        fresh = []
        for aggregate in decision.aggregates:
            self.app.mem[aggregate.id] = aggregate
            if aggregate.id not in self.in_batch:
                self.in_batch.add(aggregate.id)
                fresh.append(aggregate)
        decision.aggregates = fresh
        self.batch.append(decision)
        if len(self.batch) >= self.batch_size:
            self.flush()

    def forget(self, *ids) -> None:
        """Let go of these aggregates once saved (no later step needs them)."""
        self.drop.extend(ids)

    def flush(self) -> None:
        if self.batch:
            self.app.save_decisions(self.batch)
            self.decisions += len(self.batch)
            self.transactions += 1
            self.batch = []
            self.in_batch = set()
        for aggregate_id in self.drop:
            self.app.mem.pop(aggregate_id, None)
        self.drop = []

    def run(self, progress=None) -> None:
        done = 0
        while self.heap:
            t, _, step, args = heapq.heappop(self.heap)
            CLOCK[0] = t
            step(t, *args)
            done += 1
            if progress is not None and done % 20000 == 0:
                progress(t)
        self.flush()
        CLOCK[0] = None

    def u(self, a: float, b: float) -> float:
        return self.rng.uniform(a, b)

    # -- what the browser and the client send --------------------------------------------

    def authorization(self, plain: bool = False) -> tuple[CodeRequest, str, str | None]:
        """An authorization request of the project's own app: (the request as the pages
        decide it, the raw query carried by links, the PKCE verifier). Half ask for
        `openid email` (with a nonce), 60 % use PKCE; `plain`: as harness.Server does."""
        openid = not plain and self.rng.random() < 0.5
        verifier = None if plain or self.rng.random() >= 0.6 else random_secret(32)
        query = {"client_id": self.client_id, "redirect_uri": REDIRECT_URI, "response_type": "code",
                 "state": random_secret(12)}
        nonce = random_secret(16) if openid else None
        if openid:
            query.update(scope="openid email", nonce=nonce)
        challenge = s256(verifier) if verifier else None
        if challenge:
            query.update(code_challenge=challenge, code_challenge_method="S256")
        request = CodeRequest(project_id=self.pid, client_id=self.client_id, redirect_uri=REDIRECT_URI,
                              scopes=("openid", "email") if openid else (), code_challenge=challenge,
                              nonce=nonce, resource=None)
        return request, urlencode(query), verifier

    def where(self, query: str) -> LinkRequest:
        return LinkRequest(self.pid, PROJECT_NAME, query)

    def with_access_token(self, decision, t: float):
        """What TokenIssuer._with_tokens adds to a redeemed code or a rotation: the access
        token's Issued event (the JWT itself is signed after the commit, never recorded)."""
        grant = decision.value
        issued_at = int(t)
        token = self.app.issue_access_token(
            jti=self.ids.next(), client_id=grant.client_id, project_id=grant.project_id, subject=grant.sub,
            scopes=list(grant.scopes), audience=grant.resource or grant.client_id,
            expires_at=issued_at + ACCESS_TOKEN_TTL)
        decision.aggregates += token.aggregates
        jti_id = token.aggregates[0].id
        if self.rng.random() < 0.01:  # the client revokes it (RFC 7009), soon
            self.at(t + self.u(60, 1800), self.revoke_access_token, token.aggregates[0].jti)
        else:
            self.forget(jti_id)
        return grant

    # -- steps -------------------------------------------------------------------------------

    def sign_up(self, t: float, user: SimUser) -> None:
        """POST /auth/signup: app.register_user, as the page calls it."""
        request, query, verifier = self.authorization()
        user.request, user.query = (request, verifier), query
        user.email, user.key = normalise_email(f"user{user.i:06d}.{secrets.token_hex(2)}@"
                                               f"{DOMAINS[user.i % len(DOMAINS)]}")
        decision = self.app.register_user(request, self.where(query), user.email, user.key,
                                          self.password_hash, t, sign_in=True, mail=True)
        signed_in = decision.value
        user.sub, user.cookie = signed_in.sub, signed_in.session_cookie
        by_type = {type(a): a for a in decision.aggregates}
        user.session_id = by_type[BrowserSession].id
        self.record(decision)
        self.forget(by_type[EmailIndex].id)
        verify = self.rng.random() < 0.30
        self.at(t + self.u(1, 20), self.deliver, by_type[Message].id, by_type[ActionLink] if verify else None,
                user)
        if not verify:
            self.forget(by_type[ActionLink].id)
        if self.rng.random() < 0.97:
            self.at(t + self.u(0.3, 3), self.exchange, user, signed_in.code, verifier, request.scopes)
        else:  # the browser never came back to the app
            self.forget(by_type[AuthorizationCode].id)
        self.plan_life(t, user)

    def plan_life(self, t: float, user: SimUser) -> None:
        rng = self.rng
        if rng.random() < 0.05:  # back in the app within the hour: the session answers
            self.at(t + self.u(120, 3000), self.resume, user)
        if rng.random() < 0.08:
            self.at(t + self.u(300, 3300), self.sign_out, user)
        later = 0 if rng.random() < 0.82 else (1 if rng.random() < 0.7 else rng.randint(2, 4))
        for _ in range(later):  # another device, or after the refresh token died
            self.at(t + self.u(0.5, 50) * DAY, self.sign_in, user)
        if rng.random() < 0.01:
            self.at(t + self.u(1, 50) * DAY, self.forgot_password, user)
        if rng.random() < 0.05:  # PUT /api/platform/users/{sub}/plan
            self.at(t + self.u(0.1, 40) * DAY, self.assign_plan, user, "pro", None)
        elif rng.random() < 0.015:  # a 14-day trial
            self.at(t + self.u(0.1, 40) * DAY, self.assign_plan, user, "team", 14 * DAY)
        if rng.random() < 0.03:  # PATCH /api/platform/users/{sub}/claims
            self.at(t + self.u(0.1, 40) * DAY, self.change_claims, user)
        if rng.random() < 0.004:  # POST /api/platform/revoke
            self.at(t + self.u(1, 50) * DAY, self.revoke_user, user)
        if rng.random() < 0.0015:
            self.at(t + self.u(1, 50) * DAY, self.disable, user)

    def deliver(self, t: float, message_id, link, user: SimUser, retried: bool = False) -> None:
        """The mailer's outcome (astapa/mail/mailer.py): delivered, failed and retried, or bounced."""
        draw = self.rng.random()
        if draw < 0.01 and not retried:
            self.record(self.app.record_failure(message_id, "550 5.1.1 mailbox unavailable", None))
            self.forget(message_id, *([link.id] if link else []))
            return
        if draw < 0.035 and not retried:
            self.record(self.app.record_failure(message_id, "421 4.7.0 try again later", t + 30))
            self.at(t + 30 + self.u(0, 5), self.deliver, message_id, link, user, True)
            return
        self.record(self.app.record_delivery(message_id, "smtp", f"250 2.0.0 Ok: queued as {random_secret(8)}"))
        self.forget(message_id)
        if link is not None:
            self.at(t + min(self.rng.lognormvariate(6.5, 1.2), 20 * 3600), self.verify, user, link)

    def verify(self, t: float, user: SimUser, link) -> None:
        """The link in the mail: app.use_link(verify_email), a new session and a code."""
        request, verifier = user.request
        token = self.app.link_tokens.token(VERIFY_EMAIL, link.link_key)
        try:
            decision = self.app.use_link(VERIFY_EMAIL, token, request, PROJECT_NAME, t)
        except DomainError:
            return
        self.signed_in(t, user, decision, verifier, request.scopes)
        self.forget(link.id)
        for family in user.families:  # the proven address ended the tokens from before
            family.alive = False

    def signed_in(self, t: float, user: SimUser, decision, verifier, scopes) -> None:
        session = next(a for a in decision.aggregates if isinstance(a, BrowserSession))
        self.record(decision)
        if user.session_id is not None and user.session_id != session.id:
            self.forget(user.session_id)
        user.session_id = session.id
        if decision.value.session_cookie:
            user.cookie = decision.value.session_cookie
        self.at(t + self.u(0.3, 3), self.exchange, user, decision.value.code, verifier, scopes)

    def sign_in(self, t: float, user: SimUser) -> None:
        """POST /auth/login with the right password: app.sign_in."""
        if user.disabled:
            return
        request, _, verifier = self.authorization()
        try:
            decision = self.app.sign_in(request, user.sub, t)
        except DomainError:
            return
        self.signed_in(t, user, decision, verifier, request.scopes)

    def resume(self, t: float, user: SimUser) -> None:
        """GET /auth/login with a live session cookie: app.resume_session."""
        if user.cookie is None:
            return
        request, _, verifier = self.authorization()
        try:
            decision = self.app.resume_session(request, user.cookie, t, None)
        except DomainError:
            return
        self.signed_in(t, user, decision, verifier, request.scopes)

    def sign_out(self, t: float, user: SimUser) -> None:
        if user.cookie is not None:
            self.record(self.app.end_session(user.cookie, t))

    def exchange(self, t: float, user: SimUser, code: str, verifier: str | None, scopes: tuple) -> None:
        """POST /oauth/token grant_type=authorization_code: app.redeem_code and the access token."""
        decision = self.app.redeem_code(code, self.client_id, REDIRECT_URI, s256(verifier) if verifier else None, t)
        if decision.error is not None:
            self.record(decision)
            return
        grant = self.with_access_token(decision, t)
        self.record(decision)
        self.forget(decision.aggregates[0].id)  # the code
        family = Family(grant.refresh_token, user, t, scopes)
        user.families.append(family)
        draw = self.rng.random()
        if draw < 0.003:  # an app open all day, every day
            family.heavy, family.left = True, self.rng.randint(100, 260)
        elif draw < 0.13:
            family.left = 1 + int(self.rng.expovariate(1 / 5))
        elif draw < 0.38:
            family.left = 1 + int(self.rng.expovariate(1 / 1.2))
        self.next_for_family(t, family)

    def gap(self, family: Family) -> float:
        if family.heavy:
            return self.u(1, 8) * 3600
        return max(3600.0, self.rng.expovariate(1 / (2 * DAY)))

    def next_for_family(self, t: float, family: Family) -> None:
        if family.left > 0:
            self.at(t + self.gap(family), self.rotate, family)
            return
        draw = self.rng.random()
        if draw < 0.06:  # sign-out in the app: POST /oauth/revoke with the refresh token
            self.at(t + self.gap(family), self.revoke_family, family)
        elif draw < 0.065 and family.previous is not None:  # an old token comes back
            self.at(t + self.gap(family), self.reuse, family)

    def rotate(self, t: float, family: Family) -> None:
        """POST /oauth/token grant_type=refresh_token: app.rotate_refresh and the access token."""
        if not family.alive:
            return
        try:
            decision = self.app.rotate_refresh(family.key, family.token.split(".", 1)[1], self.client_id, None, t)
        except DomainError:  # expired, or the user's tokens were revoked: the app signs in again
            family.alive = False
            return
        if decision.error is not None:
            self.record(decision)
            family.alive = False
            return
        grant = self.with_access_token(decision, t)
        self.record(decision)
        family.previous, family.token, family.last_used = family.token, grant.refresh_token, t
        family.left -= 1
        self.next_for_family(t, family)

    def revoke_family(self, t: float, family: Family) -> None:
        if family.alive:
            self.record(self.app.revoke_refresh_family(family.key, self.client_id))
            family.alive = False

    def reuse(self, t: float, family: Family) -> None:
        if not family.alive:
            return
        try:
            decision = self.app.rotate_refresh(family.key, family.previous.split(".", 1)[1], self.client_id,
                                               None, t)
        except DomainError:
            family.alive = False
            return
        self.record(decision)  # ReuseDetected and Revoked, then invalid_grant
        family.alive = False

    def revoke_access_token(self, t: float, jti: str) -> None:
        decision = self.app.revoke_access_token(jti, self.client_id)
        self.record(decision)
        self.forget(AccessToken.create_id(jti))

    def forgot_password(self, t: float, user: SimUser) -> None:
        """Forgot password (app.send_link), the mail, then the link (app.use_link with the new hash)."""
        decision = self.app.send_link(RESET_PASSWORD, self.where(user.query), user.key, t)
        if not decision.aggregates:
            return
        self.record(decision)
        message = next(a for a in decision.aggregates if isinstance(a, Message))
        link = next(a for a in decision.aggregates if isinstance(a, ActionLink))
        self.at(t + self.u(1, 15), self.deliver_only, message.id)
        self.at(t + self.u(60, 900), self.reset_password, user, link)

    def deliver_only(self, t: float, message_id) -> None:
        self.record(self.app.record_delivery(message_id, "smtp", f"250 2.0.0 Ok: queued as {random_secret(8)}"))
        self.forget(message_id)

    def reset_password(self, t: float, user: SimUser, link) -> None:
        request, _, verifier = self.authorization()
        token = self.app.link_tokens.token(RESET_PASSWORD, link.link_key)
        try:
            decision = self.app.use_link(RESET_PASSWORD, token, request, PROJECT_NAME, t, self.password_hash)
        except DomainError:
            return
        for family in user.families:
            family.alive = False
        notice = next(a for a in decision.aggregates if isinstance(a, Message))
        self.signed_in(t, user, decision, verifier, request.scopes)
        self.forget(link.id)
        self.at(t + self.u(1, 15), self.deliver_only, notice.id)

    def assign_plan(self, t: float, user: SimUser, plan: str, length: float | None) -> None:
        ends = t + length if length else None
        self.record(self.app.assign_plan(self.pid, user.sub, plan, ends, by=self.client_id))
        if ends is not None:
            self.at(ends + self.u(1, 60), self.expire_plan, user)  # the scheduler's job

    def expire_plan(self, t: float, user: SimUser) -> None:
        self.record(self.app.expire_plan(self.pid, user.sub, t))

    def change_claims(self, t: float, user: SimUser) -> None:
        claims = {"org_id": f"org_{user.i % 997}", "role": self.rng.choice(("member", "member", "admin"))}
        self.record(self.app.change_claims(self.pid, user.sub, claims, [], KEEP, by=self.client_id))

    def revoke_user(self, t: float, user: SimUser) -> None:
        self.record(self.app.revoke_user_tokens(self.pid, user.sub, None))
        for family in user.families:
            family.alive = False

    def disable(self, t: float, user: SimUser) -> None:
        self.record(self.app.set_disabled(self.pid, user.sub, True, by=self.client_id))
        user.disabled = True
        for family in user.families:
            family.alive = False

    def machine_token(self, t: float) -> None:
        """client_credentials: TokenIssuer._issue's command (signing happens beside it)."""
        m = self.machine
        issued_at = int(t)
        decision = self.app.issue_access_token(
            jti=self.ids.next(), client_id=m["client_id"], project_id=self.pid, subject=m["client_id"],
            scopes=list(m["scopes"]), audience=m["client_id"], expires_at=issued_at + ACCESS_TOKEN_TTL)
        self.record(decision)
        self.forget(decision.aggregates[0].id)

    # -- populations ---------------------------------------------------------------------------

    def population(self, users: int, days: float, end: float) -> None:
        self.end = end
        begin = end - days * DAY
        for i in range(users):
            user = SimUser(i)
            self.users.append(user)
            self.at(self.u(begin, end - 3600), self.sign_up, user)
        for _ in range(int(users * 0.4)):
            self.at(self.u(begin, end), self.machine_token)

    def live_samples(self, count: int, now: float) -> list[dict]:
        """Families whose current token the server must take: checked in-process first."""
        candidates = [f for u in self.users for f in u.families
                      if f.alive and not u.disabled and now - f.last_used < 25 * DAY]
        self.rng.shuffle(candidates)
        samples = []
        for family in candidates:
            if len(samples) == count:
                break
            state = self.app.inspect_refresh_token(family.key, family.token.split(".", 1)[1], now).value
            if state is not None:
                samples.append({"email": family.user.email, "refresh_token": family.token,
                                "rotations": family.heavy and "heavy" or "light",
                                "scopes": list(family.scopes)})
        return samples


# -- building the data dirs ------------------------------------------------------------------

def open_builder(data: Path) -> LogBuilder:
    data.mkdir(parents=True, exist_ok=True)
    app = LogBuilder(data / "events.db")
    # The key the server derives mailed links' tokens with (its vault, DATA_DIR/keys): the
    # same file, so links in the log are the server's own. Signing keys are left to the
    # server's first start.
    app.link_tokens = LinkTokens(load_page_key(FileVault(data / "keys"), "links.key"))
    return app


def set_up_project(app: LogBuilder) -> dict:
    """The project as `astapa project create` makes it, a machine client as `astapa client
    create --scope api`, and two plans as the management API makes them."""
    project, _ = app.execute(app.create_project, PROJECT_NAME, [REDIRECT_URI], "sandbox", [], by="cli")
    machine, _ = app.execute(app.create_client, project["project_id"], "billing-backend", ["api"], None, by="cli")
    for key, name, price, claims in (("pro", "Pro", 900, {"seats": 5, "export": True}),
                                     ("team", "Team", 2900, {"seats": 25, "export": True, "sso": True})):
        app.execute(app.create_plan, project["project_id"], key, name, price, "USD", "month", claims,
                    by=project["client_id"])
    return {"project": project, "machine": machine}


def count_by_type(events_db: Path) -> dict[str, int]:
    with sqlite3.connect(events_db) as db:
        rows = db.execute("SELECT topic, count(*) FROM stored_events GROUP BY topic").fetchall()
        snapshots = db.execute("SELECT count(*) FROM stored_snapshots").fetchone()[0]
    counts = {topic.split(":", 1)[1]: n for topic, n in sorted(rows, key=lambda r: -r[1])}
    counts["(snapshots, not events)"] = snapshots
    return counts


def head(events_db: Path) -> int:
    with sqlite3.connect(events_db) as db:
        return db.execute("SELECT coalesce(max(rowid), 0) FROM stored_events").fetchone()[0]


def generate(data: Path, users: int, days: float, batch: int, seed: int) -> dict:
    """The log of `users` users in data/events.db; its setup and figures (bench.json)."""
    started = time.monotonic()
    password_hash = hash_password(PASSWORD, BCRYPT_COST)  # once: the log's shape is the point
    app = open_builder(data)
    setup = set_up_project(app)
    sim = Simulation(app, setup, password_hash, batch, seed)
    end = time.time() - 600
    sim.population(users, days, end)
    began = time.monotonic()
    last = [began]

    def progress(t: float) -> None:
        if time.monotonic() - last[0] >= 15:
            last[0] = time.monotonic()
            log(f"  ... simulated day {days - (end - t) / DAY:.0f} of {days:.0f}, {sim.decisions} decisions saved, "
                f"{time.monotonic() - began:.0f}s")

    sim.run(progress)
    seconds = time.monotonic() - began
    samples = sim.live_samples(SAMPLES, time.time())
    app.close()
    events = head(data / "events.db")
    counts = count_by_type(data / "events.db")
    generated = {"users": users, "days": days, "events": events, "seconds": round(seconds, 1),
                 "events_per_s": round(events / seconds), "decisions": sim.decisions,
                 "transactions": sim.transactions, "total_seconds": round(time.monotonic() - started, 1),
                 "by_type": counts, "db_bytes": (data / "events.db").stat().st_size}
    state = {**setup, "samples": samples, "generated": generated, "password_hash": password_hash}
    (data / "bench.json").write_text(json.dumps(state, indent=1))
    return state


def add_load_users(data: Path, state: dict, count: int) -> list[str]:
    """`count` users signed up now (verification mail delivered) and through the code
    exchange, as scripts/bench_refresh.py's users are: one fresh family each. Their tokens."""
    app = open_builder(data)
    sim = Simulation(app, state, state["password_hash"], 500, secrets.randbits(32))
    tag = secrets.token_hex(3)
    tokens = []
    for i in range(count):
        now = time.time()
        request, query, _ = sim.authorization(plain=True)
        email, key = normalise_email(f"load-{tag}-{i}@bench.example")
        decision = app.register_user(request, sim.where(query), email, key, state["password_hash"], now)
        message = next(a for a in decision.aggregates if isinstance(a, Message))
        sim.record(decision)
        sim.record(app.record_delivery(message.id, "smtp", "250 2.0.0 Ok"))
        redeemed = app.redeem_code(decision.value.code, sim.client_id, REDIRECT_URI, None, now)
        grant = sim.with_access_token(redeemed, now)
        sim.record(redeemed)
        tokens.append(grant.refresh_token)
    sim.flush()
    app.close()
    return tokens


# -- rebuilding the read models ------------------------------------------------------------------

BAR_RATE = re.compile(r"([\d.]+)(k?)event/s\]")


def rebuild(args_tail: list[str], env: dict | None = None, server_pid: int | None = None) -> dict:
    """scripts/rebuild_projections.py with `args_tail`, its stderr a terminal (the tqdm bar
    is drawn): wall time, CPU, the bar's last line and its own rate."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 110, 0, 0))
    cmd = [str(PYTHON), str(ROOT / "scripts" / "rebuild_projections.py"), *args_tail]
    store_cpu = tree_cpu_seconds(server_pid) if server_pid else 0.0
    cpu, busy, wall = children_cpu_seconds(), machine_busy_seconds(), time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, start_new_session=True,
                            env=dict(os.environ, **(env or {})))
    os.close(slave)
    output = bytearray()
    try:
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            output += chunk
    finally:
        os.close(master)
        proc.wait()
    seconds = time.perf_counter() - wall
    cpu = children_cpu_seconds() - cpu
    busy = machine_busy_seconds() - busy
    store_cpu = (tree_cpu_seconds(server_pid) - store_cpu) if server_pid else 0.0
    text = output.decode(errors="replace")
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{text[-3000:]}")
    frames = [f.strip() for f in re.split(r"[\r\n]", text) if "event" in f]
    last = frames[-1] if frames else ""
    rates = BAR_RATE.findall(last)
    bar_rate = float(rates[-1][0]) * (1000 if rates[-1][1] else 1) if rates else None
    return {"seconds": round(seconds, 2), "cpu_cores": round(cpu / seconds, 2),
            "store_cores": round(store_cpu / seconds, 2),
            "others_cores": round(max(0.0, busy - cpu - store_cpu) / seconds, 2), "bar": last, "bar_frames": len(frames),
            "bar_rate": bar_rate}


def measure_rebuilds(label: str, events: int, args_tail: list[str], into: Path, runs: int,
                     server_pid: int | None = None) -> dict:
    figures = []
    for run in range(1, runs + 1):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{into}{suffix}").unlink(missing_ok=True)
        wait_quiet(20, [server_pid] if server_pid else ())
        result = rebuild([*args_tail, "--into", str(into)], server_pid=server_pid)
        result["events_per_s"] = round(events / result["seconds"])
        figures.append(result)
        log(f"  {label} run {run}/{runs}: {events} events in {result['seconds']}s = {result['events_per_s']} "
            f"events/s (tqdm: {result['bar_rate']}/s; {result['bar_frames']} bar frames drawn); rebuild used "
            f"{result['cpu_cores']} cores" + (f", PostgreSQL {result['store_cores']}" if server_pid else "")
            + f", everything else {result['others_cores']}")
        log(f"    last frame: {result['bar']}")
    rates = [f["events_per_s"] for f in figures]
    return {"events": events, "events_per_s": median(rates), "min": min(rates), "max": max(rates), "runs": figures,
            "others_cores": max(f["others_cores"] for f in figures)}


def swap_in(read_db: Path, data: Path) -> None:
    """A rebuilt read model becomes the data dir's read.db (the server is stopped): what the
    rebuild script does without --into."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{data / 'read.db'}{suffix}").unlink(missing_ok=True)
        if Path(f"{read_db}{suffix}").exists():
            os.replace(f"{read_db}{suffix}", f"{data / 'read.db'}{suffix}")


# -- PostgreSQL ------------------------------------------------------------------------------------

def copy_to_postgres(events_db: Path, url: str, batch: int = 5000) -> dict:
    """Every stored event, in notification order (PostgreSQL numbers them as inserted), and
    every snapshot, from the SQLite store into the PostgreSQL one, through the recorders."""
    source = AstapaApplication(events_db)
    target = AstapaApplication(store_url=url)
    started = time.monotonic()
    copied, position = 0, 0
    try:
        while True:
            notifications = source.recorder.select_notifications(start=position + 1, limit=batch)
            if not notifications:
                break
            target.recorder.insert_events([StoredEvent(n.originator_id, n.originator_version, n.topic, n.state)
                                           for n in notifications])
            copied += len(notifications)
            position = notifications[-1].id
        with sqlite3.connect(events_db) as db:
            rows = db.execute("SELECT originator_id, originator_version, topic, state FROM stored_snapshots").fetchall()
        from uuid import UUID
        for i in range(0, len(rows), batch):
            target.snapshots.recorder.insert_events(
                [StoredEvent(UUID(r[0]), r[1], r[2], r[3]) for r in rows[i:i + batch]])
        head_pg = target.recorder.max_notification_id()
    finally:
        source.close()
        target.close()
    seconds = time.monotonic() - started
    return {"events": copied, "snapshots": len(rows), "seconds": round(seconds, 1),
            "events_per_s": round(copied / seconds), "head": head_pg}


# -- the servers and their load -----------------------------------------------------------------------

def serve(data: Path, logfile: Path, extra: tuple = (), env: dict | None = None, timeout: float = 900):
    port = free_port()
    proc = start([str(ASTAPA), "serve", "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(data), *extra],
                 logfile, env=env)
    began = time.monotonic()
    wait_http(f"http://127.0.0.1:{port}/healthz", proc, logfile, timeout)
    return proc, port, time.monotonic() - began


def wait_servers_idle(pids: list[int], max_wait: float = 30.0, sample: float = 1.0,
                      threshold: float = 0.05) -> None:
    """Until every server is idle (under `threshold` cores over `sample` seconds): a server
    measured a moment ago still applies its new events to its read models and checkpoints,
    which would take CPU from the next measurement (wait_quiet counts our servers as ours)."""
    began = time.monotonic()
    while True:
        before = [tree_cpu_seconds(pid) for pid in pids]
        time.sleep(sample)
        busiest = max((tree_cpu_seconds(pid) - cpu) / sample for pid, cpu in zip(pids, before))
        waited = time.monotonic() - began
        if busiest < threshold or waited >= max_wait:
            if waited > sample + 0.5:
                log(f"  waited {waited:.0f}s for the servers to go idle (busiest now {busiest:.2f} cores)")
            return


def refresh_load(wrk: str, server: Server, tokens: list[str], args: argparse.Namespace, duration: int) -> dict:
    """wrk with refresh.lua over `tokens`, as scripts/bench_refresh.py's load()."""
    per_thread = args.connections // args.threads
    with tempfile.NamedTemporaryFile("w", prefix="refresh-tokens-", suffix=".txt") as file:
        file.write("\n".join(tokens) + "\n")
        file.flush()
        basic = f"{server.project['client_id']}:{server.project['client_secret']}"
        env = {"BENCH_PATH": "/oauth/token", "BENCH_TOKENS": file.name, "BENCH_THREADS": str(args.threads),
               "BENCH_PER_THREAD": str(per_thread),
               "BENCH_BASIC_AUTH": base64.b64encode(basic.encode()).decode()}
        figures = run_wrk(wrk, BENCH / "refresh.lua", f"{server.base}/", env, args.threads, args.connections,
                          duration, server.proc.pid)
    figures["rotations_per_s"] = round(figures["ok"] / figures["seconds"], 1)
    figures["failures"] = sum(figures[k] for k in ("non200", "no_token", "starved", "connect_errors",
                                                    "read_errors", "write_errors", "timeouts"))
    log(f"  {figures['rotations_per_s']} rotations/s ({figures['ok']} x 200, {figures['failures']} failed), "
        f"p50 {figures['p50_ms']} ms, p99 {figures['p99_ms']} ms; cores: server {figures['server_cores']}, "
        f"wrk {figures['client_cores']}, everything else {figures['others_cores']}")
    return figures


async def check_generated_users(server: Server, samples: list[dict], label: str) -> dict:
    """Generated users, served: each sampled family's current token rotates (200, a new
    token); on one, a rotated-away token then revokes the family; one user signs in with the
    password on the hosted page and exchanges the code."""
    ok, new_tokens = 0, []
    async with session() as http:
        for sample in samples:
            status, body = await refresh(http, server, sample["refresh_token"])
            if status == 200 and isinstance(body, dict) and body.get("refresh_token"):
                ok += 1
                new_tokens.append(body["refresh_token"])
            else:
                log(f"  {label}: refresh of a generated family answered {status}: {str(body)[:300]}")
                new_tokens.append(None)
        reuse = None
        if new_tokens and new_tokens[-1]:
            first = new_tokens[-1]
            status, body = await refresh(http, server, first)
            second = body.get("refresh_token") if status == 200 and isinstance(body, dict) else None
            reused, _ = await refresh(http, server, first)
            after, _ = await refresh(http, server, second) if second else (None, None)
            reuse = {"rotated": status, "old_token_again": reused, "newest_after": after,
                     "ok": status == 200 and reused != 200 and after not in (200, None)}
            new_tokens[-1] = None  # that family is revoked now
        fields, csrf = await open_form(http, server, "/auth/login")
        email = samples[0]["email"] if samples else None
        signed = None
        if email:
            async with http.post(f"{server.base}/auth/login", allow_redirects=False,
                                 data={**fields, "email": email, "password": PASSWORD, "action": "login"},
                                 headers={"Cookie": f"{CSRF_COOKIE}={csrf}"}) as r:
                code = query_of(r.headers.get("Location", "")).get("code") if r.status == 303 else None
                status = r.status
            body = await exchange(http, server, code) if code else None
            signed = {"login_status": status, "exchanged": bool(body and body.get("refresh_token"))}
    result = {"refreshed": ok, "of": len(samples), "reuse_check": reuse, "password_sign_in": signed,
              "new_tokens": new_tokens}
    log(f"  {label}: {ok}/{len(samples)} current refresh tokens of generated families rotated (200); reuse "
        f"check {reuse}; password sign-in of a generated user {signed}")
    return result


def count_since(events_db: Path, position: int, topic_like: str) -> int:
    with sqlite3.connect(events_db) as db:
        return db.execute("SELECT count(*) FROM stored_events WHERE rowid > ? AND topic LIKE ?",
                          (position, topic_like)).fetchone()[0]


def errors_in(logfile: Path) -> list[str]:
    if not logfile.exists():
        return []
    return [line for line in logfile.read_text(errors="replace").splitlines()
            if re.search(r"\b(ERROR|CRITICAL|Traceback)\b", line)]


def hot_paths(wrk: str, args: argparse.Namespace, work: Path, sides: dict, samples: list[dict]) -> dict:
    """Both servers up; per run (order alternating) each gets the token load then the refresh
    load; then the events check. `sides`: name -> {data, state, tokens}."""
    servers = {}
    try:
        for name, side in sides.items():
            logfile = work / f"serve-{name}.log"
            proc, port, took = serve(side["data"], logfile)
            log(f"  {name}: server up in {took:.1f}s (port {port})")
            servers[name] = Server(side["data"], port, proc, side["state"]["project"], logfile)
            side["head"] = head(side["data"] / "events.db")
        for name, server in servers.items():
            machine = sides[name]["state"]["machine"]
            check_token(f"{server.base}/oauth/token", machine["client_id"], machine["client_secret"])
        checks = asyncio.run(check_generated_users(servers["log"], samples, "log server"))
        pids = [s.proc.pid for s in servers.values()]
        results: dict = {name: [] for name in servers}
        answered = {name: {"tokens": 1, "rotations": 0} for name in servers}
        per_set = (args.connections // args.threads) * args.threads
        for run in range(1, args.runs + 1):
            # The two servers' figures for one path are taken one right after the other,
            # first one then the other, alternating: other work on a shared machine comes
            # and goes, so what is compared was measured close together.
            order = list(servers) if run % 2 else list(reversed(list(servers)))
            figures: dict = {name: {} for name in servers}
            for name in order:
                server, machine = servers[name], sides[name]["state"]["machine"]
                wait_servers_idle(pids)
                wait_quiet(10, pids)
                log(f"[run {run}/{args.runs}] {name}: client_credentials, {args.connections} connections, "
                    f"warm-up {args.warmup}s then {args.duration}s")
                warm = token_load(wrk, server.base, "/oauth/token", machine["client_id"], machine["client_secret"],
                                  args.threads, args.connections, args.warmup, server.proc.pid)
                token = token_load(wrk, server.base, "/oauth/token", machine["client_id"], machine["client_secret"],
                                   args.threads, args.connections, args.duration, server.proc.pid)
                answered[name]["tokens"] += warm["ok"] + token["ok"]
                figures[name].update(
                    tokens_per_s=token["tokens_per_s"], token_p99_ms=token["p99_ms"],
                    token_errors=token["non200"] + token["errors"], token_others_cores=token["others_cores"],
                    token_server_cores=token["server_cores"],
                    tokens_per_core=round(token["tokens_per_s"] / token["server_cores"], 1)
                    if token["server_cores"] else None)
            for name in order:
                server = servers[name]
                tokens = sides[name]["tokens"]
                warm_set, measured_set = tokens[:per_set], tokens[per_set:2 * per_set]
                del tokens[:2 * per_set]
                wait_servers_idle(pids)
                wait_quiet(10, pids)
                log(f"[run {run}/{args.runs}] {name}: refresh rotation, {per_set} fresh families, "
                    f"warm-up {args.warmup}s on others, then {args.duration}s")
                warm = refresh_load(wrk, server, warm_set, args, args.warmup)
                rotation = refresh_load(wrk, server, measured_set, args, args.duration)
                answered[name]["rotations"] += warm["ok"] + rotation["ok"]
                figures[name].update(
                    rotations_per_s=rotation["rotations_per_s"], refresh_p99_ms=rotation["p99_ms"],
                    refresh_failures=rotation["failures"], refresh_others_cores=rotation["others_cores"],
                    refresh_server_cores=rotation["server_cores"],
                    rotations_per_core=round(rotation["rotations_per_s"] / rotation["server_cores"], 1)
                    if rotation["server_cores"] else None)
            for name in servers:
                results[name].append(figures[name])
            log(f"[run {run}/{args.runs}] log / near-empty: tokens/s "
                f"{ratio(results['log'][-1]['tokens_per_s'], results['empty'][-1]['tokens_per_s'])} (per server "
                f"core {ratio(results['log'][-1]['tokens_per_core'], results['empty'][-1]['tokens_per_core'])}), "
                f"rotations/s {ratio(results['log'][-1]['rotations_per_s'], results['empty'][-1]['rotations_per_s'])}"
                f" (per server core "
                f"{ratio(results['log'][-1]['rotations_per_core'], results['empty'][-1]['rotations_per_core'])})")
    finally:
        for server in servers.values():
            stop(server.proc)
    events_ok = {}
    for name, server in servers.items():
        db = sides[name]["data"] / "events.db"
        issued = count_since(db, sides[name]["head"], "%AccessToken.Issued%")
        rotated = count_since(db, sides[name]["head"], "%RefreshFamily.Rotated%")
        want_issued = answered[name]["tokens"] + answered[name]["rotations"]
        events_ok[name] = issued >= want_issued and rotated >= answered[name]["rotations"]
        errors = errors_in(server.logfile)
        log(f"  {name}: AccessToken.Issued since the start {issued} (>= {want_issued} answered), "
            f"RefreshFamily.Rotated {rotated} (>= {answered[name]['rotations']}): "
            f"{'OK' if events_ok[name] else 'MISMATCH'}; {len(errors)} error lines in the server log"
            + (f", first: {errors[0][:300]}" if errors else ""))
    return {"runs": results, "checks": checks, "events_ok": events_ok,
            "server_errors": {name: len(errors_in(s.logfile)) for name, s in servers.items()}}


def postgres_phase(args: argparse.Namespace, work: Path, log_dir: Path, events: int, samples: list[dict]) -> dict:
    from tests.postgres import PostgresServer

    pg = PostgresServer()
    try:
        pg.start()
        url = pg.create_database("astapa_log")
        log("PostgreSQL: copying the log (events in notification order, then snapshots)")
        copied = copy_to_postgres(log_dir / "events.db", url)
        log(f"  {copied['events']} events and {copied['snapshots']} snapshots in {copied['seconds']}s "
            f"({copied['events_per_s']} events/s); PostgreSQL's head {copied['head']}")
        node = work / "pg-node"
        shutil.rmtree(node, ignore_errors=True)
        node.mkdir()
        log(f"PostgreSQL: rebuild_projections.py --store URL --data-dir {node} --into PATH, "
            f"{args.rebuild_runs} run(s)")
        into = work / "pg-read.db"
        postmaster = int((pg.data / "postmaster.pid").read_text().split()[0])
        figures = measure_rebuilds("PostgreSQL", copied["head"], ["--store", url, "--data-dir", str(node)], into,
                                   args.rebuild_runs, server_pid=postmaster)
        figures["copy"] = copied
        swap_in(into, node)
        secret_key = secrets.token_urlsafe(33)
        logfile = work / "serve-pg.log"
        proc, port, took = serve(node, logfile, ("--store", url), env={"ASTAPA_SECRET_KEY": secret_key})
        try:
            state = json.loads((log_dir / "bench.json").read_text())
            server = Server(node, port, proc, state["project"], logfile)
            log(f"  served from PostgreSQL (first start: new signing keys in its vault) in {took:.1f}s")
            figures["checks"] = asyncio.run(check_generated_users(server, samples, "PostgreSQL server"))
            check_token(f"{server.base}/oauth/token", state["machine"]["client_id"],
                        state["machine"]["client_secret"])
            log("  client_credentials on the PostgreSQL server: 200 with an RS256 JWT")
        finally:
            stop(proc)
        errors = errors_in(logfile)
        figures["server_errors"] = len(errors)
        if errors:
            log(f"  {len(errors)} error lines in the PostgreSQL server's log, first: {errors[0][:300]}")
        return figures
    finally:
        pg.close()


# -- main ----------------------------------------------------------------------------------------------

def status(good: bool | None) -> str:
    return "n/a" if good is None else ("PASS" if good else "MISS")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=100_000, help="users in the generated log (100000)")
    parser.add_argument("--days", type=float, default=60, help="simulated days the log spans (60)")
    parser.add_argument("--duration", type=int, default=10, help="seconds of measured load each (10)")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of discarded load before each (2)")
    parser.add_argument("--runs", type=int, default=3, help="runs of the hot-path loads, order alternating (3)")
    parser.add_argument("--rebuild-runs", type=int, default=2, help="rebuilds on each store (2)")
    parser.add_argument("--connections", type=int, default=64, help="wrk connections = families (64)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (1)")
    parser.add_argument("--batch", type=int, default=500, help="decisions saved per transaction while generating")
    parser.add_argument("--seed", type=int, default=1, help="the simulation's random seed (1)")
    parser.add_argument("--skip-postgres", action="store_true", help="no PostgreSQL copy, rebuild and check")
    parser.add_argument("--skip-rebuild", action="store_true",
                        help="no rebuild on SQLite (with --reuse and --skip-postgres: the hot paths only)")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--keep", metavar="DIR", help="generate into DIR and keep it (DIR/log, DIR/empty)")
    group.add_argument("--reuse", metavar="DIR", help="take the log --keep DIR made (no generation)")
    args = parser.parse_args()
    wrk = ensure_wrk()
    log(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} before the run (other work skews every figure)")
    temp = None
    if args.keep or args.reuse:
        work = Path(args.keep or args.reuse).resolve()
        work.mkdir(parents=True, exist_ok=True)
    else:
        temp = tempfile.TemporaryDirectory(prefix="astapa-bench-log-")
        work = Path(temp.name)
    try:
        run(wrk, args, work)
    finally:
        if temp is not None:
            temp.cleanup()


def run(wrk: str, args: argparse.Namespace, work: Path) -> None:
    log_dir, empty_dir = work / "log", work / "empty"
    if args.reuse:
        if not (log_dir / "bench.json").exists():
            sys.exit(f"--reuse {work}: no {log_dir / 'bench.json'} (make one with --keep)")
        state = json.loads((log_dir / "bench.json").read_text())
        log(f"Reusing the log in {log_dir}: {state['generated']['events']} events when generated, "
            f"{state['generated']['users']} users")
    else:
        shutil.rmtree(log_dir, ignore_errors=True)
        log(f"Generating the log: {args.users} users over {args.days:.0f} simulated days, in-process, "
            f"{args.batch} decisions a transaction")
        state = generate(log_dir, args.users, args.days, args.batch, args.seed)
        g = state["generated"]
        log(f"  {g['events']} events ({g['events'] / g['users']:.1f} a user) from {g['users']} users in "
            f"{g['seconds']}s: {g['events_per_s']} events/s ({g['decisions']} decisions in {g['transactions']} "
            f"transactions; {g['db_bytes'] / 1e6:.0f} MB); {len(state['samples'])} live families kept for checks")
    generated = state["generated"]
    log("  events by type:")
    for topic, n in generated["by_type"].items():
        log(f"    {n:>9}  {topic}")

    per_set = (args.connections // args.threads) * args.threads
    load_users = 2 * per_set * args.runs
    log(f"Load users: {load_users} signed up and through the code exchange in each log (in-process, now)")
    shutil.rmtree(empty_dir, ignore_errors=True)
    empty_app = open_builder(empty_dir)
    empty_state = {**set_up_project(empty_app), "password_hash": state["password_hash"]}
    empty_app.close()
    sides = {"log": {"data": log_dir, "state": state, "tokens": add_load_users(log_dir, state, load_users)},
             "empty": {"data": empty_dir, "state": empty_state,
                       "tokens": add_load_users(empty_dir, empty_state, load_users)}}
    events = head(log_dir / "events.db")
    log(f"  the log now holds {events} events; the near-empty one {head(empty_dir / 'events.db')}")

    half = len(state["samples"]) // 2
    sqlite_samples, pg_samples = state["samples"][:half], state["samples"][half:]

    sqlite_rebuild = None
    if not args.skip_rebuild:
        log(f"SQLite: rebuild_projections.py --data-dir {log_dir} --into PATH, {args.rebuild_runs} run(s)")
        into = work / "sqlite-read.db"
        sqlite_rebuild = measure_rebuilds("SQLite", events, ["--data-dir", str(log_dir)], into, args.rebuild_runs)
        swap_in(into, log_dir)  # the log server starts on it (no catch-up of the whole log at start)

    pg = None
    if not args.skip_postgres:
        pg = postgres_phase(args, work, log_dir, events, pg_samples)

    log("Hot paths: a server on the log and one on the near-empty log")
    hot = hot_paths(wrk, args, work, sides, sqlite_samples)
    # What the check rotated is the families' current token now (its last one was revoked).
    kept = [dict(s, refresh_token=t) for s, t in zip(sqlite_samples, hot["checks"]["new_tokens"]) if t]
    state["samples"] = kept + pg_samples
    (log_dir / "bench.json").write_text(json.dumps(state, indent=1))

    runs = hot["runs"]
    token_ratios = [ratio(a["tokens_per_s"], b["tokens_per_s"]) for a, b in zip(runs["log"], runs["empty"])]
    refresh_ratios = [ratio(a["rotations_per_s"], b["rotations_per_s"]) for a, b in zip(runs["log"], runs["empty"])]
    # The same per CPU-second of the server: what the log costs the server's own work,
    # whatever share of the cores other processes left it.
    token_core_ratios = [ratio(a["tokens_per_core"], b["tokens_per_core"]) for a, b in zip(runs["log"], runs["empty"])]
    refresh_core_ratios = [ratio(a["rotations_per_core"], b["rotations_per_core"])
                           for a, b in zip(runs["log"], runs["empty"])]
    others = max([r[k] for side in runs.values() for r in side for k in ("token_others_cores", "refresh_others_cores")]
                 + [r["others_cores"] for r in (sqlite_rebuild, pg) if r])
    failures = sum(r["token_errors"] + r["refresh_failures"] for side in runs.values() for r in side)
    checks = hot["checks"]
    checks_ok = (checks["refreshed"] == checks["of"] and checks["of"] > 0 and bool(checks["reuse_check"])
                 and checks["reuse_check"]["ok"] and bool(checks["password_sign_in"])
                 and checks["password_sign_in"]["exchanged"])
    summary = {
        "users": generated["users"], "events": events, "events_generated": generated["events"],
        "events_per_user": round(generated["events"] / generated["users"], 1),
        "generation_events_per_s": generated["events_per_s"], "generation_s": generated["seconds"],
        "by_type": generated["by_type"],
        "tokens_per_s_log": median([r["tokens_per_s"] for r in runs["log"]]),
        "tokens_per_s_empty": median([r["tokens_per_s"] for r in runs["empty"]]),
        "token_ratio": median(token_ratios), "token_ratios": token_ratios,
        "rotations_per_s_log": median([r["rotations_per_s"] for r in runs["log"]]),
        "rotations_per_s_empty": median([r["rotations_per_s"] for r in runs["empty"]]),
        "refresh_ratio": median(refresh_ratios), "refresh_ratios": refresh_ratios,
        "token_per_core_ratio": median(token_core_ratios), "token_per_core_ratios": token_core_ratios,
        "refresh_per_core_ratio": median(refresh_core_ratios), "refresh_per_core_ratios": refresh_core_ratios,
        "token_p99_ms_log": median([r["token_p99_ms"] for r in runs["log"]]),
        "token_p99_ms_empty": median([r["token_p99_ms"] for r in runs["empty"]]),
        "refresh_p99_ms_log": median([r["refresh_p99_ms"] for r in runs["log"]]),
        "refresh_p99_ms_empty": median([r["refresh_p99_ms"] for r in runs["empty"]]),
        "rebuild_sqlite_events_per_s": sqlite_rebuild and sqlite_rebuild["events_per_s"],
        "rebuild_sqlite_range": sqlite_rebuild and [sqlite_rebuild["min"], sqlite_rebuild["max"]],
        "rebuild_sqlite_bar_rates": sqlite_rebuild and [r["bar_rate"] for r in sqlite_rebuild["runs"]],
        "rebuild_postgres_events_per_s": pg and pg["events_per_s"],
        "rebuild_postgres_range": pg and [pg["min"], pg["max"]],
        "rebuild_postgres_bar_rates": pg and [r["bar_rate"] for r in pg["runs"]],
        "postgres_copy": pg and pg["copy"],
        "postgres_checks": pg and {k: v for k, v in pg["checks"].items() if k != "new_tokens"},
        "postgres_server_errors": pg and pg["server_errors"],
        "checks": {k: v for k, v in checks.items() if k != "new_tokens"}, "checks_ok": checks_ok,
        "failures": failures, "events_ok": hot["events_ok"], "server_errors": hot["server_errors"],
        "runs": args.runs, "duration_s": args.duration, "connections": args.connections,
        "others_cores": others, "per_run": runs,
    }
    n = generated["users"]
    targets = [
        (f"log: events from {n} users (>= {EVENTS_PER_USER_TARGET} a user, about 1,000,000 for 100,000)",
         generated["events"], generated["events"] >= EVENTS_PER_USER_TARGET * n),
        ("client_credentials tokens/s, log / near-empty (>= 0.90)",
         (f"{summary['token_ratio']} (runs {token_ratios}; {summary['tokens_per_s_log']} vs "
          f"{summary['tokens_per_s_empty']} tokens/s)"),
         None if summary["token_ratio"] is None else summary["token_ratio"] >= RATIO_TARGET),
        ("refresh rotations/s, log / near-empty (>= 0.90)",
         (f"{summary['refresh_ratio']} (runs {refresh_ratios}; {summary['rotations_per_s_log']} vs "
          f"{summary['rotations_per_s_empty']} rotations/s)"),
         None if summary["refresh_ratio"] is None else summary["refresh_ratio"] >= RATIO_TARGET),
        ("rebuild on SQLite, events/s with the bar (>= 20,000)",
         f"{sqlite_rebuild['events_per_s']} (range {sqlite_rebuild['min']}-{sqlite_rebuild['max']})"
         if sqlite_rebuild else "skipped",
         None if sqlite_rebuild is None else sqlite_rebuild["events_per_s"] >= REBUILD_TARGET),
        ("rebuild on PostgreSQL, events/s with the bar (>= 20,000)",
         f"{pg['events_per_s']} (range {pg['min']}-{pg['max']})" if pg else "skipped",
         None if pg is None else pg["events_per_s"] >= REBUILD_TARGET),
    ]
    log(f"Figures (median of {args.runs} runs for the hot paths; targets)")
    for name, value, good in targets:
        log(f"  {status(good)}  {name}: {value}")
    log(f"  generation: {generated['events_per_s']} events/s ({generated['events']} events in "
        f"{generated['seconds']}s); p99 tokens {summary['token_p99_ms_log']} vs {summary['token_p99_ms_empty']} ms, "
        f"rotations {summary['refresh_p99_ms_log']} vs {summary['refresh_p99_ms_empty']} ms (log vs near-empty)")
    log(f"  per CPU-second of the server, log / near-empty: tokens {summary['token_per_core_ratio']} (runs "
        f"{token_core_ratios}), rotations {summary['refresh_per_core_ratio']} (runs {refresh_core_ratios})")
    log(f"  generated users served: {'OK' if checks_ok else 'FAILED'}; load failures {failures}; events check "
        f"{hot['events_ok']}; error lines in server logs {hot['server_errors']}")
    warning = busy_warning(others, None)
    if warning:
        log(f"  {warning}")
    summary["busy_machine"] = warning is not None
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    run_benchmark(main)
