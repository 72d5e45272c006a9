"""JSON request bodies checked against the schemas openapi.json describes them with: the
document the server serves is the rule it applies (one source, under openapi/).

`BodySchema(operation_id).failures(document)` says which members of a body break its
operation's requestBody schema; each handler turns that into its own answer, and keeps in
code only what a schema cannot say. The schemas are JSON Schema 2020-12 (OpenAPI 3.1):
an `integer` is a number whose value is whole, 1.0 included (web/bodies.py reads those as
ints; true and false are not numbers), and patterns are read as ECMA-262 reads them: a
final `$` matches only at the very end (Python's also matches before a final newline), and
`\\s` and `\\S` are ECMA-262's white space (WHITESPACE), not Python's (strip() takes it
off the ends).
"""

import functools
import json
import re
from dataclasses import dataclass

from jsonschema import Draft202012Validator, ValidationError, validators
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from astapa.web.service import OPENAPI_BYTES

DOCUMENT = json.loads(OPENAPI_BYTES)
BASE = "urn:astapa:openapi"
REGISTRY = Registry().with_resource(BASE, Resource.from_contents(DOCUMENT, default_specification=DRAFT202012))


def _integer(checker, instance: object) -> bool:
    return isinstance(instance, int) and not isinstance(instance, bool)


# ECMA-262's WhiteSpace and LineTerminator: Python's \s adds U+001C to U+001F and U+0085,
# and leaves out U+FEFF.
WHITESPACE = ("\t\n\v\f\r \u00a0\u1680" + "".join(map(chr, range(0x2000, 0x200B)))
              + "\u2028\u2029\u202f\u205f\u3000\ufeff")
_WHITE_CLASS = "".join(f"\\u{ord(c):04x}" for c in WHITESPACE)


def strip(text: str) -> str:
    """`text` without leading and trailing white space, as ECMA-262 (and so a pattern's \\S)
    counts it."""
    return text.strip(WHITESPACE)


@functools.cache
def _compiled(pattern: str) -> re.Pattern:
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1] + r"\Z"
    # Outside a character class (the only place our patterns use them).
    pattern = pattern.replace(r"\S", f"[^{_WHITE_CLASS}]").replace(r"\s", f"[{_WHITE_CLASS}]")
    return re.compile(pattern)


def _pattern(validator, pattern: str, instance: object, schema: dict):
    if isinstance(instance, str) and _compiled(pattern).search(instance) is None:
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


Validator = validators.extend(
    Draft202012Validator,
    validators={"pattern": _pattern},
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine("integer", _integer),
)


@dataclass(frozen=True)
class Failures:
    """What breaks the schema: members it does not allow (sorted), members missing or
    invalid, and rules about the body as a whole (at least one member, one of two, ...)."""
    unknown: tuple[str, ...] = ()
    fields: frozenset[str] = frozenset()
    whole: bool = False

    def __bool__(self) -> bool:
        return bool(self.unknown or self.fields or self.whole)


class BodySchema:
    """The application/json schema of an operation's requestBody in openapi.json."""

    def __init__(self, operation_id: str) -> None:
        pointer = _request_schema(operation_id)
        self.validator = Validator({"$ref": f"{BASE}#{pointer}"}, registry=REGISTRY)

    def failures(self, document: dict) -> Failures:
        unknown: set[str] = set()
        fields: set[str] = set()
        whole = False
        for error in self.validator.iter_errors(document):
            if error.path:
                fields.add(str(error.path[0]))
            elif error.validator == "required":
                fields.update(name for name in error.validator_value if name not in document)
            elif error.validator == "additionalProperties":
                allowed = error.schema.get("properties", {})
                unknown.update(name for name in document if name not in allowed)
            else:
                whole = True
        return Failures(tuple(sorted(unknown)), frozenset(fields), whole)


def _request_schema(operation_id: str) -> str:
    """The JSON pointer of an operation's application/json request schema."""
    pointer = request_schema(operation_id, "application/json")
    if pointer is None:
        raise LookupError(f"openapi.json has no operation {operation_id!r} with a JSON body")
    return pointer


def request_schema(operation_id: str, media: str) -> str | None:
    """The JSON pointer of an operation's request schema in `media` (None: no such body);
    LookupError for an operation openapi.json does not have."""
    for path, item in DOCUMENT["paths"].items():
        for method, operation in item.items():
            if isinstance(operation, dict) and operation.get("operationId") == operation_id:
                pointer = f"/paths/{_escape(path)}/{method}/requestBody"
                body = operation["requestBody"]
                while "$ref" in body:
                    pointer = body["$ref"].removeprefix("#")
                    body = _at(pointer)
                if media not in body.get("content", {}):
                    return None
                return f"{pointer}/content/{_escape(media)}/schema"
    raise LookupError(operation_id)


def _at(pointer: str) -> dict:
    node = DOCUMENT
    for token in pointer.lstrip("/").split("/"):
        node = node[token.replace("~1", "/").replace("~0", "~")]
    return node


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")
