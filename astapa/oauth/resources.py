"""RFC 8707 resource indicators against a project's registered resources.

A project with resources (`astapa resource add`) issues tokens only for them. One with none
accepts any absolute URI, except a resource another project registered: a client never gets
a token whose `aud` is another project's resource, which that project's API would take for
one of its own. Matching forgives what
clients vary on (MCP's authorization spec asks for it): the scheme's and host's case, a
default port, and a trailing slash. The token's `aud` is the URI as registered, which is
what the resource server compares with.
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


def resolve(requested: str | None, registered: dict[str, tuple[str, ...]],
            foreign: frozenset[str] = frozenset()) -> str | None:
    """The audience a token for `requested` carries: one of `registered`, the client's own
    project's resources, or (a project with none) any URI not in `foreign`, the canonical
    resources of other projects; otherwise invalid_target."""
    if requested is None:
        return None
    audience = audience_of(requested, registered, foreign)
    if audience is None:
        raise InvalidTargetError("the resource is not registered for this project",
                                 detail=f"unknown resource {requested!r}")
    return audience


def audience_of(requested: str, registered: dict[str, tuple[str, ...]], foreign: frozenset[str]) -> str | None:
    key = canonical(requested)
    for uri in registered:
        if canonical(uri) == key:
            return uri
    if not registered and key not in foreign:
        return requested
    return None


def still_allowed(audience: str | None, registered: dict[str, tuple[str, ...]], foreign: frozenset[str]) -> bool:
    """A grant's resource (from an earlier code or refresh) as the project's resources are now."""
    return audience is None or audience_of(audience, registered, foreign) is not None


__all__ = ["audience_of", "canonical", "check_resource_uri", "resolve", "same_resource", "still_allowed"]
