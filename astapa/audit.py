"""`astapa audit`: verify the log against its hash chain, and sign checkpoints of its head.

The chain itself is written by the store (astapa/store/chain.py). Verifying reads the events
and their links in one consistent snapshot (a read transaction) straight from the store,
two ordered streams merged, so a log of millions of events is checked in constant memory
while servers keep writing.

A checkpoint is a JWT signed with the service's current signing key (the key whose public
half is in the JWKS): `{"position", "events", "head", "iat"}`. Kept outside the store, it
lets anyone prove later that the log up to that position is unchanged: `verify --since`.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import sys
import time
from pathlib import Path
from typing import Callable, Iterator

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import RSAKey

from astapa.store.chain import CHAIN_TABLE, GENESIS, Break, Verified, head_text, verify

CHECKPOINT_TYP = "log-checkpoint+jwt"
_BATCH = 10_000


class AuditError(Exception):
    """The command cannot run as asked (no log, a malformed checkpoint): exit 2."""


class LogBroken(Exception):
    """Verification failed: the report to print, exit 1."""

    def __init__(self, report: dict) -> None:
        super().__init__(report["error"])
        self.report = report


# --- Reading the log and its chain ---------------------------------------------------------


@contextlib.contextmanager
def sqlite_streams(events_db: Path) -> Iterator[tuple[int, Iterator, Iterator]]:
    if not events_db.exists():
        raise AuditError(f"no event store at {events_db}")
    db = sqlite3.connect(f"file:{events_db}?mode=ro", uri=True, isolation_level=None)
    try:
        db.execute("BEGIN")  # one snapshot for both streams, whatever servers write meanwhile
        total = db.execute("SELECT coalesce(max(rowid), 0) FROM stored_events").fetchone()[0]
        events = db.execute("SELECT rowid, originator_id, originator_version, topic, state FROM stored_events"
                            " ORDER BY rowid")
        links = db.execute(f"SELECT position, previous, hash FROM {CHAIN_TABLE} ORDER BY position")
        yield total, _rows(events), _rows(links)
        db.execute("COMMIT")
    finally:
        db.close()


@contextlib.contextmanager
def postgres_streams(store_url: str) -> Iterator[tuple[int, Iterator, Iterator]]:
    from astapa.store.events import EventStore
    from astapa.store.postgres import connect

    connection = connect(store_url)
    try:
        table = f"{EventStore.name}_events"
        with connection.transaction():
            connection.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            total = connection.execute(f"SELECT coalesce(max(notification_id), 0) FROM {table}").fetchone()[0]
            events = connection.cursor(name="audit_events")
            events.itersize = _BATCH
            events.execute(f"SELECT notification_id, originator_id, originator_version, topic, state FROM {table}"
                           " ORDER BY notification_id")
            links = connection.cursor(name="audit_links")
            links.itersize = _BATCH
            links.execute(f"SELECT position, previous, hash FROM {CHAIN_TABLE} ORDER BY position")
            yield total, iter(events), iter(links)
    finally:
        connection.close()


def _rows(cursor: sqlite3.Cursor) -> Iterator[tuple]:
    while batch := cursor.fetchmany(_BATCH):
        yield from batch


def log_streams(backend):
    if backend.postgres:
        return postgres_streams(backend.store_url)
    return sqlite_streams(backend.data_dir / "events.db")


# --- Verifying ---------------------------------------------------------------------------


def verify_log(backend, since: dict | None = None,
               progress: Callable[[int, int], None] | None = None) -> dict:
    """`{"events", "head"}` (and `"since"`), or LogBroken naming the first bad position."""
    outcome = _verified(backend, [since["position"]] if since else [], progress)
    report = {"events": outcome.events, "head": head_text(outcome.head)}
    if since is not None:
        report["since"] = _compare(since, outcome)
    return report


def _verified(backend, keep: list[int], progress: Callable[[int, int], None] | None = None) -> Verified:
    with log_streams(backend) as (total, events, links):
        outcome = verify(events, links, keep=keep,
                         progress=(lambda n: progress(n, total)) if progress else None)
    if isinstance(outcome, Break):
        raise LogBroken({"error": f"the log was altered: the event at position {outcome.position} was"
                                  f" {outcome.problem} ({outcome.detail})",
                         "position": outcome.position, "problem": outcome.problem})
    return outcome


def _compare(since: dict, outcome: Verified) -> dict:
    position = since["position"]
    kept = outcome.hashes.get(position) or ((GENESIS, 0) if position == 0 else None)
    if kept is None:
        raise LogBroken({"error": f"the checkpoint's position {position} is no longer in the log: events were"
                                  " removed since it was signed", "position": position, "problem": "removed"})
    digest, count = kept
    if head_text(digest) != since["head"] or count != since["events"]:
        raise LogBroken({"error": f"the log up to position {position} is not the one the checkpoint signed: events"
                                  " before it were changed, removed or inserted", "position": position,
                         "problem": "changed"})
    return {"position": position, "events": count, "head": since["head"], "iat": since["iat"]}


# --- Checkpoints -------------------------------------------------------------------------


def make_checkpoint(backend, app, vault, now: float | None = None) -> dict:
    """Verify the log, then sign its head with the service's current key."""
    from astapa.keys import load_private_key

    outcome = _verified(backend, [])
    ring = app.key_ring()
    claims = {"position": outcome.position, "events": outcome.events, "head": head_text(outcome.head),
              "iat": int(now if now is not None else time.time())}
    header = {"alg": "RS256", "kid": ring.current_kid, "typ": CHECKPOINT_TYP}
    token = jwt.encode(header, claims, load_private_key(vault, ring.current_kid))
    return {"checkpoint": token, **claims}


