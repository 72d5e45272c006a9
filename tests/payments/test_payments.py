"""Payments through Xendit settle into plans (contract, "Payments"; checklist K), against a
fake Xendit that speaks Payments API v3 (tests/fakes/xendit.py)."""

import time

import jwt
import pytest
import requests

from tests.conftest import Server, kept_secret, open_store, project_on, sqlite_store_only
from tests.fakes.xendit import NO_TOKEN, XenditServer
from tests.oauth.test_refresh_token import tokens_for

SECRET_KEY = "xnd_development_astapa_tests"
CALLBACK_TOKEN = "test-callback-token"
PRO = {"key": "pro", "name": "Pro", "price": 149000, "currency": "IDR", "interval": "month"}


@pytest.fixture
def xendit():
    with XenditServer(secret_key=SECRET_KEY, callback_token=CALLBACK_TOKEN) as fake:
        yield fake


@pytest.fixture
def paying(start_server, xendit):
    def start(**settings) -> Server:
        server = start_server(xendit_secret_key=SECRET_KEY, xendit_callback_token=CALLBACK_TOKEN,
                              xendit_api_url=xendit.url, **settings)
        xendit.webhook_url = f"{server.url}/api/webhooks/xendit"
        return server
    return start


class Shop:
    """One project with a `pro` plan and a signed-up user."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.project = project_on(server)
        self.auth = (self.project["client_id"], self.project["client_secret"])
        self.api = f"{server.url}/api/platform"
        requests.post(f"{self.api}/plans", json=PRO, auth=self.auth, timeout=10).raise_for_status()
        self.tokens = tokens_for(server, self.project, "payer@example.org")
        self.sub = jwt.decode(self.tokens["access_token"], options={"verify_signature": False})["sub"]

    def pay(self, method: str = "QRIS", **fields) -> requests.Response:
        return requests.post(f"{self.api}/payments", auth=self.auth, timeout=30,
                             json={"end_user_id": self.sub, "plan": "pro", "method": method, **fields})

    def payment(self, payment_id: str) -> dict:
        return requests.get(f"{self.api}/payments/{payment_id}", auth=self.auth, timeout=10).json()

    def plan_now(self) -> str:
        response = requests.post(f"{self.server.url}/oauth/token", auth=self.auth, timeout=10,
                                 data={"grant_type": "refresh_token", "refresh_token": self.tokens["refresh_token"]})
        assert response.status_code == 200, response.text
        self.tokens = response.json()
        return jwt.decode(self.tokens["access_token"], options={"verify_signature": False})["custom_claims"]["plan"]

    def plan_events(self) -> list[dict]:
        found = requests.get(f"{self.api}/users/{self.sub}/events", auth=self.auth, timeout=10).json()["events"]
        return [e for e in found if e["type"] == "User.PlanAssigned"]

    def wait_settled(self, payment_id: str, timeout: float = 10) -> dict:
        deadline = time.monotonic() + timeout
        while not (view := self.payment(payment_id)).get("plan_assigned"):
            assert time.monotonic() < deadline, view
            time.sleep(0.05)
        return view


def xendit_id_of(xendit: XenditServer, payment_id: str) -> str:
    return next(pr_id for pr_id, pr in xendit.payment_requests.items() if pr["reference_id"] == payment_id)


def test_qris_payment_settles_into_the_plan_on_the_next_refresh(paying, xendit):
    shop = Shop(paying())
    created = shop.pay("QRIS")
    assert created.status_code == 201, created.text
    payment = created.json()
    assert payment["status"] == "PENDING" and payment["amount"] == 149000 and payment["currency"] == "IDR"
    assert payment["qr_string"].startswith("000201") and payment["plan"] == "pro"
    sent = xendit.created()[-1]
    assert sent.headers["idempotency-key"] == payment["payment_id"]
    assert sent.headers["authorization"].startswith("Basic ")
    assert sent.json["request_amount"] == 149000 and sent.json["channel_code"] == "QRIS"
    assert shop.plan_now() == "free"
    assert xendit.simulate_payment(xendit_id_of(xendit, payment["payment_id"])) == 200
    settled = shop.wait_settled(payment["payment_id"])
    assert settled["status"] == "SUCCEEDED" and settled["plan_period_end"]
    assert shop.plan_now() == "pro"
    listed = requests.get(f"{shop.api}/users/{shop.sub}/payments", auth=shop.auth, timeout=10).json()
    assert [p["payment_id"] for p in listed["payments"]] == [payment["payment_id"]]
    history = requests.get(f"{shop.api}/users/{shop.sub}/events", auth=shop.auth, timeout=10).json()["events"]
    types = [e["type"] for e in history]
    # The payment's story, in the user's history, in order.
    assert [t for t in types if t.startswith("Payment.") or t == "User.PlanAssigned"] == [
        "Payment.Created", "Payment.Succeeded", "Payment.Settled", "User.PlanAssigned"]
    assert next(e for e in history if e["type"] == "Payment.Created")["data"]["amount"] == 149000


@pytest.mark.parametrize("method, fields, shown", [
    ("GOPAY", {"return_url": "https://shop.example/paid"}, "checkout_url"),
    ("OVO", {"mobile_number": "081234567890"}, None),
    ("BANK_TRANSFER", {"bank_code": "BRI"}, "virtual_account_number"),
    ("BANK_TRANSFER", {"bank_code": "MANDIRI"}, "virtual_account_number"),
])
def test_each_method(paying, xendit, method, fields, shown):
    shop = Shop(paying())
    created = shop.pay(method, **fields)
    assert created.status_code == 201, created.text
    payment = created.json()
    if shown:
        assert payment[shown]
    sent = xendit.created()[-1].json
    if method == "OVO":
        assert sent["channel_code"] == "OVO" and sent["channel_properties"]["account_mobile_number"] == "+6281234567890"
    if method == "BANK_TRANSFER":
        assert sent["channel_code"] == f"{fields['bank_code']}_VIRTUAL_ACCOUNT" and payment["bank_code"] == fields["bank_code"]
    xendit.simulate_payment(xendit_id_of(xendit, payment["payment_id"]))
    shop.wait_settled(payment["payment_id"])
    assert shop.plan_now() == "pro"


def test_the_same_callback_five_times_in_parallel_assigns_the_plan_once(paying, xendit):
    shop = Shop(paying())
    payment = shop.pay().json()
    pr_id = xendit_id_of(xendit, payment["payment_id"])
    xendit.simulate_payment(pr_id)
    statuses = xendit.redeliver(parallel=5)
    assert statuses == [200] * 5
    shop.wait_settled(payment["payment_id"])
    time.sleep(1.5)  # the settlement job has run again meanwhile
    assert len(shop.plan_events()) == 1


def test_a_wrong_or_missing_callback_token_is_401_and_changes_nothing(paying, xendit):
    shop = Shop(paying())
    payment = shop.pay().json()
    pr_id = xendit_id_of(xendit, payment["payment_id"])
    assert xendit.send_webhook("payment.capture", pr_id, token="wrong", status="SUCCEEDED") == 401
    assert xendit.send_webhook("payment.capture", pr_id, token=NO_TOKEN, status="SUCCEEDED") == 401
    assert shop.payment(payment["payment_id"])["status"] == "PENDING"


def test_an_amount_or_currency_mismatch_is_recorded_not_settled(paying, xendit):
    shop = Shop(paying())
    payment = shop.pay().json()
    pr_id = xendit_id_of(xendit, payment["payment_id"])
    assert xendit.send_webhook("payment.capture", pr_id, status="SUCCEEDED", amount=1000) == 200
    time.sleep(1.2)
    view = shop.payment(payment["payment_id"])
    assert view["status"] == "PENDING" and view["amount_mismatch"] is True and "plan_assigned" not in view
    assert shop.plan_now() == "free"


def test_late_failure_or_expiry_never_undoes_a_success_and_a_late_success_still_counts(paying, xendit):
    shop = Shop(paying())
    first = shop.pay().json()
    pr_id = xendit_id_of(xendit, first["payment_id"])
    xendit.simulate_payment(pr_id)
    shop.wait_settled(first["payment_id"])
    assert xendit.send_webhook("payment.failure", pr_id, status="FAILED") == 200
    assert xendit.send_webhook("payment_request.expiry", pr_id, status="EXPIRED") == 200
    assert shop.payment(first["payment_id"])["status"] == "SUCCEEDED"
    # Expired first, paid after: money received wins.
    second = shop.pay().json()
    pr_two = xendit_id_of(xendit, second["payment_id"])
    assert xendit.send_webhook("payment_request.expiry", pr_two, status="EXPIRED") == 200
    assert shop.payment(second["payment_id"])["status"] == "EXPIRED"
    assert xendit.send_webhook("payment.capture", pr_two, status="SUCCEEDED") == 200
    settled = shop.wait_settled(second["payment_id"])
    # A second month of pro starts where the first one ends.
    assert settled["plan_period_end"] > shop.payment(first["payment_id"])["plan_period_end"]


def test_unknown_references_are_acknowledged_and_ignored(paying, xendit):
    server = paying()
    body = {"event": "payment.capture", "data": {"reference_id": "pay_" + "0" * 24, "payment_request_id": "pr-x",
                                                  "status": "SUCCEEDED", "request_amount": 1, "currency": "IDR"}}
    for data in (body, {**body, "data": {**body["data"], "reference_id": "order-77"}}):
        response = requests.post(f"{server.url}/api/webhooks/xendit", json=data, timeout=10,
                                 headers={"x-callback-token": CALLBACK_TOKEN})
        assert response.status_code == 200
    for raw in (b"{", b"[]", b'{"event": "payment.capture"}'):
        response = requests.post(f"{server.url}/api/webhooks/xendit", data=raw, timeout=10,
                                 headers={"x-callback-token": CALLBACK_TOKEN, "Content-Type": "application/json"})
        assert response.status_code == 400


def test_a_webhook_whose_event_is_not_a_string_is_400_not_a_500(paying, xendit):
    """The event name looks up what it means; a list or an object there once raised. It is
    not Xendit's format, so it is refused (Xendit retries) and changes nothing."""
    server = paying()
    shop = Shop(server)
    payment = shop.pay().json()
    data = {"reference_id": payment["payment_id"], "payment_request_id": xendit_id_of(xendit, payment["payment_id"]),
            "status": "SUCCEEDED", "request_amount": 149000, "currency": "IDR"}
    for event in (["payment.failure"], {"x": 1}, 7, None):
        response = requests.post(f"{server.url}/api/webhooks/xendit", json={"event": event, "data": data},
                                 timeout=10, headers={"x-callback-token": CALLBACK_TOKEN})
        assert response.status_code == 400, response.text
        assert response.json()["error"] == "invalid_request"
    assert shop.payment(payment["payment_id"])["status"] == "PENDING"


