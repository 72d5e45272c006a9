"""The management API's JSON bodies: read strictly (astapa/web/bodies.py) and checked against
the requestBody schemas of openapi.json (astapa/web/schemas.py), with the answers the API
has always given: 400 `invalid_request` naming the first problem found."""

import json

import pytest
import requests

from astapa.domain.payments import BANKS, METHODS
from astapa.domain.plans import CURRENCIES, INTERVALS
from astapa.web.schemas import DOCUMENT
from tests.conftest import Server, project_on

SCHEMAS = DOCUMENT["components"]["schemas"]
PRO = {"key": "pro", "name": "Pro", "price": 149000, "currency": "IDR", "interval": "month"}


@pytest.fixture
def send(server: Server):
    project = project_on(server)

    def send(method: str, path: str, body, content_type: str = "application/json") -> requests.Response:
        data = body if isinstance(body, (bytes, str)) else json.dumps(body)
        return requests.request(method, f"{server.url}/api/platform{path}", data=data, timeout=10,
                                auth=(project["client_id"], project["client_secret"]),
                                headers={"Content-Type": content_type})

    return send


def refused(response: requests.Response, description: str) -> None:
    assert response.status_code == 400, response.text
    assert response.json() == {"error": "invalid_request", "error_description": description}


def test_the_schemas_name_the_domain_s_values():
    assert SCHEMAS["NewPlan"]["properties"]["currency"]["enum"] == list(CURRENCIES)
    assert SCHEMAS["NewPlan"]["properties"]["interval"]["enum"] == list(INTERVALS)
    assert SCHEMAS["NewPayment"]["properties"]["method"]["enum"] == list(METHODS)
    assert SCHEMAS["NewPayment"]["properties"]["bank_code"]["enum"] == [*BANKS, None]


@pytest.mark.parametrize("body, description", [
    ({**PRO, "tier": 1, "alpha": 2}, "unknown field 'alpha'"),
    ({**PRO, "key": "Pro"}, "key: 1 to 63 of a-z, 0-9, '_' and '-', starting with a letter or digit"),
    ({**PRO, "key": "pro\n"}, "key: 1 to 63 of a-z, 0-9, '_' and '-', starting with a letter or digit"),
    ({**PRO, "name": "   "}, "name: a string of 1 to 100 characters"),
    ({**PRO, "name": "x" * 101}, "name: a string of 1 to 100 characters"),
    ({**PRO, "price": 1.0}, "price: a whole number of the currency's unit, 0 or more"),
    ({**PRO, "price": True}, "price: a whole number of the currency's unit, 0 or more"),
    ({**PRO, "price": -1, "currency": "EUR"}, "price: a whole number of the currency's unit, 0 or more"),
    ({**PRO, "currency": "EUR"}, "currency: one of IDR, PHP, THB, VND, MYR, SGD, USD"),
    ({k: v for k, v in PRO.items() if k != "interval"}, "interval: one of month, year, once"),
    ({**PRO, "claims": []}, "claims: a JSON object"),
])
def test_a_plan_is_refused_for_its_first_problem(send, body, description):
    refused(send("POST", "/plans", body), description)


def test_a_name_is_measured_without_its_white_space(send):
    response = send("POST", "/plans", {**PRO, "name": " " * 10 + "x" * 100 + " "})
    assert response.status_code == 201, response.text
    assert response.json()["name"] == "x" * 100


@pytest.mark.parametrize("body, description", [
    ({}, "send any of name, price and claims"),
    ({"interval": "year"}, "send any of name, price and claims"),
    ({"price": "5"}, "price: a whole number of the currency's unit, 0 or more"),
])
def test_a_plan_change_is_refused_for_its_first_problem(send, body, description):
    refused(send("PATCH", "/plans/pro", body), description)


