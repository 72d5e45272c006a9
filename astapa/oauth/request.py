"""An OAuth request from its parameters, as a form (what standard clients send) or a JSON
object (as our docs show) gave them; astapa/web/bodies.py reads the body.

RFC 6749 §3.1: "Request and response parameters MUST NOT be included more than once", and
"Parameters sent without a value MUST be treated as if they were omitted". RFC 8707 lets
`resource` repeat, so it alone may. Client secrets are refused in the query string.
"""

from dataclasses import dataclass

from astapa.oauth.errors import InvalidRequestError

REPEATABLE = frozenset({"resource"})
MAX_FIELDS = 64


@dataclass(frozen=True)
class OAuthRequest:
    params: dict[str, str]
    resources: tuple[str, ...]
    authorization: str | None

    def get(self, name: str) -> str | None:
        return self.params.get(name)


def check_query(query_keys: frozenset[str]) -> None:
    """Before the body is read: what the query string must not carry."""
    if "client_secret" in query_keys:
        raise InvalidRequestError("client credentials must not be sent in the query string")


def from_pairs(pairs: list[tuple[str, object]], authorization: str | None) -> OAuthRequest:
    """The request whose body gave these (name, value) pairs: a form's, each value a
    string and only REPEATABLE ones repeated, or a JSON object's members."""
    if len(pairs) > MAX_FIELDS:
        raise InvalidRequestError("too many parameters")
    params: dict[str, str] = {}
    resources: list[str] = []
    for name, value in pairs:
        if value is None:  # JSON null: a parameter without a value is omitted (§3.1)
            continue
        _check_unicode(name)
        if name in REPEATABLE:
            resources.extend(_check_unicode(v) for v in _strings(name, value))
            continue
        if not isinstance(value, str):
            raise InvalidRequestError(f"parameter {_safe(name)} must be a string")
        if value != "":
            params[name] = _check_unicode(value)
    return OAuthRequest(params, tuple(r for r in resources if r != ""), authorization)


def _strings(name: str, value: object) -> list[str]:
    values = value if isinstance(value, list) else [value]
    if not all(isinstance(v, str) for v in values):
        raise InvalidRequestError(f"parameter {_safe(name)} must be a string")
    return values  # type: ignore[return-value]


def _check_unicode(value: str) -> str:
    """JSON escapes can spell lone surrogates, which are not text: refuse them here."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidRequestError("parameters must be valid Unicode") from None
    return value


def _safe(name: str) -> str:
    """Parameter names echoed in error_description keep to RFC 6749's allowed characters."""
    cleaned = "".join(c for c in name[:40] if 0x20 <= ord(c) <= 0x7E and c not in '"\\')
    return repr(cleaned)