def test_a_webhook_field_of_the_wrong_type_is_400_and_changes_nothing(paying, xendit):
    """Each field Xendit's format lists has its type (null counts as absent): `payment_id: {}`
    is not a Xendit webhook, even with the right token and one of our references."""
    server = paying()
    shop = Shop(server)
    payment = shop.pay().json()
    data = {"reference_id": payment["payment_id"], "payment_request_id": xendit_id_of(xendit, payment["payment_id"]),
            "status": "SUCCEEDED", "request_amount": 149000, "currency": "IDR"}
    for wrong in ({"payment_id": {}}, {"request_amount": "149000"}, {"captures": {"capture_amount": 1}}):
        response = requests.post(f"{server.url}/api/webhooks/xendit", json={"event": "payment.capture",
                                                                             "data": {**data, **wrong}},
                                 timeout=10, headers={"x-callback-token": CALLBACK_TOKEN})
        assert response.status_code == 400, response.text
        assert response.json()["error"] == "invalid_request"
    assert shop.payment(payment["payment_id"])["status"] == "PENDING"
    response = requests.post(f"{server.url}/api/webhooks/xendit", timeout=10,
                             json={"event": "payment.capture", "data": {**data, "payment_id": None}},
                             headers={"x-callback-token": CALLBACK_TOKEN})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("failure, status", [(500, 502), (503, 502), (400, 400)])
