"""Mailed links through the hosted pages in a real browser (headless Chromium, with and
without JavaScript), with the mail carried over SMTP to a real aiosmtpd server.

"Forgot password?" on the sign-in page, the reset link's "New password" form, and the
"Email me a sign-in link" button (formnovalidate: it posts with the password left empty)
each end at `redirect_uri?code=…&state=…` with the state returned byte for byte; a used
magic link says so; an empty address gets the "Sign in with a link" page back with its
error, and that page's own form then works. tests/mail_flows/test_links.py drives the same
flows with `requests`; this file proves the pages themselves do it in a browser.
"""

import time
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import Server, project_on
from tests.flows import PASSWORD
from tests.flows import Browser as FormDriver
from tests.mail import only_action_link, text_of
from tests.pages.conftest import assert_no_inline_script
from tests.pages.test_hosted_pages_browser import (
    CLIENT_NAME,
    STATE,
    WRONG_CREDENTIALS,
    ClientCatcher,
    authorize_url,
    fill_form,
)

NEW_PASSWORD = "a brand new passphrase"
LINK_PATHS = {"reset": "/auth/reset-password", "magic": "/auth/magic-link"}
DEAD_LINK = "This link can no longer be used"


# ---- helpers -------------------------------------------------------------------------------

def mailed_link(server: Server, smtp, email: str, kind: str, timeout: float = 10) -> str:
    """The action link of the one message of this kind to `email`, once it arrived."""
    path = LINK_PATHS[kind]
    deadline = time.monotonic() + timeout
    while True:
        found = [m for m in smtp.messages if m["To"] == email and f"{server.url}{path}?" in text_of(m)]
        if found or time.monotonic() > deadline:
            assert len(found) == 1, f"expected one {kind} mail to {email}, got {len(found)}"
            link = only_action_link(found[0], server.url)
            assert urlsplit(link).path == path, link
            return link
        time.sleep(0.02)


def posting(page: Page):
    """Waits for the response to the next POST the page sends (a form submission)."""
    return page.expect_response(lambda r: r.request.method == "POST")


# ---- fixtures ------------------------------------------------------------------------------

@pytest.fixture
def project(mail_server: Server) -> dict:
    return project_on(mail_server, name=CLIENT_NAME)


@pytest.fixture(params=["page", "no_js_page"], ids=["js", "no-js"])
def any_page(request: pytest.FixtureRequest, browser: Browser) -> Page:
    """Each test using it runs twice: JavaScript on, and off."""
    return request.getfixturevalue(request.param)


# ---- password reset ------------------------------------------------------------------------

def test_forgot_password_link_mail_and_new_password_return_to_the_client(
        any_page: Page, mail_server: Server, smtp, project) -> None:
    page = any_page
    email = "rita@example.org"
    url = authorize_url(mail_server.url, project, state=STATE)
    FormDriver(mail_server.url).sign_up(url, email)  # the account exists (and is signed up elsewhere)
    client = ClientCatcher(page)

    # Sign-in page -> "Forgot password?": the same authorization request rides along.
    page.goto(url)
    expect(page.get_by_role("heading", name="Sign in", exact=True)).to_be_visible()
    page.get_by_role("link", name="Forgot password?", exact=True).click()
    expect(page.get_by_role("heading", name="Reset your password", exact=True)).to_be_visible()
    assert urlsplit(page.url).path == "/auth/forgot-password"
    assert urlsplit(page.url).query == urlsplit(url).query
    assert_no_inline_script(page)
    page.get_by_label("Email", exact=True).fill(email)
    with posting(page) as answer:
        page.get_by_role("button", name="Send reset link", exact=True).click()
    assert answer.value.status == 200
    expect(page.get_by_role("heading", name="Check your inbox", exact=True)).to_be_visible()
    expect(page.get_by_text(f"If an account exists for {email}")).to_be_visible()

    # The mailed link, opened in the browser: a labelled "New password" field.
    link = mailed_link(mail_server, smtp, email, "reset")
    response = page.goto(link)
    assert response is not None and response.status == 200
    assert response.headers["referrer-policy"] == "no-referrer"
    expect(page.get_by_role("heading", name="Choose a new password", exact=True)).to_be_visible()
    expect(page.get_by_text(f"For {email} at {CLIENT_NAME}.")).to_be_visible()
    new_password = page.get_by_label("New password", exact=True)
    expect(new_password).to_be_visible()
    expect(new_password).to_have_attribute("type", "password")
    expect(new_password).to_have_attribute("autocomplete", "new-password")
    assert_no_inline_script(page)

    # A common password (long enough for minlength) is refused by the server, on the page.
    new_password.fill("password")
    with posting(page) as refused:
        page.get_by_role("button", name="Set new password", exact=True).click()
    assert refused.value.status == 400
    expect(page.get_by_role("alert")).to_have_text(
        "This password is one of the most common ones. Choose another.")
    assert not client.callbacks

    # The form after the error still uses the link: back at the client with the exact state.
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set new password", exact=True).click()
    params = client.wait()
    assert params["state"] == STATE
    assert params["code"]
    assert params["iss"] == mail_server.url

    # Without the session cookie the reset just set: the old password fails, the new one works.
    page.context.clear_cookies()
    page.goto(url)
    with posting(page) as old:
        fill_form(page, email, PASSWORD, "Sign in")
    assert old.value.status == 401
    expect(page.get_by_role("alert")).to_have_text(WRONG_CREDENTIALS)
    fill_form(page, email, NEW_PASSWORD, "Sign in")
    params2 = client.wait()
    assert params2["state"] == STATE and params2["code"] != params["code"]


