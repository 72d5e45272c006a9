"""A project's branding on its hosted pages and mails: the display name for its own client
(never for a third-party client, which the user must see named as it registered), the logo
from its https origin, and the primary colour in a style element the page's CSP allows by
nonce, in light mode (the colour was checked against white; dark mode keeps its own)."""

import re
from email.message import EmailMessage

import requests

from astapa.web.appkeys import application_key, await_read_model, writer_key
from tests.conftest import Server, project_on
from tests.flows import REDIRECT_URI, Browser, pkce_pair
from tests.mail import html_of, only_action_link, wait_for_outbox

LOGO = "https://cdn.example.com/acme.svg"
COLOR = "#7a1fa2"


def brand(server: Server, project: dict, display_name: str = "Acme Shop", logo_url: str = LOGO,
          primary_color: str = COLOR) -> None:
    app, writer = server.web_app[application_key], server.web_app[writer_key]

    async def save() -> None:
        _, position = await writer.run(app.set_branding, project["project_id"], display_name, logo_url,
                                       primary_color, "test")
        await await_read_model(server.web_app, position)

    server.run(save())


def sign_in_page(server: Server, client_id: str) -> requests.Response:
    _, challenge = pkce_pair()
    return Browser(server.url).get(Browser(server.url).authorize_url(
        client_id, code_challenge=challenge, code_challenge_method="S256"))


def test_the_sign_in_page_shows_the_projects_name_logo_and_colour(server: Server):
    project = project_on(server, name="app")
    brand(server, project)
    page = sign_in_page(server, project["client_id"])
    assert page.status_code == 200
    assert "<strong>Acme Shop</strong>" in page.text and f'<img class="brand-logo" src="{LOGO}"' in page.text
    nonce = re.search(r'<style nonce="([^"]+)">[^<]*--accent: #7a1fa2;', page.text).group(1)
    policy = page.headers["Content-Security-Policy"]
    assert f"style-src 'self' 'nonce-{nonce}'" in policy and "img-src 'self' https://cdn.example.com;" in policy
    assert policy.endswith("; script-src 'self'") and "unsafe" not in policy  # passkeys' script only
    assert "frame-ancestors 'none'" in policy
    again = sign_in_page(server, project["client_id"])
    assert f"'nonce-{nonce}'" not in again.headers["Content-Security-Policy"]  # one per answer


def test_a_project_without_branding_keeps_the_default_page_and_policy(server: Server):
    project = project_on(server)
    page = sign_in_page(server, project["client_id"])
    assert "brand-logo" not in page.text and "<style" not in page.text
    assert "nonce" not in page.headers["Content-Security-Policy"]


def test_a_third_party_client_is_named_as_it_registered_even_on_a_branded_project(server: Server):
    project = project_on(server)
    from tests.conftest import run_cli

    run_cli("project", "update", "--data-dir", str(server.data_dir), "--project", project["project_id"],
            "--allow-registration")
    brand(server, project)
    registered = requests.post(f"{server.url}/projects/{project['project_id']}/oauth/register", timeout=10, json={
        "client_name": "Other App", "redirect_uris": ["https://other.example/cb"],
        "token_endpoint_auth_method": "none"})
    assert registered.status_code == 201, registered.text
    _, challenge = pkce_pair()
    browser = Browser(server.url)
    page = browser.get(browser.authorize_url(registered.json()["client_id"], redirect_uri="https://other.example/cb",
                                             path=f"/projects/{project['project_id']}/oauth/authorize",
                                             code_challenge=challenge, code_challenge_method="S256"))
    assert page.status_code == 200 and "<strong>Other App</strong>" in page.text and "Acme Shop" not in page.text
    assert f'src="{LOGO}"' in page.text  # the page is still the project's


def signed_up_to_a_branded_project(server: Server) -> tuple[Browser, EmailMessage]:
    """A browser that signed up to a branded project, and the verification mail it got."""
    project = project_on(server)
    brand(server, project)
    browser = Browser(server.url)
    _, challenge = pkce_pair()
    browser.sign_up(browser.authorize_url(project["client_id"], redirect_uri=REDIRECT_URI, code_challenge=challenge,
                                          code_challenge_method="S256"), "ada@example.org")
    (mail,) = wait_for_outbox(server.data_dir, 1)
    return browser, mail


def test_mail_carries_the_display_name_logo_and_colour(server: Server):
    _, mail = signed_up_to_a_branded_project(server)
    assert "Acme Shop" in mail["Subject"]
    html = html_of(mail)
    assert f'<img src="{LOGO}"' in html and f"background:{COLOR}" in html


def test_the_page_a_mailed_link_opens_is_branded_too(server: Server):
    browser, mail = signed_up_to_a_branded_project(server)
    page = browser.get(only_action_link(mail, server.url))
    assert page.status_code == 200 and "Acme Shop" in page.text and f'src="{LOGO}"' in page.text
