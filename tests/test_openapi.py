"""The OpenAPI document: served, committed, and covering every route the server has."""

import json
from pathlib import Path

import requests

from tests.conftest import Server

ROOT = Path(__file__).resolve().parent.parent


def test_served_document_equals_the_committed_file(server: Server):
    response = requests.get(f"{server.url}/openapi.json")
    assert response.status_code == 200
    assert response.content == (ROOT / "openapi.json").read_bytes(), "run scripts/write_openapi.py"
    assert response.json()["openapi"].startswith("3.1")


def test_every_route_is_documented_and_nothing_else(server: Server):
    spec = json.loads((ROOT / "openapi.json").read_text())
    documented = {(path, method.upper()) for path, item in spec["paths"].items() for method in item}
    routes = {(r.resource.canonical, r.method) for r in server.web_app.router.routes()
              if r.method != "HEAD"}
    assert documented == routes