def test_xendit_errors_are_a_clear_answer_and_a_failed_payment(paying, xendit, failure, status):
    shop = Shop(paying())
    xendit.fail_next(failure)
    response = shop.pay()
    assert response.status_code == status, response.text
    assert response.json()["error"] in ("payment_provider_error", "invalid_request")
    listed = requests.get(f"{shop.api}/users/{shop.sub}/payments", auth=shop.auth, timeout=10).json()["payments"]
    assert [p["status"] for p in listed] == ["FAILED"]


def test_a_timeout_is_a_failed_payment_and_a_later_success_still_settles(paying, xendit):
    shop = Shop(paying(xendit_timeout=1.0))
    xendit.hang_next(2.0, which="create")
    response = shop.pay()
    assert response.status_code == 502
    [payment] = requests.get(f"{shop.api}/users/{shop.sub}/payments", auth=shop.auth, timeout=10).json()["payments"]
    assert payment["status"] == "FAILED"
    time.sleep(1.5)  # the hung request went through at the fake: the payer can still pay
    xendit.simulate_payment(xendit_id_of(xendit, payment["payment_id"]))
    shop.wait_settled(payment["payment_id"])
    assert shop.plan_now() == "pro"


def test_a_retried_create_with_the_same_idempotency_key_is_one_payment(paying, xendit):
    shop = Shop(paying())
    answers = [requests.post(f"{shop.api}/payments", auth=shop.auth, timeout=30,
                             headers={"Idempotency-Key": "order-42"},
                             json={"end_user_id": shop.sub, "plan": "pro", "method": "QRIS"}) for _ in range(3)]
    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["payment_id"] for a in answers}) == 1
    assert len(xendit.payment_requests) == 1


