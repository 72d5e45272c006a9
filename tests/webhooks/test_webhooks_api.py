"""Webhooks over HTTP against a real server and a real receiver on 127.0.0.1: creating
one (the secret shown once), Standard Webhooks signatures, each event type, the
delivery log, and targets refused (contract, "The log as a product": Webhooks)."""

import base64
import hashlib
import hmac

import pytest
import requests

from tests.conftest import Server, project_on, stored_states
from tests.console.conftest import add_admin
from tests.management.test_users_and_claims import PRO, Api
from tests.oauth.test_authorization_code import signed_up
from tests.webhooks.receiver import Receiver

ALL = ["user.created", "user.updated", "user.disabled", "user.deleted", "plan.assigned", "payment.succeeded",
       "session.revoked"]


@pytest.fixture
def server(start_server) -> Server:
    return start_server(signups_per_ip=1000, webhook_allow_http_loopback=True)


@pytest.fixture
def project(server: Server) -> dict:
    return project_on(server)


@pytest.fixture
def api(server: Server, project: dict) -> Api:
    return Api(server, project)


@pytest.fixture
def receiver():
    receiver = Receiver().start()
    yield receiver
    receiver.stop()


def subscribe(api: Api, url: str, events: list[str] = ALL) -> dict:
    response = api.send("POST", "/webhooks", {"url": url, "events": events})
    assert response.status_code == 201, response.text
    return response.json()


def sign_up(server: Server, project: dict, email: str) -> str:
    """A new user of the project; their sub."""
    _, params = signed_up(server, project, email)
    assert "code" in params
    found = requests.get(f"{server.url}/api/platform/users", params={"email": email},
                         auth=(project["client_id"], project["client_secret"]), timeout=10).json()["users"]
    return found[0]["sub"]


