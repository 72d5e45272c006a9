"""RFC 6749 §3.3 scope strings and RFC 8707 resource indicators."""

import re
from urllib.parse import urlsplit

from astapa.oauth.errors import InvalidScopeError, InvalidTargetError

# scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
SCOPE_TOKEN = re.compile(r"^[\x21\x23-\x5B\x5D-\x7E]+$")


def is_scope_token(value: str) -> bool:
    return bool(SCOPE_TOKEN.match(value))


def parse_scope(value: str | None) -> list[str] | None:
    """The scope tokens asked for, in order without repeats; None when scope was omitted."""
    if value is None:
        return None
    tokens = [t for t in value.split(" ") if t]
    if not tokens or not all(is_scope_token(t) for t in tokens):
        raise InvalidScopeError("scope is malformed")
    return list(dict.fromkeys(tokens))


def granted_subset(requested: list[str] | None, granted: list[str]) -> list[str]:
    """RFC 6749 §4.4.2 / §3.3: omitted means every scope granted to the client."""
    if requested is None:
        return list(granted)
    missing = [s for s in requested if s not in granted]
    if missing:
        raise InvalidScopeError(detail=f"not granted: {missing}")
    return requested


def is_absolute_uri(value: str) -> bool:
    parts = urlsplit(value)
    return bool(parts.scheme) and bool(parts.netloc or parts.path) and not parts.fragment \
        and "#" not in value and not any(c.isspace() for c in value)


MAX_RESOURCE_LENGTH = 2048


def parse_resource(resources: tuple[str, ...]) -> str | None:
    """RFC 8707 §2: an absolute URI without a fragment; Astapa issues one audience per token."""
    if not resources:
        return None
    if len(resources) > 1:
        raise InvalidTargetError("only one resource may be requested per token")
    if len(resources[0]) > MAX_RESOURCE_LENGTH or not is_absolute_uri(resources[0]):
        raise InvalidTargetError()
    return resources[0]