@pytest.mark.parametrize("body, status", [
    ({"plan": "free"}, 400), ({"plan": "gold"}, 400), ({"method": "CASH"}, 400),
    ({"method": "BANK_TRANSFER"}, 400), ({"method": "BANK_TRANSFER", "bank_code": "XYZ"}, 400),
    ({"method": "OVO"}, 400), ({"method": "OVO", "mobile_number": "abc"}, 400), ({"end_user_id": "1"}, 404),
    ({"end_user_id": "x"}, 400), ({"extra": 1}, 400), ({"method": "GOPAY", "return_url": "http://x"}, 400),
])
def test_bad_payment_requests(paying, xendit, body, status):
    shop = Shop(paying())
    response = requests.post(f"{shop.api}/payments", auth=shop.auth, timeout=10,
                             json={"end_user_id": shop.sub, "plan": "pro", "method": "QRIS", **body})
    assert response.status_code == status, response.text
    assert xendit.created() == []


def test_another_projects_payment_is_404(paying, xendit):
    server = paying()
    shop = Shop(server)
    payment = shop.pay().json()
    other = project_on(server, name="other")
    response = requests.get(f"{server.url}/api/platform/payments/{payment['payment_id']}",
                            auth=(other["client_id"], other["client_secret"]), timeout=10)
    assert response.status_code == 404


