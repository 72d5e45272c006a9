"""Every JSON answer a test server gives, checked against what openapi.json describes.

tests/conftest.py puts `middleware(check)` in front of each test server's own middlewares:
for a response with a JSON content type it finds the operation (the matched route and
method), the response described for the status (the status, its range `4XX`, or
`default`) and its media type, and validates the body against the schema with jsonschema
(Draft 2020-12: OpenAPI 3.1 schemas are JSON Schema). Anything else is a violation too:
a JSON body for an operation, status or media type that is not described, or one that
does not parse. Violations are collected; the start_server fixture fails the test with them.
"""

import json
import threading
from pathlib import Path

from aiohttp import web
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

ROOT = Path(__file__).resolve().parent.parent
BASE = "urn:astapa:openapi"


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


class ResponseCheck:
    def __init__(self, document: dict) -> None:
        self.document = document
        registry = Registry().with_resource(BASE, Resource.from_contents(document, default_specification=DRAFT202012))
        self.registry = registry
        self.validators: dict[str, Draft202012Validator] = {}
        self.lock = threading.Lock()

    def at(self, pointer: str) -> object:
        node: object = self.document
        for token in pointer.lstrip("/").split("/"):
            node = node[_unescape(token)] if isinstance(node, dict) else node[int(token)]  # type: ignore[index]
        return node

    def follow(self, node: dict, pointer: str) -> tuple[dict, str]:
        """A Reference Object followed to what it names (and its pointer)."""
        while "$ref" in node:
            pointer = node["$ref"].removeprefix("#")
            node = self.at(pointer)  # type: ignore[assignment]
        return node, pointer

    def validator(self, pointer: str) -> Draft202012Validator:
        with self.lock:
            if pointer not in self.validators:
                self.validators[pointer] = Draft202012Validator(
                    {"$ref": f"{BASE}#{pointer}"}, registry=self.registry,
                    format_checker=Draft202012Validator.FORMAT_CHECKER)
            return self.validators[pointer]

    def problems(self, path: str, method: str, status: int, media: str, body: bytes) -> list[str]:
        """What is wrong with this JSON answer of `method path`, by the description."""
        where = f"{method} {path} -> {status} {media}"
        item = self.document["paths"].get(path)
        operation = item.get(method.lower()) if item else None
        if operation is None:
            return [f"{where}: no such operation is described"]
        responses = operation.get("responses", {})
        key = next((k for k in (str(status), f"{status // 100}XX", "default") if k in responses), None)
        if key is None:
            return [f"{where}: status {status} is not described (described: {', '.join(responses)})"]
        pointer = f"/paths/{_escape(path)}/{method.lower()}/responses/{key}"
        response, pointer = self.follow(responses[key], pointer)
        content = response.get("content", {})
        chosen = next((m for m in (media, media.split("/")[0] + "/*", "*/*") if m in content), None)
        if chosen is None:
            return [f"{where}: no {media} body is described for {key} (described: {', '.join(content) or 'none'})"]
        try:
            document = json.loads(body)
        except ValueError as e:
            return [f"{where}: the body is not JSON ({e}): {body[:200]!r}"]
        if "schema" not in content[chosen]:
            return []
        schema_pointer = f"{pointer}/content/{_escape(chosen)}/schema"
        errors = sorted(self.validator(schema_pointer).iter_errors(document), key=lambda e: list(e.path))
        return [f"{where}: {'/'.join(map(str, e.path)) or '(body)'}: {e.message} in {json.dumps(document)[:300]}"
                for e in errors]


def load() -> ResponseCheck:
    return ResponseCheck(json.loads((ROOT / "openapi.json").read_text()))


def is_json(media: str) -> bool:
    return media == "application/json" or media.endswith("+json")


def middleware(check: ResponseCheck, violations: list[str]):
    """A middleware that adds what is wrong with each JSON answer to `violations`."""

    @web.middleware
    async def described_responses(request: web.Request, handler) -> web.StreamResponse:
        response = await handler(request)
        route = request.match_info.route
        body = getattr(response, "body", None)
        if (route.resource is None or request.method == "HEAD" or not isinstance(body, bytes) or not body
                or not is_json(response.content_type)):
            return response
        violations.extend(check.problems(route.resource.canonical, request.method, response.status,
                                         response.content_type, body))
        return response

    return described_responses
