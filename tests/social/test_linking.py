"""Linking Google and GitHub identities to accounts (checklist C-96 to C-101; Sudhodanan and
Paverd, "Pre-hijacked accounts", USENIX Security 2022): an identity links silently only when
the provider vouches for the address and the account's address is verified too; otherwise
the account's owner signs in with their password to accept a link offer, which is bound to
that upstream identity, that account and that browser, and works once."""

import concurrent.futures

import requests

from tests.conftest import Server, run_cli, wait_for_client
from tests.flows import PASSWORD, Browser, hidden_fields, open_link, refresh
from tests.mail_flows.test_links import ask, link_of
from tests.social.conftest import Trip, access_claims
from tests.social.test_google import user_view

ATTACKER_PASSWORD = "attacker's own password"
NEW_PASSWORD = "the real owner's new password"


def sign_up(server: Server, project: dict, email: str, password: str = PASSWORD, state: str = "su") -> dict:
    """A password account made through the hosted page; its tokens."""
    trip = Trip(server, project, state=state, mode="signup")
    page = trip.browser.get(trip.url)
    response = trip.browser.submit(page, "signup", email=email, password=password, action="signup")
    return trip.tokens(response)


def verify(server: Server, smtp, email: str) -> None:
    link = link_of(server, smtp, email, "verify")
    assert open_link(Browser(server.url), link).status_code == 303


def history(server: Server, project: dict, sub: str) -> list[dict]:
    response = requests.get(f"{server.url}/api/platform/users/{sub}/events", timeout=10,
                            auth=(project["client_id"], project["client_secret"]))
    assert response.status_code == 200, response.text
    return response.json()["events"]


def offer_page(trip: Trip, provider: str) -> requests.Response:
    page = trip.sign_in(provider)
    assert page.status_code == 200, page.text[:800]
    assert "You already have an account with" in page.text and "link_offer" in hidden_fields(page.text)
    assert "Location" not in page.headers
    return page


def test_verified_on_both_sides_links_silently(social_server, project, smtp, github):
    sub = access_claims(sign_up(social_server, project, "octo@example.org"))["sub"]
    verify(social_server, smtp, "octo@example.org")
    trip = Trip(social_server, project)
    assert access_claims(trip.tokens(trip.sign_in("github")))["sub"] == sub
    assert [i["provider"] for i in user_view(social_server, project, sub)["identities"]] == ["github"]
    linked = [e for e in history(social_server, project, sub) if e["type"] == "User.IdentityLinked"]
    assert [e["data"]["how"] for e in linked] == ["verified_email"]


def test_pre_hijacked_account_is_not_linked_and_the_owner_takes_it_back(social_server, project, smtp):
    """C-98: an attacker signs up with the victim's address and never verifies it; the
    victim then comes with Google."""
    attacker = sign_up(social_server, project, "ada@gmail.com", password=ATTACKER_PASSWORD)
    sub = access_claims(attacker)["sub"]
    # The victim with Google: no silent link, no code; the account's identities stay empty.
    victim = Trip(social_server, project, state="victim")
    offer_page(victim, "google")
    assert user_view(social_server, project, sub)["identities"] == []
    # The attacker's password cannot accept the offer from the attacker's own browser (the
    # offer is bound to the victim's browser) ...
    stolen = hidden_fields(offer_page(Trip(social_server, project, state="v2"), "google").text)
    thief = Trip(social_server, project, state="thief")
    thief.browser.get(thief.url)
    response = thief.browser.session.post(f"{social_server.url}/auth/login", allow_redirects=False, timeout=10,
                                          data={**stolen, "email": "ada@gmail.com",
                                                "password": ATTACKER_PASSWORD, "action": "login"})
    assert response.status_code in (303, 403)
    assert user_view(social_server, project, sub)["identities"] == []
    # The victim resets the password through their mailbox: the attacker is out (C-99).
    ask(victim.browser, project, "forgot-password", "ada@gmail.com", url=victim.url)
    reset = link_of(social_server, smtp, "ada@gmail.com", "reset")
    assert open_link(Browser(social_server.url), reset, password=NEW_PASSWORD).status_code == 303
    assert refresh(social_server.url, project, attacker["refresh_token"]).json()["error"] == "invalid_grant"
    assert Browser(social_server.url).sign_in(Trip(social_server, project).url, "ada@gmail.com",
                                              ATTACKER_PASSWORD).status_code == 401
    # Now both sides have the address verified: Google signs the owner in, linked.
    again = Trip(social_server, project, state="after")
    assert access_claims(again.tokens(again.sign_in("google")))["sub"] == sub