def test_a_lost_webhook_is_reconciled_and_an_unpaid_payment_expires(paying, xendit):
    server = paying()
    shop = Shop(server)
    paid, unpaid = shop.pay().json(), shop.pay().json()
    xendit.webhook_url = "http://127.0.0.1:9/lost"  # the webhook never arrives
    with pytest.raises(requests.ConnectionError):
        xendit.simulate_payment(xendit_id_of(xendit, paid["payment_id"]))
    server.clock.advance(301)  # pending longer than reconcile_after: the job asks Xendit
    shop.wait_settled(paid["payment_id"])
    assert shop.plan_now() == "pro"
    server.clock.advance(3600)
    deadline = time.monotonic() + 10
    while shop.payment(unpaid["payment_id"])["status"] != "EXPIRED":
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_a_success_recorded_just_before_a_crash_is_settled_after_restart(paying, xendit, data_dir):
    """The server died between the payment's success and the plan: the settlement job,
    which follows the log, assigns the plan after the restart."""
    server = paying()
    shop = Shop(server)
    payment = shop.pay().json()
    pr_id = xendit_id_of(xendit, payment["payment_id"])
    server.stop()
    app = open_store(data_dir)  # what the dead server had just saved
    try:
        app.execute(app.payment_succeeded, payment["payment_id"], pr_id, None, 149000, "IDR")
    finally:
        app.close()
    server = paying()
    shop.server, shop.api = server, f"{server.url}/api/platform"
    shop.wait_settled(payment["payment_id"])
    assert shop.plan_now() == "pro" and len(shop.plan_events()) == 1


def test_without_a_xendit_key_payments_say_so(server: Server):
    shop_project = project_on(server)
    response = requests.post(f"{server.url}/api/platform/payments", timeout=10,
                             auth=(shop_project["client_id"], shop_project["client_secret"]),
                             json={"end_user_id": "1", "plan": "pro", "method": "QRIS"})
    assert response.status_code == 503 and "ASTAPA_XENDIT_SECRET_KEY" in response.json()["error_description"]


@sqlite_store_only
def test_rebuilt_payments_equal_the_live_ones(paying, xendit, tmp_path):
    from tests.projections.test_rebuild import caught_up, rebuild, tables

    server = paying()
    shop = Shop(server)
    paid, failed = shop.pay().json(), None
    xendit.simulate_payment(xendit_id_of(xendit, paid["payment_id"]))
    shop.wait_settled(paid["payment_id"])
    xendit.fail_next(500)
    failed = shop.pay()
    assert failed.status_code == 502
    caught_up(server)
    rebuild(server.data_dir, "--into", str(tmp_path / "rebuilt.db"))
    rebuilt = tables(tmp_path / "rebuilt.db", tracking=False)
    live = tables(server.data_dir / "read.db", tracking=False)
    for table in ("payments", "plans", "users", "user_events"):
        assert rebuilt[table] == live[table], table


def test_a_project_with_its_own_xendit_key_and_token(start_server, tmp_path):
    """`astapa project payments`: the project's key and webhook token, kept out of the log
    (a 0600 file); no deployment key needed."""
    import json as json_lib
    import subprocess
    import sys

    from tests.conftest import run_cli

    own_key, own_token = "xnd_development_own_project_key_123", "own-callback-token-456"
    with XenditServer(secret_key=own_key, callback_token=own_token) as fake:
        server = start_server(xendit_api_url=fake.url)
        fake.webhook_url = f"{server.url}/api/webhooks/xendit"
        shop = Shop(server)
        refused = subprocess.run([sys.executable, "-m", "astapa", "project", "payments", "--data-dir",
                                  str(server.data_dir), "--project", shop.project["project_id"],
                                  "--xendit-secret-key", "xnd_production_live_key_for_a_sandbox"],
                                 capture_output=True, text=True, timeout=60)
        assert refused.returncode == 2 and "xnd_development_" in refused.stderr
        assert shop.pay().status_code == 503  # nothing configured yet
        run_cli("project", "payments", "--data-dir", str(server.data_dir), "--project", shop.project["project_id"],
                "--xendit-secret-key", own_key, "--xendit-callback-token", own_token)
        assert kept_secret(server, "xendit", shop.project["project_id"])["secret_key"] == own_key
        payment = shop.pay()
        assert payment.status_code == 201, payment.text
        pr_id = xendit_id_of(fake, payment.json()["payment_id"])
        assert fake.send_webhook("payment.capture", pr_id, token="wrong-token", status="SUCCEEDED") == 401
        assert fake.simulate_payment(pr_id) == 200
        shop.wait_settled(payment.json()["payment_id"])
        exported = subprocess.run([sys.executable, "scripts/export_events.py", "--data-dir", str(server.data_dir)],
                                  capture_output=True, text=True, check=True, timeout=60).stdout
        assert own_key not in exported and own_token not in exported
        configured = [json_lib.loads(line) for line in exported.splitlines() if "PaymentsConfigured" in line]
        assert len(configured) == 1 and len(configured[0]["secret_key_hash"]) == 64


