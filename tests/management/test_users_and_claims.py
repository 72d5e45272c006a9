"""The management API over HTTP against a real server: plans, the Claims API, plans with
an end, disabling users, lookups and listing, a user's history (contract, "Management
API"; issue 6)."""

import concurrent.futures
import json
import threading
import time

import jwt
import pytest
import requests

from tests.conftest import Server, open_store, project_on, run_cli, wait_for_client
from tests.flows import Browser, exchange, query_of, refresh
from tests.oauth.test_refresh_token import tokens_for, userinfo

PRO = {"key": "pro", "name": "Pro", "price": 149000, "currency": "IDR", "interval": "month",
       "claims": {"max_projects": 10, "support": "email"}}


class Api:
    """The management API as one project's backend calls it (HTTP Basic)."""

    def __init__(self, server: Server, project: dict) -> None:
        self.url = f"{server.url}/api/platform"
        self.auth = (project["client_id"], project["client_secret"])

    def get(self, path: str, **params) -> requests.Response:
        return requests.get(f"{self.url}{path}", params=params, auth=self.auth, timeout=10)

    def send(self, method: str, path: str, body) -> requests.Response:
        return requests.request(method, f"{self.url}{path}", json=body, auth=self.auth, timeout=10)


def custom_claims(tokens: dict) -> dict:
    return jwt.decode(tokens["access_token"], options={"verify_signature": False})["custom_claims"]


def sub_of(tokens: dict) -> str:
    return jwt.decode(tokens["access_token"], options={"verify_signature": False})["sub"]


def refreshed(server: Server, project: dict, tokens: dict) -> dict:
    response = refresh(server.url, project, tokens["refresh_token"])
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def server(start_server) -> Server:
    """These tests sign many users up from one address: past the sign-up limit per address."""
    return start_server(signups_per_ip=1000)


@pytest.fixture
def project(server: Server) -> dict:
    return project_on(server)


@pytest.fixture
def api(server: Server, project: dict) -> Api:
    return Api(server, project)


# -- plans ---------------------------------------------------------------------------------------

def test_every_project_starts_with_free_and_takes_new_plans(api: Api):
    assert api.get("/plans").json() == {"plans": [
        {"key": "free", "name": "Free", "price": 0, "currency": "IDR", "interval": "once", "claims": {}}]}
    created = api.send("POST", "/plans", PRO)
    assert created.status_code == 201 and created.json() == PRO
    assert [p["key"] for p in api.get("/plans").json()["plans"]] == ["free", "pro"]
    for key in ("pro", "free"):
        again = api.send("POST", "/plans", {**PRO, "key": key})
        assert again.status_code == 409 and again.json()["error"] == "conflict"


@pytest.mark.parametrize("change", [
    {"key": ""}, {"key": "Pro Plan"}, {"key": 7}, {"name": ""}, {"price": -1}, {"price": 1.5},
    {"price": "100"}, {"price": True}, {"currency": "EUR"}, {"currency": None}, {"interval": "week"},
    {"claims": []}, {"colour": "blue"}, {"claims": {"sub": "x"}}, {"claims": {"plan": "pro"}},
    {"claims": {f"c{i}": i for i in range(51)}}, {"claims": {"big": "x" * 9000}},
])
def test_a_bad_plan_field_is_400(api: Api, change: dict):
    response = api.send("POST", "/plans", {**PRO, **change})
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"
    assert "error_description" in response.json()


# -- the Claims API ------------------------------------------------------------------------------

def test_claims_set_removed_and_carried_by_the_next_refresh_and_sign_in(server: Server, project, api):
    tokens = tokens_for(server, project, "claims@example.org")
    sub = sub_of(tokens)
    assert custom_claims(tokens) == {"plan": "free"}
    changed = api.send("PATCH", f"/users/{sub}/claims",
                       {"role": "admin", "feature_flags": ["beta", "reports"], "seats": 5, "meta": {"a": None}})
    assert changed.status_code == 200, changed.text
    expected = {"plan": "free", "role": "admin", "feature_flags": ["beta", "reports"], "seats": 5,
                "meta": {"a": None}}
    assert changed.json()["custom_claims"] == expected
    tokens = refreshed(server, project, tokens)
    assert custom_claims(tokens) == expected
    removed = api.send("PATCH", f"/users/{sub}/claims", {"seats": None, "meta": None})
    assert removed.json()["custom_claims"] == {"plan": "free", "role": "admin", "feature_flags": ["beta", "reports"]}
    assert custom_claims(refreshed(server, project, tokens)) == removed.json()["custom_claims"]
    # The next sign-in carries them too.
    response = Browser(server.url).sign_in(Browser(server.url).authorize_url(project["client_id"]),
                                           "claims@example.org")
    fresh = exchange(server.url, project, query_of(response.headers["Location"])["code"]).json()
    assert custom_claims(fresh) == removed.json()["custom_claims"]
    assert userinfo(server, fresh["access_token"]).json()["custom_claims"] == removed.json()["custom_claims"]