def expected_signature(secret: str, headers: dict, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def test_created_webhook_shows_its_secret_once(api: Api, receiver: Receiver):
    created = subscribe(api, receiver.url, ["user.created"])
    assert created["secret"].startswith("whsec_") and len(base64.b64decode(created["secret"][6:])) == 32
    assert created["url"] == receiver.url and created["events"] == ["user.created"] and created["enabled"]
    listed = api.get("/webhooks").json()["webhooks"]
    assert [w["webhook_id"] for w in listed] == [created["webhook_id"]]
    one = api.get(f"/webhooks/{created['webhook_id']}").json()
    assert "secret" not in listed[0] and "secret" not in one
    assert created["secret"] not in api.get("/webhooks").text + api.get(f"/webhooks/{created['webhook_id']}").text


def test_user_created_is_delivered_signed(server: Server, project: dict, api: Api, receiver: Receiver):
    created = subscribe(api, receiver.url, ["user.created"])
    sub = sign_up(server, project, "ada@example.org")
    [received] = receiver.wait_for(1)
    assert received.document["type"] == "user.created"
    assert received.document["data"] == {"project_id": project["project_id"], "sub": sub,
                                         "email": "ada@example.org", "email_verified": False}
    assert received.document["timestamp"].endswith("Z")
    assert received.headers["webhook-signature"] == expected_signature(created["secret"], received.headers,
                                                                       received.body)
    assert received.headers["webhook-timestamp"] == str(int(server.clock.now()))
    try:
        from standardwebhooks.webhooks import Webhook
    except ImportError:
        return
    import time
    assert abs(int(received.headers["webhook-timestamp"]) - time.time()) < 300  # the library's tolerance
    assert Webhook(created["secret"]).verify(received.body, received.headers)["type"] == "user.created"


def received_about(receiver: Receiver, sub: str) -> list[dict]:
    return [d for d in receiver.documents() if d["data"]["sub"] == sub]


def wait_about(receiver: Receiver, sub: str, count: int, timeout: float = 10.0) -> list[dict]:
    import time
    deadline = time.monotonic() + timeout
    while len(found := received_about(receiver, sub)) < count:
        assert time.monotonic() < deadline, found
        time.sleep(0.02)
    return found


def test_each_type_fires_on_its_action_in_log_order(server: Server, project: dict, api: Api, receiver: Receiver,
                                                    monkeypatch):
    from astapa.webhooks.follower import Follower

    loaded = []  # the follower finds each user in the read models, loading no aggregate
    found_by_load = Follower._loaded_owner
    monkeypatch.setattr(Follower, "_loaded_owner",
                        lambda self, position, event: loaded.append(position) or found_by_load(self, position, event))
    subscribe(api, receiver.url)
    sub = sign_up(server, project, "grace@example.org")
    assert api.send("POST", "/plans", PRO).status_code == 201
    assert api.send("PATCH", f"/users/{sub}/claims", {"team": "blue"}).status_code == 200
    assert api.send("PUT", f"/users/{sub}/plan", {"plan": "pro"}).status_code == 200
    assert api.send("PATCH", f"/users/{sub}", {"disabled": True}).status_code == 200
    assert api.send("PATCH", f"/users/{sub}", {"disabled": False}).status_code == 200
    revoked = requests.post(f"{server.url}/api/platform/revoke", json={"end_user_id": sub}, auth=api.auth,
                            timeout=10)
    assert revoked.status_code == 200, revoked.text
    found = wait_about(receiver, sub, 7)
    assert [(d["type"], d["data"].get("change") or d["data"].get("scope")) for d in found] == [
        ("user.created", None),
        ("user.updated", "claims_changed"),
        ("plan.assigned", None),
        ("user.disabled", None),
        ("session.revoked", "all"),
        ("user.updated", "enabled"),
        ("session.revoked", "all"),
    ]
    assert found[1]["data"]["claims_set"] == ["team"]
    assert found[2]["data"] == {"project_id": project["project_id"], "sub": sub, "plan": "pro", "expires_at": None}
    assert found[4]["data"]["reason"] == "disabled" and found[6]["data"]["reason"] == "revoked by project"
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 7
    assert loaded == []


def test_user_deleted_fires_when_a_person_is_erased(server: Server, project: dict, api: Api, receiver: Receiver):
    subscribe(api, receiver.url, ["user.deleted"])
    sub = sign_up(server, project, "erased@example.org")
    erased = requests.delete(f"{api.url}/users/{sub}", auth=api.auth, timeout=10)
    if erased.status_code in (404, 405):
        pytest.skip("erasing a person is not there yet")
    assert erased.status_code in (200, 204), erased.text
    [deleted] = wait_about(receiver, sub, 1)
    assert deleted == {"type": "user.deleted", "timestamp": deleted["timestamp"],
                       "data": {"project_id": project["project_id"], "sub": sub}}


def test_only_the_types_subscribed_and_only_events_after_creation(server: Server, project: dict, api: Api,
                                                                  receiver: Receiver):
    before = sign_up(server, project, "before@example.org")
    subscribe(api, receiver.url, ["user.disabled"])
    after = sign_up(server, project, "after@example.org")
    assert api.send("PATCH", f"/users/{after}", {"disabled": True}).status_code == 200
    [disabled] = wait_about(receiver, after, 1)
    assert disabled["type"] == "user.disabled"
    assert receiver.quiet() == 1
    assert received_about(receiver, before) == []
    other = Api(server, project_on(server, name="other"))
    assert other.get("/webhooks").json() == {"webhooks": []}


def test_retries_back_off_with_the_same_id_and_body(server: Server, project: dict, api: Api, receiver: Receiver):
    created = subscribe(api, receiver.url, ["user.created"])
    receiver.failing = True
    sign_up(server, project, "retry@example.org")
    receiver.wait_for(1)
    wait_attempts(api, created["webhook_id"], 1)
    server.clock.advance(4)
    assert receiver.quiet(1.0) == 1
    server.clock.advance(1)  # 5 s after the first attempt
    receiver.wait_for(2)
    wait_attempts(api, created["webhook_id"], 2)
    server.clock.advance(30)  # 35 s: the third attempt, within the first minute
    receiver.wait_for(3)
    wait_attempts(api, created["webhook_id"], 3)
    server.clock.advance(299)
    assert receiver.quiet(1.0) == 3
    receiver.failing = False
    server.clock.advance(1)  # 5 minutes after the third
    received = receiver.wait_for(4)
    assert receiver.quiet(1.0) == 4
    assert len({r.headers["webhook-id"] for r in received}) == 1
    assert len({r.body for r in received}) == 1
    assert all(r.headers["webhook-signature"] == expected_signature(created["secret"], r.headers, r.body)
               for r in received)
    [delivery] = api.get(f"/webhooks/{created['webhook_id']}/deliveries").json()["deliveries"]
    assert delivery["delivery_id"] == received[0].headers["webhook-id"]
    assert delivery["status"] == "delivered" and delivery["attempts"] == 4 and delivery["last_status_code"] == 204
    assert delivery["delivered_at"] and delivery["next_attempt_at"] is None


def test_one_users_events_arrive_in_log_order_under_failures(server: Server, project: dict, api: Api,
                                                            receiver: Receiver):
    created = subscribe(api, receiver.url)
    assert api.send("POST", "/plans", PRO).status_code == 201
    receiver.failing = True
    stuck = sign_up(server, project, "stuck@example.org")
    receiver.failing_sub, receiver.failing = stuck, False
    wait_about(receiver, stuck, 1)
    wait_delivery(api, created["webhook_id"], lambda d: d["sub"] == stuck and d["attempts"] == 1)
    assert api.send("PATCH", f"/users/{stuck}/claims", {"team": "red"}).status_code == 200
    assert api.send("PUT", f"/users/{stuck}/plan", {"plan": "pro"}).status_code == 200
    free = sign_up(server, project, "free@example.org")  # another user's events are not held up
    assert [d["type"] for d in wait_about(receiver, free, 1)] == ["user.created"]
    server.clock.advance(5)
    wait_about(receiver, stuck, 2)
    wait_delivery(api, created["webhook_id"], lambda d: d["sub"] == stuck and d["attempts"] == 2)
    receiver.quiet(1.0)
    assert {d["type"] for d in received_about(receiver, stuck)} == {"user.created"}  # the later ones wait
    receiver.failing_sub = None
    server.clock.advance(30)
    found = wait_about(receiver, stuck, 5)
    assert [d["type"] for d in found] == ["user.created"] * 3 + ["user.updated", "plan.assigned"]


def test_three_days_of_failures_disable_the_webhook(server: Server, project: dict, api: Api, receiver: Receiver):
    from astapa.domain.webhooks import BACKOFF, GIVE_UP_AFTER

    add_admin(server, "ops@example.com")  # a project made without the console has no owner: the admins hear
    created = subscribe(api, receiver.url, ["user.created"])
    receiver.failing = True
    sign_up(server, project, "gone@example.org")
    receiver.wait_for(1)
    wait_attempts(api, created["webhook_id"], 1)
    elapsed, attempts = 0.0, 1
    while True:
        wait = BACKOFF[min(attempts - 1, len(BACKOFF) - 1)]
        if elapsed + wait > GIVE_UP_AFTER:
            break
        server.clock.advance(wait)
        elapsed += wait
        attempts += 1
        receiver.wait_for(attempts)
        wait_attempts(api, created["webhook_id"], attempts)
    webhook = wait_disabled(api, created["webhook_id"])
    assert "failed for three days" in webhook["disabled_reason"] and "answered 500" in webhook["disabled_reason"]
    [delivery] = api.get(f"/webhooks/{created['webhook_id']}/deliveries").json()["deliveries"]
    assert delivery["status"] == "gave_up" and delivery["attempts"] == attempts == 13
    # The notice: mailed (queued) to whom the console says owns the project.
    notices = wait_states(server, "Message.Queued", lambda s: s["kind"] == "webhook_disabled")
    assert [n["to"] for n in notices] == ["ops@example.com"] and notices[0]["client_name"] == "app"
    # Disabled: new events are not sent; enabled again, they are.
    receiver.failing = False
    sign_up(server, project, "meanwhile@example.org")
    assert receiver.quiet() == attempts
    enabled = api.send("POST", f"/webhooks/{created['webhook_id']}/enable", None)
    assert enabled.status_code == 200 and enabled.json()["enabled"] and enabled.json()["disabled_reason"] is None
    sign_up(server, project, "later@example.org")
    assert receiver.wait_for(attempts + 1)[-1].document["data"]["email"] == "later@example.org"


def wait_attempts(api: Api, webhook_id: str, attempts: int) -> dict:
    """The webhook's only delivery, once `attempts` outcomes are recorded (the next attempt
    is timed from the last one's record: the clock must not move before it)."""
    import time
    deadline = time.monotonic() + 10
    while True:
        found = api.get(f"/webhooks/{webhook_id}/deliveries").json()["deliveries"]
        if found and found[0]["attempts"] >= attempts:
            return found[0]
        assert time.monotonic() < deadline, found
        time.sleep(0.02)


def wait_delivery(api: Api, webhook_id: str, wanted) -> dict:
    """The first delivery in the webhook's log that `wanted` accepts, once there is one."""
    import time
    deadline = time.monotonic() + 10
    while True:
        found = [d for d in api.get(f"/webhooks/{webhook_id}/deliveries").json()["deliveries"] if wanted(d)]
        if found:
            return found[0]
        assert time.monotonic() < deadline
        time.sleep(0.02)


def wait_disabled(api: Api, webhook_id: str) -> dict:
    import time
    deadline = time.monotonic() + 10
    while (webhook := api.get(f"/webhooks/{webhook_id}").json())["enabled"]:
        assert time.monotonic() < deadline, webhook
        time.sleep(0.05)
    return webhook


def test_deliveries_log_pages_newest_first(server: Server, project: dict, api: Api, receiver: Receiver):
    created = subscribe(api, receiver.url, ["user.created"])
    for n in range(3):
        sign_up(server, project, f"page{n}@example.org")
    receiver.wait_for(3)
    path = f"/webhooks/{created['webhook_id']}/deliveries"
    first = api.get(path, limit=2).json()
    assert len(first["deliveries"]) == 2 and first["next_cursor"] is not None
    rest = api.get(path, limit=2, cursor=first["next_cursor"]).json()
    assert len(rest["deliveries"]) == 1 and rest["next_cursor"] is None
    positions = [d["position"] for d in first["deliveries"] + rest["deliveries"]]
    assert positions == sorted(positions, reverse=True)
    assert {d["status"] for d in first["deliveries"]} == {"delivered"}
    assert api.get(path, limit=0).status_code == 400
    assert api.get("/webhooks/" + "0" * 32 + "/deliveries").status_code == 404


def test_deleted_webhook_gets_nothing_more(server: Server, project: dict, api: Api, receiver: Receiver):
    created = subscribe(api, receiver.url, ["user.created"])
    deleted = requests.delete(f"{api.url}/webhooks/{created['webhook_id']}", auth=api.auth, timeout=10)
    assert deleted.status_code == 200 and deleted.json() == {"webhook_id": created["webhook_id"], "deleted": True}
    sign_up(server, project, "nobody@example.org")
    assert receiver.quiet() == 0
    assert api.get(f"/webhooks/{created['webhook_id']}").status_code == 404
    other = Api(server, project_on(server, name="other"))
    assert other.get(f"/webhooks/{created['webhook_id']}").status_code == 404


@pytest.mark.parametrize("body, error", [
    ({"url": "https://app.example/hook", "events": []}, "events"),
    ({"url": "https://app.example/hook", "events": ["user.exploded"]}, "events"),
    ({"url": "https://app.example/hook"}, "events"),
    ({"url": "ftp://app.example/hook", "events": ["user.created"]}, "https"),
    ({"url": "http://10.0.0.7/hook", "events": ["user.created"]}, "https"),
    ({"url": "https://10.0.0.7/hook", "events": ["user.created"]}, "address"),
    ({"url": "https://169.254.169.254/latest", "events": ["user.created"]}, "address"),
    ({"url": "https://[fd00::1]/hook", "events": ["user.created"]}, "address"),
    ({"url": "https://192.168.1.1/hook", "events": ["user.created"]}, "address"),
    ({"url": "https://app.example/hook", "events": ["user.created"], "extra": 1}, "unknown field"),
])
def test_bad_webhooks_are_refused(api: Api, body: dict, error: str):
    response = api.send("POST", "/webhooks", body)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request" and error in response.json()["error_description"]


MALFORMED_URLS = ["https://h:99999/", "https://h:abc/", "https://[::1/", "https://a..b/",
                  "https://" + "a" * 64 + ".example/hook"]


@pytest.mark.parametrize("url", MALFORMED_URLS)
def test_malformed_urls_are_refused_not_a_500(api: Api, url: str):
    response = api.send("POST", "/webhooks", {"url": url, "events": ["user.created"]})
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request"
    assert response.json()["error_description"].startswith("url: URL ")


def test_a_project_has_at_most_twenty_webhooks(server: Server, api: Api, receiver: Receiver):
    from astapa.domain.webhooks import MAX_WEBHOOKS

    made = [subscribe(api, f"{receiver.url}/{n}", ["user.created"]) for n in range(MAX_WEBHOOKS)]
    refused = api.send("POST", "/webhooks", {"url": receiver.url, "events": ["user.created"]})
    assert refused.status_code == 400 and "at most 20 webhooks" in refused.json()["error_description"]
    assert len(api.get("/webhooks").json()["webhooks"]) == MAX_WEBHOOKS
    assert requests.delete(f"{api.url}/webhooks/{made[0]['webhook_id']}", auth=api.auth, timeout=10).ok
    subscribe(api, receiver.url, ["user.created"])  # room again
    other = Api(server, project_on(server, name="other"))  # another project's count is its own
    subscribe(other, receiver.url, ["user.created"])


def test_the_secret_is_answered_even_when_the_read_models_lag(start_server, receiver: Receiver):
    server = start_server(webhook_allow_http_loopback=True, projection_wait=0.0)
    project = project_on(server)
    api = Api(server, project)
    response = api.send("POST", "/webhooks", {"url": receiver.url, "events": ["user.created", "plan.assigned"]})
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["secret"].startswith("whsec_") and created["url"] == receiver.url
    assert created["events"] == ["user.created", "plan.assigned"] and created["enabled"]
    assert created["disabled_reason"] is None and created["created_at"].endswith("Z")
    import time
    deadline = time.monotonic() + 10
    while (listed := api.get("/webhooks").json()["webhooks"]) == []:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert listed == [{key: value for key, value in created.items() if key != "secret"}]


def test_loopback_is_refused_without_the_switch(start_server, receiver: Receiver, tmp_path):
    server = start_server()
    api = Api(server, project_on(server))
    for url in (receiver.url, receiver.url.replace("http:", "https:"), "http://localhost:9/hook"):
        response = api.send("POST", "/webhooks", {"url": url, "events": ["user.created"]})
        assert response.status_code == 400, (url, response.text)
        assert response.json()["error_description"].startswith("url: ")


def wait_states(server: Server, topic_suffix: str, matching, timeout: float = 10) -> list[dict]:
    import time
    deadline = time.monotonic() + timeout
    while True:
        found = [s for s in stored_states(server, topic_suffix) if matching(s)]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)
