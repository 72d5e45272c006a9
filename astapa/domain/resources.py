"""Resource indicators (RFC 8707) compared as MCP's authorization spec asks: the scheme's
and host's case, a default port and a trailing slash do not make another resource."""

from urllib.parse import urlsplit, urlunsplit

DEFAULT_PORTS = {"http": 80, "https": 443}


def canonical(uri: str) -> str:
    """The form two spellings of one resource share."""
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if port in (None, DEFAULT_PORTS.get(scheme)) else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path.rstrip("/"), parts.query, ""))


def same_resource(a: str | None, b: str | None) -> bool:
    return a == b or (a is not None and b is not None and canonical(a) == canonical(b))
