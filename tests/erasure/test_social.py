"""Erasing an account made by Google sign-in: the upstream identity is released with it, so
the same Google account makes a new account afterwards, and neither its address nor its
Google account id is left in the data dir."""

import requests

from tests.erasure.test_erasure import eventually, leftovers
from tests.social.conftest import Trip, access_claims, github, google, project, social_server  # noqa: F401

GOOGLE_SUBJECT, GOOGLE_EMAIL = "10769150350006150715113", "ada@gmail.com"


def test_an_erased_google_account_signs_up_again_as_a_new_user(social_server, project):  # noqa: F811
    trip = Trip(social_server, project)
    tokens = trip.tokens(trip.sign_in("google"))
    sub = access_claims(tokens)["sub"]
    needles = (GOOGLE_EMAIL.encode(), GOOGLE_SUBJECT.encode())
    assert leftovers(social_server, *needles)

    erased = requests.delete(f"{social_server.url}/api/platform/users/{sub}",
                             auth=(project["client_id"], project["client_secret"]), timeout=10)
    assert erased.status_code == 204
    assert eventually(lambda: not leftovers(social_server, *needles)), leftovers(social_server, *needles)

    again = Trip(social_server, project, state="st-2")
    new_sub = access_claims(again.tokens(again.sign_in("google")))["sub"]
    assert new_sub != sub
    user = requests.get(f"{social_server.url}/api/platform/users/{new_sub}",
                        auth=(project["client_id"], project["client_secret"]), timeout=10).json()
    assert user["email"] == GOOGLE_EMAIL and [i["subject"] for i in user["identities"]] == [GOOGLE_SUBJECT]


def test_a_login_hint_is_not_kept_by_the_sign_in_trip(social_server, project):  # noqa: F811
    """The hint (an address) goes to the provider with the redirect; the trip's event, which
    has no person to seal it under, keeps the rest of the request only."""
    from tests.erasure.test_erasure import exported

    hint = "hinted.ada@example.org"
    trip = Trip(social_server, project)
    trip.url += "&login_hint=" + hint
    started = trip.start("google")
    assert started.status_code == 303 and "login_hint=hinted.ada" in started.headers["Location"]
    events = exported(social_server.data_dir)
    (trip_started,) = [e for e in events if e["type"] == "ExternalSignIn.Started"]
    assert "login_hint" not in trip_started["authorization"] and "client_id=" in trip_started["authorization"]
    assert not leftovers(social_server, hint.encode(), b"hinted.ada%40example.org")


def test_without_login_hint_keeps_the_rest_of_a_carried_request():
    from astapa.oauth.authorize import without_login_hint

    assert without_login_hint("client_id=c&login_hint=a%40b.example&state=s") == "client_id=c&state=s"
    assert without_login_hint("/projects/p1?client_id=c&login_hint=x") == "/projects/p1?client_id=c"
    assert without_login_hint("client_id=c&scope=openid+email") == "client_id=c&scope=openid+email"
