"""Sign in with Google: an OpenID Connect relying party (OIDC Core §3.1, RFC 7636, RFC 9700
§2.1 and §4.7; checklist C-96, C-97, C-100), end to end through the hosted pages against
the fake Google in tests/fakes/google.py."""

import concurrent.futures
import sqlite3

import pytest
import requests

from tests.conftest import Server, project_on
from tests.flows import Browser, hidden_fields, query_of
from tests.social.conftest import GOOGLE_SECRET, Trip, access_claims, claims_of, configure

GOOGLE_SUB = "10769150350006150715113"


def user_view(server: Server, project: dict, sub: str) -> dict:
    response = requests.get(f"{server.url}/api/platform/users/{sub}", timeout=10,
                            auth=(project["client_id"], project["client_secret"]))
    assert response.status_code == 200, response.text
    return response.json()


def users_in(server: Server) -> int:
    conn = sqlite3.connect(f"file:{server.data_dir / 'read.db'}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT COUNT(*) FROM users").fetchone()[0]
    finally:
        conn.close()


def test_google_sign_in_makes_a_verified_account_and_lands_on_the_client(social_server, project, google):
    trip = Trip(social_server, project)
    tokens = trip.tokens(trip.sign_in("google"))
    claims = access_claims(tokens)
    assert claims["email"] == "ada@gmail.com" and claims["email_verified"] is True
    assert claims_of(tokens)["nonce"] == "n-1"  # the client's own nonce, not ours to Google
    # What went to Google: state, our nonce, PKCE S256, the registered callback.
    sent = google.authorizations[-1]
    assert sent["code_challenge_method"] == "S256" and len(sent["code_challenge"]) == 43
    assert sent["nonce"] and sent["state"] and sent["nonce"] != sent["state"]
    assert sent["redirect_uri"] == f"{social_server.url}/auth/callback/google"
    assert "openid" in sent["scope"].split() and "email" in sent["scope"].split()
    token_calls = [r for r in google.requests if r.path == "/token"]
    assert len(token_calls) == 1 and token_calls[0].form["code_verifier"]
    # The same Google account signs in to the same user again (keyed on Google's sub, C-96).
    again = Trip(social_server, project, state="st-2")
    assert access_claims(again.tokens(again.sign_in("google")))["sub"] == claims["sub"]
    view = user_view(social_server, project, claims["sub"])
    assert [(i["provider"], i["subject"], i["email"]) for i in view["identities"]] == [
        ("google", GOOGLE_SUB, "ada@gmail.com")]
    # Discovery was fetched once and kept.
    assert sum(r.path == "/.well-known/openid-configuration" for r in google.requests) == 1


def test_client_secret_stays_out_of_events_and_read_models(social_server, project):
    trip = Trip(social_server, project)
    trip.tokens(trip.sign_in("google"))
    from tests.social.test_settings import event_bytes

    assert GOOGLE_SECRET.encode() not in event_bytes(social_server)
    conn = sqlite3.connect(f"file:{social_server.data_dir / 'read.db'}?mode=ro", uri=True)
    try:
        dump = "\n".join(conn.iterdump())
    finally:
        conn.close()
    assert GOOGLE_SECRET not in dump and "ada@gmail.com" in dump


def test_buttons_show_only_for_configured_providers(social_server, google):
    project = project_on(social_server)
    trip = Trip(social_server, project)
    page = trip.browser.get(trip.url)
    assert "Continue with Google" not in page.text and "Continue with GitHub" not in page.text
    refused = trip.start("google")  # posted anyway
    assert refused.status_code == 400 and "sign-in isn&#39;t set up" in refused.text
    configure(social_server, project, "google")
    page = trip.browser.get(trip.url)
    assert "Continue with Google" in page.text and "Continue with GitHub" not in page.text
    signup = trip.browser.get(trip.url.replace("/auth/login", "/auth/signup"))
    assert "Continue with Google" in signup.text


def test_sign_up_page_button_works_too(social_server, project):
    trip = Trip(social_server, project, mode="signup")
    assert access_claims(trip.tokens(trip.sign_in("google")))["email"] == "ada@gmail.com"


def test_callback_is_single_use_and_bound_to_the_browser(social_server, project):
    trip = Trip(social_server, project)
    callback = trip.at_provider("google")
    stranger = Browser(social_server.url)
    replayed = trip.callback(callback, browser=stranger)  # from another browser: refused
    assert replayed.status_code == 400 and "Location" not in replayed.headers
    assert "can&#39;t continue" in replayed.text
    response = trip.callback(callback)  # the browser that started it still can
    trip.tokens(response)
    again = trip.callback(callback)  # but only once
    assert again.status_code == 400 and "Location" not in again.headers


@pytest.mark.parametrize("state", ["", "nonsense", "0" * 32 + ".x", None])
def test_unknown_state_never_redirects(social_server, project, state):
    trip = Trip(social_server, project)
    callback = trip.at_provider("google")
    params = query_of(callback)
    url = f"{social_server.url}/auth/callback/google?code={params['code']}"
    if state is not None:
        url += f"&state={state}"
    response = trip.browser.get(url)
    assert response.status_code == 400 and "Location" not in response.headers


def test_a_state_expires(social_server, project, clock):
    trip = Trip(social_server, project)
    callback = trip.at_provider("google")
    clock.advance(601)
    assert trip.callback(callback).status_code == 400