def test_owner_accepts_a_link_offer_by_signing_in(social_server, project):
    """The account's address is unverified; Google vouches for the same address: signing in
    with the password links, verifies the address, and ends the sessions from before (C-99)."""
    before = sign_up(social_server, project, "ada@gmail.com")
    sub = access_claims(before)["sub"]
    trip = Trip(social_server, project)
    page = offer_page(trip, "google")
    response = trip.browser.submit(page, "login", email="ada@gmail.com", password=PASSWORD, action="login")
    claims = access_claims(trip.tokens(response))
    assert claims["sub"] == sub and claims["email_verified"] is True
    assert refresh(social_server.url, project, before["refresh_token"]).json()["error"] == "invalid_grant"
    linked = [e for e in history(social_server, project, sub) if e["type"] == "User.IdentityLinked"]
    assert [e["data"]["how"] for e in linked] == ["signed_in"]
    # From now on Google signs straight in.
    again = Trip(social_server, project, state="st-2")
    assert access_claims(again.tokens(again.sign_in("google")))["sub"] == sub
    # The offer is spent: posting the same form again signs in, and links nothing more (C-101).
    replay = trip.browser.submit(page, "login", email="ada@gmail.com", password=PASSWORD, action="login")
    assert replay.status_code in (303, 403)
    assert len(user_view(social_server, project, sub)["identities"]) == 1


def test_an_offer_links_only_the_account_it_was_made_for(social_server, project, smtp):
    sign_up(social_server, project, "ada@gmail.com", state="a")
    other = access_claims(sign_up(social_server, project, "other@example.org", state="b"))["sub"]
    # Verified, so only the offer's binding to Ada's account stands between it and a link.
    verify(social_server, smtp, "other@example.org")
    trip = Trip(social_server, project)
    page = offer_page(trip, "google")
    # Someone else signs in on this page, in this browser: signed in, nothing linked.
    response = trip.browser.submit(page, "login", email="other@example.org", password=PASSWORD, action="login")
    assert access_claims(trip.tokens(response))["sub"] == other
    assert user_view(social_server, project, other)["identities"] == []


def test_an_untrusted_google_address_never_links_silently(social_server, project, smtp, google):
    """bob@corp.example from Google without `hd`: Google does not speak for corp.example."""
    sub = access_claims(sign_up(social_server, project, "bob@corp.example"))["sub"]
    verify(social_server, smtp, "bob@corp.example")
    google.add_account("300", "bob@corp.example", email_verified=True)
    google.next_account = "300"
    trip = Trip(social_server, project)
    page = offer_page(trip, "google")
    response = trip.browser.submit(page, "login", email="bob@corp.example", password=PASSWORD, action="login")
    assert access_claims(trip.tokens(response))["sub"] == sub
    assert [i["subject"] for i in user_view(social_server, project, sub)["identities"]] == ["300"]


def test_an_unverified_account_and_an_untrusted_address_do_not_link(social_server, project, google):
    sub = access_claims(sign_up(social_server, project, "bob@corp.example"))["sub"]
    google.add_account("300", "bob@corp.example", email_verified=True)
    google.next_account = "300"
    trip = Trip(social_server, project)
    page = offer_page(trip, "google")
    response = trip.browser.submit(page, "login", email="bob@corp.example", password=PASSWORD, action="login")
    claims = access_claims(trip.tokens(response))  # signed in ...
    assert claims["sub"] == sub and claims["email_verified"] is False
    assert user_view(social_server, project, sub)["identities"] == []  # ... but not linked


