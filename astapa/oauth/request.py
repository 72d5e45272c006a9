"""Parse an OAuth request body: form (what standard clients send) or JSON (as our docs show).

RFC 6749 §3.1: "Request and response parameters MUST NOT be included more than once", and
"Parameters sent without a value MUST be treated as if they were omitted". RFC 8707 lets
`resource` repeat, so it alone may. Client secrets are refused in the query string.
"""

import json
from dataclasses import dataclass
from urllib.parse import parse_qsl

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


def parse(content_type: str, body: bytes, query_keys: frozenset[str], authorization: str | None) -> OAuthRequest:
    if "client_secret" in query_keys:
        raise InvalidRequestError("client credentials must not be sent in the query string")
    mime = content_type.split(";", 1)[0].strip().lower()
    if not body.strip():
        pairs: list[tuple[str, object]] = []
    elif mime == "application/x-www-form-urlencoded":
        pairs = _form_pairs(body)
    elif mime == "application/json" or mime.endswith("+json"):
        pairs = _json_pairs(body)
    else:
        raise InvalidRequestError(
            "body must be application/x-www-form-urlencoded or application/json"
        )
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


def _form_pairs(body: bytes) -> list[tuple[str, object]]:
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, errors="strict", max_num_fields=MAX_FIELDS)
    except UnicodeDecodeError:
        raise InvalidRequestError("body is not valid UTF-8") from None
    except ValueError:
        raise InvalidRequestError("too many parameters") from None
    seen: set[str] = set()
    for name, _ in pairs:
        if name in seen and name not in REPEATABLE:
            raise InvalidRequestError(f"parameter {_safe(name)} is repeated")
        seen.add(name)
    return list(pairs)


def _json_pairs(body: bytes) -> list[tuple[str, object]]:
    def no_duplicates(items: list[tuple[str, object]]) -> dict:
        names = [k for k, _ in items]
        if len(names) != len(set(names)):
            raise InvalidRequestError("a JSON member is repeated")
        return dict(items)

    try:
        document = json.loads(body.decode("utf-8"), object_pairs_hook=no_duplicates)
    except UnicodeDecodeError:
        raise InvalidRequestError("body is not valid UTF-8") from None
    except (ValueError, RecursionError):
        raise InvalidRequestError("body is not valid JSON") from None
    if not isinstance(document, dict):
        raise InvalidRequestError("JSON body must be an object")
    if len(document) > MAX_FIELDS:
        raise InvalidRequestError("too many parameters")
    return list(document.items())


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
