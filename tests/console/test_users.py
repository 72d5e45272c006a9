"""The console's Users screen: search by the start of an address, the newest-first listing,
a user's page, and its changes (plan and claims, disabling, signing out everywhere), each
recorded as the console user's."""

import json
import re
from html import unescape

import jwt
import pytest
import requests

from astapa.app.accounts import new_sub
from astapa.domain.users import EmailIndex, User, normalise_email
from astapa.store.events import Decision
from astapa.web.appkeys import await_read_model, writer_key
from tests.conftest import Server
from tests.console.conftest import ADMIN, ConsoleBrowser, create_project, member_browser
from tests.console.helpers import SHOP_CALLBACK, api, console_actions, signed_up, sub_of
from tests.flows import Browser, refresh

ACTOR = f"console:{ADMIN}"


@pytest.fixture
def shop(admin: ConsoleBrowser) -> dict:
    return create_project(admin)


@pytest.fixture
def ada(server: Server, shop: dict) -> dict:
    """A user of the shop with tokens, and their sub."""
    tokens = signed_up(server, shop, "ada@example.org")
    return {"tokens": tokens, "sub": sub_of(server, shop, "ada@example.org")}


def users_path(shop: dict, sub: str = "") -> str:
    return f"/dashboard/projects/{shop['project_id']}/users" + (f"/{sub}" if sub else "")


def listed_emails(html: str) -> list[str]:
    return [unescape(e) for e in re.findall(r'<a href="[^"]*/users/\d+">([^<]+)</a>', html)]


def added(server: Server, project_id: str, *emails: str) -> None:
    """Users written straight to the log, in order (a quick way to many), once the read
    models show them."""
    writer = server.web_app[writer_key]

    def register(email: str) -> Decision:
        address, key = normalise_email(email)
        sub = new_sub()
        return Decision([User(project_id=project_id, sub=sub, email=address, password_hash="unusable"),
                         EmailIndex(project_id=project_id, email_key=key, sub=sub)])

    for email in emails:
        _, position = server.run(writer.run(register, email))
    server.run(await_read_model(server.web_app, position))


def patch_claims(server: Server, shop: dict, sub: str, claims: dict) -> None:
    answer = requests.patch(f"{server.url}/api/platform/users/{sub}/claims", json=claims,
                            auth=(shop["client_id"], shop["client_secret"]), timeout=10)
    assert answer.status_code == 200, answer.text


# -- the list -------------------------------------------------------------------------------

def test_the_search_finds_users_by_the_start_of_their_address_whatever_its_case(
        server: Server, admin: ConsoleBrowser, shop: dict):
    added(server, shop["project_id"], "Ada@example.org", "adam@example.org", "bob@example.org")
    page = admin.get(users_path(shop))
    assert page.status_code == 200
    assert '<label for="email">Email</label>' in page.text and ">Search</button>" in page.text
    found = admin.get(users_path(shop), email="  ADA")
    assert found.status_code == 200
    assert sorted(listed_emails(found.text)) == ["Ada@example.org", "adam@example.org"]
    assert listed_emails(admin.get(users_path(shop), email="bob@EXAMPLE.org").text) == ["bob@example.org"]
    nobody = admin.get(users_path(shop), email="zed")
    assert listed_emails(nobody.text) == [] and "No address starts with" in nobody.text


def test_the_list_shows_everyone_newest_first_fifty_at_a_time(server: Server, admin: ConsoleBrowser, shop: dict):
    emails = [f"user{i:02}@example.org" for i in range(55)]
    added(server, shop["project_id"], *emails)
    first = admin.get(users_path(shop))
    assert "55 users" in first.text
    assert listed_emails(first.text) == emails[::-1][:50]
    next_link = re.search(r'<a href="([^"]+)" rel="next">Next</a>', first.text)
    assert next_link
    second = admin.get(unescape(next_link.group(1)))
    assert listed_emails(second.text) == emails[::-1][50:]
    assert 'rel="next"' not in second.text


def test_a_users_row_links_to_their_page(server: Server, admin: ConsoleBrowser, shop: dict, ada: dict):
    listing = admin.get(users_path(shop))
    assert f'href="{users_path(shop, ada["sub"])}"' in listing.text


# -- a user's page --------------------------------------------------------------------------