@pytest.mark.parametrize("method, path, body, description", [
    ("PATCH", "/users/1", {"disabled": "yes"}, 'send {"disabled": true} or {"disabled": false}'),
    ("PATCH", "/users/1", {"disabled": True, "x": 1}, 'send {"disabled": true} or {"disabled": false}'),
    ("PATCH", "/users/1/claims", {"plan": 5}, "plan must be the key of one of the project's plans"),
    ("PUT", "/users/1/plan", {"expires_at": 5}, 'send {"plan": KEY} and optionally "expires_at"'),
    ("PUT", "/users/1/plan", {"plan": "pro", "expires_at": True},
     "expires_at: an RFC 3339 time with a zone, or seconds since the epoch"),
    ("PUT", "/users/1/plan", {"plan": "pro", "expires_at": "2026-07-01T00:00:00"},
     "expires_at: an RFC 3339 time with a zone, or seconds since the epoch"),
])
def test_a_user_change_is_refused_for_its_first_problem(send, method, path, body, description):
    refused(send(method, path, body), description)


@pytest.mark.parametrize("body, description", [
    ({"end_user_id": "1", "plan": "pro", "method": "QRIS", "amount": 5}, "unknown field 'amount'"),
    ({"end_user_id": 1.0, "plan": "pro", "method": "QRIS"}, "end_user_id: the user's sub"),
    ({"end_user_id": "01", "plan": "pro", "method": "QRIS"}, "end_user_id: the user's sub"),
    ({"end_user_id": 1, "plan": "", "method": "QRIS"}, "plan: the key of one of the project's plans"),
    ({"end_user_id": 1, "plan": "pro", "method": "CASH"}, "method: one of QRIS, GOPAY, OVO, BANK_TRANSFER"),
    ({"end_user_id": 1, "plan": "pro", "method": "BANK_TRANSFER"},
     "bank_code: one of BCA, BNI, BRI, MANDIRI, PERMATA for BANK_TRANSFER"),
    ({"end_user_id": 1, "plan": "pro", "method": "QRIS", "bank_code": "BCA"}, "bank_code is only for BANK_TRANSFER"),
    ({"end_user_id": 1, "plan": "pro", "method": "OVO", "mobile_number": "0812"},
     "mobile_number: the payer's OVO number, e.g. +6281234567890"),
    ({"end_user_id": 1, "plan": "pro", "method": "GOPAY", "mobile_number": "081234567890"},
     "mobile_number is only for OVO"),
    ({"end_user_id": 1, "plan": "pro", "method": "GOPAY", "return_url": "http://app.example/done"},
     "return_url: an https URL the payer comes back to after GoPay"),
])
def test_a_payment_is_refused_for_its_first_problem(send, body, description):
    refused(send("POST", "/payments", body), description)


@pytest.mark.parametrize("body, content_type, description", [
    ({"end_user_id": True}, "application/json", "end_user_id must be a string or a number"),
    ({"end_user_id": "12a"}, "application/json", "end_user_id is not a user id"),
    ({"end_user_id": 1, "email": "ada@example.org"}, "application/json", "send exactly one of end_user_id and email"),
    ({"end_user_id": None, "email": None}, "application/json", "send exactly one of end_user_id and email"),
    ({"email": 5}, "application/json", "send exactly one of end_user_id and email"),
    ("end_user_id=&email=", "application/x-www-form-urlencoded", "send exactly one of end_user_id and email"),
])
def test_a_user_to_revoke_is_named_once(send, body, content_type, description):
    refused(send("POST", "/revoke", body, content_type), description)


@pytest.mark.parametrize("body, description", [
    (b'{"key": "pro", "key": "max"}', "a JSON member is repeated"),
    (b'{"price": NaN}', "body is not valid JSON"),
    (b'{"price": 1e400}', "body is not valid JSON"),
    ('{"name": "Pr\u00f6"}'.encode("utf-16"), "body is not valid JSON"),
    (b"[1, 2]", "the JSON body must be an object"),
])
def test_json_is_read_strictly(send, body, description):
    refused(send("POST", "/plans", body), description)


def test_a_body_of_another_type_is_refused(send):
    refused(send("POST", "/plans", "key=pro", "application/x-www-form-urlencoded"),
            "send JSON with Content-Type: application/json")