def test_plan_through_claims_must_exist_and_brings_its_claims(server: Server, project, api):
    tokens = tokens_for(server, project, "plan@example.org")
    sub = sub_of(tokens)
    unknown = api.send("PATCH", f"/users/{sub}/claims", {"plan": "pro"})
    assert unknown.status_code == 400 and "plan" in unknown.json()["error_description"]
    api.send("POST", "/plans", PRO)
    assigned = api.send("PATCH", f"/users/{sub}/claims", {"plan": "pro", "support": "phone"})
    # The plan's claims, under the user's own.
    assert assigned.json()["custom_claims"] == {"plan": "pro", "max_projects": 10, "support": "phone"}
    assert custom_claims(refreshed(server, project, tokens)) == assigned.json()["custom_claims"]
    back = api.send("PATCH", f"/users/{sub}/claims", {"plan": None})
    assert back.json()["custom_claims"] == {"plan": "free", "support": "phone"}


@pytest.mark.parametrize("body", [
    {"sub": "1"}, {"iss": "x"}, {"exp": 1}, {"aud": "x"}, {"email": "x"}, {"Email_Verified": True},
    {"custom_claims": {}}, {"scope": "admin"}, {"client_id": 5}, {"": 1}, {"9lives": 1},
    {"has space": 1}, {"x" * 65: 1}, {"plan": 3}, {f"c{i}": i for i in range(60)},
    {"big": "x" * 9000},
])
def test_claims_that_would_shadow_or_overflow_are_refused(server: Server, project, api, body):
    sub = sub_of(tokens_for(server, project, "refused@example.org"))
    response = api.send("PATCH", f"/users/{sub}/claims", body)
    assert response.status_code == 400 and response.json()["error"] == "invalid_request", response.text
    assert api.get(f"/users/{sub}").json()["custom_claims"] == {"plan": "free"}  # nothing half-applied


def test_a_plan_with_an_end_falls_back_to_free_at_the_right_time(server: Server, project, api):
    api.send("POST", "/plans", PRO)
    tokens = tokens_for(server, project, "ends@example.org")
    sub = sub_of(tokens)
    until = server.clock.now() + 3600
    given = api.send("PUT", f"/users/{sub}/plan", {"plan": "pro", "expires_at": until})
    assert given.status_code == 200 and given.json()["custom_claims"]["plan"] == "pro"
    assert "plan_expires_at" in given.json()
    tokens = refreshed(server, project, tokens)
    assert custom_claims(tokens)["plan"] == "pro"
    server.clock.advance(3601)
    # The token path never issues an ended plan, whether or not the job has run yet.
    tokens = refreshed(server, project, tokens)
    assert custom_claims(tokens) == {"plan": "free"}
    deadline = time.monotonic() + 10  # the scheduler's job records the end as an event
    while not any(e["type"] == "User.PlanExpired" for e in api.get(f"/users/{sub}/events").json()["events"]):
        assert time.monotonic() < deadline, "no PlanExpired event"
        time.sleep(0.1)
    assert api.get(f"/users/{sub}").json()["custom_claims"] == {"plan": "free"}
    past = api.send("PUT", f"/users/{sub}/plan", {"plan": "pro", "expires_at": "2001-01-01T00:00:00Z"})
    assert past.status_code == 400
    rfc3339 = api.send("PUT", f"/users/{sub}/plan", {"plan": "pro", "expires_at": "2099-01-01T00:00:00+07:00"})
    assert rfc3339.json()["plan_expires_at"] == "2098-12-31T17:00:00Z"


# -- users ---------------------------------------------------------------------------------------