def test_parallel_callbacks_with_one_state_sign_in_once(social_server, project, google):
    trip = Trip(social_server, project)
    callback = trip.at_provider("google")
    cookies = trip.browser.session.cookies.get_dict()

    def hit(_):
        return requests.get(callback, cookies=cookies, allow_redirects=False, timeout=10).status_code

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(hit, range(8)))
    assert statuses.count(303) == 1, statuses
    assert sorted(statuses) == [303] + [400] * 7, statuses
    assert sum(r.path == "/token" for r in google.requests) == 1  # no duplicate reached Google


def test_denied_consent_shows_the_sign_in_page_again(social_server, project, google):
    google.deny_next = True
    trip = Trip(social_server, project)
    response = trip.sign_in("google")
    assert response.status_code == 400 and "You cancelled signing in with Google." in response.text
    assert hidden_fields(response.text)["authorization"]  # the form, ready to try another way
    assert users_in(social_server) == 0


@pytest.mark.parametrize("tamper", [
    {"aud": "someone-else.apps.googleusercontent.com"},
    {"azp": "someone-else.apps.googleusercontent.com"},
    {"iss": "https://accounts.evil.example"},
    {"nonce": "not-the-nonce"},
    {"nonce": None},
    {"exp": 1_000_000_000},
    {"sub": None},
])
def test_an_id_token_that_fails_a_check_signs_no_one_in(social_server, project, google, tamper):
    google.tamper_next_id_token(**tamper)
    trip = Trip(social_server, project)
    response = trip.sign_in("google")
    assert response.status_code == 400, response.text[:500]
    assert "We couldn&#39;t confirm your Google sign-in" in response.text
    assert users_in(social_server) == 0


def test_an_id_token_signed_by_an_unknown_key_is_refused(social_server, project, google):
    google.sign_next_with_unpublished_key()
    trip = Trip(social_server, project)
    assert trip.sign_in("google").status_code == 400
    assert users_in(social_server) == 0


def test_jwks_is_cached_and_fetched_again_for_a_new_kid(social_server, project, google, clock):
    first = Trip(social_server, project)
    first.tokens(first.sign_in("google"))
    second = Trip(social_server, project, state="st-2")
    second.tokens(second.sign_in("google"))
    assert google.jwks_fetches == 1  # cached
    google.rotate_key()
    clock.advance(11)
    third = Trip(social_server, project, state="st-3")
    third.tokens(third.sign_in("google"))
    assert google.jwks_fetches == 2  # the unknown kid fetched the set again


def test_google_down_is_a_friendly_page(social_server, project, google):
    google.stop()
    trip = Trip(social_server, project)
    response = trip.start("google")  # discovery cannot be fetched
    assert response.status_code == 502 and "Google isn&#39;t answering right now" in response.text
    google.start()
    trip.tokens(trip.sign_in("google"))


@pytest.mark.parametrize("fault", ["down", "500", "garbage", "slow"])
def test_token_endpoint_failures_are_friendly(social_server, project, google, fault):
    trip = Trip(social_server, project)
    callback = trip.at_provider("google")
    if fault == "500":
        google.fail_next(500, which="token")
    elif fault == "garbage":
        google.garbage_next(which="token")
    elif fault == "slow":
        google.hang_next(3, which="token")
    else:
        google.stop()
    response = trip.callback(callback)
    assert response.status_code == 502, response.text[:500]
    assert "Google isn&#39;t answering right now" in response.text
    assert users_in(social_server) == 0


def test_unverified_google_address_makes_no_account(social_server, project, google):
    google.add_account("200", "unverified@gmail.com", email_verified=False)
    google.next_account = "200"
    response = Trip(social_server, project).sign_in("google")
    assert response.status_code == 400 and "no verified email address" in response.text
    assert users_in(social_server) == 0


def test_google_speaks_for_other_domains_only_with_hd(social_server, project, google):
    """Google vouches for Gmail addresses and Workspace domains (`hd`), not for an address on
    any other domain (C-97): that one makes no account; the page offers to sign up instead."""
    google.add_account("300", "bob@corp.example", email_verified=True)  # no hd
    google.add_account("301", "eve@work.example", email_verified=True, hd="work.example")
    google.next_account = "300"
    bob = Trip(social_server, project).sign_in("google")
    assert bob.status_code == 400 and "Google can&#39;t confirm that bob@corp.example is yours" in bob.text
    assert 'action="/auth/signup"' in bob.text and 'value="bob@corp.example"' in bob.text
    assert users_in(social_server) == 0
    google.next_account = "301"
    eve = Trip(social_server, project, state="st-2")
    assert access_claims(eve.tokens(eve.sign_in("google")))["email_verified"] is True


def test_sign_ins_started_per_ip_are_limited(start_server, google, github, smtp):
    server = start_server(google_discovery_url=google.discovery_url, github_url=github.url,
                          github_api_url=github.api_url, external_sign_ins_per_ip=3)
    from tests.social.conftest import configure

    project = project_on(server)
    configure(server, project, "google")
    trip = Trip(server, project)
    assert [trip.start("google").status_code for _ in range(4)] == [303, 303, 303, 429]
    limited = trip.start("google")
    assert "Too many attempts" in limited.text and int(limited.headers["Retry-After"]) > 0