def test_a_users_page_shows_their_sub_email_plan_claims_and_history(
        server: Server, admin: ConsoleBrowser, shop: dict, ada: dict):
    patch_claims(server, shop, ada["sub"], {"team": "blue"})
    page = admin.get(users_path(shop, ada["sub"]))
    assert page.status_code == 200
    assert f'<code id="sub">{ada["sub"]}</code>' in page.text
    assert "ada@example.org (not verified)" in page.text
    assert "Free (<code>free</code>)" in page.text
    claims_field = re.search(r'<textarea[^>]*id="claims"[^>]*>(.*?)</textarea>', page.text, re.S)
    assert claims_field and json.loads(unescape(claims_field.group(1))) == {"team": "blue"}
    assert '<label for="plan-select">Plan</label>' in page.text
    assert '<label for="claims">Custom claims (JSON)</label>' in page.text
    for button in ("Save", "Disable", "Sign out everywhere"):
        assert f">{button}</button>" in page.text
    history = page.text.split('id="history"', 1)[1]
    assert "User.Registered" in history and "User.ClaimsChanged" in history
    assert history.index("User.ClaimsChanged") < history.index("User.Registered")  # newest first


def test_another_projects_user_is_not_found(server: Server, admin: ConsoleBrowser, shop: dict, ada: dict):
    other = create_project(admin, name="Other")
    assert admin.get(users_path(other, ada["sub"])).status_code == 404
    assert admin.post(users_path(other, ada["sub"]), plan="free", claims="{}").status_code == 404
    assert admin.get(users_path(shop, "123456789")).status_code == 404
    assert api(server, shop, f"/users/{ada['sub']}").json()["custom_claims"] == {"plan": "free"}


@pytest.mark.parametrize("claims, says", [
    ("{bad", "not valid JSON"),
    ("[1, 2]", "Write a JSON object"),
    ('{"iss": "me"}', "registered claim name"),
    ('{"plan": "pro"}', "Plan select"),
    ('{"a": 1, "a": 2}', "given twice"),
    ('{"deep": ' + "[" * 9 + "]" * 9 + "}", "at most 8 deep"),
    ('{"big": "' + "x" * 9000 + '"}', "bytes of JSON"),
])
def test_saving_claims_that_break_the_rules_shows_why_next_to_the_field_and_saves_nothing(
        server: Server, admin: ConsoleBrowser, shop: dict, ada: dict, claims: str, says: str):
    patch_claims(server, shop, ada["sub"], {"team": "blue"})
    before = api(server, shop, f"/users/{ada['sub']}").json()
    answer = admin.post(users_path(shop, ada["sub"]), plan="free", claims=claims)
    assert answer.status_code == 400
    error = re.search(r'<p class="field-error" id="claims-error">([^<]+)</p>', answer.text)
    assert error and says in unescape(error.group(1)), answer.text[-3000:]
    assert 'aria-invalid="true"' in answer.text and "claims-error" in answer.text.split('id="claims"', 1)[1][:400]
    assert unescape(answer.text).count(claims[:40]) >= 1  # what was typed is kept
    assert api(server, shop, f"/users/{ada['sub']}").json() == before
    assert console_actions(server, shop["project_id"], ada["sub"], timeout=0.3) == []


def test_save_sets_the_plan_and_replaces_the_claims_and_the_next_refresh_carries_them(
        server: Server, admin: ConsoleBrowser, shop: dict, ada: dict):
    created = admin.post(f"/dashboard/projects/{shop['project_id']}/plans", key="pro", name="Pro", price="149000",
                         currency="IDR", interval="month", claims='{"max_projects": 20}')
    assert created.status_code == 200, created.text[-2000:]
    patch_claims(server, shop, ada["sub"], {"team": "blue", "old": True})
    saved = admin.post(users_path(shop, ada["sub"]), plan="pro", claims='{"team": "red", "seats": 3}')
    assert saved.status_code == 200 and saved.url.endswith("?done=saved"), (saved.status_code, saved.url)
    assert "Saved." in saved.text and "Pro (<code>pro</code>)" in saved.text
    user = api(server, shop, f"/users/{ada['sub']}").json()
    assert user["custom_claims"] == {"plan": "pro", "team": "red", "seats": 3, "max_projects": 20}
    assert "plan_expires_at" not in user
    rotated = refresh(server.url, shop, ada["tokens"]["refresh_token"])
    assert rotated.status_code == 200, rotated.text
    claims = jwt.decode(rotated.json()["access_token"], options={"verify_signature": False})
    assert claims["custom_claims"] == user["custom_claims"]
    actions = console_actions(server, shop["project_id"], ada["sub"])
    assert [a["actor"] for a in actions] == [ACTOR]


