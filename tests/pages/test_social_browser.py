"""Continue with Google and GitHub on the hosted sign-in page, in a real browser (headless
Chromium, with and without JavaScript), against the fake providers in tests/fakes/.

The email and password fields are `required` and left empty: the provider buttons carry
formnovalidate, so the browser posts the form anyway, goes to the provider (whose authorize
endpoint plays the user and 302s straight back), returns to /auth/callback/{provider}, and
lands at the client's `redirect_uri?code=…&state=…&iss=…` with the state byte for byte.
Also in the browser: the link offer (a password account already holds the address Google
vouches for: the page asks for the password, then links), and a cancelled Google consent.
tests/social/ drives the same flows with `requests`; this file proves the pages do it.
"""

from urllib.parse import urlsplit

import jwt
import pytest
import requests
from playwright.sync_api import Browser, Page, expect

from tests.conftest import Server
from tests.flows import PASSWORD
from tests.pages.conftest import assert_no_inline_script
from tests.pages.test_hosted_pages_browser import STATE, ClientCatcher, authorize_url
from tests.social.conftest import github, google, project, social_server  # noqa: F401 (fixtures)
from tests.social.test_linking import sign_up

ADA = "ada@gmail.com"  # the fake Google's default account
PROVIDERS = {"google": "Google", "github": "GitHub"}


# ---- helpers -------------------------------------------------------------------------------

def record_requests(page: Page) -> list[str]:
    """Every URL the page requests from now on, redirect hops included, in order."""
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    return urls


def open_login_with_empty_fields(page: Page, client: ClientCatcher, server: Server, project: dict) -> None:
    client.start(authorize_url(server.url, project, state=STATE))
    expect(page.get_by_role("heading", name="Sign in", exact=True)).to_be_visible()
    for label in ("Email", "Password"):
        field = page.get_by_label(label, exact=True)
        expect(field).to_have_value("")
        expect(field).to_have_attribute("required", "")


def path_of(url: str) -> str:
    return urlsplit(url).path


def assert_went_through(urls: list[str], provider_url: str, server: Server, provider: str) -> None:
    """The browser itself went to the provider and came back to our callback, in that order."""
    at_provider = [i for i, u in enumerate(urls) if u.startswith(provider_url + "/")]
    back = [i for i, u in enumerate(urls)
            if u.startswith(server.url + "/") and path_of(u) == f"/auth/callback/{provider}"]
    assert at_provider and back and at_provider[0] < back[0], urls


# ---- fixtures ------------------------------------------------------------------------------

@pytest.fixture(params=["page", "no_js_page"], ids=["js", "no-js"])
def any_page(request: pytest.FixtureRequest, browser: Browser) -> Page:
    """Each test using it runs twice: JavaScript on, and off."""
    return request.getfixturevalue(request.param)


# ---- Continue with Google / GitHub ---------------------------------------------------------

@pytest.mark.parametrize("provider", ["google", "github"])
def test_continue_with_provider_skips_form_validation_and_returns_to_the_client(
        page: Page, social_server, project, google, github, provider) -> None:
    client = ClientCatcher(page)
    open_login_with_empty_fields(page, client, social_server, project)
    # With JavaScript on, the browser would refuse to send this form through "Sign in".
    assert page.get_by_label("Email", exact=True).evaluate("e => e.validity.valueMissing") is True
    urls = record_requests(page)

    page.get_by_role("button", name=f"Continue with {PROVIDERS[provider]}", exact=True).click()
    params = client.wait()
    assert params["code"]
    assert params["state"] == STATE
    assert params["iss"] == social_server.url
    fake = google if provider == "google" else github
    assert_went_through(urls, fake.url, social_server, provider)
    expect(page.get_by_text("Back at the client.")).to_be_visible()


def test_continue_with_google_without_javascript(no_js_page: Page, social_server, project, google) -> None:
    page = no_js_page
    client = ClientCatcher(page)
    open_login_with_empty_fields(page, client, social_server, project)
    assert_no_inline_script(page)
    urls = record_requests(page)

    page.get_by_role("button", name="Continue with Google", exact=True).click()
    params = client.wait()
    assert params["code"]
    assert params["state"] == STATE
    assert params["iss"] == social_server.url
    assert_went_through(urls, google.url, social_server, "google")
    assert [a["denied"] for a in google.authorizations] == [False]
    expect(page.get_by_text("Back at the client.")).to_be_visible()


# ---- the link offer ------------------------------------------------------------------------

def test_link_offer_asks_for_the_password_then_links_google(
        any_page: Page, social_server, project, google) -> None:
    page = any_page
    tokens = sign_up(social_server, project, ADA)  # a password account with Google's address
    sub = jwt.decode(tokens["access_token"], options={"verify_signature": False})["sub"]
    client = ClientCatcher(page)
    client.start(authorize_url(social_server.url, project, state=STATE))
    page.get_by_role("button", name="Continue with Google", exact=True).click()

    # Back from Google on our page, not at the client: the offer, the address filled in.
    expect(page.get_by_role("status")).to_contain_text(f"You already have an account with {ADA}")
    assert urlsplit(page.url).netloc == urlsplit(social_server.url).netloc
    assert path_of(page.url) == "/auth/callback/google"
    assert not client.callbacks
    expect(page.get_by_label("Email", exact=True)).to_have_value(ADA)
    expect(page.get_by_label("Password", exact=True)).to_have_value("")
    expect(page.get_by_role("button", name="Sign in", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Continue with Google")).to_have_count(0)
    expect(page.get_by_role("button", name="Continue with GitHub")).to_have_count(0)

    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    params = client.wait()
    assert params["code"]
    assert params["state"] == STATE

    response = requests.get(f"{social_server.url}/api/platform/users/{sub}", timeout=10,
                            auth=(project["client_id"], project["client_secret"]))
    assert response.status_code == 200, response.text
    identities = response.json()["identities"]
    assert [i["provider"] for i in identities] == ["google"], identities


# ---- a cancelled consent -------------------------------------------------------------------

def test_cancelled_google_consent_shows_the_sign_in_form_with_a_message(
        page: Page, social_server, project, google) -> None:
    google.deny_next = True
    client = ClientCatcher(page)
    client.start(authorize_url(social_server.url, project, state=STATE))
    page.get_by_role("button", name="Continue with Google", exact=True).click()

    expect(page.get_by_role("alert")).to_have_text("You cancelled signing in with Google.")
    assert path_of(page.url) == "/auth/callback/google"
    assert not client.callbacks
    expect(page.get_by_role("heading", name="Sign in", exact=True)).to_be_visible()
    expect(page.get_by_label("Email", exact=True)).to_be_visible()
    expect(page.get_by_label("Password", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Continue with Google", exact=True)).to_be_visible()
    assert [a["denied"] for a in google.authorizations] == [True]