def test_a_disabled_user_cannot_sign_in_or_refresh(server: Server, project, api):
    tokens = tokens_for(server, project, "off@example.org")
    sub = sub_of(tokens)
    disabled = api.send("PATCH", f"/users/{sub}", {"disabled": True})
    assert disabled.status_code == 200 and disabled.json()["disabled"] is True
    assert refresh(server.url, project, tokens["refresh_token"]).json()["error"] == "invalid_grant"
    assert userinfo(server, tokens["access_token"]).status_code == 401
    url = Browser(server.url).authorize_url(project["client_id"])
    refused = Browser(server.url).sign_in(url, "off@example.org")
    assert refused.status_code == 401 and "Email or password is incorrect." in refused.text
    assert api.send("PATCH", f"/users/{sub}", {"disabled": False}).json()["disabled"] is False
    again = Browser(server.url).sign_in(url, "off@example.org")
    assert again.status_code == 303
    assert refresh(server.url, project, tokens["refresh_token"]).status_code == 400  # old ones stay dead


@pytest.mark.parametrize("body", [{}, {"disabled": "yes"}, {"disabled": 1}, {"disabled": True, "x": 1}, []])
def test_patch_user_takes_only_disabled(server: Server, project, api, body):
    sub = sub_of(tokens_for(server, project, "shape@example.org"))
    assert api.send("PATCH", f"/users/{sub}", body).status_code == 400


def test_lookup_by_sub_and_email(server: Server, project, api):
    sub = sub_of(tokens_for(server, project, "Look.Up@Example.org"))
    user = api.get(f"/users/{sub}").json()
    assert user == {"sub": sub, "email": "Look.Up@example.org", "email_verified": False,
                    "custom_claims": {"plan": "free"}, "created_at": user["created_at"], "disabled": False,
                    "identities": []}
    assert api.get("/users", email="LOOK.UP@EXAMPLE.ORG").json() == {"users": [user]}
    assert api.get("/users", email="nobody@example.org").json() == {"users": []}
    assert api.get("/users", email="not an address").json() == {"users": []}
    for missing in ("1", "9007199254740991", "me2", "0", "-5", "abc"):
        response = api.get(f"/users/{missing}")
        assert response.status_code == 404 and response.json()["error"] == "not_found"


def test_another_projects_users_and_plans_are_not_there(server: Server, project, api):
    other = project_on(server, name="other")
    other_api = Api(server, other)
    other_api.send("POST", "/plans", PRO)
    tokens = tokens_for(server, project, "mine@example.org")
    sub = sub_of(tokens)
    for method, path, body in (("GET", f"/users/{sub}", None), ("PATCH", f"/users/{sub}", {"disabled": True}),
                               ("PATCH", f"/users/{sub}/claims", {"role": "x"}),
                               ("PUT", f"/users/{sub}/plan", {"plan": "pro"}),
                               ("GET", f"/users/{sub}/events", None)):
        response = other_api.send(method, path, body)
        assert response.status_code == 404, (method, path, response.text)
    assert other_api.get("/users", email="mine@example.org").json() == {"users": []}
    assert other_api.get("/users").json()["users"] == []
    # A plan of the other project is not a plan of this one.
    assert api.send("PUT", f"/users/{sub}/plan", {"plan": "pro"}).status_code == 400
    assert api.get(f"/users/{sub}").json()["disabled"] is False


def test_only_the_projects_own_client_gets_in(server: Server, project, api, make_client):
    url = f"{server.url}/api/platform/users"
    nothing = requests.get(url, timeout=10)
    assert nothing.status_code == 401 and nothing.headers["WWW-Authenticate"].startswith("Basic")
    wrong = requests.get(url, auth=(project["client_id"], "wrong"), timeout=10)
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    machine = make_client("read", project=project)
    forbidden = requests.get(url, auth=(machine["client_id"], machine["client_secret"]), timeout=10)
    assert forbidden.status_code == 403 and forbidden.json()["error"] == "access_denied"
    # Credentials in a JSON body work for a body-carrying request.
    sub = sub_of(tokens_for(server, project, "body@example.org"))
    in_body = requests.patch(f"{url}/{sub}/claims", timeout=10,
                             json={"client_id": project["client_id"], "client_secret": project["client_secret"],
                                   "role": "viewer"})
    assert in_body.status_code == 200 and in_body.json()["custom_claims"]["role"] == "viewer"


@pytest.mark.parametrize("raw, content_type", [
    (b"{", "application/json"), (b"[1]", "application/json"), (b"\"x\"", "application/json"),
    (b"[" * 100000 + b"]" * 100000, "application/json"), (b"role=x", "application/x-www-form-urlencoded"),
    (b"\xff\xfe", "application/json"),
])
def test_bad_bodies_are_400_never_500(server: Server, project, api, raw, content_type):
    sub = sub_of(tokens_for(server, project, "bodies@example.org"))
    response = requests.patch(f"{api.url}/users/{sub}/claims", data=raw, auth=api.auth, timeout=10,
                              headers={"Content-Type": content_type})
    assert response.status_code in (400, 413), response.text
    assert response.json()["error"] == "invalid_request"


