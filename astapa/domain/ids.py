"""Deterministic aggregate ids for index aggregates (uuid5 of a natural key).

A second aggregate created with the same natural key collides on version 1 in the event
store, which is how uniqueness holds without a check-then-act on a read model.
"""

from uuid import UUID, uuid5

NAMESPACE = UUID("6f3c1a52-2d43-4a8e-9f3e-6a1f0b9c7d21")


def index_id(kind: str, key: str) -> UUID:
    return uuid5(NAMESPACE, f"/{kind}/{key}")


def split_keyed_secret(value: str) -> tuple[str, str] | None:
    """`<32 hex digits: an aggregate's key>.<secret>` (refresh tokens, session cookies) ->
    (key, secret); None when the value cannot be one of ours."""
    key, _, secret = value.partition(".")
    if len(key) != 32 or not secret or any(c not in "0123456789abcdef" for c in key):
        return None
    return key, secret
