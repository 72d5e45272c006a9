"""The management API does with plans and payments what the console does: archiving a plan,
listing the project's payments a page at a time, and, in a sandbox, simulating a payment
through the same settlement as Xendit's webhook (against a fake Xendit)."""

import sqlite3
import time

import jwt
import pytest
import requests

from astapa.queries import payments_page
from tests.conftest import Server, project_on
from tests.fakes.xendit import XenditServer
from tests.management.test_users_and_claims import Api
from tests.oauth.test_refresh_token import tokens_for

SECRET_KEY = "xnd_development_astapa_tests"
CALLBACK_TOKEN = "test-callback-token"
PRO = {"key": "pro", "name": "Pro", "price": 149000, "currency": "IDR", "interval": "month",
       "claims": {"max_projects": 20}}
UNKNOWN_PAYMENT = "pay_0123456789abcdef01234567"


def sub_of(tokens: dict) -> str:
    return jwt.decode(tokens["access_token"], options={"verify_signature": False})["sub"]


# -- archiving a plan ----------------------------------------------------------------------------

@pytest.fixture
def api(server: Server) -> Api:
    return Api(server, project_on(server))


def test_an_archived_plan_is_shown_kept_by_its_users_and_offered_to_nobody(server: Server):
    project = project_on(server)
    api = Api(server, project)
    assert api.send("POST", "/plans", PRO).status_code == 201
    ada = sub_of(tokens_for(server, project, "ada@example.org"))
    bob = sub_of(tokens_for(server, project, "bob@example.org"))
    assert api.send("PUT", f"/users/{ada}/plan", {"plan": "pro"}).status_code == 200

    archived = api.send("POST", "/plans/pro/archive", {})
    assert archived.status_code == 200, archived.text
    assert archived.json() == {**PRO, "archived": True}
    assert api.get("/plans").json()["plans"] == [
        {"key": "free", "name": "Free", "price": 0, "currency": "IDR", "interval": "once", "claims": {}},
        {**PRO, "archived": True}]
    assert api.get(f"/users/{ada}").json()["custom_claims"] == {"plan": "pro", "max_projects": 20}
    refused = api.send("PUT", f"/users/{bob}/plan", {"plan": "pro"})
    assert refused.status_code == 400 and "archived" in refused.json()["error_description"]
    again = api.send("POST", "/plans/pro/archive", {})
    assert again.status_code == 200 and again.json() == {**PRO, "archived": True}
    log = api.get("/events", type="Plan.Archived").json()["events"]
    assert [(e["subject"], e["actor"]) for e in log] == [("pro", project["client_id"])]  # once


@pytest.mark.parametrize("path, body, status, error", [
    ("/plans/free/archive", {}, 409, "conflict"),
    ("/plans/gold/archive", {}, 404, "not_found"),
    ("/plans/Not%20a%20key/archive", {}, 404, "not_found"),
    ("/plans/pro/archive", {"reason": "old"}, 400, "invalid_request"),
])
def test_archiving_free_an_unknown_plan_or_with_fields_is_refused(api: Api, path: str, body: dict, status: int,
                                                                  error: str):
    assert api.send("POST", "/plans", PRO).status_code == 201
    response = api.send("POST", path, body)
    assert (response.status_code, response.json()["error"]) == (status, error), response.text
    assert "archived" not in api.get("/plans").json()["plans"][1]


# -- payments ------------------------------------------------------------------------------------

@pytest.fixture
def xendit():
    with XenditServer(secret_key=SECRET_KEY, callback_token=CALLBACK_TOKEN) as fake:
        yield fake


@pytest.fixture
def paying(start_server, xendit: XenditServer) -> Server:
    server = start_server(xendit_secret_key=SECRET_KEY, xendit_callback_token=CALLBACK_TOKEN,
                          xendit_api_url=xendit.url)
    xendit.webhook_url = f"{server.url}/api/webhooks/xendit"
    return server


class Shop:
    """A sandbox project with the `pro` plan and a user who pays for it."""

    def __init__(self, server: Server, live: bool = False) -> None:
        self.server = server
        self.project = project_on(server, live=live)
        self.api = Api(server, self.project)
        assert self.api.send("POST", "/plans", PRO).status_code == 201
        self.tokens = tokens_for(server, self.project, "payer@example.org")
        self.sub = sub_of(self.tokens)

    def pay(self) -> dict:
        self.server.clock.advance(1)  # each a second newer than the last
        created = self.api.send("POST", "/payments", {"end_user_id": self.sub, "plan": "pro", "method": "QRIS"})
        assert created.status_code == 201, created.text
        return created.json()

    def listed(self, **params) -> requests.Response:
        response = self.api.get("/payments", **params)
        assert response.status_code == 200, response.text
        return response

    def payment(self, payment_id: str) -> dict:
        return self.api.get(f"/payments/{payment_id}").json()