@pytest.mark.parametrize("params", [{"limit": "0"}, {"limit": "201"}, {"limit": "x"}, {"cursor": "-1"},
                                    {"cursor": "abc"}])
def test_bad_listing_parameters_are_400(api: Api, params):
    assert api.get("/users", **params).status_code == 400


def test_the_listing_covers_every_user_exactly_once_while_users_are_added(server: Server, project, api):
    from tests.oauth.test_refresh_token import signed_up

    existing = {sub_of(tokens_for(server, project, f"list-{i}@example.org")) for i in range(12)}
    stop = threading.Event()
    added: list[str] = []
    failed: list[BaseException] = []

    def keep_adding() -> None:
        i = 0
        try:
            while not stop.is_set() and i < 30:
                signed_up(server, project, f"late-{i}@example.org")
                added.append(f"late-{i}@example.org")
                i += 1
        except BaseException as e:  # surfaced to the test below
            failed.append(e)

    adder = threading.Thread(target=keep_adding)
    adder.start()
    seen: list[str] = []
    cursor = None
    try:
        while True:
            page = api.get("/users", limit="5", **({"cursor": cursor} if cursor else {})).json()
            seen += [u["sub"] for u in page["users"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
            time.sleep(0.05)
    finally:
        stop.set()
        adder.join(60)
    assert not failed, f"adding users failed: {failed[0]!r}"
    assert len(seen) == len(set(seen)), "a user was listed twice"
    assert existing <= set(seen), "an existing user was skipped"


# -- a user's history ----------------------------------------------------------------------------

def test_a_users_events_oldest_first_without_secrets(server: Server, project, api):
    api.send("POST", "/plans", PRO)
    tokens = tokens_for(server, project, "history@example.org")
    sub = sub_of(tokens)
    refreshed(server, project, tokens)
    api.send("PATCH", f"/users/{sub}/claims", {"role": "admin"})
    api.send("PUT", f"/users/{sub}/plan", {"plan": "pro"})
    requests.post(f"{server.url}/api/platform/revoke", json={"end_user_id": sub}, auth=api.auth, timeout=10)
    api.send("PATCH", f"/users/{sub}", {"disabled": True})
    history = api.get(f"/users/{sub}/events").json()
    assert history["sub"] == sub
    found = history["events"]
    positions = [e["position"] for e in found]
    assert positions == sorted(positions) and len(set(positions)) == len(positions)
    types = [e["type"] for e in found]
    for expected in ("User.Registered", "User.LinkIssued", "BrowserSession.Started", "RefreshFamily.Started",
                     "User.ClaimsChanged", "User.PlanAssigned", "User.TokensRevoked", "User.Disabled"):
        assert expected in types, expected
    assert types.index("User.Registered") == 0
    changed = next(e for e in found if e["type"] == "User.ClaimsChanged")
    assert changed["data"] == {"changed": {"role": "admin"}, "removed": [], "by": api.auth[0]}
    assert all(e["timestamp"].endswith("+00:00") for e in found)
    text = json.dumps(history)
    assert "hash" not in text and tokens["refresh_token"].split(".")[1] not in text
    # Paging by position.
    tail = api.get(f"/users/{sub}/events", after=str(positions[2]), limit="2").json()["events"]
    assert [e["position"] for e in tail] == positions[3:5]


# -- concurrency ---------------------------------------------------------------------------------

def test_parallel_claim_changes_are_all_kept(server: Server, project, api):
    """Ten PATCHes at once, each setting its own claim: none is lost (each decides on the
    user as the previous one left it)."""
    sub = sub_of(tokens_for(server, project, "parallel@example.org"))
    with concurrent.futures.ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(lambda i: api.send("PATCH", f"/users/{sub}/claims", {f"k{i}": i}), range(10)))
    assert [a.status_code for a in answers] == [200] * 10
    assert api.get(f"/users/{sub}").json()["custom_claims"] == {"plan": "free", **{f"k{i}": i for i in range(10)}}


def test_parallel_creation_of_one_plan_key_makes_one_plan(api: Api):
    with concurrent.futures.ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(lambda i: api.send("POST", "/plans", {**PRO, "name": f"Pro {i}"}), range(10)))
    assert sorted(a.status_code for a in answers) == [201] + [409] * 9
    assert [p["key"] for p in api.get("/plans").json()["plans"]] == ["free", "pro"]