def test_an_offer_expires(social_server, project, clock):
    sub = access_claims(sign_up(social_server, project, "ada@gmail.com"))["sub"]
    trip = Trip(social_server, project)
    page = offer_page(trip, "google")
    clock.advance(601)
    response = trip.browser.submit(page, "login", email="ada@gmail.com", password=PASSWORD, action="login")
    assert response.status_code == 303
    assert user_view(social_server, project, sub)["identities"] == []


def test_two_providers_with_one_new_address_make_one_account(social_server, project, google, github):
    google.add_account("400", "twin@gmail.com")
    google.next_account = "400"
    github.add_account(400, "twin", [("twin@gmail.com", True, True)])
    github.next_account = 400
    trips = [Trip(social_server, project, state="g"), Trip(social_server, project, state="h")]
    callbacks = [trips[0].at_provider("google"), trips[1].at_provider("github")]
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        responses = list(pool.map(lambda pair: pair[0].callback(pair[1]), zip(trips, callbacks)))
    subs = {access_claims(t.tokens(r))["sub"] for t, r in zip(trips, responses)}
    assert len(subs) == 1  # one made the account; the other, verified on both sides, linked
    assert sorted(i["provider"] for i in user_view(social_server, project, subs.pop())["identities"]) == [
        "github", "google"]


def test_a_disabled_user_cannot_sign_in_with_google(social_server, project):
    trip = Trip(social_server, project)
    sub = access_claims(trip.tokens(trip.sign_in("google")))["sub"]
    response = requests.patch(f"{social_server.url}/api/platform/users/{sub}", json={"disabled": True},
                              auth=(project["client_id"], project["client_secret"]), timeout=10)
    assert response.status_code == 200
    again = Trip(social_server, project, state="st-2").sign_in("google")
    assert again.status_code == 403 and "can&#39;t sign in" in again.text


def test_a_project_that_waits_for_verified_addresses(social_server):
    project = run_cli("project", "create", "--data-dir", str(social_server.data_dir), "--name", "strict",
                      "--redirect-uri", "https://app.example/callback", "--require-verified-email")
    wait_for_client(social_server, project)
    from tests.social.conftest import configure

    configure(social_server, project, "google", "github")
    # A password account, never verified: the right password alone gets "Check your inbox" ...
    trip = Trip(social_server, project, mode="signup")
    page = trip.browser.get(trip.url)
    assert "Check your inbox" in trip.browser.submit(page, "signup", email="ada@gmail.com", password=PASSWORD,
                                                     action="signup").text
    # ... but with Google vouching for the same address, accepting the link verifies it.
    google_trip = Trip(social_server, project, state="st-2")
    offer = offer_page(google_trip, "google")
    response = google_trip.browser.submit(offer, "login", email="ada@gmail.com", password=PASSWORD,
                                          action="login")
    assert access_claims(google_trip.tokens(response))["email_verified"] is True
    # GitHub's verified primary address: a new account, straight in.
    github_trip = Trip(social_server, project, state="st-3")
    assert access_claims(github_trip.tokens(github_trip.sign_in("github")))["email"] == "octo@example.org"


def test_an_account_made_by_google_has_no_password_until_a_reset_sets_one(social_server, project, smtp):
    trip = Trip(social_server, project)
    sub = access_claims(trip.tokens(trip.sign_in("google")))["sub"]
    url = Trip(social_server, project).url
    for guess in ("", PASSWORD, "None"):
        assert Browser(social_server.url).sign_in(url, "ada@gmail.com", guess).status_code in (400, 401)
    ask(Browser(social_server.url), project, "forgot-password", "ada@gmail.com")
    reset = link_of(social_server, smtp, "ada@gmail.com", "reset")
    assert open_link(Browser(social_server.url), reset, password=NEW_PASSWORD).status_code == 303
    response = Browser(social_server.url).sign_in(url, "ada@gmail.com", NEW_PASSWORD)
    assert response.status_code == 303
    again = Trip(social_server, project, state="st-2")  # Google still signs in too
    assert access_claims(again.tokens(again.sign_in("google")))["sub"] == sub