# ---- magic link ----------------------------------------------------------------------------

def test_email_me_a_sign_in_link_without_a_password_signs_in_once(
        any_page: Page, mail_server: Server, smtp, project) -> None:
    page = any_page
    email = "mags@example.org"
    url = authorize_url(mail_server.url, project, state=STATE)
    FormDriver(mail_server.url).sign_up(url, email)
    client = ClientCatcher(page)

    page.goto(url)
    page.get_by_label("Email", exact=True).fill(email)
    expect(page.get_by_label("Password", exact=True)).to_have_value("")  # required, yet empty:
    with posting(page) as answer:  # the button's formnovalidate lets the form go
        page.get_by_role("button", name="Email me a sign-in link", exact=True).click()
    assert answer.value.status == 200
    assert urlsplit(answer.value.url).path == "/auth/login"
    expect(page.get_by_role("heading", name="Check your inbox", exact=True)).to_be_visible()
    expect(page.get_by_text(f"If an account exists for {email}, we have sent it a sign-in link.")).to_be_visible()

    link = mailed_link(mail_server, smtp, email, "magic")
    response = page.goto(link)
    assert response is not None and response.status == 200
    expect(page.get_by_role("heading", name=f"Sign in to {CLIENT_NAME}", exact=True)).to_be_visible()
    expect(page.get_by_text(f"Continue as {email}.")).to_be_visible()
    assert page.locator("input:not([type=hidden])").count() == 0  # only the button
    assert not client.callbacks  # opening the link alone signs no one in
    page.get_by_role("button", name="Sign in", exact=True).click()
    params = client.wait()
    assert params["state"] == STATE
    assert params["code"]
    assert params["iss"] == mail_server.url

    # Used up: opening it again says so, with no button to press.
    response = page.goto(link)
    assert response is not None and response.status == 400
    expect(page.get_by_role("heading", name=DEAD_LINK, exact=True)).to_be_visible()
    expect(page.get_by_text("Ask for a new sign-in link on the sign-in page.")).to_be_visible()
    assert page.get_by_role("button").count() == 0
    assert len(client.callbacks) == 1


def test_email_me_a_sign_in_link_with_no_email_asks_for_one_on_its_own_page(
        any_page: Page, mail_server: Server, smtp, project) -> None:
    page = any_page
    email = "empty@example.org"
    url = authorize_url(mail_server.url, project, state=STATE)
    FormDriver(mail_server.url).sign_up(url, email)
    client = ClientCatcher(page)

    page.goto(url)
    expect(page.get_by_label("Email", exact=True)).to_have_value("")
    with posting(page) as answer:  # both required fields empty: no browser validation stops it
        page.get_by_role("button", name="Email me a sign-in link", exact=True).click()
    assert answer.value.status == 400
    expect(page.get_by_role("heading", name="Sign in with a link", exact=True)).to_be_visible()
    expect(page.get_by_role("alert")).to_have_text("Enter a valid email address.")
    field = page.get_by_label("Email", exact=True)
    expect(field).to_be_visible()
    expect(field).to_have_value("")
    expect(page.get_by_label("Password", exact=True)).to_have_count(0)
    expect(page.get_by_role("link", name="Back to sign in", exact=True)).to_be_visible()
    assert_no_inline_script(page)

    # That page's own form sends the link, for the same authorization request.
    field.fill(email)
    with posting(page) as sent:
        page.get_by_role("button", name="Email me a sign-in link", exact=True).click()
    assert sent.value.status == 200
    expect(page.get_by_role("heading", name="Check your inbox", exact=True)).to_be_visible()
    page.goto(mailed_link(mail_server, smtp, email, "magic"))
    page.get_by_role("button", name="Sign in", exact=True).click()
    params = client.wait()
    assert params["state"] == STATE and params["code"]
