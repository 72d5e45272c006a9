"""POST /api/platform/revoke: every refresh token of one user, by email or end_user_id
(a string or a JSON number), authenticated as the project's own client (contract,
"Revocation"; checklist C-46)."""

import jwt
import requests

from tests.conftest import Server
from tests.flows import Browser, exchange, query_of, refresh
from tests.oauth.test_refresh_token import tokens_for, userinfo


def revoke_user(server: Server, client: dict, as_json: bool = True, **body) -> requests.Response:
    auth = (client["client_id"], client["client_secret"])
    if as_json:
        return requests.post(f"{server.url}/api/platform/revoke", json=body, auth=auth)
    return requests.post(f"{server.url}/api/platform/revoke", data=body, auth=auth)


def sub_of(tokens: dict) -> str:
    return jwt.decode(tokens["access_token"], options={"verify_signature": False})["sub"]


def test_revoke_by_number_string_and_email(server: Server, make_project):
    project = make_project()
    for reference in ("number", "string", "email"):
        email = f"{reference}@example.org"
        first = tokens_for(server, project, email)
        browser = Browser(server.url)  # a second sign-in: a second family
        response = browser.sign_in(browser.authorize_url(project["client_id"]), email)
        second = exchange(server.url, project, query_of(response.headers["Location"])["code"]).json()
        sub = sub_of(first)
        body = {"number": {"end_user_id": int(sub)}, "string": {"end_user_id": sub},
                "email": {"email": email.upper()}}[reference]
        assert revoke_user(server, project, **body).status_code == 200
        for tokens in (first, second):
            assert refresh(server.url, project, tokens["refresh_token"]).json()["error"] == "invalid_grant"
            assert userinfo(server, tokens["access_token"]).status_code == 401
        # The user can sign in again and gets working tokens.
        fresh = Browser(server.url).sign_in(Browser(server.url).authorize_url(project["client_id"]), email)
        code = query_of(fresh.headers["Location"])["code"]
        assert refresh(server.url, project, exchange(server.url, project, code).json()["refresh_token"]).status_code == 200


def test_form_body_works_too(server: Server, make_project):
    project = make_project()
    tokens = tokens_for(server, project)
    assert revoke_user(server, project, as_json=False, end_user_id=sub_of(tokens)).status_code == 200
    assert refresh(server.url, project, tokens["refresh_token"]).status_code == 400


def test_unknown_or_foreign_user_is_404(server: Server, make_project):
    project, other = make_project(), make_project(name="other")
    tokens = tokens_for(server, project)
    assert revoke_user(server, other, end_user_id=sub_of(tokens)).status_code == 404
    assert revoke_user(server, project, email="nobody@example.org").status_code == 404
    assert refresh(server.url, project, tokens["refresh_token"]).status_code == 200


def test_bad_requests_and_bad_clients(server: Server, make_project, make_client):
    project = make_project()
    machine = make_client(project=project)
    assert revoke_user(server, project).json()["error"] == "invalid_request"
    assert revoke_user(server, project, end_user_id="1", email="a@example.org").status_code == 400
    assert revoke_user(server, project, end_user_id=True).status_code == 400
    assert revoke_user(server, project, end_user_id="abc").status_code == 400
    assert revoke_user(server, project, email="not an email").status_code == 404  # no account can have it
    deep = requests.post(f"{server.url}/api/platform/revoke", data=b"[" * 50_000,
                         headers={"Content-Type": "application/json"},
                         auth=(project["client_id"], project["client_secret"]))
    assert deep.status_code == 400 and deep.json()["error"] == "invalid_request"
    assert revoke_user(server, {**project, "client_secret": "wrong"}, end_user_id="1").status_code == 401
    assert revoke_user(server, machine, end_user_id="1").status_code == 401
    response = requests.post(f"{server.url}/api/platform/revoke", json={"end_user_id": "1"})
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