def test_a_price_change_leaves_what_was_asked_and_paid_alone(paying, xendit):
    shop = Shop(paying())
    before = shop.pay().json()
    changed = requests.patch(f"{shop.api}/plans/pro", json={"price": 199000, "claims": {"tier": 2}},
                             auth=shop.auth, timeout=10)
    assert changed.status_code == 200 and changed.json()["price"] == 199000
    assert shop.payment(before["payment_id"])["amount"] == 149000
    xendit.simulate_payment(xendit_id_of(xendit, before["payment_id"]))  # pays the old price
    assert shop.wait_settled(before["payment_id"])["status"] == "SUCCEEDED"
    after = shop.pay().json()
    assert after["amount"] == 199000
    for bad, status in (({"price": -5}, 400), ({"currency": "USD"}, 400), ({}, 400), ({"claims": {"sub": 1}}, 400)):
        assert requests.patch(f"{shop.api}/plans/pro", json=bad, auth=shop.auth, timeout=10).status_code == status
    assert requests.patch(f"{shop.api}/plans/free", json={"price": 5}, auth=shop.auth, timeout=10).status_code == 409
    assert requests.patch(f"{shop.api}/plans/gold", json={"price": 5}, auth=shop.auth, timeout=10).status_code == 404


def test_a_payment_made_at_the_last_moment_with_its_webhook_lost_is_not_expired(paying, xendit):
    server = paying()
    shop = Shop(server)
    payment = shop.pay().json()
    xendit.webhook_url = "http://127.0.0.1:9/lost"
    with pytest.raises(requests.ConnectionError):
        xendit.simulate_payment(xendit_id_of(xendit, payment["payment_id"]))
    server.clock.advance(3601)  # past its time before any reconciliation ran
    assert shop.wait_settled(payment["payment_id"])["status"] == "SUCCEEDED"
    assert shop.plan_now() == "pro"


def test_the_trail_from_a_payment_to_the_tokens_it_paid_for(paying, xendit):
    """The user's history links the plan to the payment that caused it, and each sign-in's
    tokens to the plan they were issued under."""
    from tests.flows import Browser, exchange, query_of

    shop = Shop(paying())
    payment = shop.pay("QRIS").json()
    xendit.simulate_payment(xendit_id_of(xendit, payment["payment_id"]))
    shop.wait_settled(payment["payment_id"])
    browser = Browser(shop.server.url)
    signed_in = browser.sign_in(browser.authorize_url(shop.project["client_id"]), "payer@example.org")
    assert exchange(shop.server.url, shop.project, query_of(signed_in.headers["Location"])["code"]).status_code == 200
    history = requests.get(f"{shop.api}/users/{shop.sub}/events", auth=shop.auth, timeout=10).json()["events"]
    trail = [(e["type"], e["data"].get("plan"), e["data"].get("by")) for e in history
             if e["type"] in ("RefreshFamily.Started", "User.PlanAssigned")]
    assert trail == [("RefreshFamily.Started", "free", None),
                     ("User.PlanAssigned", "pro", f"payment {payment['payment_id']}"),
                     ("RefreshFamily.Started", "pro", None)]
