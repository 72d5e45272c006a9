"""Public clients (`astapa client create --public --redirect-uri ...`): no secret, PKCE S256
required, loopback redirect URIs with any port (RFC 8252 §7.3) and nothing else loosened."""

import requests

from tests.clients.conftest import ConsentBrowser, cli
from tests.conftest import Server
from tests.flows import query_of


def public_client(server: Server, project: dict, *uris: str) -> dict:
    args = ["client", "create", "--project", project["project_id"], "--name", "CLI app", "--public"]
    for uri in uris:
        args += ["--redirect-uri", uri]
    return cli(server, *args)


def test_public_client_created_without_secret(server: Server, project: dict):
    client = public_client(server, project, "http://127.0.0.1/callback")
    assert "client_secret" not in client and client["token_endpoint_auth_method"] == "none"
    assert client["grant_types"] == ["authorization_code", "refresh_token"]


def test_loopback_redirect_any_port_but_same_host_path_and_query(server: Server, project: dict):
    client = public_client(server, project, "http://127.0.0.1/callback", "http://localhost:8400/cb?x=1")
    browser = ConsentBrowser(server.url)
    accepted = ["http://127.0.0.1:53117/callback", "http://127.0.0.1/callback", "http://127.0.0.1:1/callback",
                "http://localhost:9999/cb?x=1"]
    refused = ["http://127.0.0.1:53117/callback/", "http://127.0.0.1:53117/Callback", "http://localhost:53117/callback",
               "http://[::1]:53117/callback", "https://127.0.0.1:53117/callback", "http://127.0.0.1:53117/callback?y=2",
               "http://127.0.0.2:53117/callback", "http://localhost:9999/cb", "http://127.0.0.1:99999/callback",
               "http://user@127.0.0.1:53117/callback"]
    for uri in accepted:
        url, _ = browser.authorization(project["issuer"], client["client_id"], uri)
        assert browser.get(url).status_code == 200, uri  # the sign-in page
    for uri in refused:
        url, _ = browser.authorization(project["issuer"], client["client_id"], uri)
        page = browser.get(url)
        assert page.status_code == 400 and "Location" not in page.headers, uri


def test_confidential_clients_keep_exact_redirect_matching(server: Server):
    made = cli(server, "project", "create", "--name", "Native-ish", "--redirect-uri", "http://127.0.0.1/callback")
    browser = ConsentBrowser(server.url)
    url, _ = browser.authorization(server.url, made["client_id"], "http://127.0.0.1:53117/callback")
    assert browser.get(url).status_code == 400


def test_public_client_needs_pkce_and_redeems_with_its_id_alone(server: Server, project: dict):
    client = public_client(server, project, "http://127.0.0.1/callback")
    browser = ConsentBrowser(server.url)
    url, verifier = browser.authorization(project["issuer"], client["client_id"], "http://127.0.0.1:5000/callback")
    no_pkce = url.replace("code_challenge_method=S256", "").replace("code_challenge=", "challenge=")
    refused = browser.get(no_pkce)
    assert refused.status_code == 303 and query_of(refused.headers["Location"])["error"] == "invalid_request"
    signed_in = browser.sign_up_at(url, "pub@example.com")
    assert signed_in.status_code == 303  # first-party: no consent page
    code = query_of(signed_in.headers["Location"])["code"]
    token_url = f"{project['issuer']}/oauth/token"
    base = {"grant_type": "authorization_code", "code": code, "redirect_uri": "http://127.0.0.1:5000/callback",
            "client_id": client["client_id"]}
    missing = requests.post(token_url, data=base, timeout=10)
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_grant"  # and the code is burnt
    url, verifier = browser.authorization(project["issuer"], client["client_id"], "http://127.0.0.1:5000/callback")
    code = query_of(browser.get(url).headers["Location"])["code"]
    with_secret = requests.post(token_url, data={**base, "code": code, "code_verifier": verifier},
                                auth=(client["client_id"], "guessed"), timeout=10)
    assert with_secret.status_code == 401 and with_secret.json()["error"] == "invalid_client"
    url, verifier = browser.authorization(project["issuer"], client["client_id"], "http://127.0.0.1:5000/callback")
    code = query_of(browser.get(url).headers["Location"])["code"]
    token = requests.post(token_url, data={**base, "code": code, "code_verifier": verifier}, timeout=10)
    assert token.status_code == 200, token.text
    assert "refresh_token" in token.json()


def test_confidential_client_without_its_secret_is_invalid_client(server: Server, project: dict):
    response = requests.post(f"{project['issuer']}/oauth/token", timeout=10, data={
        "grant_type": "client_credentials", "client_id": project["client_id"]})
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    assert "WWW-Authenticate" in response.headers


def test_cli_refuses_public_without_redirect_uri(server: Server, project: dict, capsys):
    from astapa import cli as astapa_cli

    status = astapa_cli.main(["client", "create", "--data-dir", str(server.data_dir), "--project",
                              project["project_id"], "--name", "x", "--public"])
    assert status == 2 and "--redirect-uri" in capsys.readouterr().err
