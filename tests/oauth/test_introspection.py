"""RFC 7662 token introspection: any client of the same project asks; everything else inactive."""

import base64
import json

import requests

from tests.conftest import Server


def introspect(server: Server, caller: dict, token: str, **extra) -> requests.Response:
    return requests.post(f"{server.url}/oauth/introspect", data={"token": token, **extra},
                         auth=(caller["client_id"], caller["client_secret"]))


def test_active_token_reports_its_claims(server: Server, make_client):
    client = make_client("read", ttl=600)
    token = server.access_token(client)
    response = introspect(server, client, token, token_type_hint="access_token")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json()
    assert body["active"] is True
    assert body["sub"] == body["client_id"] == client["client_id"]
    assert body["scope"] == "read"
    assert body["exp"] - body["iat"] == 600
    assert body["iss"] == server.url
    assert body["project_id"] == client["project_id"]
    assert body["token_type"] == "Bearer"


def test_another_client_of_the_same_project_may_introspect(server: Server, make_project, make_client):
    project = make_project()
    a = make_client(project=project)
    b = make_client(project=project)
    assert introspect(server, b, server.access_token(a)).json()["active"] is True
    assert introspect(server, project, server.access_token(a)).json()["active"] is True


def test_a_foreign_project_sees_the_token_inactive(server: Server, make_client):
    mine, theirs = make_client(), make_client()
    assert introspect(server, theirs, server.access_token(mine)).json() == {"active": False}


def test_expired_token_is_inactive(server: Server, make_client):
    client = make_client(ttl=60)
    token = server.access_token(client)
    server.clock.advance(59)
    assert introspect(server, client, token).json()["active"] is True
    server.clock.advance(1)
    assert introspect(server, client, token).json() == {"active": False}


def test_garbage_and_forged_tokens_are_inactive(server: Server, make_client):
    client = make_client()
    token = server.access_token(client)
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["scope"] = "admin"
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    none_header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"at+jwt"}').rstrip(b"=").decode()
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    for candidate in ("garbage", "a.b.c", f"{header}.{forged_payload}.{signature}",
                      f"{none_header}.{payload}.", f"{none_header}.{payload}",
                      f"{header}.{payload}.{flipped}", token + "x", "x" * 20000):
        assert introspect(server, client, candidate).json() == {"active": False}, candidate[:30]


def test_hs256_signed_with_the_public_key_is_inactive(server: Server, make_client):
    """C-54: algorithm confusion with the RSA public key as HMAC secret."""
    import hashlib
    import hmac

    client = make_client()
    token = server.access_token(client)
    jwks = requests.get(f"{server.url}/.well-known/jwks.json").content
    _, payload, _ = token.split(".")
    header = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"at+jwt"}').rstrip(b"=").decode()
    for secret in (jwks, json.loads(jwks)["keys"][0]["n"].encode()):
        mac = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
        forged = f"{header}.{payload}." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
        assert introspect(server, client, forged).json() == {"active": False}


def test_missing_token_is_invalid_request(server: Server, make_client):
    client = make_client()
    response = requests.post(f"{server.url}/oauth/introspect", data={},
                             auth=(client["client_id"], client["client_secret"]))
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_introspection_requires_client_authentication(server: Server, make_client):
    client = make_client()
    token = server.access_token(client)
    response = requests.post(f"{server.url}/oauth/introspect", data={"token": token})
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    response = introspect(server, {**client, "client_secret": "nope"}, token)
    assert response.status_code == 401


def test_refresh_tokens_are_introspected_with_or_without_the_hint(server: Server, make_project, make_client):
    """RFC 7662 §2.2 for a refresh token: active with client_id, sub, exp (the sooner of the
    idle and absolute expiry) and scope, whether or not token_type_hint says what it is;
    a rotated, revoked, expired or foreign one is inactive."""
    from tests.flows import refresh
    from tests.oauth.test_refresh_token import tokens_for

    project = make_project()
    tokens = tokens_for(server, project, scope="openid email")
    sub = jwt_claims(tokens["access_token"])["sub"]
    colleague = make_client(project=project)  # any confidential client of the project may ask
    for caller in (project, colleague):
        for hint in ({}, {"token_type_hint": "refresh_token"}, {"token_type_hint": "access_token"}):
            body = introspect(server, caller, tokens["refresh_token"], **hint).json()
            assert body["active"] is True, (caller["client_id"], hint)
            assert body["client_id"] == project["client_id"] and body["sub"] == sub
            assert body["scope"] == "openid email" and body["project_id"] == project["project_id"]
            assert body["exp"] == int(server.clock.now()) + 30 * 86400
    # An access token introspected with the refresh hint is still found (the hint is a hint).
    assert introspect(server, project, tokens["access_token"], token_type_hint="refresh_token").json()["active"]
    assert introspect(server, make_client(), tokens["refresh_token"]).json() == {"active": False}  # foreign

    server.clock.advance(10)
    rotated = refresh(server.url, project, tokens["refresh_token"]).json()
    assert introspect(server, project, tokens["refresh_token"]).json() == {"active": False}
    fresh = introspect(server, project, rotated["refresh_token"]).json()
    assert fresh["active"] is True and fresh["exp"] == int(server.clock.now()) + 30 * 86400
    family, secret = rotated["refresh_token"].split(".")
    assert introspect(server, project, f"{family}.x{secret}").json() == {"active": False}

    server.clock.advance(30 * 86400)  # idle expiry
    assert introspect(server, project, rotated["refresh_token"]).json() == {"active": False}

    again = tokens_for(server, project, email="bo@example.org")
    requests.post(f"{server.url}/oauth/revoke", data={"token": again["refresh_token"]},
                  auth=(project["client_id"], project["client_secret"]))
    assert introspect(server, project, again["refresh_token"],
                      token_type_hint="refresh_token").json() == {"active": False}


def jwt_claims(token: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
