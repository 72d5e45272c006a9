"""Request bodies, read strictly and the same way on every surface.

JSON (RFC 8259): UTF-8 only (§8.1), no member name twice in an object (§4 leaves the
meaning to the receiver; here it is refused), no NaN or Infinity (not JSON, §6, nor a
number too large to be finite), and the top-level value of the type asked for. A number
whose value is whole is read as an integer however it is written (1.0 and 1e3 are 1 and
1000, as JSON Schema counts them), exactly, from its text (within 64 bits).
Forms (application/x-www-form-urlencoded): UTF-8 and strict percent-decoding, at most
MAX_FIELDS fields, and a field given twice refused unless the caller allows it (RFC 6749
§3.1: "Request and response parameters MUST NOT be included more than once").
The size of a body is bounded before this, by the application's client_max_size (413).

Problems are BodyError, whose `reason` says what went wrong and whose text is the OAuth
endpoints' wording; each surface renders them its own way (an OAuth error object, the
management API's error, a page).
"""

import json
import math
from decimal import Decimal
from urllib.parse import parse_qsl

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestPayloadError

from astapa.oauth.errors import InvalidRequestError

MAX_FIELDS = 64
FORM = "application/x-www-form-urlencoded"

# BodyError reasons.
ENCODING = "encoding"  # not UTF-8, or a percent-escape that does not decode to UTF-8
SYNTAX = "syntax"  # not JSON (NaN and Infinity included), or nested too deep
REPEATED = "repeated"  # a JSON member or a form field given twice
TYPE = "type"  # the top-level JSON value is not of the type asked for
TOO_MANY = "too_many"  # more form fields than MAX_FIELDS


class BodyError(ValueError):
    """The body is not what the surface accepts."""

    def __init__(self, reason: str, description: str, name: str | None = None) -> None:
        super().__init__(description)
        self.reason = reason
        self.description = description
        self.name = name  # the repeated field


async def read(request: web.Request) -> bytes:
    """The whole body (at most client_max_size), or 400 when it cannot be read."""
    try:
        return await request.read()
    except (RequestPayloadError, HttpProcessingError, ValueError):
        # A Content-Encoding the body does not match, a truncated chunk, ...
        raise InvalidRequestError("the request body cannot be read") from None


def media_type(request: web.Request) -> str:
    """The Content-Type without its parameters, lower case ("" when none was sent)."""
    return request.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()


def json_value(body: bytes, kind: type | None = dict) -> object:
    """The JSON text `body` holds; its top-level value must be a `kind` (None: any)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BodyError(ENCODING, "body is not valid UTF-8") from None
    try:
        value = json.loads(text, object_pairs_hook=_members, parse_constant=_not_a_number,
                           parse_float=_finite)
    except (ValueError, RecursionError) as e:
        if isinstance(e, BodyError):
            raise
        raise BodyError(SYNTAX, "body is not valid JSON") from None
    if kind is not None and not isinstance(value, kind):
        raise BodyError(TYPE, "JSON body must be an object" if kind is dict else "JSON body has the wrong type")
    return value


def _members(pairs: list[tuple[str, object]]) -> dict:
    names = [name for name, _ in pairs]
    if len(names) != len(set(names)):
        raise BodyError(REPEATED, "a JSON member is repeated")
    return dict(pairs)


def _not_a_number(constant: str) -> float:
    raise BodyError(SYNTAX, "body is not valid JSON")


def _finite(text: str) -> float | int:
    """A number written with a fraction or an exponent: an int when its value is whole and
    within 64 bits (taken from the text, so 9007199254740993.0 stays exact), else a float."""
    value = float(text)
    if not math.isfinite(value):  # 1e400
        raise BodyError(SYNTAX, "body is not valid JSON")
    if abs(value) < 2**63:
        exact = Decimal(text)
        if exact == exact.to_integral_value():
            return int(exact)
    return value


def form_pairs(body: bytes, repeatable: frozenset[str] | None = frozenset()) -> list[tuple[str, str]]:
    """The fields of a form body, in order. A field may be given twice only when it is in
    `repeatable` (None: any field may)."""
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, errors="strict",
                          max_num_fields=MAX_FIELDS)
    except UnicodeDecodeError:
        raise BodyError(ENCODING, "body is not valid UTF-8") from None
    except ValueError:
        raise BodyError(TOO_MANY, "too many parameters") from None
    if repeatable is not None:
        seen: set[str] = set()
        for name, _ in pairs:
            if name in seen and name not in repeatable:
                raise BodyError(REPEATED, f"parameter {safe_name(name)} is repeated", name)
            seen.add(name)
    return pairs


async def page_form(request: web.Request) -> dict[str, str]:
    """The fields a hosted page's form posted (a field given twice: the last), {} for a
    body that is not a form; a body that cannot be read is 400 (a page says so)."""
    body = await read(request)
    if media_type(request) not in ("", FORM):
        return {}
    try:
        return dict(form_pairs(body, repeatable=None))
    except BodyError as e:
        raise InvalidRequestError("the form cannot be read", detail=e.description) from None


def safe_name(name: str) -> str:
    """A field name as error_description may echo it: RFC 6749's allowed characters."""
    cleaned = "".join(c for c in name[:40] if 0x20 <= ord(c) <= 0x7E and c not in '"\\')
    return repr(cleaned)
