"""The one strict reader of request bodies (astapa/web/bodies.py): RFC 8259 JSON in UTF-8
without repeated members or non-numbers, forms without repeated fields (RFC 6749 §3.1)."""

import pytest

from astapa.web import bodies
from astapa.web.bodies import BodyError, form_pairs, json_value


@pytest.mark.parametrize("body, reason", [
    (b'{"a": 1, "a": 2}', bodies.REPEATED),
    (b'{"a": {"b": 1, "b": 1}}', bodies.REPEATED),
    (b'{"a": NaN}', bodies.SYNTAX),
    (b'{"a": -Infinity}', bodies.SYNTAX),
    (b'{"a": 1e400}', bodies.SYNTAX),
    (b'{"a": 1', bodies.SYNTAX),
    (b"[" * 100_000 + b"]" * 100_000, bodies.SYNTAX),
    (b"\xef\xbb\xbf{}", bodies.SYNTAX),  # a byte order mark is not JSON text
    (b'{"a": "\xff"}', bodies.ENCODING),
    ('{"a": 1}'.encode("utf-16"), bodies.ENCODING),
    (b"[]", bodies.TYPE),
    (b'"a"', bodies.TYPE),
])
def test_json_that_is_not_strictly_json_is_refused(body, reason):
    with pytest.raises(BodyError) as refused:
        json_value(body)
    assert refused.value.reason == reason


def test_json_keeps_its_values():
    assert json_value(b'{"a": [1, 2.5, null, true, "\\u00e9"], "b": {}}') == {"a": [1, 2.5, None, True, "é"], "b": {}}
    assert json_value(b"null", kind=None) is None
    assert json_value(b"[1]", kind=list) == [1]


def test_a_whole_number_is_read_as_an_integer_however_it_is_written():
    """JSON Schema's `integer` is a value: 1.0 and 1e3 are integers, read exactly from the text."""
    value = json_value(b'{"a": [1.0, 1e3, -0.0, 9007199254740993.0, 2.5, 1e-400, 1e300]}')["a"]
    assert value[:4] == [1, 1000, 0, 9007199254740993] and all(type(v) is int for v in value[:4])
    assert value[4:] == [2.5, 0.0, 1e300] and all(type(v) is float for v in value[4:])


def test_a_form_field_may_repeat_only_when_allowed():
    with pytest.raises(BodyError) as refused:
        form_pairs(b"a=1&b=2&a=3")
    assert refused.value.reason == bodies.REPEATED and refused.value.description == "parameter 'a' is repeated"
    assert form_pairs(b"resource=x&resource=y", repeatable=frozenset({"resource"})) == [
        ("resource", "x"), ("resource", "y")]
    assert form_pairs(b"a=1&a=2", repeatable=None) == [("a", "1"), ("a", "2")]


@pytest.mark.parametrize("body, reason", [
    (b"a=%FF", bodies.ENCODING),
    (b"a=\xff", bodies.ENCODING),
    (b"&".join(b"f%d=1" % i for i in range(bodies.MAX_FIELDS + 1)), bodies.TOO_MANY),
])
def test_a_form_that_is_not_utf_8_or_too_long_is_refused(body, reason):
    with pytest.raises(BodyError) as refused:
        form_pairs(body)
    assert refused.value.reason == reason


def test_a_form_keeps_blank_values_and_order():
    assert form_pairs(b"b=&a=x+y&c=%C3%A9") == [("b", ""), ("a", "x y"), ("c", "é")]


# -- every surface that reads a JSON body, over HTTP ------------------------------------------

NON_NUMBERS = ["NaN", "Infinity", "-Infinity", "1e400"]