def test_saving_with_the_same_plan_keeps_its_end(server: Server, admin: ConsoleBrowser, shop: dict, ada: dict):
    admin.post(f"/dashboard/projects/{shop['project_id']}/plans", key="pro", name="Pro", price="10",
               currency="USD", interval="month")
    put = requests.put(f"{server.url}/api/platform/users/{ada['sub']}/plan",
                       json={"plan": "pro", "expires_at": server.clock.now() + 86400},
                       auth=(shop["client_id"], shop["client_secret"]), timeout=10)
    assert put.status_code == 200, put.text
    saved = admin.post(users_path(shop, ada["sub"]), plan="pro", claims='{"team": "red"}')
    assert saved.status_code == 200
    user = api(server, shop, f"/users/{ada['sub']}").json()
    assert user["custom_claims"]["team"] == "red" and user["custom_claims"]["plan"] == "pro"
    assert user["plan_expires_at"] == put.json()["plan_expires_at"]


def test_disable_stops_sign_in_and_enable_lets_them_back(server: Server, admin: ConsoleBrowser, shop: dict,
                                                         ada: dict):
    disabled = admin.post(users_path(shop, ada["sub"]) + "/disabled", disabled="true")
    assert disabled.status_code == 200 and disabled.url.endswith("?done=disabled")
    assert "Disabled: cannot sign in" in disabled.text and ">Enable</button>" in disabled.text
    assert api(server, shop, f"/users/{ada['sub']}").json()["disabled"] is True
    browser = Browser(server.url)
    refused = browser.sign_in(browser.authorize_url(shop["client_id"], SHOP_CALLBACK), "ada@example.org")
    assert refused.status_code != 303, refused.headers
    assert refresh(server.url, shop, ada["tokens"]["refresh_token"]).json()["error"] == "invalid_grant"

    enabled = admin.post(users_path(shop, ada["sub"]) + "/disabled", disabled="false")
    assert enabled.status_code == 200 and ">Disable</button>" in enabled.text
    signed_in = browser.sign_in(browser.authorize_url(shop["client_id"], SHOP_CALLBACK), "ada@example.org")
    assert signed_in.status_code == 303 and signed_in.headers["Location"].startswith(SHOP_CALLBACK + "?code=")
    actions = console_actions(server, shop["project_id"], ada["sub"], expected=2)
    assert [a["actor"] for a in actions] == [ACTOR, ACTOR]


def test_sign_out_everywhere_ends_every_refresh_token(server: Server, admin: ConsoleBrowser, shop: dict, ada: dict):
    answer = admin.post(users_path(shop, ada["sub"]) + "/sign-out")
    assert answer.status_code == 200 and answer.url.endswith("?done=signed-out")
    assert "Signed out everywhere" in answer.text
    refused = refresh(server.url, shop, ada["tokens"]["refresh_token"])
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    assert api(server, shop, f"/users/{ada['sub']}").json()["disabled"] is False
    assert [a["actor"] for a in console_actions(server, shop["project_id"], ada["sub"])] == [ACTOR]


def test_a_viewer_sees_a_user_but_no_forms_and_cannot_change_them(server: Server, admin: ConsoleBrowser,
                                                                  shop: dict, ada: dict):
    viewer = member_browser(server, "viewer@example.com", shop["project_id"], "viewer")
    page = viewer.get(users_path(shop, ada["sub"]))
    assert page.status_code == 200 and ada["sub"] in page.text
    assert "<textarea" not in page.text and ">Disable</button>" not in page.text
    assert viewer.post(users_path(shop, ada["sub"]) + "/disabled", disabled="true").status_code == 403
    assert api(server, shop, f"/users/{ada['sub']}").json()["disabled"] is False


def test_an_admin_turns_off_a_users_second_factor(server: Server, admin: ConsoleBrowser, shop: dict):
    from tests.flows import PASSWORD, Browser
    from tests.pages.test_account import turn_on_two_factor

    browser = Browser(server.url)
    url = browser.authorize_url(shop["client_id"], redirect_uri="https://shop.example/cb")
    browser.sign_up(url, "ada@example.org")
    turn_on_two_factor(server, browser)

    def sign_in() -> int:
        page = browser.get(url + "&prompt=login")
        return browser.submit(page, "login", email="ada@example.org", password=PASSWORD, action="login").status_code

    assert sign_in() == 200  # the code is asked
    sub = sub_of(server, shop, "ada@example.org")
    answer = admin.post(users_path(shop, sub) + "/two-factor")
    assert answer.status_code == 200 and "Two-factor sign-in is off for this user" in answer.text
    assert sign_in() == 303  # straight back to the app
    assert [a["actor"] for a in console_actions(server, shop["project_id"], sub)] == [ACTOR]
