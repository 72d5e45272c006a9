"""What openapi.json lets a client send: an operation's request body per media type, or a
named parameter, as validators that read the schemas as the server does
(astapa/web/schemas.py: ECMA-262 patterns, a whole number is an integer)."""

from astapa.web.schemas import BASE, DOCUMENT, REGISTRY, Validator


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _at(pointer: str) -> dict:
    node = DOCUMENT
    for token in pointer.lstrip("/").split("/"):
        node = node[token.replace("~1", "/").replace("~0", "~")]
    return node


def body(operation_id: str, media: str = "application/json") -> Validator:
    """The schema of an operation's request body in `media`."""
    for path, item in DOCUMENT["paths"].items():
        for method, operation in item.items():
            if isinstance(operation, dict) and operation.get("operationId") == operation_id:
                pointer = f"/paths/{_escape(path)}/{method}/requestBody"
                request_body = operation["requestBody"]
                while "$ref" in request_body:
                    pointer = request_body["$ref"].removeprefix("#")
                    request_body = _at(pointer)
                return Validator({"$ref": f"{BASE}#{pointer}/content/{_escape(media)}/schema"}, registry=REGISTRY)
    raise LookupError(operation_id)


def parameter(name: str) -> Validator:
    """The schema of a parameter under components/parameters."""
    return Validator({"$ref": f"{BASE}#/components/parameters/{name}/schema"}, registry=REGISTRY)