def test_the_projects_payments_are_listed_newest_first_a_page_at_a_time(paying: Server, xendit: XenditServer):
    shop = Shop(paying)
    first, second, third = (shop.pay()["payment_id"] for _ in range(3))
    page = shop.listed(limit=2).json()
    assert [p["payment_id"] for p in page["payments"]] == [third, second] and page["next"]
    assert page["payments"] == [shop.payment(third), shop.payment(second)]  # as GET shows each
    rest = shop.listed(limit=2, before=page["next"]).json()
    assert [p["payment_id"] for p in rest["payments"]] == [first] and rest["next"] is None
    assert shop.listed().json() == {"payments": page["payments"] + rest["payments"], "next": None}

    pr_id = next(pr for pr, found in xendit.payment_requests.items() if found["reference_id"] == first)
    xendit.fail(pr_id)
    deadline = time.monotonic() + 10
    while shop.payment(first)["status"] != "FAILED":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert shop.api.send("POST", f"/payments/{second}/simulate", {"status": "SUCCEEDED"}).status_code == 200
    by_status = {status: [p["payment_id"] for p in shop.listed(status=status).json()["payments"]]
                 for status in ("PENDING", "SUCCEEDED", "FAILED", "EXPIRED")}
    assert by_status == {"PENDING": [third], "SUCCEEDED": [second], "FAILED": [first], "EXPIRED": []}

    other = Api(paying, project_on(paying))
    assert other.get("/payments").json() == {"payments": [], "next": None}
    assert other.get("/payments", before=page["next"]).json() == {"payments": [], "next": None}  # not their cursor


@pytest.mark.parametrize("params", [{"status": "CREATED"}, {"status": "pending"}, {"limit": 0}, {"limit": 201},
                                    {"before": 0}, {"before": "x"}, {"status": ["PENDING", "FAILED"]}])
def test_bad_payment_listings_are_refused(api: Api, params: dict):
    response = api.get("/payments", **params)
    assert response.status_code == 400 and response.json()["error"] == "invalid_request", response.text


def test_a_listing_walks_its_index_without_sorting(paying: Server):
    """Each page is read in the order of the index on (project_id, created_at): no
    temporary sort, however many payments the project has."""
    shop = Shop(paying)
    shop.pay()
    statements: list[str] = []
    with sqlite3.connect(f"file:{paying.data_dir / 'read.db'}?mode=ro", uri=True) as conn:
        conn.row_factory = sqlite3.Row
        conn.set_trace_callback(statements.append)
        payments_page(conn, shop.project["project_id"], "PENDING", 10**6, 50)
        conn.set_trace_callback(None)
        [query] = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
        plan = " ".join(row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {query}"))
    assert "USING INDEX idx_payments_project_id_created_at" in plan and "TEMP B-TREE" not in plan, plan


def test_a_simulated_payment_settles_its_plan_as_a_real_one(paying: Server):
    shop = Shop(paying)
    payment = shop.pay()
    simulated = shop.api.send("POST", f"/payments/{payment['payment_id']}/simulate", {"status": "SUCCEEDED"})
    assert simulated.status_code == 200, simulated.text
    body = simulated.json()
    assert (body["status"], body["plan_assigned"]) == ("SUCCEEDED", True) and body["plan_period_end"]
    assert body == shop.payment(payment["payment_id"])
    refreshed = requests.post(f"{paying.url}/oauth/token", auth=shop.api.auth, timeout=10, data={
        "grant_type": "refresh_token", "refresh_token": shop.tokens["refresh_token"]}).json()
    assert jwt.decode(refreshed["access_token"], options={"verify_signature": False})["custom_claims"]["plan"] == "pro"
    history = [e["type"] for e in shop.api.get(f"/users/{shop.sub}/events").json()["events"]]
    assert history[-3:] == ["Payment.Succeeded", "Payment.Settled", "User.PlanAssigned"]

    again = shop.api.send("POST", f"/payments/{payment['payment_id']}/simulate", {"status": "SUCCEEDED"})
    assert again.status_code == 409 and again.json()["error"] == "conflict"


@pytest.mark.parametrize("body", [{"status": "FAILED"}, {"status": "EXPIRED"}, {}, {"status": "SUCCEEDED", "x": 1}])
def test_only_a_success_can_be_simulated(paying: Server, body: dict):
    shop = Shop(paying)
    payment = shop.pay()
    response = shop.api.send("POST", f"/payments/{payment['payment_id']}/simulate", body)
    assert response.status_code == 400 and response.json()["error"] == "invalid_request", response.text
    assert shop.payment(payment["payment_id"])["status"] == "PENDING"


def test_no_payment_is_simulated_in_a_live_project_nor_another_projects(paying: Server):
    shop = Shop(paying)
    payment = shop.pay()
    for api, payment_id in ((Api(paying, project_on(paying)), payment["payment_id"]),
                            (shop.api, UNKNOWN_PAYMENT), (shop.api, "pay_not-an-id")):
        response = api.send("POST", f"/payments/{payment_id}/simulate", {"status": "SUCCEEDED"})
        assert response.status_code == 404 and response.json()["error"] == "not_found", response.text
    live = Api(paying, project_on(paying, live=True))
    for body in ({"status": "SUCCEEDED"}, {"status": "FAILED"}):  # no such route for it: 404 before the body
        response = live.send("POST", f"/payments/{UNKNOWN_PAYMENT}/simulate", body)
        assert response.status_code == 404 and response.json()["error"] == "not_found"
    assert shop.payment(payment["payment_id"])["status"] == "PENDING"