def read_checkpoint(argument: str, app) -> dict:
    """The claims of a checkpoint given as its JWT, a file holding it, or the JSON that
    `audit checkpoint` printed, once its signature checks out with a key of this service."""
    token = _checkpoint_text(argument)
    try:
        header = _header(token)
        key = _published_key(app, header.get("kid"))
        claims = jwt.decode(token, key, algorithms=["RS256"]).claims
    except (JoseError, ValueError, TypeError, KeyError) as e:
        raise AuditError(f"the checkpoint is not a valid signed checkpoint of this service: {e}") from None
    if header.get("typ") != CHECKPOINT_TYP or not _claims_ok(claims):
        raise AuditError("the checkpoint is not a valid signed checkpoint of this service: not a log checkpoint")
    return claims


def _checkpoint_text(argument: str) -> str:
    text = argument
    path = Path(argument)
    with contextlib.suppress(OSError, ValueError):
        if path.is_file():
            text = path.read_text()
    text = text.strip()
    if text.startswith("{"):
        try:
            text = json.loads(text)["checkpoint"]
        except (ValueError, KeyError, TypeError):
            raise AuditError("the checkpoint file holds JSON without a \"checkpoint\"") from None
    return text


def _header(token: str) -> dict:
    import base64

    first = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(first + "=" * (-len(first) % 4)))


def _published_key(app, kid: str | None) -> RSAKey:
    """The service key with this kid, from the key ring's events: every key the service ever
    published, retired ones too. A kid is the key's RFC 7638 thumbprint, checked here, so a
    log rewritten with a key of someone else's cannot pass for this service's."""
    from astapa.domain.keys import KeyRing

    for event in app.events.get(KeyRing.create_id()):
        for name in ("current", "next"):
            jwk = getattr(event, f"{name}_jwk", None)
            if jwk and jwk.get("kid") == kid:
                key = RSAKey.import_key({k: v for k, v in jwk.items() if k in ("kty", "n", "e")})
                if key.thumbprint() != kid:
                    raise ValueError("the key's id is not its thumbprint")
                return key
    raise ValueError(f"no key {kid!r} was ever published by this service")


def _claims_ok(claims: dict) -> bool:
    return (isinstance(claims.get("position"), int) and isinstance(claims.get("events"), int)
            and isinstance(claims.get("head"), str) and claims["head"].startswith("sha256:")
            and isinstance(claims.get("iat"), int))


# --- Progress on a terminal ---------------------------------------------------------------


@contextlib.contextmanager
def terminal_progress(stream=sys.stderr) -> Iterator[Callable[[int, int], None] | None]:
    """A tqdm bar on a terminal (as the rebuild script draws); None when stderr is a file or
    a pipe, so scripts get the one JSON line and nothing else."""
    if not stream.isatty():
        yield None
        return
    from tqdm import tqdm

    with tqdm(unit="event", unit_scale=True, file=stream, desc="audit verify") as bar:
        def show(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        yield show
