"""What openapi.json lets a client send: an operation's request body per media type, or a
named parameter, as validators that read the schemas as the server does
(astapa/web/schemas.py: ECMA-262 patterns, a whole number is an integer)."""

from astapa.web.schemas import BASE, DOCUMENT, REGISTRY, Validator, request_schema

__all__ = ["DOCUMENT", "Validator", "body", "parameter"]


def body(operation_id: str, media: str = "application/json") -> Validator:
    """The schema of an operation's request body in `media`."""
    pointer = request_schema(operation_id, media)
    if pointer is None:
        raise LookupError(f"{operation_id} takes no {media} body")
    return Validator({"$ref": f"{BASE}#{pointer}"}, registry=REGISTRY)


def parameter(name: str) -> Validator:
    """The schema of a parameter under components/parameters."""
    return Validator({"$ref": f"{BASE}#/components/parameters/{name}/schema"}, registry=REGISTRY)
