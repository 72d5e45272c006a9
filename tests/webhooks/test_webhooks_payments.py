"""The event types that need more than the management API: a payment received (through a
fake Xendit) is `payment.succeeded` then `plan.assigned`, and a refresh token revoked by
its client (RFC 7009) is `session.revoked` for that one family."""

import jwt
import pytest
import requests

from tests.conftest import Server
from tests.management.test_users_and_claims import Api
from tests.oauth.test_refresh_token import tokens_for
from tests.fakes.xendit import XenditServer
from tests.payments.test_payments import CALLBACK_TOKEN, SECRET_KEY, Shop, xendit_id_of
from tests.webhooks.receiver import Receiver
from tests.webhooks.test_webhooks_api import subscribe, wait_about


@pytest.fixture
def xendit():
    with XenditServer(secret_key=SECRET_KEY, callback_token=CALLBACK_TOKEN) as fake:
        yield fake


@pytest.fixture
def paying(start_server, xendit):
    """A server paid through the fake Xendit (as tests/payments does), webhooks to loopback allowed."""
    def start() -> Server:
        server = start_server(xendit_secret_key=SECRET_KEY, xendit_callback_token=CALLBACK_TOKEN,
                              xendit_api_url=xendit.url, webhook_allow_http_loopback=True)
        xendit.webhook_url = f"{server.url}/api/webhooks/xendit"
        return server
    return start


@pytest.fixture
def receiver():
    receiver = Receiver().start()
    yield receiver
    receiver.stop()


def test_a_payment_received_is_payment_succeeded_then_plan_assigned(paying, xendit, receiver: Receiver):
    shop = Shop(paying())
    subscribe(Api(shop.server, shop.project), receiver.url, ["payment.succeeded", "plan.assigned"])
    created = shop.pay("QRIS")
    assert created.status_code == 201, created.text
    payment = created.json()
    assert xendit.simulate_payment(xendit_id_of(xendit, payment["payment_id"])) == 200
    succeeded, assigned = wait_about(receiver, shop.sub, 2)
    assert succeeded["type"] == "payment.succeeded" and succeeded["data"] == {
        "project_id": shop.project["project_id"], "sub": shop.sub, "payment_id": payment["payment_id"],
        "plan": "pro", "amount": 149000, "currency": "IDR"}
    assert assigned["type"] == "plan.assigned" and assigned["data"]["plan"] == "pro"
    assert assigned["data"]["expires_at"].endswith("Z")


def test_a_refresh_token_revoked_by_its_client_is_session_revoked(start_server, receiver: Receiver):
    from tests.conftest import project_on

    server: Server = start_server(webhook_allow_http_loopback=True)
    project = project_on(server)
    subscribe(Api(server, project), receiver.url, ["session.revoked"])
    tokens = tokens_for(server, project, "revoker@example.org")
    sub = jwt.decode(tokens["access_token"], options={"verify_signature": False})["sub"]
    revoked = requests.post(f"{server.url}/oauth/revoke", data={"token": tokens["refresh_token"]},
                            auth=(project["client_id"], project["client_secret"]), timeout=10)
    assert revoked.status_code == 200
    [event] = wait_about(receiver, sub, 1)
    assert event["type"] == "session.revoked"
    assert event["data"] == {"project_id": project["project_id"], "sub": sub, "scope": "refresh_token",
                             "reason": "revoked by client"}
