"""RFC 6749 §6 refresh tokens with rotation and reuse detection (RFC 9700 §4.14.2).

Checklist D (C-38 … C-47). Pinned decisions: a rotated token presented again revokes the
whole family, except the previous token presented once more within the project's reuse
grace (default 30 s) while its successor is unused: that is a retry after a lost response,
which gets a fresh pair and ends the unused successor. Of concurrent refreshes with one
token, the first rotates, the second is such a retry, and the rest are refused without
revoking; with a grace of 0 the losers are reuse (strict). At any moment exactly one
refresh token of a family works. A token presented by another client is refused without
touching the family.
"""

import concurrent.futures

import jwt
import requests

from astapa import cli
from tests.conftest import Server, run_cli, wait_for_client
from tests.flows import Browser, exchange, refresh
from tests.oauth.test_authorization_code import signed_up


def tokens_for(server: Server, project: dict, email: str = "ada@example.org", **params) -> dict:
    _, query = signed_up(server, project, email, **params)
    response = exchange(server.url, project, query["code"])
    assert response.status_code == 200, response.text
    return response.json()


def userinfo(server: Server, access_token: str) -> requests.Response:
    return requests.get(f"{server.url}/oauth/userinfo", headers={"Authorization": f"Bearer {access_token}"})


def active(server: Server, project: dict, refresh_token: str) -> bool:
    """Whether introspection calls the refresh token active: it would be accepted now."""
    response = requests.post(f"{server.url}/oauth/introspect", data={"token": refresh_token},
                             auth=(project["client_id"], project["client_secret"]), timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["active"]


def project_with_grace(server: Server, seconds: int, name: str = "app") -> dict:
    """A project created with `--refresh-reuse-grace SECONDS`, once the server serves it."""
    project = run_cli("project", "create", "--data-dir", str(server.data_dir), "--name", name,
                      "--redirect-uri", "https://app.example/callback",
                      "--refresh-reuse-grace", str(seconds))
    assert project["refresh_reuse_grace"] == seconds
    wait_for_client(server, project)
    return project


def test_rotation_gives_new_tokens_and_kills_the_old_refresh_token(server: Server, make_project):
    """C-38."""
    project = make_project()
    tokens = tokens_for(server, project)
    rotated = refresh(server.url, project, tokens["refresh_token"])
    assert rotated.status_code == 200, rotated.text
    assert rotated.headers["Cache-Control"] == "no-store"
    new = rotated.json()
    assert new["refresh_token"] != tokens["refresh_token"] and new["access_token"] != tokens["access_token"]
    claims = jwt.decode(new["access_token"], options={"verify_signature": False})
    assert claims["email"] == "ada@example.org" and claims["custom_claims"] == {"plan": "free"}
    assert refresh(server.url, project, new["refresh_token"]).status_code == 200


def test_reused_refresh_token_revokes_family(server: Server, make_project):
    """C-39: once its successor was used, an earlier token revokes the family: the newest
    token and the family's access tokens stop working."""
    project = make_project()
    tokens = tokens_for(server, project)
    successor = refresh(server.url, project, tokens["refresh_token"]).json()
    newest = refresh(server.url, project, successor["refresh_token"]).json()
    assert userinfo(server, newest["access_token"]).status_code == 200
    reused = refresh(server.url, project, tokens["refresh_token"])
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    assert refresh(server.url, project, newest["refresh_token"]).json()["error"] == "invalid_grant"
    denied = userinfo(server, newest["access_token"])
    assert denied.status_code == 401 and 'error="invalid_token"' in denied.headers["WWW-Authenticate"]


def test_refresh_token_is_bound_to_its_client(server: Server, make_project):
    """C-40: another client's presentation fails and does not revoke the owner's family."""
    owner, other = make_project(), make_project(name="other")
    tokens = tokens_for(server, owner)
    stolen = refresh(server.url, other, tokens["refresh_token"])
    assert stolen.status_code == 400 and stolen.json()["error"] == "invalid_grant"
    assert refresh(server.url, owner, tokens["refresh_token"]).status_code == 200


def test_machine_client_cannot_use_user_grants(server: Server, make_project, make_client):
    """C-12: a client_credentials-only client gets unauthorized_client."""
    project = make_project()
    machine = make_client(project=project)
    tokens = tokens_for(server, project)
    response = refresh(server.url, machine, tokens["refresh_token"])
    assert response.status_code == 400 and response.json()["error"] == "unauthorized_client"


def test_refresh_requires_client_authentication(server: Server, make_project):
    """C-41."""
    project = make_project()
    tokens = tokens_for(server, project)
    response = requests.post(f"{server.url}/oauth/token", data={
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
        "client_id": project["client_id"]})
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


def test_scope_can_shrink_but_never_grow(server: Server, make_project):
    """C-42."""
    project = make_project()
    tokens = tokens_for(server, project, scope="openid email")
    grown = refresh(server.url, project, tokens["refresh_token"], scope="openid email profile")
    assert grown.status_code == 400 and grown.json()["error"] == "invalid_scope"
    shrunk = refresh(server.url, project, tokens["refresh_token"], scope="email")
    assert shrunk.status_code == 200, shrunk.text
    assert jwt.decode(shrunk.json()["access_token"], options={"verify_signature": False})["scope"] == "email"
    assert "id_token" not in shrunk.json()


def test_concurrent_refreshes_leave_exactly_one_token_alive(server: Server, make_project):
    """C-43 with a 30 s grace: ten parallel refreshes of one token. The first rotates,
    the second is taken as the retry of a lost response (a fresh pair; the first's token
    dies unused), the other eight are invalid_grant without revoking; no 5xx. Afterwards
    exactly one refresh token of the family works."""
    project = project_with_grace(server, 30)
    tokens = tokens_for(server, project)
    with concurrent.futures.ThreadPoolExecutor(10) as pool:
        responses = list(pool.map(lambda _: refresh(server.url, project, tokens["refresh_token"]), range(10)))
    assert sorted(r.status_code for r in responses) == [200, 200] + [400] * 8
    assert {r.json()["error"] for r in responses if r.status_code == 400} == {"invalid_grant"}
    minted = [r.json()["refresh_token"] for r in responses if r.status_code == 200]
    assert [active(server, project, t) for t in [tokens["refresh_token"], *minted]].count(True) == 1
    alive = next(t for t in minted if active(server, project, t))
    assert refresh(server.url, project, alive).status_code == 200


def test_concurrent_refreshes_exactly_one_wins_when_strict(server: Server):
    """C-43 with a grace of 0: one 200, nine invalid_grant, no 5xx; the losers are reuse,
    so the winner's token is dead too."""
    project = project_with_grace(server, 0)
    tokens = tokens_for(server, project)
    with concurrent.futures.ThreadPoolExecutor(10) as pool:
        responses = list(pool.map(lambda _: refresh(server.url, project, tokens["refresh_token"]), range(10)))
    assert sorted(r.status_code for r in responses) == [200] + [400] * 9
    winner = next(r.json() for r in responses if r.status_code == 200)
    assert refresh(server.url, project, winner["refresh_token"]).json()["error"] == "invalid_grant"


def test_refresh_racing_a_revoke_leaves_nothing_alive(server: Server, make_project):
    """C-44: after the revoke answers, no token of the family works, even one minted
    while the revoke was in flight. Raced ten times, each with a fresh family."""
    project = make_project()
    browser, query = signed_up(server, project)
    code = query["code"]
    for _ in range(10):
        tokens = exchange(server.url, project, code).json()
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            minted = pool.submit(refresh, server.url, project, tokens["refresh_token"])
            revoked = pool.submit(requests.post, f"{server.url}/oauth/revoke",
                                  data={"token": tokens["refresh_token"]},
                                  auth=(project["client_id"], project["client_secret"]))
            assert revoked.result().status_code == 200
            result = minted.result()
        assert result.status_code in (200, 400)
        if result.status_code == 200:
            assert refresh(server.url, project, result.json()["refresh_token"]).status_code == 400
            assert userinfo(server, result.json()["access_token"]).status_code == 401
        assert refresh(server.url, project, tokens["refresh_token"]).status_code == 400
        assert userinfo(server, tokens["access_token"]).status_code == 401
        code = browser.get(browser.authorize_url(project["client_id"])).headers["Location"].split("code=")[1].split("&")[0]


def test_revoking_a_refresh_token_is_rfc7009(server: Server, make_project):
    """C-49, C-50, C-51: unknown tokens are 200; another client cannot revoke; a revoked
    refresh token stops at once and takes its access tokens with it; hints are hints."""
    owner, other = make_project(), make_project(name="other")
    tokens = tokens_for(server, owner)

    def revoke(client, token, **extra):
        return requests.post(f"{server.url}/oauth/revoke", data={"token": token, **extra},
                             auth=(client["client_id"], client["client_secret"]))

    assert revoke(owner, "0" * 32 + ".nope").status_code == 200
    assert revoke(owner, "garbage").status_code == 200
    assert revoke(other, tokens["refresh_token"]).status_code == 200
    assert refresh(server.url, owner, tokens["refresh_token"]).status_code == 200  # C-50
    tokens = tokens_for(server, owner, email="bob@example.org")
    assert revoke(owner, tokens["refresh_token"], token_type_hint="access_token").status_code == 200
    assert refresh(server.url, owner, tokens["refresh_token"]).json()["error"] == "invalid_grant"
    assert userinfo(server, tokens["access_token"]).status_code == 401
    introspected = requests.post(f"{server.url}/oauth/introspect", data={"token": tokens["access_token"]},
                                 auth=(owner["client_id"], owner["client_secret"])).json()
    assert introspected == {"active": False}
    assert revoke(owner, tokens["refresh_token"]).status_code == 200  # again: still 200


def test_idle_and_absolute_expiry(server: Server, make_project):
    """C-45: 30 days idle, 90 days absolute, even when used every day."""
    project = make_project()
    tokens = tokens_for(server, project)
    server.clock.advance(29 * 86400)
    token = refresh(server.url, project, tokens["refresh_token"]).json()["refresh_token"]
    server.clock.advance(31 * 86400)
    assert refresh(server.url, project, token).json()["error"] == "invalid_grant"  # idle

    tokens = tokens_for(server, project, email="bob@example.org")
    token = tokens["refresh_token"]
    for _ in range(4):
        server.clock.advance(25 * 86400)
        response = refresh(server.url, project, token)
        if response.status_code != 200:
            break
        token = response.json()["refresh_token"]
    assert response.json()["error"] == "invalid_grant"  # 100 days > 90 absolute


def test_access_token_is_not_a_refresh_token_and_back(server: Server, make_project):
    """C-47."""
    project = make_project()
    tokens = tokens_for(server, project)
    assert refresh(server.url, project, tokens["access_token"]).json()["error"] == "invalid_grant"
    assert userinfo(server, tokens["refresh_token"]).status_code == 401


def test_revoking_a_user_kills_old_sign_ins_but_not_the_next_one(server: Server, make_project):
    """POST /api/platform/revoke: the old family and its access tokens stop working; the
    user can sign in again afterwards. (Claims changing between refreshes arrive with the
    Claims API, issue 6; today the claims are read from the User at each refresh.)"""
    project = make_project()
    old = tokens_for(server, project)
    sub = jwt.decode(old["access_token"], options={"verify_signature": False})["sub"]
    revoked = requests.post(f"{server.url}/api/platform/revoke", json={"end_user_id": int(sub)},
                            auth=(project["client_id"], project["client_secret"]))
    assert revoked.status_code == 200, revoked.text
    assert refresh(server.url, project, old["refresh_token"]).json()["error"] == "invalid_grant"
    assert userinfo(server, old["access_token"]).status_code == 401
    browser = Browser(server.url)
    response = browser.sign_in(browser.authorize_url(project["client_id"]), "ada@example.org")
    assert response.status_code == 303


# -- the reuse grace: a lost refresh response does not sign the user out ---------------------


def test_reuse_grace_a_lost_response_is_retried_with_the_previous_token(server: Server, make_project):
    """The rotation committed but its response never arrived: the client retries with the
    token it has, within the grace, and goes on; the successor it never saw is dead."""
    project = project_with_grace(server, 30)
    tokens = tokens_for(server, project)
    lost = refresh(server.url, project, tokens["refresh_token"]).json()  # never reaches the client
    server.clock.advance(29)
    retried = refresh(server.url, project, tokens["refresh_token"])
    assert retried.status_code == 200, retried.text
    fresh = retried.json()
    assert fresh["refresh_token"] not in (tokens["refresh_token"], lost["refresh_token"])
    assert userinfo(server, fresh["access_token"]).status_code == 200
    assert not active(server, project, lost["refresh_token"])
    assert refresh(server.url, project, fresh["refresh_token"]).status_code == 200


def test_reuse_grace_parallel_retries_one_wins_and_exactly_one_token_works(server: Server, make_project):
    """Ten threads present the previous token at once within the grace: one 200, nine
    invalid_grant (nothing revoked); afterwards exactly one token of the family works."""
    project = project_with_grace(server, 30)
    tokens = tokens_for(server, project)
    lost = refresh(server.url, project, tokens["refresh_token"]).json()["refresh_token"]
    server.clock.advance(5)
    with concurrent.futures.ThreadPoolExecutor(10) as pool:
        responses = list(pool.map(lambda _: refresh(server.url, project, tokens["refresh_token"]), range(10)))
    assert sorted(r.status_code for r in responses) == [200] + [400] * 9
    assert {r.json()["error"] for r in responses if r.status_code == 400} == {"invalid_grant"}
    winner = next(r.json() for r in responses if r.status_code == 200)
    family = [tokens["refresh_token"], lost, winner["refresh_token"]]
    assert [active(server, project, t) for t in family] == [False, False, True]
    assert refresh(server.url, project, tokens["refresh_token"]).json()["error"] == "invalid_grant"
    assert refresh(server.url, project, winner["refresh_token"]).status_code == 200


def test_reuse_grace_the_successor_a_retry_superseded_is_reuse_and_revokes_the_family(
        server: Server, make_project):
    """Interleaved: the previous token is retried, then the successor it superseded turns
    up. Only one of the two clients can be the real one: the family is revoked."""
    project = project_with_grace(server, 30)
    tokens = tokens_for(server, project)
    superseded = refresh(server.url, project, tokens["refresh_token"]).json()
    retried = refresh(server.url, project, tokens["refresh_token"]).json()
    reused = refresh(server.url, project, superseded["refresh_token"])
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    assert refresh(server.url, project, retried["refresh_token"]).json()["error"] == "invalid_grant"


def test_reuse_grace_the_previous_token_after_the_window_revokes_the_family(server: Server, make_project):
    """The default grace is 30 s: 29 s after its rotation the previous token is a retry,
    30 s after it, reuse."""
    project = project_with_grace(server, 30)
    inside = tokens_for(server, project, email="bob@example.org")
    tokens = tokens_for(server, project)
    refresh(server.url, project, inside["refresh_token"])
    successor = refresh(server.url, project, tokens["refresh_token"]).json()
    server.clock.advance(29)
    assert refresh(server.url, project, inside["refresh_token"]).status_code == 200
    server.clock.advance(1)  # the default grace, 30 s, is over
    reused = refresh(server.url, project, tokens["refresh_token"])
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    assert refresh(server.url, project, successor["refresh_token"]).json()["error"] == "invalid_grant"


def test_reuse_grace_is_set_per_project_and_zero_is_strict(server: Server):
    """`project create|update --refresh-reuse-grace SECONDS`; 0 is strict: the previous
    token presented again at once revokes the family."""
    project = project_with_grace(server, 0)
    tokens = tokens_for(server, project)
    successor = refresh(server.url, project, tokens["refresh_token"]).json()
    assert refresh(server.url, project, tokens["refresh_token"]).json()["error"] == "invalid_grant"
    assert refresh(server.url, project, successor["refresh_token"]).json()["error"] == "invalid_grant"

    changed = run_cli("project", "update", "--data-dir", str(server.data_dir), "--project",
                      project["project_id"], "--refresh-reuse-grace", "120")
    assert changed == {"project_id": project["project_id"], "refresh_reuse_grace": 120}
    wait_for_client(server, project)
    tokens = tokens_for(server, project, email="bob@example.org")
    refresh(server.url, project, tokens["refresh_token"])
    server.clock.advance(100)
    assert refresh(server.url, project, tokens["refresh_token"]).status_code == 200


def test_reuse_grace_out_of_range_is_refused_in_one_line(server: Server, capsys):
    for value in ("-1", "301", "1.5", "soon"):
        status = cli.main(["project", "create", "--data-dir", str(server.data_dir), "--name", "x",
                           "--redirect-uri", "https://app.example/callback", "--refresh-reuse-grace", value])
        assert status == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1, err
        assert "--refresh-reuse-grace" in err and "must be whole seconds from 0 to 300" in err, err