def test_nan_and_infinity_are_refused_in_every_json_body(start_server):
    """NaN and ±Infinity are not JSON (RFC 8259 §6): every endpoint that takes a JSON body
    answers 400 with its own error shape, before any of it is looked at or stored, even
    where the rest of the body would be accepted."""
    import requests

    from tests.clients.conftest import tools_project
    from tests.conftest import project_on
    from tests.oauth.test_refresh_token import tokens_for

    server = start_server(xendit_secret_key="xnd_development_bodies", xendit_callback_token="hook-token")
    project = project_on(server)
    auth = (project["client_id"], project["client_secret"])
    api = f"{server.url}/api/platform"
    plan = {"key": "pro", "name": "Pro", "price": 1000, "currency": "IDR", "interval": "month"}
    assert requests.post(f"{api}/plans", json=plan, auth=auth, timeout=10).status_code == 201
    sub = jwt_sub(tokens_for(server, project, "nan@example.org")["access_token"])
    tools = tools_project(server)
    creds = f'"client_id": "{project["client_id"]}", "client_secret": "{project["client_secret"]}"'
    invalid_json = {"error": "invalid_request", "error_description": "body is not valid JSON"}
    # (method, url, body with @X@ where the non-number goes, HTTP Basic, the refusal)
    surfaces = [
        ("POST", f"{api}/plans", ('{"key": "max", "name": "Max", "price": 5, "currency": "IDR", '
                                  '"interval": "month", "claims": {"x": @X@}}'), auth, invalid_json),
        ("PATCH", f"{api}/plans/pro", '{"claims": {"x": @X@}}', auth, invalid_json),
        ("PATCH", f"{api}/users/{sub}", '{"disabled": true, "x": @X@}', auth, invalid_json),
        ("PATCH", f"{api}/users/{sub}/claims", '{"x": @X@}', auth, invalid_json),
        ("PUT", f"{api}/users/{sub}/plan", '{"plan": "pro", "expires_at": @X@}', auth, invalid_json),
        ("POST", f"{api}/payments", f'{{"end_user_id": "{sub}", "plan": "pro", "method": "QRIS", "x": @X@}}',
         auth, invalid_json),
        ("POST", f"{api}/revoke", f'{{"end_user_id": "{sub}", "x": @X@}}', auth, invalid_json),
        ("POST", f"{api}/token", f'{{"grant_type": "client_credentials", {creds}, "x": @X@}}', None, invalid_json),
        ("POST", f"{server.url}/oauth/token", f'{{"grant_type": "client_credentials", {creds}, "x": @X@}}', None,
         invalid_json),
        ("POST", f"{server.url}/oauth/introspect", f'{{"token": "t", {creds}, "x": @X@}}', None, invalid_json),
        ("POST", f"{server.url}/oauth/revoke", f'{{"token": "t", {creds}, "x": @X@}}', None, invalid_json),
        ("POST", f"{tools['issuer']}/oauth/token", '{"grant_type": "client_credentials", "x": @X@}', auth,
         invalid_json),
        ("POST", f"{tools['issuer']}/oauth/register",
         ('{"client_name": "Agent", "redirect_uris": ["http://127.0.0.1/cb"], '
          '"token_endpoint_auth_method": "none", "x": @X@}'), None,
         {"error": "invalid_client_metadata", "error_description": "the body is not valid JSON"}),
        ("POST", f"{server.url}/api/webhooks/xendit",
         '{"event": "payment.succeeded", "data": {"reference_id": "elsewhere-1", "request_amount": @X@}}',
         None, None),
    ]
    for method, url, body, basic, refusal in surfaces:
        for constant in NON_NUMBERS:
            response = requests.request(method, url, data=body.replace("@X@", constant).encode(), auth=basic,
                                        headers={"Content-Type": "application/json",
                                                 "x-callback-token": "hook-token"}, timeout=10)
            assert response.status_code == 400, (method, url, constant, response.status_code, response.text)
            if refusal is not None:
                assert response.json() == refusal, (method, url, constant)
            else:
                assert response.json()["error"] == "invalid_request", (method, url, constant)
    # Nothing was stored: the user and the plan are as they were.
    user = requests.get(f"{api}/users/{sub}", auth=auth, timeout=10).json()
    assert user["custom_claims"] == {"plan": "free"} and not user["disabled"]
    plans = requests.get(f"{api}/plans", auth=auth, timeout=10).json()
    assert [p["key"] for p in plans["plans"]] == ["free", "pro"] and plans["plans"][1].get("claims") == {}


def jwt_sub(access_token: str) -> str:
    import jwt

    return jwt.decode(access_token, options={"verify_signature": False})["sub"]