# -- nesting -------------------------------------------------------------------------------------

def nested(depth: int) -> object:
    """A value whose objects and arrays nest `depth` deep (0: a plain number)."""
    value: object = 1
    for level in range(depth):
        value = {"a": value} if level % 2 else [value]
    return value


def test_claims_nest_at_most_eight_deep(server: Server, project, api):
    """A custom claim's value may nest objects and arrays 8 deep, a plan's claims too; deeper
    is 400 and changes nothing."""
    from astapa.domain.users import MAX_CLAIM_DEPTH

    assert MAX_CLAIM_DEPTH == 8
    sub = sub_of(tokens_for(server, project, "deep@example.org"))
    too_deep = "custom claims nest objects and arrays at most 8 deep"
    refused = api.send("PATCH", f"/users/{sub}/claims", {"ok": 1, "tree": nested(9)})
    assert refused.status_code == 400 and refused.json()["error_description"] == too_deep, refused.text
    assert api.get(f"/users/{sub}").json()["custom_claims"] == {"plan": "free"}
    kept = api.send("PATCH", f"/users/{sub}/claims", {"tree": nested(8)})
    assert kept.status_code == 200 and kept.json()["custom_claims"]["tree"] == nested(8)
    refused = api.send("POST", "/plans", {**PRO, "claims": {"tree": nested(9)}})
    assert refused.status_code == 400 and refused.json()["error_description"] == too_deep, refused.text
    assert api.send("POST", "/plans", {**PRO, "claims": {"tree": nested(8)}}).status_code == 201
    refused = api.send("PATCH", "/plans/pro", {"claims": {"tree": nested(500)}})
    assert refused.status_code == 400 and refused.json()["error_description"] == too_deep, refused.text
    assert api.get("/plans").json()["plans"][1]["claims"] == {"tree": nested(8)}


def test_a_user_whose_log_holds_claims_nested_500_deep_can_still_be_changed(start_server, data_dir):
    """Claims stored before the depth limit, 500 levels deep: the user still loads, across a
    restart, and every write on them works (disable, revoke, claims, plan, a reset mail)."""
    from astapa.store.events import Decision
    from tests.flows import Browser

    server = start_server()
    project = project_on(server)
    api = Api(server, project)
    sub = sub_of(tokens_for(server, project, "bricked@example.org"))
    assert api.send("POST", "/plans", PRO).status_code == 201
    server.stop()
    deep = nested(500)
    app = open_store(data_dir)  # written as an older version would have
    try:
        user = app._user(project["project_id"], sub)
        user.change_claims(changed={"tree": deep}, removed=[], by="an older version")
        app.save_decisions([Decision([user])])
    finally:
        app.close()

    server = start_server()
    api = Api(server, project)
    assert api.get(f"/users/{sub}").json()["custom_claims"]["tree"] == deep
    for method, path, body in [("PATCH", f"/users/{sub}", {"disabled": True}),
                               ("PATCH", f"/users/{sub}", {"disabled": False}),
                               ("PATCH", f"/users/{sub}/claims", {"role": "admin"}),
                               ("PUT", f"/users/{sub}/plan", {"plan": "pro"}),
                               ("PATCH", f"/users/{sub}/claims", {"tree": None})]:
        response = api.send(method, path, body)
        assert response.status_code == 200, (method, path, response.status_code, response.text)
    revoked = requests.post(f"{server.url}/api/platform/revoke", json={"end_user_id": sub}, auth=api.auth,
                            timeout=10)
    assert revoked.status_code == 200, revoked.text
    browser = Browser(server.url)
    page = browser.get(browser.authorize_url(project["client_id"], path="/auth/forgot-password"))
    assert browser.submit(page, "forgot-password", email="bricked@example.org", action="send").status_code == 200
    deadline = time.monotonic() + 10  # the reset link is issued in the background
    while True:
        events = api.get(f"/users/{sub}/events", limit="100").json()["events"]
        if events[-1]["type"] == "User.LinkIssued" or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    after = [e["type"] for e in events[[e["data"].get("by") for e in events].index("an older version") + 1:]]
    assert [t for t in after if t != "User.TokensRevoked"] == [
        "User.Disabled", "User.Enabled", "User.ClaimsChanged", "User.PlanAssigned", "User.ClaimsChanged",
        "User.LinkIssued"], after
    assert "User.TokensRevoked" in after[after.index("User.ClaimsChanged", 3):], after  # the revoke API's
