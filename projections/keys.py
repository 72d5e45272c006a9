"""Signing keys: which kid signs, which are published in the JWKS."""

import json

from sqlite_utils import Database

from astapa.domain.keys import KeyRing

NAME = "keys"


def create_tables(db: Database) -> None:
    db["signing_keys"].create(
        {"kid": str, "public_jwk": str, "state": str, "published_at": str,
         "activated_at": str, "retired_at": str},
        pk="kid",
        if_not_exists=True,
    )


def _publish(db: Database, kid: str, jwk: dict, state: str, at: str) -> None:
    db.execute(
        "INSERT INTO signing_keys (kid, public_jwk, state, published_at, activated_at)"
        " VALUES (?, ?, ?, ?, ?)",
        [kid, json.dumps(jwk, sort_keys=True), state, at, at if state == "current" else None],
    )


def key_ring_created(db: Database, e: KeyRing.Created) -> None:
    at = e.timestamp.isoformat()
    _publish(db, e.current_kid, e.current_jwk, "current", at)
    _publish(db, e.next_kid, e.next_jwk, "next", at)


def key_ring_rotated(db: Database, e: KeyRing.Rotated) -> None:
    at = e.timestamp.isoformat()
    db.execute("UPDATE signing_keys SET state = 'retired', retired_at = ? WHERE kid = ?",
               [at, e.retired_kid])
    db.execute("UPDATE signing_keys SET state = 'current', activated_at = ? WHERE kid = ?",
               [at, e.activated_kid])
    _publish(db, e.next_kid, e.next_jwk, "next", at)


HANDLERS = {KeyRing.Created: key_ring_created, KeyRing.Rotated: key_ring_rotated}
