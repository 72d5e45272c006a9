"""The OpenAPI document: described as data under openapi/, bundled into the committed
openapi.json, valid OpenAPI 3.1, served as committed, and covering every route the server has.
(Every JSON answer of the HTTP tests is checked against it too: tests/described_responses.py.)"""

import importlib.util
import json
import shutil
from pathlib import Path

import pytest
import requests
from openapi_spec_validator import validate

from tests.conftest import Server
from tests.described_responses import ResponseCheck

ROOT = Path(__file__).resolve().parent.parent


def _build_module():
    spec = importlib.util.spec_from_file_location("build_openapi", ROOT / "scripts" / "build_openapi.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build_openapi = _build_module()


def test_committed_document_is_the_bundle_of_the_openapi_folder():
    assert (ROOT / "openapi.json").read_bytes() == build_openapi.build(), \
        "openapi.json and openapi/ differ: edit openapi/, then run scripts/build_openapi.py"


def test_the_document_is_valid_openapi_3_1():
    document = json.loads((ROOT / "openapi.json").read_text())
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_every_component_is_used():
    document = json.loads((ROOT / "openapi.json").read_text())
    text = json.dumps(document["paths"]) + json.dumps(document["components"])
    documented_elsewhere = {"schemas": {"AccessTokenClaims", "IdTokenClaims"}}  # what a JWT carries
    unused = [f"{kind}/{name}" for kind, found in document["components"].items() if kind != "securitySchemes"
              for name in found
              if f'"#/components/{kind}/{name}"' not in text and name not in documented_elsewhere.get(kind, ())]
    assert not unused


def test_served_document_equals_the_committed_file(server: Server):
    response = requests.get(f"{server.url}/openapi.json")
    assert response.status_code == 200
    assert response.content == (ROOT / "openapi.json").read_bytes(), "run scripts/build_openapi.py"
    assert response.json()["openapi"].startswith("3.1")


def test_every_route_is_documented_and_nothing_else(server: Server):
    spec = json.loads((ROOT / "openapi.json").read_text())
    documented = {(path, method.upper()) for path, item in spec["paths"].items() for method in item}
    # The console's pages (and their stylesheet) are for people, described in the docs.
    routes = {(r.resource.canonical, r.method) for r in server.web_app.router.routes()
              if r.method != "HEAD" and not r.resource.canonical.startswith(("/dashboard", "/static/console"))}
    assert documented == routes


# -- the bundler ---------------------------------------------------------------------------------

@pytest.fixture
def source(tmp_path: Path) -> Path:
    copy = tmp_path / "openapi"
    shutil.copytree(ROOT / "openapi", copy)
    return copy


def test_a_reference_to_a_missing_component_is_refused(source: Path):
    pages = source / "paths" / "pages.yaml"
    pages.write_text(pages.read_text().replace("pages.yaml#/SignInPage", "pages.yaml#/NoSuchPage", 1))
    with pytest.raises(build_openapi.BundleError, match="NoSuchPage"):
        build_openapi.build(source)


def test_a_path_the_root_does_not_list_is_refused(source: Path):
    (source / "paths" / "extra.yaml").write_text("/extra:\n  get:\n    responses: {}\n")
    with pytest.raises(build_openapi.BundleError, match="/extra"):
        build_openapi.build(source)


def test_the_bundle_is_self_contained(source: Path):
    document = json.loads(build_openapi.build(source))
    refs = []

    def walk(node):
        if isinstance(node, dict):
            refs.extend(v for k, v in node.items() if k == "$ref")
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document)
    assert refs and all(ref.startswith("#/components/") for ref in refs)
    check = ResponseCheck(document)
    for ref in set(refs):
        check.at(ref.removeprefix("#"))  # each names something


# -- the response check itself -------------------------------------------------------------------

def test_the_response_check_finds_what_the_description_does_not_allow():
    check = ResponseCheck(json.loads((ROOT / "openapi.json").read_text()))
    ok = json.dumps({"error": "invalid_request", "error_description": "token is required"}).encode()
    assert check.problems("/oauth/introspect", "POST", 400, "application/json", ok) == []
    assert check.problems("/oauth/introspect", "POST", 418, "application/json", ok)  # status
    assert check.problems("/oauth/introspect", "POST", 400, "application/problem+json", ok)  # media type
    assert check.problems("/oauth/introspect", "POST", 400, "application/json", b'{"error": 7}')  # schema
    assert check.problems("/nowhere", "GET", 200, "application/json", ok)  # operation


def test_test_servers_report_answers_the_description_does_not_allow(monkeypatch, data_dir, clock):
    """The wiring: a server of the test suite records an answer whose status is not described."""
    from tests import conftest

    document = json.loads((ROOT / "openapi.json").read_text())
    responses = document["paths"]["/oauth/token"]["post"]["responses"]
    document["paths"]["/oauth/token"]["post"]["responses"] = {"200": responses["200"]}
    monkeypatch.setattr(conftest, "DESCRIBED", ResponseCheck(document))
    thread = conftest.ServerThread(data_dir, clock)
    server = thread.start()
    try:
        response = requests.post(f"{server.url}/oauth/token", data={"grant_type": "password"}, timeout=10)
    finally:
        thread.stop()
    assert response.status_code in (400, 401)
    assert thread.violations and "/oauth/token" in thread.violations[0]


def test_a_key_given_twice_is_refused(source: Path):
    pages = source / "paths" / "pages.yaml"
    pages.write_text(pages.read_text() + "\n/docs:\n  get:\n    responses: {}\n")
    with pytest.raises(build_openapi.BundleError, match="given twice"):
        build_openapi.build(source)
