"""RFC 8707 resource indicators against a project's registered resources.

A project that registered resources (`astapa resource add`) issues tokens only for them;
one with none accepts any absolute URI. Matching forgives what clients vary on (MCP's
authorization spec asks for it): the scheme's and host's case, a default port, and a
trailing slash. The token's `aud` is the URI as registered, which is what the resource
server compares with.
"""

from urllib.parse import urlsplit

from astapa.domain.resources import canonical, same_resource
from astapa.oauth.errors import InvalidTargetError
from astapa.oauth.scopes import MAX_RESOURCE_LENGTH, is_absolute_uri


def check_resource_uri(uri: str) -> str:
    """Registration: an absolute http(s) URI without fragment, user info or quotes."""
    parts = urlsplit(uri)
    if (len(uri) > MAX_RESOURCE_LENGTH or not is_absolute_uri(uri)
            or parts.scheme.lower() not in ("http", "https") or not parts.hostname
            or "@" in parts.netloc or any(c in uri for c in '"<>\\')):
        raise ValueError(f"resource {uri!r} must be an absolute http(s) URI without fragment")
    return uri


def resolve(requested: str | None, registered: dict[str, tuple[str, ...]]) -> str | None:
    """The audience a token for `requested` carries, or invalid_target."""
    if requested is None or not registered:
        return requested
    key = canonical(requested)
    for uri in registered:
        if canonical(uri) == key:
            return uri
    raise InvalidTargetError("the resource is not registered for this project",
                             detail=f"unknown resource {requested!r}")


__all__ = ["canonical", "check_resource_uri", "resolve", "same_resource"]
